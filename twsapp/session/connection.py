"""ibapi's socket connection, with its one data-losing read fixed.

ibapi (10.46) reads the socket in 4096-byte chunks until a short one. When the bytes on hand end
exactly at a chunk boundary, the next read waits for the socket's 1 s timeout, and the timeout
discards every chunk already read: the frames in them are lost and the rest of the stream is
mis-framed. Real TWS can produce such a boundary at any time; here a timeout simply ends the
read and returns what arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ibapi.connection import Connection

if TYPE_CHECKING:
    from .pacing import Pacer

CHUNK = 4096


class ResilientConnection(Connection):
    pacer: Pacer | None = None
    serving: Callable[[], None] | None = None  # what ibapi's reader thread does once connected

    def recvMsg(self) -> bytes:  # noqa: N802 (ibapi's name)
        """ibapi's reader thread calls this in its loop. Once connected, its first call serves
        the inbox with the api thread until the socket closes (wire.py, inbox.py), and returns
        nothing: its loop then ends, as the connection is closed."""
        serve, self.serving = self.serving, None
        if serve is None:
            return super().recvMsg()
        serve()
        return b""

    def read(self) -> bytes | None:
        """The bytes that arrived (b"" when the read timed out), or None once the socket is
        closed (ibapi's recvMsg has then disconnected it)."""
        data = super().recvMsg()
        return data if data or self.isConnected() else None

    def sendMsg(self, msg: bytes) -> Any:  # noqa: N802 (ibapi's name)
        """The one place ibapi writes to the socket: every frame passes the pacer (pacing.py)."""
        if self.pacer is None:
            return super().sendMsg(msg)
        self.pacer.send(msg, super().sendMsg)
        return len(msg)

    def _recvAllMsg(self) -> bytes:  # noqa: N802 (ibapi's name)
        chunks: list[bytes] = []
        while (sock := self.socket) is not None:  # another thread may close it meanwhile
            try:
                buf = sock.recv(CHUNK)
            except TimeoutError:
                if chunks:
                    break
                raise
            chunks.append(buf)
            if len(buf) < CHUNK:
                break
        return b"".join(chunks)


def make_resilient(conn: Connection | None, pacer: Pacer | None = None) -> None:
    """Swap a freshly made ibapi Connection to the fixed reader (before any byte is read) and
    to the pacer's writer (before any byte is written)."""
    if conn is not None and type(conn) is Connection:
        conn.__class__ = ResilientConnection
    if isinstance(conn, ResilientConnection):
        conn.pacer = pacer
