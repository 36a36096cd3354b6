"""cancel_where over a real socket: it cancels exactly the working orders its filters name, says
which before sending, refuses to run without a filter, and leaves the rest working at TWS."""

from __future__ import annotations

import logging

import pytest
from app_helpers import Events, barrier, order_requests, quote
from sim_client import stock

from twsapp.exceptions import OrderRefused
from twsapp.orders import limit_order, stop_order
from twsapp.sim import messages as m
from twsapp.strategy import Context


def _rest(app, sim, symbol: str, side: str, ref: str = "", stop: bool = False):
    q = quote(sim, app.contracts.lookup(symbol).contract.conId)
    far = round(q.bid * 0.8, 2) if side == "BUY" else round(q.ask * 1.2, 2)
    if stop:
        order = stop_order(
            side, 1, round(q.ask * 1.2, 2) if side == "BUY" else round(q.bid * 0.8, 2)
        )
    else:
        order = limit_order(side, 1, far, order_ref=ref)
    return app.place(symbol, order)


def test_cancel_where_cancels_what_its_filters_name_and_nothing_else(app, sim, caplog):
    events = Events(app)
    buy_aapl = _rest(app, sim, "AAPL", "BUY")
    sell_aapl = _rest(app, sim, "AAPL", "SELL")
    buy_msft = _rest(app, sim, "MSFT", "BUY")
    stop_aapl = _rest(app, sim, "AAPL", "BUY", stop=True)
    for record in (buy_aapl, sell_aapl, buy_msft, stop_aapl):
        events.status(record.order_id, "Submitted" if record is not stop_aapl else "PreSubmitted")
    assert app.orders_where(symbol="AAPL", side="buy") == [buy_aapl, stop_aapl]

    with caplog.at_level(logging.INFO, logger="twsapp.session"):
        chosen = app.cancel_where(symbol="AAPL", order_type="LMT", side="BUY")
    assert chosen == [buy_aapl]
    [line] = [r.getMessage() for r in caplog.records if "cancel_where(" in r.getMessage()]
    assert f"order {buy_aapl.order_id} BUY 1 LMT AAPL" in line and "symbol='AAPL'" in line
    events.status(buy_aapl.order_id, "Cancelled")
    barrier(app)
    cancels = [r.order_id for r in order_requests(sim, 1) if isinstance(r, m.CancelOrder)]
    assert cancels == [buy_aapl.order_id]
    held = {so.order_id: so for so in sim.exchange._working(1)}
    assert set(held) == {sell_aapl.order_id, buy_msft.order_id, stop_aapl.order_id}

    assert app.cancel_where(symbol="TSLA") == []  # nothing matches: nothing sent
    with pytest.raises(OrderRefused, match="needs a filter"):
        app.cancel_where()
    with pytest.raises(Exception, match="use BUY or SELL"):
        app.cancel_where(side="long")
    barrier(app)
    assert [r.order_id for r in order_requests(sim, 1) if isinstance(r, m.CancelOrder)] == cancels


def test_a_strategy_cancels_its_own_orders_only(app, sim):
    events = Events(app)
    mine = Context(app, logging.getLogger("test.mine"), "mine")
    theirs = Context(app, logging.getLogger("test.theirs"), "theirs")
    q = quote(sim)
    a = mine.buy("AAPL", 1, round(q.bid * 0.8, 2))
    b = mine.buy(stock("AAPL"), 1, round(q.bid * 0.8, 2), order_ref="dip")
    c = theirs.buy("AAPL", 1, round(q.bid * 0.8, 2))
    for record in (a, b, c):
        events.status(record.order_id, "Submitted")
    assert mine.cancel_where(symbol="AAPL") == [a, b]
    events.status(a.order_id, "Cancelled")
    events.status(b.order_id, "Cancelled")
    barrier(app)
    assert [so.order_id for so in sim.exchange._working(1)] == [c.order_id]
