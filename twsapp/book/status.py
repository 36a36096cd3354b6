"""Order status names and the sets every module tests them against, named once.

TWS reports: PreSubmitted, Submitted, Cancelled, ApiCancelled, Filled, Inactive, PendingCancel
(and, rarely, ApiPending). PendingSubmit is never sent by TWS: the app sets it itself when it
sends placeOrder; likewise PendingCancel when it sends cancelOrder.

"Inactive" is the hard one. IB documents it as "accepted, but currently inactive due to
system, exchange or other issues"; in practice TWS uses it for rejected orders (error 201 and
friends, e.g. margin), and for orders TWS holds and will not work (e.g. an order for a closed
venue, or a child whose parent has not been transmitted). Our choice:

- Inactive is in DONE: nothing is working at the exchange, no fill is to be expected, and a
  modify is refused. Users who wait for "done" are released by it.
- Inactive is not FINAL. A later TWS report of Cancelled or Filled still moves the order on
  (fills are the truth). A later *working* status (PreSubmitted / Submitted) for an order
  TWS itself reported Inactive is logged but ignored, like any late message after a done
  status: callbacks can arrive out of order, and reviving a rejected order on a stale
  "Submitted" would show a dead order as working. The one exception is an Inactive the book
  inferred on its own (an error known to reject, for an order TWS never acknowledged): TWS's
  own word about the order always overrides that inference, see error_policy.py and merge.py.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """An order's status: TWS's names, plus the book's own Unknown."""

    API_PENDING = "ApiPending"
    PENDING_SUBMIT = "PendingSubmit"
    PENDING_CANCEL = "PendingCancel"
    PRE_SUBMITTED = "PreSubmitted"
    SUBMITTED = "Submitted"
    API_CANCELLED = "ApiCancelled"
    CANCELLED = "Cancelled"
    FILLED = "Filled"
    INACTIVE = "Inactive"
    #: Not a TWS status: the book has seen a fill or an error for the order, but no status yet.
    UNKNOWN = "Unknown"

    @classmethod
    def of(cls, text: str) -> Status | str:
        """TWS's status as a member; a status nobody listed is kept as TWS wrote it."""
        try:
            return cls(text)
        except ValueError:
            return text


#: Sent to TWS, not yet confirmed either way.
PENDING: frozenset[str] = frozenset(
    {Status.API_PENDING, Status.PENDING_SUBMIT, Status.PENDING_CANCEL}
)
#: Acknowledged by TWS and live: it can fill.
WORKING: frozenset[str] = frozenset({Status.PRE_SUBMITTED, Status.SUBMITTED})
#: Not done: pending or working. A PendingCancel order can still fill.
ACTIVE = PENDING | WORKING
#: Statuses TWS never leaves.
FINAL: frozenset[str] = frozenset({Status.FILLED, Status.CANCELLED, Status.API_CANCELLED})
#: Nothing is working and nothing will fill (see the note on Inactive above).
DONE = FINAL | {Status.INACTIVE}
#: Every status the book knows; anything else TWS sends is logged and kept as is.
ALL = ACTIVE | DONE

#: How "done" a done status is. A done status only ever moves to a higher rank, so that late or
#: duplicated messages cannot walk an order backwards and the final status does not depend on
#: the order the callbacks arrived in. Fills are the truth, hence Filled on top.
DONE_RANK: dict[str, int] = {
    Status.INACTIVE: 1,
    Status.API_CANCELLED: 2,
    Status.CANCELLED: 2,
    Status.FILLED: 3,
}


def is_done(status: str) -> bool:
    return status in DONE


def is_active(status: str) -> bool:
    return status in ACTIVE
