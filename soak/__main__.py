"""`make soak`: `twsapp run` against `twsapp sim` for a simulated week, TWS's nightly restart
included, its memory sampled; then its summary held to what the simulator holds.

Each in its own process, as a user runs them: the simulator fast (``--speed``: simulated
seconds per real second, so a week takes minutes) and restarting itself every trading day
(``--daily-restart``); the run in mode "tws" with a journal, the control API off, and
soak/strategy.py trading on a real-time timer. Every ``--sample`` seconds: the run's resident
memory (psutil), and from the logs the restarts, reconnects and resyncs so far. At the end:
SIGINT, exit 0 expected, the summary compared with a plain ibapi client's view of the
simulator (soak/truth.py). Writes soak/results/latest.json (and latest.png with matplotlib);
exit 1 if the run died, did not exit 0, missed a restart or disagreed with the simulator.

The work folder (configs, logs, journal, summary) is soak/results/work/, remade each time.
"""

from __future__ import annotations

import argparse
import json
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psutil  # type: ignore[import-untyped]  # the bench extra

from twsapp.sim.fault_plan import DailyRestart

from .truth import differences

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "soak" / "results"
NEW_YORK = ZoneInfo("America/New_York")
DAY = 86400.0
MB = 1024 * 1024
STOP_WAIT = 120.0  # real seconds the run has to stop after SIGINT


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=float, default=7.0, help="simulated days (default: a week)")
    p.add_argument("--speed", type=float, default=1800.0,
                   help="simulated seconds per real second (1800: a week in 5.6 minutes)")  # fmt: skip
    p.add_argument("--start", default="2026-12-07T10:00:00-05:00",
                   help="simulated start (a Monday in regular hours: the last orders fill)")  # fmt: skip
    p.add_argument("--restart-at", default="23:45", help="the daily restart, New York time")
    p.add_argument("--down", type=float, default=2.0, help="real seconds the port refuses")
    p.add_argument("--sample", type=float, default=2.0, help="real seconds between samples")
    p.add_argument("--every", type=float, default=0.5, help="real seconds between orders")
    p.add_argument("--out", type=Path, default=RESULTS, help="where latest.json goes")
    return p.parse_args(argv)


@dataclass
class LogCount:
    """Lines of a growing log file that contain each text, read from where it was left."""

    path: Path
    texts: dict[str, str]

    def __post_init__(self) -> None:
        self.counts = dict.fromkeys(self.texts, 0)
        self.found: dict[str, list[str]] = {key: [] for key in self.texts}
        self._offset = 0

    def update(self) -> dict[str, int]:
        with self.path.open("rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a half-written last line waits for the next update
        self._offset += end
        for line in data[:end].decode(errors="replace").splitlines():
            for key, text in self.texts.items():
                if text in line:
                    self.counts[key] += 1
                    self.found[key].append(line)
        return dict(self.counts)


def start_sim(args: argparse.Namespace, work: Path) -> tuple[subprocess.Popen[str], int]:
    restart = f"{args.restart_at},down={args.down:g}"
    command = [sys.executable, "-m", "twsapp", "sim", "--port", "0", "--seed", "7",
               "--speed", f"{args.speed:g}", "--start", args.start, "--daily-restart", restart]  # fmt: skip
    with (work / "sim.log").open("w") as log:
        sim = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
    assert sim.stdout is not None
    ready, _, _ = select.select([sim.stdout], [], [], 60)
    line = sim.stdout.readline() if ready else ""
    found = re.search(r"listening on \S+:(\d+)", line)
    if found is None:
        sim.kill()
        raise SystemExit(f"soak: twsapp sim did not start: {(work / 'sim.log').read_text()}")
    return sim, int(found.group(1))


def write_config(work: Path, port: int, args: argparse.Namespace) -> Path:
    path = work / "config.toml"
    path.write_text(
        f"""mode = "tws"
log_level = "INFO"
[tws]
host = "127.0.0.1"
port = {port}
client_id = 1
[journal]
path = "{work / "journal.sqlite"}"
[logging]
file = ""
[control]
enabled = false
[risk]
max_price_deviation_pct = 90.0
[[strategies]]
module = "soak.strategy"
every = {args.every}
"""
    )
    return path


def rss_of(proc: psutil.Process) -> float:
    return proc.memory_info().rss / MB


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    start = datetime.fromisoformat(args.start)
    real_seconds = args.days * DAY / args.speed
    print(f"soak: {args.days:g} simulated days at {args.speed:g}x = {real_seconds / 60:.1f} min, "
          f"daily restart {args.restart_at} New York time, {args.down:g} s down", flush=True)  # fmt: skip

    sim, port = start_sim(args, work)
    began = time.monotonic()  # the simulator's clock started a moment ago, at --start
    config = write_config(work, port, args)
    run_log = (work / "run.log").open("w")
    run = subprocess.Popen(
        [sys.executable, "-m", "twsapp", "run", "--config", str(config),
         "--summary-json", str(work / "summary.json")],
        stdout=subprocess.DEVNULL, stderr=run_log, cwd=ROOT,
    )  # fmt: skip
    watched = psutil.Process(run.pid)
    run_lines = LogCount(work / "run.log", {
        "reconnects": "reconnected to", "resyncs": "resynced (reconnect)",
        "disconnects": "Disconnected", "errors": " ERROR ",
    })  # fmt: skip
    sim_lines = LogCount(work / "sim.log", {"restarts": "daily restart due at"})
    samples: list[dict[str, Any]] = []
    died: int | None = None
    try:
        while (elapsed := time.monotonic() - began) < real_seconds:
            time.sleep(min(args.sample, max(real_seconds - elapsed, 0.01)))
            if (died := run.poll()) is not None:
                break
            counts = run_lines.update() | sim_lines.update()
            sim_time = start + timedelta(seconds=(time.monotonic() - began) * args.speed)
            samples.append({
                "real_s": round(time.monotonic() - began, 1),
                "sim_time": sim_time.astimezone(NEW_YORK).isoformat(timespec="minutes"),
                "rss_mb": round(rss_of(watched), 1),
                **counts,
            })  # fmt: skip
            print(_progress(samples[-1]), flush=True)
        if died is None:
            run.send_signal(signal.SIGINT)
            try:
                code = run.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                run.kill()
                code = run.wait()
                print(f"soak: the run did not stop within {STOP_WAIT:g} s of SIGINT: killed")
        else:
            code = died
            print(f"soak: the run exited by itself with {code}")
        run_lines.update()
        sim_lines.update()
        summary_path = work / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
        problems = differences(summary, port) if summary else ["no summary was written"]
    finally:
        if run.poll() is None:
            run.kill()
        sim.send_signal(signal.SIGTERM)
        sim.wait(30)
        run_log.close()

    result = _result(args, samples, run_lines, sim_lines, summary, code, died, problems)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(result, indent=1) + "\n")
    _plot(result, args.out / "latest.png")
    _table(result)
    return 0 if result["passed"] else 1


def _result(
    args: argparse.Namespace,
    samples: list[dict[str, Any]],
    run_lines: LogCount,
    sim_lines: LogCount,
    summary: dict[str, Any] | None,
    code: int,
    died: int | None,
    problems: list[str],
) -> dict[str, Any]:
    rss = [s["rss_mb"] for s in samples] or [0.0]
    # memory after the first simulated day: imports, caches and the first orders are in by then
    settled = [s["rss_mb"] for s in samples if s["real_s"] * args.speed >= DAY] or rss
    orders = summary["orders"] if summary else []
    restarts = sim_lines.counts["restarts"]
    reconnects = run_lines.counts["reconnects"]
    resyncs = run_lines.counts["resyncs"]
    # every restart due met by a reconnect and a resync, the run alive to the end, exit 0, and
    # its summary what the simulator holds
    due = _restarts_due(args)
    survived = restarts >= due and reconnects >= restarts and resyncs >= restarts
    passed = died is None and code == 0 and not problems and survived
    return {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "settings": {
            "simulated_days": args.days,
            "speed": args.speed,
            "start": args.start,
            "daily_restart": args.restart_at,
            "down_s": args.down,
            "order_every_s": args.every,
        },
        "simulated_end": samples[-1]["sim_time"] if samples else None,
        "real_minutes": round(samples[-1]["real_s"] / 60, 1) if samples else 0,
        "restarts": restarts,
        "restarts_due": due,
        "restart_lines": sim_lines.found["restarts"],
        "reconnects": reconnects,
        "resyncs_after_reconnect": resyncs,
        "error_lines": run_lines.found["errors"][:20],
        "orders": len(orders),
        "orders_by_status": _by_status(orders),
        "fills": len(summary["fills"]) if summary else 0,
        "exit_code": code,
        "exited_early": died is not None,
        "summary_equals_simulator": not problems,
        "differences": problems[:50],
        "rss_mb": {"first": rss[0], "after_day_1": settled[0], "last": rss[-1], "max": max(rss)},
        "samples": samples,
        "passed": passed,
    }


def _restarts_due(args: argparse.Namespace) -> int:
    """How many daily restart times the simulated span holds."""
    fault = DailyRestart(args.restart_at, args.down)
    moment = datetime.fromisoformat(args.start)
    end = moment + timedelta(days=args.days)
    count = 0
    while (moment := fault.next_after(moment)) <= end:
        count += 1
    return count


def _by_status(orders: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for order in orders:
        counts[order["status"]] = counts.get(order["status"], 0) + 1
    return dict(sorted(counts.items()))


def _progress(s: dict[str, Any]) -> str:
    return (f"  {s['real_s']:6.0f} s  {s['sim_time']}  rss {s['rss_mb']:6.1f} MB  "
            f"restarts {s['restarts']}  reconnects {s['reconnects']}  resyncs {s['resyncs']}")  # fmt: skip


def _table(r: dict[str, Any]) -> None:
    rss = r["rss_mb"]
    rows = [
        ("simulated days", f"{r['settings']['simulated_days']:g} (to {r['simulated_end']})"),
        ("real minutes", f"{r['real_minutes']:g} at {r['settings']['speed']:g}x"),
        ("daily restarts (due)", f"{r['restarts']} ({r['restarts_due']})"),
        ("reconnects / resyncs", f"{r['reconnects']} / {r['resyncs_after_reconnect']}"),
        ("orders", f"{r['orders']} {r['orders_by_status']}"),
        ("fills", r["fills"]),
        ("RSS MB first / day 1 / last / max",
         f"{rss['first']} / {rss['after_day_1']} / {rss['last']} / {rss['max']}"),
        ("exit code", r["exit_code"]),
        ("summary == simulator", r["summary_equals_simulator"]),
        ("passed", r["passed"]),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for line in r["differences"][:10]:
        print("  differs:", line)


def _plot(r: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    samples = r["samples"]
    days = [s["real_s"] * r["settings"]["speed"] / DAY for s in samples]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(days, [s["rss_mb"] for s in samples], label="twsapp run RSS")
    for i in range(1, len(samples)):
        if samples[i]["restarts"] > samples[i - 1]["restarts"]:
            ax.axvline(days[i], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("simulated days (dotted: a daily restart)")
    ax.set_ylabel("MB")
    ax.set_ylim(bottom=0)
    ax.set_title("Soak: resident memory over a simulated week")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
