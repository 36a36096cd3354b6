"""Live market data over a real socket, through a real ibapi client, on the manual clock.

Every expectation is read from the simulator's own tape (``sim.exchange.tape``): what a client
is shown must be exactly what the tape printed, and fills must agree with it. Time moves only
with ``sim.advance``, so each test is exact and none sleeps.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from ibapi.contract import Contract
from ibapi.server_versions import MIN_SERVER_VER_MARKET_DATA_IN_SHARES
from ibapi.ticktype import TickTypeEnum as T
from sim_client import SimClient, order, stock
from versions import FAST_VERSIONS

from twsapp.sim.clock import NEW_YORK
from twsapp.sim.server import SimServer

AAPL, IBM_IBIS, EURUSD, ESZ6 = 265598, 38709539, 12087792, 515416632
START = datetime(2026, 11, 23, 9, 30, tzinfo=NEW_YORK)  # a Monday open
TICKS = ("tickPrice", "tickSize", "tickString", "tickGeneric")


def eurusd() -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "EUR", "CASH", "IDEALPRO", "USD"
    return c


def es() -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "ES", "FUT", "CME", "USD"
    c.lastTradeDateOrContractMonth = "202612"
    return c


def ibm_xetra() -> Contract:
    return stock("IBM", "SMART", "EUR")


@pytest.fixture
def market(sim_factory, server_version) -> SimServer:
    """A simulator at 09:30 on a Monday, at each server version of the matrix."""
    return sim_factory(server_version=server_version, start=START)


@pytest.fixture(params=FAST_VERSIONS, ids=lambda v: f"v{v}")
def version(request) -> int:
    """A text (176) and a protobuf (newest) version: behaviour that is the same in every wire
    form (each form is checked at every version by test_sim_market_codec)."""
    return request.param


@pytest.fixture
def opened(sim_factory, version) -> SimServer:
    return sim_factory(server_version=version, start=START)


def line(client: SimClient, req_id: int, since: int = 0) -> dict[int, object]:
    """What a market data line shows after the events since ``since``: tick type -> value."""
    shown: dict[int, object] = {}
    for event in client.events[since:]:
        if event.name in TICKS and event.args["reqId"] == req_id:
            value = event.args.get("price", event.args.get("size", event.args.get("value")))
            shown[event.tickType] = value
    return shown


def expected_line(
    sim: SimServer, con_id: int, t: float, delayed: bool = False
) -> dict[int, object]:
    """What the tape says a line shows at ``t``: live ids (the test maps delayed ones)."""
    tape = sim.exchange.tape
    view = tape.view(con_id, t)
    quote, last, day = view.quote, view.last, view.day
    contract = tape.instrument(con_id).contract
    us_stock = contract.secType == "STK" and contract.currency == "USD"
    stock_lots = 100 if us_stock else 1  # TWS counts a US stock's volume in round lots
    old_client = sim.settings.server_version < MIN_SERVER_VER_MARKET_DATA_IN_SHARES
    lot = 100 if us_stock and old_client else 1  # ... and, for old clients, its sizes too
    out: dict[int, object] = {
        T.BID: quote.bid,
        T.BID_SIZE: quote.bid_size / lot,
        T.ASK: quote.ask,
        T.ASK_SIZE: quote.ask_size / lot,
        T.HIGH: day.high,
        T.LOW: day.low,
        T.CLOSE: day.prev_close,
    }
    if tape.has_trades(con_id):
        out[T.LAST] = last.price
        out[T.LAST_SIZE] = last.size / lot
        out[T.LAST_TIMESTAMP] = str(int(tape.epoch(last.time)))
        out[T.VOLUME] = Decimal(int(day.volume // stock_lots))
        if day.open is not None:
            out[T.OPEN] = day.open
    else:
        out[T.LAST_TIMESTAMP] = str(int(tape.epoch(quote.time)))
    if not delayed:
        out[T.HALTED] = 0.0
    return out


def as_delayed(values: dict[int, object]) -> dict[int, object]:
    ids = {
        T.BID: T.DELAYED_BID, T.ASK: T.DELAYED_ASK, T.LAST: T.DELAYED_LAST,
        T.BID_SIZE: T.DELAYED_BID_SIZE, T.ASK_SIZE: T.DELAYED_ASK_SIZE,
        T.LAST_SIZE: T.DELAYED_LAST_SIZE, T.HIGH: T.DELAYED_HIGH, T.LOW: T.DELAYED_LOW,
        T.VOLUME: T.DELAYED_VOLUME, T.CLOSE: T.DELAYED_CLOSE, T.OPEN: T.DELAYED_OPEN,
        T.LAST_TIMESTAMP: T.DELAYED_LAST_TIMESTAMP,
    }  # fmt: skip
    return {ids[k]: v for k, v in values.items()}


# --------------------------------------------------------------------------- reqMktData


def test_streaming_quotes_follow_the_tape_second_by_second(market, connect):
    client = connect(market)
    since = client.mark()
    client.reqMktData(1, stock("AAPL"), "", False, False, [])
    client.sync()
    kinds = [e.name for e in client.events[since:] if e.name not in ("currentTime", "error")]
    assert kinds[:2] == ["marketDataType", "tickReqParams"]
    assert client.of("marketDataType", since)[0].marketDataType == 1
    params = client.of("tickReqParams", since)[0]
    assert (params.minTick, params.bboExchange, params.snapshotPermissions) == (0.01, "9c0001", 3)
    assert line(client, 1, since) == expected_line(market, AAPL, 0)
    for second in range(1, 4):
        market.advance(1)
        client.sync()
        assert line(client, 1, since) == expected_line(market, AAPL, second), second
    updates = [e for e in client.events[since:] if e.name in TICKS][-12:]
    assert {e.tickType for e in updates} <= {0, 1, 2, 3, 4, 5, 6, 7, 8, 45}  # changes only


def test_market_orders_fill_at_the_quote_shown(opened, connect):
    client = connect(opened)
    client.reqMktData(1, stock("AAPL"), "", False, False, [])
    opened.advance(7)
    client.sync()
    shown = line(client, 1)
    buy_id, sell_id = client.next_id(), client.next_id() + 1
    since = client.mark()
    client.placeOrder(buy_id, stock("AAPL"), order("BUY", 100))
    client.placeOrder(sell_id, stock("AAPL"), order("SELL", 100))
    client.wait_status(buy_id, "Filled", since)
    client.wait_status(sell_id, "Filled", since)
    fills = {e.execution.orderId: e.execution.price for e in client.of("execDetails", since)}
    assert fills == {buy_id: shown[T.ASK], sell_id: shown[T.BID]}


def test_a_resting_limit_fills_only_when_a_trade_prints_through_it(opened, connect):
    """A buy limit under the market rests while every print is above it; it fills at its
    limit once a print at or under it shows on the tick-by-tick tape, at that print's second."""
    tape = opened.exchange.tape
    client = connect(opened)
    client.reqTickByTickData(2, stock("AAPL"), "AllLast", 0, False)
    client.reqTickByTickData(3, stock("AAPL"), "BidAsk", 0, False)
    client.sync()
    bid = tape.quote_at(AAPL, 0).bid
    lows = [t.price for t in tape.trades(AAPL, 0.5, 600)]
    limit = round(bid - 0.03, 2)
    assert min(lows) < limit, "seed 42 must print under the limit within ten minutes"
    order_id, since = client.next_id(), client.mark()
    client.placeOrder(order_id, stock("AAPL"), order("BUY", 100, "LMT", limit=limit))
    client.wait_status(order_id, "Submitted", since)
    (resting,) = [o for o in opened.exchange.orders.values() if o.order_id == order_id]
    for _ in range(600):  # a second at a time, as a client watching the tape would see it
        opened.advance(1)
        if resting.filled:
            break
    client.sync()
    filled = client.of("execDetails", since)
    assert filled, "the limit never filled"
    execution = filled[0].execution
    prints = [e for e in client.of("tickByTickAllLast", since) if e.reqId == 2]
    quotes = [e for e in client.of("tickByTickBidAsk", since) if e.reqId == 3]
    fill_second = int(datetime.strptime(execution.time[:17], "%Y%m%d %H:%M:%S").replace(
        tzinfo=NEW_YORK).timestamp())  # fmt: skip
    crossing = [q for q in quotes if q.askPrice <= limit]
    through = [p for p in prints if p.price <= limit]
    assert through or crossing
    first = min([p.time for p in through] + [q.time for q in crossing])
    assert fill_second == first  # not a second earlier than the tape allowed
    before = [p for p in prints if p.time < first]
    assert before and all(p.price > limit for p in before)
    in_force = [q for q in quotes if q.time <= fill_second][-1]
    assert in_force.bidPrice <= execution.price <= in_force.askPrice
    assert execution.price == (limit if through and through[0].time == first else execution.price)


def test_a_snapshot_sends_the_current_values_then_ends(opened, connect):
    client = connect(opened)
    since = client.mark()
    client.reqMktData(4, stock("AAPL"), "", True, False, [])
    client.wait("tickSnapshotEnd", since, reqId=4)
    assert line(client, 4, since) == expected_line(opened, AAPL, 0)
    mark = client.mark()
    opened.advance(3)
    client.sync()
    assert [e for e in client.events[mark:] if e.name in TICKS] == []
    client.cancelMktData(4)  # nothing left to cancel: TWS says so
    assert client.wait_error(300, mark, reqId=4).errorString == "Can't find EId with tickerId:4"


def test_every_instrument_of_the_catalog_is_served(opened, connect):
    """Stocks and futures trade (last, volume); IDEALPRO currencies are quoted only."""
    client = connect(opened)
    for req_id, inst in enumerate(opened.exchange.catalog, start=10):
        if not inst.subscribed:
            continue
        contract = Contract()
        contract.conId, contract.exchange = inst.con_id, inst.contract.exchange
        since = client.mark()
        client.reqMktData(req_id, contract, "", True, False, [])
        client.wait("tickSnapshotEnd", since, reqId=req_id)
        shown = line(client, req_id, since)
        assert shown == expected_line(opened, inst.con_id, 0), inst.symbol
        if inst.contract.secType == "CASH":
            assert T.LAST not in shown and T.VOLUME not in shown and T.OPEN not in shown


def test_an_unsubscribed_instrument_is_refused_live_and_delayed_on_request(market, connect):
    client = connect(market)
    since = client.mark()
    client.reqMktData(5, ibm_xetra(), "", False, False, [])
    refusal = client.wait_error(354, since, reqId=5)
    assert refusal.errorString == (
        "Requested market data is not subscribed.Delayed market data is available."
        "Error&BEST/STK/Top&BEST/STK/Top"
    )
    client.reqMarketDataType(2)  # frozen does not help either
    client.reqMktData(6, ibm_xetra(), "", False, False, [])
    client.wait_error(354, since, reqId=6)
    client.reqMarketDataType(3)
    mark = client.mark()
    client.reqMktData(7, ibm_xetra(), "", False, False, [])
    notice = client.wait_error(10167, mark, reqId=7)
    client.sync()
    assert notice.errorString == (
        "Requested market data is not subscribed. Displaying delayed market data."
    )
    kinds = [e.name for e in client.events[mark:] if e.name != "currentTime"]
    assert kinds[:3] == ["tickReqParams", "marketDataType", "error"]
    assert client.of("marketDataType", mark)[0].marketDataType == 3
    assert client.of("tickReqParams", mark)[0].snapshotPermissions == 4
    delay = 15 * 60
    assert line(client, 7, mark) == as_delayed(expected_line(market, IBM_IBIS, -delay, True))
    market.advance(2)
    client.sync()
    assert line(client, 7, mark) == as_delayed(expected_line(market, IBM_IBIS, 2 - delay, True))
    assert line(client, 7, mark)[T.DELAYED_LAST] != market.exchange.tape.last_trade(IBM_IBIS, 2)


def test_a_catalog_entry_can_have_no_subscription(sim_factory, version, connect, tmp_path):
    entry = {
        "symbol": "NOSUB", "secType": "STK", "conId": 990001, "primaryExchange": "NYSE",
        "currency": "USD", "minTick": 0.01, "basePrice": 20.0, "marketDataSubscription": False,
    }  # fmt: skip
    path = tmp_path / "instruments.json"
    path.write_text(json.dumps([entry]))
    sim = sim_factory(server_version=version, start=START, instruments_file=str(path))
    client = connect(sim)
    since = client.mark()
    client.reqMktData(8, stock("NOSUB"), "", False, False, [])
    client.reqTickByTickData(9, stock("NOSUB"), "Last", 0, False)
    client.reqRealTimeBars(10, stock("NOSUB"), 5, "TRADES", False, [])
    assert client.wait_error(354, since, reqId=8)
    tick_refusal = client.wait_error(10189, since, reqId=9)
    bar_refusal = client.wait_error(420, since, reqId=10)
    assert "No market data permissions for NYSE STK" in tick_refusal.errorString
    assert bar_refusal.errorString.startswith("Invalid Real-time Query:No market data permissions")
    client.reqMarketDataType(4)
    client.reqMktData(11, stock("NOSUB"), "", True, False, [])
    client.wait("tickSnapshotEnd", since, reqId=11)
    assert client.of("marketDataType", since, reqId=11)[0].marketDataType == 3


def test_frozen_and_delayed_frozen_data_outside_trading_hours(sim_factory, version, connect):
    """At 20:00 US stocks stop trading: a type-2 line turns frozen (type 2, last quote kept), a
    live one shows bid and ask as -1; an unsubscribed line of type 4 turns delayed-frozen once
    the delayed market (15 minutes behind) closes too."""
    evening = START.replace(hour=19, minute=59, second=58)
    sim = sim_factory(server_version=version, start=evening)
    client = connect(sim)
    client.reqMktData(1, stock("AAPL"), "", False, False, [])
    client.reqMarketDataType(2)
    client.reqMktData(2, stock("AAPL"), "", False, False, [])
    client.sync()
    sim.advance(1)  # 19:59:59, the last second of trading
    client.sync()
    since = client.mark()
    sim.advance(2)  # 20:00:01
    client.sync()
    assert [e.marketDataType for e in client.of("marketDataType", since)] == [2]
    live, frozen = line(client, 1), line(client, 2)
    assert live[T.BID] == live[T.ASK] == -1.0 and live[T.BID_SIZE] == live[T.ASK_SIZE] == 0
    last_quote = sim.exchange.tape.last_quote(AAPL, 3)
    assert last_quote.time == 1  # the quote of 19:59:59 is the frozen one
    assert (frozen[T.BID], frozen[T.ASK]) == (last_quote.bid, last_quote.ask)
    assert line(client, 2, since) == {}  # frozen: nothing moves
    assert frozen[T.LAST] == live[T.LAST] == sim.exchange.tape.last_trade(AAPL, 3).price
    tomorrow = sim_factory(server_version=version, start=evening + timedelta(minutes=20))
    other = connect(tomorrow)
    other.reqMarketDataType(4)
    mark = other.mark()
    other.reqMktData(3, ibm_xetra(), "", False, False, [])  # Xetra closed at 17:30 Frankfurt
    other.wait_error(10167, mark, reqId=3)
    other.sync()
    assert other.of("marketDataType", mark)[0].marketDataType == 4


def test_generic_ticks_are_tolerated_and_mdoff_quiets_the_line(opened, connect):
    client = connect(opened)
    since = client.mark()
    client.reqMktData(1, stock("AAPL"), "233,236,mdoff", False, False, [])  # mdoff first? no
    client.reqMktData(2, stock("AAPL"), "mdoff,292", False, False, [])
    client.reqMktData(3, stock("AAPL"), "100,101,104,106,165,221,225,233,236,258", False, False, [])
    opened.advance(2)
    client.sync()
    assert line(client, 1, since) == line(client, 3, since) == expected_line(opened, AAPL, 2)
    assert line(client, 2, since) == {}
    assert client.of("marketDataType", since, reqId=2)[0].marketDataType == 1
    assert client.errors(since) == []


def test_cancelling_stops_every_stream_and_ids_are_checked(opened, connect):
    client = connect(opened)
    client.reqMktData(1, stock("AAPL"), "", False, False, [])
    client.reqTickByTickData(2, stock("AAPL"), "AllLast", 0, False)
    client.reqRealTimeBars(3, stock("AAPL"), 5, "TRADES", False, [])
    since = client.mark()
    client.reqMktData(1, stock("IBM"), "", False, False, [])  # the same ticker id again
    assert client.wait_error(322, since, reqId=1).errorString == (
        "Error processing request.-'bO' : cause - Duplicate ticker id"
    )
    opened.advance(5)
    client.sync()
    assert {e.name for e in client.events[since:]} >= {
        "tickPrice",
        "tickByTickAllLast",
        "realtimeBar",
    }
    client.cancelMktData(1)
    client.cancelTickByTickData(2)
    client.cancelRealTimeBars(3)
    client.sync()
    mark = client.mark()
    opened.advance(10)
    client.sync()
    assert client.names(mark) == ["currentTime"]
    client.cancelMktData(1)
    assert client.wait_error(300, mark, reqId=1)


# --------------------------------------------------------------------------- tick by tick


def test_tick_by_tick_streams_every_trade_and_quote_change(market, connect):
    tape = market.exchange.tape
    client = connect(market)
    since = client.mark()
    for req_id, kind in ((1, "Last"), (2, "AllLast"), (3, "BidAsk"), (4, "MidPoint")):
        client.reqTickByTickData(req_id, stock("AAPL"), kind, 0, False)
    client.reqTickByTickData(5, stock("AAPL"), "BidAsk", 0, True)  # ignoreSize
    client.sync()
    first = client.mark()
    market.advance(20)
    client.sync()
    trades = tape.trades(AAPL, 0.001, 20.001)
    printed = [(e.time, e.price, e.size, e.exchange, e.specialConditions)
               for e in client.of("tickByTickAllLast", first, reqId=2)]  # fmt: skip
    assert printed == [
        (int(tape.epoch(t.time)), t.price, t.size, t.exchange, "I" if t.odd_lot else "")
        for t in trades
    ]
    last = [(e.time, e.price) for e in client.of("tickByTickAllLast", first, reqId=1)]
    assert last == [(int(tape.epoch(t.time)), t.price) for t in trades if not t.odd_lot]
    assert all(e.tickType == 1 for e in client.of("tickByTickAllLast", first, reqId=1))
    quotes = tape.quotes(AAPL, 1, 21)
    bid_ask = [(e.time, e.bidPrice, e.askPrice, e.bidSize, e.askSize)
               for e in client.of("tickByTickBidAsk", first, reqId=3)]  # fmt: skip
    assert bid_ask == [
        (int(tape.epoch(q.time)), q.bid, q.ask, q.bid_size, q.ask_size) for q in quotes
    ]
    prices_only = [(e.bidPrice, e.askPrice) for e in client.of("tickByTickBidAsk", first, reqId=5)]
    assert all(a != b for a, b in itertools.pairwise(prices_only))
    mids = [e.midPoint for e in client.of("tickByTickMidPoint", first, reqId=4)]
    assert mids and all(a != b for a, b in itertools.pairwise(mids))
    assert set(mids) <= {q.mid for q in quotes}
    # on subscribing: the last print and the quote in force
    initial = client.of("tickByTickBidAsk", since, reqId=3)[0]
    assert (initial.bidPrice, initial.askPrice) == (
        tape.quote_at(AAPL, 0).bid,
        tape.quote_at(AAPL, 0).ask,
    )


def test_currencies_stream_quotes_and_midpoints_but_no_trades(opened, connect):
    tape = opened.exchange.tape
    client = connect(opened)
    since = client.mark()
    client.reqTickByTickData(1, eurusd(), "AllLast", 0, False)
    client.reqTickByTickData(2, eurusd(), "MidPoint", 0, False)
    client.reqRealTimeBars(3, eurusd(), 5, "TRADES", False, [])
    client.reqRealTimeBars(4, eurusd(), 5, "MIDPOINT", False, [])
    client.wait_error(321, since, reqId=3)
    client.sync()
    opened.advance(10)
    client.sync()
    assert client.of("tickByTickAllLast", since) == []
    mids = [e.midPoint for e in client.of("tickByTickMidPoint", since, reqId=2)]
    assert mids and set(mids) <= {q.mid for q in tape.quotes(EURUSD, -600, 11)}
    bars = client.of("realtimeBar", since, reqId=4)
    assert [(b.open_, b.high, b.low, b.close) for b in bars] == [
        (b.open, b.high, b.low, b.close) for b in tape.bars(EURUSD, 0, 10, 5, "MIDPOINT")
    ]


# --------------------------------------------------------------------------- real-time bars


def test_real_time_bars_are_a_resample_of_the_tapes_trades(market, connect):
    tape = market.exchange.tape
    client = connect(market)
    since = client.mark()
    client.reqRealTimeBars(1, stock("AAPL"), 5, "TRADES", False, [])
    client.reqRealTimeBars(2, es(), 5, "ASK", True, [])
    client.sync()  # subscribed before the clock moves
    market.advance(31)
    client.sync()
    trades = tape.trades(AAPL, 0, 30)
    frame = pd.DataFrame(
        {"price": [t.price for t in trades], "size": [float(t.size) for t in trades]},
        index=pd.to_datetime([tape.epoch(t.time) for t in trades], unit="s"),
    )
    frame["notional"] = frame["price"] * frame["size"]
    expected = frame.resample("5s").agg(
        {"price": ["first", "max", "min", "last", "count"], "size": "sum", "notional": "sum"}
    )
    bars = client.of("realtimeBar", since, reqId=1)
    assert len(bars) == len(expected) == 6
    for bar, (stamp, row) in zip(bars, expected.iterrows(), strict=True):
        assert pd.Timestamp(bar.time, unit="s") == stamp
        assert (bar.open_, bar.high, bar.low, bar.close) == tuple(row["price"][:4])
        assert (float(bar.volume), bar.count) == (row["size"]["sum"], row["price"]["count"])
        assert float(bar.wap) == pytest.approx(row["notional"]["sum"] / row["size"]["sum"])
    asks = client.of("realtimeBar", since, reqId=2)
    assert [(b.time, b.open_, b.close, b.volume) for b in asks] == [
        (int(tape.epoch(b.start)), b.open, b.close, Decimal(-1))
        for b in tape.bars(ESZ6, 0, 30, 5, "ASK", regular_only=True)
    ]  # 09:30 New York is inside the CME's regular hours (08:30-16:00 Chicago)


def test_real_time_bar_requests_are_checked(opened, connect):
    client = connect(opened)
    since = client.mark()
    client.reqRealTimeBars(1, stock("AAPL"), 5, "BID_ASK", False, [])
    client.reqRealTimeBars(2, stock("AAPL"), 10, "TRADES", False, [])
    client.reqTickByTickData(3, stock("AAPL"), "Trades", 0, False)
    client.reqMktData(4, stock("ZZZZQ"), "", False, False, [])
    wrong_what = client.wait_error(321, since, reqId=1)
    assert wrong_what.errorString == (
        "Error validating request.-'bQ' : cause - What to show field is missing or incorrect."
    )
    assert client.wait_error(321, since, reqId=2)
    assert client.wait_error(321, since, reqId=3)
    assert client.wait_error(200, since, reqId=4)
    opened.advance(10)
    client.sync()
    assert client.of("realtimeBar", since) == [] and client.of("tickByTickAllLast", since) == []
