"""Which orders a filter names: the selection behind ``cancel_where``, kept pure so that what
would be cancelled can be listed, and tested, without a socket."""

from __future__ import annotations

from collections.abc import Iterable

from ..exceptions import BookError
from .model import OrderRecord
from .status import Status

SIDES = ("BUY", "SELL")


def working(records: Iterable[OrderRecord]) -> list[OrderRecord]:
    """The orders a cancel can still reach: not done, and not refused before TWS took them,
    nor already being cancelled."""
    return [
        r
        for r in records
        if not r.done
        and r.status != Status.PENDING_CANCEL
        and not (r.status == Status.INACTIVE and not r.acknowledged)
    ]


def select(
    records: Iterable[OrderRecord],
    *,
    symbol: str | None = None,
    order_type: str | None = None,
    side: str | None = None,
    strategy: str | None = None,
) -> list[OrderRecord]:
    """The working orders that match every filter given (None: any). ``strategy`` matches the
    orderRef a strategy stamps: its name, or ``name/<ref>``."""
    if side is not None and side.upper() not in SIDES:
        raise BookError(f"side {side!r}: use BUY or SELL", "side")
    wanted_side = side.upper() if side is not None else None
    wanted_type = order_type.upper() if order_type is not None else None
    out = []
    for record in working(records):
        order, contract = record.order, record.contract
        if symbol is not None and (contract is None or contract.symbol != symbol):
            continue
        if wanted_type is not None and (order is None or order.orderType != wanted_type):
            continue
        if wanted_side is not None and (order is None or order.action != wanted_side):
            continue
        if strategy is not None:
            ref = (order.orderRef or "") if order is not None else ""
            if ref != strategy and not ref.startswith(strategy + "/"):
                continue
        out.append(record)
    return out
