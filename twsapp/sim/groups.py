"""Transmit, brackets and OCA groups: which orders of a group go live, wait, or cancel others.

Kept apart from ``exchange`` (the order lifecycle and matching) as a mixin of ``Exchange``: these
rules only decide *when* an order is announced, matched or taken out; the exchange does it.

Evidence: public transcripts of a paper IB Gateway at server version 225 in the
ThomasMarcelis/ibkr-go repository (testdata/transcripts/):

* api_transmit_false_then_transmit_aapl.txt: an order placed with transmit=False gets no message
  at all (the capture watched 10 s); re-placed with the same id and transmit=True it is
  announced (openOrder + orderStatus) like a new order.
* api_bracket_place_aapl.txt / api_bracket_trigger_aapl.txt: parent and take-profit with
  transmit=False, stop-loss with transmit=True: nothing until the last one, then parent,
  take-profit, stop-loss announced in that order; the children are PreSubmitted with whyHeld
  "child" ("child,trigger" for the stop), carry parentPermId = the parent's permId and, when the
  client gave none, ocaGroup = the parent's permId (ocaType 3).
* api_bracket_trailing_stop_aapl.txt: a cancelled never-transmitted order is reported Cancelled
  with error 202 "Order Canceled - reason:Order was discarded.".

Our choices where no capture shows it: held orders are listed by no reqOpenOrders; children
become active when their parent is completely filled (not on partial fills); an OCA sibling taken
out by a fill is cancelled the way a system cancel is reported (orderStatus Cancelled + 202).
"""

from __future__ import annotations

import copy
from decimal import Decimal

from ibapi.order import Order

from .records import SimOrder
from .state import ExchangeState
from .triggers import TRIGGERED_TYPES, WORKS_AT_ONCE


class OrderGroups(ExchangeState):
    """Mixin of ``Exchange``: uses its ``orders``, ``_step`` and message helpers."""

    def _group(self, so: SimOrder) -> list[SimOrder]:
        """``so``'s bracket: its parent (or itself) first, then the children by order id."""
        root = self.orders.get((so.client_id, so.order.parentId)) if so.order.parentId else None
        root = root or so
        return [root, *self._children(root)]

    def _children(self, parent: SimOrder) -> list[SimOrder]:
        if not parent.bound:
            return []
        kids = self._kids.get((parent.client_id, parent.order_id), {})
        return sorted((o for o in kids.values() if o is not parent), key=lambda o: o.order_id)

    def _waits_for_parent(self, so: SimOrder) -> bool:
        if not so.order.parentId:
            return False
        parent = self.orders.get((so.client_id, so.order.parentId))
        return parent is not None and parent.status != "Filled"

    def _release(self, so: SimOrder) -> None:
        """Transmit ``so`` and every held order of its bracket: announce all, then match."""
        released = [o for o in self._group(so) if o.held and not o.done]
        for order in released:
            order.held = False
            order.placed_step = self._step
            order.status = "PreSubmitted"
            self._start_working(order)
            self._emit_order(order, [self._open_order(order), self._status(order)])
            works = not self._waits_for_parent(order) and not self._gated(order)
            if order.order.orderType in WORKS_AT_ONCE and works:
                self._set_status(order, "Submitted")
        for order in released:
            if not order.done and order.last_match != self._step:
                self._match(order, self._step, first=True)

    def _activate_children(self, parent: SimOrder) -> None:
        """A filled parent sets its children working: limits go Submitted, stops wait."""
        for child in self._children(parent):
            if child.done or child.held:
                continue
            if child.order.orderType in WORKS_AT_ONCE and not self._gated(child):
                self._set_status(child, "Submitted")
            else:
                self._set_status(child, child.status)  # whyHeld "child,trigger" -> "trigger"
            self._match(child, self._step, first=True)

    def _one_cancels_other(self, so: SimOrder, quantity: Decimal) -> None:
        """A fill in an OCA group: type 1 cancels the others, types 2 and 3 reduce them by the
        filled quantity (IB's Order reference and the TWS Users' Guide, "One Cancels Other").

        Types 1 and 2 are "with block": one order of the group is routed at a time, so the
        others do not fill in the second one of them fills in. Type 3 has no block: an order
        of the group also hit in this second fills as routed, and is reduced only after its
        own look (``_settle_oca``), so the group can overfill, as IB warns it may.
        """
        group = so.order.ocaGroup
        if not group:
            return
        others = [
            o
            for o in self._oca.get(group, {}).values()
            if o is not so
            and not o.done
            and not o.held
            and o.order.ocaGroup == group
            and o.order.account == so.order.account
        ]
        oca_type = so.order.ocaType
        for other in sorted(others, key=lambda o: o.perm_id):
            if other.done:
                continue
            if oca_type == 3 and other.last_match != self._step:
                other.work.oca_owed += quantity  # routed too: it has its look first
                continue
            if oca_type in (1, 2):
                other.work.oca_blocked = self._step
            self._reduce(other, quantity, cancel=oca_type == 1)

    def _settle_oca(self, so: SimOrder) -> None:
        """Apply what the fills of its OCA group took from ``so`` while it was routed."""
        owed, so.work.oca_owed = so.work.oca_owed, Decimal(0)
        if owed and not so.done:
            self._reduce(so, owed, cancel=False)

    def _reduce(self, so: SimOrder, quantity: Decimal, cancel: bool) -> None:
        rest = so.order.totalQuantity - quantity
        if cancel or rest <= so.filled:
            self._cancel(so, by="System")
            return
        so.order = copy.copy(so.order)
        so.order.totalQuantity = rest
        self._emit_order(so, [self._open_order(so), self._status(so)])

    def _why_held(self, so: SimOrder) -> str:
        """Why TWS keeps an order PreSubmitted: "child" while its parent is not filled, "trigger"
        while a stop price has not been touched, or both ("child,trigger")."""
        if so.status != "PreSubmitted":
            return ""
        reasons = []
        if self._waits_for_parent(so):
            reasons.append("child")
        if so.order.orderType in TRIGGERED_TYPES and not so.triggered:
            reasons.append("trigger")
        return ",".join(reasons)


def attach_to(order: Order, parent: SimOrder) -> None:
    """What TWS fills in on a bracket child: its parent's permId, and the parent's permId as
    the OCA group when the client named none (so that one child's fill cancels the other)."""
    order.parentPermId = parent.perm_id
    if not order.ocaGroup:
        order.ocaGroup = str(parent.perm_id)
