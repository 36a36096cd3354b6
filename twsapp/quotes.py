"""What market data says, kept as plain values: a quote from ticks, bars, bars of bars.

Pure: no socket, no thread. The market data service (marketdata.py) feeds these from the
session's subscriptions; tests feed them directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ibapi.ticktype import TickTypeEnum as T

from .book.cleaning import clean_decimal, clean_float

#: Tick type -> the quote field it sets. Delayed ticks (66 ..) set the same fields: which kind
#: of data a quote holds is its `data_type` (1 live, 2 frozen, 3 delayed, 4 delayed frozen).
PRICE_TICKS = {
    T.BID: "bid", T.DELAYED_BID: "bid",
    T.ASK: "ask", T.DELAYED_ASK: "ask",
    T.LAST: "last", T.DELAYED_LAST: "last",
    T.HIGH: "high", T.DELAYED_HIGH: "high",
    T.LOW: "low", T.DELAYED_LOW: "low",
    T.CLOSE: "close", T.DELAYED_CLOSE: "close",
    T.OPEN: "open", T.DELAYED_OPEN: "open",
}  # fmt: skip
SIZE_TICKS = {
    T.BID_SIZE: "bid_size", T.DELAYED_BID_SIZE: "bid_size",
    T.ASK_SIZE: "ask_size", T.DELAYED_ASK_SIZE: "ask_size",
    T.LAST_SIZE: "last_size", T.DELAYED_LAST_SIZE: "last_size",
    T.VOLUME: "volume", T.DELAYED_VOLUME: "volume",
}  # fmt: skip
TIME_TICKS = frozenset({T.LAST_TIMESTAMP, T.DELAYED_LAST_TIMESTAMP})

DATA_TYPES = {1: "live", 2: "frozen", 3: "delayed", 4: "delayed frozen"}


@dataclass(frozen=True, slots=True)
class Quote:
    """The latest market values of one instrument; None where TWS has sent nothing (or -1,
    its "no price")."""

    symbol: str
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    last_size: Decimal | None = None
    volume: Decimal | None = None
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float | None = None
    last_time: datetime | None = None
    data_type: int = 1
    updated: datetime | None = None

    @property
    def mid(self) -> float | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2

    def apply(self, name: str, args: tuple[Any, ...], now: datetime) -> Quote:
        """The quote after one tick callback (tickPrice, tickSize, tickString, marketDataType);
        itself when the callback says nothing a quote holds."""
        changes: dict[str, Any] = {}
        if name == "tickPrice":
            field = PRICE_TICKS.get(args[0])
            price = clean_float(args[1])
            if field is not None:
                changes[field] = price if price is not None and price > 0 else None
        elif name == "tickSize":
            field = SIZE_TICKS.get(args[0])
            if field is not None:
                changes[field] = clean_decimal(args[1])
        elif name == "tickString" and args[0] in TIME_TICKS:
            changes["last_time"] = _epoch(args[1])
        elif name == "marketDataType":
            changes["data_type"] = int(args[0])
        if not changes:
            return self
        return replace(self, **changes, updated=now)


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar; `time` is when it starts (UTC)."""

    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: Decimal
    wap: Decimal | None = None
    count: int = 0

    @classmethod
    def from_realtime(cls, args: tuple[Any, ...]) -> Bar:
        """realtimeBar's arguments: time (epoch s), open, high, low, close, volume, wap, count."""
        time, open_, high, low, close, volume, wap, count = args
        return cls(
            datetime.fromtimestamp(int(time), UTC),
            open_, high, low, close,
            clean_decimal(volume) or Decimal(0),
            clean_decimal(wap),
            int(count),
        )  # fmt: skip


class BarAggregator:
    """5-second bars in, bars of `seconds` out (a multiple of 5), aligned on the clock: a 1-min
    bar holds the twelve 5-second bars from hh:mm:00 to hh:mm:55 and is complete with the last
    of them. A bar with missing 5-second bars (no trade, a gap) is still closed by the first
    5-second bar of a later period.

    The period a subscription starts in is seen only in part: it is not emitted, so every bar
    out covers its whole period (history fills what came before, marketdata.py)."""

    def __init__(self, seconds: int) -> None:
        if seconds < 5 or seconds % 5:
            raise ValueError(f"bar size {seconds!r} s: use a multiple of 5 seconds (5, 60, 300 ..)")
        self.seconds = seconds
        self._open: Bar | None = None
        self._wap_value = Decimal(0)
        self._first_start: datetime | None = None  # the partly seen period, dropped

    def add(self, bar: Bar) -> list[Bar]:
        """The bars this 5-second bar completes (none, or one; two when it also closes an
        earlier incomplete one)."""
        if self.seconds == 5:
            return [bar]
        done: list[Bar] = []
        start = _floor(bar.time, self.seconds)
        if self._first_start is None:
            self._first_start = start if bar.time != start else _NEVER
        if start == self._first_start:
            return []
        current = self._open
        if current is not None and current.time != start:
            done.append(self._close())
            current = None
        if current is None:
            self._open = replace(bar, time=start)
            self._wap_value = (bar.wap or Decimal(0)) * bar.volume
        else:
            volume = current.volume + bar.volume
            self._wap_value += (bar.wap or Decimal(0)) * bar.volume
            self._open = replace(
                current,
                high=max(current.high, bar.high),
                low=min(current.low, bar.low),
                close=bar.close,
                volume=volume,
                count=current.count + bar.count,
            )
        if (bar.time.timestamp() + 5) % self.seconds == 0:
            done.append(self._close())
        return done

    def _close(self) -> Bar:
        bar = self._open
        assert bar is not None
        self._open = None
        wap = self._wap_value / bar.volume if bar.volume else bar.wap
        return replace(bar, wap=wap)


_NEVER = datetime.min.replace(tzinfo=UTC)


def _floor(moment: datetime, seconds: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def _epoch(text: str) -> datetime | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(value, UTC) if math.isfinite(value) else None
