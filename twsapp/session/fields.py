"""Faster stand-ins for ibapi's text field reader and writer, with the same results.

ibapi reads every field of every text message through one function (``ibapi.utils.decode``)
and writes every field of every request through another (``ibapi.comm.make_field``). The reader
logs each field at DEBUG (a logging call per field even when nobody listens), decodes the bytes
again for each comparison and tests the common types last; the writer checks each string
character by character in a Python generator. An openOrder has around 130 fields and a
placeOrder around 110, so these two functions are most of what decoding and encoding cost.

The functions here return exactly what ibapi's return and raise what they raise
(tests/test_fields.py compares them over every type and value form, and whole messages byte for
byte); anything they do not know (another type, a str subclass, a malformed field) goes to
ibapi's own. The decoder's ``Order()`` is swapped too, for a copy of a blank one (the same
attributes, none of its lists or objects shared), a fifth of the time per openOrder.
``use_fast_fields`` swaps them into the ibapi modules that call the originals by name. The swap
is process-wide, and harmless to any other ibapi client in the process because the results are
the same. It is undone while ibapi's logger is enabled for DEBUG, so that a user who asks ibapi
for its field-by-field log gets it (checked whenever the app makes or connects a client).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import ibapi.client
import ibapi.comm
import ibapi.decoder
import ibapi.decoder_utils
import ibapi.order_condition
import ibapi.orderdecoder
import ibapi.utils
from ibapi.const import DOUBLE_INFINITY, INFINITY_STR, UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER
from ibapi.order import Order
from ibapi.utils import BadMessage

from ..orders import blank_order

#: ibapi's own functions, as imported before any swap.
IBAPI_DECODE: Callable[..., Any] = ibapi.utils.decode
IBAPI_MAKE_FIELD: Callable[[Any], str] = ibapi.comm.make_field
IBAPI_MAKE_FIELD_HANDLE_EMPTY: Callable[[Any], str] = ibapi.comm.make_field_handle_empty

# Field texts ibapi reads as "no value" for a Decimal, as the bytes they arrive as.
_UNSET_DECIMAL_FIELDS = frozenset(
    {b"", b"2147483647", b"9223372036854775807", b"1.7976931348623157E308",
     b"-9223372036854775808"}
)  # fmt: skip
_INFINITY = INFINITY_STR.encode()
# A character ibapi refuses to send: anything but tab, newline, carriage return and ASCII text.
_NOT_SENDABLE = re.compile(r"[^\t\n\r\x20-\x7e]")


def decode(
    the_type: Any, fields: Iterator[Any], show_unset: bool = False, use_unicode: bool = False
) -> Any:
    """``ibapi.utils.decode`` without the per-field log, for bytes fields (see the module)."""
    try:
        s = next(fields)
    except StopIteration:
        raise BadMessage("no more fields") from None
    if type(s) is not bytes:
        return IBAPI_DECODE(the_type, iter((s,)), show_unset, use_unicode)
    try:
        if the_type is str:
            return s.decode("unicode-escape" if use_unicode else "UTF-8", errors="backslashreplace")
        if the_type is int:
            if show_unset and not s:
                return UNSET_INTEGER
            return int(s or 0)
        if the_type is float:
            if s == _INFINITY:
                return DOUBLE_INFINITY
            if show_unset and not s:
                return UNSET_DOUBLE
            return float(s or 0)
        if the_type is bool:
            if show_unset and not s:
                return UNSET_INTEGER != 0  # ibapi reads an empty flag as its unset int: True
            return int(s or 0) != 0
        if the_type is Decimal:
            if s in _UNSET_DECIMAL_FIELDS:
                return UNSET_DECIMAL
            return Decimal(s.decode())
    except Exception:  # a malformed field: ibapi's own reader raises its own error for it
        pass
    return IBAPI_DECODE(the_type, iter((s,)), show_unset, use_unicode)


def make_field(val: Any) -> str:
    """``ibapi.comm.make_field`` for the plain types, the refusals left to ibapi's own."""
    kind = type(val)
    if kind is str:
        if _NOT_SENDABLE.search(val) is None:
            return val + "\0"
    elif kind is int or kind is float:
        return f"{val}\0"  # str() of the number, as ibapi writes it
    elif kind is bool:
        return "1\0" if val else "0\0"
    return IBAPI_MAKE_FIELD(val)


def make_field_handle_empty(val: Any) -> str:
    """``ibapi.comm.make_field_handle_empty``: ibapi's unset markers go out as empty fields."""
    kind = type(val)
    if kind is int or kind is float:
        if val in (UNSET_INTEGER, UNSET_DOUBLE):
            return "\0"
        if val == DOUBLE_INFINITY:
            return INFINITY_STR + "\0"
        return f"{val}\0"
    return IBAPI_MAKE_FIELD_HANDLE_EMPTY(val)


# (module, name, ibapi's function, ours): where ibapi's code calls each by its global name.
_SWAPS = (
    (ibapi.decoder, "decode", IBAPI_DECODE, decode),
    (ibapi.orderdecoder, "decode", IBAPI_DECODE, decode),
    (ibapi.order_condition, "decode", IBAPI_DECODE, decode),
    (ibapi.comm, "make_field", IBAPI_MAKE_FIELD, make_field),
    (ibapi.client, "make_field", IBAPI_MAKE_FIELD, make_field),
    (ibapi.client, "make_field_handle_empty", IBAPI_MAKE_FIELD_HANDLE_EMPTY,
     make_field_handle_empty),
    # Not a field function, but the decoder's other big cost per openOrder / completedOrder:
    # Order() sets its 150 attributes one by one; blank_order copies them from one made once.
    (ibapi.decoder, "Order", Order, blank_order),
    (ibapi.decoder_utils, "Order", Order, blank_order),  # the protobuf messages' decoder
)  # fmt: skip


def use_fast_fields() -> bool:
    """Put these functions in ibapi's modules, or ibapi's own back while ibapi's logger wants
    DEBUG; returns whether the fast ones are in place. A name someone else replaced is left."""
    fast = not logging.getLogger(ibapi.utils.__name__).isEnabledFor(logging.DEBUG)
    for module, name, theirs, ours in _SWAPS:
        if getattr(module, name, None) in (theirs, ours):
            setattr(module, name, ours if fast else theirs)
    return fast


def fast_fields_in_place() -> bool:
    """Whether ibapi reads with these functions now (process-wide): what else reads TWS's text
    in their place (open_order_reader.py) is used only then, so that ibapi's DEBUG log, or
    another library's own reader, sees every message."""
    return ibapi.orderdecoder.decode is decode
