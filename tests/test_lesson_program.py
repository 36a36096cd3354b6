"""IB's lesson-style program, unchanged but for host and port, against the simulator.

It must see what it would see against real TWS: contract details, openOrder, orderStatus
Submitted, then (once the price crosses its limit) Filled, execDetails and a commission report.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from versions import FAST_VERSIONS, MATRIX_VERSIONS

PROGRAM = Path(__file__).parent / "programs" / "lesson_app.py"
LESSON_VERSIONS = sorted(set(MATRIX_VERSIONS) | {157, 176, 187, 200})
WAIT = 20.0


class Program:
    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(PROGRAM), "127.0.0.1", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, prefix: str, timeout: float = WAIT) -> str:
        for line in self.seen:
            if line.startswith(prefix):
                return line
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line {prefix!r}; saw {self.seen}") from None
            self.seen.append(line)
            if line.startswith(prefix):
                return line


@pytest.mark.parametrize(
    "version",
    [
        pytest.param(v, id=f"v{v}", marks=[] if v in FAST_VERSIONS else [pytest.mark.slow])
        for v in LESSON_VERSIONS
    ],
)
def test_lesson_program_sees_a_limit_order_through_to_its_fill(sim_factory, version):
    sim = sim_factory(server_version=version, seed=42)
    program = Program(sim.port)
    try:
        details = program.wait_for("contractDetails ")
        assert details.split()[2] == "265598"
        program.wait_for("contractDetailsEnd 9001")
        opened = program.wait_for("openOrder ")
        assert opened.split()[2:6] == ["AAPL", "BUY", "LMT", "100"]
        submitted = program.wait_for("orderStatus 1 Submitted")
        assert submitted.split()[3:5] == ["0", "100"]
        assert not any(line.startswith("execDetails") for line in program.seen)

        # Let simulated time pass, a minute at a time, until the ask reaches 149.50.
        (order,) = sim.exchange.orders.values()
        for _ in range(390):
            sim.advance(60)
            if order.status == "Filled":
                break
        assert order.status == "Filled"

        fill = program.wait_for("execDetails ")
        _, req_id, symbol, exec_id, side, shares, price = fill.split()
        assert (req_id, symbol, side, shares) == ("-1", "AAPL", "BOT", "100")
        assert float(price) <= 149.50
        filled = program.wait_for("orderStatus 1 Filled")
        assert filled.split()[3:5] == ["100", "0"]
        commission = program.wait_for("commission ")
        assert commission.split()[1] == exec_id
        assert float(commission.split()[2]) > 0
        assert program.proc.wait(timeout=WAIT) == 0
        assert not [line for line in program.seen if line.startswith("error 1 ")]
    finally:
        if program.proc.poll() is None:
            program.proc.kill()
            program.proc.wait()
