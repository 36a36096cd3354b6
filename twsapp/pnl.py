"""Per-strategy P&L: first in, first out within one strategy, commissions included.

Averaging across the account mixes strategies (a bracket that lost $31.80 showed −27.45), so
each strategy keeps its own ledger of its own fills, in the order the book reported them:

- a fill opens a lot, or closes the oldest lots of the other side first (a fill bigger than the
  position closes it and opens the rest the other way);
- a fill's commission is spread over its shares: the shares that close a lot pay theirs into
  realized at once; the shares that open one carry theirs in the lot's cost (as TWS's avgCost
  does) and pay it into realized when the lot is closed;
- realized is therefore net of every commission of closed shares, unrealized net of those of
  open ones, and realized + unrealized = trading gains − every commission;
- a commission that arrives late, or is reported again with another amount, counts as if it
  had come with its fill: the ledger keeps the fills and replays them, it never patches totals.

Unrealized P&L needs a current price: a ``PriceSource`` (``last_price(con_id)``, to be fed by
market data), else the last price this strategy itself traded the contract at. Prices and
money are computed in Decimal from the digits TWS sent, so hand computations match exactly.

Pure: no I/O. The ledger has a lock of its own: fills arrive on the thread delivering the
book's events while the strategy reads from its own.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import pandas as pd

from .book.model import Fill

__all__ = [
    "PNL_COLUMNS",
    "LastFillPrices",
    "PnlLine",
    "PnlTotals",
    "PriceSource",
    "StrategyPnl",
    "pnl_df",
    "totals",
]

_ZERO = Decimal(0)


class PriceSource(Protocol):
    """Where unrealized P&L takes the current price of a contract (None: not known)."""

    def last_price(self, con_id: int) -> float | None: ...


class LastFillPrices:
    """A PriceSource from executions: the latest price each contract traded at in the book.

    The engine feeds it every fill it sees (any strategy's, any order's); market data can
    ``set`` fresher prices until a quote-based source replaces it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prices: dict[int, float] = {}

    def observe(self, fill: Fill) -> None:
        if fill.con_id is not None and fill.price is not None:
            self.set(fill.con_id, fill.price)

    def set(self, con_id: int, price: float) -> None:
        with self._lock:
            self._prices[con_id] = price

    def last_price(self, con_id: int) -> float | None:
        with self._lock:
            return self._prices.get(con_id)


@dataclass(frozen=True, slots=True)
class PnlLine:
    """One contract of one strategy."""

    con_id: int | None
    symbol: str
    position: Decimal  # signed: negative when short
    avg_cost: float | None  # per share, the open lots' commissions included; None when flat
    last_price: float | None  # the price unrealized is taken at
    realized: float
    unrealized: float | None  # None when a position is open and no price is known
    commissions: float  # every commission known of this contract's fills
    fills: int


@dataclass(frozen=True, slots=True)
class PnlTotals:
    """A strategy's lines added up (unrealized None when one line's is unknown)."""

    realized: float
    unrealized: float | None
    commissions: float
    fills: int


@dataclass
class _Lot:
    sign: int  # +1 long, -1 short
    quantity: Decimal  # still open
    price: Decimal
    commission: Decimal  # per share, paid when opened

    def net(self, price: Decimal, quantity: Decimal) -> Decimal:
        """What closing `quantity` of it at `price` makes, its opening commission paid."""
        return ((price - self.price) * self.sign - self.commission) * quantity

    @property
    def cost(self) -> Decimal:
        """Its cost (long) or proceeds (short), commission included."""
        return (self.price + self.sign * self.commission) * self.quantity


@dataclass
class _Contract:
    """FIFO state of one contract, rebuilt from the fills whenever one changes."""

    con_id: int | None
    symbol: str
    lots: deque[_Lot] = field(default_factory=deque)
    realized: Decimal = _ZERO
    commissions: Decimal = _ZERO
    fills: int = 0
    last_price: Decimal | None = None

    def add(self, fill: Fill, commission: Decimal) -> None:
        sign = 1 if fill.side == "BOT" else -1
        price = _dec(fill.price)
        per_share = commission / fill.shares if fill.shares else _ZERO
        left = fill.shares
        while left and self.lots and self.lots[0].sign != sign:
            lot = self.lots[0]
            closed = min(left, lot.quantity)
            self.realized += lot.net(price, closed) - per_share * closed
            lot.quantity -= closed
            left -= closed
            if not lot.quantity:
                self.lots.popleft()
        if left:
            self.lots.append(_Lot(sign, left, price, per_share))
        self.commissions += commission
        self.fills += 1
        self.last_price = price

    def line(self, mark: float | None) -> PnlLine:
        position = sum((lot.sign * lot.quantity for lot in self.lots), _ZERO)
        size = abs(position)
        avg_cost = unrealized = None
        if size:
            avg_cost = float(sum((lot.cost for lot in self.lots), _ZERO) / size)
        price = _dec(mark) if mark is not None else self.last_price
        if price is not None:
            unrealized = float(sum((lot.net(price, lot.quantity) for lot in self.lots), _ZERO))
        elif not size:
            unrealized = 0.0
        return PnlLine(
            con_id=self.con_id,
            symbol=self.symbol,
            position=position,
            avg_cost=avg_cost,
            last_price=float(price) if price is not None else None,
            realized=float(self.realized),
            unrealized=unrealized,
            commissions=float(self.commissions),
            fills=self.fills,
        )


class StrategyPnl:
    """One strategy's fills and commissions, and the P&L they make (module docstring)."""

    def __init__(self, prices: PriceSource | None = None) -> None:
        self.prices = prices
        self._lock = threading.Lock()
        self._fills: dict[str, Fill] = {}  # by execId
        self._order: list[str] = []  # execIds, in the order the book reported them
        self._commissions: dict[str, Decimal] = {}  # by execId, the latest amount reported
        self._state: dict[int | str, _Contract] | None = None  # None: replay needed

    def add_fill(self, fill: Fill, replaces: Fill | None = None) -> None:
        """A new execution; a correction (``replaces``) takes the place of the one it corrects."""
        with self._lock:
            old = replaces.exec_id if replaces is not None else None
            if old is not None and old in self._fills and old != fill.exec_id:
                self._order[self._order.index(old)] = fill.exec_id
                del self._fills[old]
            elif fill.exec_id not in self._fills:
                self._order.append(fill.exec_id)
            self._fills[fill.exec_id] = fill
            if fill.commission is not None:
                self._commissions[fill.exec_id] = _dec(fill.commission)
            self._state = None

    def add_commission(self, exec_id: str, commission: float | None) -> None:
        """A commission report, whenever it arrives (before its fill, after, or again)."""
        if commission is None:
            return
        with self._lock:
            self._commissions[exec_id] = _dec(commission)
            self._state = None

    def lines(self) -> list[PnlLine]:
        """One line per contract traded, in the order first traded."""
        with self._lock:
            contracts = list(self._replayed().values())
        return [c.line(self._mark(c.con_id)) for c in contracts]

    def line(self, con_id: int) -> PnlLine | None:
        return next((line for line in self.lines() if line.con_id == con_id), None)

    def totals(self) -> PnlTotals:
        return totals(self.lines())

    def frame(self, strategy: str = "") -> pd.DataFrame:
        return pnl_df({strategy: self})

    def _mark(self, con_id: int | None) -> float | None:
        if self.prices is None or con_id is None:
            return None
        return self.prices.last_price(con_id)

    def _replayed(self) -> dict[int | str, _Contract]:
        if self._state is None:
            state: dict[int | str, _Contract] = {}
            for fill in (self._fills[exec_id] for exec_id in self._order):
                key = fill.con_id if fill.con_id is not None else fill.symbol
                contract = state.setdefault(key, _Contract(fill.con_id, fill.symbol))
                contract.add(fill, self._commissions.get(fill.exec_id, _ZERO))
            self._state = state
        return self._state


def totals(lines: Iterable[PnlLine]) -> PnlTotals:
    """Lines added up; unrealized None when one line's is unknown."""
    lines = list(lines)
    unknown = any(line.unrealized is None for line in lines)
    return PnlTotals(
        realized=sum((line.realized for line in lines), 0.0),
        unrealized=None if unknown else sum((line.unrealized or 0.0 for line in lines), 0.0),
        commissions=sum((line.commissions for line in lines), 0.0),
        fills=sum(line.fills for line in lines),
    )


PNL_COLUMNS = [
    "strategy",
    "symbol",
    "con_id",  # Int64 | <NA>
    "position",  # float, signed
    "avg_cost",  # float | NaN when flat: per share, the open lots' commissions included
    "last_price",  # float | NaN: the price unrealized is taken at
    "realized",  # float: FIFO, net of the commissions of closed shares
    "unrealized",  # float | NaN: net of the commissions of open shares
    "commissions",  # float: every commission known
    "fills",  # int
]


def pnl_df(ledgers: Mapping[str, StrategyPnl]) -> pd.DataFrame:
    """One row per strategy and contract; PNL_COLUMNS, with their dtypes even when empty."""
    rows = [
        {"strategy": name, **{c: getattr(line, c) for c in PNL_COLUMNS[1:]}}
        for name, ledger in ledgers.items()
        for line in ledger.lines()
    ]
    frame = pd.DataFrame(rows, columns=PNL_COLUMNS)
    floats = ("position", "avg_cost", "last_price", "realized", "unrealized", "commissions")
    return frame.astype({"con_id": "Int64", "fills": "int64", **dict.fromkeys(floats, "float64")})


def _dec(value: float | int | Decimal | None) -> Decimal:
    """The exact decimal of the digits TWS sent (the shortest repr of a float)."""
    if value is None:
        return _ZERO
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(float(value)))
