"""Pre-trade precautions and hard limits (``[risk]``), for every order and modify, whoever sends it.

A check returns the precautions an order trips, each as IB's Client Portal words it: a message
id (``o163``, ``o383`` ... where IB has one; ``t1``-``t3`` are twsapp's own) and a text. Two kinds:

- limits, set in ``[risk]``: a quantity above ``max_quantity`` (o383), a notional above
  ``max_order_value`` (o451), a limit or stop price more than ``max_price_deviation_pct`` from
  the reference price (o163, the 1490.00-for-149.00 typo). Their ``hard_*`` twins refuse in
  every mode and can never be confirmed;
- advisories, with no setting: stop orders (o10331), orders outside regular trading hours
  (t2), market orders while the regular session is closed (t3), and orders no market price can
  be checked against (o354). Only a caller that can answer (the control API, the CLI) is asked
  about them, as only the Client Portal asks them and not TWS's socket API.

What a tripped precaution does is ``confirm``'s choice (``RiskGuard.check``): "never" refuses
the limits and asks nothing; "ask" asks whoever can answer and refuses the limits for everyone
else (a strategy cannot answer; Python answers with ``with guard.confirmed("o383"): ...``);
"always" also asks the control API about every order (t1).

The reference price of the deviation and value checks is the last price the run knows (the
engine's ``LastFillPrices``: a fill, a quote's last or midpoint, a bar's close), or, failing
that, a snapshot quote (its last, else its midpoint, else the close): ``MarketFacts`` supplies
it, and the current time for the hours checks (TWS's clock, so the simulator's too). Values are
compared in the contract's currency. Trading hours come from the contract details
(``liquidHours`` regular, ``tradingHours`` with extended hours); beyond the days they list the
hours checks say nothing.

The checks are pure (no I/O, given the facts); ``RiskGuard`` adds the policy, the answers
given on this thread, and the WARNING line of every refusal.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ibapi.contract import ContractDetails
from ibapi.order import Order

from .book.cleaning import clean_decimal, clean_float
from .config import RiskConfig
from .exceptions import OrderRefused
from .order_types import order_type

__all__ = [
    "ADVISORY_IDS",
    "LIMIT_IDS",
    "MarketFacts",
    "Precaution",
    "Reference",
    "RiskGuard",
    "RiskRefused",
    "check",
    "describe_order",
    "session_state",
]

log = logging.getLogger("twsapp.risk")

#: Price roles (order_types.py) that are prices, not distances or percentages.
PRICE_ROLES = frozenset(
    {"limit price", "price cap", "stop price", "trigger price", "initial stop price"}
)
STOP_TYPES = frozenset({"STP", "STP LMT", "TRAIL", "TRAIL LIMIT", "STP PRT"})
MARKET_TYPES = frozenset({"MKT"})

DEVIATION, VALUE, SIZE = "o163", "o451", "o383"
NO_MARKET_DATA, STOP_ORDER = "o354", "o10331"
CONFIRM_EVERY, OUTSIDE_RTH, MARKET_CLOSED = "t1", "t2", "t3"
LIMIT_IDS = frozenset({DEVIATION, VALUE, SIZE})
ADVISORY_IDS = frozenset({NO_MARKET_DATA, STOP_ORDER, OUTSIDE_RTH, MARKET_CLOSED})

QUESTION = "Are you sure you want to submit this order?"


@dataclass(frozen=True)
class Precaution:
    """One thing an order trips. ``limit``: a configured limit (refused where nobody can
    answer); ``hard``: a hard limit (refused, whatever anyone answers)."""

    message_id: str
    text: str
    limit: bool = False
    hard: bool = False

    @property
    def question(self) -> str:
        return f"{self.text}\n{QUESTION}"


@dataclass(frozen=True)
class Reference:
    """The price the deviation and value checks compare with, and where it came from."""

    price: float
    source: str


class MarketFacts(Protocol):
    """What a check needs to know of the market (session/risk_facts.py is one)."""

    def reference(self, details: ContractDetails) -> Reference | None: ...

    def now(self) -> datetime | None: ...


# --------------------------------------------------------------------------- the checks


def describe_order(order: Order, details: ContractDetails) -> str:
    """'BUY 10 AAPL LMT 149.00', as the questions quote it."""
    qty = clean_decimal(order.totalQuantity)
    prices = " ".join(f"{price:.2f}" for _, _, price in _prices(order))
    text = f"{order.action} {qty if qty is not None else '?'} {details.contract.symbol} "
    return (text + f"{order.orderType} {prices}").strip()


def _prices(order: Order) -> list[tuple[str, str, float]]:
    """(attribute, role, value) of each price the order's type reads and the order sets."""
    row = order_type(order.orderType)
    found = []
    for spec in row.fields if row is not None else ():
        value = clean_float(getattr(order, spec.attr, None))
        if spec.role in PRICE_ROLES and value is not None and value != 0:
            found.append((spec.attr, spec.role, value))
    return found


def _multiplier(details: ContractDetails) -> float:
    try:
        return float(details.contract.multiplier or 1) or 1.0
    except ValueError:
        return 1.0


def _plain(value: float | Decimal) -> str:
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def check(
    order: Order,
    details: ContractDetails,
    limits: RiskConfig,
    reference: Reference | None = None,
    now: datetime | None = None,
) -> list[Precaution]:
    """Every precaution and hard limit ``order`` trips, in a stable order (pure)."""
    found: list[Precaution] = []
    what = describe_order(order, details)
    quantity = clean_decimal(order.totalQuantity) or Decimal(0)
    hard_size = limits.hard_max_quantity
    if hard_size is not None and quantity > hard_size:
        found.append(Precaution(SIZE, f'The order "{what}" size {quantity} exceeds the hard '
                     f"size limit of {hard_size} ([risk] hard_max_quantity).", True, True))  # fmt: skip
    elif quantity > limits.max_quantity:
        found.append(Precaution(SIZE, f'The order "{what}" size {quantity} exceeds the Size '
                     f"Limit of {limits.max_quantity} ([risk] max_quantity).", True))  # fmt: skip
    prices = _prices(order)
    ref = reference.price if reference is not None and reference.price > 0 else None
    if ref is not None and reference is not None:
        found += _deviation(what, prices, ref, reference.source, limits)
    value_price = prices[0][2] if prices else ref
    if value_price is not None:
        value = float(quantity) * value_price * _multiplier(details)
        currency = details.contract.currency or ""
        hard_value = limits.hard_max_order_value
        shown = f"value estimate of {_plain(value)} {currency}".rstrip()
        if hard_value is not None and value > hard_value:
            found.append(Precaution(VALUE, f'The order "{what}" {shown} exceeds the hard Total '
                         f"Value Limit of {_plain(hard_value)} ([risk] hard_max_order_value).",
                         True, True))  # fmt: skip
        elif value > limits.max_order_value:
            found.append(Precaution(VALUE, f'The order "{what}" {shown} exceeds the Total Value '
                         f"Limit of {_plain(limits.max_order_value)} ([risk] max_order_value).",
                         True))  # fmt: skip
    if ref is None:
        unchecked = "its price deviation and value" if prices else "its value"
        found.append(Precaution(NO_MARKET_DATA, f'You are submitting the order "{what}" without '
                     f"market data: {unchecked} cannot be checked."))  # fmt: skip
    if order.orderType in STOP_TYPES:
        found.append(Precaution(STOP_ORDER, "You are about to submit a stop order. Please be "
                     "aware of the various stop order types available and the risks associated "
                     "with each one."))  # fmt: skip
    state = session_state(details, now) if now is not None else None
    market = order.orderType in MARKET_TYPES
    if market and state in ("extended", "closed"):
        found.append(Precaution(MARKET_CLOSED, f'The order "{what}" is a market order and the '
                     "regular session is closed: it fills at whatever price the market opens "
                     "or trades at then."))  # fmt: skip
    elif order.outsideRth or (not market and state in ("extended", "closed")):
        why = "may fill" if order.outsideRth else "is placed"
        found.append(Precaution(OUTSIDE_RTH, f'The order "{what}" {why} outside regular trading '
                     "hours, when markets are thinner and prices move more."))  # fmt: skip
    return found


def _deviation(
    what: str, prices: list[tuple[str, str, float]], ref: float, source: str, limits: RiskConfig
) -> list[Precaution]:
    """The farthest price of the order from the reference, if too far."""
    if not prices:
        return []
    _, role, price = max(prices, key=lambda item: abs(item[2] - ref))
    pct = abs(price - ref) / ref * 100
    where = f"its {role} {price:.2f} is {pct:.1f}% from {ref:.2f} ({source})"
    hard = limits.hard_max_price_deviation_pct
    if hard is not None and pct > hard:
        text = (f'The order "{what}" exceeds the hard price percentage limit of {hard:g}% '
                f"([risk] hard_max_price_deviation_pct): {where}.")  # fmt: skip
        return [Precaution(DEVIATION, text, True, True)]
    if pct > limits.max_price_deviation_pct:
        text = (f'The order "{what}" exceeds the price percentage limit of '
                f"{limits.max_price_deviation_pct:g}% ([risk] max_price_deviation_pct): {where}.")  # fmt: skip
        return [Precaution(DEVIATION, text, True)]
    return []


# --------------------------------------------------------------------------- trading hours


def session_state(details: ContractDetails, now: datetime) -> str | None:
    """ "regular", "extended" (trading, outside the regular session), "closed", or None when
    the contract's hours do not say (missing, unreadable, or ``now`` beyond the listed days)."""
    try:
        zone = ZoneInfo(details.timeZoneId) if details.timeZoneId else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:
        return None
    regular = _spans(details.liquidHours, zone)
    trading = _spans(details.tradingHours, zone)
    if regular is None:
        return None
    days, spans = regular
    local = now.astimezone(zone)
    if not days or not min(days) <= local.date() <= max(days):
        return None
    if any(start <= local < end for start, end in spans):
        return "regular"
    if trading is not None and any(start <= local < end for start, end in trading[1]):
        return "extended"
    return "closed"


def _spans(text: str, zone: ZoneInfo) -> tuple[set[date], list[tuple[datetime, datetime]]] | None:
    """TWS's hours text ('20250106:0930-20250106:1600;20250107:CLOSED'; older builds write
    '20250106:0930-1600,1700-1800') as the days it covers and its open spans."""
    days: set[date] = set()
    spans: list[tuple[datetime, datetime]] = []
    try:
        for entry in filter(None, (e.strip() for e in (text or "").split(";"))):
            day_text, _, rest = entry.partition(":")
            day = datetime.strptime(day_text, "%Y%m%d").date()
            days.add(day)
            if rest.upper() == "CLOSED":
                continue
            for part in rest.split(","):
                start_text, end_text = part.split("-")
                start = _moment(day, start_text, zone)
                end = _moment(day, end_text, zone)
                if end <= start:  # an older build's overnight span: it ends the next day
                    end += timedelta(days=1)
                days.add(end.date())
                spans.append((start, end))
    except ValueError:
        return None
    return (days, spans) if days else None


def _moment(day: date, text: str, zone: ZoneInfo) -> datetime:
    if ":" in text:  # 'YYYYMMDD:HHMM'
        day_text, _, text = text.partition(":")
        day = datetime.strptime(day_text, "%Y%m%d").date()
    if len(text) != 4 or not text.isdigit():
        raise ValueError(text)
    return datetime(day.year, day.month, day.day, int(text[:2]), int(text[2:]), tzinfo=zone)


# --------------------------------------------------------------------------- the policy


class RiskRefused(OrderRefused):
    """An order [risk] holds back; nothing was sent. ``precautions``: what holds it;
    ``askable``: True when the caller may confirm every one of them (the control API asks)."""

    def __init__(self, reason: str, precautions: tuple[Precaution, ...], askable: bool) -> None:
        super().__init__(reason, "risk")
        self.precautions = precautions
        self.askable = askable


class RiskGuard:
    """[risk] in force: ``check`` is the order API's injectable checker (session/trading.py
    calls it for every new order and modify before anything is sent). Answers are per thread:
    ``answering`` (the control API, which asks) and ``confirmed`` (Python's own answer)."""

    def __init__(self, limits: RiskConfig, facts: MarketFacts | None = None) -> None:
        self.limits = limits
        self.facts = facts
        self._local = threading.local()

    @contextlib.contextmanager
    def confirmed(self, *message_ids: str) -> Iterator[None]:
        """Confirm these precautions (``"o383"``, ...) for the orders placed in the block, on
        this thread. A strategy cannot answer: refused on a strategy's thread. No use with
        ``confirm = "never"``, and hard limits stay refused."""
        if _strategy_thread():
            raise OrderRefused(
                "a strategy cannot confirm a [risk] precaution: its orders must stay within "
                "the limits (or be placed through the control API / CLI, which ask)"
            )
        with self._answers(answering=False, confirmed=message_ids):
            yield

    @contextlib.contextmanager
    def answering(self, confirmed: Collection[str] = ()) -> Iterator[None]:
        """For a caller that can be asked (the control API): every precaution is a question,
        ``confirmed`` the ones it already answered."""
        with self._answers(answering=True, confirmed=confirmed):
            yield

    @contextlib.contextmanager
    def _answers(self, answering: bool, confirmed: Collection[str]) -> Iterator[None]:
        before = getattr(self._local, "state", None)
        self._local.state = (answering, frozenset(confirmed))
        try:
            yield
        finally:
            self._local.state = before

    def review(self, details: ContractDetails, order: Order) -> list[Precaution]:
        """What ``order`` trips now (market facts fetched), before any policy."""
        facts = self.facts
        reference = facts.reference(details) if facts is not None else None
        now = facts.now() if facts is not None else None
        return check(order, details, self.limits, reference, now)

    def check(self, details: ContractDetails, order: Order) -> None:
        """Raise RiskRefused (logged at WARNING) unless [risk] lets ``order`` go now."""
        answering, confirmed = getattr(self._local, "state", None) or (False, frozenset())
        mode = self.limits.confirm
        tripped = self.review(details, order)
        what = describe_order(order, details)
        if answering and mode == "always":
            tripped.append(Precaution(CONFIRM_EVERY, f'Submit the order "{what}"? ([risk] '
                           'confirm = "always" asks about every order.)'))  # fmt: skip
        hard = tuple(p for p in tripped if p.hard)
        if hard:
            self._refuse(what, hard, "hard limits cannot be confirmed; nothing was sent")
        limits = tuple(p for p in tripped if p.limit)
        if mode == "never":
            if limits:
                self._refuse(what, limits, '[risk] confirm = "never" refuses a tripped limit '
                             "(raise it in [risk], or set confirm = \"ask\" to be asked through "
                             "the control API); nothing was sent")  # fmt: skip
            return
        if answering:
            pending = tuple(p for p in tripped if p.message_id not in confirmed)
            if pending:
                raise RiskRefused(
                    f"{what}: waiting for confirmation of "
                    + ", ".join(p.message_id for p in pending),
                    pending,
                    askable=True,
                )
            return
        pending = tuple(p for p in limits if p.message_id not in confirmed)
        if not pending:
            return
        if _strategy_thread():
            how = ('[risk] confirm = "ask" and a strategy cannot answer: keep its orders within '
                   "the limits, or raise them in [risk]; nothing was sent")  # fmt: skip
        else:
            ids = ", ".join(f'"{p.message_id}"' for p in pending)
            how = (f'[risk] confirm = "ask": confirm with `with app.risk.confirmed({ids}): ...`, '
                   "or place it through the control API / CLI; nothing was sent")  # fmt: skip
        self._refuse(what, pending, how)

    def _refuse(self, what: str, precautions: tuple[Precaution, ...], how: str) -> None:
        texts = " ".join(f"[{p.message_id}] {p.text}" for p in precautions)
        reason = f"{what} refused by [risk]: {texts} {how}"
        log.warning("%s (%s)", reason, _caller())
        raise RiskRefused(reason, precautions, askable=False)


def _strategy_thread() -> bool:
    """Strategies run on threads named strategy-<name> (strategy/runner.py)."""
    return threading.current_thread().name.startswith("strategy-")


def _caller() -> str:
    name = threading.current_thread().name
    return f"from {name}" if name.startswith("strategy-") else f"on thread {name}"
