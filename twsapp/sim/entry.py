"""Order entry: placing, modifying and previewing orders, and orders typed into the TWS window.

A mixin of ``Exchange``: it validates a request (contract, price rules, size, account, id) and
registers the order as TWS echoes it; announcing, matching and cancelling are the exchange's.
"""

from __future__ import annotations

import copy

from ibapi.contract import Contract
from ibapi.order import Order

from . import messages as m
from . import rules
from .accounts import preview_price, preview_state
from .fa import Allocation
from .groups import attach_to
from .instruments import Instrument
from .matching import commission_for
from .records import UNBOUND, SimOrder, apply_tws_defaults
from .rules import Refusal, refuse
from .state import ExchangeState
from .triggers import TRAILING_TYPES
from .wire import UNSET_DOUBLE

#: What a modify changes of a working order besides its time in force (the prices of every
#: type: a type's unused ones stay unset).
MODIFIABLE = (
    "totalQuantity",
    "lmtPrice",
    "auxPrice",
    "trailingPercent",
    "lmtPriceOffset",
    "triggerMethod",
)


class OrderEntry(ExchangeState):
    """Mixin of ``Exchange``: uses its state, ids, message helpers and ``_match``."""

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
        self._check_working(instrument, order, modifying)
        self._check_tif(instrument, order, exchange, modifying)
        self._check_conditions(order)
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
        allocation = self._allocate(order, instrument)  # a group order's split (advisor.py)
        self._check(instrument, order, req.contract.exchange)
        parent = self._parent(client_id, order)
        self._use_id(client_id, req.order_id)
        so = self._create(client_id, req.order_id, instrument, req.contract.exchange, order, parent)
        so.allocation = allocation
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
        self._allocate(order, instrument)  # a group order is refused or sized as if placed
        self._check(instrument, order, exchange)
        self._parent(client_id, order)
        if existing is None:
            self._use_id(client_id, req.order_id)
        order.orderId, order.clientId = req.order_id, client_id
        order.permId = existing.perm_id if existing is not None else self._new_perm_id()
        if not order.faGroup:
            order.account = order.account or self.account_ids[0]
        order.tif = order.tif or "DAY"
        apply_tws_defaults(order)
        contract = copy.copy(instrument.details.contract)
        contract.exchange = exchange or contract.exchange
        quote = self.prices.quote(contract.conId, float(self._step))
        price = preview_price(order, quote.bid, quote.ask)
        commission = commission_for(contract.secType, order.totalQuantity, price)
        marks = self._marks()
        marks[contract.conId] = quote.last
        preview = order.account or self._fa_preview_account(order)
        state = preview_state(self.accounts[preview], marks, contract, order, price, commission)
        self._emit(client_id, [m.OpenOrder(req.order_id, contract, order, state)])

    def place_manual(self, contract: Contract, order: Order) -> int:
        """An order typed into the TWS window: no API id until client 0 binds it; its permId.

        Refused like an API order would be (``Refusal``); nobody but the master client hears of
        it until client 0 binds it (reqOpenOrders now, or reqAutoOpenOrders for later ones).
        """
        with self.lock:
            instrument = self._resolve(contract)
            order = copy.copy(order)
            allocation = self._allocate(order, instrument)
            self._check(instrument, order, contract.exchange)
            auto = 0 in self._auto_bind and 0 in self._sinks
            so = self._accept(UNBOUND, 0, instrument, contract.exchange, order, auto, allocation)
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
        allocation: Allocation | None = None,
    ) -> SimOrder:
        """Create a working order as TWS echoes it, announce it, and match it once."""
        so = self._create(client_id, order_id, instrument, exchange, order, None, bind)
        so.allocation = allocation
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
        if not order.faGroup:  # a group order stays the group's (advisor.py)
            order.account = order.account or self.account_ids[0]
        order.tif = order.tif or "DAY"
        apply_tws_defaults(order)
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
        key = (client_id, order_id) if so.bound else (UNBOUND, so.perm_id)
        self.orders[key] = so
        self._index(so)
        if bind and not so.bound:
            self._bind(so)
        return so

    def _bind(self, so: SimOrder) -> None:
        """Client 0 takes a TWS-UI order: it gets the next negative API id (TWS's default)."""
        del self.orders[(UNBOUND, so.perm_id)]
        self._unindex(so)
        self._last_bound -= 1
        so.client_id, so.order_id, so.bound = 0, self._last_bound, True
        so.order.orderId, so.order.clientId = so.order_id, 0
        self.orders[(0, so.order_id)] = so
        self._index(so)

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
        for name in (*MODIFIABLE, "tif", "goodTillDate", "outsideRth"):
            setattr(candidate, name, getattr(new, name))
        candidate.tif = candidate.tif or "DAY"
        candidate.trailStopPrice = UNSET_DOUBLE
        if candidate.orderType in TRAILING_TYPES:
            # A trailing stop keeps where it got to unless the modify names a new stop.
            given = new.trailStopPrice not in (UNSET_DOUBLE, 0)
            candidate.trailStopPrice = new.trailStopPrice if given else so.order.trailStopPrice
        apply_tws_defaults(candidate)
        self._check(so.instrument, candidate, so.contract.exchange, modifying=True)
        if candidate.totalQuantity < so.filled:
            cause = "Order quantity cannot be below the filled quantity"
            raise refuse(rules.VALIDATION, tag="bO", cause=cause)
        so.allocation = self._reallocated(so, candidate)
        so.order = candidate
        self._start_working(so, fresh=False)
        self._emit_order(so, [self._open_order(so), self._status(so)])
        self._match(so, self._step, first=True)

    def _replace_held(self, so: SimOrder, req: m.PlaceOrder) -> None:
        """An untransmitted order was never seen by the market: the new one simply replaces it
        (same permId), and goes out if it says transmit."""
        order = copy.copy(req.order)
        allocation = self._allocate(order, so.instrument)
        self._check(so.instrument, order, so.contract.exchange)
        parent = self._parent(so.client_id, order)
        order.orderId, order.clientId, order.permId = so.order_id, max(so.client_id, 0), so.perm_id
        if not order.faGroup:
            order.account = order.account or self.account_ids[0]
        so.allocation = allocation
        order.tif = order.tif or "DAY"
        apply_tws_defaults(order)
        if parent is not None:
            attach_to(order, parent)
        self._unindex(so)
        so.order = order
        self._index(so)
        if order.transmit:
            self._release(so)
