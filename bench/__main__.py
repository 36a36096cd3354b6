"""The bench driver: `python -m bench [--tiny] [--out DIR] [--no-ib-async]`.

Starts `twsapp sim` in its own process for each scenario (pacing off, clock frozen, server
version 178 so that ib_async can join), one worker process per program (worker.py), and
alternates the programs request block by request block. Writes DIR/latest.json and
DIR/latest.png and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from . import ingest, report

VERSION = 178  # the newest ib_async speaks; every scenario runs at it, for all programs
DEADLINE = 120.0


@dataclass(frozen=True)
class Sizes:
    round_trips: int = 2000  # scenario 1, per program
    block: int = 100  # round trips per turn before the next program's turn
    ingest_orders: int = 20_000  # scenario 2: 4 messages each, plus 25 % repeats
    ingest_reps: int = 3
    startup_open: int = 1000  # scenario 4
    startup_fills: int = 10_000
    startup_reps: int = 2
    held: int = 10_000  # scenario 5, and scenario 6's orders held
    capacity_rt: int = 500  # scenario 6: round trips empty, then with `held` orders
    burst: int = 500  # scenario 3: orders through the pacing limiter at BURST_RATE
    memory_reps: int = 1  # scenario 5: traced runs per program (the figure repeats: one is enough)


FULL = Sizes()
TINY = Sizes(20, 10, 200, 1, 10, 20, 1, 100, 20, 50, 1)
BURST_RATE = 50.0  # TWS's own limit: the limiter must keep to it exactly, with no error 100


class Sim:
    """`twsapp sim` in its own process, on a free port; ``pacing`` keeps TWS's 50/s check."""

    def __init__(self, log: Path, pacing: bool = False) -> None:
        self._log = log.open("w")
        args = ["--port", "0", "--speed", "0", "--server-version", str(VERSION)]
        args += [] if pacing else ["--no-pacing"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "twsapp", "sim", *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], DEADLINE)
        line = self.proc.stdout.readline() if ready else ""
        found = re.search(r"listening on \S+:(\d+)", line)
        if found is None:
            self.stop()
            raise RuntimeError(f"twsapp sim did not start: {line!r} (see {log})")
        self.port = int(found.group(1))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Worker:
    """A program in its own process (worker.py), called one command at a time."""

    def __init__(self, program: str, log: Path) -> None:
        self.program = program
        self._log = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", program],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )

    def __call__(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.program} worker died during {op} (see {self._log.name})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{self.program} {op}: {reply['error']}")
        return reply

    def quit(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write('{"op": "quit"}\n')
            self.proc.stdin.flush()
            try:
                self.proc.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def median(values: list[float]) -> float:
    return statistics.median(values)


def quantiles(values: list[float], steps: int = 200) -> list[float]:
    ordered = sorted(values)
    last = len(ordered) - 1
    return [round(ordered[round(i * last / steps)], 4) for i in range(steps + 1)]


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- scenarios


def round_trip(sizes: Sizes, programs: list[str], work: Path) -> dict[str, Any]:
    """Scenario 1: resting LMT orders one after another, programs taking turns per block."""
    sim = Sim(work / "sim-round-trip.log")
    workers = {p: Worker(p, work / f"{p}.log") for p in programs}
    try:
        for i, worker in enumerate(workers.values()):
            worker("connect", port=sim.port, client_id=11 + i)
            worker("round_trips", n=min(20, sizes.block))  # warm-up, not counted
        latencies: dict[str, list[float]] = {p: [] for p in programs}
        cpu = dict.fromkeys(programs, 0.0)
        for _ in range(sizes.round_trips // sizes.block):
            for name, worker in workers.items():
                reply = worker("round_trips", n=sizes.block)
                latencies[name] += reply["latencies"]
                cpu[name] += reply["cpu"]
    finally:
        for worker in workers.values():
            worker.quit()
        sim.stop()
    out: dict[str, Any] = {"orders": sizes.round_trips, "server_version": VERSION}
    for name in programs:
        out[f"median_ms_{name}"] = 1e3 * median(latencies[name])
        out[f"p99_ms_{name}"] = 1e3 * p99(latencies[name])
        out[f"cpu_us_{name}"] = 1e6 * cpu[name] / len(latencies[name])
    for name in programs:
        if name != "bare":
            suffix = "" if name == "twsapp" else f"_{name}"
            out[f"ratio_bare{suffix}"] = out[f"median_ms_{name}"] / out["median_ms_bare"]
            out[f"cpu_ratio_bare{suffix}"] = out[f"cpu_us_{name}"] / out["cpu_us_bare"]
    if "bare_fields" in programs:  # the field functions being the same on both sides
        out["ratio_same_fields"] = out["median_ms_twsapp"] / out["median_ms_bare_fields"]
    if "ib_async" in programs:
        out["ratio_ib_async"] = out["median_ms_twsapp"] / out["median_ms_ib_async"]
    # The distribution as 201 quantiles (every half percent): enough to draw it, small to keep.
    out["quantiles_ms"] = {p: quantiles([1e3 * x for x in latencies[p]]) for p in programs}
    return out


def ingest_scenario(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Scenario 2: the same recorded frames through each program's own loop and callbacks."""
    frames = ingest.record_frames(sizes.ingest_orders, VERSION)
    path = work / "frames.pickle"
    with path.open("wb") as f:
        pickle.dump(frames, f)
    programs = ["bare", "bare_fields", "twsapp"]
    workers = {p: Worker(p, work / f"{p}-ingest.log") for p in programs}
    runs: dict[str, list[dict[str, Any]]] = {p: [] for p in programs}
    try:
        for _ in range(sizes.ingest_reps):
            for name, worker in workers.items():
                runs[name].append(worker("ingest", frames=str(path), version=VERSION))
    finally:
        for worker in workers.values():
            worker.quit()
    out: dict[str, Any] = {"messages": len(frames), "orders": sizes.ingest_orders}
    for name in programs:
        best = sorted(runs[name], key=lambda r: r["seconds"])[len(runs[name]) // 2]
        out[f"msgs_per_s_{name}"] = best["messages"] / best["seconds"]
        out[f"us_per_msg_{name}"] = 1e6 * best["seconds"] / best["messages"]
        cpu = sorted(r["cpu_seconds"] for r in runs[name])[len(runs[name]) // 2]
        out[f"cpu_us_per_msg_{name}"] = 1e6 * cpu / best["messages"]
        out[f"us_per_kind_{name}"] = best["us_per_kind"]
        out[f"median_us_per_msg_{name}"] = best["median_us"]  # each frame's own time
        out[f"p99_us_per_msg_{name}"] = best["p99_us"]
        out[f"timeline_{name}"] = best["timeline"]
    out["ratio_bare"] = out["msgs_per_s_twsapp"] / out["msgs_per_s_bare"]
    out["ratio_bare_cpu"] = out["cpu_us_per_msg_bare"] / out["cpu_us_per_msg_twsapp"]
    out["ratio_same_fields"] = out["msgs_per_s_twsapp"] / out["msgs_per_s_bare_fields"]
    return out


def burst(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Scenario 3: orders queued at once through twsapp's limiter at 50/s, against the
    simulator with TWS's 50 messages/s check on: total time against n / 50, and error 100s."""
    sim = Sim(work / "sim-burst.log", pacing=True)
    worker = Worker("twsapp", work / "twsapp-burst.log")
    try:
        reply = worker("burst", port=sim.port, client_id=41, n=sizes.burst, rate=BURST_RATE)
    finally:
        worker.quit()
        sim.stop()
    theoretical = sizes.burst / BURST_RATE
    return {
        "orders": sizes.burst,
        "rate": BURST_RATE,
        "seconds": reply["seconds"],
        # each order: seconds from the first place() until it was known Submitted
        "median_submitted_seconds": median(reply["submitted"]),
        "p99_submitted_seconds": p99(reply["submitted"]),
        "theoretical_seconds": theoretical,
        "ratio_theoretical": reply["seconds"] / theoretical,
        "error_100": reply["error_100"],
    }


def startup(sizes: Sizes, programs: list[str], work: Path) -> dict[str, Any]:
    """Scenario 4: a program restarting as the client id whose orders and fills TWS holds."""
    sim = Sim(work / "sim-startup.log")
    client_id = 50
    try:
        seeder = Worker("bare", work / "seed.log")
        try:
            seeded = seeder(
                "seed",
                port=sim.port,
                client_id=client_id,
                open_orders=sizes.startup_open,
                fills=sizes.startup_fills,
            )
        finally:
            seeder.quit()
        times: dict[str, list[float]] = {p: [] for p in programs}
        ready: dict[str, list[float]] = {p: [] for p in programs}
        for _ in range(sizes.startup_reps):
            for name in programs:
                worker = Worker(name, work / f"{name}-startup.log")
                try:
                    reply = worker("startup", port=sim.port, client_id=client_id)
                finally:
                    worker.quit()
                times[name].append(reply["synced"])
                ready[name].append(reply["ready"])
    finally:
        sim.stop()
    out: dict[str, Any] = {
        "open_orders": sizes.startup_open,
        "executions": sizes.startup_fills,
        "seed_seconds": seeded["seconds"],
    }
    for name in programs:
        out[f"seconds_{name}"] = median(times[name])
        out[f"p99_seconds_{name}"] = p99(times[name])  # of a few runs: near the slowest
        out[f"ready_seconds_{name}"] = median(ready[name])
        out[f"spread_{name}"] = [min(times[name]), max(times[name])]
    out["ratio_bare"] = out["seconds_twsapp"] / out["seconds_bare"]
    if "ib_async" in programs:
        out["ratio_bare_ib_async"] = out["seconds_ib_async"] / out["seconds_bare"]
    return out


def memory(sizes: Sizes, programs: list[str], work: Path) -> dict[str, Any]:
    """Scenario 5: memory per order placed and held, and per order received.

    The figures are tracemalloc's bytes still held after a full collection, median over
    ``memory_reps`` runs per program (alternated): the same from run to run, where resident
    memory moves by more than the programs differ. Resident memory (one run), the longest GC
    pause and a full collection's time come from an untraced run.
    """
    sim = Sim(work / "sim-memory.log")
    out: dict[str, Any] = {"orders": sizes.held}
    client_ids = iter(range(100, 200))

    def run(name: str, traced: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        client_id = next(client_ids)
        worker = Worker(name, work / f"{name}-memory.log")
        try:
            worker("connect", port=sim.port, client_id=client_id)
            placed = worker("hold", n=sizes.held, traced=traced)
        finally:
            worker.quit()
        worker = Worker(name, work / f"{name}-memory.log")
        try:
            received = worker("receive", port=sim.port, client_id=client_id, traced=traced)
        finally:
            worker.quit()
        return placed, received

    try:
        for name in programs:
            placed, received = run(name, traced=False)
            out[f"rss_placed_{name}"] = (placed["rss_after"] - placed["rss_before"]) / sizes.held
            out[f"rss_received_{name}"] = (
                received["rss_after"] - received["rss_before"]
            ) / sizes.held
            out[f"gc_pause_ms_{name}"] = 1e3 * max(placed["gc_pause_max"], received["gc_pause_max"])
            pauses = placed["gc_pauses"] + received["gc_pauses"]
            out[f"gc_pause_median_ms_{name}"] = 1e3 * median(pauses) if pauses else 0.0
            out[f"gc_pause_p99_ms_{name}"] = 1e3 * p99(pauses) if pauses else 0.0
            out[f"full_collect_ms_{name}"] = 1e3 * placed["full_collect"]
        traced: dict[str, list[tuple[int, int]]] = {p: [] for p in programs}
        for _ in range(sizes.memory_reps):
            for name in programs:
                placed, received = run(name, traced=True)
                traced[name].append((placed["traced"], received["traced"]))
        for name in programs:
            out[f"bytes_placed_{name}"] = median([p for p, _ in traced[name]]) / sizes.held
            out[f"bytes_received_{name}"] = median([r for _, r in traced[name]]) / sizes.held
            out[f"bytes_placed_runs_{name}"] = [p / sizes.held for p, _ in traced[name]]
    finally:
        sim.stop()
    for name in programs:
        if name != "bare":
            suffix = "" if name == "twsapp" else f"_{name}"
            out[f"ratio_bare_placed{suffix}"] = (
                out[f"bytes_placed_{name}"] / out["bytes_placed_bare"]
            )
            out[f"ratio_bare_received{suffix}"] = (
                out[f"bytes_received_{name}"] / out["bytes_received_bare"]
            )
    out["gc_pause_ratio_bare"] = out["gc_pause_ms_twsapp"] / max(out["gc_pause_ms_bare"], 1e-3)
    return out


def capacity(sizes: Sizes, work: Path) -> dict[str, Any]:
    """Scenario 6: the simulator's own throughput, and its place latency empty and loaded."""
    sim = Sim(work / "sim-capacity.log")
    worker = Worker("bare", work / "bare-capacity.log")
    try:
        worker("connect", port=sim.port, client_id=31)
        worker("round_trips", n=min(20, sizes.capacity_rt))
        empty = worker("round_trips", n=sizes.capacity_rt)["latencies"]
        # Through a client that only counts: a program's own reader would set the pace.
        burst = worker("flood", port=sim.port, client_id=32, n=sizes.held)
        held = worker("round_trips", n=sizes.capacity_rt)["latencies"]
    finally:
        worker.quit()
        sim.stop()
    messages = burst["messages"]  # each placeOrder in, openOrder + orderStatus twice out
    return {
        "msgs_per_s": messages / burst["seconds"],
        "orders_per_s": sizes.held / burst["seconds"],
        "place_ms_empty": 1e3 * median(empty),
        "place_ms_held": 1e3 * median(held),
        "place_p99_ms_empty": 1e3 * p99(empty),
        "place_p99_ms_held": 1e3 * p99(held),
        "held": sizes.held,
        "ratio_held_empty": median(held) / median(empty),
    }


# --------------------------------------------------------------------------- the run


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    versions = {}
    for package in ("nautilus-ibapi", "ib_async"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        **versions,
    }


def has_ib_async() -> bool:
    try:
        metadata.version("ib_async")
    except metadata.PackageNotFoundError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="a small run (the smoke test)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--no-ib-async", action="store_true", help="leave ib_async out")
    parser.add_argument("--no-png", action="store_true", help="skip the matplotlib figure")
    parser.add_argument(
        "--only",
        help="comma-separated scenarios to run (round_trip,ingest,burst,startup,memory,simulator)",
    )
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else FULL
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    programs = ["bare", "twsapp"] + ([] if args.no_ib_async or not has_ib_async() else ["ib_async"])
    timed = ["bare", "bare_fields", *programs[1:]]  # scenario 1 adds twsapp's fields to bare
    began = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "sizes": sizes.__dict__, "programs": programs}
    with tempfile.TemporaryDirectory(prefix="twsapp-bench-") as tmp:
        work = Path(tmp)
        try:
            steps = [
                ("round_trip", lambda: round_trip(sizes, timed, work)),
                ("ingest", lambda: ingest_scenario(sizes, work)),
                ("burst", lambda: burst(sizes, work)),
                ("startup", lambda: startup(sizes, programs, work)),
                ("memory", lambda: memory(sizes, programs, work)),
                ("simulator", lambda: capacity(sizes, work)),
            ]
            chosen = set(args.only.split(",")) if args.only else {name for name, _ in steps}
            for name, step in steps:
                if name not in chosen:
                    continue
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                step_began = time.perf_counter()
                results[name] = step()
                summary = {
                    k: round(v, 3) for k, v in results[name].items() if isinstance(v, int | float)
                }
                took = time.perf_counter() - step_began
                print(f"bench: {name} took {took:.0f} s: {summary}", file=sys.stderr, flush=True)
        except Exception:
            for log in sorted(work.glob("*.log")):
                tail = log.read_text()[-2000:]
                if tail.strip():
                    print(f"--- {log.name}\n{tail}", file=sys.stderr)
            raise
    results["seconds"] = time.perf_counter() - began
    kept = out / "latest.json"
    if args.only and kept.exists():  # a partial run updates its scenarios, keeps the others
        previous = json.loads(kept.read_text())
        results = {**previous, **{k: v for k, v in results.items() if k != "seconds"}}
        results["partial_runs"] = [*previous.get("partial_runs", []), sorted(chosen)]
    kept.write_text(json.dumps(report.with_targets(results), indent=2) + "\n")
    print(report.table(results))
    if not args.no_png:
        report.figure(results, out / "latest.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
