"""What TWS refuses, and how it words the refusal.

The codes and texts are the ones real TWS sends; keeping them as data in one place lets tests and
the exchange agree on them, and makes a wording fix a one-line change.
"""

from __future__ import annotations

import math
from decimal import Decimal

from ibapi.order import Order

from .instruments import Rule, is_on_increment
from .wire import UNSET_DECIMAL, is_set

SUPPORTED_ORDER_TYPES = frozenset({"MKT", "LMT", "STP", "STP LMT"})
KNOWN_ORDER_TYPES = SUPPORTED_ORDER_TYPES | frozenset(
    {"TRAIL", "TRAIL LIMIT", "MOC", "LOC", "MIT", "LIT", "REL", "PEG MKT", "PEG MID", "MTL"}
)
TIFS = frozenset({"DAY", "GTC", "IOC", "GTD", "OPG", "FOK", "DTC"})
ACTIONS = frozenset({"BUY", "SELL", "SSHORT"})

PACING = 100
TICKER_NOT_FOUND = 300
DUPLICATE_TICKER = 322
NOT_SUBSCRIBED = 354
REAL_TIME_QUERY = 420
DISPLAYING_DELAYED = 10167
TICK_BY_TICK_REFUSED = 10189
DUPLICATE_ID = 103
MODIFY_FILLED = 104
MODIFY_MISMATCH = 105
OFF_TICK = 110
ORDER_NOT_FOUND = 135
NO_SECURITY = 200
REJECTED = 201
CANCELLED = 202
VALIDATION = 321
CLIENT_ID_IN_USE = 326
UNSUPPORTED_TYPE = 387
CANCEL_NOT_FOUND = 10147
CANCEL_DONE = 10148
FRACTIONAL_MODIFY = 10242
FRACTIONAL_PLACE = 10243

TEXT = {
    # {count} is the violation's number on this connection; TWS also uses it as the reqId.
    PACING: "Max rate of messages per second has been exceeded:max={max} rec={rec} ({count})",
    DUPLICATE_ID: "Duplicate order id",
    MODIFY_FILLED: "Can't modify a filled order",
    MODIFY_MISMATCH: "Order being modified does not match original order",
    OFF_TICK: "The price does not conform to the minimum price variation for this contract.",
    # As ib_insync users quote it for a child naming a parent TWS no longer has (issue 647).
    ORDER_NOT_FOUND: "Can't find order with id = {order_id}",
    NO_SECURITY: "No security definition has been found for the request",
    REJECTED: "Order rejected - reason:{reason}",
    CANCELLED: "Order Canceled - reason:",
    VALIDATION: "Error validating request.-'{tag}' : cause - {cause}",
    CLIENT_ID_IN_USE: (
        "Unable to connect as the client id is already in use. Retry with a unique client id."
    ),
    UNSUPPORTED_TYPE: "Unsupported order type for this exchange and security type.",
    CANCEL_NOT_FOUND: "OrderId {order_id} that needs to be cancelled is not found.",
    # Market data, as users quote TWS and public paper-Gateway transcripts (v200..v225) show it.
    TICKER_NOT_FOUND: "Can't find EId with tickerId:{req_id}",
    DUPLICATE_TICKER: "Error processing request.-'bO' : cause - Duplicate ticker id",
    NOT_SUBSCRIBED: (
        "Requested market data is not subscribed.Delayed market data is available."
        "Error&{feed}/Top&{feed}/Top"
    ),
    DISPLAYING_DELAYED: "Requested market data is not subscribed. Displaying delayed market data.",
    TICK_BY_TICK_REFUSED: (
        "Failed to request tick-by-tick data.No market data permissions for {venue}. "
        "Requested market data requires additional subscription for API. "
        "See link in 'Market Data Connections' dialog for more details."
    ),
    REAL_TIME_QUERY: (
        "Invalid Real-time Query:No market data permissions for {venue}. "
        "Requested market data requires additional subscription for API. "
        "See link in 'Market Data Connections' dialog for more details."
    ),
    CANCEL_DONE: "OrderId {order_id} that needs to be cancelled cannot be cancelled, state: {state}.",
    # Whole-share accounts: the API refuses fractional sizes (the desktop TWS may allow them).
    # Code and wording as IB lists them (e.g. the IBApi error-code enum of public API ports).
    FRACTIONAL_MODIFY: (
        "Fractional-sized order cannot be modified via API. "
        "Please use desktop version to revise this order."
    ),
    FRACTIONAL_PLACE: (
        "Fractional-sized order cannot be placed via API. "
        "Please use desktop version to place this order."
    ),
}

# TWS prints these three when a client connects: information, not errors.
FARM_NOTICES = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)


def text(code: int, **params: object) -> str:
    return TEXT[code].format(**params)


class Refusal(Exception):
    """TWS refuses a request with this code and text."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def refuse(code: int, **params: object) -> Refusal:
    return Refusal(code, text(code, **params))


def check_order(order: Order, rule: Rule | None, min_tick: float) -> None:
    """Raise Refusal the way TWS refuses a malformed order (nothing is created)."""
    if order.action not in ACTIONS:
        raise refuse(VALIDATION, tag="bO", cause=f"Invalid side: {order.action!r}")
    qty = order.totalQuantity
    if qty == UNSET_DECIMAL or not isinstance(qty, Decimal) or not qty.is_finite() or qty <= 0:
        raise refuse(VALIDATION, tag="bO", cause="Order quantity must be positive")
    # Wording of a paper IB Gateway at server version 207 (public transcript
    # testdata/transcripts/place_order_invalid_type_live_error.txt of ThomasMarcelis/ibkr-go).
    if order.orderType not in KNOWN_ORDER_TYPES:
        raise refuse(VALIDATION, tag="v", cause="Invalid order type was entered")
    if order.orderType not in SUPPORTED_ORDER_TYPES:
        raise refuse(UNSUPPORTED_TYPE)
    tif = order.tif or "DAY"
    if tif not in TIFS:
        raise refuse(VALIDATION, tag="bO", cause=f"Invalid time in force: {order.tif!r}")
    needs_limit = order.orderType in ("LMT", "STP LMT")
    needs_aux = order.orderType in ("STP", "STP LMT")
    if needs_limit and not _positive(order.lmtPrice):
        raise refuse(VALIDATION, tag="bO", cause="Missing or invalid limit price")
    if needs_aux and not _positive(order.auxPrice):
        raise refuse(VALIDATION, tag="bO", cause="Missing or invalid stop price")
    ladder = rule or [(0.0, min_tick)]  # no market rule: minTick applies at every price
    for price in (order.lmtPrice if needs_limit else None, order.auxPrice if needs_aux else None):
        if price is not None and not is_on_increment(ladder, price):
            raise refuse(OFF_TICK)


def check_size(order: Order, size_increment: Decimal, modifying: bool = False) -> None:
    """Refuse a fractional quantity of an instrument traded in whole units (sizeIncrement 1):
    TWS refuses those through the API with 10243 (10242 for a modification)."""
    qty = order.totalQuantity
    if size_increment == 1 and qty != qty.to_integral_value():
        raise refuse(FRACTIONAL_MODIFY if modifying else FRACTIONAL_PLACE)


def _positive(value: float) -> bool:
    return is_set(value) and math.isfinite(value) and value > 0
