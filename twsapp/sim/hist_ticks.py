"""reqHistoricalTicks: the tape's trades and quote changes, ``count`` of them from a start
forwards or back from an end.

What TWS sends, and where that is known from: TRADES as historicalTicksLast (every print, odd
lots too, marked with the odd-lot condition as tick-by-tick AllLast marks them), BID_ASK as
historicalTicksBidAsk (each change of the quote; with ignoreSize only changes of a price),
MIDPOINT as historicalTicks (each change of the midpoint, size 0). TWS asks its data service
for TRADES of a currency pair as midpoints, and for trades as "AllLast" (userFRM/ibx,
src/control/historical.rs). Tick times are whole Unix seconds. At most 1000 ticks per request
(IB's reqHistoricalTicks documentation); the ticks of the second where the count is reached are
all sent, so a second is never cut in two. The whole answer is one message with done set.
Chosen where no source was found: with both a start and an end the start wins (TWS's query
then has only a start, as the reimplementation writes it); with neither, ticks from the oldest
data forwards.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeAlias

from ibapi.common import HistoricalTick, HistoricalTickBidAsk, HistoricalTickLast

from . import messages as m
from .tape import QuoteTick, Tape, Trade

CHUNK = 600  # seconds of tape read at a time
ODD_LOT_CONDITION = "I"

Tick: TypeAlias = Any  # ibapi's HistoricalTick, HistoricalTickBidAsk or HistoricalTickLast


class TickReader:
    """The ticks of one instrument and kind (TRADES, BID_ASK, MIDPOINT)."""

    def __init__(self, tape: Tape, con_id: int, what: str, regular: bool, ignore_size: bool):
        self.tape = tape
        self.con_id = con_id
        self.what = "MIDPOINT" if what == "TRADES" and not tape.has_trades(con_id) else what
        self.regular = regular
        self.ignore_size = ignore_size

    def message(self, req_id: int, ticks: list) -> m.Message:
        if self.what == "TRADES":
            return m.HistoricalTicksLast(req_id, ticks, True)
        if self.what == "BID_ASK":
            return m.HistoricalTicksBidAsk(req_id, ticks, True)
        return m.HistoricalTicks(req_id, ticks, True)

    def forward(self, start: int, limit: int, count: int) -> list[Tick]:
        """The first ``count`` ticks at or after ``start`` (none at or after ``limit``)."""
        out: list[Tick] = []
        for span in self.tape.sessions(self.con_id, start, limit, regular=self.regular):
            at = max(start, span.start)
            while at < min(span.end, limit) and len(out) < count:
                upto = min(at + CHUNK, span.end, limit)
                out += self._read(at, upto)
                at = upto
            if len(out) >= count:
                break
        return _whole_seconds(out, count, keep_first=True)

    def backward(self, end: int, head: int, count: int) -> list[Tick]:
        """The last ``count`` ticks before ``end`` (none before ``head``)."""
        found: list[list[Tick]] = []
        total = 0
        spans = self.tape.sessions(self.con_id, head, end, regular=self.regular)
        for span in reversed(spans):
            at = min(end, span.end)
            while at > max(span.start, head) and total < count:
                since = max(at - CHUNK, span.start, head)
                chunk = self._read(since, at)
                found.append(chunk)
                total += len(chunk)
                at = since
            if total >= count:
                break
        ticks = [tick for chunk in reversed(found) for tick in chunk]
        return _whole_seconds(ticks, count, keep_first=False)

    def _read(self, start: int, end: int) -> list[Tick]:
        if self.what == "TRADES":
            return [self._last(t) for t in self.tape.trades(self.con_id, start, end)]
        changes = self.tape.quotes(self.con_id, start, end)
        before = self.tape.quote_at(self.con_id, start - 1)
        if self.what == "BID_ASK":
            return self._changed(changes, before, self._bid_ask_key, self._bid_ask)
        return self._changed(changes, before, _mid_key, self._mid)

    def _bid_ask_key(self, quote: QuoteTick | None) -> tuple:
        """What a BID_ASK tick reports: prices, and sizes unless ignoreSize."""
        if quote is None:
            return ()
        sizes = () if self.ignore_size else (quote.bid_size, quote.ask_size)
        return (quote.bid, quote.ask, *sizes)

    @staticmethod
    def _changed(
        changes: list[QuoteTick],
        before: QuoteTick | None,
        key: Callable[[QuoteTick | None], tuple],
        make: Callable[[QuoteTick], Tick],
    ) -> list[Tick]:
        out: list[Tick] = []
        last = key(before)
        for quote in changes:
            if key(quote) != last:
                out.append(make(quote))
                last = key(quote)
        return out

    def _last(self, trade: Trade) -> HistoricalTickLast:
        tick = HistoricalTickLast()
        tick.time = int(self.tape.epoch(trade.time))
        tick.price, tick.size, tick.exchange = trade.price, trade.size, trade.exchange
        tick.specialConditions = ODD_LOT_CONDITION if trade.odd_lot else ""
        return tick

    def _bid_ask(self, quote: QuoteTick) -> HistoricalTickBidAsk:
        tick = HistoricalTickBidAsk()
        tick.time = int(self.tape.epoch(quote.time))
        tick.priceBid, tick.priceAsk = quote.bid, quote.ask
        tick.sizeBid, tick.sizeAsk = quote.bid_size, quote.ask_size
        return tick

    def _mid(self, quote: QuoteTick) -> HistoricalTick:
        tick = HistoricalTick()
        tick.time = int(self.tape.epoch(quote.time))
        tick.price = quote.mid
        tick.size = Decimal(0)
        return tick


def _mid_key(quote: QuoteTick | None) -> tuple:
    return () if quote is None else (quote.mid,)


def _whole_seconds(ticks: list[Tick], count: int, keep_first: bool) -> list[Tick]:
    """``count`` ticks from the front (or the back), and the rest of the last second taken."""
    if len(ticks) <= count:
        return ticks
    if keep_first:
        cut = count
        while cut < len(ticks) and ticks[cut].time == ticks[count - 1].time:
            cut += 1
        return ticks[:cut]
    cut = len(ticks) - count
    while cut > 0 and ticks[cut - 1].time == ticks[cut].time:
        cut -= 1
    return ticks[cut:]
