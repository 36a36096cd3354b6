"""ibapi's "unset" markers turned into None at the book's border, before a value is stored.

UNSET_DOUBLE (float max), UNSET_INTEGER (2**31-1), UNSET_LONG (2**63-1) and UNSET_DECIMAL
(2**127-1) mean "nothing was sent": left as numbers they would read as prices and sizes.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER, UNSET_LONG

_UNSET_NUMBERS = (UNSET_INTEGER, UNSET_LONG, UNSET_DECIMAL, -UNSET_LONG - 1)
_HUGE = Decimal("1e300")  # UNSET_DOUBLE turned into a Decimal somewhere on the way


def _absent(value: Any) -> bool:
    """Nothing was sent: None, an empty field, or a bool where a number belongs."""
    return value is None or value == "" or isinstance(value, bool)


def clean_float(value: Any) -> float | None:
    """A price or amount, or None when absent, unset or not finite."""
    if _absent(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or abs(number) >= UNSET_DOUBLE:
        return None
    if value in _UNSET_NUMBERS:
        return None
    return number


def clean_decimal(value: Any) -> Decimal | None:
    """A quantity as Decimal, or None when absent or unset."""
    if _absent(value):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= UNSET_DOUBLE:
            return None
        value = repr(value)
    try:
        number = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        return None
    if not number.is_finite() or number in _UNSET_NUMBERS or abs(number) >= _HUGE:
        return None
    return number


def clean_int(value: Any) -> int | None:
    """An id, or None when absent or unset."""
    if _absent(value):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    if number in _UNSET_NUMBERS:
        return None
    return number


def clean_id(value: Any) -> int | None:
    """A permId / parentId: TWS uses 0 for "none"."""
    number = clean_int(value)
    return number or None
