"""Simulated time, and the sessions it runs through.

The simulator never reads the wall clock directly: everything asks a :class:`SimClock`, so a test
can freeze time (speed 0, moved only by :meth:`SimClock.advance`) or let a trading day pass in
seconds (speed 1000), and two runs with the same seed and requests see the same prices.
"""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from . import calendar as xcal

NEW_YORK = ZoneInfo("America/New_York")

# The regular US equity open (exchange local time): a default simulation starts there.
RTH_OPEN = time(9, 30)


class SimClock:
    """Simulated time: ``start`` plus wall time elapsed times ``speed``, plus manual advances.

    ``speed`` is simulated seconds per wall second; 0 means manual (only :meth:`advance` moves
    time). ``wall`` is the monotonic wall-clock source, injectable so tests never sleep.
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        wall: Callable[[], float] = _time.monotonic,
    ) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"SimClock start must be timezone-aware, got {start!r}")
        if speed < 0:
            raise ValueError(f"SimClock speed must be >= 0, got {speed}")
        self._start = start
        self._wall = wall
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._anchor_wall = wall()
        self._anchor_elapsed = 0.0

    @property
    def start(self) -> datetime:
        return self._start

    @property
    def speed(self) -> float:
        with self._lock:
            return self._speed

    def _elapsed_locked(self) -> float:
        if self._speed == 0.0:
            return self._anchor_elapsed
        return self._anchor_elapsed + self._speed * max(0.0, self._wall() - self._anchor_wall)

    def elapsed(self) -> float:
        """Simulated seconds since ``start``."""
        with self._lock:
            return self._elapsed_locked()

    def now(self) -> datetime:
        return self.at(self.elapsed())

    def at(self, sim_seconds: float) -> datetime:
        """The simulated moment ``sim_seconds`` after ``start``."""
        return self._start + timedelta(seconds=sim_seconds)

    def seconds_at(self, moment: datetime) -> float:
        """Simulated seconds from ``start`` to ``moment`` (negative if before the start)."""
        if moment.tzinfo is None:
            raise ValueError(f"moment must be timezone-aware, got {moment!r}")
        return (moment - self._start).total_seconds()

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds``, in manual and accelerated mode alike."""
        if seconds < 0:
            raise ValueError(f"simulated time cannot go backwards (advance by {seconds})")
        with self._lock:
            self._anchor_elapsed += float(seconds)

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on; time already elapsed is kept."""
        if speed < 0:
            raise ValueError(f"SimClock speed must be >= 0, got {speed}")
        with self._lock:
            self._anchor_elapsed = self._elapsed_locked()
            self._anchor_wall = self._wall()
            self._speed = float(speed)


def default_start(today: date | None = None) -> datetime:
    """The 09:30 New York open of the first regular US session on or after ``today``.

    Starting at an open (rather than "now") means a market order placed right after connecting
    fills at once, whatever the real time of day is.
    """
    day = today if today is not None else datetime.now(NEW_YORK).date()
    while not is_us_trading_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, RTH_OPEN, tzinfo=NEW_YORK)


# --------------------------------------------------------------------------- US calendar


def us_market_holidays(year: int) -> frozenset[date]:
    """Full-day NYSE closures of ``year``, as the exchange calendar (XNYS) lists them."""
    return frozenset(d for d in xcal.get("XNYS").holidays if d.year == year)


def us_early_closes(year: int) -> frozenset[date]:
    """NYSE early closes (13:00) of ``year``, as the exchange calendar (XNYS) lists them."""
    return frozenset(d for d in xcal.get("XNYS").early_closes if d.year == year)


def is_us_trading_day(day: date) -> bool:
    return xcal.get("XNYS").is_session(day)


def is_us_early_close(day: date) -> bool:
    return xcal.get("XNYS").is_early_close(day)


# --------------------------------------------------------------------------- sessions

#: Which days a session template trades: an exchange's (from the exchange calendar library,
#: see ``calendar``), FX (every weekday but Dec 25 and Jan 1) or every weekday.
CALENDARS = ("XNYS", "CMES", "FX", "WEEKDAYS")

# How far ahead TWS lists hours: six calendar days from today, trailing closed days dropped
# (real captures: Thu..Tue with the weekend CLOSED; Mon..Fri when Saturday ends the window).
HOURS_WINDOW_DAYS = 6


@dataclass(frozen=True)
class SessionTemplate:
    """One kind of daily session, e.g. 04:00-20:00 on NYSE days, or 17:00 (day before)-16:00.

    ``overnight`` sessions open on the calendar day before the one they close on and are keyed
    by their closing day. ``calendar`` says which days trade: XNYS or CMES (holidays and early
    closes from the exchange calendar, ``calendar.ExchangeCalendar.cut`` saying how an early
    close shortens these hours; NYSE and CME are accepted as their old names), FX (every
    weekday but Dec 25 and Jan 1), WEEKDAYS.
    """

    open: time
    close: time
    overnight: bool = False
    calendar: str = "XNYS"

    def __post_init__(self) -> None:
        object.__setattr__(self, "calendar", xcal.canonical(self.calendar))
        if self.calendar not in CALENDARS:
            raise ValueError(f"unknown calendar {self.calendar!r} (one of {', '.join(CALENDARS)})")
        if not self.overnight and self.open >= self.close:
            raise ValueError(f"session opens at {self.open} but closes at {self.close}")

    @classmethod
    def parse(cls, text: str, overnight: bool = False, calendar: str = "XNYS") -> SessionTemplate:
        """``"0930-1600"`` -> template."""
        try:
            start, end = text.split("-")
            open_, close = (time(int(s[:2]), int(s[2:])) for s in (start, end))
            if len(start) != 4 or len(end) != 4:
                raise ValueError
        except ValueError:
            raise ValueError(f"session hours must look like '0930-1600', got {text!r}") from None
        return cls(open_, close, overnight, calendar)

    def exchange(self) -> xcal.ExchangeCalendar | None:
        """The exchange calendar whose days this template trades, if it follows one."""
        if self.calendar in ("FX", "WEEKDAYS"):
            return None
        return xcal.get(self.calendar)

    def trades_on(self, day: date) -> bool:
        exchange = self.exchange()
        if exchange is not None:
            return exchange.is_session(day)
        if day.weekday() >= 5:
            return False
        if self.calendar == "FX":
            return (day.month, day.day) not in ((12, 25), (1, 1))
        return True

    def session(self, day: date, tz: tzinfo) -> tuple[datetime, datetime] | None:
        """The session closing on ``day`` (local to ``tz``), or None if ``day`` does not trade."""
        if not self.trades_on(day):
            return None
        open_day = day - timedelta(days=1) if self.overnight else day
        start = datetime.combine(open_day, self.open, tzinfo=tz)
        end = datetime.combine(day, self.close, tzinfo=tz)
        exchange = self.exchange()
        if exchange is not None:
            start, end = exchange.cut(day, start, end)
            start, end = start.astimezone(tz), end.astimezone(tz)
        return start, end

    def is_open(self, moment: datetime, tz: tzinfo) -> bool:
        local = moment.astimezone(tz)
        days = [local.date()]
        if self.overnight:
            days.append(local.date() + timedelta(days=1))
        for day in days:
            span = self.session(day, tz)
            if span is not None and span[0] <= local < span[1]:
                return True
        return False

    def hours(self, day: date, tz: tzinfo, days: int = HOURS_WINDOW_DAYS) -> str:
        """TWS's ``tradingHours``/``liquidHours`` text for ``days`` days from ``day``.

        ``20261123:0930-20261123:1600;...;20261128:CLOSED`` with trailing closed days dropped;
        a closed day whose date already opens the next overnight session is not listed.
        """
        entries: list[str] = []
        for offset in range(days):
            current = day + timedelta(days=offset)
            span = self.session(current, tz)
            if span is not None:
                entries.append(f"{span[0]:%Y%m%d:%H%M}-{span[1]:%Y%m%d:%H%M}")
            elif not (self.overnight and self.trades_on(current + timedelta(days=1))):
                entries.append(f"{current:%Y%m%d}:CLOSED")
        while entries and entries[-1].endswith(":CLOSED"):
            entries.pop()
        return ";".join(entries)
