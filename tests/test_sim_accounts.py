"""Positions, cash and account values in the simulator, as a real ibapi client receives them.

Every expectation is derived from what the client itself was told (execution prices, commission
reports) and the market at that moment (the simulator's seeded quotes), never from the
simulator's account arithmetic: cash must fall by quantity x price + commission on a buy, the
net liquidation value must be cash plus what the positions are worth, and so on.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from ibapi.contract import Contract
from sim_client import SimClient, order, stock

from twsapp.sim.server import SimServer

AAPL = 265598
START_CASH = 1_000_000.0
CENT = 0.011  # every value travels rounded to the cent


def mark_price(sim: SimServer, con_id: int = AAPL) -> float:
    return sim.exchange.prices.quote(con_id, float(sim.exchange.step)).last


def fill(client: SimClient, contract: Contract, o) -> tuple[float, float]:
    """Place, wait until filled with its report; (execution price, commission)."""
    order_id = client.next_id()
    since = client.mark()
    client.placeOrder(order_id, contract, o)
    client.wait_status(order_id, "Filled", since)
    execution = client.wait("execDetails", since).execution
    report = client.wait("commissionAndFeesReport", since)
    return execution.price, report.commissionAndFeesReport.commissionAndFees


def summary(client: SimClient, tags: str = "All", req_id: int = 9) -> dict:
    since = client.mark()
    client.reqAccountSummary(req_id, "All", tags)
    client.wait("accountSummaryEnd", since, reqId=req_id)
    rows = client.of("accountSummary", since, reqId=req_id)
    return {(r.account, r.tag): (r.value, r.currency) for r in rows}


def money(rows: dict, tag: str, account: str = "DU1234567") -> float:
    value, currency = rows[(account, tag)]
    assert currency == "USD", tag
    return float(value)


def future() -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "ES", "FUT", "CME", "USD"
    c.lastTradeDateOrContractMonth = "202612"
    return c


# --------------------------------------------------------------------------- positions


def test_positions_follow_fills_while_subscribed(sim, client):
    since = client.mark()
    client.reqPositions()
    client.wait("positionEnd", since)
    assert client.of("position", since) == []

    since = client.mark()
    price, commission = fill(client, stock("AAPL"), order("BUY", 100))
    opened = client.wait("position", since)
    assert (opened.account, opened.contract.conId, opened.position) == ("DU1234567", AAPL, 100)
    cost = (100 * price + commission) / 100  # IB's average cost includes the commission
    assert opened.avgCost == pytest.approx(cost)

    sim.advance(600)
    since = client.mark()
    sell_price, sell_commission = fill(client, stock("AAPL"), order("SELL", 40))
    reduced = client.wait("position", since)
    assert reduced.position == 60 and reduced.avgCost == pytest.approx(cost)
    (report,) = [e.commissionAndFeesReport for e in client.of("commissionAndFeesReport", since)]
    assert report.realizedPNL == pytest.approx(40 * (sell_price - cost) - sell_commission)

    client.cancelPositions()
    client.sync()
    since = client.mark()
    fill(client, stock("AAPL"), order("BUY", 10))
    client.sync()
    assert client.of("position", since) == []  # not subscribed any more

    since = client.mark()
    client.reqPositions()
    client.wait("positionEnd", since)
    (now,) = client.of("position", since)
    assert now.position == 70


def test_future_position_costs_commission_not_notional(sim, client):
    before = summary(client)
    price, commission = fill(client, future(), order("BUY", 1))
    since = client.mark()
    client.reqPositions()
    client.wait("positionEnd", since)
    (held,) = client.of("position", since)
    assert held.contract.secType == "FUT" and held.position == 1
    assert held.avgCost == pytest.approx(price * 50 + commission)  # per contract, x multiplier
    after = summary(client)
    cash_change = money(after, "TotalCashValue") - money(before, "TotalCashValue")
    assert cash_change == pytest.approx(-commission, abs=CENT)
    mark = mark_price(sim, held.contract.conId)
    assert money(after, "GrossPositionValue") == pytest.approx(50 * mark, abs=CENT)


# --------------------------------------------------------------------------- account summary


def test_account_summary_moves_with_fills(sim, client):
    before = summary(client)
    assert money(before, "NetLiquidation") == money(before, "TotalCashValue") == START_CASH
    assert money(before, "GrossPositionValue") == 0.0

    price, commission = fill(client, stock("AAPL"), order("BUY", 100))
    after = summary(client)
    cash = START_CASH - 100 * price - commission
    held = 100 * mark_price(sim)
    assert money(after, "TotalCashValue") == pytest.approx(cash, abs=CENT)
    assert money(after, "GrossPositionValue") == pytest.approx(held, abs=CENT)
    net = money(after, "NetLiquidation")
    assert net == pytest.approx(cash + held, abs=2 * CENT)
    assert money(after, "AvailableFunds") == pytest.approx(
        net - money(after, "InitMarginReq"), abs=2 * CENT
    )
    assert money(after, "ExcessLiquidity") == pytest.approx(
        net - money(after, "MaintMarginReq"), abs=2 * CENT
    )
    assert money(after, "BuyingPower") == pytest.approx(
        4 * money(after, "AvailableFunds"), abs=4 * CENT
    )
    assert money(after, "InitMarginReq") > 0
    assert money(after, "BuyingPower") < money(before, "BuyingPower")

    sim.advance(3600)  # the market moves; so do the values that depend on it
    later = summary(client)
    held_later = 100 * mark_price(sim)
    assert money(later, "TotalCashValue") == money(after, "TotalCashValue")
    assert money(later, "NetLiquidation") == pytest.approx(cash + held_later, abs=2 * CENT)


def test_account_summary_tags_and_cancel(sim, client):
    rows = summary(client, "NetLiquidation,BuyingPower,AccountType", req_id=4)
    assert sorted(tag for _, tag in rows) == ["AccountType", "BuyingPower", "NetLiquidation"]
    assert rows[("DU1234567", "AccountType")][1] == ""  # not money: no currency
    since = client.mark()
    client.cancelAccountSummary(4)
    client.sync()
    assert client.of("error", since) == []
    fill(client, stock("AAPL"), order("BUY", 10))
    client.sync()
    assert client.of("accountSummary", since) == []  # cancelled: nothing more arrives


def test_every_managed_account_is_summarised_separately(sim_factory, server_version, connect):
    sim = sim_factory(server_version=server_version, accounts=["DU111", "DU222"])
    client = connect(sim)
    directed = order("BUY", 100)
    directed.account = "DU222"
    price, commission = fill(client, stock("AAPL"), directed)
    rows = summary(client)
    assert {account for account, _ in rows} == {"DU111", "DU222"}
    assert money(rows, "TotalCashValue", "DU111") == START_CASH
    expected = START_CASH - 100 * price - commission
    assert money(rows, "TotalCashValue", "DU222") == pytest.approx(expected, abs=CENT)
    since = client.mark()
    client.reqPositions()
    client.wait("positionEnd", since)
    assert [(p.account, p.position) for p in client.of("position", since)] == [("DU222", 100)]


# --------------------------------------------------------------------------- account updates


def test_account_updates_values_portfolio_time_and_end(sim, client):
    since = client.mark()
    client.reqAccountUpdates(True, "DU1234567")
    end = client.wait("accountDownloadEnd", since)
    assert end.accountName == "DU1234567"
    values = {e.key: e for e in client.of("updateAccountValue", since)}
    for key in ("NetLiquidation", "TotalCashValue", "BuyingPower", "AvailableFunds"):
        assert values[key].accountName == "DU1234567" and values[key].currency == "USD"
    assert float(values["TotalCashValue"].val) == START_CASH
    assert client.of("updatePortfolio", since) == []
    (stamp,) = client.of("updateAccountTime", since)
    assert stamp.timeStamp == sim.clock.now().strftime("%H:%M")
    assert client.names(since)[-1] == "accountDownloadEnd"

    since = client.mark()
    price, commission = fill(client, stock("AAPL"), order("BUY", 100))
    holding = client.wait("updatePortfolio", since)
    mark = mark_price(sim)
    cost = (100 * price + commission) / 100
    assert (holding.contract.conId, holding.position, holding.accountName) == (
        AAPL,
        100,
        "DU1234567",
    )
    assert holding.marketPrice == mark
    assert holding.marketValue == pytest.approx(100 * mark)
    assert holding.averageCost == pytest.approx(cost)
    assert holding.unrealizedPNL == pytest.approx(100 * (mark - cost))
    client.sync()
    cash = [e for e in client.of("updateAccountValue", since) if e.key == "TotalCashValue"]
    assert float(cash[-1].val) == pytest.approx(START_CASH - 100 * price - commission, abs=CENT)

    client.reqAccountUpdates(False, "DU1234567")
    client.sync()
    since = client.mark()
    fill(client, stock("AAPL"), order("BUY", 5))
    client.sync()
    assert client.of("updateAccountValue", since) == []
    assert client.of("updatePortfolio", since) == []


def test_position_quantity_is_decimal_for_forex(sim, client):
    eur = Contract()
    eur.symbol, eur.secType, eur.exchange, eur.currency = "EUR", "CASH", "IDEALPRO", "USD"
    fill(client, eur, order("BUY", Decimal("25000")))
    since = client.mark()
    client.reqPositions()
    client.wait("positionEnd", since)
    (held,) = client.of("position", since)
    assert held.contract.secType == "CASH" and held.position == Decimal("25000")
