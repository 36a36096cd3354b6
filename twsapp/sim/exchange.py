"""The simulated TWS back end: one instance's state, sessions, dispatch and order lifecycle.

Everything here is deterministic for a given seed, catalog and sequence of (request, time step):
there is no wall clock and no randomness beyond the seeded generators. The server feeds it
decoded requests and clock ticks; it answers with ``messages`` objects addressed to client ids,
pushed to per-client sinks while its lock is held, so each client sees them in exchange order.

``Exchange`` holds the state and the lifecycle every part shares (announce, status, cancel); the
rest is in mixins, one concern each: ``entry`` (place, modify, what-if, TWS-UI orders),
``matching`` (time steps, fills), ``groups`` (transmit, brackets, OCA), ``portfolio``
(positions and account values) and ``queries`` (open / completed orders, executions).
"""

from __future__ import annotations

import copy
import logging
import random
import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from ibapi.order_state import OrderState

from . import messages as m
from . import rules
from .accounts import Account
from .clock import SimClock
from .entry import OrderEntry
from .groups import OrderGroups
from .instruments import Catalog
from .matching import Matching
from .portfolio import Portfolio
from .prices import PriceModel
from .queries import OrderQueries
from .records import Fill, SimOrder
from .rules import Refusal, refuse

log = logging.getLogger("twsapp.sim")

Sink = Callable[[list[m.Message]], None]


class Exchange(OrderEntry, Matching, OrderGroups, Portfolio, OrderQueries):
    """One TWS instance's state: orders of every client, fills, accounts, subscriptions."""

    def __init__(
        self,
        catalog: Catalog,
        prices: PriceModel,
        clock: SimClock,
        accounts: list[str],
        seed: int = 42,
        display_size: Decimal | None = None,
        master_client_id: int | None = None,
    ) -> None:
        self.catalog = catalog
        self.prices = prices
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
        self.next_ids: dict[int, int] = {}
        self.max_used: dict[int, int] = {}
        self.orders: dict[tuple[int, int], SimOrder] = {}
        self.fills: list[Fill] = []
        self._sinks: dict[int, Sink] = {}
        self._position_subs: set[int] = set()
        self._account_subs: dict[int, str] = {}
        self._auto_bind: set[int] = set()
        self._last_bound = 0

    # ------------------------------------------------------------------ sessions

    def attach(self, client_id: int, sink: Sink) -> bool:
        """Bind a connected client; False if that clientId is already connected."""
        with self.lock:
            if client_id in self._sinks:
                return False
            self._sinks[client_id] = sink
            return True

    def detach(self, client_id: int) -> None:
        with self.lock:
            self._sinks.pop(client_id, None)
            self._position_subs.discard(client_id)
            self._account_subs.pop(client_id, None)
            self._auto_bind.discard(client_id)

    def welcome(self, client_id: int) -> None:
        """What TWS sends right after startApi: accounts, the next id, open orders, farm notes."""
        with self.lock:
            batch: list[m.Message] = [
                m.ManagedAccounts(list(self.account_ids)),
                m.NextValidId(self._next_id(client_id)),
            ]
            for so in self._working(client_id):
                batch += [self._open_order(so), self._status(so)]
            for code, text in rules.FARM_NOTICES:
                batch.append(m.ErrorMsg(-1, code, text, "", self._millis()))
            self._emit(client_id, batch)

    def _emit(self, client_id: int, batch: list[m.Message]) -> None:
        sink = self._sinks.get(client_id)
        if sink is not None and batch:
            sink(batch)

    def _emit_order(self, so: SimOrder, batch: list[m.Message]) -> None:
        if so.bound:
            self._emit(so.client_id, batch)
        master = self.master_client_id
        if master is not None and master != so.client_id:
            self._emit(master, batch)

    def _error(self, client_id: int, req_id: int, refusal: Refusal) -> None:
        self._emit(
            client_id, [m.ErrorMsg(req_id, refusal.code, refusal.message, "", self._millis())]
        )

    # ------------------------------------------------------------------ dispatch

    def handle(self, client_id: int, request: m.Request) -> None:
        handler = getattr(self, "_on_" + type(request).__name__, None)
        with self.lock:
            if handler is None:
                self._unsupported(client_id, request)
            else:
                handler(client_id, request)

    def _unsupported(self, client_id: int, request: m.Request) -> None:
        req_id = getattr(request, "req_id", -1)
        name = getattr(request, "name", "") or type(request).__name__
        cause = f"{name} is not supported by the twsapp simulator"
        log.warning("client %d sent %s (reqId %d): not supported, answered with 321", client_id,
                    name, req_id)  # fmt: skip
        self._error(client_id, req_id, refuse(rules.VALIDATION, tag="bS", cause=cause))

    def _on_ReqIds(self, client_id: int, req: m.ReqIds) -> None:
        self._emit(client_id, [m.NextValidId(self._next_id(client_id))])

    def _on_ReqCurrentTime(self, client_id: int, req: m.ReqCurrentTime) -> None:
        self._emit(client_id, [m.CurrentTime(int(self.clock.now().timestamp()))])

    def _on_ReqCurrentTimeInMillis(self, client_id: int, req: m.ReqCurrentTimeInMillis) -> None:
        self._emit(client_id, [m.CurrentTimeInMillis(self._millis())])

    def _on_ReqManagedAccts(self, client_id: int, req: m.ReqManagedAccts) -> None:
        self._emit(client_id, [m.ManagedAccounts(list(self.account_ids))])

    def _on_ReqContractDetails(self, client_id: int, req: m.ReqContractDetails) -> None:
        rows = self.catalog.details_for_request(req.contract, at=self._moment(self._step))
        if not rows:
            self._error(client_id, req.req_id, refuse(rules.NO_SECURITY))
            return
        batch: list[m.Message] = [m.ContractData(req.req_id, d) for d in rows]
        batch.append(m.ContractDataEnd(req.req_id))
        self._emit(client_id, batch)

    def _on_ReqMarketRule(self, client_id: int, req: m.ReqMarketRule) -> None:
        increments = self.catalog.market_rule(req.market_rule_id)
        if increments is None:
            cause = f"Unknown market rule id {req.market_rule_id}"
            self._error(client_id, -1, refuse(rules.VALIDATION, tag="bM", cause=cause))
            return
        self._emit(client_id, [m.MarketRule(req.market_rule_id, list(increments))])

    # ------------------------------------------------------------------ order lifecycle

    def _next_id(self, client_id: int) -> int:
        return max(self.next_ids.get(client_id, 1), self.max_used.get(client_id, 0) + 1)

    def _on_CancelOrder(self, client_id: int, req: m.CancelOrder) -> None:
        so = self.orders.get((client_id, req.order_id))
        if so is None:
            self._error(
                client_id, req.order_id, refuse(rules.CANCEL_NOT_FOUND, order_id=req.order_id)
            )
            return
        if so.done:
            refusal = refuse(rules.CANCEL_DONE, order_id=req.order_id, state=so.status)
            self._error(client_id, req.order_id, refusal)
            return
        self._cancel(so)

    def _on_ReqGlobalCancel(self, client_id: int, req: m.ReqGlobalCancel) -> None:
        for so in sorted(self.orders.values(), key=lambda o: o.perm_id):
            if not so.done:
                self._cancel(so)

    def _cancel(self, so: SimOrder, by: str = "Trader") -> None:
        """Cancel ``so`` and, as TWS does, the children still waiting on it."""
        reason = "Order was discarded." if so.held else ""
        so.held = False
        so.status = "Cancelled"
        so.done_step = self._step
        so.cancelled_by = by
        text = rules.text(rules.CANCELLED) + reason
        self._emit_order(
            so,
            [self._status(so), m.ErrorMsg(so.order_id, rules.CANCELLED, text, "", self._millis())],
        )
        for child in self._children(so):
            if not child.done:
                self._cancel(child, by)

    def _set_status(self, so: SimOrder, status: str) -> None:
        so.status = status
        self._emit_order(so, [self._open_order(so), self._status(so)])

    def _open_order(self, so: SimOrder, with_commission: bool = False) -> m.OpenOrder:
        state = OrderState()
        state.status = so.status
        if with_commission:
            state.commissionAndFees = so.commission
            state.commissionAndFeesCurrency = "USD"
        return m.OpenOrder(so.order_id, copy.copy(so.contract), copy.copy(so.order), state)

    def _status(self, so: SimOrder) -> m.OrderStatus:
        return m.OrderStatus(
            order_id=so.order_id,
            status=so.status,
            filled=so.filled,
            remaining=so.remaining,  # a cancelled order keeps its unfilled rest (captures)
            avg_fill_price=so.avg_fill_price,
            perm_id=so.perm_id,
            parent_id=so.order.parentId,
            last_fill_price=so.last_fill_price,
            client_id=max(so.client_id, 0),
            why_held=self._why_held(so),
            mkt_cap_price=0.0,
        )

    def _working(self, client_id: int | None) -> list[SimOrder]:
        """Transmitted orders not yet done (held ones are nobody's business until sent)."""
        return [
            so
            for so in self.orders.values()
            if not so.done and not so.held and (client_id is None or so.client_id == client_id)
        ]

    # ------------------------------------------------------------------ time

    @property
    def step(self) -> int:
        return self._step

    def _moment(self, step: int):
        return self.clock.start + timedelta(seconds=step)

    def _millis(self) -> int:
        return int(self._moment(self._step).timestamp() * 1000)

    def millis(self) -> int:
        """The simulated now in epoch milliseconds (error times): never the wall clock."""
        with self.lock:
            return self._millis()
