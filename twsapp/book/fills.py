"""Executions and commissions: how a fill joins its order, corrections, late commissions.

- An execId seen before is ignored (the book checks before calling here).
- IB publishes an execution correction as another execDetails whose execId differs only after
  the final period ("....01.01" -> "....01.02"): for the same contract and side, the fill with
  the higher suffix replaces the other (kept in `corrected_fills`), whichever arrives first.
- Commission reports join fills by execId whenever they arrive; one that comes before its fill
  is kept by the book until the fill arrives and takes it (the fill then holds the numbers, and
  a repeated report is one that says what its fill already does); a fill whose report never
  comes shows commission None.
- An advisor's group order is reported twice: the block execution on the advisor's own account
  (F..., DF... on paper), then one execution per account of the group. Only the block ones are
  the order's fills; the accounts' shares are kept as its `allocations`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ibapi.contract import Contract

from .cleaning import clean_decimal, clean_float, clean_id
from .events import BookEvent, CommissionReceived, FillReceived
from .merge import Slot
from .model import Commission, Fill, OrderRecord, new_fill


def commission_of(report: Any) -> Commission:
    """A commissionAndFeesReport (or the older commissionReport), cleaned."""
    amount = getattr(report, "commissionAndFees", None)
    if amount is None:  # ibapi before 10.33 names it `commission`
        amount = getattr(report, "commission", None)
    return Commission(
        exec_id=report.execId,
        commission=clean_float(amount),
        currency=report.currency or None,
        realized_pnl=clean_float(getattr(report, "realizedPNL", None)),
    )


def make_fill(rec: OrderRecord, contract: Contract, execution: Any, com: Commission | None) -> Fill:
    """The fill of an execDetails for the order `rec`, with its commission if already known."""
    return new_fill(
        execution.execId,
        rec.order_id,
        rec.client_id,
        rec.perm_id,
        execution.time,
        execution.side,
        clean_decimal(execution.shares) or _ZERO,
        clean_float(execution.price),
        clean_decimal(execution.cumQty),
        clean_float(execution.avgPrice),
        execution.exchange,
        execution.acctNumber,
        clean_id(contract.conId),
        contract.symbol,
        *((com.commission, com.currency, com.realized_pnl) if com else _NO_COMMISSION),
    )


_ZERO = Decimal(0)
_NO_COMMISSION = (None, None, None)


def add_fill(slot: Slot, fill: Fill) -> list[BookEvent]:
    """Add a new execution to its order (or keep it aside when a correction superseded it)."""
    rec, exec_id = slot.rec, fill.exec_id
    held = rec.fills
    current = _current_version(slot, fill) if held else None  # an order's first fill: none
    if current is not None and fill.revision < current.revision:
        rec.corrected_fills = {**rec.corrected_fills, exec_id: fill}
        text = f"{exec_id} is older than its correction {current.exec_id}"
        slot.log("ignored", "execDetails", text)
        return []
    text = f"{fill.side} {fill.shares} @ {fill.price} ({exec_id})"
    if current is None:
        slot.fills_changed({**held, exec_id: fill}, added=fill)  # the running sums take it
    else:
        fills = dict(held)
        del fills[current.exec_id]
        fills[exec_id] = fill
        rec.fills = fills  # a correction took one out: the sums are recounted when read
        rec.corrected_fills = {**rec.corrected_fills, current.exec_id: current}
        text += f", correcting {current.exec_id}"
    if slot.families is not None:
        slot.families[fill.correction_key] = exec_id
    rec.acknowledged = True  # a fill proves TWS accepted the order
    slot.log("fill", "execDetails", text)
    status_events = slot.refresh("execDetails")
    with_commission = fill.commission is not None or fill.commission_currency is not None
    fill_wanted = slot.wants(FillReceived)
    commission_wanted = with_commission and slot.wants(CommissionReceived)
    if not (fill_wanted or commission_wanted):
        return status_events  # nobody listens: no snapshot, no event
    snap, now = rec.snapshot(), slot.now()
    events: list[BookEvent] = []
    if fill_wanted:
        events.append(FillReceived(time=now, record=snap, fill=fill, replaces=current))
    if commission_wanted:
        events.append(CommissionReceived(time=now, record=snap, fill=fill))
    return events + status_events


def _current_version(slot: Slot, fill: Fill) -> Fill | None:
    """The fill of ``slot`` that ``fill`` is a version of (same correction key), if any.

    The index of correction keys (``slot.families``) is built at an order's second fill, from
    its fills: most orders fill once and never need one (a dict and a key per filled order)."""
    families = slot.families
    if families is None:
        fills = slot.rec.fills.values()
        families = slot.families = {f.correction_key: f.exec_id for f in fills}
    current_id = families.get(fill.correction_key)
    return slot.rec.fills.get(current_id) if current_id else None


def is_advisor_account(account: str) -> bool:
    """An advisor's own (master) account: F... live, DF... paper (IB's account codes)."""
    return account.startswith(("F", "DF"))


def add_allocation(slot: Slot, fill: Fill) -> list[BookEvent]:
    """Keep one account's share of an advisor's block execution: counted by the block, never
    again here (no event: the order's fill was published with the block)."""
    rec = slot.rec
    rec.allocations = {**rec.allocations, fill.exec_id: fill}
    text = f"{fill.side} {fill.shares} @ {fill.price} to {fill.account} ({fill.exec_id})"
    slot.log("allocation", "execDetails", text)
    return []


def join_commission(slot: Slot, com: Commission) -> list[BookEvent]:
    """Join a commission report to the fill it belongs to (already in `slot`); a report that
    says what the fill already carries is a repeat: nothing changes."""
    rec, exec_id = slot.rec, com.exec_id
    old = rec.fills.get(exec_id)
    counted = old is not None
    if old is None:  # a fill a correction replaced, or an account's share of a block execution
        old = rec.corrected_fills.get(exec_id) or rec.allocations[exec_id]
    if (
        old.commission == com.commission
        and old.commission_currency == com.currency
        and old.realized_pnl == com.realized_pnl
    ):
        return []
    fill = old.with_commission(com)
    if counted:
        slot.fills_changed({**rec.fills, exec_id: fill})  # same shares and prices
    elif exec_id in rec.allocations:  # kept, not counted (no log: the block's report is)
        rec.allocations = {**rec.allocations, exec_id: fill}
        return []
    else:  # joined, but the fill no longer counts
        rec.corrected_fills = {**rec.corrected_fills, exec_id: fill}
    which = "" if counted else "corrected "
    text = f"{com.commission} {com.currency or ''} for {which}{exec_id}"
    slot.log("commission", "commissionAndFeesReport", text)
    if not counted:
        return []
    event = slot.event(CommissionReceived, fill=fill)
    return [] if event is None else [event]
