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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ibapi.order import Order

from . import status as st
from .cleaning import clean_decimal, clean_float
from .events import BookEvent, Cancelled, Filled, OrderError, Rejected, StatusChanged
from .model import ErrorEntry, Fill, LogEntry, OrderRecord
from .status import Status

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


@dataclass(slots=True)
class Slot:
    """A record plus the bookkeeping that makes the book order-independent and deduplicated."""

    rec: OrderRecord
    base: str  # status before TWS said anything: PendingSubmit (ours) or Unknown
    now: Callable[[], datetime] = field(repr=False)
    status_sigs: set = field(default_factory=set)
    open_sigs: set = field(default_factory=set)
    done_status: str | None = None  # the "most done" status TWS reported
    working_status: str | None = None  # the latest not-done status TWS reported
    inferred_reject: bool = False  # the book's own inference: error before any TWS ack
    cancel_from: str | None = None  # our cancelOrder is pending; the status before it
    obs: Observed | None = None  # the status message with the largest filled quantity
    families: dict[tuple, str] = field(default_factory=dict)  # correction key -> current execId
    mod_seq: int = 0

    # ------------------------------------------------------------------ log

    def log(
        self, event: str, source: str, text: str = "", code: int | None = None,
        before: str | None = None, after: str | None = None,
    ) -> None:  # fmt: skip
        """Append to the order's log; the status before/after default to the current one."""
        rec, now = self.rec, self.now()
        before = rec.status if before is None else before
        after = rec.status if after is None else after
        rec.log = (*rec.log, LogEntry(now, event, before, after, source, text, code))
        rec.updated = now

    # ------------------------------------------------------------------ observations

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

    # ------------------------------------------------------------------ derivation

    def derive_status(self) -> str:
        rec = self.rec
        total = self.total()
        done = self.done_status
        if total and rec.fills_quantity >= total:
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

    def total(self) -> Decimal | None:
        """The order's total quantity from what TWS said, never guessed; None while unknown.

        The order's terms when they can be a total (not 0, not below what filled): TWS's
        completedOrder lists a filled order with totalQuantity 0 and its size as
        filledQuantity. Else filled + remaining of an orderStatus; else, for an order TWS
        reports Filled, what filled.
        """
        rec, obs = self.rec, self.obs
        filled = max(obs.filled if obs else Decimal(0), rec.fills_quantity)
        terms = clean_decimal(rec.order.totalQuantity) if rec.order is not None else None
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
        before = (rec.status, rec.filled, rec.remaining, rec.avg_fill_price, rec.last_fill_price)
        status = self.derive_status()
        if status in st.DONE:
            self.cancel_from = None
        rec.status = status
        self.derive_numbers()
        after = (rec.status, rec.filled, rec.remaining, rec.avg_fill_price, rec.last_fill_price)
        events: list[BookEvent] = []
        if before[0] != status:
            self.log("status", source, progress(rec), code, before=before[0])
            events.append(self.status_event(before[0], source, code, reason))
        elif before != after:
            self.log("progress", source, progress(rec), code)
        elif ignored and ignored != status:
            self.log("ignored", source, f"{ignored} ignored: order is {status}")
        return events

    def derive_numbers(self) -> None:
        rec, obs = self.rec, self.obs
        fills = list(rec.fills.values())
        fills_qty = rec.fills_quantity
        status_filled = obs.filled if obs else Decimal(0)
        filled = max(status_filled, fills_qty)
        total = rec.derived_quantity = self.total()
        if rec.status == Status.FILLED and total:
            filled = max(filled, total)
        rec.filled = filled
        if rec.status == Status.FILLED:
            rec.remaining = Decimal(0)
        elif total is not None:
            rec.remaining = max(total - filled, Decimal(0))
        else:
            rec.remaining = obs.remaining if obs and obs.filled == filled else None
        if fills and fills_qty > status_filled:
            rec.avg_fill_price = vwap(fills)
        elif obs and obs.filled > 0 and obs.avg is not None:
            rec.avg_fill_price = obs.avg
        else:
            rec.avg_fill_price = vwap(fills) if fills else None
        if fills:
            rec.last_fill_price = max(fills, key=_fill_order).price
        else:
            rec.last_fill_price = obs.last if obs and obs.filled > 0 else None

    # ------------------------------------------------------------------ events

    def status_event(
        self, before: str, source: str, code: int | None = None, reason: str = ""
    ) -> StatusChanged:
        rec = self.rec
        now, snap, after = self.now(), rec.snapshot(), rec.status
        if after == Status.FILLED:
            return Filled(time=now, record=snap, before=before, after=after, source=source)
        if after in (Status.CANCELLED, Status.API_CANCELLED):
            return Cancelled(
                time=now, record=snap, before=before, after=after, source=source, code=code,
                reason=reason,
            )  # fmt: skip
        if after == Status.INACTIVE and rec.rejected:
            err = rec.reject_error
            assert err is not None  # rejected implies it
            return self.rejected_event(before, source, err.code, err.text)
        return StatusChanged(time=now, record=snap, before=before, after=after, source=source)

    def rejected_event(self, before: str, source: str, code: int, text: str) -> Rejected:
        rec = self.rec
        return Rejected(
            time=self.now(),
            record=rec.snapshot(),
            before=before,
            after=rec.status,
            source=source,
            code=code,
            reason=text,
        )

    def error_event(self, entry: ErrorEntry) -> OrderError:
        return OrderError(
            time=self.now(),
            record=self.rec.snapshot(),
            code=entry.code,
            kind=entry.kind,
            text=entry.text,
        )


# ---------------------------------------------------------------------- helpers


def terms(order: Order) -> tuple:
    """The order's terms, cleaned, comparable across messages."""
    values = []
    for name in _TERMS:
        value = getattr(order, name, None)
        if isinstance(value, float):
            value = clean_float(value)
        elif isinstance(value, Decimal):
            value = clean_decimal(value)
        values.append(str(value))
    return tuple(values)


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


def vwap(fills: Iterable[Fill]) -> float | None:
    priced = [f for f in fills if f.price is not None and f.shares]
    qty = sum((f.shares for f in priced), Decimal(0))
    if not qty:
        return None
    value = sum((f.shares * Decimal(repr(f.price)) for f in priced), Decimal(0))
    return float(value / qty)


def _fill_order(fill: Fill) -> tuple:
    return (fill.cum_qty or Decimal(0), fill.time, fill.exec_id)
