"""Market data for the app: quotes, bars and history, each stream a subscription of the session.

A stream's callbacks (``on_quote``, ``on_bar``, ``on_error``) run on the thread that handles
what TWS sent (``tws-reader`` or ``tws-api``, session/inbox.py): they must return quickly and
never block (a strategy's context hands them to its own thread). Every stream can be read at any
time (``quote``, ``last_bar``, ``state``, ``error``) and cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from .book.cleaning import clean_decimal, clean_float
from .events import Event
from .quotes import Bar, BarAggregator, Quote

if TYPE_CHECKING:
    from ibapi.contract import Contract

    from .session import TwsApp
    from .session.subscriptions import Subscription

QuoteHandler = Callable[[Quote], Any]
BarHandler = Callable[[Bar], Any]
ErrorHandler = Callable[[int, str], Any]

#: What each historical-data and real-time-bar request may show (TWS's own spellings).
WHAT_TO_SHOW = ("TRADES", "MIDPOINT", "BID", "ASK", "ADJUSTED_LAST")
HISTORY_COLUMNS = ["open", "high", "low", "close", "volume", "wap", "count"]

#: TWS's bar size strings by length in seconds: what a stream with history can ask for.
BAR_SIZES = {
    5: "5 secs", 10: "10 secs", 15: "15 secs", 30: "30 secs", 60: "1 min", 120: "2 mins",
    180: "3 mins", 300: "5 mins", 600: "10 mins", 900: "15 mins", 1200: "20 mins",
    1800: "30 mins", 3600: "1 hour", 7200: "2 hours", 10800: "3 hours", 14400: "4 hours",
    28800: "8 hours", 86400: "1 day",
}  # fmt: skip

NOT_SUBSCRIBED = 354
DELAYED_INSTEAD = 10167


class PriceSink(Protocol):
    """Where streams report each contract's latest price (unrealized P&L reads it)."""

    def set(self, con_id: int, price: float) -> None: ...


# ---------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class DataEvent(Event):
    """Something one market-data stream received; it goes to that stream's subscriber only."""

    symbol: str
    con_id: int


@dataclass(frozen=True, kw_only=True)
class BarEvent(DataEvent):
    """A bar of `seconds` closed (its whole period seen)."""

    seconds: int
    bar: Bar
    historical: bool = False  # a bar of the history a stream started with, not a live one

    def describe(self) -> str:
        b = self.bar
        return (f"{self.seconds}s bar {self.symbol} {b.time:%H:%M:%S} o={b.open:g} h={b.high:g} "
                f"l={b.low:g} c={b.close:g} v={b.volume}")  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class TickEvent(DataEvent):
    """The quote changed: `quote` is the whole quote after the tick."""

    quote: Quote

    def describe(self) -> str:
        q = self.quote
        return f"tick {self.symbol} bid={q.bid} ask={q.ask} last={q.last}"


@dataclass(frozen=True, kw_only=True)
class DataError(DataEvent):
    """TWS refused or degraded a stream (354 not subscribed, 10167 delayed instead, ...);
    `message` says what it means and what to do."""

    code: int
    text: str
    message: str
    ended: bool  # the stream is over (it will send nothing more)

    def describe(self) -> str:
        return self.message


def data_error_text(symbol: str, code: int, text: str) -> str:
    """What a market-data error means for its subscriber, with what to do about it."""
    if code == NOT_SUBSCRIBED:
        return (
            f"{symbol}: market data is not subscribed for this account (TWS 354: {text}). "
            "Subscribe to it in IB's Account Management, or ask for delayed data "
            "(MarketData.set_data_type(3))"
        )
    if code == DELAYED_INSTEAD:
        return (
            f"{symbol}: real-time data is not subscribed, TWS sends delayed data instead "
            f"(TWS 10167: {text})"
        )
    return f"{symbol}: TWS {code}: {text}"


class Stream:
    """One market-data subscription: its state, its last error, and a way to cancel it."""

    def __init__(
        self, market: MarketData, contract: Contract, on_error: ErrorHandler | None
    ) -> None:
        self._market = market
        self.symbol = contract.symbol or str(contract.conId)
        self.con_id = int(contract.conId or 0)
        self._on_error = on_error
        self.subscription: Subscription | None = None
        self._cancel_request: Callable[[int], None] = lambda _req_id: None
        self.messages: list[str] = []  # every error and warning, explained

    @property
    def state(self) -> str:
        return self.subscription.state.value if self.subscription else "opening"

    @property
    def active(self) -> bool:
        return self.subscription is not None and self.subscription.active

    @property
    def error(self) -> str:
        """The failure that ended the stream, explained; "" while it has none."""
        sub = self.subscription
        if sub is None or sub.error is None:
            return ""
        return data_error_text(self.symbol, *sub.error)

    def cancel(self) -> None:
        if self.subscription is not None:
            self._market.app.subscriptions.cancel(self.subscription.req_id, self._cancel_request)

    def _error(self, code: int, text: str) -> None:
        self.messages.append(data_error_text(self.symbol, code, text))
        if self._on_error is not None:
            self._on_error(code, text)


class QuoteStream(Stream):
    """reqMktData: the latest quote, updated tick by tick."""

    def __init__(
        self, market: MarketData, contract: Contract, on_quote: QuoteHandler | None, on_error: Any
    ) -> None:
        super().__init__(market, contract, on_error)
        self.quote = Quote(self.symbol)
        self.snapshot_done = threading.Event()
        self._on_quote = on_quote

    def _data(self, name: str, args: tuple[Any, ...]) -> None:
        if name == "tickSnapshotEnd":
            self.snapshot_done.set()
            return
        quote = self.quote.apply(name, args, datetime.now(UTC))
        if quote is not self.quote:
            self.quote = quote
            price = quote.last if quote.last is not None else quote.mid
            if price is not None:
                self._market.saw_price(self.con_id, price)
            if self._on_quote is not None:
                self._on_quote(quote)


class BarStream(Stream):
    """reqRealTimeBars: 5-second bars, aggregated to `seconds`."""

    def __init__(
        self,
        market: MarketData,
        contract: Contract,
        seconds: int,
        on_bar: BarHandler | None,
        on_error: Any,
    ) -> None:
        super().__init__(market, contract, on_error)
        self._aggregator = BarAggregator(seconds)
        self.seconds = seconds
        self.last_bar: Bar | None = None
        self._on_bar = on_bar

    def _data(self, name: str, args: tuple[Any, ...]) -> None:
        if name != "realtimeBar":
            return
        five = Bar.from_realtime(args)
        self._market.saw_price(self.con_id, five.close)
        for bar in self._aggregator.add(five):
            self.last_bar = bar
            if self._on_bar is not None:
                self._on_bar(bar)


class HistoryBarStream(Stream):
    """reqHistoricalData with keepUpToDate: the history's bars, then each bar once it is
    complete, with no gap and no overlap between the two (TWS continues the history's last,
    unfinished bar with updates). A bar is complete when an update for a later bar arrives."""

    def __init__(
        self,
        market: MarketData,
        contract: Contract,
        seconds: int,
        zone: ZoneInfo,
        on_bar: Callable[[Bar, bool], Any] | None,
        on_error: Any,
    ) -> None:
        super().__init__(market, contract, on_error)
        self.seconds = seconds
        self.last_bar: Bar | None = None
        self.history_done = threading.Event()
        self._zone = zone
        self._history: list[Bar] = []
        self._current: Bar | None = None  # the bar still being updated
        self._on_bar = on_bar

    def _data(self, name: str, args: tuple[Any, ...]) -> None:
        if name == "historicalData":
            self._history.append(_bar(args[0], self._zone))
        elif name == "historicalDataEnd":
            bars, self._history = self._history, []
            if bars:
                self._current = bars.pop()  # TWS's last history bar is the unfinished one
            for bar in bars:
                self._emit(bar, True)
            self.history_done.set()
        elif name == "historicalDataUpdate":
            bar = _bar(args[0], self._zone)
            current = self._current
            if current is not None and bar.time < current.time:
                return  # an update of a bar already complete
            if current is not None and bar.time > current.time:
                self._emit(current, False)
            self._current = bar
            self._market.saw_price(self.con_id, bar.close)

    def _emit(self, bar: Bar, historical: bool) -> None:
        if self.last_bar is not None and bar.time <= self.last_bar.time:
            return  # asked for again after a reconnect: its history repeats what was shown
        self.last_bar = bar
        if self._on_bar is not None:
            self._on_bar(bar, historical)


class MarketData:
    """Quotes, bars and history through one TwsApp; `prices`, if given, is told every
    contract's latest price (a quote's last or midpoint, a bar's close)."""

    def __init__(self, app: TwsApp, prices: PriceSink | None = None) -> None:
        self.app = app
        self.prices = prices

    def saw_price(self, con_id: int, price: float) -> None:
        if self.prices is not None and con_id:
            self.prices.set(con_id, price)

    def set_data_type(self, data_type: int) -> None:
        """reqMarketDataType: 1 live, 2 frozen, 3 delayed, 4 delayed frozen (for what follows)."""
        if data_type not in (1, 2, 3, 4):
            raise ValueError(f"market data type {data_type!r}: use 1 live, 2 frozen, 3 delayed "
                             "or 4 delayed frozen")  # fmt: skip
        self.app.market_data_type = data_type  # asked again after every reconnect
        self.app.ibapi.reqMarketDataType(data_type)

    def quotes(
        self,
        target: Any,
        *,
        snapshot: bool = False,
        generic_ticks: str = "",
        on_quote: QuoteHandler | None = None,
        on_error: ErrorHandler | None = None,
    ) -> QuoteStream:
        """Stream quotes (reqMktData); ``snapshot``: the current values once, then it ends."""
        contract = self._contract(target)
        stream = QuoteStream(self, contract, on_quote, on_error)
        client = self.app.ibapi
        stream._cancel_request = client.cancelMktData
        stream.subscription = self.app.subscriptions.open(
            f"quotes of {stream.symbol}",
            lambda req_id: client.reqMktData(req_id, contract, generic_ticks, snapshot, False, []),
            on_data=stream._data,
            on_error=stream._error,
        )
        return stream

    def bars(
        self,
        target: Any,
        seconds: int = 5,
        what: str = "TRADES",
        *,
        use_rth: bool = False,
        on_bar: BarHandler | None = None,
        on_error: ErrorHandler | None = None,
    ) -> BarStream:
        """Stream bars of `seconds` (a multiple of 5) built from TWS's 5-second bars."""
        if what not in WHAT_TO_SHOW[:4]:
            raise ValueError(f"real-time bars of {what!r}: use TRADES, MIDPOINT, BID or ASK")
        BarAggregator(seconds)  # a bad size is refused before any request
        contract = self._contract(target)
        stream = BarStream(self, contract, seconds, on_bar, on_error)
        symbol = stream.symbol
        client = self.app.ibapi
        stream._cancel_request = client.cancelRealTimeBars
        stream.subscription = self.app.subscriptions.open(
            f"{seconds}-second bars of {symbol}",
            lambda req_id: client.reqRealTimeBars(req_id, contract, 5, what, use_rth, []),
            on_data=stream._data,
            on_error=stream._error,
        )
        return stream

    def bars_with_history(
        self,
        target: Any,
        seconds: int,
        duration: str,
        what: str = "TRADES",
        *,
        use_rth: bool = False,
        on_bar: Callable[[Bar, bool], Any] | None = None,
        on_error: ErrorHandler | None = None,
    ) -> HistoryBarStream:
        """``duration`` of history, then live bars of ``seconds`` (one of TWS's bar sizes,
        BAR_SIZES) as they complete: ``on_bar(bar, historical)``."""
        if seconds not in BAR_SIZES:
            sizes = ", ".join(str(s) for s in BAR_SIZES)
            raise ValueError(f"bars of {seconds} s with history: TWS's bar sizes are {sizes} s")
        if what not in WHAT_TO_SHOW[:4]:
            raise ValueError(f"bars of {what!r}: use TRADES, MIDPOINT, BID or ASK")
        details = self.app.contracts.resolve(target)
        contract = details.contract
        stream = HistoryBarStream(self, contract, seconds, _zone(details.timeZoneId), on_bar,
                                  on_error)  # fmt: skip
        client = self.app.ibapi
        stream._cancel_request = client.cancelHistoricalData
        size = BAR_SIZES[seconds]
        stream.subscription = self.app.subscriptions.open(
            f"{size} bars of {stream.symbol} with {duration} of history",
            lambda req_id: client.reqHistoricalData(
                req_id, contract, "", duration, size, what, int(use_rth), 2, True, []
            ),
            on_data=stream._data,
            on_error=stream._error,
        )
        return stream

    def history(
        self,
        target: Any,
        duration: str = "1 D",
        bar_size: str = "1 min",
        what: str = "TRADES",
        *,
        use_rth: bool = True,
        end: str = "",
        timeout: float | None = None,
    ) -> pd.DataFrame:
        """reqHistoricalData, as a frame indexed by each bar's start, in the contract's own
        time zone; columns HISTORY_COLUMNS. Raises RequestError (e.g. 162) or RequestTimeout."""
        if what not in WHAT_TO_SHOW:
            raise ValueError(f"history of {what!r}: use one of {', '.join(WHAT_TO_SHOW)}")
        details = self.app.contracts.resolve(target)
        contract = details.contract
        client = self.app.ibapi
        answer = self.app.request(
            f"history of {contract.symbol} ({duration}, {bar_size}, {what})",
            lambda req_id: client.reqHistoricalData(
                req_id, contract, end, duration, bar_size, what, int(use_rth), 2, False, []
            ),
            timeout,
        )
        bars = [item[1] for item in answer if item[0] == "historicalData"]
        return history_frame(bars, _zone(details.timeZoneId))

    def _contract(self, target: Any) -> Contract:
        return self.app.contracts.resolve(target).contract


def history_frame(bars: list[Any], zone: ZoneInfo) -> pd.DataFrame:
    """ibapi BarData (formatDate 2: epoch seconds, or yyyymmdd for daily and longer bars) as a
    frame with a time-zone-aware index."""
    index = [_bar_time(str(bar.date), zone) for bar in bars]
    rows = [
        {
            "open": bar.open,
            "high": bar.high,
            "low": bar.low,
            "close": bar.close,
            "volume": _number(bar.volume),
            "wap": _number(bar.wap),
            "count": int(bar.barCount),
        }
        for bar in bars
    ]
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS, index=pd.DatetimeIndex(index, name="time"))
    if frame.empty:
        frame.index = pd.DatetimeIndex([], tz=zone, name="time")
    return frame.astype({c: "float64" for c in HISTORY_COLUMNS if c != "count"})


def _bar(bar: Any, zone: ZoneInfo) -> Bar:
    """ibapi's BarData as a Bar (time: its start, UTC)."""
    return Bar(
        _bar_time(str(bar.date), zone).to_pydatetime().astimezone(UTC),
        bar.open, bar.high, bar.low, bar.close,
        clean_decimal(bar.volume) or Decimal(0),
        clean_decimal(bar.wap) if isinstance(bar.wap, Decimal) else None,
        int(bar.barCount),
    )  # fmt: skip


def _bar_time(text: str, zone: ZoneInfo) -> pd.Timestamp:
    text = text.strip()
    if len(text) == 8 and text.isdigit():  # a day (or longer) bar: its date, where it trades
        return pd.Timestamp(datetime.strptime(text, "%Y%m%d").replace(tzinfo=zone))
    return pd.Timestamp(int(text), unit="s", tz=UTC).tz_convert(zone)


def _number(value: Any) -> float:
    number = clean_decimal(value) if isinstance(value, Decimal) else clean_float(value)
    return float(number) if number is not None else float("nan")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


__all__ = [
    "BAR_SIZES",
    "WHAT_TO_SHOW",
    "BarEvent",
    "BarStream",
    "DataError",
    "DataEvent",
    "HistoryBarStream",
    "MarketData",
    "PriceSink",
    "QuoteStream",
    "Stream",
    "TickEvent",
    "data_error_text",
    "history_frame",
]
