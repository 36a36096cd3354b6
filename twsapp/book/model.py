"""The order book's data: records, fills, log entries, modifications, positions.

Everything user-visible here is clean: ibapi's "unset" markers (UNSET_DOUBLE = float max,
UNSET_INTEGER = 2**31-1, UNSET_LONG = 2**63-1, UNSET_DECIMAL = 2**127-1) become None at the
border, in cleaning.py, before a value is stored. The one exception is the raw ibapi
`contract` and `order` objects an OrderRecord keeps (what TWS sent, for re-sending and
inspection): they follow ibapi's own conventions. Read prices and sizes through the record's
properties (`limit_price`, `total_quantity`, ...), which are cleaned.

Records are updated copy-on-write by the book (containers are replaced, never mutated), so a
record may be read from any thread; `snapshot()` gives a copy that no longer changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from itertools import compress
from operator import attrgetter, is_not
from typing import Any, NamedTuple, cast

from ibapi.contract import Contract
from ibapi.order import Order

from ..errors import BENIGN_KINDS, REJECTING_KINDS, ErrorKind
from ..order_types import uses
from . import status as st
from .cleaning import clean_decimal, clean_float
from .status import Status


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution (execDetails), with its commission once the report is joined."""

    exec_id: str
    order_id: int
    client_id: int
    perm_id: int | None
    time: str  # as TWS sends it, e.g. "20230224  12:04:56" or "20231203 20:15:20 US/Eastern"
    side: str  # "BOT" or "SLD", as TWS reports executions
    shares: Decimal
    price: float | None
    cum_qty: Decimal | None
    avg_price: float | None
    exchange: str
    account: str
    con_id: int | None
    symbol: str
    commission: float | None = None
    commission_currency: str | None = None
    realized_pnl: float | None = None

    @property
    def family(self) -> str:
        """The execId without its last part: corrections of one execution share it."""
        return self.exec_id.rpartition(".")[0] or self.exec_id

    @property
    def revision(self) -> tuple[int, str]:
        """The part after the final period (hex digits, e.g. "01", "02"): corrections count up."""
        last = self.exec_id.rpartition(".")[2]
        try:
            return (int(last, 16), last)
        except ValueError:
            return (-1, last)

    def with_commission(self, com: Commission) -> Fill:
        """This fill with ``com``'s numbers (``dataclasses.replace``, without its generic cost:
        one per commission report)."""
        return new_fill(*_read_execution(self), com.commission, com.currency, com.realized_pnl)

    @property
    def correction_key(self) -> tuple[str, int | None, str]:
        """Fills with the same key are versions of one execution (IB: "all parameters identical
        except the execId"); contract and side are part of it so that per-leg executions of a
        combo are never mistaken for corrections of each other."""
        return (self.family, self.con_id, self.side)


_FILL_FIELDS = tuple(f.name for f in fields(Fill))
_read_execution = attrgetter(*_FILL_FIELDS[:-3])  # every field but the commission's
if _FILL_FIELDS[-3:] != ("commission", "commission_currency", "realized_pnl"):
    raise TypeError("Fill.with_commission expects the commission's fields last")


def _fill_constructor() -> Callable[..., Fill]:
    """``Fill(*values)`` (every field, positional) at half the cost: a frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__``; this calls the slots' own
    setters. The book builds two Fills per execution (the fill, then with its commission)."""
    names = ", ".join(_FILL_FIELDS)
    sets = "".join(f"    set_{name}(fill, {name})\n" for name in _FILL_FIELDS)
    scope: dict[str, Any] = {f"set_{name}": getattr(Fill, name).__set__ for name in _FILL_FIELDS}
    scope.update(new=object.__new__, Fill=Fill)
    exec(f"def new_fill({names}):\n    fill = new(Fill)\n{sets}    return fill\n", scope)
    return cast("Callable[..., Fill]", scope["new_fill"])


new_fill = _fill_constructor()


@dataclass(frozen=True, slots=True)
class Commission:
    """A commissionAndFeesReport, cleaned."""

    exec_id: str
    commission: float | None
    currency: str | None
    realized_pnl: float | None


class LogEntry(NamedTuple):
    """One state change of an order (or a message that was deliberately ignored).

    A named tuple, not a dataclass: a tuple is built several times faster than a frozen
    dataclass. The record keeps each as a plain tuple of these fields (`OrderRecord.log_rows`;
    `log` gives them as LogEntry): a tuple subclass stays tracked by the garbage collector for
    good, a plain tuple of plain values (no Status member either: a str with a __dict__) drops
    out of its scans after its first one."""

    time: datetime
    event: str  # registered, status, fill, commission, error, modify_*, cancel_*, ignored, ...
    status_before: str
    status_after: str
    source: str  # the callback or request that caused it: "orderStatus", "error 202", ...
    text: str = ""
    code: int | None = None


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    """An error / warning / notice TWS attached to an order."""

    time: datetime
    code: int
    kind: ErrorKind
    text: str
    advanced: str = ""
    error_time: int = 0  # TWS's own timestamp (ms), 0 before server version 194
    modify_seq: int | None = None  # set when the error rejected a modify, not the order

    @property
    def is_failure(self) -> bool:
        return self.kind not in BENIGN_KINDS


@dataclass(frozen=True, slots=True)
class Modification:
    """One modify request: placeOrder again with the same id and some fields changed."""

    seq: int
    changes: dict[str, Any]  # ibapi Order attribute -> new value
    before: dict[str, Any]  # the same attributes before the request
    state: str  # pending | applied | rejected | superseded
    requested: datetime
    resolved: datetime | None = None
    code: int | None = None
    reason: str = ""
    order: Order | None = field(default=None, repr=False, compare=False)  # what to send

    def describe(self) -> str:
        parts = [f"{k} {_fmt(self.before.get(k))} -> {_fmt(v)}" for k, v in self.changes.items()]
        return ", ".join(parts)


def _fmt(value: Any) -> str:
    if isinstance(value, float) and clean_float(value) is None:
        return "unset"
    if isinstance(value, Decimal) and clean_decimal(value) is None:
        return "unset"
    return str(value)


def _term(source: str, name: str) -> property:
    """A text term of the record's contract or order; "" while that is not known."""

    def get(rec: OrderRecord) -> str:
        obj = getattr(rec, source)
        return getattr(obj, name) if obj is not None else ""

    return property(get, doc=f"{source}.{name}, or '' while the {source} is not known")


_NONE_YET: dict = {}  # see _empty


def _empty() -> dict:
    """The one empty dict every record starts with for its fills, corrections and allocations:
    the book replaces these containers, never changes them (copy-on-write), so sharing the
    empty one costs nothing, where three dicts each would add about 200 bytes to every order."""
    return _NONE_YET


@dataclass(slots=True)
class OrderRecord:
    """Everything the book knows about one order; keyed by (client_id, order_id), or permId.

    The API ids are known only once a message carried them (`ids_from`). A done order of an
    earlier session may never get them: at text versions TWS's completedOrder carries neither
    orderId nor clientId, and a cancelled order without fills has no execution that would. Such
    a record keeps 0 / 0 as placeholders (`ids_known` is False), is found by its permId only,
    and the frames show <NA> for its ids.
    """

    client_id: int
    order_id: int
    perm_id: int | None = None
    # The message that gave client_id / order_id: placeOrder (this app), openOrder, orderStatus,
    # execDetails or completedOrder; "" while none has.
    ids_from: str = ""
    contract: Contract | None = field(default=None, repr=False)
    order: Order | None = field(default=None, repr=False)
    status: str = Status.PENDING_SUBMIT
    filled: Decimal = Decimal(0)
    remaining: Decimal | None = None
    avg_fill_price: float | None = None
    last_fill_price: float | None = None
    why_held: str = ""
    parent_id: int | None = None
    mkt_cap_price: float | None = None
    acknowledged: bool = False  # TWS sent a status, openOrder, completedOrder or fill for it
    fills: dict[str, Fill] = field(default_factory=_empty)
    corrected_fills: dict[str, Fill] = field(default_factory=_empty)  # replaced by a correction
    # An advisor's group order: its accounts' shares of the block executions in `fills` (TWS
    # reports both; only the block ones count for the order: fills.add_allocation).
    allocations: dict[str, Fill] = field(default_factory=_empty)
    errors: tuple[ErrorEntry, ...] = ()
    modifications: tuple[Modification, ...] = ()
    # The log, as plain tuples of LogEntry's fields (read it as `log`): an order gets one per
    # change, the book's most numerous object, and a plain tuple of plain values drops out of
    # the garbage collector's scans after its first one, where a named tuple never does.
    log_rows: tuple[tuple[Any, ...], ...] = ()
    created: datetime | None = None
    updated: datetime | None = None
    # The contract and order as this app sent them (placeOrder), never replaced by TWS's echo:
    # a modify re-sends these with only the changed fields. None for orders of other sessions.
    # The order is kept as what differs from a new ibapi Order (`compact_order`): a whole one
    # is 3.6 KB, nearly all defaults, and TWS's echo already holds one. `sent_order` rebuilds it.
    sent_contract: Contract | None = field(default=None, repr=False)
    # (The order itself for a moment, until the sender compacts it: `OrderBook.announce`.)
    sent_terms: tuple[Any, ...] | Order | None = field(default=None, repr=False)
    # The total quantity as the book derived it from everything TWS said (merge.Slot.total);
    # None until then. Read it through `total_quantity`.
    derived_quantity: Decimal | None = None

    # -- state

    @property
    def log(self) -> tuple[LogEntry, ...]:
        """Every state change of the order, oldest first (a new tuple at each read)."""
        return tuple([_new_tuple(LogEntry, row) for row in self.log_rows])

    @property
    def key(self) -> tuple[int, int]:
        return (self.client_id, self.order_id)

    @property
    def ids_known(self) -> bool:
        """TWS (or this app's placeOrder) gave the order's client and order id; when False,
        `client_id` and `order_id` are placeholders, not ids."""
        return bool(self.ids_from)

    @property
    def done(self) -> bool:
        return self.status in st.DONE

    @property
    def active(self) -> bool:
        return self.status in st.ACTIVE

    @property
    def working(self) -> bool:
        return self.status in st.WORKING

    @property
    def rejected(self) -> bool:
        """Inactive, with an error known to reject (errors.REJECTING_KINDS) that did not belong
        to a modify. An Inactive order whose only errors are unknown codes is not `rejected`."""
        return self.status == Status.INACTIVE and self.reject_error is not None

    @property
    def reject_error(self) -> ErrorEntry | None:
        for entry in reversed(self.errors):
            if entry.modify_seq is None and entry.kind in REJECTING_KINDS:
                return entry
        return None

    @property
    def reject_reason(self) -> str:
        entry = self.reject_error if self.rejected else None
        return f"{entry.code}: {entry.text}" if entry else ""

    @property
    def pending_modifications(self) -> tuple[Modification, ...]:
        return tuple(m for m in self.modifications if m.state == "pending")

    # -- the order's terms, cleaned

    symbol = _term("contract", "symbol")
    action = _term("order", "action")  # BUY / SELL
    order_type = _term("order", "orderType")
    tif = _term("order", "tif")
    account = _term("order", "account")

    @property
    def total_quantity(self) -> Decimal | None:
        """The order's size; None while unknown. Not always `order.totalQuantity`: TWS's
        completedOrder lists a filled order with total 0, so the book derives it (merge.py)."""
        if self.derived_quantity is not None:
            return self.derived_quantity
        terms = clean_decimal(self.order.totalQuantity) if self.order is not None else None
        return terms or None

    @property
    def limit_price(self) -> float | None:
        return self.price("lmtPrice")

    @property
    def aux_price(self) -> float | None:
        """The stop, trigger, trailing amount or offset: what auxPrice means for this type."""
        return self.price("auxPrice")

    def price(self, attr: str) -> float | None:
        """A price attribute of the order, cleaned; None where its type does not use it
        (order_types.py): TWS reports those as 0.0."""
        if self.order is None:
            return None
        value = clean_float(getattr(self.order, attr, None))
        if value == 0.0 and not uses(self.order.orderType, attr):
            return None
        return value

    @property
    def sent_order(self) -> Order | None:
        """The order as this app sent it (a new object each time); None if not sent by it."""
        return None if self.sent_terms is None else expand_order(self.sent_terms)

    @property
    def commission(self) -> float | None:
        """Sum of the commissions joined so far; None while none is known."""
        known = [f.commission for f in self.fills.values() if f.commission is not None]
        return sum(known) if known else None

    @property
    def fills_quantity(self) -> Decimal:
        return sum((f.shares for f in self.fills.values()), Decimal(0))

    def snapshot(self) -> OrderRecord:
        """A copy that the book will not change any more."""
        return self.__copy__()  # containers are replaced on update, never mutated

    def __copy__(self) -> OrderRecord:
        # Every field read in one C call and passed to the generated __init__: a third of
        # copy.copy's generic path for a slotted class, and every event carries one.
        return OrderRecord(*_read_record(self))


_ORDER_DEFAULTS = vars(Order())


_new_tuple = tuple.__new__  # LogEntry from a row in one C call
_DEFAULT_NAMES = tuple(_ORDER_DEFAULTS)
_DEFAULT_VALUES = tuple(_ORDER_DEFAULTS.values())
_MISSING = object()


def compact_order(order: Order) -> tuple[Any, ...]:
    """What ``order`` sets that a new ibapi Order does not, as one flat tuple of names and
    values (name, value, name, value ...: one object per order, not one per pair);
    ``expand_order`` gives it back. It runs on every place, so the usual order (ibapi's
    attributes, in ibapi's order) is screened in C: only the attributes that are not the
    default objects themselves (an Order shares them with every new one) are compared."""
    attrs = vars(order)
    defaults, kept = _ORDER_DEFAULTS, list[Any]()
    if tuple(attrs) == _DEFAULT_NAMES:
        # The few left: a value the order set, or a default made anew by each Order() (a list,
        # a SoftDollarTier). _same inlined: a call per candidate is a third of the time.
        for name in compress(_DEFAULT_NAMES, map(is_not, attrs.values(), _DEFAULT_VALUES)):
            value, default = attrs[name], defaults[name]
            if value == default or (
                type(value) is type(default)
                and hasattr(value, "__dict__")
                and vars(value) == vars(default)
            ):
                continue
            kept += (name, value)
        return tuple(kept)
    for name, value in attrs.items():
        default = defaults.get(name, _MISSING)
        if value is not default and not _same(value, default):
            kept += (name, value)
    return tuple(kept)


def _same(value: Any, default: Any) -> bool:
    if value is default or value == default:
        return True
    # ibapi's small value classes (SoftDollarTier) define no __eq__: equal when their fields are
    return (
        type(value) is type(default) and hasattr(value, "__dict__") and vars(value) == vars(default)
    )


def expand_order(terms: tuple[Any, ...] | Order) -> Order:
    """A new Order with ``terms`` (``compact_order``'s, or a whole order not compacted yet)
    set; lists copied: the kept terms never change."""
    if isinstance(terms, Order):
        terms = tuple(item for pair in vars(terms).items() for item in pair)
    order = Order()
    for name, value in zip(terms[::2], terms[1::2], strict=True):
        setattr(order, name, list(value) if isinstance(value, list) else value)
    return order


_RECORD_FIELDS = tuple(f.name for f in fields(OrderRecord))
_read_record = attrgetter(*_RECORD_FIELDS)


@dataclass(frozen=True, slots=True)
class Position:
    account: str
    con_id: int | None
    symbol: str
    sec_type: str
    currency: str
    local_symbol: str
    exchange: str
    position: Decimal
    avg_cost: float | None
    contract: Contract | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class AccountValue:
    account: str
    tag: str
    value: str
    currency: str
