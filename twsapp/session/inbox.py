"""What TWS sends, read and handled by two threads taking turns.

ibapi reads the socket on its reader thread and hands every frame through a queue to its api
thread, which decodes it: each answer waits for a second thread to wake, about a tenth of an
order's round trip on loopback. Here the thread that reads a batch of frames handles it at once,
and the other one takes over the socket if handling takes long (a subscriber writing a log line
to a full pipe, say), so a slow consumer still never stops the socket being read. The two are
ibapi's reader thread and the session's api thread; whichever holds the handling turn handles
the next batch, in the order read, so callbacks still run one at a time and in wire order.

The thread not in a turn looks every ``TAKE_OVER`` seconds whether it should read, and is
woken early only by an open, a close or the end of the socket: waking it for every batch would
put a thread switch back on the path this saves.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

TAKE_OVER = 0.05  # seconds a handling turn may keep the socket unread before the other reads

Reader = Callable[[], bytes | None]  # the next bytes (b"" on a read timeout), None once closed


class Inbox:
    """The frames read and not yet handled, and the two roles: reading and handling."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._frames: deque[bytes] = deque()
        self._partial = b""  # the start of a frame whose rest is still on its way
        self._reading = False
        self._handling = False
        self._ended = False  # the socket is closed: what is queued is the last of it
        self._opened = False  # the api thread serves: handling may start
        self._since = 0.0  # when the current handling turn began
        self.closed = False  # closed by the session: what is queued is dropped

    def serve(self, read: Reader, handle: Callable[[bytes], None], opens: bool = False) -> None:
        """Read and handle, taking turns with the other thread, until the socket has closed and
        everything read is handled, or the inbox is closed. ``opens``: this is the api thread,
        whose start lets handling begin (as ibapi's queue holds frames until it runs)."""
        cond = self._cond
        try:
            with cond:
                if opens:
                    self._opened = True
                    cond.notify_all()
            while True:
                batch = self._next_turn(read)
                if batch is None:
                    return
                try:
                    # Taken off as handled: a batch can be megabytes, and this thread may wait
                    # long for its next turn.
                    pop = batch.popleft
                    while batch and not self.closed:  # a close drops what is not handled yet
                        handle(pop())
                finally:
                    batch.clear()
                    with cond:
                        self._handling = False
                        if self.closed or self._ended:
                            cond.notify_all()  # the other thread may be waiting to return
        except BaseException:
            # A handler or a read failed: the other thread stops too, as ibapi's loop would,
            # once its own handler (if it is in one) has returned.
            with cond:
                self.closed = True
                self._frames.clear()
                cond.notify_all()
                while self._handling:
                    cond.wait()
            raise

    def _next_turn(self, read: Reader) -> deque[bytes] | None:
        """The next batch this thread handles (reading for it when the socket is free), or
        None when there is nothing more to do."""
        cond = self._cond
        while True:
            with cond:
                while True:
                    if self.closed or (self._ended and not (self._frames and self._opened)):
                        if not self._handling:
                            return None  # (frames left unopened are the api thread's, if any)
                    elif self._opened and self._frames and not self._handling:
                        return self._take()
                    elif not (self._reading or self._ended) and (
                        not self._handling or time.monotonic() - self._since >= TAKE_OVER
                    ):
                        self._reading = True
                        break
                    cond.wait(TAKE_OVER)  # woken early only by an open, a close, or the end
            data: bytes | None = b""
            try:
                data = read()
            finally:
                with cond:
                    self._reading = False
                    if data is None:
                        self._ended = True
                        cond.notify_all()
                    elif data:
                        self._add(data)
                data = None  # not kept while this thread waits for a turn

    def _take(self) -> deque[bytes]:
        batch, self._frames = self._frames, deque()
        self._handling = True
        self._since = time.monotonic()
        return batch

    def _add(self, data: bytes) -> None:
        """Cut the bytes read into frames (a 4-byte big-endian length, then the message)."""
        buf = self._partial + data if self._partial else data
        at, end = 0, len(buf)
        frames = self._frames
        while end - at >= 4:
            stop = at + 4 + int.from_bytes(buf[at : at + 4], "big")
            if stop > end:
                break
            if stop > at + 4:
                frames.append(buf[at + 4 : stop])
            at = stop
        self._partial = buf[at:]

    def put(self, frame: bytes) -> None:
        """ibapi's reader queues a frame here should it ever read by itself (the connection
        sends it to ``serve`` instead): it is handled in its turn all the same."""
        with self._cond:
            if not self.closed:
                self._frames.append(frame)
                self._cond.notify_all()

    def close(self) -> None:
        """Drop what is queued and let both threads return (the session is closing this
        connection); a handler running now finishes first."""
        with self._cond:
            self.closed = True
            self._frames.clear()
            self._cond.notify_all()
