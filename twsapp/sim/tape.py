"""The tape: every trade and every quote the simulated market prints, per instrument.

One tape per instrument, derived from the seeded price path (or replayed bars) in ``prices``,
so the prices that fill orders are the prices market data shows. It is a pure function of
(seed, conId, simulated second), like the path, and can be asked about any span of time, before
the simulation's start too: history and live data come from the same place.

The model, per simulated second ``s`` of an instrument that trades (stocks, futures):

* the quote in force during ``[s, s+1)`` is ``prices.quote(s)``; it changes only on whole
  seconds, and only while the instrument's trading session is open;
* a trade prints at exactly ``s`` at the path's price when that price moved (or the session has
  just opened, or the regular session opens at ``s``): the trade that made the new last price;
* a few more trades print between ``s-1`` and ``s`` at the previous second's price, more of them
  in the regular session than in extended hours: volume that does not move the price.

So every trade prints inside the quote in force when it prints, and the last trade at any moment
``t`` is at ``prices.price_at(t)``. A second's trades are "its" trades: those in ``(s-1, s]``,
what a matcher looking at second ``s`` has seen since its previous look. IDEALPRO currencies
have no trades at all: quotes only, their midpoint standing in for a price.

Times are simulated seconds (floats, millisecond resolution); ``epoch(t)`` turns one into Unix
time for the wire. Sizes are in shares or contracts.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from .clock import SessionTemplate
from .instruments import Catalog, Instrument
from .prices import PriceModel, midpoint

WHAT_TO_SHOW = ("TRADES", "MIDPOINT", "BID", "ASK")
ROUND_LOT = Decimal(100)  # US stocks: below it a trade is an odd lot
_CHECKPOINT = 60  # day statistics are kept every this many seconds, to answer any moment fast
_STK_VENUES = ("NASDAQ", "ARCA", "NYSE", "BATS", "EDGX", "IEX", "DRCTEDGE", "MEMX")
# How many trades print between two seconds (indexed by 3 seeded bits), in and out of the
# regular session: two a second on average during the day, a trickle in extended hours (where
# the trade that moves the price is a single round lot).
_REGULAR_COUNTS = (0, 1, 1, 2, 2, 3, 3, 4)
_EXTENDED_COUNTS = (0, 0, 0, 0, 0, 0, 0, 1)
_SEARCH_DAYS = 14  # how far sessions are looked for around a moment (long weekends, holidays)
_BITS_BLOCK = 4096  # seconds of seeded trade bits generated at a time


@dataclass(frozen=True)
class Trade:
    time: float  # simulated seconds
    price: float
    size: Decimal
    exchange: str
    odd_lot: bool = False  # a US stock trade under 100 shares: on the tape, not the last price


@dataclass(frozen=True)
class QuoteTick:
    """The quote in force from ``time`` until the next one."""

    time: float
    bid: float
    ask: float
    bid_size: Decimal
    ask_size: Decimal
    mid: float


@dataclass(frozen=True)
class Span:
    """One session, ``[start, end)`` in simulated seconds."""

    start: int
    end: int


@dataclass(frozen=True)
class DayStats:
    """The trading day a moment belongs to (the session open then, or the last one before)."""

    session: Span
    open: float | None  # first price of the regular session (None before it, and for FX)
    high: float | None  # range and volume since the session opened (FX: of the midpoint)
    low: float | None
    volume: Decimal
    count: int  # trades
    prev_close: float | None  # the previous regular session's last price


@dataclass(frozen=True)
class MarketView:
    """Everything a market data line shows at one moment."""

    time: float
    trading: bool  # the session is open; if not, the values are the last ones before it closed
    quote: QuoteTick | None  # in force at ``time``, or the last one of the session
    last: Trade | None  # the last trade that set the last price (no odd lots)
    day: DayStats


@dataclass(frozen=True)
class TradeSum:
    """The trades of one interval, summed: first, highest, lowest and last price, size, count,
    and the notional (price times size, exact) that a volume-weighted price divides."""

    open: float
    high: float
    low: float
    close: float
    volume: Decimal
    notional: Decimal
    count: int

    def then(self, later: TradeSum) -> TradeSum:
        """This interval followed by ``later``."""
        return TradeSum(
            self.open,
            max(self.high, later.high),
            min(self.low, later.low),
            later.close,
            self.volume + later.volume,
            self.notional + later.notional,
            self.count + later.count,
        )


@dataclass(frozen=True)
class TapeBar:
    """One bar of trades (volume, VWAP and count) or of quotes (those three are -1)."""

    start: int
    end: int
    open: float
    high: float
    low: float
    close: float
    volume: Decimal
    wap: Decimal
    count: int


class Tape:
    """The tapes of every instrument of ``catalog``, on ``prices``, with second 0 at ``origin``."""

    def __init__(self, catalog: Catalog, prices: PriceModel, origin: datetime) -> None:
        if prices.step_seconds != 1.0:
            raise ValueError("the tape prints one second at a time: step_seconds must be 1")
        self.catalog = catalog
        self.prices = prices
        self.origin = origin
        self._epoch0 = origin.timestamp()
        self._trading: dict[int, _Sessions] = {}
        self._regular: dict[int, _Sessions] = {}
        self._bit_blocks: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._serial = next(_SERIALS)

    # ------------------------------------------------------------------ what an instrument is

    def instrument(self, con_id: int) -> Instrument:
        inst = self.catalog.by_conid(con_id)
        if inst is None:
            raise KeyError(f"no instrument with conId {con_id}")
        return inst

    def has_trades(self, con_id: int) -> bool:
        """IDEALPRO currencies are quoted, never traded on a tape (no last, no volume)."""
        return self.instrument(con_id).contract.secType != "CASH"

    def epoch(self, t: float) -> float:
        """Unix time of simulated second ``t``."""
        return self._epoch0 + t

    def is_trading(self, con_id: int, t: float) -> bool:
        return self._sessions(con_id).is_open(math.floor(t))

    def is_regular(self, con_id: int, t: float) -> bool:
        """Inside the regular (liquid) session, e.g. 09:30-16:00 for US stocks."""
        return self._sessions(con_id, regular=True).is_open(math.floor(t))

    def session_at(self, con_id: int, t: float) -> Span | None:
        """The trading session open at ``t``, if any."""
        return self._sessions(con_id).span_at(math.floor(t))

    def sessions(self, con_id: int, start: float, end: float, regular: bool = False) -> list[Span]:
        """Every trading (or regular) session overlapping ``[start, end)``."""
        return list(self._sessions(con_id, regular).spans(math.floor(start), math.ceil(end) - 1))

    # ------------------------------------------------------------------ trades and quotes

    def trades(self, con_id: int, start: float, end: float) -> list[Trade]:
        """Every trade printed in ``[start, end)``, odd lots included, in time order."""
        if not self.has_trades(con_id) or end <= start:
            return []
        first, last = math.floor(start), math.ceil(end)
        return [
            trade
            for _, printed in self._steps(con_id, first, last)
            for trade in printed
            if start <= trade.time < end
        ]

    def step_trades(self, con_id: int, step: int) -> tuple[Trade, ...]:
        """The trades of second ``step``: those in ``(step-1, step]``."""
        if not self.has_trades(con_id):
            return ()
        return self._steps(con_id, step, step)[0][1]

    def quotes(self, con_id: int, start: float, end: float) -> list[QuoteTick]:
        """Every quote change in ``[start, end)``: the first quote of a session, then each
        second whose bid, ask or a size differs from the second before."""
        first, last = math.ceil(start), math.ceil(end) - 1
        if last < first:
            return []
        sessions = self._sessions(con_id)
        quotes = self.prices.quotes(con_id, first - 1, last)
        out: list[QuoteTick] = []
        before = quotes[0]
        was_open = sessions.is_open(first - 1)
        for step, quote in zip(range(first, last + 1), quotes[1:], strict=True):
            is_open = sessions.is_open(step)
            if is_open and (
                not was_open
                or (quote.bid, quote.ask, quote.bid_size, quote.ask_size)
                != (before.bid, before.ask, before.bid_size, before.ask_size)
            ):
                out.append(self._tick(con_id, step, quote))
            before, was_open = quote, is_open
        return out

    def quote_at(self, con_id: int, t: float) -> QuoteTick | None:
        """The quote in force at ``t``; None while the session is closed."""
        step = math.floor(t)
        if not self._sessions(con_id).is_open(step):
            return None
        return self._quote_since(con_id, step)

    def last_quote(self, con_id: int, t: float) -> QuoteTick | None:
        """The quote in force at ``t``, or the last one before the session closed."""
        step = self._last_open_step(con_id, math.floor(t))
        return None if step is None else self._quote_since(con_id, step)

    def last_trade(self, con_id: int, t: float, odd_lots: bool = False) -> Trade | None:
        """The last trade at or before ``t`` (without odd lots: the one that set the last price)."""
        if not self.has_trades(con_id):
            return None
        step = self._last_open_step(con_id, math.floor(t))
        sessions = self._sessions(con_id)
        while step is not None:
            span = sessions.span_at(step)
            assert span is not None
            while step >= span.start:
                for trade in reversed(self.step_trades(con_id, step)):
                    if trade.time <= t and (odd_lots or not trade.odd_lot):
                        return trade
                step -= 1
            step = self._last_open_step(con_id, span.start - 1)
        return None

    # ------------------------------------------------------------------ the day and a view

    def day(self, con_id: int, t: float) -> DayStats:
        """Open, range, volume and previous close of the trading day of ``t``."""
        step = math.floor(t)
        sessions = self._sessions(con_id)
        span = sessions.span_at(step) or sessions.last_started(step)
        if span is None:
            raise ValueError(f"conId {con_id}: no trading session within {_SEARCH_DAYS} days")
        through = min(step, span.end - 1)
        high, low, volume, count = self._totals(con_id, span, through)
        return DayStats(
            session=span,
            open=self._day_open(con_id, span, through),
            high=high,
            low=low,
            volume=volume,
            count=count,
            prev_close=self._prev_close(con_id, span),
        )

    def view(self, con_id: int, t: float) -> MarketView:
        """What a market data line shows at ``t`` (frozen at the close while closed)."""
        return MarketView(
            time=t,
            trading=self.is_trading(con_id, t),
            quote=self.last_quote(con_id, t),
            last=self.last_trade(con_id, t),
            day=self.day(con_id, t),
        )

    # ------------------------------------------------------------------ bars

    def bars(
        self,
        con_id: int,
        start: int,
        end: int,
        seconds: int,
        what: str = "TRADES",
        regular_only: bool = False,
    ) -> list[TapeBar]:
        """``seconds``-long bars of ``what`` (TRADES, MIDPOINT, BID, ASK) starting in
        ``[start, end)`` on multiples of ``seconds`` (in Unix time), for the seconds the market
        was open (regular hours only if ``regular_only``). A bar with no trade is flat at the
        last price, volume 0."""
        if what not in WHAT_TO_SHOW:
            raise ValueError(f"what to show {what!r} is not one of {', '.join(WHAT_TO_SHOW)}")
        if what == "TRADES" and not self.has_trades(con_id):
            return []
        sessions = self._sessions(con_id, regular=regular_only)
        offset = int(self._epoch0) % seconds
        first = start + (-(start + offset)) % seconds
        bars: list[TapeBar] = []
        for bar_start in range(first, end, seconds):
            bar_end = bar_start + seconds
            if not any(sessions.is_open(s) for s in (bar_start, bar_end - 1)):
                continue
            bar = (
                self._trade_bar(con_id, bar_start, bar_end)
                if what == "TRADES"
                else self._quote_bar(con_id, bar_start, bar_end, what)
            )
            if bar is not None:
                bars.append(bar)
        return bars

    def trade_sums(self, con_id: int, bounds: Sequence[int]) -> list[TradeSum | None]:
        """The trades of each interval ``[bounds[i], bounds[i+1])`` (whole seconds, ascending)
        exactly as ``trades`` lists them, summed; None where none printed.

        What bars over months of history cost, so it reads the path and the seeded bits a
        session at a time as ``_aggregate`` does (the same rules as ``_plan``; checked against
        ``trades``), without building the trades.
        """
        intervals = len(bounds) - 1
        sums: list[TradeSum | None] = [None] * max(intervals, 0)
        if intervals < 1 or not self.has_trades(con_id):
            return sums
        first, last = bounds[0], bounds[-1]
        regular_sessions = self._sessions(con_id, regular=True)
        for span in self._sessions(con_id).spans(first, last):
            lo, hi = max(first, span.start), min(last, span.end - 1)
            if lo > hi:
                continue
            first_regular = regular_sessions.first_start_in(span)
            regular = None if first_regular is None else regular_sessions.span_at(first_regular)
            hours = (regular.start, regular.end) if regular else (span.end, span.end)
            for index, piece in self._session_sums(con_id, span.start, lo, hi, hours, bounds):
                earlier = sums[index]
                sums[index] = piece if earlier is None else earlier.then(piece)
        return sums

    def _session_sums(
        self,
        con_id: int,
        opened: int,
        lo: int,
        hi: int,
        regular: tuple[int, int],
        bounds: Sequence[int],
    ) -> Iterator[tuple[int, TradeSum]]:
        """``trade_sums`` of seconds ``lo``..``hi`` of the session opened at ``opened``: a
        second's small prints fall in (step-1, step), its price-setting one at step. Prints come
        in time order, so each interval is summed in one run and handed over when it ends."""
        stock = self.instrument(con_id).contract.secType == "STK"
        sub, changes = _SUB_INTS[stock], _CHANGE_INTS[stock]
        decimals = self.prices.decimals(con_id)
        scale = 10**decimals
        path = self.prices.path(con_id, lo - 1, hi)
        ticks = [round(price * scale) for price in path]
        last, reg_start, reg_end = bounds[-1], regular[0], regular[1]
        k = bisect.bisect_right(bounds, lo) - 1
        edge = bounds[k + 1]
        run: list | None = None  # open, high, low, close, size, notional, trades

        def handed(run: list) -> tuple[int, TradeSum]:
            notional = Decimal(run[5]).scaleb(-decimals)
            return k, TradeSum(run[0], run[1], run[2], run[3], Decimal(run[4]), notional, run[6])

        for index, bits in enumerate(self._bits(con_id, lo, hi)):
            step = lo + index
            is_regular = reg_start <= step < reg_end
            count = (_REGULAR_COUNTS if is_regular else _EXTENDED_COUNTS)[bits & 7]
            if count and step > lo:  # small prints of the second before (lo >= opened)
                if step - 1 >= edge:
                    if run is not None:
                        yield handed(run)
                        run = None
                    while step - 1 >= edge:
                        k += 1
                        edge = bounds[k + 1]
                size = sub[(bits >> 9) & 0xFF]
                if count > 1:
                    size += sub[(bits >> 17) & 0xFF]
                    if count > 2:
                        size += sub[(bits >> 25) & 0xFF]
                        if count > 3:
                            size += sub[(bits >> 33) & 0xFF]
                price = path[index]
                if run is None:
                    run = [price, price, price, price, size, ticks[index] * size, count]
                else:
                    if price > run[1]:
                        run[1] = price
                    elif price < run[2]:
                        run[2] = price
                    run[3] = price
                    run[4] += size
                    run[5] += ticks[index] * size
                    run[6] += count
            price = path[index + 1]
            if step < last and (step in (opened, reg_start) or price != path[index]):
                if step >= edge:
                    if run is not None:
                        yield handed(run)
                        run = None
                    while step >= edge:
                        k += 1
                        edge = bounds[k + 1]
                size = changes[is_regular][(bits >> 3) & 7]
                if run is None:
                    run = [price, price, price, price, size, ticks[index + 1] * size, 1]
                else:
                    if price > run[1]:
                        run[1] = price
                    elif price < run[2]:
                        run[2] = price
                    run[3] = price
                    run[4] += size
                    run[5] += ticks[index + 1] * size
                    run[6] += 1
        if run is not None:
            yield handed(run)

    def _trade_bar(self, con_id: int, start: int, end: int) -> TapeBar | None:
        trades = self.trades(con_id, start, end)
        if not trades:
            before = self.last_trade(con_id, start - 0.001, odd_lots=True)
            if before is None:
                return None
            p = before.price
            return TapeBar(start, end, p, p, p, p, Decimal(0), Decimal(repr(p)), 0)
        prices = [t.price for t in trades]
        volume = sum((t.size for t in trades), Decimal(0))
        notional = sum((Decimal(repr(t.price)) * t.size for t in trades), Decimal(0))
        wap = (notional / volume).quantize(Decimal("0.00000001")).normalize()
        return TapeBar(
            start, end, prices[0], max(prices), min(prices), prices[-1], volume, wap, len(trades)
        )

    def _quote_bar(self, con_id: int, start: int, end: int, what: str) -> TapeBar | None:
        values = []
        opening = self.quote_at(con_id, start)
        if opening is not None:
            values.append(opening)
        values += self.quotes(con_id, start + 1, end)
        if not values:
            return None
        pick = {"MIDPOINT": "mid", "BID": "bid", "ASK": "ask"}[what]
        series = [getattr(q, pick) for q in values]
        unset = Decimal(-1)
        return TapeBar(
            start, end, series[0], max(series), min(series), series[-1], unset, unset, -1
        )

    # ------------------------------------------------------------------ internals: seconds

    def _sessions(self, con_id: int, regular: bool = False) -> _Sessions:
        table = self._regular if regular else self._trading
        sessions = table.get(con_id)
        if sessions is None:
            inst = self.instrument(con_id)
            template = inst.liquid if regular else inst.trading
            sessions = table[con_id] = _Sessions(template, inst.time_zone, self.origin)
        return sessions

    def _steps(self, con_id: int, first: int, last: int) -> list[tuple[int, tuple[Trade, ...]]]:
        """(step, its trades) for every step from ``first`` to ``last``."""
        inst = self.instrument(con_id)
        stock = inst.contract.secType == "STK"
        venue = inst.contract.exchange
        out: list[tuple[int, tuple[Trade, ...]]] = []
        for step, before, now, bits, count, change, regular in self._plan(con_id, first, last):
            trades: list[Trade] = []
            for j in range(count):
                byte = (bits >> (9 + 8 * j)) & 0xFF
                size, odd = _SUB_SIZES[stock][byte]
                where = _STK_VENUES[byte % len(_STK_VENUES)] if stock else venue
                trades.append(Trade(step - 1 + _OFFSETS[count][j], before, size, where, odd))
            if change:
                size = _change_size(bits, regular, stock)
                where = _STK_VENUES[(bits >> 6) % len(_STK_VENUES)] if stock else venue
                trades.append(Trade(float(step), now, size, where))
            out.append((step, tuple(trades)))
        return out

    def _plan(self, con_id: int, first: int, last: int) -> Iterator[_Step]:
        """What prints in each second from ``first`` to ``last``: (step, previous price, price,
        seeded bits, trades before the second, whether a trade prints at it, regular hours).
        The one place the tape's rules live; ``_steps`` and ``_aggregate`` only read it."""
        trading = self._sessions(con_id)
        regular = self._sessions(con_id, regular=True)
        path = self.prices.path(con_id, first - 1, last)
        bits_of = self._bits(con_id, first, last)
        was_open = trading.is_open(first - 1)
        was_regular = regular.is_open(first - 1)
        for index, step in enumerate(range(first, last + 1)):
            is_open = trading.is_open(step)
            is_regular = regular.is_open(step)
            if is_open:
                bits = bits_of[index]
                before, now = path[index], path[index + 1]
                count = 0
                if was_open:
                    count = (_REGULAR_COUNTS if is_regular else _EXTENDED_COUNTS)[bits & 7]
                change = not was_open or now != before or (is_regular and not was_regular)
                yield step, before, now, bits, count, change, is_regular
            was_open, was_regular = is_open, is_regular

    def _bits(self, con_id: int, first: int, last: int) -> list[int]:
        """64 seeded bits per second, read from per-block random bytes (as cheap as a slice)."""
        out: list[int] = []
        step = first
        while step <= last:
            block, index = divmod(step, _BITS_BLOCK)
            key = (con_id, block)
            data = self._bit_blocks.get(key)
            if data is None:
                seed = f"tape:{self.prices.seed}:{con_id}:{block}"
                data = self._bit_blocks[key] = random.Random(seed).randbytes(8 * _BITS_BLOCK)
                while len(self._bit_blocks) > 64:
                    self._bit_blocks.popitem(last=False)
            stop = min(_BITS_BLOCK, index + 1 + last - step)
            view = data[8 * index : 8 * stop]
            out.extend(int.from_bytes(view[i : i + 8], "little") for i in range(0, len(view), 8))
            step += stop - index
        return out

    def _tick(self, con_id: int, step: int, quote) -> QuoteTick:
        digits = self.prices.decimals(con_id) + 1
        mid = midpoint(quote.bid, quote.ask, digits)
        return QuoteTick(float(step), quote.bid, quote.ask, quote.bid_size, quote.ask_size, mid)

    def _quote_since(self, con_id: int, step: int) -> QuoteTick:
        """The quote of ``step``, stamped with the second it came in force (its last change)."""
        quote = self.prices.quote(con_id, step)
        key = (quote.bid, quote.ask, quote.bid_size, quote.ask_size)
        sessions = self._sessions(con_id)
        since = step
        while since - 1 >= step - 600 and sessions.is_open(since - 1):
            earlier = self.prices.quote(con_id, since - 1)
            if (earlier.bid, earlier.ask, earlier.bid_size, earlier.ask_size) != key:
                break
            since -= 1
        return self._tick(con_id, since, quote)

    def _last_open_step(self, con_id: int, step: int) -> int | None:
        sessions = self._sessions(con_id)
        if sessions.is_open(step):
            return step
        span = sessions.last_started(step)
        return None if span is None else span.end - 1

    # ------------------------------------------------------------------ internals: the day

    def _day_open(self, con_id: int, span: Span, through: int) -> float | None:
        inst = self.instrument(con_id)
        if inst.contract.secType == "CASH":
            return None
        if inst.contract.secType != "STK":
            return self.prices.price_at(con_id, span.start)
        regular = self._sessions(con_id, regular=True).first_start_in(span)
        if regular is None or regular > through:
            return None
        return self.prices.price_at(con_id, regular)

    def _prev_close(self, con_id: int, span: Span) -> float | None:
        key = self._memo_key(con_id, span, "close")
        with _MEMO_LOCK:
            if key not in _MEMO:
                _remember(key, self._close_before(con_id, span))
            return _MEMO[key]  # type: ignore[return-value]

    def _close_before(self, con_id: int, span: Span) -> float | None:
        previous = self._sessions(con_id, regular=True).last_ended(span.start)
        if previous is None:
            return None
        step = previous.end - 1
        if self.has_trades(con_id):
            return self.prices.price_at(con_id, step)
        return self.prices.mids(con_id, step, step)[0]

    def _totals(self, con_id: int, span: Span, through: int) -> _Totals:
        """(high, low, volume, count) of the session from its start through ``through``."""
        key = self._memo_key(con_id, span, "totals")
        with _MEMO_LOCK:
            return self._totals_locked(key, con_id, span, through)

    def _totals_locked(self, key: tuple, con_id: int, span: Span, through: int) -> _Totals:
        checkpoints = _MEMO.get(key)
        if checkpoints is None:
            checkpoints = [(None, None, Decimal(0), 0)]
            _remember(key, checkpoints)
        assert isinstance(checkpoints, list)
        _MEMO.move_to_end(key)
        regular_sessions = self._sessions(con_id, regular=True)
        regular_start = regular_sessions.first_start_in(span)
        regular = None if regular_start is None else regular_sessions.span_at(regular_start)
        wanted = (through - span.start + 1) // _CHECKPOINT
        while len(checkpoints) <= wanted:
            begin = span.start + (len(checkpoints) - 1) * _CHECKPOINT
            chunk = self._aggregate(con_id, span, regular, begin, begin + _CHECKPOINT - 1)
            checkpoints.append(_merge(checkpoints[-1], chunk))
        begin = span.start + wanted * _CHECKPOINT
        if through < begin:
            return checkpoints[wanted]
        return _merge(checkpoints[wanted], self._aggregate(con_id, span, regular, begin, through))

    def _memo_key(self, con_id: int, span: Span, what: str) -> tuple:
        """What a day's figures depend on. The path's fingerprint makes them shared by every
        tape on the same path (tests start many simulators on one seed); replayed bars keep
        them to this tape."""
        inst = self.instrument(con_id)
        path = self.prices.fingerprint(con_id) or ("tape", self._serial)
        hours = (inst.trading, inst.liquid, str(inst.time_zone), inst.contract.secType)
        return (what, path, hours, self._epoch0, span.start)

    def _aggregate(
        self, con_id: int, span: Span, regular: Span | None, first: int, last: int
    ) -> _Totals:
        """(high, low, volume, count) of steps ``first``..``last`` of the open session ``span``
        (whose regular hours are ``regular``), merged in order from the session's start.

        Cheaper than printing the trades, and the same totals: every price the path takes while
        a session is open has traded (a trade moved it there, or it equals the one before), so
        the range is the path's, and only the sizes need the per-second bits.
        """
        if not self.has_trades(con_id):
            mids = self.prices.mids(con_id, first, last)
            return (max(mids), min(mids), Decimal(0), 0)
        path = self.prices.path(con_id, first - 1, last)
        stock = self.instrument(con_id).contract.secType == "STK"
        sizes, changes = _SUB_INTS[stock], _CHANGE_INTS[stock]
        reg_start, reg_end = (regular.start, regular.end) if regular else (0, 0)
        volume = trades = 0
        for index, bits in enumerate(self._bits(con_id, first, last)):
            step = first + index
            is_regular = reg_start <= step < reg_end
            if step > span.start:
                count = (_REGULAR_COUNTS if is_regular else _EXTENDED_COUNTS)[bits & 7]
                trades += count
                for j in range(count):
                    volume += sizes[(bits >> (9 + 8 * j)) & 0xFF]
            if step == span.start or step == reg_start or path[index + 1] != path[index]:
                trades += 1
                volume += changes[is_regular][(bits >> 3) & 7]
        return (max(path[1:]), min(path[1:]), Decimal(volume), trades)


# Day figures by _memo_key: a session's cumulative (high, low, volume, count) every
# _CHECKPOINT seconds, and previous closes. Pure functions of the key, so shared and bounded.
_MEMO: OrderedDict[tuple, object] = OrderedDict()
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 256
_SERIALS = itertools.count()


def _remember(key: tuple, value: object) -> None:
    _MEMO[key] = value
    while len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)


_Totals = tuple[float | None, float | None, Decimal, int]


def _merge(a: _Totals, b: _Totals) -> _Totals:
    highs = [x for x in (a[0], b[0]) if x is not None]
    lows = [x for x in (a[1], b[1]) if x is not None]
    return (
        max(highs) if highs else None,
        min(lows) if lows else None,
        a[2] + b[2],
        a[3] + b[3],
    )


def _sub_size(byte: int, stock: bool) -> tuple[Decimal, bool]:
    """A size from 8 seeded bits: stocks print odd lots, round lots and mixed lots."""
    if not stock:
        return Decimal(1 + byte % 10), False
    if byte < 72:  # odd lots: most of the prints, little of the volume
        return Decimal(1 + byte * 7 % 99), True
    if byte < 200:
        return ROUND_LOT * (1 + byte % 5), False
    return Decimal(101 + byte * 13 % 400), False


def _change_size(bits: int, regular: bool, stock: bool) -> Decimal:
    """The trade that moves the price: 1 to 8 round lots (contracts), one in extended hours."""
    lots = 1 + ((bits >> 3) & 7) if regular else 1
    return ROUND_LOT * lots if stock else Decimal(lots)


_SUB_SIZES = {stock: tuple(_sub_size(b, stock) for b in range(256)) for stock in (False, True)}
_SUB_INTS = {stock: tuple(int(size) for size, _ in sizes) for stock, sizes in _SUB_SIZES.items()}
_CHANGE_INTS = {  # [stock][regular hours][3 bits]
    stock: tuple(
        tuple(int(_change_size(lots << 3, regular, stock)) for lots in range(8))
        for regular in (False, True)
    )
    for stock in (False, True)
}
# Between two seconds, ``count`` trades print at evenly spaced milliseconds.
_OFFSETS = {
    count: tuple(round((j + 1) / (count + 1), 3) for j in range(count)) for count in range(5)
}
_Step = tuple[int, float, float, int, int, bool, bool]


class _Sessions:
    """The spans of one session template in simulated seconds, with a cache for per-second use.

    ``is_open`` is asked once per second of everything the tape prints: the answer for a whole
    stretch (a session, or the gap between two) is kept, so most calls are two comparisons.
    """

    def __init__(self, template: SessionTemplate, tz: tzinfo, origin: datetime) -> None:
        self._template = template
        self._tz = tz
        self._origin = origin
        self._by_day: dict[date, Span | None] = {}
        self._lo, self._hi, self._open = 0, 0, False  # [lo, hi): a stretch of one state

    def is_open(self, step: int) -> bool:
        if self._lo <= step < self._hi:
            return self._open
        span = self.span_at(step)
        if span is not None:
            self._lo, self._hi, self._open = span.start, span.end, True
            return True
        before = self.last_ended(step + 1)
        after = self.next_start(step)
        self._lo = before.end if before is not None else step
        self._hi = after if after is not None else step + 1
        self._open = False
        return False

    def span_at(self, step: int) -> Span | None:
        for span in self._around(step):
            if span.start <= step < span.end:
                return span
        return None

    def last_started(self, step: int) -> Span | None:
        """The latest session that started at or before ``step``."""
        started = [s for s in self._around(step, back=_SEARCH_DAYS) if s.start <= step]
        return started[-1] if started else None

    def last_ended(self, step: int) -> Span | None:
        """The latest session that ended at or before ``step``."""
        ended = [s for s in self._around(step, back=_SEARCH_DAYS) if s.end <= step]
        return ended[-1] if ended else None

    def next_start(self, step: int) -> int | None:
        starts = [s.start for s in self._around(step, ahead=_SEARCH_DAYS) if s.start > step]
        return starts[0] if starts else None

    def first_start_in(self, span: Span) -> int | None:
        """The start of the first session of this template that begins inside ``span``."""
        starts = [s.start for s in self._around(span.start, ahead=2) if s.start >= span.start]
        starts = [s for s in starts if s < span.end]
        return starts[0] if starts else None

    def spans(self, first: int, last: int) -> Iterator[Span]:
        """Every session overlapping ``[first, last]``."""
        for span in self._around(first, ahead=(last - first) // 86_400 + 2):
            if span.end > first and span.start <= last:
                yield span

    def _around(self, step: int, back: int = 1, ahead: int = 2) -> list[Span]:
        day = (self._origin + timedelta(seconds=step)).astimezone(self._tz).date()
        spans = []
        for offset in range(-back, ahead + 1):
            span = self._day(day + timedelta(days=offset))
            if span is not None:
                spans.append(span)
        spans.sort(key=lambda s: s.start)
        return spans

    def _day(self, day: date) -> Span | None:
        if day not in self._by_day:
            window = self._template.session(day, self._tz)
            if window is None:
                self._by_day[day] = None
            else:
                start, end = (math.ceil((w - self._origin).total_seconds()) for w in window)
                self._by_day[day] = Span(start, end)
        return self._by_day[day]
