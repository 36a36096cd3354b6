"""Historical data: reqHistoricalData (and keepUpToDate), reqHeadTimeStamp, reqHistoricalTicks.

A mixin of ``Exchange``, like ``marketdata``: everything it sends is read from the tape, the same
trades and quotes that filled orders and that live market data showed, so a client that joins
history to live data sees one market. The parts: ``hist_params`` reads and checks a request as
TWS does, ``hist_bars`` makes the bars, ``hist_stream`` keeps keepUpToDate requests going,
``hist_ticks`` reads ticks and ``hist_pacing`` applies TWS's pacing rules on the simulated clock.

The tape can answer for any time, so history needs a beginning: ``HISTORY_DAYS`` before the
simulation's first moment, the first regular session from then on is the head timestamp (TWS
asks its head timestamp query for regular hours whatever useRTH says: userFRM/ibx), and bars and
ticks begin with that trading day (its pre-market too). A year: what a daily strategy needs, and
what reading the seeded price walk back costs once (seconds). Nothing comes from after the
present either: an end date in the future is cut to now.

What TWS answers, in the order it checks (sources in ``hist_params`` and the parts): the
request's own checks (321, 10314 for an unreadable date, 2174 as a warning for a date written
without a zone); an unknown contract (200); an instrument without a market data subscription
(162 "No market data permissions for IBIS STK"); pacing (162); a bar too small for the duration
(162 "invalid step"); TRADES of a currency pair (162 "No historical market data for
EUR/CASH@FXSUBPIP Last 60": TWS sends no trades for IDEALPRO, ranaroussi/ezibpy issue 24,
erdewit/ib_insync issue 316); no bar at all in the span (162 "HMDS query returned no data:
AAPL@SMART Trades", QuantConnect/Lean issue 607, userFRM/ibx). A cancel of a request that is not
streaming, finished ones included, gets 366 "No historical data query found for ticker id:4"
(what a Gateway answered a cancel after historicalDataEnd, in the output of IB's own
historical_market_data.py sample that a public README quotes; users list 366 with that text).
Chosen where no source was found: a cancelled head timestamp request is already answered, so
its cancel is ignored; a reqId already streaming is refused with 322 like the other streams.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, tzinfo

from ibapi.common import BarData

from . import messages as m
from . import rules
from .hist_bars import Bar, BarMaker, bar_date, calendar_back, zoned_text
from .hist_pacing import PACED_BAR_SECONDS
from .hist_params import (
    HMDS_ERROR,
    NO_QUERY,
    NO_QUERY_TEXT,
    PACING_TEXT,
    BarQuery,
    BarSize,
    RequestTime,
    bar_refusal,
    check_bar_request,
    check_step,
    check_ticks_request,
    hmds_refusal,
    implied_zone_warnings,
    parse_time,
)
from .hist_stream import HistStream
from .hist_ticks import TickReader
from .instruments import Instrument
from .marketdata import _venue
from .rules import Refusal, refuse
from .state import ExchangeState

HISTORY_DAYS = 365
HEAD_SOURCES = ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST")
FX_DATA_EXCHANGE = {"IDEALPRO": "FXSUBPIP"}  # the data service's name for IDEALPRO


class History(ExchangeState):
    """Mixin of ``Exchange``: uses its tape, clock, ``_resolve`` and ``_emit``."""

    # ------------------------------------------------------------------ reqHistoricalData

    def _on_ReqHistoricalData(self, client_id: int, req: m.ReqHistoricalData) -> None:
        if (client_id, req.req_id) in self._history.streams:
            self._error(client_id, req.req_id, refuse(rules.DUPLICATE_TICKER))
            return
        self._warn_implied_zone(client_id, req.req_id, req.end_date_time)
        try:
            query = check_bar_request(req, self._local_zone, self._today)
            inst = self._resolve(req.contract)
            self._check_permission(inst)
            seconds = query.size.seconds
            if seconds is not None and seconds <= PACED_BAR_SECONDS:
                self._pace(req, query, inst)
            check_step(query)
            self._check_source(inst, query.source, query.size.step)
            batch, stream = self._bars_answer(req, query, inst)
        except Refusal as refusal:
            self._error(client_id, req.req_id, refusal)
            return
        if stream is not None:
            self._history.streams[(client_id, req.req_id)] = stream
        self._emit(client_id, batch)

    def _bars_answer(
        self, req: m.ReqHistoricalData, query: BarQuery, inst: Instrument
    ) -> tuple[list[m.Message], HistStream | None]:
        """The bars and end markers, and the stream that goes on if keepUpToDate."""
        now = self._step
        end = now if query.end is None else min(now, self._seconds(query.end))
        maker = BarMaker(self.tape, inst.con_id, query.source, req.use_rth, self._history.days)
        start = max(maker.window_start(end, query.duration), self._first_day(inst.con_id))
        bars = maker.bars(query.size, start, end) if start < end else []
        if not bars:
            raise hmds_refusal(f"HMDS query returned no data: {_chart(req, inst, query.what)}")
        data = [self._bar_data(maker, bar, query.size, query.format_date) for bar in bars]
        end_at = maker.moment(end)
        begin = end_at - timedelta(days=query.duration.count)
        if query.duration.unit == "S":
            begin = end_at - timedelta(seconds=query.duration.count)
        elif query.duration.unit != "D":
            begin = calendar_back(end_at, query.duration)
        first, last = zoned_text(begin, maker.zone_name), zoned_text(end_at, maker.zone_name)
        batch: list[m.Message] = [
            m.HistoricalData(req.req_id, data, first, last),
            m.HistoricalDataEnd(req.req_id, first, last),
        ]
        if not req.keep_up_to_date:
            return batch, None
        stream = HistStream(req.req_id, maker, query.size, query.format_date, end, bars[-1])
        return batch, stream

    def _on_CancelHistoricalData(self, client_id: int, req: m.CancelHistoricalData) -> None:
        if self._history.streams.pop((client_id, req.req_id), None) is None:
            text = NO_QUERY_TEXT.format(req_id=req.req_id)
            self._error(client_id, req.req_id, Refusal(NO_QUERY, text))

    def _sample_history(self) -> None:
        """keepUpToDate: each stream's bars that changed up to the clock's last refresh."""
        batches: dict[int, list[m.Message]] = {}
        for (client_id, req_id), stream in self._history.streams.items():
            for bar in stream.advance(self._step):
                data = self._bar_data(stream.maker, bar, stream.size, stream.format_date)
                batches.setdefault(client_id, []).append(m.HistoricalDataUpdate(req_id, data))
        for client_id, batch in batches.items():
            self._emit(client_id, batch)

    def _forget_history(self, client_id: int) -> None:
        """A client that hangs up loses its keepUpToDate requests."""
        for key in [k for k in self._history.streams if k[0] == client_id]:
            del self._history.streams[key]

    # ------------------------------------------------------------------ reqHeadTimeStamp

    def _on_ReqHeadTimeStamp(self, client_id: int, req: m.ReqHeadTimeStamp) -> None:
        what = req.what_to_show.strip().upper()
        try:
            if what not in HEAD_SOURCES:
                raise bar_refusal(f"What to show value of {req.what_to_show} rejected.")
            if req.format_date not in (1, 2, 3):
                raise bar_refusal(f"Date formatting selection of {req.format_date} rejected.")
            inst = self._resolve(req.contract)
            self._check_permission(inst)
            self._check_source(inst, "TRADES" if what == "ADJUSTED_LAST" else what, "-1")
        except Refusal as refusal:
            self._error(client_id, req.req_id, refusal)
            return
        # The query always asks for regular hours, whatever useRTH says (userFRM/ibx).
        # As TWS writes it: 1 yyyyMMdd-HH:mm:ss and 3 MMdd HH:mm:ss, both UTC; 2 Unix seconds.
        head = datetime.fromtimestamp(self.tape.epoch(self._head(inst.con_id)), UTC)
        text = f"{head:%Y%m%d-%H:%M:%S}"
        if req.format_date == 2:
            text = str(int(head.timestamp()))
        elif req.format_date == 3:
            text = f"{head:%m%d %H:%M:%S}"
        self._emit(client_id, [m.HeadTimestamp(req.req_id, text)])

    def _on_CancelHeadTimeStamp(self, client_id: int, req: m.CancelHeadTimeStamp) -> None:
        """Already answered when it arrives: nothing to stop."""

    # ------------------------------------------------------------------ reqHistoricalTicks

    def _on_ReqHistoricalTicks(self, client_id: int, req: m.ReqHistoricalTicks) -> None:
        self._warn_implied_zone(client_id, req.req_id, req.start_date_time, req.end_date_time)
        try:
            query = check_ticks_request(req, self._local_zone, self._today)
            inst = self._resolve(req.contract)
            self._check_permission(inst)
        except Refusal as refusal:
            self._error(client_id, req.req_id, refusal)
            return
        reader = TickReader(self.tape, inst.con_id, query.what, req.use_rth, req.ignore_size)
        now, head = self._step, self._first_day(inst.con_id)
        if query.start is not None or query.end is None:
            start = head if query.start is None else max(head, self._seconds(query.start))
            ticks = reader.forward(start, now, query.count)
        else:
            ticks = reader.backward(min(now, self._seconds(query.end)), head, query.count)
        self._emit(client_id, [reader.message(req.req_id, ticks)])

    # ------------------------------------------------------------------ shared

    @property
    def _local_zone(self) -> tzinfo:
        """The zone of TWS's login, in which a date-time without a zone is read."""
        zone = self.clock.start.tzinfo
        assert zone is not None
        return zone

    @property
    def _today(self) -> date:
        return self._moment(self._step).astimezone(self._local_zone).date()

    def _seconds(self, at: RequestTime) -> int:
        return math.floor(self.clock.seconds_at(at.moment))

    def _warn_implied_zone(self, client_id: int, req_id: int, *texts: str) -> None:
        times: list[RequestTime | None] = []
        for text in texts:
            try:
                times.append(parse_time(text, self._local_zone, self._today))
            except ValueError:
                times.append(None)  # refused later, with 10314
        warnings = [
            m.ErrorMsg(req_id, code, text, "", self._millis())
            for code, text in implied_zone_warnings(*times)
        ]
        self._emit(client_id, list(warnings))

    def _head(self, con_id: int) -> int:
        """The first regular session at least ``HISTORY_DAYS`` before the simulation's start."""
        since = -HISTORY_DAYS * 86400
        spans = self.tape.sessions(con_id, since, since + 15 * 86400, regular=True)
        starts = [span.start for span in spans if span.start >= since]
        return starts[0] if starts else since

    def _first_day(self, con_id: int) -> int:
        """Where data begins: the opening of the trading day of the head timestamp (its
        pre-market too)."""
        head = self._head(con_id)
        span = self.tape.session_at(con_id, head)
        return head if span is None else span.start

    def _check_permission(self, inst: Instrument) -> None:
        if not inst.subscribed:
            raise hmds_refusal(f"No market data permissions for {_venue(inst)}")

    def _check_source(self, inst: Instrument, source: str, step: str) -> None:
        """TWS has no trades of a currency pair on IDEALPRO."""
        if source == "TRADES" and not self.tape.has_trades(inst.con_id):
            c = inst.contract
            where = FX_DATA_EXCHANGE.get(c.exchange, c.exchange)
            raise hmds_refusal(f"No historical market data for {c.symbol}/{c.secType}@{where} "
                               f"Last {step}")  # fmt: skip

    def _pace(self, req: m.ReqHistoricalData, query: BarQuery, inst: Instrument) -> None:
        exchange = req.contract.exchange or inst.contract.exchange
        identical = (inst.con_id, exchange, req.end_date_time.strip(), query.duration,
                     query.size, query.what, req.use_rth, req.format_date, req.keep_up_to_date)  # fmt: skip
        group = (inst.con_id, exchange, query.what)
        weight = 2 if query.what == "BID_ASK" else 1
        if not self._history.pacing.admit(self.clock.elapsed(), identical, group, weight):
            raise Refusal(HMDS_ERROR, PACING_TEXT)

    def _bar_data(self, maker: BarMaker, bar: Bar, size: BarSize, format_date: int) -> BarData:
        data = BarData()
        data.date = bar_date(maker, bar, size, format_date)
        data.open, data.high, data.low, data.close = maker.prices(bar)
        data.volume, data.wap, data.barCount = bar.volume, bar.wap, bar.count
        return data


def _chart(req: m.ReqHistoricalData, inst: Instrument, what: str) -> str:
    """How the data service names the series in its errors: ``AAPL@SMART Trades``."""
    symbol = inst.contract.localSymbol or inst.contract.symbol
    exchange = req.contract.exchange or "SMART"
    return f"{symbol}@{exchange} {what.capitalize()}"
