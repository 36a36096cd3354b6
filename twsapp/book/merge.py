"""How one order's status and numbers are merged from everything TWS said about it.

TWS repeats, reorders and omits messages, so the book never copies a status or a number from
the latest message: it keeps what each kind of message said (`Slot`) and derives the record
from all of it (`Slot.refresh`), whatever the order of arrival.

- Status: once TWS reports a done status (Filled, Cancelled, ApiCancelled, Inactive), the order
  only ever moves to a "more done" one (status.DONE_RANK: Inactive < Cancelled < Filled). A late
  "Submitted" after "Filled" is logged as ignored. Among working statuses the latest wins.
- Fills (execDetails) are the truth for the filled quantity: filled is the larger of what
  orderStatus said and what the fills add up to, and when the fills add up to the order's size
  the order is Filled even if orderStatus never says so (a market order may not).
- An Inactive the book inferred itself (an error known to reject, for an order TWS never
  acknowledged) yields to any status TWS reports.
- The total quantity is derived too (`Slot.total`): a done order known only from
  completedOrder (after a restart) may report 0 as its totalQuantity.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, TypeVar

from ibapi.order import Order

from . import status as st
from .cleaning import clean_decimal, clean_float, shared_decimal
from .events import BookEvent, Cancelled, Filled, OrderError, Rejected, StatusChanged
from .model import ErrorEntry, Fill, OrderRecord
from .status import Status

E = TypeVar("E", bound=BookEvent)

#: The order terms whose change makes an openOrder "new" (and is logged as an update).
_TERMS: tuple[str, ...] = (
    "action",
    "totalQuantity",
    "orderType",
    "lmtPrice",
    "auxPrice",
    "tif",
    "account",
)
_TERMS += ("trailStopPrice", "trailingPercent", "parentId", "ocaGroup", "outsideRth")


@dataclass(slots=True)
class Observed:
    """What one status message said about the order's progress."""

    filled: Decimal
    remaining: Decimal | None
    avg: float | None
    last: float | None


def _everyone(kind: type) -> bool:
    return True


@dataclass(slots=True)
class FillStats:
    """What the record's fills add up to, for the version of ``rec.fills`` it names (the book
    replaces that dict on every change, so its identity says whether these are current).

    Kept as running sums: a new fill (the common case) is added in constant time; a
    correction, which takes a fill out, recomputes them from the fills."""

    of: dict[str, Fill]
    quantity: Decimal = Decimal(0)
    priced: Decimal = Decimal(0)  # the shares of the fills with a price
    value: Decimal = Decimal(0)  # their shares times price
    last_key: tuple | None = None  # _fill_order of the latest fill
    last: float | None = None  # its price

    @property
    def vwap(self) -> float | None:
        return float(self.value / self.priced) if self.priced else None

    def add(self, fill: Fill) -> None:
        shares, price = fill.shares, fill.price
        self.quantity += shares
        if price is not None and shares:
            self.priced += shares
            self.value += shares * Decimal(repr(price))
        key = _fill_order(fill)
        if self.last_key is None or key > self.last_key:
            self.last_key, self.last = key, price

    @classmethod
    def of_fills(cls, fills: dict[str, Fill]) -> FillStats:
        stats = cls(of=fills)
        for fill in fills.values():
            stats.add(fill)
        return stats


_NO_FILLS = FillStats(of={})


@dataclass(slots=True)
class Slot:
    """A record plus the bookkeeping that makes the book order-independent and deduplicated."""

    rec: OrderRecord
    base: str  # status before TWS said anything: PendingSubmit (ours) or Unknown
    now: Callable[[], datetime] = field(repr=False)
    # Does anyone subscribe to events of this kind (EventBus.wants)? An event nobody takes is
    # not built: each carries a copy of the record.
    wants: Callable[[type], bool] = field(default=_everyone, repr=False)
    # What each openOrder / orderStatus / completedOrder already said (their signatures: tuples
    # of different lengths, never equal across kinds): a tuple while short (an order gets a
    # few), a set past SIGS_IN_TUPLE so that a long life stays linear.
    sigs: tuple | set = ()
    done_status: str | None = None  # the "most done" status TWS reported
    working_status: str | None = None  # the latest not-done status TWS reported
    inferred_reject: bool = False  # the book's own inference: error before any TWS ack
    cancel_from: str | None = None  # our cancelOrder is pending; the status before it
    obs: Observed | None = None  # the status message with the largest filled quantity
    families: dict[tuple, str] | None = None  # correction key -> current execId, from a second fill
    mod_seq: int = 0
    fill_stats: FillStats | None = field(default=None, repr=False)
    # rec.order and its terms, cleaned (clean_terms): an openOrder that reads the same as
    # rec.order needs no cleaning; rec.order is replaced, never changed in place.
    order_terms: tuple[Order | None, tuple] = field(default=(None, ()), repr=False)
    # Registered by a sender, whose log line and PendingSubmit event are still to come
    # (OrderBook.register_pending): the first to touch the order announces it.
    unannounced: bool = False

    # ------------------------------------------------------------------ log

    def log(
        self, event: str, source: str, text: str = "", code: int | None = None,
        before: str | None = None, after: str | None = None, at: datetime | None = None,
    ) -> None:  # fmt: skip
        """Append to the order's log; the status before/after default to the current one, the
        time to now."""
        rec, now = self.rec, at or self.now()
        before = rec.status if before is None else before
        after = rec.status if after is None else after
        # A row of plain values, which the garbage collector stops scanning (model.LogEntry):
        # a Status is kept as its plain string.
        before, after = _PLAIN.get(before, before), _PLAIN.get(after, after)
        # Texts repeat across orders ("filled 0 remaining 100"): one copy of each while in use.
        text = sys.intern(text)
        rec.log_rows = (*rec.log_rows, (now, event, before, after, source, text, code))
        rec.updated = now

    def seen(self, sig: tuple) -> bool:
        """Was a message with this signature seen before? Remembers it if not."""
        sigs = self.sigs
        if sig in sigs:
            return True
        if isinstance(sigs, set):
            sigs.add(sig)
        elif len(sigs) < SIGS_IN_TUPLE:
            self.sigs = (*sigs, sig)
        else:
            self.sigs = {*sigs, sig}
        return False

    # ------------------------------------------------------------------ observations

    def observations(self) -> tuple:
        """What the derivation reads of the status messages (equal: the same record)."""
        return (self.obs, self.done_status, self.working_status, self.inferred_reject)

    def observe_status(self, status: str) -> None:
        if not status:
            return
        if status in st.DONE:
            cur = self.done_status
            if cur is None or st.DONE_RANK[status] > st.DONE_RANK[cur]:
                self.done_status = status
            self.inferred_reject = False
        else:
            self.working_status = status

    def observe_filled(self, order: Order) -> None:
        """The filled quantity an openOrder / completedOrder carries."""
        filled = clean_decimal(getattr(order, "filledQuantity", None))
        if filled is not None and (self.obs is None or filled > self.obs.filled):
            self.obs = Observed(filled, None, None, None)

    def observe_progress(self, obs: Observed) -> None:
        """An orderStatus's numbers: the most filled wins (a late message says less)."""
        best = self.obs
        if (
            best is None
            or obs.filled > best.filled
            or (obs.filled == best.filled and best.avg is None)
        ):
            self.obs = obs

    # ------------------------------------------------------------------ cached views

    def fills(self) -> FillStats:
        """Quantity, VWAP and last price of the record's fills, recomputed only when the fills
        changed (at most once per execDetails / commission), not on every status message."""
        stats, fills = self.fill_stats, self.rec.fills
        if stats is None or stats.of is not fills:
            if not fills:
                return _NO_FILLS  # most orders never fill: none of their own (read only)
            stats = self.fill_stats = FillStats.of_fills(fills)
        return stats

    def fills_changed(self, fills: dict[str, Fill], added: Fill | None = None) -> None:
        """``rec.fills`` becomes ``fills``: the previous dict plus ``added``, or (None) the same
        fills with other commissions. The sums follow without a recount when they were current."""
        stats = self.fill_stats
        current = stats is not None and stats.of is self.rec.fills
        self.rec.fills = fills
        if stats is not None and current:
            stats.of = fills
            if added is not None:
                stats.add(added)

    def terms_of_record(self) -> tuple[tuple, tuple] | None:
        """``rec.order``'s terms as read and as cleaned (cleaned once per order object)."""
        order = self.rec.order
        if order is None:
            return None
        raw = read_terms(order)  # one C call: cheaper to read again than to keep
        cached_for, cleaned = self.order_terms
        if cached_for is not order:
            cleaned = clean_terms(raw)
            self.order_terms = (order, cleaned)
        return raw, cleaned

    # ------------------------------------------------------------------ derivation

    def derive_status(self, total: Decimal | None, stats: FillStats) -> str:
        done = self.done_status
        if total and stats.quantity >= total:
            done = Status.FILLED
        if done is not None:
            return done
        if self.cancel_from is not None:
            return Status.PENDING_CANCEL
        if self.working_status is not None:
            return self.working_status
        if self.inferred_reject:
            return Status.INACTIVE
        return self.base

    def total(self, stats: FillStats | None = None) -> Decimal | None:
        """The order's total quantity from what TWS said, never guessed; None while unknown.

        The order's terms when they can be a total (not 0, not below what filled): TWS's
        completedOrder lists a filled order with totalQuantity 0 and its size as
        filledQuantity. Else filled + remaining of an orderStatus; else, for an order TWS
        reports Filled, what filled.
        """
        rec, obs = self.rec, self.obs
        fills_qty = (stats or self.fills()).quantity
        filled = fills_qty if obs is None or obs.filled < fills_qty else obs.filled
        order = rec.order
        terms = clean_decimal(order.totalQuantity) if order is not None else None
        if terms and terms >= filled:
            return terms
        if obs is not None and obs.remaining is not None and obs.filled + obs.remaining:
            return obs.filled + obs.remaining
        if self.done_status == Status.FILLED and filled:
            return filled
        return None

    def refresh(
        self, source: str, code: int | None = None, reason: str = "", ignored: str = ""
    ) -> list[BookEvent]:
        """Recompute status and numbers from everything seen; log and return what changed."""
        rec = self.rec
        stats = self.fills()  # once: status and numbers both read it
        total = self.total(stats)
        before = rec.status
        status = self.derive_status(total, stats)
        if status in st.DONE:
            self.cancel_from = None
        rec.status = status
        moved = self.derive_numbers(total, stats)
        if before != status:
            self.log("status", source, progress(rec), code, before=before)
            event = self.status_event(before, source, code, reason)
            return [] if event is None else [event]
        if moved:
            self.log("progress", source, progress(rec), code)
        elif ignored and ignored != status:
            self.log("ignored", source, f"{ignored} ignored: order is {status}")
        return []

    def derive_numbers(self, total: Decimal | None, stats: FillStats) -> bool:
        """Set the record's numbers from what was seen; True when any of them changed."""
        rec, obs = self.rec, self.obs
        fills, fills_qty = bool(rec.fills), stats.quantity
        status_filled = obs.filled if obs else _ZERO
        filled = fills_qty if status_filled < fills_qty else status_filled
        rec.derived_quantity = total
        filled_status = rec.status == Status.FILLED
        if filled_status and total and total > filled:
            filled = total
        if filled_status:
            remaining: Decimal | None = _ZERO
        elif total is not None:
            remaining = shared_decimal(total - filled if total > filled else _ZERO)
        else:
            remaining = obs.remaining if obs and obs.filled == filled else None
        if fills and fills_qty > status_filled:
            avg = stats.vwap
        elif obs and obs.filled > 0 and obs.avg is not None:
            avg = obs.avg
        else:
            avg = stats.vwap if fills else None
        last = stats.last if fills else (obs.last if obs and obs.filled > 0 else None)
        if (
            filled == rec.filled
            and remaining == rec.remaining
            and avg == rec.avg_fill_price
            and last == rec.last_fill_price
        ):
            return False
        rec.filled, rec.remaining, rec.avg_fill_price, rec.last_fill_price = (
            filled, remaining, avg, last
        )  # fmt: skip
        return True

    # ------------------------------------------------------------------ events

    def event(self, cls: type[E], /, time: datetime | None = None, **fields: Any) -> E | None:
        """A ``cls`` event with a snapshot of the record, or None when no subscriber takes it."""
        if not self.wants(cls):
            return None
        return cls(time=time or self.now(), record=self.rec.snapshot(), **fields)

    def status_event(
        self, before: str, source: str, code: int | None = None, reason: str = ""
    ) -> StatusChanged | None:
        rec = self.rec
        after = rec.status
        if after == Status.FILLED:
            return self.event(Filled, before=before, after=after, source=source)
        if after in (Status.CANCELLED, Status.API_CANCELLED):
            return self.event(
                Cancelled, before=before, after=after, source=source, code=code, reason=reason
            )
        if after == Status.INACTIVE and rec.rejected:
            err = rec.reject_error
            assert err is not None  # rejected implies it
            return self.rejected_event(before, source, err.code, err.text)
        return self.event(StatusChanged, before=before, after=after, source=source)

    def rejected_event(self, before: str, source: str, code: int, text: str) -> Rejected | None:
        return self.event(
            Rejected, before=before, after=self.rec.status, source=source, code=code, reason=text
        )

    def error_event(self, entry: ErrorEntry) -> OrderError | None:
        return self.event(OrderError, code=entry.code, kind=entry.kind, text=entry.text)


# ---------------------------------------------------------------------- helpers


SIGS_IN_TUPLE = 8
_PLAIN: dict[str, str] = {status: status.value for status in Status}
_ZERO = Decimal(0)
_READ_TERMS = attrgetter(*_TERMS)


def read_terms(order: Order) -> tuple:
    """The order's terms as the message carries them: equal ones clean to equal terms."""
    try:
        return _READ_TERMS(order)  # one C call for the usual case: every attribute is there
    except AttributeError:
        return tuple(getattr(order, name, None) for name in _TERMS)


def clean_terms(raw: tuple) -> tuple:
    """Terms read by ``read_terms``, cleaned: comparable and hashable across messages (the
    values themselves, not their text: they are the order's own objects, nothing new)."""
    return tuple(
        [
            clean_float(v)
            if isinstance(v, float)
            else clean_decimal(v)
            if isinstance(v, Decimal)
            else v
            for v in raw
        ]
    )


def terms(order: Order) -> tuple:
    """The order's terms, cleaned, comparable across messages."""
    return clean_terms(read_terms(order))


def terms_text(order: Order) -> str:
    """The order's terms for a log line: "BUY 100 LMT lmt 149.0 DAY"."""
    qty = clean_decimal(order.totalQuantity)
    text = f"{order.action} {qty if qty is not None else '?'} {order.orderType}"
    for label, name in (("lmt", "lmtPrice"), ("aux", "auxPrice")):
        value = clean_float(getattr(order, name, None))
        if value:
            text += f" {label} {value}"
    return f"{text} {order.tif}".rstrip()


def progress(rec: OrderRecord) -> str:
    text = f"filled {rec.filled}"
    if rec.remaining is not None:
        text += f" remaining {rec.remaining}"
    if rec.avg_fill_price is not None:
        text += f" avg {rec.avg_fill_price}"
    return text


def _fill_order(fill: Fill) -> tuple:
    return (fill.cum_qty or Decimal(0), fill.time, fill.exec_id)
