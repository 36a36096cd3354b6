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
# The same markers as hashable sets per type, for the fast paths below (every callback cleans
# a dozen values): the floats that equal a marker exactly, and the markers as ints.
_UNSET_FLOATS = frozenset(float(n) for n in _UNSET_NUMBERS if float(n) == n)
_UNSET_INTS = frozenset(_UNSET_NUMBERS)


def _absent(value: Any) -> bool:
    """Nothing was sent: None, an empty field, or a bool where a number belongs."""
    # isinstance before comparing: a Decimal compared with "" takes a slow path every time
    return value is None or isinstance(value, bool) or (isinstance(value, str) and value == "")


def clean_float(value: Any) -> float | None:
    """A price or amount, or None when absent, unset or not finite."""
    if type(value) is float:  # the usual case, decided without the general checks
        if value != value or abs(value) >= UNSET_DOUBLE or value in _UNSET_FLOATS:
            return None  # NaN, +-inf (>= float max) or a marker
        return value
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
    if type(value) is Decimal:  # the usual case: ibapi decodes sizes as Decimal
        if not value.is_finite() or value in _UNSET_INTS or abs(value) >= _HUGE:
            return None  # a finite Decimal hashes as the equal int: the set finds markers
        return value
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


_SHARED: dict[Decimal, Decimal] = {}
_SHARED_MAX = 4096


def shared_decimal(number: Decimal | None) -> Decimal | None:
    """One object per quantity for what the book keeps of each message (a few per order):
    each message decodes a Decimal of its own, 104 bytes, and they repeat a few values. The
    first of equal values is kept (Decimal("1.0") may come back as Decimal("1"): equal)."""
    if number is None:
        return None
    kept = _SHARED.get(number)
    if kept is None:
        kept = number
        if len(_SHARED) < _SHARED_MAX:
            _SHARED[number] = number
    return kept


def clean_int(value: Any) -> int | None:
    """An id, or None when absent or unset."""
    if type(value) is int:
        return None if value in _UNSET_INTS else value
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
