"""The error policy: what an error TWS (or ibapi) reports for an order means for that order.

errors.classify gives a code's kind, context free; what it does to an order depends on the
order's state too. `effect` decides, first match wins:

- CANCEL (202): the order is Cancelled (never below Filled, see status.DONE_RANK).
- CANCEL_REJECT (161, 10147, 10148...) while only a modify is pending: that modify is rejected.
- CANCEL_REJECT, or a connectivity error while our cancel is pending and
  no modify is: the cancel was refused or never sent; the order returns to its status before.
- A kind that refuses a modify (errors.MODIFY_REJECTING_KINDS), while a modify is pending on an
  order TWS acknowledged (or already rejected, or the kind only ever concerns modifies): the
  oldest pending modify is rejected and the order keeps its status, never Cancelled.
- A kind known to reject (errors.REJECTING_KINDS: a listed reject code, 103, or an ibapi
  client-side "nothing was sent") for an order TWS has not acknowledged: placing failed, the
  order is Inactive and `rejected`. TWS's own later word about the order overrides this.
- Anything else, including codes not in errors.CODES: attached to the order and logged, status
  unchanged; an OrderError event unless it is information. TWS's statuses decide. An unknown
  code is never taken for a rejection: TWS sends notices nobody listed, and reading one as a
  refusal would show a live order as dead, and make cancel() refuse to cancel it.
"""

from __future__ import annotations

import logging
from enum import Enum

from ..errors import MODIFY_REJECTING_KINDS, REJECTING_KINDS, ErrorKind
from .events import BookEvent
from .merge import Slot
from .model import ErrorEntry
from .modify import reject_oldest
from .status import Status

log = logging.getLogger(__name__)

#: Kinds that only ever answer a modify: they reject one even before TWS acknowledged the order.
_MODIFY_ONLY = frozenset({ErrorKind.MODIFY_REJECT, ErrorKind.MODIFY_DONE})


class Effect(Enum):
    CANCELLED = "cancelled"
    CANCEL_REJECTED = "cancel_rejected"
    MODIFY_REJECTED = "modify_rejected"
    ORDER_REJECTED = "order_rejected"
    ATTACHED = "attached"


def effect(kind: ErrorKind, slot: Slot) -> Effect:
    """What an error of `kind` does to the order in `slot` (see the module docstring)."""
    rec = slot.rec
    pending = bool(rec.pending_modifications)
    unsent_cancel = kind is ErrorKind.CONNECTIVITY and slot.cancel_from is not None
    if kind is ErrorKind.CANCEL:
        return Effect.CANCELLED
    if kind is ErrorKind.CANCEL_REJECT and pending and slot.cancel_from is None:
        # "no order with this id" (135) answers a modify too: it names the id it missed, which
        # may be the parent a child's modify re-sent; the modify is what was refused.
        return Effect.MODIFY_REJECTED
    if kind is ErrorKind.CANCEL_REJECT or (unsent_cancel and not pending):
        return Effect.CANCEL_REJECTED
    if (
        pending
        and kind in MODIFY_REJECTING_KINDS
        and (rec.acknowledged or rec.reject_error is not None or kind in _MODIFY_ONLY)
    ):
        return Effect.MODIFY_REJECTED
    if kind in REJECTING_KINDS and not rec.acknowledged:
        return Effect.ORDER_REJECTED
    return Effect.ATTACHED


def apply_error(slot: Slot, entry: ErrorEntry) -> list[BookEvent]:
    """Attach `entry` to the order and act on it; returns the events (none for a repeat).

    A message TWS delivered twice (same code, text and TWS timestamp) is dropped; without a TWS
    timestamp a repeat is attached again only where it still means something.
    """
    rec = slot.rec
    code, text, kind = entry.code, entry.text, entry.kind
    seen = any(
        (e.code, e.text, e.advanced, e.error_time) == (code, text, entry.advanced, entry.error_time)
        for e in rec.errors
    )
    if seen and entry.error_time:
        return []
    source = f"error {code}"
    events: list[BookEvent] = []
    what = effect(kind, slot)
    if what is Effect.CANCELLED:
        if seen and rec.done:
            return []
        _attach(slot, entry, "error", source)
        slot.observe_status(Status.CANCELLED)
        events += slot.refresh(source, code=code, reason=text)
    elif what is Effect.CANCEL_REJECTED:
        if seen and slot.cancel_from is None:
            return []
        _attach(slot, entry, "cancel_rejected", source)
        slot.cancel_from = None
        events += slot.refresh(source)
        events += _some(slot.error_event(entry))
    elif what is Effect.MODIFY_REJECTED:
        events += _some(reject_oldest(slot, entry, source))
    elif what is Effect.ORDER_REJECTED:
        if seen:
            return []
        _attach(slot, entry, "error", source)
        slot.inferred_reject = True
        events += slot.refresh(source, code=code, reason=text)
    else:
        if seen:
            return []
        _attach(slot, entry, "error", source)
        if kind is ErrorKind.ERROR:
            log.warning(
                "order %d: TWS message %d is not in twsapp's table; order left %s: %s",
                rec.order_id, code, rec.status, text,
            )  # fmt: skip
        if rec.status == Status.INACTIVE and kind in REJECTING_KINDS:
            events += _some(slot.rejected_event(rec.status, source, code, text))
        elif kind is not ErrorKind.INFORMATION:
            events += _some(slot.error_event(entry))
    rec.updated = entry.time
    return events


def _some(event: BookEvent | None) -> list[BookEvent]:
    """The event in a list, or none when nobody subscribes to its kind (Slot.event)."""
    return [] if event is None else [event]


def _attach(slot: Slot, entry: ErrorEntry, event: str, source: str) -> None:
    slot.rec.errors = (*slot.rec.errors, entry)
    slot.log(event, source, entry.text, entry.code)
