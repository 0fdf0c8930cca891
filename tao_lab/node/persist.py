"""Persistence of a devnet in a data directory: an append-only SQLite journal of blocks and changes.

Each imported block is written with the storage changes it made, in one SQLite transaction (WAL
mode), so after ``kill -9`` the node reopens at its last completed block with the same state. A
directory that holds something else, a journal from another runtime version, or a damaged file is
refused with a `DataDirError` that says what to do; nothing is overwritten silently.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..chain.chain import Block, Chain, dev_genesis
from ..chain.runtime import Runtime
from ..chain.scale import Bytes, Vec
from ..errors import TaoLabError

FORMAT = "tao_lab-devnet-journal-1"
FILENAME = "chain.sqlite"
_EXTRINSICS = Vec(Bytes)


class DataDirError(TaoLabError):
    """The data directory cannot be used as a devnet journal."""


class Journal:
    """Writes blocks and their storage changes; `Chain` calls it after every import."""

    def __init__(self, path: Path):
        self.path = path
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
            raise DataDirError(f"{path} is not a readable devnet journal ({exc}); move it away or use another --data-dir") from None

    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def block(self, block: Block, changes: dict[bytes, bytes | None]) -> None:
        with self.db:
            self.db.execute("BEGIN")
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
        self.db.close()


def open_chain(data_dir: str | os.PathLike, runtime: Runtime | None = None) -> Chain:
    """The chain kept in ``data_dir``: reopened if it holds one, created (dev genesis) if empty."""
    root = Path(data_dir)
    if root.exists() and not root.is_dir():
        raise DataDirError(f"{root} is a file, not a directory; pass a folder as --data-dir")
    root.mkdir(parents=True, exist_ok=True)
    path = root / FILENAME
    if not path.exists() and any(p for p in root.iterdir() if not p.name.startswith(FILENAME)):
        raise DataDirError(
            f"{root} is not empty and holds no devnet journal ({FILENAME}); use an empty or new --data-dir "
            "so nothing of yours is overwritten")
    runtime = runtime or Runtime()
    journal = Journal(path)
    meta = journal.meta()
    if not meta:
        chain = Chain(runtime, dev_genesis(), journal=journal)
        with journal.db:
            journal.db.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("format", FORMAT), ("spec_version", str(runtime.spec_version)), ("genesis", chain.genesis_hash.hex())])
        return chain
    if meta.get("format") != FORMAT:
        raise DataDirError(f"{path} was written by something else (format {meta.get('format')!r}); use another --data-dir")
    if meta.get("spec_version") != str(runtime.spec_version):
        raise DataDirError(
            f"{path} holds a chain of runtime spec {meta.get('spec_version')}, this tao_lab runs spec "
            f"{runtime.spec_version}; start with a new --data-dir (or delete this one to begin again)")
    try:
        chain = Chain.restore(runtime, _load(journal), journal=journal)
    except (sqlite3.DatabaseError, ValueError, KeyError) as exc:
        raise DataDirError(f"{path} is damaged ({exc}); move it away or use another --data-dir") from None
    if chain.genesis_hash.hex() != meta.get("genesis"):
        raise DataDirError(f"{path}: its blocks do not start at the recorded genesis; the journal is damaged")
    return chain


def _load(journal: Journal):
    blocks = []
    for number, bhash, parent, state_root, ext_root, extrinsics in journal.db.execute(
            "SELECT number, hash, parent, state_root, extrinsics_root, extrinsics FROM blocks ORDER BY number"):
        if number != len(blocks):
            raise ValueError(f"block {len(blocks)} is missing")
        block = Block(number, bytes(parent), bytes(state_root), bytes(ext_root), _EXTRINSICS.decode(bytes(extrinsics)))
        block.hash = bytes(bhash)
        blocks.append(block)
    changes: dict[int, dict[bytes, bytes | None]] = {}
    for number, key, value in journal.db.execute("SELECT number, key, value FROM changes ORDER BY rowid"):
        changes.setdefault(number, {})[bytes(key)] = None if value is None else bytes(value)
    return blocks, changes
