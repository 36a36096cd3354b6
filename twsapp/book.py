"""OrderBook: one deduplicated record per order, fed by the client adapter's translated callbacks.

Pure: no sockets, no threads of its own. Callbacks arrive on ibapi's api thread while strategies
and the CLI read, so the book has one lock (`book.lock`, reentrant; the app also holds it around
"allocate id, register, placeOrder"). Events produced while the lock is held are queued and
delivered to subscribers only after the outermost holder releases it, on that thread: a
subscriber may call back into the book, and a slow subscriber never runs under the lock. Events
are never produced for duplicates.

How the book stays right when TWS repeats, reorders or omits messages:

- An orderStatus / openOrder / completedOrder identical to one already seen for the order is
  dropped without a trace; one that says nothing new leaves no event.
- Records are created on first sight, whatever the callback: execDetails or orderStatus before
  openOrder are kept and joined when openOrder arrives. Records are found by permId first, then
  by (clientId, orderId).
- Status: once TWS reports a done status (Filled, Cancelled, ApiCancelled, Inactive), the order
  only ever moves to a "more done" one (status.DONE_RANK: Inactive < Cancelled < Filled). A late
  "Submitted" after "Filled" is logged as ignored. Among working statuses the latest wins.
- Fills (execDetails, keyed by execId) are the truth for the filled quantity: filled is the
  larger of what orderStatus said and what the fills add up to, and when the fills add up to the
  order's size the order is Filled even if orderStatus never says so (a market order may not).
- An execId seen before is ignored. IB publishes an execution correction as another execDetails
  whose execId differs only after the final period ("....01.01" -> "....01.02"): for the same
  contract and side, the fill with the higher suffix replaces the other (kept in
  `corrected_fills`), whichever arrives first.
- Commission reports join fills by execId whenever they arrive; one that comes before its fill is
  kept and joined when the fill arrives; a fill whose report never comes shows commission None.
- Errors: see `on_error`. A reject while a modify is pending rejects the modify and leaves the
  order working, never Cancelled.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from ibapi.const import UNSET_INTEGER
from ibapi.contract import Contract
from ibapi.order import Order

from . import frames
from . import status as st
from .errors import MODIFY_REJECTING_KINDS, REJECTING_KINDS, ErrorKind, classify
from .records import (
    AUX_TYPES,
    LIMIT_TYPES,
    AccountValue,
    BookEvent,
    Cancelled,
    Commission,
    CommissionReceived,
    ErrorEntry,
    Fill,
    Filled,
    FillReceived,
    LogEntry,
    Modification,
    ModifyApplied,
    ModifyRejected,
    OrderError,
    OrderRecord,
    Position,
    Rejected,
    StatusChanged,
    clean_decimal,
    clean_float,
    clean_id,
    clean_int,
)

__all__ = [
    "MODIFIABLE",
    "BookError",
    "BookEvent",
    "Cancelled",
    "CommissionReceived",
    "Fill",
    "Filled",
    "FillReceived",
    "ModifyApplied",
    "ModifyRejected",
    "OrderBook",
    "OrderError",
    "OrderRecord",
    "Rejected",
    "StatusChanged",
]

log = logging.getLogger(__name__)

UNKNOWN = st.UNKNOWN

#: What a modify may change (DESIGN.md), by ibapi Order attribute, with friendly aliases.
MODIFIABLE = ("lmtPrice", "auxPrice", "totalQuantity", "tif", "trailStopPrice", "trailingPercent")
_ALIASES = {
    "price": "lmtPrice",
    "limit_price": "lmtPrice",
    "aux_price": "auxPrice",
    "stop_price": "auxPrice",
    "quantity": "totalQuantity",
    "trail_stop_price": "trailStopPrice",
    "trailing_percent": "trailingPercent",
}
_TERMS = ("action", "totalQuantity", "orderType", "lmtPrice", "auxPrice", "tif", "account")
_TERMS += ("trailStopPrice", "trailingPercent", "parentId", "ocaGroup", "outsideRth")

Subscriber = Callable[[BookEvent], Any]


class BookError(ValueError):
    """A request the book refuses: unknown order, done order, bad modify."""


@dataclass(slots=True)
class _Obs:
    """What one status message said about the order's progress."""

    filled: Decimal
    remaining: Decimal | None
    avg: float | None
    last: float | None


@dataclass(slots=True)
class _Slot:
    """A record plus the bookkeeping that makes the book order-independent and deduplicated."""

    rec: OrderRecord
    base: str  # status before TWS said anything: PendingSubmit (ours) or Unknown
    status_sigs: set = field(default_factory=set)
    open_sigs: set = field(default_factory=set)
    done_status: str | None = None  # the "most done" status TWS reported
    working_status: str | None = None  # the latest not-done status TWS reported
    inferred_reject: bool = False  # the book's own inference: error before any TWS ack
    cancel_from: str | None = None  # our cancelOrder is pending; the status before it
    obs: _Obs | None = None  # the status message with the largest filled quantity
    families: dict[tuple, str] = field(default_factory=dict)  # correction key -> current execId
    mod_seq: int = 0


class BookLock:
    """The book's reentrant lock; delivers queued events when the outermost holder leaves."""

    def __init__(self, book: OrderBook) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._book = book

    def acquire(self) -> None:
        self._lock.acquire()
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        events = self._book._take_events() if self._depth == 0 else []
        self._lock.release()
        if events:
            self._book._dispatch(events)

    def __enter__(self) -> BookLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class OrderBook:
    """Every order this app has seen, with fills, commissions, errors, modifies and a log."""

    def __init__(self, client_id: int = 0, clock: Callable[[], datetime] | None = None) -> None:
        self.client_id = client_id  # the app's own: used where a callback carries no client id
        self.accounts: list[str] = []
        self.lock = BookLock(self)
        self._now = clock or (lambda: datetime.now(UTC))
        self._slots: list[_Slot] = []
        self._by_key: dict[tuple[int, int], _Slot] = {}
        self._by_perm: dict[int, _Slot] = {}
        self._by_exec: dict[str, _Slot] = {}
        self._commissions: dict[str, Commission] = {}
        self._positions: dict[tuple[str, int | str], Position] = {}
        self._account: dict[tuple[str, str, str], AccountValue] = {}
        self.notices: deque[tuple[int, ErrorEntry]] = deque(maxlen=1000)  # errors for no order
        self._subscribers: tuple[Subscriber, ...] = ()
        self._queue: list[BookEvent] = []

    # ------------------------------------------------------------------ subscribers

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(event)` for every event; returns a function that unsubscribes."""
        with self.lock:
            self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            with self.lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not callback)

        return unsubscribe

    def _take_events(self) -> list[BookEvent]:
        events, self._queue = self._queue, []
        return events

    def _dispatch(self, events: list[BookEvent]) -> None:
        subscribers = self._subscribers
        for event in events:
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:  # a subscriber's bug must not break the api thread
                    log.exception("book subscriber %r failed on %s", callback, event)

    def _emit(self, events: list[BookEvent]) -> list[BookEvent]:
        self._queue.extend(events)
        return events

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
        with self.lock:
            snaps = [s.rec.snapshot() for s in self._slots]
        return frames.orders_df(snaps)

    def fills_df(self) -> pd.DataFrame:
        """One row per fill (corrections applied), with commission; frames.FILL_COLUMNS."""
        with self.lock:
            snaps = [s.rec.snapshot() for s in self._slots]
        return frames.fills_df(snaps)

    def positions_df(self) -> pd.DataFrame:
        """One row per (account, contract); frames.POSITION_COLUMNS."""
        return frames.positions_df(self.positions())

    def account_df(self) -> pd.DataFrame:
        """One row per (account, tag, currency); frames.ACCOUNT_COLUMNS."""
        return frames.account_df(self.account_values())

    # ------------------------------------------------------------------ requests (app side)

    def register_pending(
        self, client_id: int, order_id: int, contract: Contract, order: Order
    ) -> OrderRecord:
        """Record an order about to be sent (PendingSubmit). Call before placeOrder."""
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
                contract=copy.deepcopy(contract),
                order=copy.deepcopy(order),
                status=st.PENDING_SUBMIT,
                parent_id=clean_id(getattr(order, "parentId", 0)),
                created=now,
                updated=now,
                sent_contract=copy.deepcopy(contract),
                sent_order=copy.deepcopy(order),
            )
            slot = _Slot(rec=rec, base=st.PENDING_SUBMIT)
            self._add(slot)
            self._log(
                rec,
                "registered",
                "placeOrder",
                _terms_text(order),
                before="",
                after=st.PENDING_SUBMIT,
            )
            self._emit([self._status_event(rec, "", "placeOrder")])
            return rec

    def request_modify(
        self, order_id: int, changes: dict[str, Any], client_id: int | None = None
    ) -> Modification:
        """Record a pending modify; returns it, with `.order` = the order to send again."""
        normal = _normalize_changes(changes)
        with self.lock:
            slot = self._require(order_id, client_id, "modify")
            new_order, before = self._modified(slot, normal)
            slot.mod_seq += 1
            now = self._now()
            mod = Modification(
                seq=slot.mod_seq,
                changes=normal,
                before=before,
                state="pending",
                requested=now,
                order=new_order,
            )
            rec = slot.rec
            rec.modifications = (*rec.modifications, mod)
            self._log(rec, "modify_requested", "placeOrder", mod.describe())
            return mod

    def preview_modify(
        self, order_id: int, changes: dict[str, Any], client_id: int | None = None
    ) -> Order:
        """The order `request_modify` would send, without recording anything (to validate it)."""
        normal = _normalize_changes(changes)
        with self.lock:
            return self._modified(self._require(order_id, client_id, "modify"), normal)[0]

    def _modified(self, slot: _Slot, normal: dict[str, Any]) -> tuple[Order, dict[str, Any]]:
        """The order to re-send for a modify, and the changed fields' values before it.

        The base is the order as this app sent it (TWS's echo carries TWS-side fields that
        must not be sent back), with the modifiable terms TWS currently shows (so a modify
        applied, rejected, or made in TWS itself is accounted for) and the modifies still
        pending. For an order of another session only TWS's copy is known: its terms are taken
        from it (`_from_echo`).
        """
        rec = slot.rec
        if rec.done:
            raise BookError(
                f"order {rec.order_id} is {rec.status}: a done order cannot be modified"
            )
        if rec.order is None:
            raise BookError(f"order {rec.order_id}: its terms are not known yet, cannot modify")
        if rec.sent_order is None:
            base = _from_echo(rec.order)
        else:
            base = copy.deepcopy(rec.sent_order)
        if rec.sent_order is not None and rec.acknowledged:
            for name in MODIFIABLE:
                value = _shown(rec.order, name)
                if value is not None:
                    setattr(base, name, value)
        for mod in rec.pending_modifications:
            for name, value in mod.changes.items():
                setattr(base, name, value)
        before = {name: getattr(base, name, None) for name in normal}
        for name, value in normal.items():
            setattr(base, name, value)
        return base, before

    def request_cancel(self, order_id: int, client_id: int | None = None) -> list[BookEvent]:
        """Record that cancelOrder is about to be sent: the order is PendingCancel."""
        with self.lock:
            slot = self._require(order_id, client_id, "cancel")
            rec = slot.rec
            if rec.status in st.FINAL:
                raise BookError(f"order {order_id} is already {rec.status}: nothing to cancel")
            if slot.cancel_from is None:
                slot.cancel_from = rec.status
            self._log(rec, "cancel_requested", "cancelOrder")
            return self._emit(self._refresh(slot, "cancelOrder"))

    # ------------------------------------------------------------------ callbacks (api thread)

    def on_open_order(
        self, order_id: int, contract: Contract, order: Order, order_state: Any
    ) -> list[BookEvent]:
        client_id = _client(order.clientId, self.client_id)
        perm_id = clean_id(order.permId)
        status = getattr(order_state, "status", "") or ""
        sig = (order_id, client_id, perm_id, status, contract.conId, _terms(order))
        sig += (str(clean_decimal(getattr(order, "filledQuantity", None))),)
        with self.lock:
            slot = self._find(client_id, order_id, perm_id)
            if sig in slot.open_sigs:
                return []
            slot.open_sigs.add(sig)
            rec = slot.rec
            events: list[BookEvent] = []
            first = not rec.acknowledged
            changed = rec.order is not None and _terms(rec.order) != _terms(order)
            rec.contract, rec.order = contract, order
            rec.acknowledged = True
            rec.parent_id = clean_id(order.parentId) or rec.parent_id
            applied = self._apply_modifies(slot, order, events)
            if first:
                self._log(rec, "acknowledged", "openOrder", status)
            elif changed and not applied:
                self._log(rec, "order_updated", "openOrder", _terms_text(order))
            self._observe_filled(slot, order)
            self._observe_status(slot, status)
            events += self._refresh(slot, "openOrder", ignored=status)
            return self._emit(events)

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
        obs = _Obs(
            filled=clean_decimal(filled) or Decimal(0),
            remaining=clean_decimal(remaining),
            avg=clean_float(avg_fill_price) or None,  # 0 means "no fill yet"
            last=clean_float(last_fill_price) or None,
        )
        cap = clean_float(mkt_cap_price) or None
        sig = (order_id, cid, status, perm, clean_id(parent_id), why_held or "", cap)
        sig += (str(obs.filled), str(obs.remaining), obs.avg, obs.last)
        with self.lock:
            slot = self._find(cid, order_id, perm)
            if sig in slot.status_sigs:
                return []
            slot.status_sigs.add(sig)
            rec = slot.rec
            rec.acknowledged = True
            rec.parent_id = clean_id(parent_id) or rec.parent_id
            if (why_held or "") != rec.why_held:
                self._log(rec, "why_held", "orderStatus", why_held or "")
                rec.why_held = why_held or ""
            rec.mkt_cap_price = cap
            best = slot.obs
            if (
                best is None
                or obs.filled > best.filled
                or (obs.filled == best.filled and best.avg is None)
            ):
                slot.obs = obs
            self._observe_status(slot, status)
            return self._emit(self._refresh(slot, "orderStatus", ignored=status))

    def on_exec_details(self, req_id: int, contract: Contract, execution: Any) -> list[BookEvent]:
        exec_id = execution.execId
        with self.lock:
            if exec_id in self._by_exec:
                return []
            cid = _client(execution.clientId, self.client_id)
            slot = self._find(cid, execution.orderId, clean_id(execution.permId))
            rec = slot.rec
            if rec.contract is None:
                rec.contract = contract
            fill = self._make_fill(slot, contract, execution)
            self._by_exec[exec_id] = slot
            events: list[BookEvent] = []
            current_id = slot.families.get(fill.correction_key)
            current = rec.fills.get(current_id) if current_id else None
            if current is not None and fill.revision < current.revision:
                rec.corrected_fills = {**rec.corrected_fills, exec_id: fill}
                text = f"{exec_id} is older than its correction {current.exec_id}"
                self._log(rec, "ignored", "execDetails", text)
                return self._emit(events)
            fills = dict(rec.fills)
            text = f"{fill.side} {fill.shares} @ {fill.price} ({exec_id})"
            if current is not None:
                del fills[current.exec_id]
                rec.corrected_fills = {**rec.corrected_fills, current.exec_id: current}
                text += f", correcting {current.exec_id}"
            fills[exec_id] = fill
            rec.fills = fills
            rec.acknowledged = True  # a fill proves TWS accepted the order
            slot.families[fill.correction_key] = exec_id
            self._log(rec, "fill", "execDetails", text)
            status_events = self._refresh(slot, "execDetails")
            snap = rec.snapshot()
            events.append(FillReceived(time=self._now(), record=snap, fill=fill, replaces=current))
            if fill.commission is not None or fill.commission_currency is not None:
                events.append(CommissionReceived(time=self._now(), record=snap, fill=fill))
            return self._emit(events + status_events)

    def on_commission(self, report: Any) -> list[BookEvent]:
        amount = getattr(report, "commissionAndFees", None)
        if amount is None:  # ibapi before 10.33 names it `commission`
            amount = getattr(report, "commission", None)
        com = Commission(
            exec_id=report.execId,
            commission=clean_float(amount),
            currency=report.currency or None,
            realized_pnl=clean_float(getattr(report, "realizedPNL", None)),
        )
        with self.lock:
            if self._commissions.get(com.exec_id) == com:
                return []
            self._commissions[com.exec_id] = com
            slot = self._by_exec.get(com.exec_id)
            if slot is None:
                return []  # kept; joined when its fill arrives
            return self._emit(self._join_commission(slot, com))

    def on_completed_order(
        self, contract: Contract, order: Order, order_state: Any
    ) -> list[BookEvent]:
        perm_id = clean_id(order.permId)
        status = getattr(order_state, "status", "") or ""
        extra = (
            getattr(order_state, "completedStatus", ""),
            getattr(order_state, "completedTime", ""),
        )
        sig = ("completed", perm_id, status, contract.conId, _terms(order), extra)
        client_id = clean_int(order.clientId) or 0
        order_id = order.orderId if client_id else 0  # text completedOrder carries no ids
        with self.lock:
            slot = self._find(client_id, order_id, perm_id)
            if sig in slot.open_sigs:
                return []
            slot.open_sigs.add(sig)
            rec = slot.rec
            if rec.contract is None or not rec.acknowledged:
                rec.contract = contract
            if rec.order is None or not rec.acknowledged:
                rec.order = order
            rec.acknowledged = True
            text = " ".join(x for x in (status, *extra) if x)
            self._log(rec, "completed", "completedOrder", text)
            self._observe_filled(slot, order)
            self._observe_status(slot, status)
            return self._emit(self._refresh(slot, "completedOrder", ignored=status))

    def on_error(
        self,
        req_id: int,
        code: int,
        text: str,
        advanced_json: str = "",
        error_time: int = 0,
        client_id: int | None = None,
    ) -> list[BookEvent]:
        """Attach an error to the order `req_id` names, and act on it.

        The client must forward only errors whose id is an order id (not one of its own request
        ids). What the book does, by kind (errors.classify) and the order's state:
        - INFORMATION / WARNING: attached and logged; the order is unchanged.
        - CANCEL (202): the order is Cancelled (unless already done); not a failure.
        - CANCEL_REJECT (161, 10147, 10148...): our pending cancel failed: back to the status
          before it.
        - REJECT and friends while a modify is pending: the oldest pending modify is rejected;
          the order keeps its status (never Cancelled).
        - REJECT and friends for an order TWS has not acknowledged: placing failed, the order is
          Inactive and `rejected`. TWS's own later word about the order overrides this.
        - otherwise: attached, and an OrderError event; TWS's orderStatus decides the status.
        Errors for ids that are no order of the book go to `notices`.
        """
        kind = classify(code)
        cid = self.client_id if client_id is None else client_id
        with self.lock:
            now = self._now()
            entry = ErrorEntry(now, code, kind, text or "", advanced_json or "", error_time or 0)
            slot = self._by_key.get((cid, req_id)) if req_id not in (-1, 0) else None
            if slot is None:
                self.notices.append((req_id, entry))
                return []
            rec = slot.rec
            seen = any(
                (e.code, e.text, e.advanced, e.error_time)
                == (code, entry.text, entry.advanced, entry.error_time)
                for e in rec.errors
            )
            if seen and entry.error_time:
                return []  # the same message (TWS's own timestamp) delivered twice
            source = f"error {code}"
            events: list[BookEvent] = []
            pending = rec.pending_modifications
            unsent_cancel = kind is ErrorKind.CONNECTIVITY and slot.cancel_from is not None
            if kind is ErrorKind.CANCEL:
                if seen and rec.done:
                    return []
                rec.errors = (*rec.errors, entry)
                self._log(rec, "error", source, text, code)
                self._observe_status(slot, st.CANCELLED)  # never below Filled: see DONE_RANK
                events += self._refresh(slot, source, code=code, reason=text)
            elif kind is ErrorKind.CANCEL_REJECT or (unsent_cancel and not pending):
                if seen and slot.cancel_from is None:
                    return []
                rec.errors = (*rec.errors, entry)
                self._log(rec, "cancel_rejected", source, text, code)
                slot.cancel_from = None
                events += self._refresh(slot, source)
                events.append(self._error_event(rec, entry))
            elif (
                pending
                and kind in MODIFY_REJECTING_KINDS
                and (rec.acknowledged or rec.reject_error is not None or kind in _MODIFY_ONLY)
            ):
                mod = replace(pending[0], state="rejected", resolved=now, code=code, reason=text)
                entry = replace(entry, modify_seq=mod.seq)
                rec.errors = (*rec.errors, entry)
                rec.modifications = tuple(mod if m.seq == mod.seq else m for m in rec.modifications)
                self._log(rec, "modify_rejected", source, f"{mod.describe()}: {text}", code)
                events.append(
                    ModifyRejected(
                        time=now, record=rec.snapshot(), modification=mod, code=code, reason=text
                    )
                )
            elif kind in REJECTING_KINDS and not rec.acknowledged:
                if seen:
                    return []
                rec.errors = (*rec.errors, entry)
                self._log(rec, "error", source, text, code)
                slot.inferred_reject = True
                events += self._refresh(slot, source, code=code, reason=text)
            else:
                if seen:
                    return []
                rec.errors = (*rec.errors, entry)
                self._log(rec, "error", source, text, code)
                if rec.status == st.INACTIVE and kind in REJECTING_KINDS:
                    events.append(self._rejected(rec, rec.status, source, code, text))
                elif kind is not ErrorKind.INFORMATION:
                    events.append(self._error_event(rec, entry))
            rec.updated = now
            return self._emit(events)

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

    def _add(self, slot: _Slot) -> None:
        rec = slot.rec
        self._slots.append(slot)
        if rec.order_id:
            self._by_key[rec.key] = slot
        if rec.perm_id:
            self._by_perm[rec.perm_id] = slot

    def _require(self, order_id: int, client_id: int | None, what: str) -> _Slot:
        cid = self.client_id if client_id is None else client_id
        slot = self._by_key.get((cid, order_id))
        if slot is None:
            raise BookError(
                f"order {order_id} (client {cid}) is not in the book: nothing to {what}"
            )
        return slot

    def _find(self, client_id: int, order_id: int, perm_id: int | None) -> _Slot:
        """The order's slot, found by permId, then (clientId, orderId); created on first sight."""
        slot = self._by_perm.get(perm_id) if perm_id else None
        if slot is None and order_id:
            slot = self._by_key.get((client_id, order_id))
        if slot is None:
            now = self._now()
            rec = OrderRecord(
                client_id, order_id, perm_id, status=UNKNOWN, created=now, updated=now
            )
            slot = _Slot(rec=rec, base=UNKNOWN)
            self._add(slot)
            self._log(rec, "first_seen", "callback", before="", after=UNKNOWN)
            return slot
        rec = slot.rec
        if perm_id and rec.perm_id not in (None, perm_id):
            text = f"a message for this order carries permId {perm_id}; kept {rec.perm_id}"
            self._log(rec, "perm_conflict", "callback", text)
        if perm_id and rec.perm_id is None:
            rec.perm_id = perm_id
            self._by_perm[perm_id] = slot
        if order_id and not rec.order_id and (client_id, order_id) not in self._by_key:
            rec.client_id, rec.order_id = client_id, order_id  # bound to an API id
            self._by_key[rec.key] = slot
        return slot

    def _log(
        self, rec: OrderRecord, event: str, source: str, text: str = "", code: int | None = None,
        before: str | None = None, after: str | None = None,
    ) -> None:  # fmt: skip
        """Append to the order's log; the status before/after default to the current one."""
        now = self._now()
        before = rec.status if before is None else before
        after = rec.status if after is None else after
        rec.log = (*rec.log, LogEntry(now, event, before, after, source, text, code))
        rec.updated = now

    def _observe_status(self, slot: _Slot, status: str) -> None:
        if not status:
            return
        if status in st.DONE:
            cur = slot.done_status
            if cur is None or st.DONE_RANK[status] > st.DONE_RANK[cur]:
                slot.done_status = status
            slot.inferred_reject = False
        else:
            slot.working_status = status

    def _observe_filled(self, slot: _Slot, order: Order) -> None:
        filled = clean_decimal(getattr(order, "filledQuantity", None))
        if filled is not None and (slot.obs is None or filled > slot.obs.filled):
            slot.obs = _Obs(filled, None, None, None)

    def _derive_status(self, slot: _Slot) -> str:
        rec = slot.rec
        total = self._total(slot)
        done = slot.done_status
        if total and rec.fills_quantity >= total:
            done = st.FILLED
        if done is not None:
            return done
        if slot.cancel_from is not None:
            return st.PENDING_CANCEL
        if slot.working_status is not None:
            return slot.working_status
        if slot.inferred_reject:
            return st.INACTIVE
        return slot.base

    def _total(self, slot: _Slot) -> Decimal | None:
        total = slot.rec.total_quantity
        if total is None and slot.obs is not None and slot.obs.remaining is not None:
            total = slot.obs.filled + slot.obs.remaining
        return total or None

    def _refresh(
        self,
        slot: _Slot,
        source: str,
        code: int | None = None,
        reason: str = "",
        ignored: str = "",
    ) -> list[BookEvent]:
        """Recompute status and numbers from everything seen; log and return what changed."""
        rec = slot.rec
        before = (rec.status, rec.filled, rec.remaining, rec.avg_fill_price, rec.last_fill_price)
        status = self._derive_status(slot)
        if status in st.DONE:
            slot.cancel_from = None
        rec.status = status
        self._derive_numbers(slot)
        after = (rec.status, rec.filled, rec.remaining, rec.avg_fill_price, rec.last_fill_price)
        events: list[BookEvent] = []
        if before[0] != status:
            self._log(rec, "status", source, _progress(rec), code, before=before[0])
            events.append(self._status_event(rec, before[0], source, code, reason))
        elif before != after:
            self._log(rec, "progress", source, _progress(rec), code)
        elif ignored and ignored != status:
            self._log(rec, "ignored", source, f"{ignored} ignored: order is {status}")
        return events

    def _derive_numbers(self, slot: _Slot) -> None:
        rec, obs = slot.rec, slot.obs
        fills = list(rec.fills.values())
        fills_qty = rec.fills_quantity
        status_filled = obs.filled if obs else Decimal(0)
        filled = max(status_filled, fills_qty)
        total = self._total(slot)
        if rec.status == st.FILLED and total:
            filled = max(filled, total)
        rec.filled = filled
        if rec.status == st.FILLED:
            rec.remaining = Decimal(0)
        elif total is not None:
            rec.remaining = max(total - filled, Decimal(0))
        else:
            rec.remaining = obs.remaining if obs and obs.filled == filled else None
        if fills and fills_qty > status_filled:
            rec.avg_fill_price = _vwap(fills)
        elif obs and obs.filled > 0 and obs.avg is not None:
            rec.avg_fill_price = obs.avg
        else:
            rec.avg_fill_price = _vwap(fills) if fills else None
        if fills:
            rec.last_fill_price = max(fills, key=_fill_order).price
        else:
            rec.last_fill_price = obs.last if obs and obs.filled > 0 else None

    def _status_event(
        self, rec: OrderRecord, before: str, source: str, code: int | None = None, reason: str = ""
    ) -> StatusChanged:
        now, snap, after = self._now(), rec.snapshot(), rec.status
        if after == st.FILLED:
            return Filled(time=now, record=snap, before=before, after=after, source=source)
        if after in (st.CANCELLED, st.API_CANCELLED):
            return Cancelled(
                time=now,
                record=snap,
                before=before,
                after=after,
                source=source,
                code=code,
                reason=reason,
            )
        if after == st.INACTIVE and rec.rejected:
            err = rec.reject_error
            assert err is not None  # rejected implies it
            return self._rejected(rec, before, source, err.code, err.text)
        return StatusChanged(time=now, record=snap, before=before, after=after, source=source)

    def _rejected(
        self, rec: OrderRecord, before: str, source: str, code: int, text: str
    ) -> Rejected:
        return Rejected(
            time=self._now(),
            record=rec.snapshot(),
            before=before,
            after=rec.status,
            source=source,
            code=code,
            reason=text,
        )

    def _error_event(self, rec: OrderRecord, entry: ErrorEntry) -> OrderError:
        return OrderError(
            time=self._now(),
            record=rec.snapshot(),
            code=entry.code,
            kind=entry.kind,
            text=entry.text,
        )

    def _apply_modifies(self, slot: _Slot, order: Order, events: list[BookEvent]) -> bool:
        """Mark the newest pending modify that `order` shows as applied, older ones superseded."""
        rec = slot.rec
        pending = rec.pending_modifications
        matched = next((m for m in reversed(pending) if _shows(order, m.changes)), None)
        if matched is None:
            return False
        now = self._now()
        mods = []
        for m in rec.modifications:
            if m.seq == matched.seq:
                m = replace(m, state="applied", resolved=now)
                matched = m
            elif m.state == "pending" and m.seq < matched.seq:
                m = replace(m, state="superseded", resolved=now)
            mods.append(m)
        rec.modifications = tuple(mods)
        self._log(rec, "modify_applied", "openOrder", matched.describe())
        events.append(ModifyApplied(time=now, record=rec.snapshot(), modification=matched))
        return True

    def _make_fill(self, slot: _Slot, contract: Contract, execution: Any) -> Fill:
        rec = slot.rec
        com = self._commissions.get(execution.execId)
        return Fill(
            exec_id=execution.execId,
            order_id=rec.order_id,
            client_id=rec.client_id,
            perm_id=rec.perm_id,
            time=execution.time,
            side=execution.side,
            shares=clean_decimal(execution.shares) or Decimal(0),
            price=clean_float(execution.price),
            cum_qty=clean_decimal(execution.cumQty),
            avg_price=clean_float(execution.avgPrice),
            exchange=execution.exchange,
            account=execution.acctNumber,
            con_id=clean_id(contract.conId),
            symbol=contract.symbol,
            commission=com.commission if com else None,
            commission_currency=com.currency if com else None,
            realized_pnl=com.realized_pnl if com else None,
        )

    def _join_commission(self, slot: _Slot, com: Commission) -> list[BookEvent]:
        rec = slot.rec
        joined = {"commission": com.commission, "commission_currency": com.currency}
        joined["realized_pnl"] = com.realized_pnl
        if com.exec_id in rec.corrected_fills:
            fill = replace(rec.corrected_fills[com.exec_id], **joined)
            rec.corrected_fills = {**rec.corrected_fills, com.exec_id: fill}
            text = f"{com.commission} {com.currency or ''} for corrected {com.exec_id}"
            self._log(rec, "commission", "commissionAndFeesReport", text)
            return []
        fill = replace(rec.fills[com.exec_id], **joined)
        rec.fills = {**rec.fills, com.exec_id: fill}
        text = f"{com.commission} {com.currency or ''} for {com.exec_id}"
        self._log(rec, "commission", "commissionAndFeesReport", text)
        return [CommissionReceived(time=self._now(), record=rec.snapshot(), fill=fill)]


_MODIFY_ONLY = frozenset({ErrorKind.MODIFY_REJECT, ErrorKind.MODIFY_DONE})


def _client(value: Any, default: int) -> int:
    number = clean_int(value)
    return default if number is None else number


def _terms(order: Order) -> tuple:
    values = []
    for name in _TERMS:
        value = getattr(order, name, None)
        if isinstance(value, float):
            value = clean_float(value)
        elif isinstance(value, Decimal):
            value = clean_decimal(value)
        values.append(str(value))
    return tuple(values)


def _terms_text(order: Order) -> str:
    qty = clean_decimal(order.totalQuantity)
    text = f"{order.action} {qty if qty is not None else '?'} {order.orderType}"
    for label, name in (("lmt", "lmtPrice"), ("aux", "auxPrice")):
        value = clean_float(getattr(order, name, None))
        if value:
            text += f" {label} {value}"
    return f"{text} {order.tif}".rstrip()


def _progress(rec: OrderRecord) -> str:
    text = f"filled {rec.filled}"
    if rec.remaining is not None:
        text += f" remaining {rec.remaining}"
    if rec.avg_fill_price is not None:
        text += f" avg {rec.avg_fill_price}"
    return text


def _vwap(fills: Iterable[Fill]) -> float | None:
    priced = [f for f in fills if f.price is not None and f.shares]
    qty = sum((f.shares for f in priced), Decimal(0))
    if not qty:
        return None
    value = sum((f.shares * Decimal(repr(f.price)) for f in priced), Decimal(0))
    return float(value / qty)


def _fill_order(fill: Fill) -> tuple:
    return (fill.cum_qty or Decimal(0), fill.time, fill.exec_id)


def _normalize_changes(changes: dict[str, Any]) -> dict[str, Any]:
    if not changes:
        raise BookError("a modify needs at least one change")
    normal: dict[str, Any] = {}
    for key, value in changes.items():
        name = _ALIASES.get(key, key)
        if name not in MODIFIABLE:
            raise BookError(
                f"a modify may change only {', '.join(MODIFIABLE)}; "
                f"{key!r} needs cancel-and-replace"
            )
        if name == "totalQuantity":
            value = Decimal(str(value))
        elif name == "tif":
            value = str(value).upper()
        else:
            value = float(value)
        normal[name] = value
    return normal


#: The terms of an order, as an app places it: what a modify of an order known only from TWS's
#: copy re-sends. Not the fields TWS fills in on its side, nor ibapi's decoding placeholders
#: ("None", "?", unset markers), which would mean something else if sent back.
_RESEND_TERMS = (
    "orderId", "action", "totalQuantity", "orderType", "tif", "account", "orderRef",
    "outsideRth", "goodTillDate", "goodAfterTime", "parentId", "ocaGroup", "transmit",
    "faGroup", "faMethod", "faPercentage", "modelCode", "algoStrategy", "algoParams", "hidden",
    "displaySize", "minQty", "cashQty",
)  # fmt: skip


def _from_echo(echo: Order) -> Order:
    order = Order()
    for name in _RESEND_TERMS:
        value = getattr(echo, name, None)
        if value is None or value in ("None", "?") or value == UNSET_INTEGER:
            continue
        if isinstance(value, float) and (clean_float(value) is None or value == 0.0):
            continue
        setattr(order, name, value)
    for name in ("lmtPrice", "auxPrice", "trailStopPrice", "trailingPercent"):
        value = _shown(echo, name)
        if value is not None:
            setattr(order, name, value)
    if order.ocaGroup:
        order.ocaType = echo.ocaType
    return order


def _shown(order: Order, name: str) -> Any:
    """A modifiable term as TWS shows it, or None where TWS's copy says nothing about it."""
    value = getattr(order, name, None)
    if name == "totalQuantity":
        return clean_decimal(value)
    if name == "tif":
        return value or None
    number = clean_float(value)
    if name == "lmtPrice" and order.orderType not in LIMIT_TYPES:
        return None
    if name == "auxPrice" and order.orderType not in AUX_TYPES:
        return None
    if name in ("trailStopPrice", "trailingPercent") and "TRAIL" not in order.orderType:
        return None
    return number


def _shows(order: Order, changes: dict[str, Any]) -> bool:
    """Does TWS's copy of the order carry every change of a modify?"""
    for name, wanted in changes.items():
        have = getattr(order, name, None)
        if name == "totalQuantity":
            if clean_decimal(have) != wanted:
                return False
        elif name == "tif":
            if str(have).upper() != wanted:
                return False
        else:
            value = clean_float(have)
            if value is None or abs(value - wanted) > 1e-9 * max(1.0, abs(wanted)):
                return False
    return True
