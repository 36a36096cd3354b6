"""what_if over a real socket: TWS's preview of an order's margin and commission, read into
numbers, agreeing with the simulator's margin model; nothing is placed, nothing is booked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from app_helpers import barrier, quote

from twsapp.exceptions import OrderRefused
from twsapp.orders import limit_order, market_order
from twsapp.sim import messages as m
from twsapp.sim.accounts import INIT_MARGIN_RATE
from twsapp.sim.matching import commission_for


def test_a_preview_shows_the_margin_and_commission_and_places_nothing(app, sim):
    q = quote(sim)
    preview = app.what_if("AAPL", market_order("BUY", 100))
    notional = 100 * q.last  # margin is on the position at its mark
    for margin in (preview.init_margin, preview.maint_margin, preview.equity_with_loan):
        assert margin.before is not None and margin.after is not None
        assert margin.change == pytest.approx(margin.after - margin.before, abs=0.011)
    assert preview.init_margin.change == pytest.approx(INIT_MARGIN_RATE * notional, abs=0.02)
    assert preview.commission == commission_for("STK", 100, q.ask)
    assert preview.commission_currency == "USD" and preview.warning == ""
    barrier(app)
    assert app.book.records() == []  # the book never saw it
    [sent] = [r for r in sim.received(1) if isinstance(r, m.PlaceOrder)]
    assert sent.order.whatIf is True
    assert sim.exchange._working(1) == []  # TWS holds no order for it
    # a real order afterwards gets a later id, and TWS takes it
    record = app.place("AAPL", limit_order("BUY", 1, round(q.bid * 0.9, 2)))
    assert record.order_id > sent.order_id


def test_a_bad_preview_is_refused_before_any_byte(app, sim):
    order = market_order("BUY", 1)
    order.totalQuantity = Decimal(0)
    with pytest.raises(OrderRefused, match="totalQuantity"):
        app.what_if("AAPL", order)
    barrier(app)
    assert not [r for r in sim.received(1) if isinstance(r, m.PlaceOrder)]
