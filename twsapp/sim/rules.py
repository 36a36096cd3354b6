"""What TWS refuses, and how it words the refusal.

The codes and texts are the ones real TWS sends; keeping them as data in one place lets tests and
the exchange agree on them, and makes a wording fix a one-line change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from ibapi.order import Order

from .instruments import Rule, is_on_increment
from .wire import UNSET_DECIMAL, is_set


@dataclass(frozen=True)
class Kind:
    """An order type as the simulator takes it: its name in a contract's ``orderTypes``, the
    prices it needs (> 0), groups of which exactly one is given (0 counts as not given, as TWS
    reports an unused price), prices it reads when given, and what its auxPrice is called."""

    token: str
    needs: tuple[str, ...] = ()
    one_of: tuple[tuple[str, str], ...] = ()
    optional: tuple[str, ...] = ()
    zero_ok: tuple[str, ...] = ()  # 0 is a value (a relative order's offset)
    aux: str = "stop price"

    @property
    def prices(self) -> tuple[str, ...]:
        return (*self.needs, *(a for group in self.one_of for a in group), *self.optional)


KINDS = {
    "MKT": Kind("MKT"),
    "LMT": Kind("LMT", needs=("lmtPrice",)),
    "STP": Kind("STP", needs=("auxPrice",)),
    "STP LMT": Kind("STPLMT", needs=("auxPrice", "lmtPrice")),
    "TRAIL": Kind(
        "TRAIL",
        one_of=(("auxPrice", "trailingPercent"),),
        optional=("trailStopPrice",),
        aux="trailing amount",
    ),
    "TRAIL LIMIT": Kind(
        "TRAILLMT",
        needs=("trailStopPrice",),
        one_of=(("auxPrice", "trailingPercent"), ("lmtPriceOffset", "lmtPrice")),
        aux="trailing amount",
    ),
    "MIT": Kind("MIT", needs=("auxPrice",), aux="trigger price"),
    "LIT": Kind("LIT", needs=("auxPrice", "lmtPrice"), aux="trigger price"),
    "MOC": Kind("MOC"),
    "LOC": Kind("LOC", needs=("lmtPrice",)),
    "REL": Kind(
        "REL", needs=("auxPrice",), optional=("lmtPrice",), zero_ok=("auxPrice",), aux="offset"
    ),
    "MIDPRICE": Kind("MIDPX", optional=("lmtPrice",)),
}
_PRICE_NAMES = {
    "lmtPrice": "limit price",
    "trailingPercent": "trailing percent",
    "trailStopPrice": "trail stop price",
    "lmtPriceOffset": "limit price offset",
}
_NOT_TICKED = frozenset({"trailingPercent"})
TRIGGER_METHODS = frozenset({0, 1, 2, 3, 4, 7, 8})  # IB's API reference, "Trigger Methods"
OCA_TYPES = frozenset({0, 1, 2, 3})  # 0: TWS's default, which it echoes as 3
ADAPTIVE_PRIORITIES = frozenset({"Urgent", "Normal", "Patient"})

SUPPORTED_ORDER_TYPES = frozenset(KINDS)
KNOWN_ORDER_TYPES = SUPPORTED_ORDER_TYPES | frozenset(
    {"PEG MKT", "PEG MID", "MTL", "LMT + MKT", "STP PRT", "TRAIL LIT", "TRAIL MIT"}
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
ILLEGAL_TIF = 113
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
    # IB's API message codes table.
    ILLEGAL_TIF: "The Tif option should be set to DAY for MOC and LOC orders.",
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
    kind = KINDS[order.orderType]
    if order.orderType in ("MOC", "LOC") and tif != "DAY":
        raise refuse(ILLEGAL_TIF)
    for attr in kind.needs:
        if not _positive(getattr(order, attr), attr in kind.zero_ok):
            raise refuse(VALIDATION, tag="bO", cause=f"Missing or invalid {_name(kind, attr)}")
    for group in kind.one_of:
        if sum(_given(getattr(order, a)) for a in group) != 1:
            names = " or ".join(_name(kind, a) for a in group)
            raise refuse(VALIDATION, tag="bO", cause=f"Exactly one of {names} must be set")
    for attr in (*(a for group in kind.one_of for a in group), *kind.optional):
        if _given(getattr(order, attr)) and not _positive(getattr(order, attr)):
            raise refuse(VALIDATION, tag="bO", cause=f"Invalid {_name(kind, attr)}")
    if order.triggerMethod not in TRIGGER_METHODS:
        raise refuse(VALIDATION, tag="bO", cause=f"Invalid trigger method: {order.triggerMethod}")
    if order.ocaType not in OCA_TYPES:
        raise refuse(VALIDATION, tag="bO", cause=f"Invalid OCA type: {order.ocaType}")
    ladder = rule or [(0.0, min_tick)]  # no market rule: minTick applies at every price
    for attr in kind.prices:
        price = getattr(order, attr)
        if attr in _NOT_TICKED or not _given(price):
            continue
        if not is_on_increment(ladder, price):
            raise refuse(OFF_TICK)


def check_offered(order: Order, offered: str) -> None:
    """Refuse what the instrument does not offer (its contract details' ``orderTypes``): the
    order type, or an algo where ALGO is not listed (387, as for an unsupported order type).
    Of IB's algos the simulator plays Adaptive, on market and limit orders; any other strategy
    is refused as unsupported rather than traded as a plain order."""
    tokens = set(offered.split(","))
    if KINDS[order.orderType].token not in tokens:
        raise refuse(UNSUPPORTED_TYPE)
    strategy = order.algoStrategy or ""
    if not strategy:
        return
    if "ALGO" not in tokens or order.orderType not in ("MKT", "LMT"):
        raise refuse(UNSUPPORTED_TYPE)
    if strategy != "Adaptive":
        cause = f"algo strategy {strategy!r} is not supported by the twsapp simulator"
        raise refuse(VALIDATION, tag="bO", cause=cause)
    params = {p.tag: p.value for p in order.algoParams or []}
    if params.get("adaptivePriority") not in ADAPTIVE_PRIORITIES or len(params) != 1:
        cause = "Invalid adaptivePriority: use Urgent, Normal or Patient"
        raise refuse(VALIDATION, tag="bO", cause=cause)


def _name(kind: Kind, attr: str) -> str:
    return kind.aux if attr == "auxPrice" else _PRICE_NAMES[attr]


def _given(value: float) -> bool:
    """A price the order carries: set and not 0 (TWS's "none" for a price)."""
    return is_set(value) and value != 0


def check_size(order: Order, size_increment: Decimal, modifying: bool = False) -> None:
    """Refuse a fractional quantity of an instrument traded in whole units (sizeIncrement 1):
    TWS refuses those through the API with 10243 (10242 for a modification)."""
    qty = order.totalQuantity
    if size_increment == 1 and qty != qty.to_integral_value():
        raise refuse(FRACTIONAL_MODIFY if modifying else FRACTIONAL_PLACE)


def _positive(value: float, zero_ok: bool = False) -> bool:
    return is_set(value) and math.isfinite(value) and (value > 0 or (zero_ok and value == 0))
