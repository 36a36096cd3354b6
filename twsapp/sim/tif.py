"""Time in force: when an order may work, when it expires, and the OVERNIGHT venue.

A mixin of ``Exchange`` under ``working`` and ``matching`` (which fill what works); the rules
are IB's, as its TWS Users' Guide and order pages describe them:

* DAY: works through the trading day and expires at its end. The session is the one the order
  works in: the regular session, or with ``outsideRth`` the extended one (04:00-20:00 for US
  stocks), or the OVERNIGHT venue's. An order placed after its session is queued for the next
  one ("Day orders submitted with 'Regular Trading Hours' after 4pm ET will be queued for the
  next day ... with 'Fill Outside RTH' after 4pm ET will be active until 8pm ET ... after 8pm ET
  will be queued and start working by 4am ET the following day", Times in Force for Orders).
  Sessions, holidays and early closes are the exchange calendar's (``calendar``), so a DAY
  order expires at 13:00 on the day after Thanksgiving.
* GTC: never expires here (IB's quarterly clean-up is not modelled).
* GTD: expires at ``goodTillDate``: ``YYYYMMDD hh:mm:ss`` in the time zone named after it, in
  TWS's own zone when none is named, or ``YYYYMMDD-hh:mm:ss`` in UTC; a date alone means the
  close of that day's session ("until the close of the market on the date specified").
* IOC and FOK: one look at the market when the order goes live (``matching``): IOC fills what
  it can and the rest is cancelled; FOK fills all of it or nothing.
* OPG: a market-on-open (MKT) or limit-on-open (LMT) order for the opening auction (IB's MOO
  page). It waits, PreSubmitted, for the next regular open and trades there, all of it, at the
  opening price (a LOO only if that is at or better than its limit, else it is cancelled).
  Nasdaq and NYSE take opening orders until 09:28 and let none be changed or cancelled after
  it; IB refused a MOO sent right after the close with 201 "Order rejected - reason:Exchange
  is closed." (QuantConnect's IB brokerage issue 204), and QuantConnect's IB model takes MOO
  orders from 04:00 to 09:28. So the simulator takes an OPG order from the start of the
  trading session in which the auction falls until two minutes before the open, and refuses
  it otherwise with 201: that reason after the open or the close, ours before the open.
* OVERNIGHT (``contract.exchange``): IB's overnight venue for US stocks, 20:00-03:50 New York
  time, an independent venue where only limit orders (plain or Adaptive) are taken (IBKR
  Campus, Overnight Trading). Which TIFs it takes no IB page found says; the simulator takes
  DAY (expiring at 03:50) and GTC and refuses the rest, like other orders, with 201 in its own
  words. Its quotes are the instrument's price path; it prints no trades of its own.

Our choices where IB says nothing: a GTD already past is refused (201); ``outsideRth`` on an
order that cannot use it is ignored, as TWS says it ignores it (warning 2109, not sent here).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ibapi.order import Order

from . import rules
from .clock import SessionTemplate
from .conditions import OrderConditions
from .instruments import OVERNIGHT, US_OVERNIGHT, Instrument
from .records import TWS_TIME_ZONE, SimOrder
from .rules import Refusal, refuse

OPENING_TYPES = ("MKT", "LMT")  # MOO and LOO
OPENING_CUTOFF = 120  # seconds before the open: Nasdaq's and NYSE's 09:28
OVERNIGHT_TYPES = ("LMT",)
OVERNIGHT_TIFS = ("DAY", "GTC")
CLOSED = "Exchange is closed."
_SEARCH_DAYS = 15  # how far a session is looked for (long weekends, holidays)
_GTD = re.compile(r"(\d{8})(?:([ -])(\d{2}):(\d{2})(?::(\d{2}))?)?(?: (\S+))?")


class TimesInForce(OrderConditions):
    """Mixin of ``Exchange``: uses its state, tape and clock; ``matching`` acts on what it says
    (expiry, the opening auction, whether the venue is open)."""

    # ------------------------------------------------------------------ acceptance

    def _check_tif(
        self, instrument: Instrument, order: Order, exchange: str, modifying: bool
    ) -> None:
        """What the time in force and the venue allow; Refusal otherwise."""
        tif = order.tif or "DAY"
        overnight = (exchange or "").upper() == OVERNIGHT
        if overnight and (order.orderType not in OVERNIGHT_TYPES or tif not in OVERNIGHT_TIFS):
            reason = (
                "The OVERNIGHT destination takes limit orders with a time in force of "
                f"DAY or GTC, not {order.orderType} {tif}"
            )
            raise refuse(rules.REJECTED, reason=reason)
        if tif == "OPG":
            self._check_opening(instrument, order, modifying)
        if tif == "GTD":
            moment = self._gtd_moment(order)
            if isinstance(moment, datetime) and moment <= self._moment(self._step):
                reason = f"the good-till date {order.goodTillDate} has already passed"
                raise refuse(rules.REJECTED, reason=reason)

    def _check_opening(self, instrument: Instrument, order: Order, modifying: bool) -> None:
        if order.orderType not in OPENING_TYPES:
            reason = f"OPG is for market and limit orders (MOO, LOO), not {order.orderType}"
            raise refuse(rules.REJECTED, reason=reason)
        if "OPG" not in instrument.details.orderTypes.split(","):
            kind = instrument.contract.secType
            raise refuse(rules.REJECTED, reason=f"OPG is not available for this {kind}")
        opening = self._next_opening(instrument)
        step = self._step
        if opening is not None and opening - OPENING_CUTOFF <= step < opening:
            cutoff = self._moment(opening - OPENING_CUTOFF).astimezone(instrument.time_zone)
            what = "changed" if modifying else "placed"
            reason = (
                f"OPG orders for the opening auction cannot be {what} after "
                f"{cutoff:%H:%M} {instrument.details.timeZoneId}"
            )
            raise refuse(rules.REJECTED, reason=reason)
        if modifying:
            return
        session = self.tape.session_at(instrument.con_id, step)
        if opening is None or session is None or not session.start <= opening < session.end:
            raise refuse(rules.REJECTED, reason=CLOSED)

    def _tif_cancel_refusal(self, so: SimOrder) -> Refusal | None:
        """An OPG order cannot be cancelled once its auction's cut-off has passed."""
        opening = so.work.opening
        if opening is None or self._step < opening - OPENING_CUTOFF:
            return None
        return refuse(rules.CANCEL_DONE, order_id=so.order_id, state=so.status)

    # ------------------------------------------------------------------ going live

    def _start_tif(self, so: SimOrder) -> None:
        """When the order expires, or which open it waits for, as it goes live or changes."""
        tif = so.order.tif
        so.work.expires = None
        so.work.opening = None
        if tif == "DAY":
            so.work.expires = self._session_end(so, self._step)
        elif tif == "GTD":
            moment = self._gtd_moment(so.order)
            if isinstance(moment, date) and not isinstance(moment, datetime):
                so.work.expires = self._session_end(so, self._step_at(_midnight(moment, so)))
            elif moment is not None:
                so.work.expires = self._step_at(moment)
        elif tif == "OPG":
            so.work.opening = self._next_opening(so.instrument)

    def _expired(self, so: SimOrder) -> bool:
        return so.work.expires is not None and self._step >= so.work.expires

    def _gated(self, so: SimOrder) -> bool:
        """Not working yet: an opening order before its auction, or conditions not met."""
        return so.work.opening is not None or self._conditions_pending(so)

    # ------------------------------------------------------------------ each second

    def _venue_open(self, so: SimOrder, step: int) -> bool:
        """May the order trade in second ``step``: its venue's session is open (the regular
        session only, unless ``outsideRth``; the OVERNIGHT venue's own)."""
        if so.contract.exchange == OVERNIGHT:
            return _hours(US_OVERNIGHT, so.instrument.time_zone, self.clock.start).is_open(step)
        if so.order.outsideRth:
            return self.tape.is_trading(so.contract.conId, step)
        return self.tape.is_regular(so.contract.conId, step)

    def _opening_price(self, so: SimOrder) -> float:
        """The opening auction's price: the first regular trade's, the path's at the open."""
        assert so.work.opening is not None
        return self.prices.price_at(so.contract.conId, so.work.opening)

    # ------------------------------------------------------------------ helpers

    def _session_end(self, so: SimOrder, step: int) -> int | None:
        """The end of the session the order works in at ``step``: the one open then, else the
        next one."""
        template = so.instrument.trading if so.order.outsideRth else so.instrument.liquid
        if so.contract.exchange == OVERNIGHT:
            template = US_OVERNIGHT
        return _hours(template, so.instrument.time_zone, self.clock.start).end_after(step)

    def _next_opening(self, instrument: Instrument) -> int | None:
        """The second the next regular session opens (after now)."""
        step = self._step
        horizon = step + _SEARCH_DAYS * 86_400
        for span in self.tape.sessions(instrument.con_id, step, horizon, regular=True):
            if span.start > step:
                return span.start
        return None

    def _gtd_moment(self, order: Order) -> datetime | date | None:
        """``goodTillDate`` as a moment (a day alone: that day); Refusal if TWS cannot read it."""
        text = (order.goodTillDate or "").strip()
        if not text:
            if order.tif == "GTD":
                cause = "goodTillDate is required for a GTD order"
                raise refuse(rules.VALIDATION, tag="bO", cause=cause)
            return None
        found = _GTD.fullmatch(text)
        cause = f"Invalid goodTillDate {text!r}"
        if found is None:
            raise refuse(rules.VALIDATION, tag="bO", cause=cause)
        day, sep, hour, minute, second, zone = found.groups()
        try:
            parsed = datetime.strptime(day, "%Y%m%d")
            if hour is None:
                if zone:
                    raise ValueError
                return parsed.date()
            clock = timedelta(hours=int(hour), minutes=int(minute), seconds=int(second or 0))
            if sep == "-":
                if zone:
                    raise ValueError
                where: tzinfo = ZoneInfo("UTC")
            else:
                where = ZoneInfo(zone or TWS_TIME_ZONE)
        except (ValueError, ZoneInfoNotFoundError):
            raise refuse(rules.VALIDATION, tag="bO", cause=cause) from None
        return (parsed + clock).replace(tzinfo=where)

    def _step_at(self, moment: datetime) -> int:
        return math.ceil(self.clock.seconds_at(moment))


def _midnight(day: date, so: SimOrder) -> datetime:
    """The start of ``day`` where the order's instrument trades."""
    return datetime.combine(day, datetime.min.time(), tzinfo=so.instrument.time_zone)


class _Hours:
    """One session template's sessions in simulated seconds since ``origin``, a day at a time."""

    def __init__(self, template: SessionTemplate, tz: tzinfo, origin: datetime) -> None:
        self._template, self._tz, self._origin = template, tz, origin
        self._days: dict[date, tuple[int, int] | None] = {}

    def span(self, day: date) -> tuple[int, int] | None:
        if day not in self._days:
            window = self._template.session(day, self._tz)
            self._days[day] = None if window is None else (
                math.ceil((window[0] - self._origin).total_seconds()),
                math.ceil((window[1] - self._origin).total_seconds()),
            )  # fmt: skip
        return self._days[day]

    def _day(self, step: int) -> date:
        return (self._origin + timedelta(seconds=step)).astimezone(self._tz).date()

    def is_open(self, step: int) -> bool:
        day = self._day(step)
        for candidate in (day, day + timedelta(days=1)):  # an overnight one closes tomorrow
            span = self.span(candidate)
            if span is not None and span[0] <= step < span[1]:
                return True
        return False

    def end_after(self, step: int) -> int | None:
        """The end of the first session that ends after ``step``."""
        day = self._day(step)
        for offset in range(-1, _SEARCH_DAYS):
            span = self.span(day + timedelta(days=offset))
            if span is not None and span[1] > step:
                return span[1]
        return None


@lru_cache(maxsize=64)
def _hours(template: SessionTemplate, tz: tzinfo, origin: datetime) -> _Hours:
    return _Hours(template, tz, origin)
