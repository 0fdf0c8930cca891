"""Persistence of a devnet in a data directory: an append-only SQLite journal of blocks and changes.

Each imported block is written with the storage changes it made, in one SQLite transaction (WAL
mode), so after ``kill -9`` the node reopens at its last completed block with the same state. A
directory that holds something else, a journal from another runtime version, or a damaged file is
refused with a `DataDirError` that says what to do; nothing is overwritten silently.

Integrity: every block record is checked when the journal is opened, against its hash, its parent
link and its state and extrinsics roots (the state root is a blake2 hash chain over every stored
change), so a flipped byte, a lost or moved change, an empty file or a cut one is refused.

One node at a time: the directory is locked (``flock`` on ``chain.sqlite.lock``, which holds the
owner's pid) from `open_chain` until `Journal.close`; a second node gets a `DataDirError`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
from pathlib import Path

from ..chain.chain import DEFAULT_KEEP_BLOCKS, Block, Chain, dev_genesis
from ..chain.runtime import Runtime
from ..chain.scale import Bytes, CodecError, Vec
from ..errors import TaoLabError

FORMAT = "tao_lab-devnet-journal-1"
FILENAME = "chain.sqlite"
LOCKNAME = FILENAME + ".lock"  # starts with FILENAME: a data dir holds nothing else
_EXTRINSICS = Vec(Bytes)


class DataDirError(TaoLabError):
    """The data directory cannot be used as a devnet journal."""


class DataDirLock:
    """An exclusive ``flock`` on ``<data dir>/chain.sqlite.lock``, held until `release`.

    The kernel drops it when the process dies (``kill -9`` included), so a stale lock never needs
    cleaning up; the file keeps the pid of the last holder, for the error message.
    """

    def __init__(self, root: Path):
        self.path = root / LOCKNAME
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "unknown"
            self.release()
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise DataDirError(f"cannot lock {root} ({exc.strerror})") from None
            raise DataDirError(
                f"{root} is in use by another devnet node (pid {holder}); stop that node, or use another "
                "data dir (two nodes on one journal would corrupt it)") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


class Journal:
    """Writes blocks and their storage changes; `Chain` calls it after every import.

    Holds the data dir's `DataDirLock` (when given) and releases it on `close`.
    """

    def __init__(self, path: Path, lock: DataDirLock | None = None):
        self.path = path
        self.lock = lock
        try:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                "CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL, parent BLOB NOT NULL,"
                " state_root BLOB NOT NULL, extrinsics_root BLOB NOT NULL, extrinsics BLOB NOT NULL);"
                "CREATE TABLE IF NOT EXISTS changes (number INTEGER NOT NULL, key BLOB NOT NULL, value BLOB);"
                "CREATE INDEX IF NOT EXISTS changes_by_number ON changes(number);"
            )
        except sqlite3.DatabaseError as exc:
            raise _damaged(path, str(exc)) from None

    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def block(self, block: Block, changes: dict[bytes, bytes | None], meta: dict[str, str] | None = None) -> None:
        """Write one block and its changes (and, for genesis, the journal's ``meta``) atomically."""
        with self.db:
            self.db.execute("BEGIN")
            if meta:
                self.db.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
            self.db.execute(
                "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?, ?)",
                (block.number, block.hash, block.parent_hash, block.state_root, block.extrinsics_root,
                 _EXTRINSICS.encode(block.extrinsics)),
            )
            self.db.executemany("INSERT INTO changes VALUES (?, ?, ?)", [(block.number, k, v) for k, v in changes.items()])

    def truncate(self, number: int) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM blocks WHERE number > ?", (number,))
            self.db.execute("DELETE FROM changes WHERE number > ?", (number,))

    def close(self) -> None:
        """Close the database and release the data dir (idempotent)."""
        self.db.close()
        if self.lock is not None:
            self.lock.release()


def open_chain(data_dir: str | os.PathLike, runtime: Runtime | None = None,
               keep_blocks: int | None = DEFAULT_KEEP_BLOCKS) -> Chain:
    """The chain kept in ``data_dir``: reopened if it holds one, created (dev genesis) if empty.

    The data dir stays locked until ``chain.journal.close()``; ``keep_blocks`` goes to `Chain`.
    """
    root = Path(data_dir)
    if root.exists() and not root.is_dir():
        raise DataDirError(f"{root} is a file, not a directory; pass a folder as --data-dir")
    root.mkdir(parents=True, exist_ok=True)
    path = root / FILENAME
    if not path.exists() and any(p for p in root.iterdir() if not p.name.startswith(FILENAME)):
        raise DataDirError(
            f"{root} is not empty and holds no devnet journal ({FILENAME}); use an empty or new --data-dir "
            "so nothing of yours is overwritten")
    lock = DataDirLock(root)
    try:
        return _open_locked(path, runtime or Runtime(), lock, keep_blocks)
    except BaseException:
        lock.release()
        raise


def _damaged(path: Path, reason: str) -> DataDirError:
    """The one error for a journal that cannot be trusted: empty, cut, flipped bytes, foreign file."""
    return DataDirError(f"{path} is not a readable devnet journal, it is damaged ({reason}); "
                        "move it away or use another --data-dir")


def _open_locked(path: Path, runtime: Runtime, lock: DataDirLock, keep_blocks: int | None) -> Chain:
    if path.exists() and path.stat().st_size == 0:
        # sqlite would take an empty file for a new database and start a fresh genesis over it
        raise _damaged(path, "the file is empty")
    journal = Journal(path, lock)
    try:
        meta = journal.meta()
        has_blocks = journal.db.execute("SELECT EXISTS (SELECT 1 FROM blocks)").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        journal.db.close()
        raise _damaged(path, str(exc)) from None
    if not meta and has_blocks:
        journal.db.close()
        raise _damaged(path, "blocks without the journal's header")
    if not meta:
        chain = Chain(runtime, dev_genesis(), keep_blocks=keep_blocks)
        # genesis and the header in one transaction: a crash leaves an empty journal or a whole one
        journal.block(chain.head, chain.store.snapshot(0), meta={
            "format": FORMAT, "spec_version": str(runtime.spec_version), "genesis": chain.genesis_hash.hex()})
        chain.journal = journal
        return chain
    if meta.get("format") != FORMAT:
        journal.db.close()
        raise DataDirError(f"{path} was written by something else (format {meta.get('format')!r}); use another --data-dir")
    if meta.get("spec_version") != str(runtime.spec_version):
        journal.db.close()
        raise DataDirError(
            f"{path} holds a chain of runtime spec {meta.get('spec_version')}, this tao_lab runs spec "
            f"{runtime.spec_version}; start with a new --data-dir (or delete this one to begin again)")
    try:
        chain = Chain.restore(runtime, _load(journal), journal=journal, keep_blocks=keep_blocks)
        if chain.genesis_hash.hex() != meta.get("genesis"):
            raise ValueError("its blocks do not start at the recorded genesis")
    except (sqlite3.DatabaseError, ValueError, TypeError, KeyError, CodecError) as exc:
        journal.db.close()
        raise _damaged(path, str(exc)) from None
    return chain


def _load(journal: Journal):
    """``(block, changes)`` in block order, read a block at a time (memory stays bounded)."""
    changes = journal.db.cursor().execute("SELECT number, key, value FROM changes ORDER BY number, rowid")
    pending = changes.fetchone()
    for number, bhash, parent, state_root, ext_root, extrinsics in journal.db.cursor().execute(
            "SELECT number, hash, parent, state_root, extrinsics_root, extrinsics FROM blocks ORDER BY number"):
        block = Block(number, bytes(parent), bytes(state_root), bytes(ext_root), _EXTRINSICS.decode(bytes(extrinsics)))
        block.hash = bytes(bhash)
        mine: dict[bytes, bytes | None] = {}
        while pending is not None and pending[0] <= number:
            if pending[0] < number:
                raise ValueError(f"changes of block {pending[0]}, which is not in the journal")
            mine[bytes(pending[1])] = None if pending[2] is None else bytes(pending[2])
            pending = changes.fetchone()
        yield block, mine
    if pending is not None:
        raise ValueError(f"changes of block {pending[0]}, after the last block")
