"""Historical bars over a real socket, through a real ibapi client, on the manual clock.

Every expectation is computed from the simulator's own tape (``sim.exchange.tape``) with pandas,
independently of how the simulator builds its bars: history must be exactly what the tape
printed (the trades that filled orders, the quotes live data showed), and must join live data
(keepUpToDate updates, real-time bars) with no gap and no overlap. Time moves only with
``sim.advance``; no test sleeps.
"""

from __future__ import annotations

import bisect
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pandas as pd
import pytest
from ibapi.contract import Contract
from sim_client import TIMEOUT, SimClient, stock
from versions import FAST_VERSIONS

from twsapp.sim.clock import NEW_YORK
from twsapp.sim.server import SimServer

AAPL, IBM_IBIS, EURUSD, ESZ6 = 265598, 38709539, 12087792, 515416632
START = datetime(2026, 11, 23, 9, 30, tzinfo=NEW_YORK)  # a Monday open
HMDS = "Historical Market Data Service error message:"


def eurusd() -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "EUR", "CASH", "IDEALPRO", "USD"
    return c


def es() -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "ES", "FUT", "CME", "USD"
    c.lastTradeDateOrContractMonth = "202612"
    return c


@pytest.fixture(params=FAST_VERSIONS, ids=lambda v: f"v{v}")
def version(request) -> int:
    """A text (176) and a protobuf (newest) version; every wire form of every message is
    checked at every version by test_sim_history_codec."""
    return request.param


@pytest.fixture
def opened(sim_factory, version) -> SimServer:
    return sim_factory(server_version=version, start=START)


# --------------------------------------------------------------------------- expectations


def ny(stamp: pd.Timestamp) -> str:
    return f"{stamp.tz_convert(NEW_YORK):%Y%m%d %H:%M:%S} US/Eastern"


def trade_frame(sim: SimServer, con_id: int, start: int, end: int) -> pd.DataFrame:
    """The tape's trades of ``[start, end)``, in a frame indexed by their moment (UTC)."""
    tape = sim.exchange.tape
    trades = tape.trades(con_id, start, end)
    return pd.DataFrame(
        {
            "price": [t.price for t in trades],
            "size": [int(t.size) for t in trades],
            "cents": [round(t.price * 100) * int(t.size) for t in trades],
        },
        index=pd.to_datetime([tape.epoch(t.time) for t in trades], unit="s", utc=True),
    )


def ohlc(frame: pd.DataFrame, rule: str) -> pd.DataFrame:
    """A pandas resample on the Unix clock; bars where nothing traded dropped."""
    agg = frame.resample(rule, origin="epoch").agg(
        {"price": ["first", "max", "min", "last", "count"], "size": "sum", "cents": "sum"}
    )
    return agg[agg[("price", "count")] > 0]


def wap(cents: int, size: int) -> Decimal:
    return (Decimal(int(cents)) / 100 / Decimal(int(size))).quantize(
        Decimal("0.001"), ROUND_HALF_EVEN
    )


def as_bars(frame: pd.DataFrame, date) -> list[tuple]:
    """Rows of an ``ohlc`` frame as (date, open, high, low, close, volume, wap, count)."""
    return [
        (
            date(stamp),
            *(float(v) for v in row["price"][:4]),
            Decimal(int(row[("size", "sum")])),
            wap(row[("cents", "sum")], row[("size", "sum")]),
            int(row[("price", "count")]),
        )
        for stamp, row in frame.iterrows()
    ]


def received(client: SimClient, req_id: int, since: int = 0, name: str = "historicalData"):
    return [
        (b.date, b.open, b.high, b.low, b.close, b.volume, b.wap, b.barCount)
        for b in (e.bar for e in client.of(name, since, reqId=req_id))
    ]


def quote_seconds(sim: SimServer, con_id: int, start: int, end: int) -> pd.DataFrame:
    """The quote in force each second of ``[start, end)`` (inside one session), from the tape's
    quote changes carried forward."""
    tape = sim.exchange.tape
    first = tape.quote_at(con_id, start)
    changes = [first, *tape.quotes(con_id, start + 1, end)]
    frame = pd.DataFrame(
        {"bid": [q.bid for q in changes], "ask": [q.ask for q in changes],
         "mid": [q.mid for q in changes]},
        index=[start, *(int(q.time) for q in changes[1:])],
    )  # fmt: skip
    frame = frame.reindex(range(start, end)).ffill()
    frame.index = pd.to_datetime([tape.epoch(t) for t in frame.index], unit="s", utc=True)
    return frame


def request(
    client: SimClient, req_id: int, contract: Contract, *args, keep: bool = False, wait=TIMEOUT
):
    """reqHistoricalData; waits for its end (or its error) and returns the end event."""
    since = client.mark()
    client.reqHistoricalData(req_id, contract, *args, keep, [])
    return client.until(
        lambda events: next(
            (
                e
                for e in events[since:]
                if e.name in ("historicalDataEnd", "error")
                and e.args.get("reqId") == req_id
                and e.args.get("errorCode") not in (2174,)
            ),
            None,
        ),
        wait,
    )


# --------------------------------------------------------------------------- bars


def test_trade_bars_are_a_resample_of_the_tapes_trades(opened, connect):
    opened.advance(5400)  # 11:00
    client = connect(opened)
    request(client, 1, stock("AAPL"), "", "1800 S", "1 min", "TRADES", 0, 1)
    request(client, 2, stock("AAPL"), "", "3600 S", "5 mins", "TRADES", 0, 2)
    request(client, 3, stock("AAPL"), "", "1 D", "1 hour", "TRADES", 1, 1)
    request(client, 4, stock("AAPL"), "", "3 D", "1 day", "TRADES", 1, 1)

    recent = trade_frame(opened, AAPL, 0, 5400)
    minutes = ohlc(recent[recent.index >= pd.Timestamp("2026-11-23 15:30", tz="UTC")], "1min")
    assert received(client, 1) == as_bars(minutes, ny) and len(minutes) == 30
    fives = ohlc(recent[recent.index >= pd.Timestamp("2026-11-23 15:00", tz="UTC")], "5min")
    epoch = lambda stamp: str(int(stamp.timestamp()))  # noqa: E731
    assert received(client, 2) == as_bars(fives, epoch) and len(fives) == 12
    # The first regular hour is dated at the open, as TWS dates it: 09:30, then 10:00.
    hours = as_bars(ohlc(recent, "1h"), ny)
    assert [bar[0][9:17] for bar in received(client, 3)] == ["09:30:00", "10:00:00"]
    assert received(client, 3) == [(received(client, 3)[0][0], *hours[0][1:]), hours[1]]

    sessions = opened.exchange.tape.sessions(AAPL, -4 * 86400, 5400, regular=True)[-3:]
    regular = pd.concat(trade_frame(opened, AAPL, s.start, min(s.end, 5400)) for s in sessions)
    regular.index = regular.index.tz_convert(NEW_YORK).tz_localize(None)  # days: local dates
    days = as_bars(ohlc(regular, "1D"), lambda stamp: f"{stamp:%Y%m%d}")
    assert received(client, 4) == days
    assert [d[0] for d in days] == ["20261119", "20261120", "20261123"]


def test_quote_bars_are_the_quotes_in_force_each_second(opened, connect):
    opened.advance(1800)  # 10:00
    client = connect(opened)
    for req_id, what in enumerate(("MIDPOINT", "BID", "ASK", "BID_ASK"), start=1):
        request(client, req_id, stock("AAPL"), "", "1800 S", "1 min", what, 1, 1)
    seconds = quote_seconds(opened, AAPL, 0, 1800)
    for req_id, column in ((1, "mid"), (2, "bid"), (3, "ask")):
        expected = (
            seconds[column].resample("1min", origin="epoch").agg(["first", "max", "min", "last"])
        )
        unset = (Decimal(-1), Decimal(-1), -1)
        assert received(client, req_id) == [
            (ny(stamp), *row, *unset) for stamp, row in expected.iterrows()
        ]
    # BID_ASK: time-average bid and ask, the lowest bid, the highest ask.
    bid_ask = received(client, 4)
    assert len(bid_ask) == 30
    for got, bid, ask in zip(bid_ask, received(client, 2), received(client, 3), strict=True):
        assert (got[2], got[3]) == (ask[2], bid[3])
        assert bid[3] <= got[1] <= bid[2] and ask[3] <= got[4] <= ask[2]


def test_history_joins_live_updates_and_real_time_bars(opened, connect):
    """The last historical bar, then keepUpToDate updates, equal the tape's trades of each
    minute; the minute's 5-second real-time bars add up to its final update."""
    opened.advance(1830)  # 10:00:30: the 10:00 bar is half done
    client = connect(opened)
    client.reqRealTimeBars(7, stock("AAPL"), 5, "TRADES", False, [])
    request(client, 8, stock("AAPL"), "", "300 S", "1 min", "TRADES", 0, 1, keep=True)
    history = received(client, 8)
    assert history[-1][0] == "20261123 10:00:00 US/Eastern"  # the current, partial bar
    since = client.mark()
    for _ in range(18):  # to 10:02:00, a refresh at a time
        opened.advance(5)
    client.sync()
    updates = received(client, 8, since, "historicalDataUpdate")
    assert len(updates) == 18 and all(u[0] > "20261123 09:59" for u in updates)
    finals = {}
    for update in updates:
        finals[update[0]] = update
    minutes = as_bars(ohlc(trade_frame(opened, AAPL, 1800, 1920), "1min"), ny)
    assert list(finals.values()) == minutes  # 10:00 (history + updates) and 10:01
    assert history[-1][1] == minutes[0][1] and history[-1][7] < minutes[0][7]

    bars = client.of("realtimeBar", reqId=7)
    assert [b.time % 60 for b in bars[:2]] == [30, 35]  # from the request on
    assert len(bars) == 18
    tail = bars[6:]  # 10:01:00 .. 10:01:55
    ten_oh_one = minutes[1]
    assert ten_oh_one[1:5] == (
        tail[0].open_,
        max(b.high for b in tail),
        min(b.low for b in tail),
        tail[-1].close,
    )
    assert ten_oh_one[5] == sum(b.volume for b in tail)
    assert ten_oh_one[7] == sum(b.count for b in tail)
    head = bars[:6]  # the rest of the 10:00 bar: the history had up to 10:00:30
    assert minutes[0][5] == history[-1][5] + sum(b.volume for b in head)
    assert minutes[0][7] == history[-1][7] + sum(b.count for b in head)

    since = client.mark()
    client.cancelHistoricalData(8)
    client.cancelRealTimeBars(7)
    client.sync()
    opened.advance(60)
    client.sync()
    assert client.of("historicalDataUpdate", since) == [] and client.errors(since) == []


def test_daily_updates_follow_the_day(opened, connect):
    opened.advance(600)
    client = connect(opened)
    request(client, 1, stock("AAPL"), "", "2 D", "1 day", "MIDPOINT", 1, 1, keep=True)
    today = received(client, 1)[-1]
    since = client.mark()
    opened.advance(10)
    client.sync()
    (update,) = received(client, 1, since, "historicalDataUpdate")  # two refreshes, one bar
    seconds = quote_seconds(opened, AAPL, 0, 610)["mid"]
    assert update[0] == today[0] == "20261123"
    assert update[1:5] == (seconds.iloc[0], seconds.max(), seconds.min(), seconds.iloc[-1])


def test_cancels_that_find_nothing_are_answered_with_366(opened, connect):
    opened.advance(60)
    client = connect(opened)
    request(client, 3, stock("AAPL"), "", "60 S", "1 min", "TRADES", 0, 1)
    since = client.mark()
    client.cancelHistoricalData(3)  # finished: nothing to cancel
    client.cancelHistoricalData(99)
    client.cancelHeadTimeStamp(98)  # answered at once, never streaming: ignored
    client.sync()
    assert [(e.reqId, e.errorCode, e.errorString) for e in client.of("error", since)] == [
        (3, 366, "No historical data query found for ticker id:3"),
        (99, 366, "No historical data query found for ticker id:99"),
    ]


def test_regular_hours_and_date_formats(opened, connect):
    opened.advance(3600)  # 10:30
    client = connect(opened)
    request(client, 1, stock("AAPL"), "", "1 D", "1 hour", "TRADES", 0, 1)
    request(client, 2, stock("AAPL"), "", "1 D", "1 hour", "TRADES", 1, 3)
    request(client, 3, stock("AAPL"), "", "1 D", "1 hour", "MIDPOINT", 1, 2)
    request(client, 4, stock("AAPL"), "", "2 D", "1 day", "TRADES", 0, 2)
    all_hours = [b[0] for b in received(client, 1)]
    assert all_hours[0] == "20261123 04:00:00 US/Eastern" and len(all_hours) == 7
    assert [b[0] for b in received(client, 2)] == [
        "1123 09:30:00 US/Eastern",
        "1123 10:00:00 US/Eastern",
    ]
    open_at = int(opened.exchange.tape.epoch(0))
    assert [b[0] for b in received(client, 3)] == [str(open_at), str(open_at + 1800)]
    assert [b[0] for b in received(client, 4)] == ["20261120", "20261123"]  # days: yyyyMMdd
    # All hours: the day's bar holds the pre-market too.
    assert received(client, 4)[-1][5] > sum(b[5] for b in received(client, 2))


def test_an_explicit_end_in_every_form_ibapi_documents(opened, connect):
    opened.advance(60)
    client = connect(opened)
    for req_id, end in enumerate(
        ("20261120 16:00:00 US/Eastern", "20261120-21:00:00", "20261120 16:00:00"), start=1
    ):
        event = request(client, req_id, stock("AAPL"), end, "1 D", "1 hour", "TRADES", 1, 1)
        assert (event.start, event.end) == (
            "20261119 16:00:00 US/Eastern",
            "20261120 16:00:00 US/Eastern",
        )
    friday = received(client, 1)
    assert [b[0][9:11] for b in friday] == ["09", "10", "11", "12", "13", "14", "15"]
    assert received(client, 2) == received(client, 3) == friday
    # A time with no zone is read in TWS's zone, with TWS's warning.
    (warning,) = [e for e in client.of("error", reqId=3) if e.errorCode == 2174]
    assert "without explicit time zone" in warning.errorString
    # An end in the future is now: nothing that has not printed yet.
    request(client, 4, stock("AAPL"), "20261124 16:00:00 US/Eastern", "1 D", "1 min", "TRADES",
            1, 1)  # fmt: skip
    assert received(client, 4)[-1][0] == "20261123 09:30:00 US/Eastern"


# --------------------------------------------------------------------------- refusals

VALIDATION = "Error validating request.-'bM' : cause - "
LEGAL = (
    "1 secs, 5 secs, 10 secs, 15 secs, 30 secs, 1 min, 2 mins, 3 mins, 5 mins, 10 mins, 15 mins, "
    "20 mins, 30 mins, 1 hour, 2 hours, 3 hours, 4 hours, 8 hours, 1 day, 1W, 1M"
)
UNIT = "integer{SPACE}unit (S|D|W|M|Y)."
IN_YEARS = "must be made in years."
REFUSALS = [
    # (endDateTime, duration, bar size, whatToShow, keepUpToDate, code, text)
    ("", "1 D", "1 sec", "TRADES", False, 321,
     f"{VALIDATION}Historical data bar size setting is invalid. Legal ones are: {LEGAL}"),
    ("", "1 X", "1 min", "TRADES", False, 321,
     f"{VALIDATION}When specifying a unit, historical data request duration format is " + UNIT),
    ("", "10 S", "1 secs", "TRADES", False, 321,
     f"{VALIDATION}Historical data requested duration is invalid."),
    ("", "400 D", "1 day", "TRADES", False, 321,
     f"{VALIDATION}Historical data requests for durations longer than 365 days {IN_YEARS}"),
    ("", "1 D", "1 secs", "TRADES", False, 162, HMDS + "invalid step: 1"),
    ("", "1 M", "5 mins", "TRADES", False, 162, HMDS + "invalid step: 300"),
    ("", "1 D", "1 min", "VOLUME", False, 321, f"{VALIDATION}What to show value of VOLUME rejected."),
    ("20261120 16:00:00 US/Eastern", "1 D", "1 min", "TRADES", True, 321,
     f"{VALIDATION}End date not supported with live updates"),
    ("", "1 D", "1 min", "BID_ASK", True, 321,
     f"{VALIDATION}Source price not supported with live updates"),
    ("20261120 16:00:00 US/Eastern", "1 D", "1 min", "ADJUSTED_LAST", False, 321,
     f"{VALIDATION}End date not supported with adjusted last"),
    ("", "1 M", "1 week", "ADJUSTED_LAST", False, 321,
     f"{VALIDATION}Multi day bar size not supported with adjusted last"),
    ("", "1 D", "1 min", "ADJUSTED_LAST", True, 321,
     f"{VALIDATION}Source price not supported with live updates"),
    ("2026112 16:00:00", "1 D", "1 min", "TRADES", False, 10314, "End Date/Time: The date"),
    ("20261122 12:00:00 US/Eastern", "3600 S", "1 min", "TRADES", False, 162,
     HMDS + "HMDS query returned no data: AAPL@SMART Trades"),  # a Sunday
]  # fmt: skip


def test_refusals_are_tws_own(opened, connect):
    opened.advance(60)
    client = connect(opened)
    since = client.mark()
    for req_id, (end, duration, size, what, keep, code, text) in enumerate(REFUSALS, start=1):
        event = request(client, req_id, stock("AAPL"), end, duration, size, what, 0, 1, keep=keep)
        assert (event.name, event.errorCode) == ("error", code), (req_id, event.args)
        assert event.errorString.startswith(text), (req_id, event.errorString)
    nothing = client.of("historicalData", since) + client.of("historicalDataEnd", since)
    assert nothing == []
    unknown = request(client, 90, stock("ZZZZQ"), "", "1 D", "1 min", "TRADES", 0, 1)
    assert unknown.errorCode == 200
    ibis = stock("IBM", "SMART", "EUR")  # in the catalog, without a market data subscription
    refused = request(client, 91, ibis, "", "1 D", "1 min", "TRADES", 0, 1)
    assert (refused.errorCode, refused.errorString) == (
        162,
        HMDS + "No market data permissions for IBIS STK",
    )
    assert client.of("connectionClosed") == []


def test_adjusted_last_is_trades_here(opened, connect):
    opened.advance(600)
    client = connect(opened)
    request(client, 1, stock("AAPL"), "", "600 S", "1 min", "TRADES", 1, 1)
    request(client, 2, stock("AAPL"), "", "600 S", "1 min", "ADJUSTED_LAST", 1, 1)
    assert received(client, 2) == received(client, 1) != []


def test_weeks_and_months_merge_trading_days(sim_factory, version, connect):
    """Days of a calendar week or month in one bar, dated by its last trading day."""
    december = sim_factory(
        server_version=version, start=datetime(2026, 12, 1, 9, 30, tzinfo=NEW_YORK)
    )
    december.advance(1800)  # Tuesday 1 December, 10:00
    client = connect(december)
    for req_id, size in enumerate(("1 day", "1 week", "1 month"), start=1):
        request(client, req_id, stock("AAPL"), "", "2 W", size, "TRADES", 1, 1)
    days, weeks, months = received(client, 1), received(client, 2), received(client, 3)
    # From 17 November 10:00: days that open after it; Thanksgiving (the 26th) is closed.
    assert [d[0][6:] for d in days] == ["18", "19", "20", "23", "24", "25", "27", "30", "01"]

    def merged(group: list[tuple]) -> tuple:
        volume, count = sum(d[5] for d in group), sum(d[7] for d in group)
        return (group[-1][0], group[0][1], max(d[2] for d in group),
                min(d[3] for d in group), group[-1][4], volume, count)  # fmt: skip

    def without_wap(bars: list[tuple]) -> list[tuple]:
        return [(*bar[:6], bar[7]) for bar in bars]

    assert without_wap(weeks) == [merged(days[:3]), merged(days[3:7]), merged(days[7:])]
    assert without_wap(months) == [merged(days[:8]), merged(days[8:])]
    for bar, group in zip(weeks, (days[:3], days[3:7], days[7:]), strict=True):
        notional = sum(d[6] * d[5] for d in group)  # each day's WAP is rounded: close to it
        assert abs(bar[6] - notional / bar[5]) < Decimal("0.001")
    assert [w[0] for w in weeks] == ["20261120", "20261127", "20261201"]


# --------------------------------------------------------------------------- head timestamp


def test_head_timestamp(opened, connect):
    client = connect(opened)
    since = client.mark()
    client.reqHeadTimeStamp(1, stock("AAPL"), "TRADES", 1, 1)
    client.reqHeadTimeStamp(2, stock("AAPL"), "BID", 0, 2)
    client.reqHeadTimeStamp(3, eurusd(), "MIDPOINT", 1, 1)
    client.reqHeadTimeStamp(4, eurusd(), "TRADES", 1, 1)
    client.reqHeadTimeStamp(5, stock("AAPL"), "VOLUME", 1, 1)
    client.cancelHeadTimeStamp(1)
    client.sync()
    stamps = {e.reqId: e.headTimestamp for e in client.of("headTimestamp", since)}
    # A year of history: from the first regular session a year before the start, in UTC.
    assert stamps == {1: "20251124-14:30:00", 2: "1763994600", 3: "20251123-22:15:00"}
    assert client.errors(since) == [(4, 162), (5, 321)]
    (fx,) = client.of("error", since, reqId=4)
    assert fx.errorString == HMDS + "No historical market data for EUR/CASH@FXSUBPIP Last -1"


@pytest.mark.slow  # seconds of building a year of the price walk, not of history's logic
def test_nothing_older_than_the_head_timestamp(sim_factory, connect):
    """A request reaching past the beginning of history stops there (one version: reading a
    year back is what costs here, not the wire)."""
    client = connect(sim_factory(start=START))
    a_year_back = 6 * TIMEOUT  # the walk of prices back a year is built first: seconds of work
    request(client, 1, stock("AAPL"), "20251126 16:00:00 US/Eastern", "1 W", "1 day", "TRADES",
            1, 1, wait=a_year_back)  # fmt: skip
    assert [b[0] for b in received(client, 1)] == ["20251124", "20251125", "20251126"]
    refused = request(client, 2, stock("AAPL"), "20251121 16:00:00 US/Eastern", "1 D", "1 day",
                      "TRADES", 1, 1)  # fmt: skip
    assert refused.errorString == HMDS + "HMDS query returned no data: AAPL@SMART Trades"


# --------------------------------------------------------------------------- other instruments


def test_currency_pairs_have_quotes_and_no_trades(opened, connect):
    opened.advance(600)
    client = connect(opened)
    refused = request(client, 1, eurusd(), "", "3600 S", "1 hour", "TRADES", 0, 1)
    assert (refused.errorCode, refused.errorString) == (
        162,
        HMDS + "No historical market data for EUR/CASH@FXSUBPIP Last 3600",
    )
    request(client, 2, eurusd(), "", "600 S", "1 min", "MIDPOINT", 0, 1)
    seconds = quote_seconds(opened, EURUSD, -600 + 600, 600)["mid"]
    expected = seconds.resample("1min", origin="epoch").agg(["first", "max", "min", "last"])
    assert [b[:5] for b in received(client, 2)] == [
        (ny(stamp), *row) for stamp, row in expected.iterrows()
    ]
    # The FX day closes at 17:00 New York: Monday's bar began on Sunday evening.
    request(client, 3, eurusd(), "", "2 D", "1 day", "BID", 0, 1)
    assert [b[0] for b in received(client, 3)] == ["20261120", "20261123"]


def test_futures_bars_follow_the_overnight_session(opened, connect):
    opened.advance(600)  # 08:40 Chicago
    client = connect(opened)
    request(client, 1, es(), "", "1 D", "1 hour", "TRADES", 0, 1)
    bars = received(client, 1)
    assert bars[0][0] == "20261122 17:00:00 US/Central"  # the session opened Sunday 17:00
    tape = opened.exchange.tape
    (span,) = [s for s in tape.sessions(ESZ6, 0, 600) if s.start <= 0 < s.end]
    frame = trade_frame(opened, ESZ6, span.start, 600)
    central = lambda stamp: f"{stamp.tz_convert('US/Central'):%Y%m%d %H:%M:%S} US/Central"  # noqa: E731
    assert bars == as_bars(ohlc(frame, "1h"), central)
    request(client, 2, es(), "", "2 D", "1 day", "TRADES", 0, 1)
    assert [b[0] for b in received(client, 2)] == ["20261120", "20261123"]
    assert received(client, 2)[-1][5] == sum(b[5] for b in bars)


# --------------------------------------------------------------------------- every version


def test_every_served_version_speaks_history(sim_factory, server_version, connect):
    """Bars, their end, updates, a head timestamp, ticks and a refusal, end to end at each
    version of the matrix (the slow mark runs all of them)."""
    sim = sim_factory(server_version=server_version, start=START)
    sim.advance(120)
    client = connect(sim)
    end = request(client, 1, stock("AAPL"), "", "120 S", "1 min", "MIDPOINT", 0, 1, keep=True)
    assert end.name == "historicalDataEnd" and len(received(client, 1)) == 2
    since = client.mark()
    sim.advance(5)
    client.sync()
    (update,) = received(client, 1, since, "historicalDataUpdate")
    assert update[0] == "20261123 09:32:00 US/Eastern"
    client.reqHeadTimeStamp(2, stock("AAPL"), "TRADES", 1, 2)
    assert client.wait("headTimestamp", reqId=2).headTimestamp == "1763994600"
    client.reqHistoricalTicks(3, stock("AAPL"), "", "20261123 09:31:00 US/Eastern", 3,
                              "MIDPOINT", 0, False, [])  # fmt: skip
    assert len(client.wait("historicalTicks", reqId=3).ticks) >= 3
    client.reqHistoricalTicks(4, stock("AAPL"), START.strftime("%Y%m%d-14:30:00"), "", 3,
                              "TRADES", 0, False, [])  # fmt: skip
    assert len(client.wait("historicalTicksLast", reqId=4).ticks) >= 3
    refused = request(client, 5, stock("AAPL"), "", "1 D", "1 hour", "VOLUME", 0, 1)
    assert refused.errorCode == 321
    client.cancelHistoricalData(1)
    client.sync()
    assert client.of("connectionClosed") == []


# --------------------------------------------------------------------------- the tape's sums


@pytest.mark.parametrize(
    ("con_id", "first", "span", "step"),
    [
        (AAPL, -6 * 3600 - 7, 3 * 3600, 60),  # 03:30 New York to 06:30: the 04:00 opening
        (AAPL, 1800 + 3, 600, 7),  # inside the regular session, on no whole second of a bar
        (ESZ6, 5 * 3600 - 7, 4 * 3600, 1800),  # 15:00 to 19:00 New York: close and reopening
    ],
    ids=["AAPL-open", "AAPL-inside", "ES-close"],
)
def test_trade_sums_are_the_trades_summed(sim_factory, con_id, first, span, step):
    """``Tape.trade_sums`` (what long bars are built from, without building each trade) agrees
    with ``Tape.trades`` interval by interval, across session edges too (ES closes 16:00 to
    17:00 Chicago: a half-hour interval there has prints of one session or none)."""
    tape = sim_factory(start=START).exchange.tape
    bounds = [first, *range(first + 13, first + span, step), first + span]
    trades = tape.trades(con_id, bounds[0], bounds[-1])
    times = [t.time for t in trades]
    sums = tape.trade_sums(con_id, bounds)
    assert sum(s is not None for s in sums) >= 6
    assert any(s is None for s in sums) == (span > 600)  # closed hours have no prints
    for a, b, got in zip(bounds, bounds[1:], sums, strict=False):
        inside = trades[bisect.bisect_left(times, a) : bisect.bisect_left(times, b)]
        if not inside:
            assert got is None, (a, b)
            continue
        prices = [t.price for t in inside]
        assert (got.open, got.high, got.low, got.close) == (
            prices[0], max(prices), min(prices), prices[-1]
        )  # fmt: skip
        assert got.volume == sum(t.size for t in inside) and got.count == len(inside)
        assert got.notional == sum(Decimal(repr(t.price)) * t.size for t in inside)
