"""Order conditions: an order that works only once its conditions hold, or that is cancelled
when they do (``conditionsCancelOrder``).

A mixin of ``Exchange`` under ``tif`` and ``working``. IB's API reference ("Order
Conditioning": "Conditions allow to activate orders given a certain criteria") and ibapi's
``order_condition`` give the conditions and what each compares:

* Price: a contract's price (``conId``) at or above (``isMore``) or at or below ``price``, by
  the ``triggerMethod`` a stop would use (``triggers``: last, bid/ask, double, midpoint);
* Time: now at or after (``isMore``) or at or before ``time`` ("20260118 23:59:59 US/Eastern",
  ``YYYYMMDD-hh:mm:ss`` in UTC, or a time of day with its zone);
* Margin: the account's margin cushion, in percent, at or above / below ``percent``;
* Execution: an execution of ``symbol`` / ``secType`` on ``exchange`` (SMART: any venue) in the
  order's account since the order went live;
* Volume and PercentChange: the contract's volume today, its change since the previous close.

Each condition's ``isConjunctionConnection`` joins it to the next one, AND or OR ("AND | OR
next condition (will be ignored if no more conditions are added)", IB's OrderSamples); AND
binds first, as in any boolean expression (our reading: no IB page says). Conditions are
evaluated in the regular session of the order's instrument unless ``conditionsIgnoreRth``.

An order waiting for its conditions is PreSubmitted; once they hold it works as placed
(Submitted, or PreSubmitted waiting for its trigger) and matches at once. With
``conditionsCancelOrder`` the order works from the start and is cancelled (by the system) the
second its conditions hold.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ibapi import order_condition as oc
from ibapi.order import Order

from . import rules
from .condition_wire import TYPES, normalize
from .prices import midpoint
from .records import TWS_TIME_ZONE, SimOrder
from .rules import refuse
from .state import ExchangeState
from .triggers import WORKS_AT_ONCE, Gate, Look, Work, is_hit, method_for

_TIME = re.compile(r"(?:(\d{8})([ -]))?(\d{2}):(\d{2})(?::(\d{2}))?(?: (\S+))?")
_SMART = ("", "SMART")


class OrderConditions(ExchangeState):
    """Mixin of ``Exchange``: its state, tape and accounts; ``matching`` asks it each second."""

    # ------------------------------------------------------------------ acceptance

    def _check_conditions(self, order: Order) -> None:
        """Refuse (321) a condition TWS could not evaluate; keep TWS's spellings."""
        for number, condition in enumerate(order.conditions or [], start=1):
            kind = condition.type()
            where = f"condition {number} ({TYPES.get(kind, kind)})"
            if kind not in TYPES:
                _invalid(f"{where}: unknown condition type")
            normalize(condition)
            if isinstance(condition, oc.OperatorCondition) and not isinstance(
                condition.isMore, bool
            ):
                _invalid(f"{where}: isMore must be true or false")
            problem = self._condition_problem(condition)
            if problem:
                _invalid(f"{where}: {problem}")

    def _condition_problem(self, condition: oc.OrderCondition) -> str | None:
        """What keeps TWS from evaluating ``condition``, if anything."""
        if isinstance(condition, oc.ContractCondition) and (
            not condition.conId or self.catalog.by_conid(condition.conId) is None
        ):
            return f"no contract with conId {condition.conId}"
        if isinstance(condition, oc.PriceCondition):
            if condition.triggerMethod not in rules.TRIGGER_METHODS:
                return f"invalid trigger method {condition.triggerMethod}"
            if not _finite(condition.price):
                return f"invalid price {condition.price!r}"
        if isinstance(condition, oc.TimeCondition) and (
            parse_time(condition.time or "", self._moment(self._step)) is None
        ):
            return f"invalid time {condition.time!r}"
        if isinstance(condition, oc.MarginCondition) and not _whole(condition.percent):
            return "the margin cushion percent must be a whole number"
        if isinstance(condition, oc.ExecutionCondition) and not condition.symbol:
            return "the symbol is missing"
        if isinstance(condition, oc.VolumeCondition) and not _whole(condition.volume):
            return "the volume must be a whole number"
        if isinstance(condition, oc.PercentChangeCondition) and not _finite(
            condition.changePercent
        ):
            return f"invalid percent change {condition.changePercent!r}"
        return None

    # ------------------------------------------------------------------ going live

    def _start_conditions(self, so: SimOrder) -> None:
        count = len(so.order.conditions or [])
        so.work.gate = None
        if count:
            so.work.gate = Gate([Work() for _ in range(count)], len(self.fills), [False] * count)

    def _watching(self, so: SimOrder) -> bool:
        """Conditions not yet met (an activating or a cancelling order)."""
        gate = so.work.gate
        return gate is not None and not gate.met

    def _conditions_pending(self, so: SimOrder) -> bool:
        """Waiting for its conditions before it may work (not a cancelling order)."""
        return self._watching(so) and not so.order.conditionsCancelOrder

    # ------------------------------------------------------------------ each second

    def _watch_conditions(self, so: SimOrder, step: int, first: bool) -> bool:
        """Evaluate the conditions at ``step``; when they hold, cancel the order or let it
        work (announced Submitted if it works at once). True when it has just been let work."""
        gate = so.work.gate
        assert gate is not None
        self._note_executions(so, gate)
        if not so.order.conditionsIgnoreRth and not self.tape.is_regular(so.contract.conId, step):
            return False
        values = [
            self._holds(so, number, condition, step, first)
            for number, condition in enumerate(so.order.conditions)
        ]
        connectors = [c.isConjunctionConnection for c in so.order.conditions]
        if not combine(values, connectors):
            return False
        gate.met = True
        if so.order.conditionsCancelOrder:
            self._cancel(so, by="System")
            return False
        if so.order.orderType in WORKS_AT_ONCE and not self._waits_for_parent(so):
            self._set_status(so, "Submitted")
        return True

    def _holds(
        self, so: SimOrder, number: int, condition: oc.OrderCondition, step: int, first: bool
    ) -> bool:
        gate = so.work.gate
        assert gate is not None
        if isinstance(condition, oc.ExecutionCondition):
            return gate.executed[number]
        if isinstance(condition, oc.TimeCondition):
            now = self._moment(step)
            when = parse_time(condition.time, now)
            assert when is not None  # checked on acceptance
            return now >= when if condition.isMore else now <= when
        if isinstance(condition, oc.MarginCondition):
            account = self.accounts.get(so.order.account) or self.accounts[self.account_ids[0]]
            numbers = account.numbers(self._marks())  # a group order: the login's first
            cushion = float(numbers["Cushion"]) * 100
            return _compare(cushion, condition.percent, condition.isMore)
        if isinstance(condition, oc.PriceCondition):
            con_id = condition.conId
            method = method_for(condition.triggerMethod, self.tape.has_trades(con_id))
            look = self._condition_look(con_id, step, first)
            return is_hit(gate.works[number], method, look, condition.price, condition.isMore)
        if isinstance(condition, oc.VolumeCondition):
            volume = self.tape.day(condition.conId, step).volume
            return _compare(float(volume), condition.volume, condition.isMore)
        if isinstance(condition, oc.PercentChangeCondition):
            change = self._change_percent(condition.conId, step)
            return change is not None and _compare(
                change, condition.changePercent, condition.isMore
            )
        return False

    def _note_executions(self, so: SimOrder, gate: Gate) -> None:
        """Latch the execution conditions that an execution since the last look meets."""
        mine = so.order.account
        fresh = self.fills[gate.fills_seen :]
        gate.fills_seen = len(self.fills)
        for number, condition in enumerate(so.order.conditions):
            if not isinstance(condition, oc.ExecutionCondition) or gate.executed[number]:
                continue
            gate.executed[number] = any(
                (not mine or fill.execution.acctNumber == mine)  # no account: a group order
                and fill.contract.symbol == condition.symbol
                and (not condition.secType or fill.contract.secType == condition.secType)
                and (
                    (condition.exchange or "") in _SMART
                    or condition.exchange in (fill.execution.exchange, fill.contract.exchange)
                )
                for fill in fresh
            )

    def _condition_look(self, con_id: int, step: int, first: bool) -> Look:
        """What a price condition on ``con_id`` sees of second ``step`` (its first look: the
        last price only, as a new stop sees it)."""
        quote = self.prices.quote(con_id, float(step))
        has_trades = self.tape.has_trades(con_id)
        last = quote.last if has_trades else None
        mid = midpoint(quote.bid, quote.ask, self.prices.decimals(con_id) + 1)
        trades: tuple[tuple[float, Decimal], ...] = ()
        if has_trades and first:
            latest = self.tape.last_trade(con_id, float(step))
            trades = ((quote.last, latest.size if latest else Decimal(0)),)
        elif has_trades:
            printed = self.tape.step_trades(con_id, step)
            trades = tuple((t.price, t.size) for t in printed if not t.odd_lot)
        return Look(trades, last, quote.bid, quote.ask, quote.bid_size, quote.ask_size, mid)

    def _change_percent(self, con_id: int, step: int) -> float | None:
        """The contract's change since the previous regular close, in percent."""
        day = self.tape.day(con_id, step)
        if not day.prev_close:
            return None
        trade = self.tape.last_trade(con_id, step)
        price = trade.price if trade is not None else self.prices.quote(con_id, step).last
        return (price / day.prev_close - 1) * 100


def combine(values: list[bool], connectors: list[bool]) -> bool:
    """Conditions joined by their connectors (True: AND with the next one), AND first."""
    if not values:
        return True
    groups = [[values[0]]]
    for value, joined in zip(values[1:], connectors, strict=False):
        if joined:
            groups[-1].append(value)
        else:
            groups.append([value])
    return any(all(group) for group in groups)


def parse_time(text: str, now: datetime) -> datetime | None:
    """A time condition's moment: ``YYYYMMDD hh:mm[:ss] [zone]`` (TWS's zone when none is
    named), ``YYYYMMDD-hh:mm[:ss]`` (UTC), or ``hh:mm[:ss] [zone]`` today in that zone."""
    found = _TIME.fullmatch(text.strip())
    if found is None:
        return None
    day, sep, hour, minute, second, zone = found.groups()
    try:
        if sep == "-":
            if zone:
                return None
            where = ZoneInfo("UTC")
        else:
            where = ZoneInfo(zone or TWS_TIME_ZONE)
        clock = time(int(hour), int(minute), int(second or 0))
        on: date = datetime.strptime(day, "%Y%m%d").date() if day else now.astimezone(where).date()
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return datetime.combine(on, clock, tzinfo=where)


def _compare(value: float, bound: float, at_least: bool) -> bool:
    return value >= bound if at_least else value <= bound


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _invalid(cause: str) -> None:
    raise refuse(rules.VALIDATION, tag="bO", cause=f"Invalid order condition: {cause}")
