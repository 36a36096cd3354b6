"""Modifies: which terms may change, the order to re-send, and each modify's history.

A modify is placeOrder again with the same id: only the prices, size and TIF its order type
lists (order_types.py) may change, anything else is cancel-and-replace. Each request is a `Modification` on the record: pending
until TWS's openOrder shows its changes (applied; older pending ones are then superseded) or an
error refuses it (rejected, see error_policy.py). A rejected modify leaves the order as it was.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from ibapi.const import UNSET_INTEGER
from ibapi.order import Order

from ..exceptions import BookError
from ..order_types import PRICE_FIELDS, any_role, attr_for, modifiable_anywhere, order_type, uses
from .cleaning import clean_decimal, clean_float
from .events import ModifyApplied, ModifyRejected
from .merge import Slot
from .model import ErrorEntry, Modification

#: The terms of an order, as an app places it: what a modify of an order known only from TWS's
#: copy re-sends. Not the fields TWS fills in on its side, nor ibapi's decoding placeholders
#: ("None", "?", unset markers), which would mean something else if sent back.
_RESEND_TERMS = (
    "orderId", "action", "totalQuantity", "orderType", "tif", "account", "orderRef",
    "outsideRth", "goodTillDate", "goodAfterTime", "parentId", "ocaGroup", "transmit",
    "faGroup", "faMethod", "faPercentage", "modelCode", "algoStrategy", "algoParams", "hidden",
    "displaySize", "minQty", "cashQty",
)  # fmt: skip


def normalize_changes(changes: dict[str, Any], type_name: str) -> dict[str, Any]:
    """Keywords resolved to ibapi attribute names, values to the types ibapi sends.

    What may change is the order type's row of order_types.py: its size, TIF and price fields.
    A keyword is the field's own (stop_price, trailing_percent, ...), a generic alias
    (price, quantity, aux_price) or the ibapi attribute name.
    """
    if not changes:
        raise BookError("a modify needs at least one change")
    row = order_type(type_name)
    allowed = row.modifiable if row is not None else modifiable_anywhere()
    normal: dict[str, Any] = {}
    for key, value in changes.items():
        name = attr_for(type_name, key)
        if name not in allowed:
            what = f"a {type_name} order" if row is not None else "an order"
            may = f"it may change {', '.join(allowed)}"
            if name in modifiable_anywhere():  # a price field, of another type
                raise BookError(f"{what} has no {any_role(name)} ({key}=) to change; {may}", name)
            raise BookError(
                f"{key!r} cannot be changed by a modify of {what} ({may}); anything else "
                "needs cancel-and-replace",
                name,
            )
        if name == "totalQuantity":
            value = Decimal(str(value))
        elif name == "tif":
            value = str(value).upper()
        else:
            value = float(value)
        normal[name] = value
    return normal


def modified_order(slot: Slot, normal: dict[str, Any]) -> tuple[Order, dict[str, Any]]:
    """The order to re-send for a modify, and the changed fields' values before it.

    The base is the order as this app sent it (TWS's echo carries TWS-side fields that
    must not be sent back), with the modifiable terms TWS currently shows (so a modify
    applied, rejected, or made in TWS itself is accounted for) and the modifies still
    pending. For an order of another session only TWS's copy is known: its terms are taken
    from it (`from_echo`).
    """
    rec = slot.rec
    if rec.done:
        raise BookError(f"order {rec.order_id} is {rec.status}: a done order cannot be modified")
    if rec.order is None:
        raise BookError(f"order {rec.order_id}: its terms are not known yet, cannot modify")
    sent = rec.sent_order  # a new object: free to change
    base = from_echo(rec.order) if sent is None else sent
    if sent is not None and rec.acknowledged:
        for name in modifiable_anywhere():
            value = shown(rec.order, name)
            if value is not None:
                setattr(base, name, value)
    for mod in rec.pending_modifications:
        for name, value in mod.changes.items():
            setattr(base, name, value)
    before = {name: getattr(base, name, None) for name in normal}
    if shows(base, normal):
        now = ", ".join(f"{name} is already {value}" for name, value in normal.items())
        raise BookError(f"the modify changes nothing ({now}): nothing to send")
    for name, value in normal.items():
        setattr(base, name, value)
    return base, before


def record_request(slot: Slot, normal: dict[str, Any]) -> Modification:
    """Add a pending modify to the order's history; `.order` is what to send."""
    new_order, before = modified_order(slot, normal)
    slot.mod_seq += 1
    mod = Modification(
        seq=slot.mod_seq,
        changes=normal,
        before=before,
        state="pending",
        requested=slot.now(),
        order=new_order,
    )
    rec = slot.rec
    rec.modifications = (*rec.modifications, mod)
    slot.log("modify_requested", "placeOrder", mod.describe())
    return mod


def apply_shown(slot: Slot, order: Order) -> Modification | None:
    """Mark the newest pending modify that `order` shows as applied, older ones superseded;
    returns it (None when `order` shows none)."""
    rec = slot.rec
    if not rec.modifications:  # the usual case: never modified
        return None
    pending = rec.pending_modifications
    matched = next((m for m in reversed(pending) if shows(order, m.changes)), None)
    if matched is None:
        return None
    now = slot.now()
    mods = []
    for m in rec.modifications:
        if m.seq == matched.seq:
            m = replace(m, state="applied", resolved=now)
            matched = m
        elif m.state == "pending" and m.seq < matched.seq:
            m = replace(m, state="superseded", resolved=now)
        mods.append(m)
    rec.modifications = tuple(mods)
    slot.log("modify_applied", "openOrder", matched.describe())
    return matched


def applied_event(slot: Slot, mod: Modification) -> ModifyApplied | None:
    return slot.event(ModifyApplied, time=mod.resolved, modification=mod)


def reject_oldest(slot: Slot, entry: ErrorEntry, source: str) -> ModifyRejected | None:
    """The error refused the oldest pending modify: record it as rejected, with the error."""
    rec = slot.rec
    code, text = entry.code, entry.text
    pending = rec.pending_modifications[0]
    mod = replace(pending, state="rejected", resolved=entry.time, code=code, reason=text)
    rec.errors = (*rec.errors, replace(entry, modify_seq=mod.seq))
    rec.modifications = tuple(mod if m.seq == mod.seq else m for m in rec.modifications)
    slot.log("modify_rejected", source, f"{mod.describe()}: {text}", code)
    return slot.event(ModifyRejected, time=entry.time, modification=mod, code=code, reason=text)


def from_echo(echo: Order) -> Order:
    """The terms of an order known only from TWS's copy, fit to be sent back."""
    order = Order()
    for name in _RESEND_TERMS:
        value = getattr(echo, name, None)
        if value is None or value in ("None", "?") or value == UNSET_INTEGER:
            continue
        if isinstance(value, float) and (clean_float(value) is None or value == 0.0):
            continue
        setattr(order, name, value)
    for name in PRICE_FIELDS:
        value = shown(echo, name)
        if value is not None:
            setattr(order, name, value)
    if order.ocaGroup:
        order.ocaType = echo.ocaType
    return order


def shown(order: Order, name: str) -> Any:
    """A modifiable term as TWS shows it, or None where TWS's copy says nothing about it."""
    value = getattr(order, name, None)
    if name == "totalQuantity":
        return clean_decimal(value)
    if name == "tif":
        return value or None
    if not uses(order.orderType, name):
        return None
    return clean_float(value)


def shows(order: Order, changes: dict[str, Any]) -> bool:
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
            if value is None or not abs(value - wanted) <= 1e-9 * max(1.0, abs(wanted)):
                return False  # (a NaN is never shown)
    return True
