"""A strategy's numbers at the end of `twsapp run`, as a user runs it against `twsapp sim`:
the summary's `strategies` entry (orders, fills, position, realized and unrealized P&L,
commissions) equals what a hand computation makes of the simulator's own executions and
commission reports, asked by a plain ibapi client; the log ends with the same table."""

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

# Buys 10, sells 4 once the buy filled, rests a bracket far below the market, then says
# "done" from a timer once both fills are in.
TRADER = """
    from twsapp.book import Filled
    from twsapp.strategy import Strategy

    class Trader(Strategy):
        def on_start(self):
            self.aapl = self.ctx.lookup("AAPL")
            self.bought = self.ctx.buy(self.aapl, 10)
            self.sold = None

        def on_status(self, event):
            if not isinstance(event, Filled):
                return
            if event.order_id == self.bought.order_id:
                self.sold = self.ctx.sell(self.aapl, 4)
                price = event.record.avg_fill_price
                self.ctx.bracket(self.aapl, "BUY", 1, round(price - 20, 2), round(price - 10, 2),
                                 round(price - 30, 2))
            elif self.sold is not None and event.order_id == self.sold.order_id:
                self.ctx.schedule(every=0.05, name="check")

        def on_timer(self, name):
            mine = self.ctx.position(self.aapl)
            if mine.quantity == 6 and mine.account == 6 and len(self.ctx.open_orders()) == 3:
                self.ctx.log.info("done: %s", mine)
                self.ctx.unschedule(name)
"""


@pytest.fixture
def sim(tmp_path):
    server = SimProcess(tmp_path / "sim.log")
    yield server
    server.stop()


def test_the_summary_pnl_is_the_simulators_executions_computed_by_hand(tmp_path, sim):
    write_module(tmp_path, "trader", TRADER)
    relaxed = ("[control]", "enabled = false", "[risk]", "max_price_deviation_pct = 50.0")
    config = write_config(tmp_path, sim.port, 31, [{"module": "trader"}], extra=relaxed)
    summary = tmp_path / "summary.json"
    running = Running(tmp_path, config, "--summary-json", str(summary))
    running.wait_for("done: ")
    running.signal(signal.SIGTERM)
    assert running.wait() == 0, running.stderr
    data = summary_of(summary)
    record = assert_summary_is_tws(data, sim.port)

    # By hand, from what the simulator reports: bought 10 at p1 (fee c1), sold 4 at p2 (c2).
    # FIFO: the 4 sold close 4 of the 10, which carry 4/10 of c1; the 6 left carry 6/10 of it
    # and are marked at the last price traded, p2.
    (buy,) = [f for f in record.fills.values() if f["side"] == "BOT"]
    (sale,) = [f for f in record.fills.values() if f["side"] == "SLD"]
    p1, c1, p2, c2 = buy["price"], buy["commission"], sale["price"], sale["commission"]
    assert (buy["shares"], sale["shares"]) == (10, 4) and c1 > 0 and c2 > 0
    realized = (p2 - p1) * 4 - c1 * 4 / 10 - c2
    unrealized = (p2 - p1) * 6 - c1 * 6 / 10

    entry = data["strategies"]["trader"]
    assert (entry["module"], entry["state"], entry["error"]) == ("trader", "stopped", None)
    assert (entry["orders"], entry["fills"], entry["position"]) == (5, 2, {"AAPL": 6.0})
    assert entry["realized"] == pytest.approx(realized, abs=1e-9)
    assert entry["unrealized"] == pytest.approx(unrealized, abs=1e-9)
    assert entry["commissions"] == pytest.approx(c1 + c2, abs=1e-9)
    [contract] = entry["contracts"]
    assert contract["con_id"] == buy["con_id"] and contract["last_price"] == p2
    assert contract["avg_cost"] == pytest.approx(p1 + c1 / 10)
    assert {o["order_ref"] for o in data["orders"]} == {"trader"}
    brackets = [o for o in data["orders"] if o["parent_id"] is not None]
    assert len(brackets) == 2 and {o["status"] for o in brackets} == {"PreSubmitted"}

    table = running.stderr.split("strategies at the end of the run:")[1].splitlines()[1:3]
    header, row = (line.split("twsapp.engine: ")[1].split() for line in table)
    values = dict(zip(header, row, strict=True))
    assert (values["strategy"], values["orders"], values["fills"], values["position"]) == (
        "trader",
        "5",
        "2",
        "6",
    )
    assert float(values["realized"]) == pytest.approx(realized, abs=0.005)
    assert float(values["unrealized"]) == pytest.approx(unrealized, abs=0.005)
