"""Checks of an order's terms beyond its size and prices: the time in force a type takes, the
trigger method, the OCA group and the Adaptive algo.

Each of these is a setting TWS reads only in some combinations; sent in another it is ignored
or refused after the fact. Refusing it here, with the field and the fix, keeps a setting from
silently doing nothing. Pure: called by ``orders.validate_order`` (and the builders).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ibapi.const import UNSET_DOUBLE

from .exceptions import OrderValidationError
from .order_types import TRIGGERED, OrderType

__all__ = [
    "ADAPTIVE_PRIORITIES",
    "ADAPTIVE_TYPES",
    "OCA_TYPES",
    "TRIGGER_METHODS",
    "adaptive_priority",
    "check_for_contract",
    "check_terms",
]

#: Order.triggerMethod: how TWS decides that a stop (or a touched order) is hit. IB's API
#: reference ("Trigger Methods"); 7 is documented as used by IB's alerts but is accepted.
TRIGGER_METHODS = {
    0: "default (last for stocks and futures, bid/ask for currencies)",
    1: "double bid/ask",
    2: "last",
    3: "double last",
    4: "bid/ask",
    7: "last or bid/ask",
    8: "mid-point",
}
#: Methods that need trades: IB marks them "n/a" for currencies, whose orders then never trigger.
LAST_DRIVEN = frozenset({2, 3})

#: Order.ocaType, as IB's Order reference words it ("with block": one order of the group at a
#: time is routed, so the group cannot overfill). 0 leaves it to TWS, which uses 3.
OCA_TYPES = {
    1: "cancel all remaining orders, with block",
    2: "reduce the remaining orders by the filled quantity, with block",
    3: "reduce the remaining orders by the filled quantity, without block",
}

#: IB's Adaptive algo: market and limit orders, one parameter, adaptivePriority.
ADAPTIVE = "Adaptive"
ADAPTIVE_TYPES = ("MKT", "LMT")
ADAPTIVE_PRIORITIES = ("Urgent", "Normal", "Patient")


def check_terms(order: Any, row: OrderType) -> None:
    """Everything of these terms that needs nothing but the order; OrderValidationError."""
    _check_type_tif(order, row)
    _check_trailing_percent(order, row)
    _check_trigger_method(order, row)
    _check_oca(order)
    _check_algo(order, row)


def check_for_contract(order: Any, sec_type: str) -> None:
    """What depends on the contract: a currency has no trades to trigger on."""
    method = getattr(order, "triggerMethod", 0)
    if sec_type == "CASH" and method in LAST_DRIVEN:
        raise OrderValidationError(
            "triggerMethod",
            f"triggerMethod {method} ({TRIGGER_METHODS[method]}) needs trades, and a currency "
            "(CASH) has none: the order would never trigger — use 0, 1, 4 or 8",
        )


def adaptive_priority(value: str) -> str:
    """``value`` as IB spells an adaptivePriority (any case in, IB's case out)."""
    spelled = {p.lower(): p for p in ADAPTIVE_PRIORITIES}.get(str(value).strip().lower())
    if spelled is None:
        raise OrderValidationError(
            "algoParams",
            f"adaptivePriority {value!r} is not one of {', '.join(ADAPTIVE_PRIORITIES)} — use "
            "one of those",
        )
    return spelled


def _check_type_tif(order: Any, row: OrderType) -> None:
    if row.tifs and order.tif not in row.tifs:
        allowed = " or ".join(repr(t) for t in row.tifs)
        raise OrderValidationError(
            "tif",
            f"tif {order.tif!r} does not go with a {row.name} order (TWS refuses it: "
            f"error 113 for MOC and LOC) — use {allowed}",
        )
    if row.name in ("MOC", "LOC") and getattr(order, "outsideRth", False):
        raise OrderValidationError(
            "outsideRth",
            f"outsideRth does nothing for a {row.name} order: it trades in the closing "
            "auction of the regular session — leave it False",
        )


def _check_trailing_percent(order: Any, row: OrderType) -> None:
    value = getattr(order, "trailingPercent", None)
    if row.price_field("trailingPercent") is None or not isinstance(value, int | float):
        return
    # Not set, not a number, not positive: check_price_fields says so.
    if math.isfinite(value) and value != UNSET_DOUBLE and value >= 100:
        raise OrderValidationError(
            "trailingPercent",
            f"trailingPercent {value:g} is not below 100 — a percentage of the price, "
            "e.g. 1.5 for 1.5 %",
        )


def _check_trigger_method(order: Any, row: OrderType) -> None:
    method = getattr(order, "triggerMethod", 0)
    if isinstance(method, bool) or not isinstance(method, int) or method not in TRIGGER_METHODS:
        known = ", ".join(f"{k} {v}" for k, v in TRIGGER_METHODS.items())
        raise OrderValidationError(
            "triggerMethod", f"triggerMethod {method!r} is not one of TWS's: {known}"
        )
    if method and row.name not in TRIGGERED:
        raise OrderValidationError(
            "triggerMethod",
            f"triggerMethod {method} does nothing for a {row.name} order (nothing triggers "
            f"it) — leave it 0, or use one of {', '.join(sorted(TRIGGERED))}",
        )


def _check_oca(order: Any) -> None:
    group, kind = getattr(order, "ocaGroup", ""), getattr(order, "ocaType", 0)
    if isinstance(kind, bool) or not isinstance(kind, int) or kind not in (0, *OCA_TYPES):
        types = "; ".join(f"{k}: {v}" for k, v in OCA_TYPES.items())
        raise OrderValidationError("ocaType", f"ocaType {kind!r} is not one of {types}")
    if not isinstance(group, str):
        raise OrderValidationError("ocaGroup", f"ocaGroup {group!r} is not a string — name it")
    if kind and not group:
        raise OrderValidationError(
            "ocaGroup",
            f"ocaType {kind} is set but ocaGroup is empty, so the order is in no group — "
            "name the group (oca(orders, group, type))",
        )


def _check_algo(order: Any, row: OrderType) -> None:
    strategy = getattr(order, "algoStrategy", "") or ""
    params: Sequence[Any] = getattr(order, "algoParams", None) or []
    if not strategy:
        if params:
            raise OrderValidationError(
                "algoParams",
                "algoParams are set but algoStrategy is empty: TWS ignores them — set the "
                "strategy (adaptive(order, priority)) or drop the parameters",
            )
        return
    if strategy != ADAPTIVE:
        return  # IB's other algos: TWS checks their parameters
    if row.name not in ADAPTIVE_TYPES:
        raise OrderValidationError(
            "algoStrategy",
            f"the Adaptive algo takes market and limit orders, not {row.name} — use a MKT "
            "or LMT order",
        )
    tags = {getattr(p, "tag", None): getattr(p, "value", None) for p in params}
    if set(tags) != {"adaptivePriority"}:
        raise OrderValidationError(
            "algoParams",
            f"the Adaptive algo takes one parameter, adaptivePriority; got {sorted(map(str, tags))}"
            " — use adaptive(order, 'Normal')",
        )
    priority = tags["adaptivePriority"]
    if priority not in ADAPTIVE_PRIORITIES:
        raise OrderValidationError(
            "algoParams",
            f"adaptivePriority {priority!r} is not one of {', '.join(ADAPTIVE_PRIORITIES)} — "
            "use one of those, spelled so",
        )
