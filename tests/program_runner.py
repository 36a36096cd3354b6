"""Run a plain ibapi program of tests/programs/ against ``twsapp sim`` started as a user starts
it: two processes, a real socket. The program prints one callback a line; this returns them
split, after checking both processes ended cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from test_sim_cli import READY, SimProcess

PROGRAMS = Path(__file__).parent / "programs"
WATCHDOG = 30.0
#: Farm notices every session starts with: not errors.
FARM_NOTICES = ("2104", "2106", "2158")


def run_program(name: str, *sim_args: str) -> list[list[str]]:
    """The lines `name` (a file of tests/programs/) printed, each split on whitespace."""
    sim = SimProcess("--port", "0", *sim_args)
    try:
        match = READY.fullmatch(sim.ready_line())
        assert match, "twsapp sim prints where it listens"
        program = subprocess.run(
            [sys.executable, str(PROGRAMS / name), "127.0.0.1", match[1]],
            capture_output=True,
            text=True,
            timeout=WATCHDOG,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        sim.proc.send_signal(signal.SIGTERM)
        code, err = sim.finish()
    assert program.returncode == 0, program.stderr
    assert code == 0, err
    return [line.split() for line in program.stdout.splitlines()]


def errors(lines: list[list[str]]) -> list[list[str]]:
    """The error lines that are not a farm notice."""
    return [line for line in lines if line[0] == "error" and line[2] not in FARM_NOTICES]
