"""How TWS spells a value in a text field: the primitives both text encoders share.

TWS is a Java program and spells the same kind of value several ways depending on the field
(an unset double as ``1.7976931348623157E308``, as an empty field or as ``0.0``; a strike as
``0`` or ``0.0``). Each function here is one of those spellings, named for what it does, so
that ``text`` (small and contract-bearing messages) and ``text_orders`` (openOrder,
completedOrder) write a field the same way and neither has to import the other.
"""

from __future__ import annotations

import math
from decimal import Decimal

from ibapi.contract import Contract

from twsapp.sim.wire import UNSET_DOUBLE, UNSET_INT, decimal_text, java_double


def dbl(value: float) -> str:
    """Java ``Double.toString``: unset is ``1.7976931348623157E308``."""
    return java_double(value)


def dbl_max(value: float | None) -> str:
    """A double TWS leaves empty when unset (ibapi reads these with SHOW_UNSET)."""
    if value is None or value == UNSET_DOUBLE:
        return ""
    return java_double(value)


def dbl_zero(value: float | None) -> str:
    """A double TWS reports as ``0.0`` when the order never had one (lmtPrice of a MKT)."""
    if value is None or value == UNSET_DOUBLE:
        return "0.0"
    return java_double(value)


def plain(value: float) -> str:
    """TWS's plain number spelling (``0``, ``10``, ``0.00005``, ``196.52``): no exponent, no
    trailing ``.0``. Used where captures show it: strikes in orders and contract data, minTick,
    order-status prices, market-rule increments."""
    value = float(value)
    if value == UNSET_DOUBLE or not math.isfinite(value):
        return java_double(value)
    text = format(Decimal(repr(value)).normalize(), "f")
    return "0" if text == "-0" else text


def plain_zero(value: float | None) -> str:
    """Plain spelling where TWS writes ``0`` for an unset value (strike of a stock, cashQty)."""
    if value is None or value == UNSET_DOUBLE:
        return "0"
    return plain(value)


def int_text(value: int | None) -> str:
    return "0" if value is None else str(int(value))


def int_max(value: int | None) -> str:
    """An int TWS leaves empty when unset (ibapi reads these with SHOW_UNSET)."""
    if value is None or value == UNSET_INT:
        return ""
    return str(int(value))


def int_zero(value: int | None) -> str:
    """An int TWS reports as ``0`` when ibapi holds it unset (volatilityType, ...)."""
    if value is None or value == UNSET_INT:
        return "0"
    return str(int(value))


def flag(value: object) -> str:
    return "1" if value else "0"


def dec(value: Decimal | None) -> str:
    """Quantities in plain decimal; unset is empty."""
    return decimal_text(value)


def text(value: object) -> str:
    return "" if value is None else str(value)


def escaped(value: str | None) -> str:
    """Non-ASCII as ``\\uXXXX`` escapes (MIN_SERVER_VER_ENCODE_MSG_ASCII7): ibapi decodes error
    texts, long names and every string of a signature-decoded message with ``unicode-escape``."""
    out = []
    for ch in value or "":
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def right_or(contract: Contract, empty: str) -> str:
    return contract.right or empty


def tag_values(items: list | None) -> list[str]:
    """A TagValue list as TWS writes it: the count, then tag and value of each."""
    items = items or []
    fields = [str(len(items))]
    for item in items:
        fields += [text(item.tag), text(item.value)]
    return fields
