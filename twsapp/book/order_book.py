"""OrderBook: one deduplicated record per order, fed by the session's translated callbacks.

Pure: no sockets, no threads of its own. Callbacks arrive on the session's reading threads (one
at a time, session/inbox.py) while strategies and the CLI read, so the book has one lock
(`book.lock`, reentrant), held only while a record changes, never across a socket write. Events
produced while it is held are posted to the event bus by the outermost holder, in order, and
delivered after the release (lock.py, see `subscribe`). Events are never produced for
duplicates.

How the book stays right when TWS repeats, reorders or omits messages:

- An orderStatus / openOrder / completedOrder identical to one already seen for the order is
  dropped without a trace; one that says nothing new leaves no event.
- Records are created on first sight, whatever the callback: execDetails or orderStatus before
  openOrder are kept and joined when openOrder arrives. Records are found by permId first, then
  by (clientId, orderId).
- After a restart, a done order is first known from completedOrder, which at text versions
  carries no orderId / clientId (protobuf ones may): the record is found by permId and takes
  its ids from the first message that carries them (its execDetails, for a filled one). Until
  then, or forever for a cancelled order without fills, `ids_known` is False (model.py).
- Status and numbers are derived from everything seen, never copied from the latest message:
  merge.py. Fills, corrections and commissions: fills.py. Modifies: modify.py. What an error
  means for an order: error_policy.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import pandas as pd
from ibapi.contract import Contract
from ibapi.order import Order

from ..errors import classify
from ..events import EventBus
from ..exceptions import BookError
from . import frames
from . import status as st
from .cleaning import clean_decimal, clean_float, clean_id, clean_int, shared_decimal
from .error_policy import apply_error
from .events import BookEvent, StatusChanged
from .fills import (
    add_allocation,
    add_fill,
    commission_of,
    is_advisor_account,
    join_commission,
    make_fill,
)
from .lock import BookLock
from .merge import Observed, Slot, clean_terms, read_terms, terms, terms_text
from .model import (
    AccountValue,
    Commission,
    ErrorEntry,
    Modification,
    OrderRecord,
    Position,
    compact_order,
)
from .modify import (
    applied_event,
    apply_shown,
    modified_order,
    normalize_changes,
    record_request,
)
from .status import Status


class OrderBook:
    """Every order this app has seen, with fills, commissions, errors, modifies and a log."""

    def __init__(
        self,
        client_id: int = 0,
        clock: Callable[[], datetime] | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.client_id = client_id  # the app's own: used where a callback carries no client id
        self.accounts: list[str] = []
        self.bus = bus or EventBus()
        self.lock = BookLock(self.bus)
        self._wants = self.bus.wants  # one bound method for every slot, not one each
        self._now = clock or partial(datetime.now, UTC)  # a C call: it runs per log line
        self._slots: list[Slot] = []
        self._by_key: dict[tuple[int, int], Slot] = {}
        self._by_perm: dict[int, Slot] = {}
        self._by_exec: dict[str, Slot] = {}
        self._commissions: dict[str, Commission] = {}
        self._positions: dict[tuple[str, int | str], Position] = {}
        self._account: dict[tuple[str, str, str], AccountValue] = {}
        # Registered by a sender and not announced yet (register_pending), oldest first.
        self._unannounced: list[Slot] = []
        # Called under the book lock for each new execution (not a correction, a repeat or an
        # advisor's allocation): a count that needs no event (the order-efficiency ratio).
        self.on_new_fill: Callable[[], None] | None = None

    # ------------------------------------------------------------------ subscribers

    def subscribe(self, callback: Callable[[BookEvent], Any]) -> Callable[[], None]:
        """Call `callback(event)` for every book event, in order; returns a function to
        unsubscribe. (The session's ``subscribe`` also gives connection events and notices.)

        Where it runs: after the book lock is released, so the callback may read the book (or
        take its lock) freely, on a thread that released it (lock.py, events.py): usually one of
        the session's two reading threads, which decode every TWS message. So a subscriber must
        return quickly and must not block. Above all it must not call the order API
        synchronously (place, modify, cancel, contract lookups): those wait for TWS's answer,
        which only those threads can deliver, so the call would hang until its timeout and every
        callback with it. Hand the event to a thread of your own instead, as the engine does: it
        posts each event to each strategy's queue, and strategies act on their own threads. An
        exception a subscriber raises is logged; it reaches neither the book nor the other
        subscribers.
        """
        return self.bus.subscribe(callback, BookEvent)

    # ------------------------------------------------------------------ queries

    def get(self, order_id: int, client_id: int | None = None) -> OrderRecord | None:
        """The live record of an order of this client (or `client_id`), or None."""
        with self.lock:
            slot = self._by_key.get((self.client_id if client_id is None else client_id, order_id))
            return slot.rec if slot else None

    def by_perm_id(self, perm_id: int) -> OrderRecord | None:
        with self.lock:
            slot = self._by_perm.get(perm_id)
            return slot.rec if slot else None

    def records(self) -> list[OrderRecord]:
        """Every record, oldest first (live objects; see OrderRecord.snapshot)."""
        with self.lock:
            return [s.rec for s in self._slots]

    def open_orders(self) -> list[OrderRecord]:
        with self.lock:
            return [s.rec for s in self._slots if s.rec.status in st.ACTIVE]

    def positions(self) -> list[Position]:
        with self.lock:
            return list(self._positions.values())

    def account_values(self) -> list[AccountValue]:
        with self.lock:
            return list(self._account.values())

    def unmatched_commissions(self) -> list[Commission]:
        """Commission reports whose execution the book has not seen (yet)."""
        with self.lock:
            return [c for e, c in self._commissions.items() if e not in self._by_exec]

    def orders_df(self) -> pd.DataFrame:
        """One row per order; columns in frames.ORDER_COLUMNS."""
        return frames.orders_df(self._snapshots())

    def fills_df(self) -> pd.DataFrame:
        """One row per fill (corrections applied), with commission; frames.FILL_COLUMNS."""
        return frames.fills_df(self._snapshots())

    def positions_df(self) -> pd.DataFrame:
        """One row per (account, contract); frames.POSITION_COLUMNS."""
        return frames.positions_df(self.positions())

    def account_df(self) -> pd.DataFrame:
        """One row per (account, tag, currency); frames.ACCOUNT_COLUMNS."""
        return frames.account_df(self.account_values())

    # ------------------------------------------------------------------ requests (app side)

    def register_pending(
        self,
        client_id: int,
        order_id: int,
        contract: Contract,
        order: Order,
        sending: bool = False,
    ) -> OrderRecord:
        """Record an order about to be sent (PendingSubmit). Call before placeOrder.

        The book keeps ``contract`` and ``order`` themselves until TWS's echo replaces them
        (no copy: the send path passes objects of its own, made once), so the caller must not
        change them afterwards; what was sent stays as ``sent_contract`` and, compacted, as
        ``sent_order``, for modifies.

        ``sending``: the caller is the sender, and calls ``announce`` once the message is out
        (or the order is held for later). Only what TWS's answer needs (the record, found by
        its ids) is made before the send; the rest waits until then: compacting what was sent,
        the log line, the PendingSubmit event. Whatever touches the order first (``announce``,
        or TWS's first word on it, under the book lock either way) announces it, so the log and
        the events keep their order."""
        with self.lock:
            if (client_id, order_id) in self._by_key:
                raise BookError(
                    f"order id {order_id} (client {client_id}) is already in the book: "
                    "ids are never reused, allocate a new one"
                )
            now = self._now()
            rec = OrderRecord(
                client_id=client_id,
                order_id=order_id,
                contract=contract,
                order=order,
                status=Status.PENDING_SUBMIT,
                parent_id=clean_id(getattr(order, "parentId", 0)),
                ids_from="placeOrder",
                created=now,
                updated=now,
                sent_contract=contract,
                sent_terms=order if sending else compact_order(order),
            )
            slot = self._add(rec, Status.PENDING_SUBMIT)
            slot.unannounced = True
            self._unannounced.append(slot)
            if not sending:
                self._announce()
            return rec

    def announce(self, records: list[OrderRecord]) -> None:
        """Orders ``register_pending(..., sending=True)`` registered are out (or held): their
        log line and event, unless TWS's answer came first, and what was sent, compacted."""
        for rec in records:
            sent = rec.sent_terms
            terms = compact_order(sent) if isinstance(sent, Order) else sent
            with self.lock:
                slot = self._by_key[rec.key]
                if slot.unannounced:
                    self._announce()
                rec.sent_terms = terms

    def _announce(self) -> None:
        """The registration's log line and PendingSubmit event of every order not announced
        yet: the sender's batch (a bracket's legs, in order; one sender at a time), so that all
        of them come before anything TWS says about any. Each record is still as registered:
        whoever touches one of them first announces them."""
        waiting, self._unannounced = self._unannounced, []
        for pending in waiting:
            pending.unannounced = False
            rec = pending.rec
            assert rec.order is not None  # registered with it, and not replaced before this
            text = terms_text(rec.order)
            pending.log("registered", "placeOrder", text, before="", after=Status.PENDING_SUBMIT,
                        at=rec.created)  # fmt: skip
            event = pending.event(
                StatusChanged, time=rec.created, before="", after=rec.status, source="placeOrder"
            )
            if event is not None:
                self.lock.emit([event])

    def request_modify(
        self, order_id: int, changes: dict[str, Any], client_id: int | None = None
    ) -> Modification:
        """Record a pending modify; returns it, with `.order` = the order to send again."""
        with self.lock:
            slot = self._require(order_id, client_id, "modify")
            return record_request(slot, normalize_changes(changes, slot.rec.order_type))

    def preview_modify(
        self, order_id: int, changes: dict[str, Any], client_id: int | None = None
    ) -> Order:
        """The order `request_modify` would send, without recording anything (to validate it)."""
        with self.lock:
            slot = self._require(order_id, client_id, "modify")
            return modified_order(slot, normalize_changes(changes, slot.rec.order_type))[0]

    def request_cancel(self, order_id: int, client_id: int | None = None) -> list[BookEvent]:
        """Record that cancelOrder is about to be sent: the order is PendingCancel."""
        with self.lock:
            slot = self._require(order_id, client_id, "cancel")
            rec = slot.rec
            if rec.status in st.FINAL:
                raise BookError(f"order {order_id} is already {rec.status}: nothing to cancel")
            if slot.cancel_from is None:
                slot.cancel_from = rec.status
            slot.log("cancel_requested", "cancelOrder")
            return self.lock.emit(slot.refresh("cancelOrder"))

    # ------------------------------------------------------------------ callbacks (api thread)

    def on_open_order(
        self, order_id: int, contract: Contract, order: Order, order_state: Any
    ) -> list[BookEvent]:
        client_id = _client(order.clientId, self.client_id)
        perm_id = clean_id(order.permId)
        status = getattr(order_state, "status", "") or ""
        filled = shared_decimal(clean_decimal(getattr(order, "filledQuantity", None)))
        raw = read_terms(order)
        with self.lock:
            slot = self._find(client_id, order_id, perm_id, "openOrder")
            rec = slot.rec
            # Before TWS's first word the record holds only what was sent: nothing to compare
            # (a first openOrder is never a repeat), so its terms are not even read.
            held = slot.terms_of_record() if rec.acknowledged else None
            if held is not None and raw == held[0]:
                shown, changed = held[1], False  # the usual repeat: nothing to clean
            else:
                shown = clean_terms(raw)
                changed = held is not None and held[1] != shown
                if held is not None and not changed:
                    shown = held[1]  # one tuple for the order's unchanged terms
            sig = (order_id, client_id, perm_id, status, contract.conId, shown, filled)
            # A repeat is dropped, unless it shows terms other than the current ones: a modify
            # back to earlier terms brings back an earlier message, and it is news.
            if slot.seen(sig) and not changed:
                return []
            events: list[BookEvent] = []
            first = not rec.acknowledged
            rec.contract, rec.order = contract, order
            slot.order_terms = (order, shown)
            rec.acknowledged = True
            rec.parent_id = clean_id(order.parentId) or rec.parent_id
            applied = apply_shown(slot, order)
            if applied is not None and (event := applied_event(slot, applied)) is not None:
                events.append(event)
            if first:
                slot.log("acknowledged", "openOrder", status)
            elif changed and applied is None:
                slot.log("order_updated", "openOrder", terms_text(order))
            slot.observe_filled(order)
            slot.observe_status(status)
            events += slot.refresh("openOrder", ignored=status)
            return self.lock.emit(events)

    def on_order_status(
        self,
        order_id: int,
        status: str,
        filled: Any,
        remaining: Any,
        avg_fill_price: float,
        perm_id: int,
        parent_id: int,
        last_fill_price: float,
        client_id: int,
        why_held: str,
        mkt_cap_price: float | None = None,
    ) -> list[BookEvent]:
        cid = _client(client_id, self.client_id)
        perm = clean_id(perm_id)
        obs = Observed(  # kept in the signature, and the most filled in the slot
            filled=shared_decimal(clean_decimal(filled)) or _ZERO,
            remaining=shared_decimal(clean_decimal(remaining)),
            avg=clean_float(avg_fill_price) or None,  # 0 means "no fill yet"
            last=clean_float(last_fill_price) or None,
        )
        cap = clean_float(mkt_cap_price) or None
        sig = (order_id, cid, status, perm, clean_id(parent_id), why_held or "", cap,
               obs.filled, obs.remaining, obs.avg, obs.last)  # fmt: skip
        with self.lock:
            slot = self._find(cid, order_id, perm, "orderStatus")
            if slot.seen(sig):
                return []
            rec = slot.rec
            rec.acknowledged = True
            rec.parent_id = clean_id(parent_id) or rec.parent_id
            if (why_held or "") != rec.why_held:
                slot.log("why_held", "orderStatus", why_held or "")
                rec.why_held = why_held or ""
            rec.mkt_cap_price = cap
            seen_before = slot.observations()
            slot.observe_progress(obs)
            slot.observe_status(status)
            if status == rec.status and slot.observations() == seen_before:
                return []  # it confirms what the record says: nothing to derive again
            return self.lock.emit(slot.refresh("orderStatus", ignored=status))

    def on_exec_details(self, req_id: int, contract: Contract, execution: Any) -> list[BookEvent]:
        exec_id = execution.execId
        with self.lock:
            if exec_id in self._by_exec:
                return []
            cid = _client(execution.clientId, self.client_id)
            perm = clean_id(execution.permId)
            slot = self._find(cid, execution.orderId, perm, "execDetails")
            if slot.rec.contract is None:
                slot.rec.contract = contract
            fill = make_fill(slot.rec, contract, execution, self._commissions.get(exec_id))
            self._by_exec[exec_id] = slot
            # A report that came first is the fill's now: the fill carries it from here on.
            self._commissions.pop(exec_id, None)
            if self._is_allocation(slot.rec, fill.account):
                return self.lock.emit(add_allocation(slot, fill))
            held = len(slot.rec.fills)
            events = add_fill(slot, fill)
            if len(slot.rec.fills) > held and self.on_new_fill is not None:
                self.on_new_fill()  # a new execution, not a correction of one
            return self.lock.emit(events)

    def _is_allocation(self, rec: OrderRecord, account: str) -> bool:
        """One account's share of an advisor's group order, which TWS also reports as a block
        execution on the advisor's own account (fills.py): only a login listing that account
        reports blocks; without one, the accounts' executions are the order's fills."""
        if is_advisor_account(account) or not any(map(is_advisor_account, self.accounts)):
            return False  # the usual login has no advisor account: no order to look at
        order = rec.order if rec.order is not None else rec.sent_order  # sent_order: a new Order
        return order is not None and bool(order.faGroup)

    def on_commission(self, report: Any) -> list[BookEvent]:
        com = commission_of(report)
        with self.lock:
            slot = self._by_exec.get(com.exec_id)
            if slot is None:  # kept until its fill arrives (a repeat replaces it: no news)
                self._commissions[com.exec_id] = com
                return []
            return self.lock.emit(join_commission(slot, com))  # nothing for a repeat

    def on_completed_order(
        self, contract: Contract, order: Order, order_state: Any
    ) -> list[BookEvent]:
        perm_id = clean_id(order.permId)
        status = getattr(order_state, "status", "") or ""
        extra = (
            getattr(order_state, "completedStatus", ""),
            getattr(order_state, "completedTime", ""),
        )
        sig = ("completed", perm_id, status, contract.conId, terms(order), extra)
        # Text completedOrder carries no ids (ibapi leaves 0); protobuf ones may carry both. An
        # order id of 0 is no id here: the order is then found by permId alone.
        client_id = clean_int(order.clientId) or 0
        order_id = clean_int(order.orderId) or 0
        with self.lock:
            slot = self._find(client_id, order_id, perm_id, "completedOrder", bool(order_id))
            if slot.seen(sig):
                return []
            rec = slot.rec
            if rec.contract is None or not rec.acknowledged:
                rec.contract = contract
            if rec.order is None or not rec.acknowledged:
                rec.order = order
            rec.acknowledged = True
            slot.log("completed", "completedOrder", " ".join(x for x in (status, *extra) if x))
            slot.observe_filled(order)
            slot.observe_status(status)
            return self.lock.emit(slot.refresh("completedOrder", ignored=status))

    def on_error(
        self,
        req_id: int,
        code: int,
        text: str,
        advanced_json: str = "",
        error_time: int = 0,
        client_id: int | None = None,
    ) -> list[BookEvent] | None:
        """Attach an error to the order `req_id` names, and act on it (error_policy.py).

        Returns None when `req_id` is no order of this book: the caller (the session's router)
        then reports it as a notice. The router never passes its own request ids here.
        """
        kind = classify(code)
        cid = self.client_id if client_id is None else client_id
        with self.lock:
            slot = self._by_key.get((cid, req_id)) if req_id not in (-1, 0) else None
            if slot is None:
                return None
            if slot.unannounced:
                self._announce()
            now = self._now()
            entry = ErrorEntry(now, code, kind, text or "", advanced_json or "", error_time or 0)
            return self.lock.emit(apply_error(slot, entry))

    def on_position(self, account: str, contract: Contract, position: Any, avg_cost: float) -> None:
        pos = Position(
            account=account,
            con_id=clean_id(contract.conId),
            symbol=contract.symbol,
            sec_type=contract.secType,
            currency=contract.currency,
            local_symbol=contract.localSymbol,
            exchange=contract.exchange or contract.primaryExchange,
            position=clean_decimal(position) or Decimal(0),
            avg_cost=clean_float(avg_cost),
            contract=contract,
        )
        with self.lock:
            self._positions[(account, pos.con_id or contract.localSymbol)] = pos

    def on_account_value(self, account: str, tag: str, value: str, currency: str) -> None:
        with self.lock:
            self._account[(account, tag, currency or "")] = AccountValue(
                account, tag, value, currency or ""
            )

    # ------------------------------------------------------------------ internals

    def _snapshots(self) -> list[OrderRecord]:
        with self.lock:
            return [s.rec.snapshot() for s in self._slots]

    def _add(self, rec: OrderRecord, base: str) -> Slot:
        slot = Slot(rec=rec, base=base, now=self._now, wants=self._wants)
        self._slots.append(slot)
        if rec.order_id:
            self._by_key[rec.key] = slot
        if rec.perm_id:
            self._by_perm[rec.perm_id] = slot
        return slot

    def _require(self, order_id: int, client_id: int | None, what: str) -> Slot:
        cid = self.client_id if client_id is None else client_id
        slot = self._by_key.get((cid, order_id))
        if slot is None:
            raise BookError(
                f"order {order_id} (client {cid}) is not in the book: nothing to {what}"
            )
        if slot.unannounced:
            self._announce()
        return slot

    def _find(
        self, client_id: int, order_id: int, perm_id: int | None, source: str, ids: bool = True
    ) -> Slot:
        """The order's slot, found by permId, then (clientId, orderId); created on first sight.

        `source` is the message; `ids` False when it carries no API ids (then `client_id` and
        `order_id` are none): the first message that carries them gives them to a record that
        has none, so a record first seen without ids gets them later.
        """
        ids_from = source if ids else ""
        key = (client_id, order_id)
        slot = self._by_perm.get(perm_id) if perm_id else None
        if slot is None and order_id:
            slot = self._by_key.get(key)
        if slot is None:
            now = self._now()
            rec = OrderRecord(
                client_id, order_id, perm_id, ids_from, status=Status.UNKNOWN, created=now,
                updated=now,
            )  # fmt: skip
            slot = self._add(rec, Status.UNKNOWN)
            slot.log("first_seen", source, before="", after=Status.UNKNOWN)
            return slot
        if slot.unannounced:
            self._announce()  # TWS answered before the sender got here
        rec = slot.rec
        if perm_id and rec.perm_id not in (None, perm_id):
            text = f"a message for this order carries permId {perm_id}; kept {rec.perm_id}"
            slot.log("perm_conflict", "callback", text)
        if perm_id and rec.perm_id is None:
            rec.perm_id = perm_id
            self._by_perm[perm_id] = slot
        if not ids_from or key == rec.key:
            if ids_from and not rec.ids_known:
                rec.ids_from = ids_from
            return slot
        unbound = not rec.ids_known or (not rec.order_id and order_id)  # or a TWS-UI order's 0
        if unbound and (not order_id or key not in self._by_key):
            rec.client_id, rec.order_id, rec.ids_from = client_id, order_id, ids_from
            if order_id:
                self._by_key[key] = slot
            slot.log("ids", ids_from, f"client {client_id} order {order_id}")
        else:
            text = f"{ids_from} names client {client_id} order {order_id}; kept {rec.key}"
            slot.log("id_conflict", ids_from, text)
        return slot


_ZERO = Decimal(0)


def _client(value: Any, default: int) -> int:
    number = clean_int(value)
    return default if number is None else number
