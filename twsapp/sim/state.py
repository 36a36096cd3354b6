"""The state every part of the exchange shares, declared once, and the helpers they call on
each other.

``Exchange`` is assembled from mixins (``entry``, ``matching``, ``groups``, ``portfolio``,
``queries``, ``marketdata``), each of which reads and writes the same orders, fills, accounts,
market data subscriptions and client sinks, and reads the same tape.
They all inherit ``ExchangeState`` so that this state is initialised in one place and a type
checker sees it in every mixin. A helper one part implements and another calls is declared here
as abstract: ``Exchange`` cannot be instantiated while one is missing, and a changed signature is
caught where the implementation disagrees with its declaration.
"""

from __future__ import annotations

import random
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from ibapi.contract import Contract
from ibapi.order import Order

from . import messages as m
from .accounts import Account, Holding
from .clock import SimClock
from .fa import Allocation, FaGroup
from .hist_stream import HistoryBook
from .instruments import Catalog, Instrument
from .prices import PriceModel
from .records import BarStream, Fill, MultiSub, PnLStream, QuoteLine, SimOrder, TickStream
from .rules import Refusal
from .tape import Tape
from .triggers import Look

Sink = Callable[[list[m.Message]], None]


class ExchangeState(ABC):
    """One TWS instance's state: orders of every client, fills, accounts, subscriptions."""

    catalog: Catalog
    prices: PriceModel
    tape: Tape  # trades and quotes of every instrument, from ``prices``: what fills and shows
    clock: SimClock
    account_ids: list[str]
    accounts: dict[str, Account]
    display_size: Decimal | None
    master_client_id: int | None
    # Held while any request, clock step or TWS-window order changes the state below, so each
    # client's sink receives messages in exchange order.
    lock: threading.RLock
    next_ids: dict[int, int]  # client id -> the next id nextValidId offers
    max_used: dict[int, int]  # client id -> the highest order id it has used
    orders: dict[tuple[int, int], SimOrder]  # (client id, order id); (UNBOUND, permId) for UI
    # Indexes over ``orders``, so that a request costs the same with 10 or 10,000 orders held:
    # the orders not done yet (permId -> order; done ones are dropped when next met), bracket
    # children by (client id, parent order id), OCA members by group name.
    _live: dict[int, SimOrder]
    _kids: dict[tuple[int, int], dict[int, SimOrder]]
    _oca: dict[str, dict[int, SimOrder]]
    fills: list[Fill]
    _sinks: dict[int, Sink]  # connected client id -> where its messages go
    _position_subs: set[int]
    _account_subs: dict[int, str]  # client id -> account ("" = the first)
    _auto_bind: set[int]  # client ids that asked reqAutoOpenOrders(True)
    _last_bound: int  # the last (negative) order id given to a bound TWS-window order
    _next_perm: int
    _exec_prefix: str
    _exec_seq: int
    _step: int  # simulated seconds processed since the clock's start
    _data_types: dict[int, int]  # client id -> its reqMarketDataType (1 live if never asked)
    _lines: dict[tuple[int, int], QuoteLine]  # (client id, reqId) -> reqMktData subscription
    _tick_streams: dict[tuple[int, int], TickStream]  # reqTickByTickData subscriptions
    _bar_streams: dict[tuple[int, int], BarStream]  # reqRealTimeBars subscriptions
    _pnl_streams: dict[tuple[int, int], PnLStream]  # reqPnL and reqPnLSingle subscriptions
    _history: HistoryBook  # keepUpToDate requests, historical data pacing, days already built
    # What triggers see of a second, by (conId, second, trades too): one computation per
    # instrument and second however many orders watch it (working.py; bounded, cleared).
    _looks: dict[tuple[int, int, bool], Look]
    fa_groups: dict[str, FaGroup]  # an advisor login's allocation groups, by name (advisor.py)
    fa_aliases: dict[str, str]  # account -> alias (requestFA 3)
    # (client id, reqId) -> reqAccountUpdatesMulti / reqPositionsMulti subscription (multi.py)
    _account_multi: dict[tuple[int, int], MultiSub]
    _position_multi: dict[tuple[int, int], MultiSub]

    def __init__(
        self,
        catalog: Catalog,
        prices: PriceModel,
        clock: SimClock,
        accounts: list[str],
        seed: int = 42,
        display_size: Decimal | None = None,
        master_client_id: int | None = None,
        fa_groups: Iterable[FaGroup] = (),
    ) -> None:
        self.catalog = catalog
        self.prices = prices
        self.tape = Tape(catalog, prices, clock.start)
        self.clock = clock
        self.account_ids = list(accounts)
        self.accounts = {a: Account(a) for a in accounts}
        self.display_size = display_size
        self.master_client_id = master_client_id
        self.lock = threading.RLock()
        rng = random.Random(seed)
        self._next_perm = rng.randrange(1_000_000_000, 1_900_000_000)
        self._exec_prefix = f"{rng.randrange(0x10000000, 0xFFFFFFFF):08x}"
        self._exec_seq = rng.randrange(0x10000000, 0x7FFFFFFF)
        self._step = 0
        self.next_ids = {}
        self.max_used = {}
        self.orders = {}
        self._live = {}
        self._kids = {}
        self._oca = {}
        self.fills = []
        self._sinks = {}
        self._position_subs = set()
        self._account_subs = {}
        self._auto_bind = set()
        self._last_bound = 0
        self._data_types = {}
        self._lines = {}
        self._tick_streams = {}
        self._bar_streams = {}
        self._pnl_streams = {}
        self._history = HistoryBook()
        self._looks = {}
        self.fa_groups = {g.name: g for g in fa_groups}
        self.fa_aliases = {}
        self._account_multi = {}
        self._position_multi = {}

    # ------------------------------------------------------------------ helpers on state alone

    def _emit(self, client_id: int, batch: list[m.Message]) -> None:
        sink = self._sinks.get(client_id)
        if sink is not None and batch:
            sink(batch)

    def _emit_order(self, so: SimOrder, batch: list[m.Message]) -> None:
        """To the order's client (once bound) and to the master client, which sees every order."""
        if so.bound:
            self._emit(so.client_id, batch)
        master = self.master_client_id
        if master is not None and master != so.client_id:
            self._emit(master, batch)

    def _error(self, client_id: int, req_id: int, refusal: Refusal) -> None:
        self._emit(
            client_id, [m.ErrorMsg(req_id, refusal.code, refusal.message, "", self._millis())]
        )

    def _next_id(self, client_id: int) -> int:
        return max(self.next_ids.get(client_id, 1), self.max_used.get(client_id, 0) + 1)

    def _working(self, client_id: int | None) -> list[SimOrder]:
        """Transmitted orders not yet done (held ones are nobody's business until sent)."""
        return [
            so
            for so in self._not_done()
            if not so.held and (client_id is None or so.client_id == client_id)
        ]

    def _not_done(self) -> list[SimOrder]:
        """Every order not done, held ones too, in the order ``orders`` lists them; prunes the
        index of what finished since (done is final), so its size is what is live."""
        live = self._live
        finished = [perm for perm, so in live.items() if so.done]
        for perm in finished:
            del live[perm]
        return list(live.values())

    def _index(self, so: SimOrder) -> None:
        """Enter ``so`` in the indexes as it now is (bound, its parent, its OCA group)."""
        if not so.done:
            self._live.pop(so.perm_id, None)  # a (re)bound order moves to the end, as in orders
            self._live[so.perm_id] = so
        if so.bound and so.order.parentId:
            self._kids.setdefault((so.client_id, so.order.parentId), {})[so.order_id] = so
        if so.order.ocaGroup:
            self._oca.setdefault(so.order.ocaGroup, {})[so.perm_id] = so

    def _unindex(self, so: SimOrder) -> None:
        """Take ``so`` out of the parent and OCA indexes, before its ids or terms change."""
        kids = self._kids.get((so.client_id, so.order.parentId))
        if kids is not None and kids.get(so.order_id) is so:
            del kids[so.order_id]
        members = self._oca.get(so.order.ocaGroup)
        if members is not None:
            members.pop(so.perm_id, None)

    def _moment(self, step: int) -> datetime:
        return self.clock.start + timedelta(seconds=step)

    def _millis(self) -> int:
        return int(self._moment(self._step).timestamp() * 1000)

    # ------------------------------------------------------------------ lifecycle (exchange)

    @abstractmethod
    def _cancel(self, so: SimOrder, by: str = "Trader") -> None: ...

    @abstractmethod
    def _set_status(self, so: SimOrder, status: str) -> None: ...

    @abstractmethod
    def _open_order(self, so: SimOrder, with_commission: bool = False) -> m.OpenOrder: ...

    @abstractmethod
    def _status(self, so: SimOrder) -> m.OrderStatus: ...

    # ------------------------------------------------------------------ entry

    @abstractmethod
    def _bind(self, so: SimOrder) -> None: ...

    @abstractmethod
    def _resolve(self, contract: Contract) -> Instrument: ...

    # ------------------------------------------------------------------ matching

    @abstractmethod
    def _match(self, so: SimOrder, step: int, first: bool) -> None: ...

    @abstractmethod
    def _book_execution(
        self,
        so: SimOrder,
        account_id: str,
        quantity: Decimal,
        price: float,
        traded: datetime,
        step: int,
        commission: float,
        block: bool = False,
    ) -> Fill: ...

    # ------------------------------------------------------------------ advisor accounts

    @abstractmethod
    def _allocate(self, order: Order, instrument: Instrument) -> Allocation | None: ...

    @abstractmethod
    def _reallocated(self, so: SimOrder, order: Order) -> Allocation | None: ...

    @abstractmethod
    def _fa_preview_account(self, order: Order) -> str: ...

    @abstractmethod
    def _allocated_fill(
        self, so: SimOrder, quantity: Decimal, price: float, traded: datetime, step: int
    ) -> tuple[list[Fill], list[Fill]]: ...

    @abstractmethod
    def _multi_after_fill(self, account: Account, holding: Holding) -> None: ...

    # ------------------------------------------------------------------ groups

    @abstractmethod
    def _children(self, parent: SimOrder) -> list[SimOrder]: ...

    @abstractmethod
    def _waits_for_parent(self, so: SimOrder) -> bool: ...

    @abstractmethod
    def _release(self, so: SimOrder) -> None: ...

    @abstractmethod
    def _activate_children(self, parent: SimOrder) -> None: ...

    @abstractmethod
    def _one_cancels_other(self, so: SimOrder, quantity: Decimal) -> None: ...

    @abstractmethod
    def _why_held(self, so: SimOrder) -> str: ...

    @abstractmethod
    def _settle_oca(self, so: SimOrder) -> None: ...

    # ------------------------------------------------------------------ working orders

    @abstractmethod
    def _check_working(self, instrument: Instrument, order: Order, modifying: bool) -> None: ...

    @abstractmethod
    def _start_working(self, so: SimOrder, fresh: bool = True) -> None: ...

    @abstractmethod
    def _cancel_refusal(self, so: SimOrder) -> Refusal | None: ...

    # ------------------------------------------------------------------ time in force, conditions

    @abstractmethod
    def _check_tif(
        self, instrument: Instrument, order: Order, exchange: str, modifying: bool
    ) -> None: ...

    @abstractmethod
    def _check_conditions(self, order: Order) -> None: ...

    @abstractmethod
    def _gated(self, so: SimOrder) -> bool: ...

    # ------------------------------------------------------------------ portfolio

    @abstractmethod
    def _after_fill(self, so: SimOrder, accounts: Sequence[str] = ()) -> None: ...

    @abstractmethod
    def _marks(self) -> dict[int, float]: ...

    @abstractmethod
    def _mark(self, con_id: int) -> float: ...

    # ------------------------------------------------------------------ market data

    @abstractmethod
    def _stream_step(self, step: int) -> None: ...

    @abstractmethod
    def _sample_lines(self) -> None: ...

    @abstractmethod
    def _has_streams(self) -> bool: ...

    # ------------------------------------------------------------------ P&L

    @abstractmethod
    def _sample_pnl(self) -> None: ...

    # ------------------------------------------------------------------ history

    @abstractmethod
    def _sample_history(self) -> None: ...
