"""Simulated time and the US session calendar it runs on.

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
from functools import lru_cache
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")

# Regular US equity session (exchange local time) and the early close of half days.
RTH_OPEN = time(9, 30)
RTH_CLOSE = time(16, 0)
EARLY_CLOSE = time(13, 0)


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


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based) ``weekday`` (Mon=0) of a month; n=-1 for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _observed(day: date) -> date | None:
    """NYSE observance: Saturday holidays move to Friday, Sunday ones to Monday.

    A Saturday New Year's Day is not observed (NYSE does not close on Dec 31 for it).
    """
    if day.weekday() == 5:
        return None if (day.month, day.day) == (1, 1) else day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def us_market_holidays(year: int) -> frozenset[date]:
    """Full-day NYSE closures of ``year`` (rule-based; ad-hoc closures are not modelled)."""
    fixed = [date(year, 1, 1), date(year, 7, 4), date(year, 12, 25)]
    if year >= 2022:
        fixed.append(date(year, 6, 19))
    days = {d for d in (_observed(x) for x in fixed) if d is not None}
    days |= {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _easter(year) - timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    }
    # New Year's Day of next year falling on a Saturday is not observed on Dec 31 (see above).
    return frozenset(d for d in days if d.year == year)


@lru_cache(maxsize=64)
def us_early_closes(year: int) -> frozenset[date]:
    """NYSE 13:00 early closes: July 3, the day after Thanksgiving, Christmas Eve."""
    days = {_nth_weekday(year, 11, 3, 4) + timedelta(days=1)}
    for candidate in (date(year, 7, 3), date(year, 12, 24)):
        if candidate.weekday() <= 3:  # Mon-Thu: the holiday itself falls on a weekday after it
            days.add(candidate)
    return frozenset(days - us_market_holidays(year))


def is_us_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in us_market_holidays(day.year)


def is_us_early_close(day: date) -> bool:
    return day in us_early_closes(day.year)


# --------------------------------------------------------------------------- sessions

CALENDARS = ("NYSE", "CME", "FX", "WEEKDAYS")

# How far ahead TWS lists hours: six calendar days from today, trailing closed days dropped
# (real captures: Thu..Tue with the weekend CLOSED; Mon..Fri when Saturday ends the window).
HOURS_WINDOW_DAYS = 6


@dataclass(frozen=True)
class SessionTemplate:
    """One kind of daily session, e.g. 04:00-20:00 on NYSE days, or 17:00 (day before)-16:00.

    ``overnight`` sessions open on the calendar day before the one they close on and are keyed
    by their closing day. ``calendar`` says which days trade: NYSE (US equity holidays and 13:00
    early closes, which pull the close 3 hours earlier), CME (NYSE full holidays closed;
    holiday half sessions are not modelled), FX (every weekday but Dec 25 and Jan 1),
    WEEKDAYS.
    """

    open: time
    close: time
    overnight: bool = False
    calendar: str = "NYSE"

    def __post_init__(self) -> None:
        if self.calendar not in CALENDARS:
            raise ValueError(f"unknown calendar {self.calendar!r} (one of {', '.join(CALENDARS)})")
        if not self.overnight and self.open >= self.close:
            raise ValueError(f"session opens at {self.open} but closes at {self.close}")

    @classmethod
    def parse(cls, text: str, overnight: bool = False, calendar: str = "NYSE") -> SessionTemplate:
        """``"0930-1600"`` -> template."""
        try:
            start, end = text.split("-")
            open_, close = (time(int(s[:2]), int(s[2:])) for s in (start, end))
            if len(start) != 4 or len(end) != 4:
                raise ValueError
        except ValueError:
            raise ValueError(f"session hours must look like '0930-1600', got {text!r}") from None
        return cls(open_, close, overnight, calendar)

    def trades_on(self, day: date) -> bool:
        if day.weekday() >= 5:
            return False
        if self.calendar in ("NYSE", "CME"):
            return day not in us_market_holidays(day.year)
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
        if self.calendar == "NYSE" and is_us_early_close(day):
            end -= timedelta(hours=3)
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
