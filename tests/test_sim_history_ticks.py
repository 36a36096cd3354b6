"""reqHistoricalTicks over a real socket: the tape's own trades and quote changes, counted from a
start forwards or back from an end, at a text and a protobuf version."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sim_client import SimClient, stock
from test_sim_history import AAPL, EURUSD, START, es, eurusd
from versions import FAST_VERSIONS

from twsapp.sim.server import SimServer

MONDAY_0930 = "20261123 09:30:00 US/Eastern"


@pytest.fixture(params=FAST_VERSIONS, ids=lambda v: f"v{v}")
def version(request) -> int:
    """A text (176) and a protobuf (newest) version."""
    return request.param


@pytest.fixture
def opened(sim_factory, version) -> SimServer:
    return sim_factory(server_version=version, start=START)


def ticks(client: SimClient, req_id: int, *args) -> tuple[str, list, bool]:
    """reqHistoricalTicks; (callback, ticks, done) of its answer."""
    since = client.mark()
    client.reqHistoricalTicks(req_id, *args, [])
    event = client.until(
        lambda events: next(
            (e for e in events[since:] if e.name.startswith("historicalTicks")), None
        )
    )
    assert event.reqId == req_id
    return event.name, event.ticks, event.done


def stamp(sim: SimServer, t: float) -> int:
    return int(sim.exchange.tape.epoch(t))


def test_trades_from_a_start_and_back_from_an_end(opened, connect):
    opened.advance(600)
    client = connect(opened)
    tape = opened.exchange.tape
    name, got, done = ticks(client, 1, stock("AAPL"), MONDAY_0930, "", 40, "TRADES", 0, False)
    assert (name, done) == ("historicalTicksLast", True)
    expected = tape.trades(AAPL, 0, 600)
    # 40 ticks, and the rest of the second the 40th printed in (never half a second).
    last_second = stamp(opened, expected[39].time)
    expected = [t for t in expected if stamp(opened, t.time) <= last_second]
    assert len(got) >= 40 and len(got) == len(expected)
    assert [(t.time, t.price, t.size, t.exchange, t.specialConditions) for t in got] == [
        (stamp(opened, t.time), t.price, t.size, t.exchange, "I" if t.odd_lot else "")
        for t in expected
    ]
    assert any(t.specialConditions == "I" for t in got)  # odd lots are on the tape
    # Back from an end: the last ticks before it, oldest first.
    _, back, _ = ticks(client, 2, stock("AAPL"), "", "20261123 09:35:00 US/Eastern", 30,
                       "TRADES", 1, False)  # fmt: skip
    before = tape.trades(AAPL, 0, 300)
    first_second = stamp(opened, before[-30].time)
    before = [t for t in before if stamp(opened, t.time) >= first_second]
    assert [(t.time, t.price, t.size) for t in back] == [
        (stamp(opened, t.time), t.price, t.size) for t in before
    ]


def test_quotes_as_bid_ask_and_as_midpoints(opened, connect):
    opened.advance(600)
    client = connect(opened)
    tape = opened.exchange.tape
    changes = tape.quotes(AAPL, 0, 600)
    name, got, _ = ticks(client, 1, stock("AAPL"), MONDAY_0930, "", 25, "BID_ASK", 0, False)
    assert name == "historicalTicksBidAsk"
    assert [(t.time, t.priceBid, t.priceAsk, t.sizeBid, t.sizeAsk) for t in got] == [
        (stamp(opened, q.time), q.bid, q.ask, q.bid_size, q.ask_size) for q in changes[:25]
    ]
    # ignoreSize: only the changes of a price.
    _, prices, _ = ticks(client, 2, stock("AAPL"), MONDAY_0930, "", 25, "BID_ASK", 0, True)
    before = [tape.quote_at(AAPL, -1), *changes]  # the quote in force at 09:29:59, then
    moved = [q for q, p in zip(changes, before, strict=False) if (q.bid, q.ask) != (p.bid, p.ask)]
    assert [(t.time, t.priceBid, t.priceAsk) for t in prices] == [
        (stamp(opened, q.time), q.bid, q.ask) for q in moved[:25]
    ]
    name, mids, _ = ticks(client, 3, stock("AAPL"), MONDAY_0930, "", 25, "MIDPOINT", 0, False)
    assert name == "historicalTicks"
    changed = [q for q, p in zip(changes, before, strict=False) if q.mid != p.mid]
    assert [(t.time, t.price, t.size) for t in mids] == [
        (stamp(opened, q.time), q.mid, Decimal(0)) for q in changed[:25]
    ]


def test_regular_hours_currencies_futures_and_limits(opened, connect):
    opened.advance(120)
    client = connect(opened)
    tape = opened.exchange.tape
    # useRth from the pre-market: the first ticks are the open's.
    _, got, _ = ticks(client, 1, stock("AAPL"), "20261123 08:00:00 US/Eastern", "", 5, "TRADES",
                      1, False)  # fmt: skip
    assert got[0].time == stamp(opened, 0)
    _, extended, _ = ticks(client, 2, stock("AAPL"), "20261123 08:00:00 US/Eastern", "", 5,
                           "TRADES", 0, False)  # fmt: skip
    assert extended[0].time == stamp(opened, tape.trades(AAPL, -5400, 0)[0].time)
    # TWS has no trades of a currency pair: TRADES are its midpoints.
    name, fx, _ = ticks(client, 3, eurusd(), MONDAY_0930, "", 10, "TRADES", 0, False)
    assert name == "historicalTicks"
    assert fx[0].price == tape.quotes(EURUSD, 0, 60)[0].mid
    name, fut, _ = ticks(client, 4, es(), "20261123 08:00:00 US/Central", "", 3, "TRADES", 0, False)
    assert name == "historicalTicksLast" and fut and fut[0].exchange == "CME"
    # At most 1000 a request; nothing after now.
    _, many, _ = ticks(client, 5, stock("AAPL"), MONDAY_0930, "", 5000, "BID_ASK", 0, False)
    assert len(many) == len(tape.quotes(AAPL, 0, 120)) < 1000
    _, capped, _ = ticks(client, 6, stock("AAPL"), "", MONDAY_0930, 5000, "BID_ASK", 0, False)
    assert 1000 <= len(capped) < 1010
    since = client.mark()
    client.reqHistoricalTicks(7, stock("AAPL"), MONDAY_0930, "", 0, "TRADES", 0, False, [])
    client.reqHistoricalTicks(8, stock("AAPL"), MONDAY_0930, "", 10, "BID", 0, False, [])
    client.reqHistoricalTicks(9, stock("AAPL"), "2026-11-23", "", 10, "TRADES", 0, False, [])
    client.reqHistoricalTicks(10, stock("ZZZZQ"), MONDAY_0930, "", 10, "TRADES", 0, False, [])
    client.sync()
    assert client.errors(since) == [(7, 321), (8, 321), (9, 10314), (10, 200)]
    texts = [e.errorString for e in client.of("error", since)]
    assert texts[:2] == [
        "Error validating request.-'bP' : cause - Number of ticks must be > 0",
        "Error validating request.-'bP' : cause - Invalid source price",
    ]
    assert texts[2].startswith("Start Date/Time: The date, time, or time-zone entered is invalid.")
