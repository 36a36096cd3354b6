"""The simulated TWS back end: order lifecycle, matching against the price model, accounts.

Everything here is deterministic for a given seed, catalog and sequence of (request, time step):
there is no wall clock and no randomness beyond the seeded generators. The server feeds it
decoded requests and clock ticks; it answers with ``messages`` objects addressed to client ids,
pushed to per-client sinks while its lock is held, so each client sees them in exchange order.
"""

from __future__ import annotations

import copy
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.contract import Contract
from ibapi.execution import Execution, ExecutionFilter
from ibapi.order import Order
from ibapi.order_state import OrderState

from . import messages as m
from . import rules
from .accounts import SUMMARY_TAGS, Account, preview_price, preview_state, summary_currency
from .clock import SimClock
from .groups import OrderGroups, attach_to
from .instruments import Catalog, Instrument
from .prices import PriceModel
from .rules import Refusal, refuse
from .wire import UNSET_DOUBLE, UNSET_INT, UNSET_LONG, decimal_text

log = logging.getLogger("twsapp.sim")

Sink = Callable[[list[m.Message]], None]

DONE = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
EXEC_VENUE = {"NASDAQ": "ISLAND", "NYSE": "NYSE", "ARCA": "ARCA", "BATS": "BATS"}
EXEC_TIME_FORMAT = "%Y%m%d %H:%M:%S"
TWS_TIME_ZONE = "US/Eastern"  # how TWS names the user's zone in execution / completion times
UNBOUND = -1  # client id under which TWS-UI orders wait until client 0 binds them
SHAREHOLDER_DEFAULT = "Not an insider or substantial shareholder"


@dataclass
class SimOrder:
    client_id: int
    order_id: int
    perm_id: int
    contract: Contract
    order: Order
    instrument: Instrument
    placed_step: int
    status: str = "PendingSubmit"
    filled: Decimal = Decimal(0)
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    triggered: bool = False
    commission: float = 0.0
    executions: list[str] = field(default_factory=list)
    done_step: int | None = None
    cancelled_by: str = "Trader"  # or "System" (expiry, IOC remainder): completedStatus says so
    bound: bool = True  # False for an order placed in the TWS UI that no client has bound yet
    held: bool = False  # placed with transmit=False: kept, never reported or matched, until sent
    last_match: int | None = None  # the simulated second this order last looked at the market

    @property
    def remaining(self) -> Decimal:
        return self.order.totalQuantity - self.filled

    @property
    def done(self) -> bool:
        return self.status in DONE


@dataclass
class Fill:
    contract: Contract
    execution: Execution
    report: CommissionAndFeesReport
    step: int


class Exchange(OrderGroups):
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

    # ------------------------------------------------------------------ orders

    def _next_id(self, client_id: int) -> int:
        return max(self.next_ids.get(client_id, 1), self.max_used.get(client_id, 0) + 1)

    def _on_PlaceOrder(self, client_id: int, req: m.PlaceOrder) -> None:
        existing = self.orders.get((client_id, req.order_id))
        try:
            if req.order.whatIf:
                self._what_if(client_id, req, existing)
            elif existing is not None:
                self._modify(existing, req)
            else:
                self._place(client_id, req)
        except Refusal as refusal:
            self._error(client_id, req.order_id, refusal)

    def _resolve(self, contract: Contract) -> Instrument:
        matches = self.catalog.match(contract)
        if not matches:
            raise refuse(rules.NO_SECURITY)
        if len(matches) > 1:
            raise Refusal(
                rules.NO_SECURITY,
                f"The contract description specified for {contract.symbol} is ambiguous.",
            )
        return matches[0]

    def _rules_for(self, instrument: Instrument, exchange: str) -> list[tuple[float, float]] | None:
        try:
            rule_id = instrument.rule_for_exchange(exchange or "SMART")
        except (KeyError, ValueError, IndexError):
            return None
        return self.catalog.market_rule(rule_id)

    def _check(
        self, instrument: Instrument, order: Order, exchange: str, modifying: bool = False
    ) -> None:
        price_rules = self._rules_for(instrument, exchange)
        rules.check_order(order, price_rules, instrument.details.minTick)
        rules.check_size(order, instrument.details.sizeIncrement, modifying)
        if order.account and order.account not in self.accounts:
            cause = f"Invalid account code {order.account!r}"
            raise refuse(rules.VALIDATION, tag="bA", cause=cause)

    def _check_new_id(self, client_id: int, order_id: int) -> None:
        """Ids only increase: a new order's id must be above every id this client used."""
        if order_id <= self.max_used.get(client_id, 0):
            raise refuse(rules.DUPLICATE_ID)

    def _use_id(self, client_id: int, order_id: int) -> None:
        """Consume the id of an accepted order (a refused one leaves it free)."""
        self.max_used[client_id] = order_id
        self.next_ids[client_id] = max(self._next_id(client_id), order_id + 1)

    def _parent(self, client_id: int, order: Order) -> SimOrder | None:
        """The order ``order`` is attached to (bracket child); TWS's 135 if there is none.

        A parent that is done counts as missing: TWS answers a child (or a child's modification
        that still names its parent) of a filled parent with 135 "Can't find order with id"
        (reported against ib_insync, erdewit/ib_insync issue 647).
        """
        if not order.parentId:
            return None
        parent = self.orders.get((client_id, order.parentId))
        if parent is None or parent.done:
            raise refuse(rules.ORDER_NOT_FOUND, order_id=order.parentId)
        return parent

    def _place(self, client_id: int, req: m.PlaceOrder) -> None:
        self._check_new_id(client_id, req.order_id)
        instrument = self._resolve(req.contract)
        order = copy.copy(req.order)
        self._check(instrument, order, req.contract.exchange)
        parent = self._parent(client_id, order)
        self._use_id(client_id, req.order_id)
        so = self._create(client_id, req.order_id, instrument, req.contract.exchange, order, parent)
        if order.transmit:
            self._release(so)

    def _what_if(self, client_id: int, req: m.PlaceOrder, existing: SimOrder | None) -> None:
        """A what-if order: TWS creates nothing, it answers one openOrder previewing the margin.

        Evidence: a public transcript of a paper IB Gateway at server version 225
        (ThomasMarcelis/ibkr-go, testdata/transcripts/api_whatif_margin_aapl.txt): a whatIf
        MKT order gets a single openOrder, status PreSubmitted, a fresh permId, the margin
        before / change / after, commission and currencies in its OrderState, and no
        orderStatus; nothing of it is ever listed or filled. The order id counts as used
        (ids only increase) -- our choice: no source shows an id reused after a preview.
        """
        if existing is not None and existing.done:
            raise refuse(rules.MODIFY_FILLED if existing.status == "Filled" else rules.DUPLICATE_ID)
        if existing is None:
            self._check_new_id(client_id, req.order_id)
        instrument = existing.instrument if existing is not None else self._resolve(req.contract)
        exchange = existing.contract.exchange if existing is not None else req.contract.exchange
        order = copy.copy(req.order)
        self._check(instrument, order, exchange)
        self._parent(client_id, order)
        if existing is None:
            self._use_id(client_id, req.order_id)
        order.orderId, order.clientId = req.order_id, client_id
        order.permId = existing.perm_id if existing is not None else self._new_perm_id()
        order.account = order.account or self.account_ids[0]
        order.tif = order.tif or "DAY"
        _apply_tws_defaults(order)
        contract = copy.copy(instrument.details.contract)
        contract.exchange = exchange or contract.exchange
        quote = self.prices.quote(contract.conId, float(self._step))
        price = preview_price(order, quote.bid, quote.ask)
        commission = self._commission(contract.secType, order.totalQuantity, price)
        marks = self._marks()
        marks[contract.conId] = quote.last
        state = preview_state(
            self.accounts[order.account], marks, contract, order, price, commission
        )
        self._emit(client_id, [m.OpenOrder(req.order_id, contract, order, state)])

    def place_manual(self, contract: Contract, order: Order) -> int:
        """An order typed into the TWS window: no API id until client 0 binds it; its permId.

        Refused like an API order would be (``Refusal``); nobody but the master client hears of
        it until client 0 binds it (reqOpenOrders now, or reqAutoOpenOrders for later ones).
        """
        with self.lock:
            instrument = self._resolve(contract)
            order = copy.copy(order)
            self._check(instrument, order, contract.exchange)
            auto = 0 in self._auto_bind and 0 in self._sinks
            so = self._accept(UNBOUND, 0, instrument, contract.exchange, order, bind=auto)
            return so.perm_id

    def _new_perm_id(self) -> int:
        self._next_perm += 1
        return self._next_perm - 1

    def _accept(
        self,
        client_id: int,
        order_id: int,
        instrument: Instrument,
        exchange: str,
        order: Order,
        bind: bool = False,
    ) -> SimOrder:
        """Create a working order as TWS echoes it, announce it, and match it once."""
        so = self._create(client_id, order_id, instrument, exchange, order, None, bind)
        self._release(so)
        return so

    def _create(
        self,
        client_id: int,
        order_id: int,
        instrument: Instrument,
        exchange: str,
        order: Order,
        parent: SimOrder | None,
        bind: bool = False,
    ) -> SimOrder:
        """Register an order as TWS echoes it, held (untransmitted) until ``_release``."""
        order.orderId = order_id
        order.clientId = max(client_id, 0)
        order.permId = self._new_perm_id()
        order.account = order.account or self.account_ids[0]
        order.tif = order.tif or "DAY"
        _apply_tws_defaults(order)
        if parent is not None:
            attach_to(order, parent)
        so = SimOrder(
            client_id=client_id,
            order_id=order_id,
            perm_id=order.permId,
            contract=copy.copy(instrument.details.contract),
            order=order,
            instrument=instrument,
            placed_step=self._step,
            bound=client_id != UNBOUND,
            held=True,
        )
        so.contract.exchange = exchange or so.contract.exchange
        if so.bound:
            self.orders[(client_id, order_id)] = so
        else:
            self.orders[(UNBOUND, so.perm_id)] = so
            if bind:
                self._bind(so)
        return so

    def _bind(self, so: SimOrder) -> None:
        """Client 0 takes a TWS-UI order: it gets the next negative API id (TWS's default)."""
        del self.orders[(UNBOUND, so.perm_id)]
        self._last_bound -= 1
        so.client_id, so.order_id, so.bound = 0, self._last_bound, True
        so.order.orderId, so.order.clientId = so.order_id, 0
        self.orders[(0, so.order_id)] = so

    def _modify(self, so: SimOrder, req: m.PlaceOrder) -> None:
        if so.done:
            code = rules.MODIFY_FILLED if so.status == "Filled" else rules.DUPLICATE_ID
            raise refuse(code)
        if so.held:
            self._replace_held(so, req)
            return
        new = req.order
        self._parent(so.client_id, new)
        if new.action != so.order.action or new.orderType != so.order.orderType:
            raise refuse(rules.MODIFY_MISMATCH)
        if req.contract.conId and req.contract.conId != so.contract.conId:
            raise refuse(rules.MODIFY_MISMATCH)
        candidate = copy.copy(so.order)
        for name in ("totalQuantity", "lmtPrice", "auxPrice", "tif", "goodTillDate", "outsideRth"):
            setattr(candidate, name, getattr(new, name))
        candidate.tif = candidate.tif or "DAY"
        candidate.trailStopPrice = UNSET_DOUBLE
        _apply_tws_defaults(candidate)
        self._check(so.instrument, candidate, so.contract.exchange, modifying=True)
        if candidate.totalQuantity < so.filled:
            cause = "Order quantity cannot be below the filled quantity"
            raise refuse(rules.VALIDATION, tag="bO", cause=cause)
        so.order = candidate
        self._emit_order(so, [self._open_order(so), self._status(so)])
        self._match(so, self._step, first=True)

    def _replace_held(self, so: SimOrder, req: m.PlaceOrder) -> None:
        """An untransmitted order was never seen by the market: the new one simply replaces it
        (same permId), and goes out if it says transmit."""
        order = copy.copy(req.order)
        self._check(so.instrument, order, so.contract.exchange)
        parent = self._parent(so.client_id, order)
        order.orderId, order.clientId, order.permId = so.order_id, max(so.client_id, 0), so.perm_id
        order.account = order.account or self.account_ids[0]
        order.tif = order.tif or "DAY"
        _apply_tws_defaults(order)
        if parent is not None:
            attach_to(order, parent)
        so.order = order
        if order.transmit:
            self._release(so)

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

    # ------------------------------------------------------------------ time and matching

    @property
    def step(self) -> int:
        return self._step

    def on_clock(self) -> None:
        """Process every simulated second up to the clock's present."""
        target = int(self.clock.elapsed())
        with self.lock:
            while self._step < target:
                working = self._working(None)
                if not working:
                    self._step = target
                    break
                self._step += 1
                for so in sorted(working, key=lambda o: o.perm_id):
                    if not so.done:
                        self._expire_or_match(so)

    def _moment(self, step: int):
        return self.clock.start + timedelta(seconds=step)

    def _millis(self) -> int:
        return int(self._moment(self._step).timestamp() * 1000)

    def millis(self) -> int:
        """The simulated now in epoch milliseconds (error times): never the wall clock."""
        with self.lock:
            return self._millis()

    def _session_open(self, instrument: Instrument, step: int, outside_rth: bool) -> bool:
        return instrument.is_trading(self._moment(step), liquid_only=not outside_rth)

    def _expire_or_match(self, so: SimOrder) -> None:
        if so.order.tif == "DAY" and self._day_over(so):
            self._cancel(so, by="System")
            return
        if so.last_match != self._step:  # a child activated this second has had its look
            self._match(so, self._step, first=False)

    def _day_over(self, so: SimOrder) -> bool:
        """A DAY order lives until its session closes (or the local date changes)."""
        inst = so.instrument
        placed, now = self._moment(so.placed_step), self._moment(self._step)
        if inst.local_date(now) > inst.local_date(placed):
            return True
        rth = not so.order.outsideRth
        return inst.is_trading(placed, liquid_only=rth) and not inst.is_trading(
            now, liquid_only=rth
        )

    def _match(self, so: SimOrder, step: int, first: bool) -> None:
        if so.held or self._waits_for_parent(so):
            return
        so.last_match = step
        if so.done or not self._session_open(so.instrument, step, so.order.outsideRth):
            if first and so.order.tif in ("IOC", "FOK"):
                self._cancel(so, by="System")
            return
        quote = self.prices.quote(so.contract.conId, float(step))
        buy = so.order.action == "BUY"
        kind = so.order.orderType
        if kind in ("STP", "STP LMT") and not so.triggered:
            stop = so.order.auxPrice
            if (buy and quote.last >= stop) or (not buy and quote.last <= stop):
                so.triggered = True
                self._set_status(so, "Submitted")
            else:
                return
        touch = quote.ask if buy else quote.bid
        if kind in ("LMT", "STP LMT"):
            limit = so.order.lmtPrice
            if (buy and touch > limit) or (not buy and touch < limit):
                if first and so.order.tif in ("IOC", "FOK"):
                    self._cancel(so, by="System")
                return
        size = so.remaining
        display = so.instrument.display_size or self.display_size
        if display is not None and display > 0 and so.order.tif != "FOK":
            size = min(size, Decimal(display))
        self._fill(so, size, touch, step)
        if so.order.tif == "IOC" and not so.done:
            self._cancel(so, by="System")

    @staticmethod
    def _commission(sec_type: str, quantity: Decimal, price: float) -> float:
        if sec_type == "FUT":
            return round(0.85 * float(quantity), 2)
        if sec_type == "CASH":
            return round(max(2.0, 0.00002 * float(quantity) * price), 2)
        per_share = 0.005 * float(quantity)
        cap = 0.01 * float(quantity) * price
        return round(min(max(1.0, per_share), max(cap, 1.0)), 2)

    def _fill(self, so: SimOrder, quantity: Decimal, price: float, step: int) -> None:
        self._exec_seq += 1
        exec_id = f"{self._exec_prefix}.{self._exec_seq:08x}.01.01"
        new_filled = so.filled + quantity
        so.avg_fill_price = (
            float(so.filled) * so.avg_fill_price + float(quantity) * price
        ) / float(new_filled)
        so.filled = new_filled
        so.last_fill_price = price
        commission = self._commission(so.contract.secType, quantity, price)
        so.commission += commission
        so.executions.append(exec_id)

        account = self.accounts[so.order.account]
        _, realized = account.apply_fill(so.contract, so.order.action, quantity, price, commission)

        execution = Execution()
        execution.execId = exec_id
        execution.time = f"{self._moment(step).strftime(EXEC_TIME_FORMAT)} {TWS_TIME_ZONE}"
        execution.acctNumber = so.order.account
        execution.exchange = self._venue(so)
        execution.side = "BOT" if so.order.action == "BUY" else "SLD"
        execution.shares = quantity
        execution.price = price
        execution.permId = so.perm_id
        execution.clientId = so.client_id
        execution.orderId = so.order_id
        execution.liquidation = 0
        execution.cumQty = so.filled
        execution.avgPrice = so.avg_fill_price
        execution.orderRef = so.order.orderRef
        execution.lastLiquidity = 2
        report = CommissionAndFeesReport()
        report.execId = exec_id
        report.commissionAndFees = commission
        report.currency = "USD"
        report.realizedPNL = UNSET_DOUBLE if realized is None else realized
        report.yield_ = UNSET_DOUBLE
        report.yieldRedemptionDate = 0
        contract = copy.copy(so.contract)
        contract.exchange = execution.exchange
        self.fills.append(Fill(contract, execution, report, step))

        batch: list[m.Message] = [m.ExecDetails(-1, contract, execution)]
        if so.remaining <= 0:
            so.status = "Filled"
            so.done_step = step
            batch += [self._open_order(so), self._status(so), self._open_order(so, True)]
        else:
            so.status = "Submitted"
            batch.append(self._status(so))
        batch.append(m.CommissionReport(report))
        self._emit_order(so, batch)
        self._after_fill(so)
        self._one_cancels_other(so, quantity)
        if so.status == "Filled":
            self._activate_children(so)

    def _venue(self, so: SimOrder) -> str:
        details = so.instrument.details
        if details.contract.secType in ("CASH", "FUT"):
            return details.contract.exchange
        primary = details.contract.primaryExchange or details.contract.exchange
        return EXEC_VENUE.get(primary, primary)

    # ------------------------------------------------------------------ positions and accounts

    def _after_fill(self, so: SimOrder) -> None:
        account = self.accounts[so.order.account]
        holding = account.holdings[so.contract.conId]
        for client_id in sorted(self._position_subs):
            self._emit(
                client_id,
                [
                    m.Position(
                        account.account_id,
                        self._pos_contract(holding.contract),
                        holding.quantity,
                        holding.avg_cost,
                    )
                ],
            )
        for client_id, account_id in sorted(self._account_subs.items()):
            if account_id in ("", account.account_id):
                self._emit(client_id, self._account_batch(account, with_end=False))

    @staticmethod
    def _pos_contract(contract: Contract) -> Contract:
        c = copy.copy(contract)
        c.exchange = ""
        return c

    def _marks(self) -> dict[int, float]:
        marks = {}
        for account in self.accounts.values():
            for con_id in account.holdings:
                marks[con_id] = self.prices.quote(con_id, float(self._step)).last
        return marks

    def _on_ReqPositions(self, client_id: int, req: m.ReqPositions) -> None:
        self._position_subs.add(client_id)
        batch: list[m.Message] = []
        for account in self.accounts.values():
            for holding in account.holdings.values():
                batch.append(
                    m.Position(
                        account.account_id,
                        self._pos_contract(holding.contract),
                        holding.quantity,
                        holding.avg_cost,
                    )
                )
        batch.append(m.PositionEnd())
        self._emit(client_id, batch)

    def _on_CancelPositions(self, client_id: int, req: m.CancelPositions) -> None:
        self._position_subs.discard(client_id)

    def _on_ReqAccountSummary(self, client_id: int, req: m.ReqAccountSummary) -> None:
        wanted = [t.strip() for t in req.tags.split(",") if t.strip()]
        if "All" in wanted or "$LEDGER" in wanted:
            wanted = list(SUMMARY_TAGS)
        marks = self._marks()
        batch: list[m.Message] = []
        for account in self.accounts.values():
            values = account.values(marks)
            for tag in wanted:
                if tag in values:
                    batch.append(
                        m.AccountSummary(
                            req.req_id, account.account_id, tag, values[tag], summary_currency(tag)
                        )
                    )
        batch.append(m.AccountSummaryEnd(req.req_id))
        self._emit(client_id, batch)

    def _on_CancelAccountSummary(self, client_id: int, req: m.CancelAccountSummary) -> None:
        return None

    def _on_ReqAccountUpdates(self, client_id: int, req: m.ReqAccountUpdates) -> None:
        if not req.subscribe:
            self._account_subs.pop(client_id, None)
            return
        account = self.accounts.get(req.account) or self.accounts[self.account_ids[0]]
        self._account_subs[client_id] = account.account_id
        self._emit(client_id, self._account_batch(account, with_end=True))

    def _account_batch(self, account: Account, with_end: bool) -> list[m.Message]:
        marks = self._marks()
        batch: list[m.Message] = []
        for key, value in account.values(marks).items():
            batch.append(m.AccountValue(key, value, summary_currency(key), account.account_id))
        for con_id, holding in account.holdings.items():
            price = marks.get(con_id, 0.0)
            batch.append(
                m.PortfolioValue(
                    contract=copy.copy(holding.contract),
                    position=holding.quantity,
                    market_price=price,
                    market_value=account.market_value(holding, price),
                    average_cost=holding.avg_cost,
                    unrealized_pnl=account.unrealized(holding, price),
                    realized_pnl=holding.realized_pnl,
                    account=account.account_id,
                )
            )
        batch.append(m.AccountUpdateTime(self._moment(self._step).strftime("%H:%M")))
        if with_end:
            batch.append(m.AccountDownloadEnd(account.account_id))
        return batch

    # ------------------------------------------------------------------ order queries

    def _on_ReqOpenOrders(self, client_id: int, req: m.ReqOpenOrders) -> None:
        if client_id == 0:  # client 0 binds what was typed into TWS and is still working
            for so in sorted(self._working(UNBOUND), key=lambda o: o.perm_id):
                self._bind(so)
        self._send_open_orders(client_id, self._working(client_id))

    def _on_ReqAllOpenOrders(self, client_id: int, req: m.ReqAllOpenOrders) -> None:
        self._send_open_orders(client_id, self._working(None))

    def _on_ReqAutoOpenOrders(self, client_id: int, req: m.ReqAutoOpenOrders) -> None:
        if client_id != 0:
            cause = "reqAutoOpenOrders is only valid for client id 0"
            self._error(client_id, -1, refuse(rules.VALIDATION, tag="bB", cause=cause))
            return
        if req.auto_bind:
            self._auto_bind.add(client_id)
        else:
            self._auto_bind.discard(client_id)

    def _send_open_orders(self, client_id: int, orders: list[SimOrder]) -> None:
        batch: list[m.Message] = []
        for so in sorted(orders, key=lambda o: o.perm_id):
            batch += [self._open_order(so), self._status(so)]
        batch.append(m.OpenOrderEnd())
        self._emit(client_id, batch)

    def _on_ReqCompletedOrders(self, client_id: int, req: m.ReqCompletedOrders) -> None:
        batch: list[m.Message] = []
        done = [so for so in self.orders.values() if so.done]
        for so in sorted(done, key=lambda o: (o.done_step or 0, o.perm_id)):
            if req.api_only and not so.bound:
                continue
            batch.append(self._completed(so))
        batch.append(m.CompletedOrdersEnd())
        self._emit(client_id, batch)

    def _completed(self, so: SimOrder) -> m.CompletedOrder:
        """A done order as TWS lists it: a filled one reports its size as filled, not total."""
        order = copy.copy(so.order)
        order.filledQuantity = so.filled
        state = OrderState()
        state.status = so.status
        moment = self._moment(so.done_step if so.done_step is not None else self._step)
        state.completedTime = f"{moment.strftime(EXEC_TIME_FORMAT)} {TWS_TIME_ZONE}"
        if so.status == "Filled":
            order.totalQuantity = Decimal(0)
            state.completedStatus = f"Filled Size: {decimal_text(so.filled)}"
            state.commissionAndFees = so.commission
            state.commissionAndFeesCurrency = "USD"
        elif so.cancelled_by == "System":
            # sic, with the newline: a paper Gateway at v200 writes it so (public transcript
            # completed_orders_cancelled_system_live.txt of ThomasMarcelis/ibkr-go)
            state.completedStatus = "Cancelled by System:\n"
        else:
            state.completedStatus = "Cancelled by Trader"
        return m.CompletedOrder(copy.copy(so.contract), order, state)

    def _on_ReqExecutions(self, client_id: int, req: m.ReqExecutions) -> None:
        batch: list[m.Message] = []
        for fill in self.fills:
            if _matches(fill, req.exec_filter):
                batch.append(m.ExecDetails(req.req_id, fill.contract, fill.execution))
                batch.append(m.CommissionReport(fill.report))
        batch.append(m.ExecDetailsEnd(req.req_id))
        self._emit(client_id, batch)


def _apply_tws_defaults(order: Order) -> None:
    """Fill in what TWS itself sets on an order it accepts, as every captured echo shows.

    OCA type 3 (reduce, no block) when the client left it 0, clearing intent "IB", auto price
    for hedge off, the shareholder declaration, unset futures-reference and parent-perm ids, and
    a trail stop price one unit above a limit order's limit (TWS echoes it on LMT orders of
    either side: the openOrder / completedOrder captures at server versions 172..176 in the
    fixture, and the paper-Gateway transcripts at 200..225 of ThomasMarcelis/ibkr-go), and a
    stop order's stop price as its trail stop price (api_bracket_place_aapl.txt there).
    """
    if not order.ocaType:
        order.ocaType = 3
    order.clearingIntent = order.clearingIntent or "IB"
    order.dontUseAutoPriceForHedge = True
    order.shareholder = order.shareholder or SHAREHOLDER_DEFAULT
    if not order.refFuturesConId:
        order.refFuturesConId = UNSET_INT
    if not order.parentPermId:
        order.parentPermId = UNSET_LONG
    if order.trailStopPrice != UNSET_DOUBLE:
        return
    if order.orderType == "LMT" and rules.is_set(order.lmtPrice):
        order.trailStopPrice = float(Decimal(repr(order.lmtPrice)) + 1)
    elif order.orderType == "STP" and rules.is_set(order.auxPrice):
        order.trailStopPrice = order.auxPrice


def _matches(fill: Fill, f: ExecutionFilter) -> bool:
    e = fill.execution
    if f.clientId and e.clientId != f.clientId:
        return False
    if f.acctCode and e.acctNumber != f.acctCode:
        return False
    if f.symbol and fill.contract.symbol != f.symbol:
        return False
    if f.secType and fill.contract.secType != f.secType:
        return False
    if f.exchange and e.exchange != f.exchange:
        return False
    if f.side:
        side = {"BUY": "BOT", "SELL": "SLD"}.get(f.side, f.side)
        if e.side != side:
            return False
    if f.time:
        since = f.time.replace("-", " ").strip()[:17]
        if e.time[:17] < since:
            return False
    return True
