"""`twsapp run` survives TWS's restart, as a user runs it: a separate `twsapp sim` restarts
(its port refusing for a while, its orders kept) right after the run's first order; the run
reconnects, resyncs, its strategy sees the whole story through on_connection and trades on,
and the summary at the end is what TWS holds."""

from __future__ import annotations

import json
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

# Rests one buy at start; once resynced after a reconnect, rests another and buys at market.
SURVIVOR = """
    import json

    from twsapp.events import Resynced
    from twsapp.orders import limit_order, market_order
    from twsapp.strategy import Param, Strategy

    class Survivor(Strategy):
        out = Param(str)

        def on_start(self):
            self.seen = []
            self.ctx.place("AAPL", limit_order("BUY", 1, 50.0))

        def on_connection(self, event):
            self.seen.append(type(event).__name__)
            if isinstance(event, Resynced) and event.reason == "reconnect":
                self.ctx.place("AAPL", limit_order("BUY", 2, 51.0))
                self.ctx.place("AAPL", market_order("BUY", 3))
                self.ctx.log.info("placed after the reconnect")

        def on_fill(self, event):
            self.ctx.log.info("fill for order %d", event.order_id)

        def on_stop(self):
            with open(self.out, "w") as f:
                json.dump(self.seen, f)
"""


@pytest.fixture
def restarting_sim(tmp_path):
    server = SimProcess(tmp_path / "sim.log", "--fault", "restart:down=1.5,after=placeOrder")
    yield server
    server.stop()


def test_the_run_reconnects_after_a_tws_restart_and_ends_equal_to_tws(tmp_path, restarting_sim):
    write_module(tmp_path, "survivor", SURVIVOR)
    out = tmp_path / "seen.json"
    config = write_config(tmp_path, restarting_sim.port, 3, [{"module": "survivor",
                          "out": str(out)}], tws=["reconnect_max_seconds = 2.0"])  # fmt: skip
    summary = tmp_path / "summary.json"
    running = Running(tmp_path, config, "--summary-json", str(summary))
    running.wait_for("placed after the reconnect")
    running.wait_for("fill for order")
    running.signal(signal.SIGINT)
    assert running.wait() == 0, running.stderr
    log = running.stderr
    assert "closed: reconnecting" in log and "resynced (reconnect)" in log
    seen = json.loads(out.read_text())
    after = seen[seen.index("Disconnected") :]
    assert after[1] == "Reconnecting" and "Connected" in after and after[-1] == "Resynced", seen
    data = summary_of(summary)
    assert data["reconnects"] == 1 and data["failed"] is None
    assert_summary_is_tws(data, restarting_sim.port)
    assert sorted(o["status"] for o in data["orders"]) == ["Filled", "Submitted", "Submitted"]
