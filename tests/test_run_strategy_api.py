"""The strategy API without a connection: parameter declarations and checks, the loader's
one-line errors, and how the runner hands events to the hooks (ownership, order, isolation)."""

from __future__ import annotations

import logging
import sys
import textwrap
import threading
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from ibapi.order import Order

from twsapp.book import FillReceived, OrderError, OrderRecord, Rejected, StatusChanged
from twsapp.errors import ErrorKind
from twsapp.events import Connected, Notice
from twsapp.exceptions import OrderRefused, StrategyError
from twsapp.strategy import (
    Context,
    Param,
    ParamError,
    Strategy,
    StrategyRunner,
    load_strategy,
    positive,
)

NOW = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)


class Sized(Strategy):
    symbol = Param(str, "AAPL", "the instrument it trades")
    quantity = Param(Decimal, 10, "shares per order", positive)
    limit = Param(float, help="the limit price")
    count = Param(int, 1)
    live = Param(bool, False)


def _ctx(app=None) -> Context:
    return Context(app or SimpleNamespace(), logging.getLogger("test.strategy"), "test")


# ---------------------------------------------------------------------- parameters


def test_declared_parameters_are_checked_converted_and_read_as_attributes():
    s = Sized(_ctx(), {"limit": 150, "quantity": "2.5"})
    assert (s.symbol, s.quantity, s.limit, s.count, s.live) == (
        "AAPL",
        Decimal("2.5"),
        150.0,
        1,
        False,
    )
    assert isinstance(s.limit, float) and s.params["quantity"] == Decimal("2.5")
    assert list(Sized.PARAMS) == ["symbol", "quantity", "limit", "count", "live"]
    with pytest.raises(AttributeError, match="read-only"):
        s.quantity = Decimal(3)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"limit": 1.0, "quantiy": 5}, "quantiy: unknown parameter of test_run_strategy_api — did you mean 'quantity'?"),
        ({"limit": 1.0, "zzz": 5}, "its parameters are symbol, quantity, limit, count, live"),
        ({}, "limit: missing (test_run_strategy_api requires it) — e.g. limit = <a number> (the limit price)"),
        ({"limit": "1.5"}, "limit: expected a number, got '1.5'"),
        ({"limit": float("inf")}, "limit: expected a number"),
        ({"limit": 1.0, "count": 2.0}, "count: expected an integer, got 2.0"),
        ({"limit": 1.0, "count": True}, "count: expected an integer, got True"),
        ({"limit": 1.0, "live": 1}, "live: expected true or false"),
        ({"limit": 1.0, "quantity": "NaN"}, "quantity: expected a number"),
        ({"limit": 1.0, "quantity": 0}, "quantity: 0 must be greater than 0 (test_run_strategy_api) — e.g. quantity = 10 (shares per order)"),
    ],
)  # fmt: skip
def test_a_wrong_parameter_names_itself_and_the_fix(given, message):
    with pytest.raises(ParamError) as caught:
        Sized.check_params(given)
    assert message in str(caught.value)
    assert isinstance(caught.value, StrategyError)


def test_a_check_that_raises_is_a_refusal_in_one_line():
    from datetime import time

    class Timed(Strategy):
        start_at = Param(
            str, "09:35", "when to start", check=lambda v: time.fromisoformat(v) and None
        )

    assert Timed.check_params({"start_at": "10:00"})["start_at"] == "10:00"
    with pytest.raises(ParamError, match="'9h35' is refused by its check: ValueError") as caught:
        Timed.check_params({"start_at": "9h35"})
    assert "\n" not in str(caught.value) and "start_at" in str(caught.value)


def test_a_strategy_without_parameters_takes_none():
    class Bare(Strategy):
        pass

    with pytest.raises(ParamError, match="it takes no parameters: remove the key"):
        Bare.check_params({"symbol": "AAPL"})


def test_parameters_are_inherited_and_may_be_redeclared():
    class Child(Sized):
        count = Param(int, 3)

    assert Child(_ctx(), {"limit": 1}).count == 3
    assert list(Child.PARAMS) == ["symbol", "quantity", "limit", "count", "live"]


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ("size = Param(list)", "kind must be str, int, float, Decimal or bool"),
        ("ctx = Param(str)", "the name is Strategy's own"),
        ("on_start = Param(str)", "the name is Strategy's own"),
        ("quantity = Param(int, 'ten')", "quantity: expected an integer"),
    ],
)
def test_a_wrong_declaration_fails_when_the_class_is_made(declaration, message):
    with pytest.raises((TypeError, ParamError), match=message):
        exec(f"class Bad(Strategy):\n    {declaration}", {"Strategy": Strategy, "Param": Param})


# ---------------------------------------------------------------------- loading


@pytest.fixture
def modules(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


def test_the_loader_finds_the_only_strategy_or_the_named_one(modules):
    one = modules("one_strategy", "from twsapp.strategy import Strategy\nclass A(Strategy): pass\n")
    assert load_strategy(one).__name__ == "A"
    named = modules(
        "named_strategy",
        "from twsapp.strategy import Strategy\n"
        "class A(Strategy): pass\nclass B(Strategy): pass\nSTRATEGY = B\n",
    )
    assert load_strategy(named).__name__ == "B"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("from twsapp.strategy import Strategy\n", "holds no single Strategy subclass (found none)"),
        (
            "from twsapp.strategy import Strategy\nclass A(Strategy): pass\nclass B(Strategy): pass\n",
            "found 2 Strategy subclasses (A, B)",
        ),
        ("STRATEGY = 42\n", "STRATEGY is 42, not a Strategy subclass"),
        ("import not_installed_anywhere\n", "it imports 'not_installed_anywhere', which is not installed"),
        ("x = (\n", "SyntaxError"),
    ],
)  # fmt: skip
def test_the_loader_says_what_is_wrong_in_one_line(modules, source, message):
    name = modules("wrong_strategy", source)
    with pytest.raises(StrategyError) as caught:
        load_strategy(name)
    assert message in str(caught.value) and "\n" not in str(caught.value)


# ---------------------------------------------------------------------- the runner


class FakeApp:
    """Just enough TwsApp for a Context: place returns a record with the next id."""

    def __init__(self) -> None:
        self.next_id = 1

    def place(self, contract, order) -> OrderRecord:
        self.sent = order
        record = OrderRecord(client_id=1, order_id=self.next_id, order=order)
        self.next_id += 1
        return record


class Recording(Strategy):
    def on_start(self):
        self.calls: list[tuple[str, str, int | None]] = []
        self.mine = self.ctx.place("AAPL", Order())

    def _note(self, hook, event):
        self.calls.append((hook, type(event).__name__, getattr(event, "order_id", None)))

    def on_event(self, event):
        self._note("on_event", event)

    def on_status(self, event):
        self._note("on_status", event)

    def on_fill(self, event):
        self._note("on_fill", event)

    def on_error(self, event):
        self._note("on_error", event)

    def on_connection(self, event):
        self._note("on_connection", event)


def _status(order_id: int, kind: type = StatusChanged, **extra):
    record = OrderRecord(client_id=1, order_id=order_id)
    return kind(time=NOW, record=record, before="Submitted", after="Filled", source="test", **extra)


def _run(strategy: Strategy, events: list) -> StrategyRunner:
    runner = StrategyRunner("test", "test", strategy)
    runner.start()
    for event in events:
        runner.post(event)
    assert runner.stop(10)
    return runner


def test_hooks_get_own_order_events_and_every_connection_event_and_notice():
    app = FakeApp()
    app.next_id = 5  # the strategy's order will be 5; 6 is someone else's
    strategy = Recording(_ctx(app))
    fill = SimpleNamespace(exec_id="e1")  # the runner never looks inside
    notice = Notice(time=NOW, code=2100, kind=ErrorKind.WARNING, text="careful")
    events = [
        _status(6),  # not its order: never seen
        _status(5),
        FillReceived(time=NOW, record=OrderRecord(client_id=1, order_id=5), fill=fill),
        _status(5, Rejected, code=201, reason="no"),
        OrderError(
            time=NOW,
            record=OrderRecord(client_id=1, order_id=6),
            code=1,
            kind=ErrorKind.ERROR,
            text="x",
        ),
        notice,
        Connected(time=NOW, host="127.0.0.1", port=1, client_id=1),
    ]
    runner = _run(strategy, events)
    assert runner.state == "stopped"
    assert strategy.calls == [
        ("on_event", "StatusChanged", 5),
        ("on_status", "StatusChanged", 5),
        ("on_event", "FillReceived", 5),
        ("on_fill", "FillReceived", 5),
        ("on_event", "Rejected", 5),
        ("on_status", "Rejected", 5),
        ("on_error", "Rejected", 5),
        ("on_event", "Notice", None),
        ("on_error", "Notice", None),
        ("on_event", "Connected", None),
        ("on_connection", "Connected", None),
    ]


def test_an_event_queued_before_place_returned_is_still_the_strategys():
    """The id is known on the strategy's thread by the time it reads the next event, even if
    TWS answered before place() returned (the event was queued meanwhile)."""

    class Early(Recording):
        def on_start(self):
            self.calls = []
            runner.post(_status(1))  # the answer, queued before the id is recorded
            self.mine = self.ctx.place("AAPL", Order())

    strategy = Early(_ctx(FakeApp()))
    runner = StrategyRunner("test", "test", strategy)
    runner.start()
    assert runner.stop(10)
    assert ("on_status", "StatusChanged", 1) in strategy.calls


def test_orders_carry_the_strategy_name_and_their_events_are_its_from_any_thread():
    """An order placed from a thread of the strategy's own (a timer) is known by its orderRef
    from its first event on, though that event may be read before place() returns."""
    app = FakeApp()
    ctx = _ctx(app)
    order = Order()
    order.orderRef = "dip-buy"
    placed = threading.Thread(target=ctx.place, args=("AAPL", order))
    placed.start()
    placed.join()
    assert app.sent.orderRef == f"{ctx.name}/dip-buy" and order.orderRef == "dip-buy"
    mine = OrderRecord(client_id=1, order_id=99, order=app.sent)  # not in the placed set yet
    other = Order()
    other.orderRef = "someone else"
    theirs = OrderRecord(client_id=1, order_id=98, order=other)
    status = StatusChanged(time=NOW, record=mine, before="", after="PendingSubmit", source="t")
    foreign = StatusChanged(time=NOW, record=theirs, before="", after="PendingSubmit", source="t")
    assert ctx.owns(status) and not ctx.owns(foreign)


@pytest.mark.parametrize("hook", ["on_start", "on_event", "on_status", "on_stop"])
def test_a_raising_hook_fails_the_strategy_and_names_the_hook(hook, caplog):
    class Raising(Recording):
        pass

    def boom(self, *args):
        raise ValueError("bad value")

    setattr(Raising, hook, boom)
    strategy = Raising(_ctx(FakeApp()))
    if hook != "on_start":
        strategy.ctx.place("AAPL", Order())  # order 1 is its own
    runner = _run(strategy, [_status(1)])
    assert runner.state == "failed" and runner.failed
    assert runner.error == f"{hook}: ValueError: bad value"
    assert runner.describe() == {
        "name": "test",
        "module": "test",
        "state": "failed",
        "error": runner.error,
    }
    assert any(r.exc_info for r in caplog.records)  # logged with its traceback


def test_a_stopped_context_refuses_to_send():
    ctx = _ctx(FakeApp())
    ctx.place("AAPL", Order())
    assert ctx.close(1)
    with pytest.raises(OrderRefused, match="strategy test is stopped"):
        ctx.place("AAPL", Order())
    assert ctx.owned() == {(1, 1)}


def test_a_strategy_that_does_not_stop_in_time_is_failed():
    import threading

    release = threading.Event()

    class Stuck(Strategy):
        def on_stop(self):
            release.wait(10)

    runner = StrategyRunner("stuck", "stuck", Stuck(_ctx()))
    runner.start()
    try:
        assert not runner.stop(timeout=0.2)
        assert runner.state == "failed" and "on_stop did not return" in (runner.error or "")
    finally:
        release.set()


def test_a_runner_never_started_stays_not_started():
    runner = StrategyRunner("idle", "idle", Strategy(_ctx()))
    runner.post(_status(1))
    assert runner.stop(1) and runner.describe()["state"] == "not_started"
