"""The inbox's two threads: frames handled once each, in order, one at a time; the socket read
while a handler is slow; nothing handled before the api thread serves; close and end."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable

from twsapp.session.inbox import TAKE_OVER, Inbox

WAIT = 10.0


def framed(*messages: bytes) -> bytes:
    return b"".join(len(m).to_bytes(4, "big") + m for m in messages)


class Socket:
    """A socket's reads: chunks given by the test, b"" on a timeout, None once closed."""

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes | None] = queue.Queue()
        self.reads = 0
        self.failure: OSError | None = None  # raised by the next read

    def read(self) -> bytes | None:
        self.reads += 1
        if self.failure is not None:
            raise self.failure
        try:
            return self.chunks.get(timeout=0.01)
        except queue.Empty:
            return b""

    def send(self, *chunks: bytes | None) -> None:
        for chunk in chunks:
            self.chunks.put(chunk)


class Served:
    """An inbox served by an api thread and a reader thread, as the wire does."""

    def __init__(self, handle: Callable[[bytes], None], open_api: bool = True) -> None:
        self.inbox = Inbox()
        self.socket = Socket()
        self.errors: list[BaseException] = []
        self._handle = handle
        self.reader = self._thread("reader", opens=False)
        self.api = self._thread("api", opens=True) if open_api else None

    def _thread(self, name: str, opens: bool) -> threading.Thread:
        def run() -> None:
            try:
                self.inbox.serve(self.socket.read, self._handle, opens=opens)
            except BaseException as exc:
                self.errors.append(exc)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def open_api(self) -> None:
        self.api = self._thread("api", opens=True)

    def join(self) -> None:
        for thread in (self.reader, self.api):
            if thread is not None:
                thread.join(WAIT)
                assert not thread.is_alive(), f"{thread.name} did not return"


class Recorder:
    """A handler that records frames and the threads that ran it, and catches overlaps."""

    def __init__(self, expected: int) -> None:
        self.frames: list[bytes] = []
        self.threads: set[str] = set()
        self.running = threading.Lock()
        self.overlaps = 0
        self.done = threading.Event()
        self.expected = expected

    def __call__(self, frame: bytes) -> None:
        if not self.running.acquire(blocking=False):
            self.overlaps += 1
            self.running.acquire()
        try:
            self.frames.append(frame)
            self.threads.add(threading.current_thread().name)
            if len(self.frames) >= self.expected:
                self.done.set()
        finally:
            self.running.release()


class Slow:
    """A handler that records each frame and holds on b"slow" until released; ``finished``
    lists the frames whose handling returned."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.handled: list[bytes] = []
        self.finished: list[bytes] = []

    def __call__(self, frame: bytes) -> None:
        self.handled.append(frame)
        if frame == b"slow":
            self.entered.set()
            self.release.wait(WAIT)
        self.finished.append(frame)


def until(predicate: Callable[[], bool]) -> bool:
    """Whether ``predicate`` comes to hold within WAIT (looked at every few milliseconds)."""
    pause = threading.Event()
    for _ in range(int(WAIT / 0.005)):
        if predicate():
            return True
        pause.wait(0.005)
    return predicate()


def chunked(data: bytes, sizes: Iterable[int]) -> list[bytes]:
    out, at = [], 0
    for size in sizes:
        out.append(data[at : at + size])
        at += size
    out.append(data[at:])
    return [c for c in out if c]


def test_frames_cut_anywhere_are_handled_once_each_in_order() -> None:
    messages = [f"{i}\0payload {i}\0".encode() * (i % 7 + 1) for i in range(500)]
    data = framed(*messages)
    sizes = [1, 2, 3, 4, 5, 4096, 7, 1000, 3] * 40
    recorder = Recorder(len(messages))
    served = Served(recorder)
    served.socket.send(*chunked(data, sizes))
    assert recorder.done.wait(WAIT)
    served.socket.send(None)
    served.join()
    assert recorder.frames == messages
    assert recorder.overlaps == 0
    assert served.errors == []


def test_an_empty_frame_is_skipped_and_the_stream_goes_on() -> None:
    recorder = Recorder(2)
    served = Served(recorder)
    served.socket.send(framed(b"1\0a\0", b"", b"2\0b\0"), None)
    served.join()
    assert recorder.frames == [b"1\0a\0", b"2\0b\0"]


def test_nothing_is_handled_before_the_api_thread_serves() -> None:
    recorder = Recorder(3)
    served = Served(recorder, open_api=False)
    served.socket.send(framed(b"a", b"b"))
    assert until(served.socket.chunks.empty)  # the reader has read them
    assert not recorder.done.wait(3 * TAKE_OVER)
    assert recorder.frames == []
    served.open_api()
    served.socket.send(framed(b"c"))
    assert recorder.done.wait(WAIT)
    served.socket.send(None)
    served.join()
    assert recorder.frames == [b"a", b"b", b"c"]


def test_what_came_before_the_socket_closed_is_handled_even_if_the_api_thread_is_late() -> None:
    recorder = Recorder(2)
    served = Served(recorder, open_api=False)
    served.socket.send(framed(b"326", b"last"), None)
    served.reader.join(WAIT)
    assert not served.reader.is_alive()  # the reader is done: the rest is the api thread's
    served.open_api()
    served.join()
    assert recorder.frames == [b"326", b"last"]


def in_slow_handler(*frames: bytes) -> tuple[Slow, Served]:
    """An inbox whose handler is holding on b"slow", the first of ``frames``."""
    slow = Slow()
    served = Served(slow)
    served.socket.send(framed(b"slow", *frames))
    assert slow.entered.wait(WAIT)
    return slow, served


def still_both_serving(served: Served) -> bool:
    """After a few take-over periods, neither thread has returned."""
    assert served.api is not None
    served.api.join(3 * TAKE_OVER)
    return served.api.is_alive() and served.reader.is_alive()


def test_a_slow_handler_does_not_stop_the_socket_being_read() -> None:
    slow, served = in_slow_handler()
    served.socket.send(framed(b"a"), framed(b"b", b"c"))
    # the other thread takes over reading: every chunk is read while the handler still waits
    assert until(served.socket.chunks.empty)
    assert slow.handled == [b"slow"]  # ... and nothing is handled before its turn
    slow.release.set()
    served.socket.send(None)
    served.join()
    assert slow.handled == [b"slow", b"a", b"b", b"c"]


def test_close_drops_what_is_queued_after_the_running_handler_finishes() -> None:
    slow, served = in_slow_handler(b"dropped")
    served.inbox.close()
    # one thread is in the handler; the other waits for it (the api thread must not report the
    # close, which resets ibapi's client, under a running callback)
    assert still_both_serving(served)
    slow.release.set()
    served.join()
    assert slow.handled == slow.finished == [b"slow"]


def test_at_the_end_neither_thread_returns_while_the_other_is_in_a_handler() -> None:
    slow, served = in_slow_handler()
    served.socket.send(framed(b"after"), None)  # read by the other thread, then the end
    assert until(served.socket.chunks.empty)
    assert still_both_serving(served)
    slow.release.set()
    served.join()
    assert slow.handled == [b"slow", b"after"]


def test_a_failed_read_waits_for_the_other_threads_handler_then_raises() -> None:
    slow, served = in_slow_handler()
    served.socket.failure = OSError("the socket went away under the read")
    assert still_both_serving(served)
    slow.release.set()
    served.join()
    assert slow.finished == [b"slow"]
    assert [str(e) for e in served.errors] == ["the socket went away under the read"]


def test_a_failing_handler_stops_both_threads_and_raises() -> None:
    def handle(frame: bytes) -> None:
        raise ValueError(frame.decode())

    served = Served(handle)
    served.socket.send(framed(b"boom", b"never"))
    served.join()
    assert [str(e) for e in served.errors] == ["boom"]
    assert served.inbox.closed


def test_frames_put_by_ibapis_own_reader_are_handled_in_turn() -> None:
    recorder = Recorder(2)
    served = Served(recorder)
    served.inbox.put(b"x")
    served.socket.send(framed(b"y"))
    assert recorder.done.wait(WAIT)
    served.socket.send(None)
    served.join()
    assert recorder.frames == [b"x", b"y"]


def test_nothing_read_is_kept_once_handled() -> None:
    """A batch can be megabytes (a start-up's executions): once handled, neither thread keeps
    it, nor the bytes it was cut from, while waiting for its next turn."""
    import gc
    import tracemalloc

    count = 0
    done = threading.Event()
    n = 20_000

    def handle(frame: bytes) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    tracemalloc.start()
    try:
        served = Served(handle)
        served.socket.send(framed(*(b"%d\0" % i + b"x" * 200 for i in range(n))))  # 4.3 MB
        assert done.wait(WAIT)
        assert until(lambda: not served.inbox._handling)
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
        assert held < 500_000, f"{held} bytes still held after handling 4.3 MB"
    finally:
        tracemalloc.stop()
    served.socket.send(None)
    served.join()
