"""Brackets: the builder's shape and refusals, then end to end over a real socket through a
strategy's Context: sent together (ids, parentId, transmit), children held until the parent
fills, one child's fill cancelling the other, and the P&L of it against the simulator's own
executions and commissions, asked by a plain ibapi client."""

from __future__ import annotations

import logging
import math
from decimal import Decimal

import pytest
from app_helpers import AAPL, Events, barrier, quote
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter

from twsapp.book import ModifyApplied, ModifyRejected, OrderBook
from twsapp.book.error_policy import Effect, effect
from twsapp.errors import ErrorKind
from twsapp.exceptions import OrderRefused, OrderValidationError
from twsapp.orders import bracket, check_bracket, limit_order, market_order, stop_order
from twsapp.sim import messages as m
from twsapp.strategy import Context

SESSION = 6 * 3600  # bounds how far a test lets the simulated day run


# ---------------------------------------------------------------------- the builder


def test_a_buy_bracket_is_a_limit_entry_a_limit_above_and_a_stop_below():
    parent, profit, stop = bracket("BUY", 10, 150.0, 152.5, 148.0, tif="GTC", order_ref="b")
    assert [(o.action, o.orderType, o.totalQuantity) for o in (parent, profit, stop)] == [
        ("BUY", "LMT", Decimal(10)),
        ("SELL", "LMT", Decimal(10)),
        ("SELL", "STP", Decimal(10)),
    ]
    assert (parent.lmtPrice, profit.lmtPrice, stop.auxPrice) == (150.0, 152.5, 148.0)
    assert [o.transmit for o in (parent, profit, stop)] == [False, False, True]
    assert {o.tif for o in (parent, profit, stop)} == {"GTC"}
    assert {o.orderRef for o in (parent, profit, stop)} == {"b"}
    assert {o.parentId for o in (parent, profit, stop)} == {0}  # set when ids are allocated


def test_a_sell_bracket_is_the_mirror():
    made = bracket("SELL", 5, 150.0, 147.0, 151.0)
    assert [(o.action, o.orderType) for o in made] == [
        ("SELL", "LMT"),
        ("BUY", "LMT"),
        ("BUY", "STP"),
    ]
    assert (made.take_profit.lmtPrice, made.stop_loss.auxPrice) == (147.0, 151.0)


@pytest.mark.parametrize(
    ("side", "prices", "field", "words"),
    [
        ("BUY", (150.0, 149.0, 148.0), "lmtPrice", "take-profit lmtPrice 149 is not above the entry 150"),
        ("BUY", (150.0, 150.0, 148.0), "lmtPrice", "is not above the entry"),
        ("BUY", (150.0, 152.0, 150.5), "auxPrice", "stop-loss auxPrice 150.5 is not below the entry 150"),
        ("SELL", (150.0, 151.0, 152.0), "lmtPrice", "take-profit lmtPrice 151 is not below"),
        ("SELL", (150.0, 148.0, 149.0), "auxPrice", "stop-loss auxPrice 149 is not above"),
    ],
)  # fmt: skip
def test_prices_on_the_wrong_side_are_refused(side, prices, field, words):
    with pytest.raises(OrderValidationError, match=words) as caught:
        bracket(side, 10, *prices)
    assert caught.value.field == field


def test_a_bracket_is_a_parent_with_children_that_close_it():
    with pytest.raises(OrderValidationError, match="a parent and at least one child"):
        check_bracket([limit_order("BUY", 1, 10.0)])
    with pytest.raises(OrderValidationError, match="on the parent's side"):
        check_bracket([limit_order("BUY", 1, 10.0), limit_order("BUY", 1, 11.0)])
    with pytest.raises(OrderValidationError, match="more than the parent's 1"):
        check_bracket([limit_order("BUY", 1, 10.0), limit_order("SELL", 2, 11.0)])
    # A market entry has no price to be on a side of; a stop-limit child is a stop.
    check_bracket([market_order("BUY", 2), limit_order("SELL", 2, 1.0), stop_order("SELL", 1, 9.0)])
    with pytest.raises(OrderValidationError, match="stop-loss"):
        check_bracket([limit_order("SELL", 2, 10.0), stop_order("BUY", 2, 9.0)])


# ---------------------------------------------------------------------- over the socket


def _ctx(app, name: str = "brk") -> Context:
    ctx = Context(app, logging.getLogger(f"test.{name}"), name)
    app.subscribe(ctx.account_for)  # the engine does this for every strategy
    return ctx


def _cents(price: float, up: bool = False) -> float:
    rounded = math.ceil(round(price * 100, 6)) if up else math.floor(round(price * 100, 6))
    return rounded / 100


def _placed(sim, client_id: int = 1) -> list[m.PlaceOrder]:
    return [r for r in sim.received(client_id) if isinstance(r, m.PlaceOrder)]


def _advance_until(sim, app, done, what: str, step: int = 30) -> None:
    """Let simulated time pass, `step` seconds at a time, until `done()` (bounded)."""
    for _ in range(SESSION // step):
        barrier(app)
        if done():
            return
        sim.advance(step)
    raise AssertionError(f"{what}: not within {SESSION} simulated seconds")


def _sim_executions(connect, sim) -> dict[int, tuple[str, Decimal, float, float]]:
    """By order id: (side, shares, price, commission), as the simulator reports them to a
    plain ibapi client."""
    client = connect(sim, client_id=77)
    since = client.mark()
    client.reqExecutions(1, ExecutionFilter())
    client.wait("execDetailsEnd", since)
    client.sync()
    commissions = {
        e.commissionAndFeesReport.execId: e.commissionAndFeesReport.commissionAndFees
        for e in client.of("commissionAndFeesReport", since)
    }
    found = {}
    for e in client.of("execDetails", since):
        ex = e.execution
        found[ex.orderId] = (ex.side, Decimal(ex.shares), ex.price, commissions[ex.execId])
    return found


def test_a_bracket_is_held_until_whole_and_its_children_until_the_parent_fills(app, sim, connect):
    """BUY: entry far below the market, so everything rests; the children wait ("child").
    Moved up to the market, the entry fills, the take-profit works and fills as the price
    rises, and the simulator cancels the stop. The strategy's P&L is the simulator's numbers."""
    events = Events(app)
    ctx = _ctx(app)
    q = quote(sim)
    entry, profit, stop = _cents(q.bid - 5), _cents(q.ask + 0.20), _cents(q.bid - 10)
    placed = ctx.bracket("AAPL", "BUY", 10, entry, profit, stop)
    parent_id = placed.parent.order_id
    ids = [r.order_id for r in placed]
    assert ids == [parent_id, parent_id + 1, parent_id + 2]
    barrier(app)
    sent = _placed(sim)
    assert [(r.order_id, r.order.parentId, r.order.transmit) for r in sent] == [
        (parent_id, 0, False),
        (parent_id + 1, parent_id, False),
        (parent_id + 2, parent_id, True),
    ]
    assert {r.order.orderRef for r in sent} == {"brk"}
    events.status(parent_id, "Submitted")
    events.status(parent_id + 2, "PreSubmitted")
    barrier(app)
    assert placed.take_profit.why_held == "child" and placed.take_profit.status == "PreSubmitted"
    assert placed.stop_loss.why_held == "child,trigger"
    assert placed.take_profit.parent_id == parent_id == placed.stop_loss.parent_id
    assert [r.order_id for r in ctx.open_orders()] == ids

    ctx.modify(parent_id, price=_cents(quote(sim).ask + 1))  # goes out: transmitted
    events.status(parent_id, "Filled")
    barrier(app)
    assert _placed(sim)[-1].order.transmit is True
    events.status(parent_id + 1, "Submitted")  # active once the parent is filled
    events.wait(lambda: placed.stop_loss.why_held == "trigger", "the stop to wait for its price")

    _advance_until(sim, app, lambda: placed.take_profit.status == "Filled", "the take-profit")
    events.status(parent_id + 2, "Cancelled")  # its sibling filled
    barrier(app)
    assert ctx.open_orders() == []
    assert [r.status for r in placed] == ["Filled", "Filled", "Cancelled"]

    executions = _sim_executions(connect, sim)
    assert set(executions) == {parent_id, parent_id + 1}
    side_in, shares_in, price_in, fee_in = executions[parent_id]
    side_out, shares_out, price_out, fee_out = executions[parent_id + 1]
    assert (side_in, side_out, shares_in, shares_out) == ("BOT", "SLD", 10, 10)
    assert price_out >= profit
    [line] = ctx.pnl.lines()
    assert line.position == 0 and line.fills == 2 and line.con_id == AAPL
    assert line.realized == pytest.approx((price_out - price_in) * 10 - fee_in - fee_out)
    assert line.commissions == pytest.approx(fee_in + fee_out) and line.unrealized == 0


def test_a_sell_brackets_stop_fills_and_cancels_the_take_profit(app, sim, connect):
    """SELL at the market; the stop (a BUY STP above) is set where the seeded path rises to,
    the take-profit far below: the stop fills, the take-profit is cancelled."""
    events = Events(app)
    ctx = _ctx(app)
    start = sim.exchange.step
    q = quote(sim)
    stop = _cents(q.ask + 0.10, up=True)
    prices = sim.exchange.prices
    assert any(prices.quote(AAPL, s).last >= stop for s in range(start, start + SESSION))
    placed = ctx.bracket("AAPL", "SELL", 5, _cents(q.bid - 1), _cents(q.bid - 10), stop)
    events.status(placed.parent.order_id, "Filled")
    events.status(placed.take_profit.order_id, "Submitted")

    _advance_until(sim, app, lambda: placed.stop_loss.status == "Filled", "the stop-loss")
    events.status(placed.take_profit.order_id, "Cancelled")
    assert [r.status for r in placed] == ["Filled", "Cancelled", "Filled"]

    executions = _sim_executions(connect, sim)
    _, _, price_in, fee_in = executions[placed.parent.order_id]
    side, shares, price_out, fee_out = executions[placed.stop_loss.order_id]
    assert (side, shares) == ("BOT", 5) and price_out >= stop
    line = ctx.position("AAPL")
    assert line.quantity == 0
    assert line.realized == pytest.approx((price_in - price_out) * 5 - fee_in - fee_out)


def test_one_refused_order_refuses_the_whole_bracket_before_any_byte(app, sim):
    ctx = _ctx(app)
    q = quote(sim)
    before = app.ids.peek()
    parent, profit, _ = bracket("BUY", 10, _cents(q.bid), _cents(q.ask + 1), _cents(q.bid - 1))
    off_tick = stop_order("SELL", 10, _cents(q.bid - 1) + 0.005)
    with pytest.raises(OrderRefused, match="not a multiple of the tick") as caught:
        ctx.place_bracket("AAPL", [parent, profit, off_tick])
    assert caught.value.field == "auxPrice"
    wrong = limit_order("SELL", 10, _cents(q.bid - 2))  # a take-profit below a BUY entry
    with pytest.raises(OrderRefused, match="nothing was sent"):
        app.place_bracket("AAPL", [parent, wrong])
    barrier(app)
    assert _placed(sim) == [] and app.ids.peek() == before and ctx.owned() == set()
    assert app.book.records() == []


def test_a_childs_stop_moves_after_the_entry_filled(app, sim):
    """Once the parent is filled TWS no longer knows its id: the modify re-sends the stop
    without it, TWS applies it, and the simulator's order carries the new stop price."""
    events = Events(app)
    ctx = _ctx(app)
    q = quote(sim)
    stop = _cents(q.bid - 10)
    placed = ctx.bracket("AAPL", "BUY", 10, _cents(q.ask + 1), _cents(q.ask + 20), stop)
    events.status(placed.parent.order_id, "Filled")
    stop_id = placed.stop_loss.order_id
    events.status(stop_id, "PreSubmitted")

    ctx.modify(stop_id, stop_price=stop + 5)
    events.wait(lambda: events.of(stop_id, ModifyApplied), "the stop's modify to apply")
    barrier(app)
    resent = _placed(sim)[-1]
    assert (resent.order_id, resent.order.parentId) == (stop_id, 0)
    assert resent.order.auxPrice == pytest.approx(stop + 5)
    assert placed.stop_loss.order is not None
    assert placed.stop_loss.order.auxPrice == pytest.approx(stop + 5)
    assert not events.of(stop_id, ModifyRejected) and placed.stop_loss.errors == ()


def test_no_order_with_this_id_rejects_the_pending_modify_not_a_cancel():
    """135 answers a modify as well as a cancel: with only a modify pending, the modify is
    what TWS refused, and the order keeps its terms and status."""
    book = OrderBook()
    contract = Contract()
    contract.symbol, contract.secType, contract.currency = "AAPL", "STK", "USD"
    book.register_pending(1, 7, contract, stop_order("SELL", 10, 90.0))
    book.request_modify(7, {"stop_price": 91.0}, client_id=1)
    slot = book._require(7, 1, "test")
    assert effect(ErrorKind.CANCEL_REJECT, slot) is Effect.MODIFY_REJECTED
    book.request_cancel(7, client_id=1)
    assert effect(ErrorKind.CANCEL_REJECT, slot) is Effect.CANCEL_REJECTED


WINDOW = 1800  # simulated seconds a path test looks ahead on the seeded path


def _reach(sim, side_up: bool) -> float:
    """A price the seeded path reaches within WINDOW: near its high (side_up) or low."""
    start = sim.exchange.step
    lasts = [sim.exchange.prices.quote(AAPL, float(s)).last for s in range(start, start + WINDOW)]
    return _cents(max(lasts) - 0.05) if side_up else _cents(min(lasts) + 0.05, up=True)


@pytest.mark.parametrize(
    ("side", "exit_by"),
    [("BUY", "take_profit"), ("BUY", "stop_loss"), ("SELL", "take_profit"), ("SELL", "stop_loss")],
)
def test_each_side_exits_by_either_child_and_the_other_is_cancelled(app, sim, side, exit_by):
    """The entry fills at once (a marketable limit); the child the test aims at is set where
    the seeded path goes, the other far away: that child fills, its sibling is cancelled."""
    events = Events(app)
    ctx = _ctx(app)
    q = quote(sim)
    buy = side == "BUY"
    entry = _cents(q.ask + 0.05, up=True) if buy else _cents(q.bid - 0.05)
    far = 30.0
    if exit_by == "take_profit":
        profit = _reach(sim, side_up=buy)
        stop = _cents(q.bid - far) if buy else _cents(q.ask + far)
    else:
        profit = _cents(q.ask + far) if buy else _cents(q.bid - far)
        stop = _reach(sim, side_up=not buy)
    if (buy and profit <= entry) or (not buy and profit >= entry):
        pytest.skip("the seeded path does not get beyond the entry in the window")
    if (buy and stop >= entry) or (not buy and stop <= entry):
        pytest.skip("the seeded path does not get back beyond the entry in the window")
    placed = ctx.bracket("AAPL", side, 5, entry, profit, stop)
    events.status(placed.parent.order_id, "Filled")
    hit = placed.take_profit if exit_by == "take_profit" else placed.stop_loss
    other = placed.stop_loss if exit_by == "take_profit" else placed.take_profit
    _advance_until(sim, app, lambda: hit.status == "Filled", f"the {exit_by}", step=120)
    events.status(other.order_id, "Cancelled")
    assert ctx.open_orders() == [] and ctx.position("AAPL").quantity == 0
    price = hit.avg_fill_price
    assert price is not None
    if exit_by == "take_profit":  # a limit: at its price or better
        assert price >= profit if buy else price <= profit
    else:  # a stop: once the last traded through it, at the touch
        assert price <= stop if buy else price >= stop


@pytest.mark.parametrize("side", ["BUY", "SELL"])
def test_cancelling_the_parent_cancels_its_children(app, sim, side):
    events = Events(app)
    ctx = _ctx(app)
    q = quote(sim)
    if side == "BUY":
        placed = ctx.bracket(
            "AAPL", side, 5, _cents(q.bid - 5), _cents(q.ask + 5), _cents(q.bid - 10)
        )
    else:
        placed = ctx.bracket(
            "AAPL", side, 5, _cents(q.ask + 5), _cents(q.bid - 5), _cents(q.ask + 10)
        )
    events.status(placed.stop_loss.order_id, "PreSubmitted")
    ctx.cancel(placed.parent.order_id)
    for record in placed:
        events.status(record.order_id, "Cancelled")
    barrier(app)
    assert sim.exchange._working(1) == []
    assert [r.order_id for r in _placed(sim)] == [r.order_id for r in placed]  # nothing re-sent


@pytest.mark.parametrize("side", ["BUY", "SELL"])
def test_a_wrong_sided_bracket_is_refused_before_any_byte(app, sim, side):
    q = quote(sim)
    ctx = _ctx(app)
    with pytest.raises(OrderValidationError):
        if side == "BUY":  # a take-profit below the entry
            ctx.bracket("AAPL", side, 5, _cents(q.bid), _cents(q.bid - 1), _cents(q.bid - 2))
        else:  # a stop below the entry of a SELL
            ctx.bracket("AAPL", side, 5, _cents(q.ask), _cents(q.ask - 1), _cents(q.ask - 2))
    barrier(app)
    assert _placed(sim) == []


def test_a_childs_stop_moves_before_the_entry_filled_and_keeps_its_parent(app, sim):
    events = Events(app)
    ctx = _ctx(app)
    q = quote(sim)
    stop = _cents(q.bid - 10)
    placed = ctx.bracket("AAPL", "BUY", 10, _cents(q.bid - 5), _cents(q.ask + 5), stop)
    stop_id, parent_id = placed.stop_loss.order_id, placed.parent.order_id
    events.status(stop_id, "PreSubmitted")
    ctx.modify(stop_id, stop_price=stop + 1)
    events.wait(lambda: events.of(stop_id, ModifyApplied), "the stop's modify to apply")
    barrier(app)
    resent = _placed(sim)[-1]
    assert (resent.order_id, resent.order.parentId, resent.order.auxPrice) == (
        stop_id, parent_id, pytest.approx(stop + 1)
    )  # fmt: skip
    assert placed.parent.status == "Submitted" and placed.stop_loss.why_held.startswith("child")
