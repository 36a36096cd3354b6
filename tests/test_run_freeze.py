"""The freeze a new user met (issue 11): TWS stops reading and writing for 6 seconds while a
strategy places a burst of orders. The heartbeat notices it once, what TWS drops as it catches
up (error 100) is found by a resync, nothing stays pending, and the summary is what TWS holds.
The freeze is real time: one test, at the newest version only."""

from __future__ import annotations

import signal

import pytest
from run_helpers import (
    Running,
    SimProcess,
    assert_summary_is_tws,
    summary_of,
    write_config,
    write_module,
)

BURST = 150

FLOOD = f"""
    from twsapp.orders import limit_order
    from twsapp.strategy import Strategy

    class Flood(Strategy):
        def on_start(self):
            for i in range({BURST}):
                self.ctx.place("AAPL", limit_order("BUY", 1, 50.0 + i / 100))
            self.ctx.log.info("all {BURST} placed")
"""


@pytest.fixture
def freezing_sim(tmp_path):
    server = SimProcess(tmp_path / "sim.log", "--fault", "freeze:seconds=6,after=placeOrder")
    yield server
    server.stop()


def test_a_six_second_freeze_leaves_nothing_stuck_and_the_summary_is_tws(tmp_path, freezing_sim):
    write_module(tmp_path, "flood", FLOOD)
    config = write_config(tmp_path, freezing_sim.port, 4, [{"module": "flood"}],
                          tws=["heartbeat_seconds = 1.0"])  # fmt: skip
    summary = tmp_path / "summary.json"
    running = Running(tmp_path, config, "--summary-json", str(summary))
    running.wait_for("all 150 placed")
    running.wait_for("answers again")
    running.wait_for("resynced (")
    running.signal(signal.SIGINT)
    assert running.wait() == 0, running.stderr
    log = running.stderr
    assert log.count("has not answered a heartbeat") == 1, log  # one WARNING per freeze
    data = summary_of(summary)
    assert len(data["orders"]) == BURST
    stuck = [o for o in data["orders"] if o["status"] in ("PendingSubmit", "PendingCancel")]
    assert not stuck, stuck
    assert_summary_is_tws(data, freezing_sim.port)
    dropped = [o for o in data["orders"] if o["status"] == "Inactive"]
    said = [line for line in log.splitlines() if "WARNING twsapp.session: order" in line]
    assert dropped and len(dropped) == sum("TWS dropped it (error 100" in line for line in said)
