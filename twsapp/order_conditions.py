"""Order conditions: an order that waits until a price, a time, the margin cushion or an
execution says so (or that is cancelled then), as ibapi's ``order_condition`` carries them.

Build each condition here, join them with ``with_conditions(order, ...)``, and place the order
as usual: TWS keeps it PreSubmitted until its conditions hold, then works it, or with
``cancel_order=True`` works it from the start and cancels it when they hold. Each condition's
``conjunction`` ("and" / "or") joins it to the next one, as TWS reads them; AND binds first.

TWS refuses a condition it cannot read only after the order is sent (or worse, ibapi fails to
encode it: a margin percent must be a whole number for the protobuf wire), so every condition
is checked here, naming the field and the fix.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ibapi.order import Order
from ibapi.order_condition import (
    ExecutionCondition,
    MarginCondition,
    OperatorCondition,
    OrderCondition,
    PercentChangeCondition,
    PriceCondition,
    TimeCondition,
    VolumeCondition,
)

from .exceptions import OrderValidationError
from .order_checks import TRIGGER_METHODS

__all__ = [
    "check_conditions",
    "execution_condition",
    "margin_condition",
    "percent_change_condition",
    "price_condition",
    "time_condition",
    "volume_condition",
    "with_conditions",
]

CONJUNCTIONS = {"and": True, "or": False}
# TWS reads "yyyymmdd hh:mm:ss [zone]" and "yyyymmdd-hh:mm:ss" (UTC), as for goodTillDate.
_TIME_RE = re.compile(r"^(\d{8})([ -])(\d{2}:\d{2}:\d{2})(?: (\S+))?$")
_TIME_EXAMPLE = "'20260118 15:30:00 US/Eastern' or '20260118-20:30:00' (UTC)"


def price_condition(
    con_id: int,
    price: float,
    *,
    is_more: bool = True,
    exchange: str = "SMART",
    trigger_method: int = 0,
    conjunction: str = "and",
) -> PriceCondition:
    """The price of contract ``con_id`` at or above ``price`` (``is_more``), or at or below it,
    as a stop's ``trigger_method`` reads prices (0: last for stocks and futures)."""
    condition = PriceCondition(trigger_method, con_id, exchange, is_more, _number(price, "price"))
    return _joined(condition, conjunction)


def time_condition(
    when: datetime | str, *, is_more: bool = True, conjunction: str = "and"
) -> TimeCondition:
    """Now at or after ``when`` (``is_more``), or at or before it. ``when``: an aware datetime,
    or TWS's text."""
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise OrderValidationError(
                "conditions",
                f"time condition {when!r} has no time zone — pass an aware datetime, e.g. "
                "datetime(2026, 1, 18, 15, 30, tzinfo=ZoneInfo('America/New_York'))",
            )
        when = when.astimezone(ZoneInfo("UTC")).strftime("%Y%m%d-%H:%M:%S")
    return _joined(TimeCondition(is_more, when), conjunction)


def margin_condition(
    percent: int, *, is_more: bool = False, conjunction: str = "and"
) -> MarginCondition:
    """The account's margin cushion at or below ``percent`` (or at or above: ``is_more``)."""
    return _joined(MarginCondition(is_more, percent), conjunction)


def execution_condition(
    symbol: str, *, sec_type: str = "STK", exchange: str = "SMART", conjunction: str = "and"
) -> ExecutionCondition:
    """An execution of ``symbol`` in this account (on ``exchange``; SMART: anywhere)."""
    return _joined(ExecutionCondition(sec_type, exchange, symbol), conjunction)


def volume_condition(
    con_id: int,
    volume: int,
    *,
    is_more: bool = True,
    exchange: str = "SMART",
    conjunction: str = "and",
) -> VolumeCondition:
    """Contract ``con_id``'s volume today at or above ``volume`` (or at or below it)."""
    return _joined(VolumeCondition(con_id, exchange, is_more, volume), conjunction)


def percent_change_condition(
    con_id: int,
    change_percent: float,
    *,
    is_more: bool = True,
    exchange: str = "SMART",
    conjunction: str = "and",
) -> PercentChangeCondition:
    """Contract ``con_id``'s change since the previous close at or above ``change_percent``
    percent (or at or below it)."""
    value = _number(change_percent, "changePercent")
    return _joined(PercentChangeCondition(con_id, exchange, is_more, value), conjunction)


def with_conditions(
    order: Order,
    *conditions: OrderCondition,
    cancel_order: bool = False,
    ignore_rth: bool = False,
) -> Order:
    """A copy of ``order`` that waits for ``conditions`` (in order, each joined to the next by
    its conjunction); ``cancel_order``: cancelled when they hold instead; ``ignore_rth``: they
    may hold outside regular trading hours too."""
    if not conditions:
        raise OrderValidationError(
            "conditions", "with_conditions() needs at least one condition — pass one or more"
        )
    conditioned = copy.copy(order)
    conditioned.conditions = list(conditions)
    conditioned.conditionsCancelOrder = cancel_order
    conditioned.conditionsIgnoreRth = ignore_rth
    check_conditions(conditioned)
    return conditioned


def check_conditions(order: Any) -> None:
    """Every condition of ``order`` one TWS reads, and its flags; OrderValidationError."""
    conditions: Sequence[Any] = getattr(order, "conditions", None) or []
    for flag in ("conditionsCancelOrder", "conditionsIgnoreRth"):
        value = getattr(order, flag, False)
        if not isinstance(value, bool):
            raise OrderValidationError(flag, f"{flag} {value!r} is not a bool — True or False")
        if value and not conditions:
            raise OrderValidationError(
                flag, f"{flag} is set but the order has no conditions: TWS ignores it — add "
                "conditions (with_conditions) or leave it False",
            )  # fmt: skip
    for number, condition in enumerate(conditions, start=1):
        _check_one(number, condition)


def _check_one(number: int, condition: Any) -> None:
    kind = type(condition).__name__
    where = f"condition {number} ({kind})"

    def bad(problem: str) -> OrderValidationError:
        return OrderValidationError("conditions", f"{where}: {problem}")

    if not isinstance(condition, OrderCondition) or condition.type() not in _KINDS:
        raise bad("not an ibapi order condition — build it with price_condition(), "
                  "time_condition(), margin_condition() or execution_condition()")  # fmt: skip
    if not isinstance(condition.isConjunctionConnection, bool):
        raise bad("isConjunctionConnection must be True (and) or False (or)")
    if isinstance(condition, OperatorCondition) and not isinstance(condition.isMore, bool):
        raise bad(f"isMore {condition.isMore!r} is not a bool — True: at or above, False: below")
    if isinstance(condition, PriceCondition | VolumeCondition | PercentChangeCondition):
        con_id = condition.conId
        if isinstance(con_id, bool) or not isinstance(con_id, int) or con_id <= 0:
            raise bad(f"conId {con_id!r} is not a contract id — use the contract's conId")
        if not isinstance(condition.exchange, str) or not condition.exchange:
            raise bad("exchange is empty — use 'SMART' or the contract's exchange")
    if isinstance(condition, PriceCondition):
        _positive(condition.price, bad, "price")
        method = condition.triggerMethod
        if isinstance(method, bool) or method not in TRIGGER_METHODS:
            known = ", ".join(f"{k} {v}" for k, v in TRIGGER_METHODS.items())
            raise bad(f"triggerMethod {method!r} is not one of TWS's: {known}")
    if isinstance(condition, TimeCondition) and not _valid_time(condition.time):
        raise bad(f"time {condition.time!r} is not a time TWS reads — use e.g. {_TIME_EXAMPLE}")
    if isinstance(condition, MarginCondition):
        percent = condition.percent
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise bad(f"percent {percent!r} is not a whole percentage 0..100 — e.g. 30")
    if isinstance(condition, ExecutionCondition):
        for name in ("symbol", "secType", "exchange"):
            value = getattr(condition, name)
            if not isinstance(value, str) or not value:
                raise bad(f"{name} is empty — e.g. symbol 'AAPL', secType 'STK', 'SMART'")
    if isinstance(condition, VolumeCondition):
        volume = condition.volume
        if isinstance(volume, bool) or not isinstance(volume, int) or volume < 0:
            raise bad(f"volume {volume!r} is not a whole number of shares >= 0")
    if isinstance(condition, PercentChangeCondition):
        value = condition.changePercent
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise bad(f"changePercent {value!r} is not a number — e.g. 2.5 for 2.5 %")


_KINDS = {
    OrderCondition.Price,
    OrderCondition.Time,
    OrderCondition.Margin,
    OrderCondition.Execution,
    OrderCondition.Volume,
    OrderCondition.PercentChange,
}


def _joined(condition: Any, conjunction: str) -> Any:
    joined = CONJUNCTIONS.get(str(conjunction).lower())
    if joined is None:
        raise OrderValidationError(
            "conditions", f"conjunction {conjunction!r} is not 'and' or 'or' — use one of those"
        )
    condition.isConjunctionConnection = joined
    _check_one(1, condition)
    return condition


def _number(value: Any, name: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OrderValidationError(
            "conditions", f"{name} {value!r} is a {type(value).__name__} — pass a number"
        )
    return float(value)


def _positive(value: Any, bad: Any, name: str) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise bad(f"{name} {value!r} is not a positive number")


def _valid_time(text: Any) -> bool:
    if not isinstance(text, str):
        return False
    match = _TIME_RE.match(text)
    if not match:
        return False
    day, sep, clock, zone = match.groups()
    if sep == "-" and zone:
        return False
    try:
        datetime.strptime(f"{day} {clock}", "%Y%m%d %H:%M:%S")
        if zone:
            ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        return False
    return True
