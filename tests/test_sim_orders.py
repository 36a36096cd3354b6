"""Order lifecycle in the simulator, driven by the real ibapi ``EClient`` over a socket.

Time is the manual clock (speed 0): tests move it with ``sim.advance`` and read the seeded price
path from the simulator's own price model to know when a price crosses, so every expectation
is exact and no test waits for time to pass.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.order_cancel import OrderCancel
from ibapi.server_versions import MIN_SERVER_VER_FULL_ORDER_PREVIEW_FIELDS
from sim_client import SimClient, order, stock

from twsapp.sim import messages as m
from twsapp.sim.proto import proto_kind_version
from twsapp.sim.server import SimServer
from twsapp.sim.wire import UNSET_DOUBLE, UNSET_INT, UNSET_LONG

AAPL = 265598
DAY = 23_400  # seconds from the 09:30 open to the 16:00 close


def quote(sim: SimServer, second: int, con_id: int = AAPL):
    return sim.exchange.prices.quote(con_id, float(second))


def first_second(sim: SimServer, predicate, con_id: int = AAPL, until: int = DAY) -> int:
    """The first simulated second (after the open) at which ``predicate(quote)`` holds."""
    for second in range(1, until):
        if predicate(quote(sim, second, con_id)):
            return second
    raise AssertionError("the seeded path never gets there during the session")


def tws_time(sim: SimServer, second: int) -> str:
    moment = sim.clock.start + timedelta(seconds=second)
    return moment.strftime("%Y%m%d %H:%M:%S") + " US/Eastern"


def as_received(sim: SimServer, kind: type[m.Message], text_spelling, proto_spelling=0):
    """What ibapi hands over for an unset field: TWS's text marker, or (protobuf, where TWS
    omits the field, as the paper-Gateway transcripts at server version 225 in the
    ThomasMarcelis/ibkr-go repository show) ibapi's default for an absent one."""
    first = proto_kind_version(kind)
    protobuf = first is not None and sim.settings.server_version >= first
    return proto_spelling if protobuf else text_spelling


def cents_down(price: float) -> float:
    return math.floor(round(price * 100, 6)) / 100


def place(client: SimClient, contract: Contract, o) -> tuple[int, int]:
    """Place with a fresh id; (order id, event mark before placing)."""
    order_id = client.next_id()
    since = client.mark()
    client.placeOrder(order_id, contract, o)
    return order_id, since


def open_orders(client: SimClient) -> list:
    since = client.mark()
    client.reqOpenOrders()
    client.wait("openOrderEnd", since)
    return client.of("openOrder", since)


def completed(client: SimClient) -> list:
    since = client.mark()
    client.reqCompletedOrders(False)
    client.wait("completedOrdersEnd", since)
    return client.of("completedOrder", since)


# --------------------------------------------------------------------------- order types


def test_market_order_fills_at_once_with_execution_and_commission(sim, client):
    order_id, since = place(client, stock("AAPL"), order("BUY", 100))
    filled = client.wait_status(order_id, "Filled", since)
    report = client.wait("commissionAndFeesReport", since)
    (execution,) = [e.execution for e in client.of("execDetails", since)]
    ask = quote(sim, 0).ask
    assert (execution.orderId, execution.side, execution.shares) == (order_id, "BOT", 100)
    assert execution.price == ask and execution.cumQty == 100 and execution.avgPrice == ask
    assert execution.time == tws_time(sim, 0) and execution.exchange == "ISLAND"
    assert (filled.filled, filled.remaining, filled.avgFillPrice) == (100, 0, ask)
    assert filled.permId == execution.permId and filled.clientId == 1
    assert report.commissionAndFeesReport.execId == execution.execId
    assert report.commissionAndFeesReport.commissionAndFees > 0
    unset = as_received(sim, m.CommissionReport, UNSET_DOUBLE, 0.0)
    assert report.commissionAndFeesReport.realizedPNL == unset  # nothing closed
    assert report.commissionAndFeesReport.yield_ == unset
    names = client.names(since)
    assert names.index("execDetails") < names.index("commissionAndFeesReport")


def test_accepted_order_echoes_what_tws_sets(sim, client):
    """openOrder carries TWS's own defaults, as in every captured echo: the fixture's (v164..v176)
    and the ThomasMarcelis/ibkr-go paper-Gateway transcripts (v200..v225)."""
    order_id, since = place(client, stock("AAPL"), order("BUY", 10, "LMT", limit=100.0))
    echo = client.wait("openOrder", since).order
    assert (echo.ocaType, echo.clearingIntent, echo.dontUseAutoPriceForHedge) == (3, "IB", True)
    assert echo.permId > 0 and echo.account == "DU1234567" and echo.tif == "DAY"
    assert echo.trailStopPrice == 101.0  # TWS echoes lmtPrice + 1 on limit orders
    client.cancelOrder(order_id, OrderCancel())
    (done,) = completed(client)
    unset = as_received(sim, m.CompletedOrder, (UNSET_INT, UNSET_LONG), (0, 0))
    assert (done.order.refFuturesConId, done.order.parentPermId) == unset
    assert done.order.shareholder == "Not an insider or substantial shareholder"
    assert done.orderState.completedStatus == "Cancelled by Trader"


def test_limit_order_rests_then_fills_when_the_tape_trades_through_it(sim, client):
    """A resting buy limit fills at its limit at the second a print at or under it shows on
    the tape, or at the ask once the ask comes down to it, whichever is first.

    Until issue 8 this test expected a fill only once the *ask* reached the limit, at the ask:
    real TWS also fills a resting order when the market trades through its price, at its price.
    """
    tape = sim.exchange.tape
    ask0 = quote(sim, 0).ask
    low = min(quote(sim, s).ask for s in range(1, DAY))
    assert low < ask0 - 0.10, "seed 42 must dip during the day for this scenario"
    limit = cents_down((ask0 + low) / 2)

    def crossed(second: int) -> bool:
        prints = tape.step_trades(AAPL, second)
        return quote(sim, second).ask <= limit or any(p.price <= limit for p in prints)

    cross = next(s for s in range(1, DAY) if crossed(s))
    order_id, since = place(client, stock("AAPL"), order("BUY", 50, "LMT", limit=limit))
    client.wait_status(order_id, "Submitted", since)
    sim.advance(cross - 1)
    client.sync()
    assert client.of("execDetails", since) == []
    assert [o.orderId for o in open_orders(client)] == [order_id]

    sim.advance(1)
    filled = client.wait_status(order_id, "Filled", since)
    execution = client.wait("execDetails", since).execution
    if quote(sim, cross).ask <= limit:  # the ask came down to it: a marketable order
        assert execution.price == quote(sim, cross).ask
        assert execution.time == tws_time(sim, cross)
    else:  # the tape printed through it: at its limit, at that print's second
        (first,) = [p for p in tape.step_trades(AAPL, cross) if p.price <= limit][:1]
        assert execution.price == limit
        assert execution.time == tws_time(sim, int(first.time))
    assert filled.avgFillPrice == execution.price and filled.filled == 50


def test_stop_waits_presubmitted_until_triggered_then_fills(sim, client):
    last0 = quote(sim, 0).last
    low = min(quote(sim, s).last for s in range(1, DAY))
    assert low < last0 - 0.10
    stop = cents_down((last0 + low) / 2)
    trigger = first_second(sim, lambda q: q.last <= stop)

    order_id, since = place(client, stock("AAPL"), order("SELL", 30, "STP", stop=stop))
    held = client.wait_status(order_id, "PreSubmitted", since)
    assert held.whyHeld == "trigger"
    sim.advance(trigger - 1)
    client.sync()
    assert {e.status for e in client.of("orderStatus", since)} == {"PreSubmitted"}

    sim.advance(1)
    client.wait_status(order_id, "Submitted", since)
    client.wait_status(order_id, "Filled", since)
    execution = client.wait("execDetails", since).execution
    assert execution.side == "SLD" and execution.price == quote(sim, trigger).bid
    assert execution.time == tws_time(sim, trigger)


# --------------------------------------------------------------------------- time in force


def test_day_order_expires_at_the_close_gtc_survives(sim, client):
    day_id, since = place(client, stock("AAPL"), order("BUY", 10, "LMT", limit=100.0))
    gtc_id, _ = place(client, stock("AAPL"), order("BUY", 10, "LMT", limit=100.0, tif="GTC"))
    client.wait_status(gtc_id, "Submitted", since)
    sim.advance(DAY - 1)  # 15:59:59
    client.sync()
    assert sorted(o.orderId for o in open_orders(client)) == [day_id, gtc_id]

    sim.advance(1)  # 16:00:00, the close
    cancelled = client.wait_status(day_id, "Cancelled", since)
    assert (cancelled.filled, cancelled.remaining) == (0, 10)
    (expired,) = completed(client)
    assert expired.orderState.completedStatus.startswith("Cancelled by System")
    assert expired.orderState.completedTime == tws_time(sim, DAY)

    sim.advance(24 * 3600)  # the next day, after its open
    client.sync()
    assert [o.orderId for o in open_orders(client)] == [gtc_id]
    assert client.of("orderStatus", since, orderId=gtc_id, status="Cancelled") == []


def test_ioc_cancels_what_does_not_fill_at_once(sim_factory, server_version, connect):
    sim = sim_factory(server_version=server_version, display_size=Decimal(100))
    client = connect(sim)
    away_id, since = place(client, stock("AAPL"), order("BUY", 10, "LMT", limit=100.0, tif="IOC"))
    gone = client.wait_status(away_id, "Cancelled", since)
    assert (gone.filled, gone.remaining) == (0, 10)
    assert client.of("execDetails", since) == []

    ask = quote(sim, 0).ask
    limit = cents_down(ask + 1)
    part_id, since = place(client, stock("AAPL"), order("BUY", 300, "LMT", limit=limit, tif="IOC"))
    rest = client.wait_status(part_id, "Cancelled", since)
    assert (rest.filled, rest.remaining) == (100, 200)  # one displayed lot, the rest cancelled
    assert [e.execution.shares for e in client.of("execDetails", since)] == [100]
    sim.advance(5)
    client.sync()
    assert len(client.of("execDetails", since)) == 1


# --------------------------------------------------------------------------- modify


def test_modify_fixes_a_typo_one_order_one_id_new_price(sim, client):
    bid0 = quote(sim, 0).bid
    high = max(quote(sim, s).bid for s in range(1, DAY))
    intended = cents_down((bid0 + high) / 2)  # a sell limit above the market, reached later
    assert intended > bid0
    typo = round(intended * 10, 2)  # "1490.00" for "149.00": far above, it just rests
    contract = stock("AAPL")

    order_id, since = place(client, contract, order("SELL", 100, "LMT", limit=typo))
    placed = client.wait("openOrder", since)
    client.wait_status(order_id, "Submitted", since)
    assert placed.order.lmtPrice == typo

    since = client.mark()
    client.placeOrder(order_id, contract, order("SELL", 100, "LMT", limit=intended))
    fixed = client.wait("openOrder", since)
    assert (fixed.orderId, fixed.order.permId) == (order_id, placed.order.permId)
    assert fixed.order.lmtPrice == intended
    client.sync()
    assert client.of("error", since) == [] and client.of("execDetails", since) == []
    (working,) = open_orders(client)
    assert (working.orderId, working.order.lmtPrice) == (order_id, intended)

    reach = first_second(sim, lambda q: q.bid >= intended)
    sim.advance(reach)
    client.wait_status(order_id, "Filled", since)
    execution = client.wait("execDetails", since).execution
    assert execution.price >= intended and execution.orderId == order_id
    assert len(client.of("execDetails", since)) == 1


def test_modify_quantity_and_tif_take_effect(sim, client):
    order_id, since = place(client, stock("AAPL"), order("BUY", 10, "LMT", limit=100.0))
    client.wait_status(order_id, "Submitted", since)
    client.placeOrder(order_id, stock("AAPL"), order("BUY", 25, "LMT", limit=101.0, tif="GTC"))
    client.wait("orderStatus", since, orderId=order_id, remaining=Decimal(25))
    (working,) = open_orders(client)
    assert (working.order.totalQuantity, working.order.lmtPrice) == (25, 101.0)
    assert working.order.tif == "GTC"


def test_modify_a_filled_order_is_104_and_changes_nothing(sim, client):
    order_id, since = place(client, stock("AAPL"), order("BUY", 10))
    client.wait_status(order_id, "Filled", since)
    since = client.mark()
    client.placeOrder(order_id, stock("AAPL"), order("BUY", 20))
    error = client.wait_error(104, since)
    assert error.reqId == order_id and error.errorString == "Can't modify a filled order"
    client.sync()
    assert client.names(since) == ["currentTime"]  # no openOrder, no orderStatus
    (done,) = completed(client)
    assert done.order.filledQuantity == 10 and done.orderState.status == "Filled"
    assert done.orderState.completedStatus == "Filled Size: 10"
    assert done.order.totalQuantity == 0  # TWS lists a filled order with total 0 (captures)


def test_modify_a_cancelled_order_is_refused_and_changes_nothing(sim, client):
    order_id, since = place(client, stock("AAPL"), order("BUY", 10, "LMT", limit=100.0))
    client.wait_status(order_id, "Submitted", since)
    client.cancelOrder(order_id, OrderCancel())
    client.wait_status(order_id, "Cancelled", since)
    since = client.mark()
    client.placeOrder(order_id, stock("AAPL"), order("BUY", 10, "LMT", limit=120.0))
    assert client.wait("error", since).reqId == order_id
    client.sync()
    assert client.of("openOrder", since) == [] and client.of("orderStatus", since) == []
    (done,) = completed(client)
    assert (done.orderState.status, done.order.lmtPrice) == ("Cancelled", 100.0)


# --------------------------------------------------------------------------- cancel


def test_cancel_gives_cancelled_and_202(sim, client):
    order_id, since = place(client, stock("AAPL"), order("BUY", 10, "LMT", limit=100.0))
    client.wait_status(order_id, "Submitted", since)
    client.cancelOrder(order_id, OrderCancel())
    status = client.wait_status(order_id, "Cancelled", since)
    assert (status.filled, status.remaining) == (0, 10)
    notice = client.wait_error(202, since)
    assert notice.reqId == order_id and notice.errorString == "Order Canceled - reason:"
    assert open_orders(client) == []


def test_cancel_unknown_or_done_orders_is_refused(sim, client):
    since = client.mark()
    client.cancelOrder(987_654, OrderCancel())
    unknown = client.wait_error(10147, since)
    assert unknown.reqId == 987_654
    assert unknown.errorString == "OrderId 987654 that needs to be cancelled is not found."

    order_id, since = place(client, stock("AAPL"), order("BUY", 5))
    client.wait_status(order_id, "Filled", since)
    client.cancelOrder(order_id, OrderCancel())
    done = client.wait_error(10148, since)
    assert done.reqId == order_id and done.errorString.endswith("state: Filled.")
    client.sync()
    assert client.of("orderStatus", since, status="Cancelled") == []


def test_global_cancel_cancels_every_clients_working_orders(sim, connect):
    one, two = connect(sim, 1), connect(sim, 2)
    first, since_one = place(one, stock("AAPL"), order("BUY", 1, "LMT", limit=100.0))
    second, since_two = place(two, stock("IBM"), order("BUY", 1, "LMT", limit=100.0))
    two.wait_status(second, "Submitted", since_two)
    one.reqGlobalCancel(OrderCancel())
    one.wait_status(first, "Cancelled", since_one)
    two.wait_status(second, "Cancelled", since_two)
    assert two.wait_error(202, since_two).reqId == second
    assert open_orders(one) == [] and open_orders(two) == []


# --------------------------------------------------------------------------- partial fills


def test_partial_fills_by_display_size(sim_factory, server_version, connect):
    sim = sim_factory(server_version=server_version, display_size=Decimal(100))
    client = connect(sim)
    order_id, since = place(client, stock("AAPL"), order("BUY", 350))
    client.wait("execDetails", since)
    sim.advance(3)
    client.wait_status(order_id, "Filled", since)
    client.sync()

    events = client.events[since:]
    executions = [e.execution for e in events if e.name == "execDetails"]
    assert [e.shares for e in executions] == [100, 100, 100, 50]
    assert [e.cumQty for e in executions] == [100, 200, 300, 350]
    assert len({e.execId for e in executions}) == 4
    assert [e.price for e in executions] == [quote(sim, s).ask for s in range(4)]
    for index, event in enumerate(events):  # each fill's own report, before the next fill
        if event.name == "execDetails":
            later = [
                e
                for e in events[index + 1 :]
                if e.name in ("execDetails", "commissionAndFeesReport")
            ]
            assert later[0].name == "commissionAndFeesReport"
            assert later[0].commissionAndFeesReport.execId == event.execution.execId
    statuses = [e for e in events if e.name == "orderStatus"]
    filled = [s.filled for s in statuses]
    assert filled == sorted(filled) and filled[-1] == 350 and statuses[-1].status == "Filled"
    average = sum(float(e.shares) * e.price for e in executions) / 350
    assert statuses[-1].avgFillPrice == pytest.approx(average, abs=1e-9)
    assert executions[-1].avgPrice == pytest.approx(average, abs=1e-9)


# --------------------------------------------------------------------------- refusals


def _future(expiry: str = "202612") -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "ES", "FUT", "CME", "USD"
    c.lastTradeDateOrContractMonth = expiry
    return c


def _eurusd() -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "EUR", "CASH", "IDEALPRO", "USD"
    return c


def _unset_limit():
    o = order("BUY", 10, "LMT")
    o.lmtPrice = UNSET_DOUBLE
    return o


REFUSALS = {
    "off-tick stock": (stock("AAPL"), order("BUY", 10, "LMT", limit=150.005), 110, None),
    "off-tick stop": (stock("AAPL"), order("SELL", 10, "STP", stop=140.001), 110, None),
    "off-tick forex": (_eurusd(), order("BUY", 20000, "LMT", limit=1.16003), 110, None),
    "off-tick future": (_future(), order("BUY", 1, "LMT", limit=7000.1), 110, None),
    "unknown symbol": (stock("ZZZZQ"), order("BUY", 10), 200, None),
    "zero quantity": (stock("AAPL"), order("BUY", 0), 321, "quantity"),
    "negative quantity": (stock("AAPL"), order("SELL", -5), 321, "quantity"),
    "missing limit": (stock("AAPL"), _unset_limit(), 321, "limit price"),
    "unknown type": (stock("AAPL"), order("BUY", 10, "FEELINGS"), 321, "order type"),
    "unknown tif": (stock("AAPL"), order("BUY", 10, tif="FOREVER"), 321, "time in force"),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_refused_orders_are_never_created(sim, client, case):
    contract, bad, code, cause = REFUSALS[case]
    order_id, since = place(client, contract, bad)
    error = client.wait("error", since, reqId=order_id)
    assert error.errorCode == code
    if code == 110:
        assert error.errorString == (
            "The price does not conform to the minimum price variation for this contract."
        )
    if code == 200:
        assert error.errorString == "No security definition has been found for the request"
    if cause is not None:
        assert error.errorString.startswith("Error validating request.")
        assert cause in error.errorString.lower()
    if case == "unknown type":  # word for word as a paper Gateway (v207) refuses it, per the
        # public transcript place_order_invalid_type_live_error.txt of ThomasMarcelis/ibkr-go
        assert error.errorString == (
            "Error validating request.-'v' : cause - Invalid order type was entered"
        )
    client.sync()
    assert client.of("openOrder", since) == [] and client.of("orderStatus", since) == []
    assert open_orders(client) == [] and completed(client) == []
    since = client.mark()
    client.reqAllOpenOrders()
    client.wait("openOrderEnd", since)
    assert client.of("openOrder", since) == []


def test_on_tick_prices_of_each_instrument_are_accepted(sim, client):
    for contract, good in (
        (stock("AAPL"), order("BUY", 10, "LMT", limit=100.01)),
        (_eurusd(), order("BUY", 20000, "LMT", limit=1.00005)),
        (_future(), order("BUY", 1, "LMT", limit=5000.25)),
    ):
        order_id, since = place(client, contract, good)
        client.wait_status(order_id, "Submitted", since)
    assert len(open_orders(client)) == 3


# --------------------------------------------------------------------------- queries


def test_completed_orders_list_fills_and_cancels(sim, client):
    filled_id, since = place(client, stock("AAPL"), order("BUY", 7))
    client.wait_status(filled_id, "Filled", since)
    sim.advance(60)
    cancelled_id, _ = place(client, stock("IBM"), order("BUY", 3, "LMT", limit=100.0))
    client.wait_status(cancelled_id, "Submitted", since)
    client.cancelOrder(cancelled_id, OrderCancel())
    client.wait_status(cancelled_id, "Cancelled", since)

    fill, cancel = completed(client)
    assert (fill.contract.symbol, fill.orderState.status) == ("AAPL", "Filled")
    assert fill.order.filledQuantity == 7 and fill.orderState.completedTime == tws_time(sim, 0)
    assert fill.orderState.commissionAndFees > 0
    assert (cancel.contract.symbol, cancel.orderState.status) == ("IBM", "Cancelled")
    assert cancel.order.totalQuantity == 3 and cancel.order.filledQuantity == 0
    assert cancel.orderState.completedTime == tws_time(sim, 60)


def _fills_for_filters(sim_factory, server_version, connect):
    sim = sim_factory(server_version=server_version, accounts=["DU111", "DU222"])
    one, two = connect(sim, 1), connect(sim, 2)
    aapl = order("BUY", 10)
    aapl.account = "DU111"
    _first, since = place(one, stock("AAPL"), aapl)
    one.wait("commissionAndFeesReport", since)
    ibm = order("SELL", 5)
    ibm.account = "DU222"
    _second, since = place(two, stock("IBM"), ibm)
    two.wait("commissionAndFeesReport", since)
    sim.advance(3600)
    eur = order("BUY", 20000)
    eur.account = "DU111"
    _third, since = place(one, _eurusd(), eur)
    one.wait("commissionAndFeesReport", since)
    return sim, one


def test_executions_filtered_by_every_field(sim_factory, server_version, connect):
    sim, client = _fills_for_filters(sim_factory, server_version, connect)
    later = tws_time(sim, 3600)[:17]
    earlier = tws_time(sim, 0)[:17]

    def symbols(**fields) -> set[str]:
        flt = ExecutionFilter()
        for name, value in fields.items():
            setattr(flt, name, value)
        since = client.mark()
        client.reqExecutions(77, flt)
        client.wait("execDetailsEnd", since, reqId=77)
        rows = client.of("execDetails", since)
        reports = client.of("commissionAndFeesReport", since)
        assert all(r.reqId == 77 for r in rows)
        assert sorted(r.execution.execId for r in rows) == sorted(
            r.commissionAndFeesReport.execId for r in reports
        )
        return {r.contract.symbol for r in rows}

    assert symbols() == {"AAPL", "IBM", "EUR"}
    assert symbols(clientId=1) == {"AAPL", "EUR"}
    assert symbols(clientId=2) == {"IBM"}
    assert symbols(acctCode="DU222") == {"IBM"}
    assert symbols(acctCode="DU111") == {"AAPL", "EUR"}
    assert symbols(time=later) == {"EUR"}
    assert symbols(time=earlier) == {"AAPL", "IBM", "EUR"}
    assert symbols(symbol="AAPL") == {"AAPL"}
    assert symbols(symbol="MSFT") == set()
    assert symbols(secType="CASH") == {"EUR"}
    assert symbols(secType="STK") == {"AAPL", "IBM"}
    assert symbols(exchange="ISLAND") == {"AAPL"}
    assert symbols(exchange="IDEALPRO") == {"EUR"}
    assert symbols(side="BUY") == {"AAPL", "EUR"}
    assert symbols(side="SELL") == {"IBM"}
    assert symbols(clientId=1, secType="STK") == {"AAPL"}


# --------------------------------------------------------------------------- what-if


def _what_if(o):
    o.whatIf = True
    return o


def test_what_if_previews_margin_and_creates_no_order(sim, client):
    held, since = place(client, stock("AAPL"), order("BUY", 100))
    client.wait_status(held, "Filled", since)
    last = quote(sim, 0).last
    order_id, since = place(client, stock("AAPL"), _what_if(order("BUY", 200)))
    preview = client.wait("openOrder", since, orderId=order_id)
    client.sync()
    state = preview.orderState
    assert preview.order.whatIf and preview.order.permId > 0
    assert state.status == "PreSubmitted"
    # The account model: initial and maintenance margin are 25 % of gross position value.
    assert float(state.initMarginBefore) == pytest.approx(0.25 * 100 * last, abs=0.01)
    assert float(state.initMarginAfter) == pytest.approx(0.25 * 300 * last, abs=0.01)
    assert float(state.initMarginChange) == pytest.approx(0.25 * 200 * last, abs=0.02)
    assert float(state.maintMarginChange) == pytest.approx(0.25 * 200 * last, abs=0.02)
    ewl_change = float(state.equityWithLoanChange)
    assert -(state.commissionAndFees + 200 * 0.10) < ewl_change < 0  # commission and spread
    assert float(state.equityWithLoanAfter) == pytest.approx(
        float(state.equityWithLoanBefore) + ewl_change, abs=0.01
    )
    assert state.commissionAndFees > 0 and state.commissionAndFeesCurrency == "USD"
    if sim.settings.server_version >= MIN_SERVER_VER_FULL_ORDER_PREVIEW_FIELDS:
        assert state.marginCurrency == "USD"
    # Nothing was created: no status, never listed, never filled, the position unchanged.
    assert client.of("orderStatus", since, orderId=order_id) == []
    assert [o.orderId for o in open_orders(client)] == []
    sim.advance(600)
    client.sync()
    assert client.of("execDetails", since) == []
    assert [o.orderState.status for o in completed(client)] == ["Filled"]  # the first buy only
    since = client.mark()
    client.reqPositions()
    client.wait("positionEnd", since)
    assert [p.position for p in client.of("position", since)] == [100]


def test_what_if_is_validated_like_an_order(sim, client):
    order_id, since = place(client, stock("AAPL"), _what_if(order("BUY", 10, "LMT", 150.005)))
    assert client.wait("error", since, reqId=order_id).errorCode == 110
    client.sync()
    assert client.of("openOrder", since) == []


# --------------------------------------------------------------------------- transmit, brackets, OCA


def _untransmitted(o):
    o.transmit = False
    return o


def _child(o, parent_id: int, transmit: bool):
    o.parentId, o.transmit = parent_id, transmit
    return o


def test_untransmitted_order_is_held_silently_until_transmitted(sim, client):
    order_id, since = place(client, stock("AAPL"), _untransmitted(order("BUY", 10)))
    client.sync()
    assert client.names(since) == ["currentTime"]  # no openOrder, no orderStatus, no fill
    assert open_orders(client) == []
    sim.advance(60)
    client.sync()
    assert client.of("execDetails", since) == []

    client.placeOrder(order_id, stock("AAPL"), order("BUY", 10))  # same id, transmit=True
    filled = client.wait_status(order_id, "Filled", since)
    assert client.wait("openOrder", since).orderId == order_id
    assert client.wait("execDetails", since).execution.price == quote(sim, 60).ask
    assert filled.filled == 10


def test_cancelling_a_held_order_discards_it(sim, client):
    order_id, since = place(client, stock("AAPL"), _untransmitted(order("BUY", 10)))
    client.cancelOrder(order_id, OrderCancel())
    assert client.wait_status(order_id, "Cancelled", since).remaining == 10
    notice = client.wait_error(202, since)
    assert notice.errorString == "Order Canceled - reason:Order was discarded."
    client.placeOrder(order_id, stock("AAPL"), order("BUY", 10))  # gone: it cannot be sent now
    client.sync()
    assert client.of("execDetails", since) == [] and client.of("openOrder", since) == []


def test_bracket_goes_live_with_its_last_child_and_children_wait_for_the_parent(sim, client):
    """Parent far below the market: the children stay PreSubmitted ("child") however far the
    price moves; cancelling the parent cancels them."""
    contract = stock("AAPL")
    parent = client.next_id()
    high = max(quote(sim, s).bid for s in range(1, 3600))
    low = min(quote(sim, s).last for s in range(1, 3600))
    take_profit = order("SELL", 10, "LMT", limit=cents_down(quote(sim, 0).bid + 0.01))
    stop_loss = order("SELL", 10, "STP", stop=cents_down(low + 0.05))
    assert take_profit.lmtPrice < high and stop_loss.auxPrice > low  # both would act alone
    since = client.mark()
    client.placeOrder(parent, contract, _untransmitted(order("BUY", 10, "LMT", limit=50.0)))
    client.placeOrder(parent + 1, contract, _child(take_profit, parent, transmit=False))
    client.sync()
    assert client.names(since) == ["currentTime"]
    client.placeOrder(parent + 2, contract, _child(stop_loss, parent, transmit=True))
    client.wait("orderStatus", since, orderId=parent + 2)
    announced = [e.orderId for e in client.of("openOrder", since)]
    assert announced[0] == parent and sorted(set(announced)) == [parent, parent + 1, parent + 2]
    parent_perm = client.of("openOrder", since, orderId=parent)[0].order.permId
    protobuf_orders = sim.settings.server_version >= proto_kind_version(m.OpenOrder)
    for child_id, why in ((parent + 1, "child"), (parent + 2, "child,trigger")):
        status = client.of("orderStatus", since, orderId=child_id)[-1]
        assert (status.status, status.whyHeld, status.parentId) == ("PreSubmitted", why, parent)
        echo = client.of("openOrder", since, orderId=child_id)[-1].order
        assert echo.ocaGroup == str(parent_perm)
        if protobuf_orders:  # the text openOrder has no parentPermId field
            assert echo.parentPermId == parent_perm
    assert client.of("orderStatus", since, orderId=parent)[-1].status == "Submitted"

    sim.advance(3599)
    client.sync()
    assert client.of("execDetails", since) == []
    assert len(open_orders(client)) == 3

    client.cancelOrder(parent, OrderCancel())
    for order_id in (parent, parent + 1, parent + 2):
        client.wait_status(order_id, "Cancelled", since)
    assert open_orders(client) == []


def test_bracket_children_work_once_the_parent_fills_and_cancel_each_other(sim, client):
    contract = stock("AAPL")
    ask0 = quote(sim, 0).ask
    target = cents_down(ask0 + 0.20)
    reach = first_second(sim, lambda q: q.bid >= target)
    low = min(quote(sim, s).last for s in range(reach + 1))
    stop = cents_down(low - 0.05)

    parent = client.next_id()
    since = client.mark()
    client.placeOrder(parent, contract, _untransmitted(order("BUY", 10)))
    client.placeOrder(
        parent + 1, contract, _child(order("SELL", 10, "LMT", limit=target), parent, False)
    )
    client.placeOrder(
        parent + 2, contract, _child(order("SELL", 10, "STP", stop=stop), parent, True)
    )
    client.wait_status(parent, "Filled", since)
    client.wait_status(parent + 1, "Submitted", since)  # active once the parent is filled
    stop_status = client.wait("orderStatus", since, orderId=parent + 2, whyHeld="trigger")
    assert stop_status.status == "PreSubmitted"
    client.sync()
    assert [e.execution.orderId for e in client.of("execDetails", since)] == [parent]

    sim.advance(reach)
    sold = client.wait_status(parent + 1, "Filled", since)
    assert sold.avgFillPrice == quote(sim, reach).bid >= target
    client.wait_status(parent + 2, "Cancelled", since)  # its OCA sibling filled
    client.sync()
    assert [e.execution.orderId for e in client.of("execDetails", since)] == [parent, parent + 1]
    assert open_orders(client) == []
    since = client.mark()
    client.reqPositions()
    client.wait("positionEnd", since)
    assert [p.position for p in client.of("position", since)] == [0]


def test_child_of_an_unknown_parent_is_refused_with_135(sim, client):
    child_id = client.next_id()
    since = client.mark()
    client.placeOrder(
        child_id, stock("AAPL"), _child(order("SELL", 10, "LMT", limit=200.0), 987_654, True)
    )
    error = client.wait("error", since, reqId=child_id)
    assert (error.errorCode, error.errorString) == (135, "Can't find order with id = 987654")
    client.sync()
    assert client.of("openOrder", since) == [] and open_orders(client) == []


def test_oca_type_1_fill_cancels_the_rest_of_the_group(sim, client):
    near = order("BUY", 10, "LMT", limit=cents_down(quote(sim, 0).ask + 1))
    far = order("BUY", 10, "LMT", limit=50.0)
    for o in (near, far):
        o.ocaGroup, o.ocaType = "oca-test", 1
    far_id, since = place(client, stock("AAPL"), far)
    client.wait_status(far_id, "Submitted", since)
    near_id, _ = place(client, stock("AAPL"), near)
    client.wait_status(near_id, "Filled", since)
    assert client.wait_status(far_id, "Cancelled", since).remaining == 10
    assert open_orders(client) == []


# --------------------------------------------------------------------------- fractional sizes


def test_fractional_shares_are_refused_but_forex_fractions_are_not(sim, client):
    order_id, since = place(client, stock("AAPL"), order("BUY", "0.5"))
    error = client.wait("error", since, reqId=order_id)
    assert error.errorCode == 10243
    assert error.errorString == (
        "Fractional-sized order cannot be placed via API. "
        "Please use desktop version to place this order."
    )
    client.sync()
    assert client.of("openOrder", since) == [] and open_orders(client) == []

    fx_id, since = place(client, _eurusd(), order("BUY", "20000.5", "LMT", limit=1.0))
    client.wait_status(fx_id, "Submitted", since)  # sizeIncrement 0.01: allowed

    whole_id, since = place(client, stock("AAPL"), order("BUY", 10, "LMT", limit=100.0))
    client.wait_status(whole_id, "Submitted", since)
    since = client.mark()
    client.placeOrder(whole_id, stock("AAPL"), order("BUY", "10.5", "LMT", limit=100.0))
    assert client.wait("error", since, reqId=whole_id).errorCode == 10242
    client.sync()
    (working,) = [o for o in open_orders(client) if o.orderId == whole_id]
    assert working.order.totalQuantity == 10
