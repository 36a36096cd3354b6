"""Live market data: reqMktData (and its types), reqTickByTickData, reqRealTimeBars.

A mixin of ``Exchange``: everything it sends is read from the tape (``tape.Tape``), the same
trades and quotes that fill orders. Three kinds of subscription, three cadences:

* a market data line (reqMktData) is a sampled view, like TWS's (which samples every 250 ms):
  after every clock step the exchange compares each line's view with what its client was last
  told and sends the changes, so a manual clock advanced one second at a time shows every
  second, and an accelerated one bounded traffic;
* tick-by-tick streams send every trade, or every quote change, of every simulated second;
* real-time bars send every 5-second bar once it is complete.

Market data types (reqMarketDataType) follow TWS: 1 live; 2 live, or frozen (the last values,
marked type 2) while the market is closed; 3 delayed (15 minutes behind, delayed tick ids) for
an instrument without a subscription, live otherwise; 4 as 3, and delayed-frozen while the
delayed market is closed. A live request for an unsubscribed instrument is refused with 354.
Live data outside trading hours shows bid and ask as -1, as TWS does.

Evidence for the message order and content: public transcripts of a paper IB Gateway at server
version 225 (ThomasMarcelis/ibkr-go, testdata/transcripts/delayed_quote_reconnect.txt,
api_duplicate_quote_subscriptions_aapl.txt, api_forex_lifecycle_eurusd.txt): tickReqParams,
marketDataType and 10167 before the first ticks; high, low, volume, close, last, last timestamp,
open, bid, ask for a stock; last timestamp, halted, high, low, close, bid, ask for EUR.USD (no
last, no volume); a stock's volume in round lots, its other sizes in shares.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from ibapi.contract import Contract
from ibapi.ticktype import TickTypeEnum as T

from . import messages as m
from . import rules
from .instruments import Instrument
from .records import BarStream, QuoteLine, TickStream
from .rules import Refusal, refuse
from .state import ExchangeState
from .tape import WHAT_TO_SHOW, MarketView

LIVE, FROZEN, DELAYED, DELAYED_FROZEN = 1, 2, 3, 4
DELAY_SECONDS = 15 * 60
REAL_TIME_BAR_SECONDS = 5
TICK_BY_TICK_KINDS = {"Last": 1, "AllLast": 2, "BidAsk": 3, "MidPoint": 4}
ODD_LOT_CONDITION = "I"  # the consolidated tape's odd-lot trade condition

# The delayed feed's id for each live tick id.
DELAYED_IDS = {
    T.BID: T.DELAYED_BID,
    T.ASK: T.DELAYED_ASK,
    T.LAST: T.DELAYED_LAST,
    T.BID_SIZE: T.DELAYED_BID_SIZE,
    T.ASK_SIZE: T.DELAYED_ASK_SIZE,
    T.LAST_SIZE: T.DELAYED_LAST_SIZE,
    T.HIGH: T.DELAYED_HIGH,
    T.LOW: T.DELAYED_LOW,
    T.VOLUME: T.DELAYED_VOLUME,
    T.CLOSE: T.DELAYED_CLOSE,
    T.OPEN: T.DELAYED_OPEN,
    T.LAST_TIMESTAMP: T.DELAYED_LAST_TIMESTAMP,
}
# The order ticks go out in: a first snapshot (as captured), then updates.
FIRST_ORDER = (
    T.HIGH,
    T.LOW,
    T.VOLUME,
    T.CLOSE,
    T.LAST,
    T.LAST_TIMESTAMP,
    T.HALTED,
    T.OPEN,
    T.BID,
    T.ASK,
)
FIRST_ORDER_QUOTED = (T.LAST_TIMESTAMP, T.HALTED, T.HIGH, T.LOW, T.CLOSE, T.BID, T.ASK)
UPDATE_ORDER = (
    T.BID,
    T.ASK,
    T.LAST,
    T.VOLUME,
    T.LAST_TIMESTAMP,
    T.HIGH,
    T.LOW,
    T.OPEN,
    T.CLOSE,
    T.HALTED,
)
US_STOCK_BBO = "9c0001"  # the exchange-map code TWS gives US stocks (see reqSmartComponents)
STOCK_PRECISION = "0.000001"  # last price / size precision TWS adds for stocks (protobuf)


class MarketData(ExchangeState):
    """Mixin of ``Exchange``: uses its tape, clock step, subscriptions and ``_emit``."""

    # ------------------------------------------------------------------ requests

    def _on_ReqMarketDataType(self, client_id: int, req: m.ReqMarketDataType) -> None:
        """Applies to the client's later requests; TWS accepts any value silently."""
        if req.market_data_type in (LIVE, FROZEN, DELAYED, DELAYED_FROZEN):
            self._data_types[client_id] = req.market_data_type

    def _on_ReqMktData(self, client_id: int, req: m.ReqMktData) -> None:
        if (client_id, req.req_id) in self._lines:
            self._error(client_id, req.req_id, refuse(rules.DUPLICATE_TICKER))
            return
        try:
            inst = self._resolve(req.contract)
        except Refusal as refusal:
            self._error(client_id, req.req_id, refusal)
            return
        wanted = self._data_types.get(client_id, LIVE)
        delayed = not inst.subscribed
        if delayed and wanted in (LIVE, FROZEN):
            feed = f"{_feed_exchange(req.contract, inst)}/{inst.contract.secType}"
            self._error(client_id, req.req_id, refuse(rules.NOT_SUBSCRIBED, feed=feed))
            return
        line = QuoteLine(
            req_id=req.req_id,
            con_id=inst.con_id,
            delayed=delayed,
            frozen_ok=wanted in (FROZEN, DELAYED_FROZEN),
            quiet=req.generic_ticks.strip().lower().startswith("mdoff"),
        )
        params = self._tick_req_params(req.req_id, inst, delayed)
        ticks = self._line_update(line, first=True)
        announce, rest = ticks[:1], ticks[1:]  # a first update starts with marketDataType
        assert isinstance(announce[0], m.MarketDataType)
        if delayed:
            note = rules.text(rules.DISPLAYING_DELAYED)
            notice = m.ErrorMsg(req.req_id, rules.DISPLAYING_DELAYED, note, "", self._millis())
            batch = [params, *announce, notice, *rest]
        else:
            batch = [*announce, params, *rest]
        if req.snapshot or req.regulatory_snapshot:
            batch.append(m.TickSnapshotEnd(req.req_id))
        else:
            self._lines[(client_id, req.req_id)] = line
        self._emit(client_id, batch)

    def _on_CancelMktData(self, client_id: int, req: m.CancelMktData) -> None:
        if self._lines.pop((client_id, req.req_id), None) is None:
            self._error(client_id, req.req_id, refuse(rules.TICKER_NOT_FOUND, req_id=req.req_id))

    def _on_ReqTickByTickData(self, client_id: int, req: m.ReqTickByTickData) -> None:
        key = (client_id, req.req_id)
        if key in self._tick_streams:
            self._error(client_id, req.req_id, refuse(rules.DUPLICATE_TICKER))
            return
        try:
            inst = self._resolve(req.contract)
            if req.tick_type not in TICK_BY_TICK_KINDS:
                cause = f"Invalid tick-by-tick data type {req.tick_type!r}"
                raise refuse(rules.VALIDATION, tag="bZ", cause=cause)
            if not inst.subscribed:
                raise refuse(rules.TICK_BY_TICK_REFUSED, venue=_venue(inst))
        except Refusal as refusal:
            self._error(client_id, req.req_id, refusal)
            return
        stream = TickStream(req.req_id, inst.con_id, req.tick_type, req.ignore_size)
        self._tick_streams[key] = stream
        self._emit(client_id, self._tick_snapshot(stream))

    def _on_CancelTickByTickData(self, client_id: int, req: m.CancelTickByTickData) -> None:
        self._tick_streams.pop((client_id, req.req_id), None)

    def _on_ReqRealTimeBars(self, client_id: int, req: m.ReqRealTimeBars) -> None:
        key = (client_id, req.req_id)
        if key in self._bar_streams:
            self._error(client_id, req.req_id, refuse(rules.DUPLICATE_TICKER))
            return
        try:
            inst = self._resolve(req.contract)
            what = req.what_to_show.strip().upper()
            if what not in WHAT_TO_SHOW or (
                what == "TRADES" and not self.tape.has_trades(inst.con_id)
            ):
                cause = "What to show field is missing or incorrect."
                raise refuse(rules.VALIDATION, tag="bQ", cause=cause)
            if req.bar_size != REAL_TIME_BAR_SECONDS:
                cause = f"Invalid bar size {req.bar_size}: real-time bars are 5 seconds"
                raise refuse(rules.VALIDATION, tag="bQ", cause=cause)
            if not inst.subscribed:
                raise refuse(rules.REAL_TIME_QUERY, venue=_venue(inst))
        except Refusal as refusal:
            self._error(client_id, req.req_id, refusal)
            return
        now = self._step
        start = now - int(self.tape.epoch(now)) % REAL_TIME_BAR_SECONDS
        self._bar_streams[key] = BarStream(req.req_id, inst.con_id, what, req.use_rth, start)

    def _on_CancelRealTimeBars(self, client_id: int, req: m.CancelRealTimeBars) -> None:
        self._bar_streams.pop((client_id, req.req_id), None)

    def _forget_market_data(self, client_id: int) -> None:
        """A client that hangs up loses its subscriptions (TWS starts the next session clean)."""
        for table in (self._lines, self._tick_streams, self._bar_streams):
            for key in [k for k in table if k[0] == client_id]:
                del table[key]
        self._data_types.pop(client_id, None)

    # ------------------------------------------------------------------ the clock

    def _has_streams(self) -> bool:
        """Whether every simulated second must be processed (not only the last one)."""
        return bool(self._tick_streams or self._bar_streams)

    def _stream_step(self, step: int) -> None:
        """What second ``step`` printed, to the tick-by-tick streams; completed bars."""
        batches: dict[int, list[m.Message]] = {}
        for (client_id, _), stream in self._tick_streams.items():
            batches.setdefault(client_id, []).extend(self._tick_step(stream, step))
        for (client_id, _), bars in self._bar_streams.items():
            batches.setdefault(client_id, []).extend(self._bar_step(bars, step))
        for client_id, batch in batches.items():
            self._emit(client_id, batch)

    def _sample_lines(self) -> None:
        """Each market data line's changes since its client last heard, at the current step."""
        batches: dict[int, list[m.Message]] = {}
        views: dict[tuple[int, int], MarketView] = {}  # lines on one instrument share a view
        for (client_id, _), line in self._lines.items():
            update = self._line_update(line, first=False, views=views)
            batches.setdefault(client_id, []).extend(update)
        for client_id, batch in batches.items():
            self._emit(client_id, batch)

    # ------------------------------------------------------------------ market data lines

    def _tick_req_params(self, req_id: int, inst: Instrument, delayed: bool) -> m.TickReqParams:
        stock = inst.contract.secType == "STK"
        us_stock = stock and inst.contract.currency == "USD"
        permissions = 4 if delayed else (0 if inst.contract.secType == "CASH" else 3)
        return m.TickReqParams(
            req_id,
            inst.min_tick,
            US_STOCK_BBO if us_stock else "",
            permissions,
            STOCK_PRECISION if stock else "",
        )

    def _line_update(
        self, line: QuoteLine, first: bool, views: dict[tuple[int, int], MarketView] | None = None
    ) -> list[m.Message]:
        """The messages that bring ``line``'s client up to date (all of it if ``first``)."""
        at = self._step - DELAY_SECONDS if line.delayed else self._step
        views = {} if views is None else views
        view = views.get((line.con_id, at))
        if view is None:
            view = views[(line.con_id, at)] = self.tape.view(line.con_id, at)
        if view.trading:
            data_type = DELAYED if line.delayed else LIVE
        elif line.frozen_ok:
            data_type = DELAYED_FROZEN if line.delayed else FROZEN
        else:
            data_type = DELAYED if line.delayed else LIVE
        batch: list[m.Message] = []
        if data_type != line.data_type:
            batch.append(m.MarketDataType(line.req_id, data_type))
            line.data_type = data_type
        if line.quiet:
            return batch
        values = self._line_values(line, view, data_type in (FROZEN, DELAYED_FROZEN))
        quoted_only = not self.tape.has_trades(line.con_id)
        order = (FIRST_ORDER_QUOTED if quoted_only else FIRST_ORDER) if first else UPDATE_ORDER
        lot = _round_lot(self.tape.instrument(line.con_id))
        for tick in order:
            if tick not in values:
                continue
            new, old = values[tick], line.shown.get(tick)
            if new != old:
                batch += _tick_messages(line, tick, new, old, lot)
                line.shown[tick] = new
        return batch

    def _line_values(self, line: QuoteLine, view: MarketView, frozen: bool) -> dict[int, object]:
        """What the line shows in ``view``, by live tick id (``_tick_messages`` maps a delayed
        line's ticks to the delayed ids)."""
        con_id = line.con_id
        inst = self.tape.instrument(con_id)
        values: dict[int, object] = {}
        quote = view.quote
        if view.trading or frozen:
            if quote is not None:
                values[T.BID] = (quote.bid, quote.bid_size)
                values[T.ASK] = (quote.ask, quote.ask_size)
        else:  # live data of a closed market: no bid, no ask
            values[T.BID] = values[T.ASK] = (-1.0, Decimal(0))
        day = view.day
        if self.tape.has_trades(con_id):
            last = view.last
            if last is not None:
                values[T.LAST] = (last.price, last.size, last.time)
                values[T.LAST_TIMESTAMP] = str(int(self.tape.epoch(last.time)))
            volume = day.volume
            if _round_lot(inst) > 1:
                volume = Decimal(int(volume // _round_lot(inst)))  # TWS counts lots here
            values[T.VOLUME] = volume
            if day.open is not None:
                values[T.OPEN] = day.open
        elif quote is not None:
            values[T.LAST_TIMESTAMP] = str(int(self.tape.epoch(quote.time)))
        if day.high is not None:
            values[T.HIGH] = day.high
        if day.low is not None:
            values[T.LOW] = day.low
        if day.prev_close is not None:
            values[T.CLOSE] = day.prev_close
        if not line.delayed:
            values[T.HALTED] = 0.0
        return values

    # ------------------------------------------------------------------ tick by tick

    def _tick_snapshot(self, stream: TickStream) -> list[m.Message]:
        """On subscribing: the latest trade, or the quote in force, while the market is open."""
        now = self._step
        if not self.tape.is_trading(stream.con_id, now):
            return []
        if stream.kind in ("Last", "AllLast"):
            trade = self.tape.last_trade(stream.con_id, now, odd_lots=stream.kind == "AllLast")
            return [] if trade is None else [self._trade_tick(stream, trade)]
        quote = self.tape.quote_at(stream.con_id, now)
        return [] if quote is None else self._quote_ticks(stream, quote)

    def _tick_step(self, stream: TickStream, step: int) -> list[m.Message]:
        if stream.kind in ("Last", "AllLast"):
            return [
                self._trade_tick(stream, trade)
                for trade in self.tape.step_trades(stream.con_id, step)
                if stream.kind == "AllLast" or not trade.odd_lot
            ]
        out: list[m.Message] = []
        for quote in self.tape.quotes(stream.con_id, step, step + 1):
            out += self._quote_ticks(stream, quote)
        return out

    def _trade_tick(self, stream: TickStream, trade) -> m.TickByTickLast:
        return m.TickByTickLast(
            stream.req_id,
            TICK_BY_TICK_KINDS[stream.kind],
            int(self.tape.epoch(trade.time)),
            trade.price,
            trade.size,
            trade.exchange,
            ODD_LOT_CONDITION if trade.odd_lot else "",
        )

    def _quote_ticks(self, stream: TickStream, quote) -> list[m.Message]:
        time = int(self.tape.epoch(quote.time))
        if stream.kind == "MidPoint":
            if stream.last_sent == (quote.mid,):
                return []
            stream.last_sent = (quote.mid,)
            return [m.TickByTickMidPoint(stream.req_id, time, quote.mid)]
        key: tuple = (quote.bid, quote.ask)
        if not stream.ignore_size:
            key += (quote.bid_size, quote.ask_size)
        if stream.last_sent == key:
            return []
        stream.last_sent = key
        return [
            m.TickByTickBidAsk(
                stream.req_id, time, quote.bid, quote.ask, quote.bid_size, quote.ask_size
            )
        ]

    # ------------------------------------------------------------------ real-time bars

    def _bar_step(self, stream: BarStream, step: int) -> list[m.Message]:
        out: list[m.Message] = []
        while stream.next_start + REAL_TIME_BAR_SECONDS <= step:
            start = stream.next_start
            end = start + REAL_TIME_BAR_SECONDS
            bars = self.tape.bars(
                stream.con_id, start, end, end - start, stream.what, regular_only=stream.use_rth
            )
            out.extend(
                m.RealTimeBar(
                    stream.req_id,
                    int(self.tape.epoch(bar.start)),
                    bar.open,
                    bar.high,
                    bar.low,
                    bar.close,
                    bar.volume,
                    bar.wap,
                    bar.count,
                )
                for bar in bars
            )
            stream.next_start = end
        return out


def _tick_messages(
    line: QuoteLine, tick: int, new: object, old: object, lot: int
) -> list[m.Message]:
    """The tick message(s) that move a client from ``old`` to ``new`` for ``tick``."""

    def wire(tick_id: int) -> int:
        return DELAYED_IDS.get(tick_id, tick_id) if line.delayed else tick_id

    req = line.req_id
    if tick in (T.BID, T.ASK):
        price, size = cast(tuple[float, Decimal], new)
        size_id = T.BID_SIZE if tick == T.BID else T.ASK_SIZE
        if old is not None and cast(tuple, old)[0] == price:
            return [m.TickSize(req, wire(size_id), size, lot)]
        return [m.TickPrice(req, wire(tick), price, size, 0, lot)]
    if tick == T.LAST:
        price, size, _time = cast(tuple[float, Decimal, float], new)
        if old is not None and cast(tuple, old)[0] == price:
            return [m.TickSize(req, wire(T.LAST_SIZE), size, lot)]
        return [m.TickPrice(req, wire(T.LAST), price, size, 0, lot)]
    if tick == T.VOLUME:
        return [m.TickSize(req, wire(T.VOLUME), cast(Decimal, new))]
    if tick == T.LAST_TIMESTAMP:
        return [m.TickString(req, wire(T.LAST_TIMESTAMP), str(new))]
    if tick == T.HALTED:
        return [m.TickGeneric(req, T.HALTED, cast(float, new))]
    return [m.TickPrice(req, wire(tick), cast(float, new))]


def _round_lot(inst: Instrument) -> int:
    """US stocks: the 100 shares TWS counts volume in (and, for old clients, quote sizes)."""
    return 100 if inst.contract.secType == "STK" and inst.contract.currency == "USD" else 1


def _venue(inst: Instrument) -> str:
    """How TWS names the feed a permission is missing for: listing exchange and type."""
    primary = inst.contract.primaryExchange or inst.contract.exchange
    primary = {"NASDAQ": "ISLAND"}.get(primary, primary)
    return f"{primary} {inst.contract.secType}"


def _feed_exchange(contract: Contract, inst: Instrument) -> str:
    exchange = (contract.exchange or inst.contract.exchange).upper()
    return "BEST" if exchange == "SMART" else exchange
