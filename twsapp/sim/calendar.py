"""Exchange calendars: which days an exchange trades, and when a day closes early.

The days come from the maintained ``exchange_calendars`` library (XNYS for US stocks, CMES for
CME futures), by way of ``calendars.json`` next to this module, which ``python -m
twsapp.calendars`` makes from it. The simulator reads the file rather than the library because
it loads nothing beyond the standard library, ibapi and protobuf, and the library brings pandas
(see that module for the boundary, and tests/test_sim_calendar.py for the check that the file
says what the library says).

The simulator keeps each instrument's own hours (``clock.SessionTemplate``: liquid and
extended); a calendar says whether a day trades at all, and moves the end of a session on a day
that closes early (``ExchangeCalendar.cut``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from .inputs import SimInputError

DATA_FILE = "calendars.json"
#: Earlier names of the calendars, as instrument files may still spell them.
ALIASES = {"NYSE": "XNYS", "CME": "CMES"}


class CalendarRangeError(SimInputError):
    """A day outside the span the calendar file covers."""


#: How much of the file a simulation needs around its start: a year of history before it, and
#: a few weeks of sessions after it.
HISTORY_DAYS, AHEAD_DAYS = 366, 30


def start_problem(day: date) -> tuple[str, str] | None:
    """(problem, fix) when a simulation cannot start on ``day``: its calendars do not reach."""
    data = _load()
    first = date.fromisoformat(data["first"]) + timedelta(days=HISTORY_DAYS)
    last = date.fromisoformat(data["last"]) - timedelta(days=AHEAD_DAYS)
    if first <= day <= last:
        return None
    return (
        f"outside the simulator's exchange calendars ({first} to {last})",
        "start inside them, or widen twsapp/calendars.py's span and run python -m twsapp.calendars",
    )


@dataclass(frozen=True)
class ExchangeCalendar:
    """One exchange's days: its plain week and times, and the days the library lists apart.

    A session is labelled by the day it closes on; ``open_offset`` -1 means it opens on the
    calendar day before (CME Globex opens at 17:00 the evening before).
    """

    code: str
    tz: ZoneInfo
    weekmask: str  # Monday first, "1" for a trading weekday
    open: time
    close: time
    open_offset: int
    holidays: frozenset[date]
    early_closes: Mapping[date, time]
    late_opens: Mapping[date, time]
    first: date
    last: date

    def is_session(self, day: date) -> bool:
        self._check(day)
        return self.weekmask[day.weekday()] == "1" and day not in self.holidays

    def opens(self, day: date) -> datetime:
        """When the session labelled ``day`` opens (on a late-open day, later)."""
        opened = self.late_opens.get(day, self.open)
        return datetime.combine(day + timedelta(days=self.open_offset), opened, tzinfo=self.tz)

    def closes(self, day: date) -> datetime:
        """When the session labelled ``day`` closes (on an early-close day, earlier)."""
        return datetime.combine(day, self.early_closes.get(day, self.close), tzinfo=self.tz)

    def is_early_close(self, day: date) -> bool:
        self._check(day)
        return day in self.early_closes

    def cut(self, day: date, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        """An instrument's session ``[start, end)`` ending on ``day``, as the exchange's day
        allows it.

        On an early close the exchange's session ends at its early time, and what an
        instrument trades after the regular close (the US after-hours session) keeps its length
        after it: 16:00 and 20:00 become 13:00 and 17:00 on a NYSE half day; a CME future's
        16:00 becomes the 12:00 halt. A session ending before the regular close (the overnight
        venue's 03:50) is untouched. A late open moves the start of what begins at or after the
        regular open.
        """
        regular_close = datetime.combine(day, self.close, tzinfo=self.tz)
        early = self.closes(day)
        if early < regular_close:
            after_hours = max(timedelta(0), end - regular_close)
            end = min(end, early + after_hours)
        regular_open = datetime.combine(day + timedelta(days=self.open_offset), self.open, self.tz)
        if day in self.late_opens and start >= regular_open:
            start = max(start, self.opens(day))
        return start, end

    def _check(self, day: date) -> None:
        if not self.first <= day <= self.last:
            raise CalendarRangeError(
                f"{self.code}: {day} is outside the simulator's calendar ({self.first} to "
                f"{self.last}) — start the simulation inside it, or widen twsapp/calendars.py's "
                "span and run python -m twsapp.calendars"
            )


def canonical(name: str) -> str:
    """A calendar's code as the file names it (NYSE -> XNYS, CME -> CMES)."""
    return ALIASES.get(name, name)


def codes() -> tuple[str, ...]:
    return tuple(_load()["calendars"])


@cache
def get(code: str) -> ExchangeCalendar:
    """The calendar ``code`` (or an alias of it) from the file; KeyError if it has none."""
    data = _load()
    entry = data["calendars"][canonical(code)]
    return ExchangeCalendar(
        code=canonical(code),
        tz=ZoneInfo(entry["tz"]),
        weekmask=entry["weekmask"],
        open=time.fromisoformat(entry["open"]),
        close=time.fromisoformat(entry["close"]),
        open_offset=int(entry["open_offset"]),
        holidays=frozenset(date.fromisoformat(d) for d in entry["holidays"]),
        early_closes=_times(entry["early_closes"]),
        late_opens=_times(entry["late_opens"]),
        first=date.fromisoformat(data["first"]),
        last=date.fromisoformat(data["last"]),
    )


def _times(entries: Mapping[str, str]) -> dict[date, time]:
    return {date.fromisoformat(day): time.fromisoformat(at) for day, at in entries.items()}


@cache
def _load() -> dict:
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)
