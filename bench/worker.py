"""One program in its own process, driven by the bench over stdin / stdout, one JSON per line.

A process per program keeps each one's memory, garbage collector and threads its own, so that
resident memory and GC pauses are the program's alone, while the driver still alternates the
programs request by request (A B A B ...). Commands (``op``):

- ``connect`` {port, client_id}: connect (retrying while the simulator frees the id), and
  report the seconds it took and the resident memory before and after;
- ``round_trips`` {n}: n resting LMT orders one after another: each latency, the process CPU;
- ``hold`` {n}: n resting LMT orders back to back until all are Submitted: memory before and
  after (after a full collection), the longest GC pause meanwhile, a full collection's time;
  with ``traced``, the same held under tracemalloc: the bytes still allocated after it;
- ``burst`` {port, client_id, n, rate}: twsapp only, paced at ``rate``: n orders queued at
  once, the seconds until all are Submitted and the count of error 100;
- ``startup`` {port, client_id}: connect and sync: seconds until ready, and until synced;
- ``receive`` {port, client_id, traced}: connect and sync an id whose orders are held by the
  simulator: memory before and after, as ``hold``;
- ``flood`` {port, client_id, n}: n resting orders back to back from a client that only
  counts what comes back (flood.py): the simulator's throughput, whatever the program;
- ``ingest`` {frames, version}: feed recorded frames to a fresh program (ingest.py);
- ``quit``.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import pickle
import sys
import time
import tracemalloc
from typing import Any

from . import ingest
from .programs import PROGRAMS, Program, connect_when_free


class GcTimer:
    """The garbage collector's pauses while it is installed (gc.callbacks), and the longest."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.pauses: list[float] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            pause = time.perf_counter() - self._began
            self.pauses.append(pause)
            self.longest = max(self.longest, pause)

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def rss() -> int:
    """Resident memory of this process, in bytes, after a full collection."""
    gc.collect()
    try:
        import psutil  # the bench extra; the smoke test runs without it
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.Process().memory_info().rss)


def traced_bytes(action: Any) -> int:
    """Bytes allocated by ``action`` and still held after a full collection (tracemalloc).

    Why not resident memory alone: the allocator's arenas and the heap's high-water mark move
    RSS by more than the difference between the programs; traced bytes are the same each run.
    """
    gc.collect()
    tracemalloc.start()
    try:
        action()
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return held


def full_collect() -> float:
    began = time.perf_counter()
    gc.collect()
    return time.perf_counter() - began


class Worker:
    def __init__(self, program: str) -> None:
        self.kind = program
        self.program: Program | None = None

    def _connect(self, port: int, client_id: int) -> Program:
        return connect_when_free(lambda: PROGRAMS[self.kind](), port, client_id)

    def op_connect(self, port: int, client_id: int) -> dict[str, Any]:
        before = rss()
        began = time.perf_counter()
        self.program = self._connect(port, client_id)
        return {"seconds": time.perf_counter() - began, "rss_before": before, "rss": rss()}

    def op_round_trips(self, n: int) -> dict[str, Any]:
        assert self.program is not None
        cpu, wall = time.process_time(), time.perf_counter()
        latencies = [self.program.round_trip() for _ in range(n)]
        return {
            "latencies": latencies,
            "cpu": time.process_time() - cpu,
            "wall": time.perf_counter() - wall,
        }

    def op_hold(self, n: int, traced: bool = False) -> dict[str, Any]:
        assert self.program is not None
        program = self.program
        if traced:
            return {"traced": traced_bytes(lambda: program.hold(n))}
        before = rss()
        began = time.perf_counter()
        with GcTimer() as timer:
            self.program.hold(n)
        seconds = time.perf_counter() - began
        after = rss()
        return {
            "seconds": seconds,
            "rss_before": before,
            "rss_after": after,
            "gc_pause_max": timer.longest,
            "gc_pauses": timer.pauses,
            "full_collect": full_collect(),
        }

    def op_startup(self, port: int, client_id: int) -> dict[str, Any]:
        began = time.perf_counter()
        self.program = self._connect(port, client_id)
        ready = time.perf_counter() - began
        self.program.sync()
        return {"ready": ready, "synced": time.perf_counter() - began}

    def op_receive(self, port: int, client_id: int, traced: bool = False) -> dict[str, Any]:
        if traced:

            def receive() -> None:
                self.program = self._connect(port, client_id)
                self.program.sync()

            return {"traced": traced_bytes(receive)}
        before = rss()
        with GcTimer() as timer:
            self.program = self._connect(port, client_id)
            self.program.sync()
        after = rss()
        return {
            "rss_before": before,
            "rss_after": after,
            "gc_pause_max": timer.longest,
            "gc_pauses": timer.pauses,
            "full_collect": full_collect(),
        }

    def op_seed(self, port: int, client_id: int, open_orders: int, fills: int) -> dict[str, Any]:
        """What TWS holds before a start-up: ``fills`` executions (market orders, filled at
        once) and ``open_orders`` resting orders of ``client_id`` (the bare program only)."""
        from twsapp.session.connection import make_resilient

        from .programs import Bare

        bare = connect_when_free(Bare, port, client_id)
        assert isinstance(bare, Bare)
        # Seeding is no measurement: it must not lose a frame to ibapi's reader, which drops
        # the bytes on hand when a burst ends on a 4096-byte boundary (connection.py), and
        # then waits for a Filled that never comes.
        make_resilient(bare.app.conn)
        began = time.perf_counter()
        bare.fill(fills)
        bare.hold(open_orders)
        bare.close()
        return {"seconds": time.perf_counter() - began}

    def op_burst(self, port: int, client_id: int, n: int, rate: float) -> dict[str, Any]:
        from .programs import Twsapp

        program = connect_when_free(lambda: Twsapp(rate), port, client_id)
        assert isinstance(program, Twsapp)
        self.program = program
        time.sleep(1.5)  # the connect's own requests leave TWS's one-second window
        seconds, submitted = program.burst(n)
        time.sleep(1.0)  # an error 100 for the last frames would arrive within this
        return {"seconds": seconds, "submitted": submitted, "error_100": program.pacing_errors}

    def op_flood(self, port: int, client_id: int, n: int) -> dict[str, Any]:
        """The simulator's throughput, through a client that only counts (flood.py)."""
        from .flood import flood

        return flood(port, client_id, n)

    def op_ingest(self, frames: str, version: int) -> dict[str, Any]:
        with open(frames, "rb") as f:
            payloads = pickle.load(f)
        client, handle = ingest.make_handler(self.kind, version)
        gc.collect()
        result = ingest.feed(handle, payloads, version)
        del client
        return result

    def close(self) -> None:
        if self.program is not None:
            self.program.close()
            self.program = None


# What each program imports, imported before any timing starts (twsapp imports pandas).
IMPORTS = {
    "bare": "ibapi.client",
    "bare_fields": "twsapp.session.fields",
    "twsapp": "twsapp.session",
    "ib_async": "ib_async",
}


def main() -> int:
    importlib.import_module(IMPORTS[sys.argv[1]])
    worker = Worker(sys.argv[1])
    out = sys.stdout
    sys.stdout = sys.stderr  # anything a library prints must not corrupt the protocol
    try:
        for line in sys.stdin:
            command = json.loads(line)
            op = command.pop("op")
            if op == "quit":
                break
            try:
                reply = getattr(worker, f"op_{op}")(**command)
            except Exception as exc:  # reported to the driver, which stops the run
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            out.write(json.dumps(reply) + "\n")
            out.flush()
    finally:
        worker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
