"""Historical bars from the tape: which intervals a request covers, what each one holds, how
TWS dates it.

Bars are the tape's own trades (``Tape.trade_sums``) and quotes (``PriceModel.quotes``, the quote
in force each second), so they are the prices that filled orders and that live data showed.

* A bar shorter than a day is a slot of its size on the Unix clock (as 5-second real-time bars
  are), cut at the session: a slot that starts before the session opens is dated at the open
  (a real Gateway dates the first RTH hour bar "09:30:00", then "10:00:00": public transcript
  grounded_historical_bars.txt of ThomasMarcelis/ibkr-go), and a slot never spans two sessions.
* A daily bar is one trading session (its regular hours with useRTH), dated by the local date
  its session closes on (an overnight session belongs to the day it ends, as TWS's trading
  hours list it). Weekly and monthly bars merge the days of a calendar week or month and are
  dated by their last trading day (weekly bars dated Thursday when that Friday was a holiday:
  stoqey/ibkr issue 149).
* TRADES bars carry volume, VWAP (to 3 decimals, as captured bars show it) and the number of
  trades, and only exist where something traded; MIDPOINT, BID and ASK bars carry -1 in all
  three (IbPy issue 49 shows volume=-1, count=-1, WAP=-1.0 for BID bars). A BID_ASK bar is
  TWS's: open the time-average bid, close the time-average ask, high the highest ask, low the
  lowest bid (as the userFRM/ibx reimplementation combines TWS's bid and ask legs).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from .hist_params import DAY, MONTH, WEEK, BarSize, Duration
from .prices import midpoint
from .tape import Span, Tape, TradeSum

UNSET = Decimal(-1)
WAP_DIGITS = Decimal("0.001")
_CACHE_DAYS = 1024


@dataclass(frozen=True)
class Bar:
    """One bar: dated at ``start``, holding the data of ``[start, end)``."""

    start: int
    end: int
    open: float
    high: float
    low: float
    close: float
    volume: Decimal = UNSET
    notional: Decimal = Decimal(0)
    count: int = -1
    day: date | None = None  # the trading day of a daily bar (the last one of a week or month)
    bid_sum: float = 0.0  # BID_ASK: per-second sums for the time averages
    ask_sum: float = 0.0
    seconds: int = 0

    def then(self, later: Bar) -> Bar:
        """This bar's data followed by ``later``'s (later's data starts where this one ends)."""
        traded = self.count >= 0
        return replace(
            self,
            end=later.end,
            high=max(self.high, later.high),
            low=min(self.low, later.low),
            close=later.close,
            volume=self.volume + later.volume if traded else UNSET,
            notional=self.notional + later.notional,
            count=self.count + later.count if traded else -1,
            day=later.day or self.day,
            bid_sum=self.bid_sum + later.bid_sum,
            ask_sum=self.ask_sum + later.ask_sum,
            seconds=self.seconds + later.seconds,
        )

    @property
    def wap(self) -> Decimal:
        if self.count < 0 or self.volume <= 0:
            return UNSET
        return (self.notional / self.volume).quantize(WAP_DIGITS, ROUND_HALF_EVEN)


class BarMaker:
    """Bars of one instrument, source and session kind (regular hours only, or all)."""

    def __init__(
        self,
        tape: Tape,
        con_id: int,
        source: str,
        regular: bool,
        cache: OrderedDict | None = None,
    ) -> None:
        self.tape = tape
        self.con_id = con_id
        self.source = source
        self.regular = regular
        self._cache: OrderedDict = OrderedDict() if cache is None else cache
        inst = tape.instrument(con_id)
        self.zone = inst.time_zone
        self.zone_name = inst.details.timeZoneId
        self._digits = tape.prices.decimals(con_id) + 1

    # ------------------------------------------------------------------ the calendar

    def moment(self, t: float) -> datetime:
        return (self.tape.origin + timedelta(seconds=t)).astimezone(self.zone)

    def seconds_at(self, moment: datetime) -> int:
        return round((moment - self.tape.origin).total_seconds())

    def sessions(self, start: int, end: int) -> list[Span]:
        return self.tape.sessions(self.con_id, start, end, regular=self.regular)

    def trading_day(self, span: Span) -> date:
        return self.moment(span.end - 1).date()

    def slot_start(self, t: int, seconds: int) -> int:
        """The start of the ``seconds``-long slot of the Unix clock that holds ``t``."""
        return t - int(self.tape.epoch(t)) % seconds

    def window_start(self, end: int, duration: Duration) -> int:
        """Where ``duration`` before ``end`` begins: seconds back; D the start of the D-th
        trading session back (the one in progress counts: "1 D" is the current trading day,
        or the last one while closed); W, M, Y on the instrument's calendar."""
        if duration.unit == "S":
            return end - duration.count
        if duration.unit == "D":
            back = duration.count * 2 + 10
            spans = self.tape.sessions(self.con_id, end - back * 86400, end)
            started = [s for s in spans if s.start < end]
            return started[-duration.count].start if len(started) >= duration.count else end
        return self.seconds_at(calendar_back(self.moment(end), duration))

    # ------------------------------------------------------------------ bars

    def bars(self, size: BarSize, start: int, end: int) -> list[Bar]:
        """The bars of a request whose span is ``[start, end)``: whole bars (intraday bars that
        overlap it, trading days that open in it), the last one cut at ``end``."""
        if size.seconds is not None:
            return self.intraday(size.seconds, self.slot_start(start, size.seconds), end)
        days = [self.day(span, end) for span in self.sessions(start, end) if span.start >= start]
        return group_days([d for d in days if d is not None], size.period)

    def intraday(self, seconds: int, start: int, end: int) -> list[Bar]:
        """Bars of ``seconds`` holding the data of ``[start, end)``, dated by their slot."""
        out: list[Bar] = []
        for span in self.sessions(start, end):
            lo, hi = max(start, span.start), min(end, span.end)
            if lo >= hi:
                continue
            bounds = [lo]
            cut = self.slot_start(lo, seconds) + seconds
            while cut < hi:
                bounds.append(cut)
                cut += seconds
            bounds.append(hi)
            for bar in self._aggregate(bounds):
                if bar is not None:
                    dated = max(self.slot_start(bar.start, seconds), span.start)
                    out.append(replace(bar, start=dated))
        return out

    def day(self, span: Span, end: int) -> Bar | None:
        """The bar of one trading session, up to ``end``; complete ones are kept."""
        hi = min(end, span.end)
        if hi <= span.start:
            return None
        key = (self.con_id, self.source, self.regular, span.start, span.end)
        if hi == span.end and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        (bar,) = self._aggregate([span.start, hi])
        if bar is not None:
            bar = replace(bar, day=self.trading_day(span))
        if hi == span.end:
            self._cache[key] = bar
            while len(self._cache) > _CACHE_DAYS:
                self._cache.popitem(last=False)
        return bar

    def updates(self, size: BarSize, start: int, end: int) -> list[Bar]:
        """The data of ``[start, end)`` as pieces of the bars it belongs to (keepUpToDate)."""
        if size.seconds is not None:
            return self.intraday(size.seconds, start, end)
        pieces = []
        for span in self.sessions(start, end):
            lo, hi = max(start, span.start), min(end, span.end)
            (bar,) = self._aggregate([lo, hi]) if lo < hi else (None,)
            if bar is not None:
                pieces.append(replace(bar, start=span.start, day=self.trading_day(span)))
        return pieces

    def _aggregate(self, bounds: list[int]) -> list[Bar | None]:
        """The source's bar of each interval ``[bounds[i], bounds[i+1])``, inside one session."""
        if self.source == "TRADES":
            sums = self.tape.trade_sums(self.con_id, bounds)
            return [
                None if s is None else _trade_bar(a, b, s)
                for (a, b), s in zip(itertools.pairwise(bounds), sums, strict=True)
            ]
        quotes = self.tape.prices.quotes(self.con_id, bounds[0], bounds[-1] - 1)
        out: list[Bar | None] = []
        for a, b in itertools.pairwise(bounds):
            part = quotes[a - bounds[0] : b - bounds[0]]
            out.append(self._quote_bar(a, b, part) if part else None)
        return out

    def _quote_bar(self, start: int, end: int, quotes: list) -> Bar:
        if self.source == "BID_ASK":
            bids, asks = [q.bid for q in quotes], [q.ask for q in quotes]
            return Bar(
                start, end, bids[0], max(asks), min(bids), asks[-1],
                bid_sum=sum(bids), ask_sum=sum(asks), seconds=len(quotes),
            )  # fmt: skip
        pick: Callable = {
            "MIDPOINT": lambda q: midpoint(q.bid, q.ask, self._digits),
            "BID": lambda q: q.bid,
            "ASK": lambda q: q.ask,
        }[self.source]
        values = [pick(q) for q in quotes]
        return Bar(start, end, values[0], max(values), min(values), values[-1])

    def prices(self, bar: Bar) -> tuple[float, float, float, float]:
        """Open, high, low and close as sent (BID_ASK: the time averages)."""
        if self.source != "BID_ASK" or not bar.seconds:
            return bar.open, bar.high, bar.low, bar.close
        bid = round(bar.bid_sum / bar.seconds, self._digits)
        ask = round(bar.ask_sum / bar.seconds, self._digits)
        return bid, bar.high, bar.low, ask


def _trade_bar(start: int, end: int, s: TradeSum) -> Bar:
    return Bar(start, end, s.open, s.high, s.low, s.close, s.volume, s.notional, s.count)


def group_days(days: list[Bar], period: str) -> list[Bar]:
    """Daily bars as they are (DAY), or merged by calendar week or month."""
    if period == DAY:
        return days
    out: list[Bar] = []
    keys: list[tuple[int, int]] = []
    for bar in days:
        assert bar.day is not None
        iso = bar.day.isocalendar()
        key = (iso.year, iso.week) if period == WEEK else (bar.day.year, bar.day.month)
        if keys and keys[-1] == key:
            out[-1] = out[-1].then(bar)
        else:
            out.append(bar)
            keys.append(key)
    return out


def calendar_back(moment: datetime, duration: Duration) -> datetime:
    """``moment`` moved back by weeks, months or years on its own calendar (a month back
    from March 31 is the last day of February)."""
    if duration.unit == "W":
        return moment - timedelta(weeks=duration.count)
    months = duration.count * (12 if duration.unit == "Y" else 1)
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def zoned_text(moment: datetime, zone_name: str) -> str:
    """How TWS writes a time of a request: ``yyyyMMdd HH:mm:ss`` and the zone."""
    return f"{moment:%Y%m%d %H:%M:%S} {zone_name}"


def bar_date(maker: BarMaker, bar: Bar, size: BarSize, format_date: int) -> str:
    """A bar's date field: a day or longer as ``yyyyMMdd`` whatever formatDate; shorter as
    ``yyyyMMdd HH:mm:ss zone`` (1), Unix seconds (2), or the first without the year (3)."""
    if size.seconds is None:
        assert bar.day is not None
        return f"{bar.day:%Y%m%d}"
    if format_date == 2:
        return str(int(maker.tape.epoch(bar.start)))
    text = zoned_text(maker.moment(bar.start), maker.zone_name)
    return text[4:] if format_date == 3 else text


def same_period(size: BarSize, older: Bar, newer: Bar) -> bool:
    """Whether two pieces belong to one bar (keepUpToDate merges them)."""
    if size.seconds is not None or size.period == DAY:
        return older.start == newer.start
    assert older.day is not None and newer.day is not None
    if size.period == MONTH:
        return (older.day.year, older.day.month) == (newer.day.year, newer.day.month)
    return older.day.isocalendar()[:2] == newer.day.isocalendar()[:2]
