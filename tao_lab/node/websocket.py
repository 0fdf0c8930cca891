"""The server side of the WebSocket protocol (RFC 6455) on asyncio streams.

`WebSocket` wraps a stream already upgraded by the HTTP handshake (done in `jsonrpc`): it reads
frames (masked, possibly fragmented, with ping/pong and the close handshake) and returns whole
messages. A peer that breaks the protocol gets the matching close code (1002 protocol error, 1007
bad UTF-8, 1008 too many fragments, 1009 too big).

Sending never waits on the peer. Messages go into a bounded per-connection queue that one writer
task drains into the socket, so a client that stops reading holds up nobody else (not the block
producer that notifies it, not the other clients): once its queue holds more than ``max_queue``
bytes it is disconnected with close code 1008.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections import deque

logger = logging.getLogger("tao_lab.node.rpc")

_CONT, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CLOSE_TIMEOUT = 1.0  # seconds to wait for a peer's close frame or EOF before dropping the socket
MAX_FRAGMENTS = 1024  # frames one message may be split into; a typical client sends 1
MAX_SEND_QUEUE = 16 << 20  # bytes waiting to be sent to one client before it counts as too slow


class WebSocketFailed(Exception):
    """The peer broke the protocol; the connection is failed with this close ``code``."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code


def _frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + payload


class WebSocket:
    """Server side of RFC 6455 on an already upgraded stream: frames in, whole messages out.

    ``max_message`` bounds one incoming message (bytes, close 1009), ``max_fragments`` the frames it
    may come in (close 1008), ``max_queue`` the bytes queued for sending (beyond: close 1008 and
    disconnect). ``last_active`` (``time.monotonic()``) moves on every message received or sent;
    ``stalled_since`` is set while the socket refuses more data (the peer does not read).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_message: int,
                 max_fragments: int = MAX_FRAGMENTS, max_queue: int = MAX_SEND_QUEUE):
        self._reader = reader
        self._writer = writer
        self._max_message = max_message
        self._max_fragments = max_fragments
        self._max_queue = max_queue
        self._queue: deque[bytes] = deque()
        self._queued = 0  # bytes in _queue
        self._wakeup = asyncio.Event()
        self._close_sent = False  # a close frame is queued: nothing may follow it
        self._dropped = False  # disconnected without a close handshake (too slow, stalled)
        self.last_active = time.monotonic()
        self.stalled_since: float | None = None
        self._sender = asyncio.get_running_loop().create_task(self._send_loop())

    # -- sending ----------------------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        """Queue a text message; returns at once (a coroutine so it fits ``Session``'s send)."""
        self._enqueue(_TEXT, text.encode())

    async def close(self, code: int, reason: str = "") -> None:
        """Start (or answer) the close handshake and wait (briefly) until the close frame is out."""
        self._enqueue(_CLOSE, struct.pack("!H", code) + reason.encode()[:123])
        try:
            await asyncio.wait_for(asyncio.shield(self._sender), CLOSE_TIMEOUT)
        except asyncio.TimeoutError:
            self.drop(f"close frame not sent within {CLOSE_TIMEOUT:g} s")

    def drop(self, why: str) -> None:
        """Give up on the peer now: the queue is discarded and the socket aborted."""
        if self._dropped:
            return
        self._dropped = self._close_sent = True
        logger.info("dropping WebSocket client: %s", why)
        self._queue.clear()
        self._queued = 0
        self._wakeup.set()
        self._writer.transport.abort()

    def _enqueue(self, opcode: int, payload: bytes) -> None:
        if self._close_sent or self._writer.is_closing():
            return  # nothing may follow a close frame; a gone peer is not an error
        frame = _frame(opcode, payload)
        if opcode == _CLOSE:
            self._close_sent = True
        elif self._queue and self._queued + len(frame) > self._max_queue:
            self._too_slow()
            return
        self._queue.append(frame)
        self._queued += len(frame)
        self._wakeup.set()

    def _too_slow(self) -> None:
        """The peer reads slower than we send: tell it why, then let go of it."""
        logger.warning("WebSocket client reads too slowly (%d bytes queued): disconnecting it", self._queued)
        self._queue.clear()
        self._queued = 0
        self._close_sent = True
        # Behind at most one message and the transport's buffer: a client that resumes reading sees
        # why. One that never does is aborted after the close timeout.
        self._writer.transport.write(_frame(_CLOSE, struct.pack("!H", 1008) + b"client too slow: send queue full"))
        asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self.drop, "did not read its close frame")

    async def _send_loop(self) -> None:
        """The one writer of this socket: frames leave in queue order, one at a time."""
        while True:
            while not self._queue:
                if self._close_sent:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            frame = self._queue.popleft()
            self._queued -= len(frame)
            try:
                self._writer.write(frame)
                if frame[0] & 0x0F != _CLOSE:
                    self.last_active = time.monotonic()
                self.stalled_since = time.monotonic()
                await self._writer.drain()  # waits only while the socket's buffer is full
                self.stalled_since = None
            except (ConnectionError, RuntimeError):
                self._dropped = self._close_sent = True
                self._queue.clear()
                return

    async def finish(self) -> None:
        """The connection is over: stop the writer (whatever is left cannot be delivered)."""
        self._close_sent = True
        self._wakeup.set()
        if not self._sender.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._sender), CLOSE_TIMEOUT)
            except asyncio.TimeoutError:
                self.drop("send queue not flushed at close")
                self._sender.cancel()

    # -- receiving --------------------------------------------------------------------------------

    async def recv(self) -> str | bytes | None:
        """The next whole data message (str for text, bytes for binary), or None once closed.

        Pings are answered in between; a close frame is answered and ends the connection.
        """
        data = bytearray()  # the message so far: appending is linear in its size, whatever the fragments
        fragments = 0
        kind: int | None = None  # opcode of the message being reassembled from fragments
        try:
            while True:
                fin, opcode, payload = await self._read_frame(len(data))
                if opcode == _CLOSE:
                    await self._answer_close(payload)
                    return None
                if opcode == _PING:
                    self._enqueue(_PONG, payload)
                    continue
                if opcode == _PONG:
                    continue
                if (opcode == _CONT) != (kind is not None):
                    raise WebSocketFailed(1002, "continuation frame out of sequence")
                fragments += 1
                if fragments > self._max_fragments:
                    raise WebSocketFailed(1008, f"message split into more than {self._max_fragments} frames")
                kind = kind if opcode == _CONT else opcode
                data += payload
                if not fin:
                    continue
                message, message_kind = bytes(data), kind
                data.clear()
                fragments, kind = 0, None
                if self._close_sent:
                    continue  # RFC 6455 5.5.1: after our close frame, data is discarded
                self.last_active = time.monotonic()
                if message_kind == _BINARY:
                    return message
                try:
                    return message.decode("utf-8")
                except UnicodeDecodeError:
                    raise WebSocketFailed(1007, "text message is not UTF-8") from None
        except WebSocketFailed as failure:
            logger.debug("failing WebSocket: %s (%d)", failure, failure.code)
            await self._fail(failure.code, str(failure))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # peer vanished without a close frame: as good as closed
        return None

    async def _read_frame(self, buffered: int) -> tuple[bool, int, bytes]:
        """One frame: (fin, opcode, unmasked payload). ``buffered`` = bytes of the message so far."""
        b0, b1 = await self._reader.readexactly(2)
        fin, opcode, length = bool(b0 & 0x80), b0 & 0x0F, b1 & 0x7F
        if b0 & 0x70:
            raise WebSocketFailed(1002, "reserved bits set (no extension was negotiated)")
        if not b1 & 0x80:
            raise WebSocketFailed(1002, "client frames must be masked")
        if opcode not in (_CONT, _TEXT, _BINARY, _CLOSE, _PING, _PONG):
            raise WebSocketFailed(1002, f"unknown opcode {opcode:#x}")
        if opcode >= _CLOSE and (not fin or length > 125):
            raise WebSocketFailed(1002, "control frames must be whole and at most 125 bytes")
        if length == 126:
            (length,) = struct.unpack("!H", await self._reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self._reader.readexactly(8))
        if opcode < _CLOSE and buffered + length > self._max_message:
            # Checked before reading the payload so a huge frame never lands in memory.
            raise WebSocketFailed(1009, f"message larger than {self._max_message} bytes")
        mask = await self._reader.readexactly(4)
        payload = await self._reader.readexactly(length)
        if length:
            # XOR as one big integer: linear time in C, ~100x faster than a Python byte loop.
            key = (mask * (length // 4 + 1))[:length]
            payload = (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(length, "little")
        return fin, opcode, payload

    async def _answer_close(self, payload: bytes) -> None:
        if len(payload) == 1:
            raise WebSocketFailed(1002, "close frame with a one-byte body")
        code = struct.unpack("!H", payload[:2])[0] if payload else 1000
        await self.close(code if 1000 <= code < 5000 and code not in (1004, 1005, 1006, 1015) else 1002)

    async def _fail(self, code: int, reason: str) -> None:
        """Send a close frame, then discard input until EOF so the close is not lost to a TCP reset."""
        await self.close(code, reason)
        try:
            if self._writer.can_write_eof() and not self._writer.is_closing():
                self._writer.write_eof()
            await asyncio.wait_for(self._discard_input(), CLOSE_TIMEOUT)
        except (asyncio.TimeoutError, OSError):
            pass

    async def _discard_input(self) -> None:
        while await self._reader.read(1 << 16):
            pass
