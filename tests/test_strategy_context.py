"""The Context's order helpers, its open orders, positions and P&L, without a socket: what it
hands the app, what it counts as its own, and what it leaves to other strategies."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from ibapi.contract import Contract
from test_pnl import fill

from twsapp.book import CommissionReceived, FillReceived, OrderRecord, Position, StatusChanged
from twsapp.exceptions import ContractError, OrderValidationError
from twsapp.strategy import Context

NOW = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)


class FakeBook:
    def __init__(self) -> None:
        self.recs: list[OrderRecord] = []
        self.held: list[Position] = []

    def records(self):
        return list(self.recs)

    def positions(self):
        return list(self.held)


class FakeApp:
    """Records what the context sends; each order gets the next id and a PendingSubmit record."""

    def __init__(self) -> None:
        self.book = FakeBook()
        self.next_id = 1
        self.sent: list[tuple[object, object]] = []

    def _record(self, contract, order) -> OrderRecord:
        rec = OrderRecord(client_id=1, order_id=self.next_id, order=order)
        self.next_id += 1
        self.book.recs.append(rec)
        self.sent.append((contract, order))
        return rec

    def place(self, contract, order):
        return self._record(contract, order)

    def place_bracket(self, contract, orders):
        return [self._record(contract, order) for order in orders]


def _ctx(app: FakeApp, name: str = "alpha") -> Context:
    return Context(app, logging.getLogger(f"test.{name}"), name)


def test_buy_and_sell_are_limit_orders_with_a_price_and_market_orders_without():
    app = FakeApp()
    ctx = _ctx(app)
    ctx.buy("AAPL", 10)
    ctx.sell("AAPL", "2.5", 151.25, tif="GTC", order_ref="exit")
    (_, mkt), (contract, lmt) = app.sent
    assert (mkt.action, mkt.orderType, mkt.totalQuantity, mkt.orderRef) == (
        "BUY",
        "MKT",
        Decimal(10),
        "alpha",
    )
    assert (lmt.action, lmt.orderType, lmt.lmtPrice, lmt.tif) == ("SELL", "LMT", 151.25, "GTC")
    assert lmt.orderRef == "alpha/exit" and contract == "AAPL"
    with pytest.raises(OrderValidationError, match="totalQuantity"):
        ctx.buy("AAPL", 0)
    assert len(app.sent) == 2


def test_a_bracket_goes_to_the_app_as_one_call_and_is_all_the_strategys():
    app = FakeApp()
    ctx = _ctx(app)
    placed = ctx.bracket("AAPL", "BUY", 10, 150.0, 152.0, 148.0, order_ref="breakout")
    orders = [order for _, order in app.sent]
    assert [(o.action, o.orderType, o.transmit) for o in orders] == [
        ("BUY", "LMT", False),
        ("SELL", "LMT", False),
        ("SELL", "STP", True),
    ]
    assert (orders[0].lmtPrice, orders[1].lmtPrice, orders[2].auxPrice) == (150.0, 152.0, 148.0)
    assert {o.orderRef for o in orders} == {"alpha/breakout"}
    assert [r.order_id for r in placed] == [1, 2, 3]
    assert placed.take_profit.order_id == 2 and placed.stop_loss.order_id == 3
    assert ctx.owned() == {(1, 1), (1, 2), (1, 3)}
    with pytest.raises(OrderValidationError, match="stop-loss auxPrice 151 is not below"):
        ctx.bracket("AAPL", "BUY", 10, 150.0, 152.0, 151.0)
    assert len(app.sent) == 3  # refused whole, before the app saw any of it


def test_open_orders_are_its_own_not_done_ones():
    app = FakeApp()
    alpha, beta = _ctx(app, "alpha"), _ctx(app, "beta")
    first = alpha.buy("AAPL", 1)
    second = alpha.sell("AAPL", 1, 200.0)
    beta.buy("AAPL", 1)
    first.status = "Filled"
    assert [r.order_id for r in alpha.open_orders()] == [second.order_id]
    assert [r.order_id for r in alpha.orders()] == [first.order_id, second.order_id]
    assert [r.order_id for r in beta.open_orders()] == [3]


def _fill_event(rec: OrderRecord, f) -> FillReceived:
    return FillReceived(time=NOW, record=rec, fill=f)


def test_fills_count_in_the_owners_pnl_and_position_only():
    app = FakeApp()
    alpha, beta = _ctx(app, "alpha"), _ctx(app, "beta")
    mine, theirs = alpha.buy("AAPL", 10), beta.buy("AAPL", 5)
    bought = fill("BUY", 10, 150.0, con_id=265598)
    events = [
        _fill_event(mine, bought),
        _fill_event(theirs, fill("BUY", 5, 150.5, 1.0, con_id=265598)),
        CommissionReceived(time=NOW, record=mine, fill=replace(bought, commission=1.0)),
        StatusChanged(time=NOW, record=mine, before="Submitted", after="Filled", source="t"),
    ]
    for event in events:
        for ctx in (alpha, beta):
            ctx.account_for(event)
    app.book.held.append(
        Position("DU1234567", 265598, "AAPL", "STK", "USD", "AAPL", "NASDAQ", Decimal(15), 150.2)
    )
    held = alpha.position("AAPL")
    assert (held.quantity, held.account, held.con_id) == (Decimal(10), Decimal(15), 265598)
    assert held.avg_cost == pytest.approx(150.10) and held.account_avg_cost == 150.2
    assert held.unrealized == pytest.approx(-1.0)  # its own last fill, 150, less the commission
    assert beta.position("AAPL").quantity == 5
    frame = alpha.pnl_df()
    assert frame[["strategy", "position", "commissions"]].values.tolist() == [["alpha", 10.0, 1.0]]
    nothing = alpha.position("IBM")
    assert (nothing.quantity, nothing.account, nothing.avg_cost) == (0, 0, None)


def test_a_position_by_contract_and_an_ambiguous_symbol():
    app = FakeApp()
    ctx = _ctx(app)
    rec = ctx.buy("AAPL", 1)
    ctx.account_for(_fill_event(rec, fill("BUY", 1, 150.0, con_id=265598)))
    app.book.held.append(
        Position("DU1", 999, "AAPL", "OPT", "USD", "AAPL  250117C00150000", "", Decimal(2), 3.0)
    )
    with pytest.raises(ContractError, match="several contracts"):
        ctx.position("AAPL")
    contract = Contract()
    contract.conId, contract.symbol = 265598, "AAPL"
    assert ctx.position(contract).quantity == 1 and ctx.position(contract).account == 0
    details = SimpleNamespace(contract=contract)
    assert ctx.position(details).con_id == 265598
