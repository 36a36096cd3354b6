"""What an order would do to the account, as TWS previews it (a what-if order), as numbers.

TWS answers a placeOrder with ``whatIf`` set by one openOrder whose OrderState carries the
margin and equity before the order, the change, and after it, plus the commission it would
cost; it creates no order. The values come as strings ("" or the unset double when TWS has
none): here they are floats, or None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ibapi.const import UNSET_DOUBLE


@dataclass(frozen=True, slots=True)
class Margin:
    before: float | None
    change: float | None
    after: float | None


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The margin and commission impact of one order, had it been placed."""

    init_margin: Margin
    maint_margin: Margin
    equity_with_loan: Margin
    commission: float | None
    min_commission: float | None
    max_commission: float | None
    commission_currency: str
    margin_currency: str
    warning: str

    @classmethod
    def from_state(cls, state: Any) -> WhatIf:
        def trio(name: str) -> Margin:
            return Margin(
                _number(getattr(state, f"{name}Before", None)),
                _number(getattr(state, f"{name}Change", None)),
                _number(getattr(state, f"{name}After", None)),
            )

        return cls(
            init_margin=trio("initMargin"),
            maint_margin=trio("maintMargin"),
            equity_with_loan=trio("equityWithLoan"),
            commission=_number(getattr(state, "commissionAndFees", None)),
            min_commission=_number(getattr(state, "minCommissionAndFees", None)),
            max_commission=_number(getattr(state, "maxCommissionAndFees", None)),
            commission_currency=str(getattr(state, "commissionAndFeesCurrency", "") or ""),
            margin_currency=str(getattr(state, "marginCurrency", "") or ""),
            warning=str(getattr(state, "warningText", "") or ""),
        )


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number == UNSET_DOUBLE:
        return None
    return number
