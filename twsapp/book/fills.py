"""Executions and commissions: how a fill joins its order, corrections, late commissions.

- An execId seen before is ignored (the book checks before calling here).
- IB publishes an execution correction as another execDetails whose execId differs only after
  the final period ("....01.01" -> "....01.02"): for the same contract and side, the fill with
  the higher suffix replaces the other (kept in `corrected_fills`), whichever arrives first.
- Commission reports join fills by execId whenever they arrive; one that comes before its fill
  is kept by the book and joined when the fill arrives; a fill whose report never comes shows
  commission None.
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
from .model import Commission, Fill, OrderRecord


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


def add_fill(slot: Slot, fill: Fill) -> list[BookEvent]:
    """Add a new execution to its order (or keep it aside when a correction superseded it)."""
    rec, exec_id = slot.rec, fill.exec_id
    families = slot.families
    if families is None:
        families = slot.families = {}
    current_id = families.get(fill.correction_key)
    current = rec.fills.get(current_id) if current_id else None
    if current is not None and fill.revision < current.revision:
        rec.corrected_fills = {**rec.corrected_fills, exec_id: fill}
        slot.log("ignored", "execDetails", f"{exec_id} is older than its correction {current_id}")
        return []
    fills = dict(rec.fills)
    text = f"{fill.side} {fill.shares} @ {fill.price} ({exec_id})"
    if current is not None:
        del fills[current.exec_id]
        rec.corrected_fills = {**rec.corrected_fills, current.exec_id: current}
        text += f", correcting {current.exec_id}"
    fills[exec_id] = fill
    if current is None:
        slot.fills_changed(fills, added=fill)  # the running sums take the new fill
    else:
        rec.fills = fills  # a correction took one out: the sums are recounted when read
    rec.acknowledged = True  # a fill proves TWS accepted the order
    families[fill.correction_key] = exec_id
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
    """Join a commission report to the fill it belongs to (already in `slot`)."""
    rec = slot.rec
    share = rec.allocations.get(com.exec_id)
    if share is not None:  # an account's share of a block execution: kept, not counted
        joined = share.with_commission(com)
        rec.allocations = {**rec.allocations, com.exec_id: joined}
        return []
    corrected = com.exec_id in rec.corrected_fills  # joined, but the fill no longer counts
    kept = rec.corrected_fills if corrected else rec.fills
    fill = kept[com.exec_id].with_commission(com)
    if corrected:
        rec.corrected_fills = {**kept, com.exec_id: fill}
    else:
        slot.fills_changed({**kept, com.exec_id: fill})  # same shares and prices
    which = "corrected " if corrected else ""
    text = f"{com.commission} {com.currency or ''} for {which}{com.exec_id}"
    slot.log("commission", "commissionAndFeesReport", text)
    if corrected:
        return []
    event = slot.event(CommissionReceived, fill=fill)
    return [] if event is None else [event]
