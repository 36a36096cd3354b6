"""What each order type is, as one table: its price fields, what they mean, which are required,
which sit on the contract's price grid, and which a modify may change.

Validation (orders.py), the book's records and frames, and ``modify(**changes)`` all read this
table, so adding an order type is one row here plus the simulator's own rule (the simulator
keeps its own table and never imports this one). Types twsapp does not place yet still have a
row (``placeable=False``): TWS reports orders placed elsewhere (TWS's window, another client),
and the book must read their prices right.

Pure data: no ibapi objects, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ORDER_TYPES",
    "PLACEABLE",
    "PRICE_FIELDS",
    "QUANTITY_TERMS",
    "TRIGGERED",
    "OrderType",
    "PriceField",
    "any_role",
    "attr_for",
    "modifiable_anywhere",
    "order_type",
    "uses",
]


@dataclass(frozen=True, slots=True)
class PriceField:
    """One price attribute of ibapi's Order, in the role one order type gives it."""

    attr: str  # ibapi Order attribute: lmtPrice, auxPrice, trailingPercent, ...
    role: str  # what it is for this type, as an error message says it: "stop price"
    keyword: str  # the builder / modify keyword: price, stop_price, trailing_percent, ...
    tick: bool = True  # must sit on the contract's price grid (a percentage does not)
    zero_ok: bool = False  # 0 is a meaning, not "unset" (a relative order's offset)


# Reusable fields: the same attribute means different things to different types.
LIMIT = PriceField("lmtPrice", "limit price", "price")
LIMIT_CAP = PriceField("lmtPrice", "price cap", "price_cap")
STOP = PriceField("auxPrice", "stop price", "stop_price")
TOUCH = PriceField("auxPrice", "trigger price", "trigger_price")
TRAIL_AMOUNT = PriceField("auxPrice", "trailing amount", "trailing_amount")
TRAIL_PERCENT = PriceField("trailingPercent", "trailing percent", "trailing_percent", tick=False)
TRAIL_STOP = PriceField("trailStopPrice", "initial stop price", "trail_stop_price")
LIMIT_OFFSET = PriceField("lmtPriceOffset", "limit price offset", "limit_offset")
REL_OFFSET = PriceField("auxPrice", "offset", "offset", zero_ok=True)

#: What every type's modify may change besides its price fields.
QUANTITY_TERMS = ("totalQuantity", "tif")


@dataclass(frozen=True)
class OrderType:
    """One row: see the module docstring."""

    name: str
    fields: tuple[PriceField, ...] = ()  # every price field the type reads
    required: tuple[str, ...] = ()  # attributes it needs, all of them
    one_of: tuple[tuple[str, ...], ...] = ()  # groups of which exactly one must be set
    placeable: bool = True  # twsapp's builders and checks accept it
    tifs: tuple[str, ...] = ()  # the only times in force it takes (empty: any)
    triggered: bool = False  # waits for a trigger: takes a triggerMethod
    by_attr: dict[str, PriceField] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_attr", {f.attr: f for f in self.fields})

    def price_field(self, attr: str) -> PriceField | None:
        return self.by_attr.get(attr)

    @property
    def modifiable(self) -> tuple[str, ...]:
        """What a modify (placeOrder again, same id) may change: size, TIF and the prices."""
        return (*QUANTITY_TERMS, *(f.attr for f in self.fields))

    @property
    def tick_checked(self) -> tuple[str, ...]:
        return tuple(f.attr for f in self.fields if f.tick)


_ROWS = (
    OrderType("MKT"),
    OrderType("LMT", (LIMIT,), required=("lmtPrice",)),
    OrderType("STP", (STOP,), required=("auxPrice",), triggered=True),
    OrderType("STP LMT", (STOP, LIMIT), required=("auxPrice", "lmtPrice"), triggered=True),
    # trailStopPrice: the initial stop (TWS computes one from the market when a TRAIL has
    # none); TWS reports the stop as it moves in the same field.
    OrderType(
        "TRAIL",
        (TRAIL_AMOUNT, TRAIL_PERCENT, TRAIL_STOP),
        one_of=(("auxPrice", "trailingPercent"),),
        triggered=True,
    ),
    # TWS needs the initial stop of a TRAIL LIMIT: its limit is figured from it.
    OrderType(
        "TRAIL LIMIT",
        (TRAIL_AMOUNT, TRAIL_PERCENT, TRAIL_STOP, LIMIT_OFFSET, LIMIT),
        required=("trailStopPrice",),
        one_of=(("auxPrice", "trailingPercent"), ("lmtPriceOffset", "lmtPrice")),
        triggered=True,
    ),
    OrderType("MIT", (TOUCH,), required=("auxPrice",), triggered=True),
    OrderType("LIT", (TOUCH, LIMIT), required=("auxPrice", "lmtPrice"), triggered=True),
    # Error 113: "The Tif option should be set to DAY for MOC and LOC orders."
    OrderType("MOC", tifs=("DAY",)),
    OrderType("LOC", (LIMIT,), required=("lmtPrice",), tifs=("DAY",)),
    OrderType("REL", (REL_OFFSET, LIMIT_CAP), required=("auxPrice",)),
    OrderType("MIDPRICE", (LIMIT_CAP,)),
    # Read from TWS's reports; twsapp places them once they have a builder and a simulator rule.
    OrderType("LMT + MKT", (LIMIT,), required=("lmtPrice",), placeable=False),
    OrderType("STP PRT", (STOP,), required=("auxPrice",), placeable=False),
    OrderType("MTL", placeable=False),
    OrderType("PEG MKT", (REL_OFFSET,), placeable=False),
    OrderType("PEG MID", (REL_OFFSET, LIMIT_CAP), placeable=False),
)

#: Every type by its TWS name.
ORDER_TYPES: dict[str, OrderType] = {row.name: row for row in _ROWS}
#: The names twsapp sends.
PLACEABLE = frozenset(row.name for row in _ROWS if row.placeable)
#: The types that wait for a trigger, and so take a ``triggerMethod``.
TRIGGERED = frozenset(row.name for row in _ROWS if row.triggered)
#: Every price attribute any type reads, in a stable order (frames have a column for each).
PRICE_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(f.attr for row in _ROWS for f in row.fields))


def order_type(name: str) -> OrderType | None:
    return ORDER_TYPES.get(name)


def uses(type_name: str, attr: str) -> bool:
    """Does an order of this type carry meaning in `attr`? (Elsewhere TWS reports 0.0.)"""
    row = ORDER_TYPES.get(type_name)
    return row is not None and attr in row.by_attr


#: Keywords every type's modify takes, besides its fields' own.
GENERIC_KEYWORDS = {
    "quantity": "totalQuantity",
    "price": "lmtPrice",
    "limit_price": "lmtPrice",
    "aux_price": "auxPrice",
}


def attr_for(type_name: str, keyword: str) -> str:
    """The ibapi attribute a modify keyword names: this type's field of that keyword, a generic
    keyword, any type's field of that keyword (so that a stop_price for a LMT is recognised, and
    refused as such), else the keyword itself (an attribute names itself)."""
    row = ORDER_TYPES.get(type_name)
    for spec in row.fields if row is not None else ():
        if spec.keyword == keyword:
            return spec.attr
    if keyword in GENERIC_KEYWORDS:
        return GENERIC_KEYWORDS[keyword]
    for other in _ROWS:
        for spec in other.fields:
            if spec.keyword == keyword:
                return spec.attr
    return keyword


def any_role(attr: str) -> str:
    """What a price attribute is called when no type is given: its first row's role."""
    for row in _ROWS:
        spec = row.price_field(attr)
        if spec is not None:
            return spec.role
    return attr


def modifiable_anywhere() -> tuple[str, ...]:
    """Every attribute some type's modify may change."""
    return tuple(dict.fromkeys(a for row in _ROWS for a in row.modifiable))
