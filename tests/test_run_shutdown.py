"""How `twsapp run` ends, as a user runs it against `twsapp sim` (one per test, so that the
simulator holds only that run's orders): strategies stop first, their last orders are answered,
then the summary is written, and it is what TWS holds; a failed strategy is reported, with exit
status 5; each strategy sees its own orders only, through typed hooks."""

from __future__ import annotations

import json
import signal

import pytest
from run_helpers import (
    Running,
    SimProcess,
    assert_sim_holds_nothing,
    assert_summary_is_tws,
    states,
    summary_of,
    write_config,
    write_module,
)

# Rests a buy far below the market; as it stops, cancels it and rests another one.
CANCELLER = """
    from twsapp.orders import limit_order
    from twsapp.strategy import Strategy

    class Canceller(Strategy):
        def on_start(self):
            self.aapl = self.ctx.lookup("AAPL")
            self.first = self.ctx.place(self.aapl, limit_order("BUY", 1, 50.0))
            self.ctx.log.info("resting order %d", self.first.order_id)

        def on_stop(self):
            self.ctx.cancel(self.first.order_id)
            self.ctx.place(self.aapl, limit_order("BUY", 2, 51.0))
"""

BOOM = """
    from twsapp.strategy import Strategy

    class Boom(Strategy):
        def on_start(self):
            raise RuntimeError("boom at start")
"""

# Places one market order and records every hook call, written out as it stops.
RECORDER = """
    import json
    from decimal import Decimal

    from twsapp.orders import market_order
    from twsapp.strategy import Param, Strategy

    class Recorder(Strategy):
        out = Param(str)
        quantity = Param(Decimal, 1)

        def on_start(self):
            self.calls = []
            self.order = self.ctx.place("AAPL", market_order("BUY", self.quantity))

        def note(self, hook, event):
            self.calls.append([hook, type(event).__name__, getattr(event, "order_id", None)])

        def on_event(self, event):
            self.note("on_event", event)

        def on_status(self, event):
            self.note("on_status", event)

        def on_fill(self, event):
            self.note("on_fill", event)
            self.ctx.log.info("fill for order %d", event.order_id)

        def on_error(self, event):
            self.note("on_error", event)
            self.ctx.log.info("error for order %d", event.order_id)

        def on_connection(self, event):
            self.note("on_connection", event)

        def on_stop(self):
            with open(self.out, "w") as f:
                json.dump({"order_id": self.order.order_id, "calls": self.calls}, f)
"""


@pytest.fixture
def sim(tmp_path):
    server = SimProcess(tmp_path / "sim.log")
    yield server
    server.stop()


@pytest.fixture
def folder(tmp_path):
    for name, source in (("canceller", CANCELLER), ("boom", BOOM), ("recorder", RECORDER)):
        write_module(tmp_path, name, source)
    return tmp_path


def _start(folder, sim, *strategies, args=(), tws=()):
    config = write_config(folder, sim.port, 7, strategies, tws=tws)
    summary = folder / "summary.json"
    return Running(folder, config, "--summary-json", str(summary), *args), summary


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_orders_cancelled_and_placed_in_on_stop_are_in_the_summary_as_tws_has_them(
    folder, sim, sig
):
    running, summary = _start(folder, sim, {"module": "canceller"})
    running.wait_for("resting order")
    running.signal(sig)
    assert running.wait() == 0, running.stderr
    data = summary_of(summary)
    assert_summary_is_tws(data, sim.port)
    assert states(data) == [("canceller", "stopped")]
    by_price = {o["limit_price"]: o["status"] for o in data["orders"]}
    assert by_price[50.0] == "Cancelled"
    assert by_price[51.0] in ("PreSubmitted", "Submitted")  # answered, not PendingSubmit


def test_the_demo_round_trip_summary_is_what_tws_holds(folder, sim):
    demo = {"module": "strategies.demo", "quantity": 10, "take_profit": 20.0}
    running, summary = _start(folder, sim, demo)
    running.wait_for("offered 10 AAPL")
    running.signal(signal.SIGINT)
    assert running.wait() == 0, running.stderr
    data = summary_of(summary)
    record = assert_summary_is_tws(data, sim.port)
    assert sorted(o["status"] for o in record.orders.values()) == ["Filled", "Submitted"]
    assert states(data) == [("strategies.demo", "stopped")]


def test_a_strategy_raising_in_on_start_is_reported_with_exit_5(folder, sim):
    running, summary = _start(folder, sim, {"module": "boom"}, {"module": "canceller"})
    running.wait_for("resting order")
    running.wait_for("strategy boom failed")
    running.signal(signal.SIGTERM)
    assert running.wait() == 5, running.stderr
    data = summary_of(summary)
    assert states(data) == [("boom", "failed"), ("canceller", "stopped")]
    assert data["strategies"]["boom"]["error"] == "on_start: RuntimeError: boom at start"
    assert_summary_is_tws(data, sim.port)


def test_an_unknown_symbol_fails_the_strategy_and_ends_the_run_with_exit_5(folder, sim):
    demo = {"module": "strategies.demo", "symbol": "NOSUCH"}
    running, summary = _start(folder, sim, demo, args=("--duration", "60"))
    assert running.wait(timeout=30) == 5, running.stderr  # not 60 s: nothing is left running
    assert "every strategy has failed" in running.stderr
    (strategy,) = summary_of(summary)["strategies"].values()
    assert strategy["state"] == "failed" and "NOSUCH" in strategy["error"]
    assert strategy["error"].startswith("on_start: ContractNotFound")
    assert_sim_holds_nothing(sim.port)


def test_each_strategy_sees_its_own_orders_through_typed_hooks(folder, sim):
    filled, rejected = folder / "filled.json", folder / "rejected.json"
    running, summary = _start(
        folder,
        sim,
        {"module": "recorder", "out": str(filled)},
        {"module": "recorder", "out": str(rejected), "quantity": "0.5"},  # fractional: 10243
    )
    running.wait_for("fill for order")
    running.wait_for("error for order")
    running.signal(signal.SIGTERM)
    assert running.wait() == 0, running.stderr
    data = summary_of(summary)
    assert states(data) == [("recorder", "stopped"), ("recorder#2", "stopped")]
    assert_summary_is_tws(data, sim.port)
    seen = {}
    for path in (filled, rejected):
        record = json.loads(path.read_text())
        calls = record["calls"]
        assert {order for _, _, order in calls} == {record["order_id"]}  # its own order only
        per_event: list[list] = []  # [kind, order id, typed hooks...], one per event
        for hook, kind, order in calls:
            if hook == "on_event":
                per_event.append([kind, order])
            else:  # a typed hook runs right after on_event, for the same event
                assert per_event and per_event[-1][:2] == [kind, order], calls
                per_event[-1].append(hook)
        assert ["Rejected", record["order_id"], "on_status", "on_error"] in per_event or (
            path == filled
        )
        seen[path.stem] = {(hook, kind) for hook, kind, _ in calls}
    assert {("on_fill", "FillReceived"), ("on_status", "Filled")} <= seen["filled"]
    assert {("on_status", "Rejected"), ("on_error", "Rejected")} <= seen["rejected"]
    assert not any(hook == "on_error" for hook, _ in seen["filled"])
    # The engine's own log keeps one line per order event.
    assert running.stderr.count(": FillReceived ") == len(data["fills"])


def test_strategies_see_the_connection_lost_and_the_run_exits_4(folder, sim):
    out = folder / "calls.json"
    running, summary = _start(folder, sim, {"module": "recorder", "out": str(out)},
                              tws=["reconnect = false"])  # fmt: skip
    running.wait_for("fill for order")
    sim.stop()  # TWS goes away
    assert running.wait(timeout=30) == 4, running.stderr
    calls = json.loads(out.read_text())["calls"]
    assert ["on_event", "Disconnected", None] in calls
    assert ["on_connection", "Disconnected", None] in calls
    data = summary_of(summary)
    assert data["failed"].endswith("lost") and states(data) == [("recorder", "stopped")]
