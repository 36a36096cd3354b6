"""The simulator's exchange calendars, taken from the maintained ``exchange_calendars`` library.

Why a data file and not an import: the simulator stands in for TWS and loads nothing but the
standard library, ibapi and protobuf (tests/test_sim_isolation.py checks what importing it
loads), while ``exchange_calendars`` brings pandas and numpy. So the boundary is a file: this
module asks the library for every session of each calendar the simulator uses, between
``FIRST`` and ``LAST``, and writes what differs from the calendar's plain week (holidays, early
closes, late opens) to ``twsapp/sim/calendars.json``; ``twsapp/sim/calendar.py`` reads it with
``json``. tests/test_sim_calendar.py compares the file with the installed library day by day,
so a library release that learns of a new closure fails that test until the file is made again:

    python -m twsapp.calendars

XNYS (the New York Stock Exchange) serves US stocks and CMES (the Chicago Mercantile Exchange)
CME futures. Currencies trade around the clock on weekdays and need no library.
"""

from __future__ import annotations

import json
import sys
import warnings
from datetime import date, timedelta
from pathlib import Path
from typing import Any

__all__ = ["CODES", "DATA_FILE", "FIRST", "LAST", "calendar_table", "main", "tables"]

#: The calendars the simulator's instruments use.
CODES = ("XNYS", "CMES")
#: The span the file covers: history a year back from any start since 2001, and years ahead.
FIRST = date(2000, 1, 1)
LAST = date(2040, 12, 31)
DATA_FILE = Path(__file__).resolve().parent / "sim" / "calendars.json"


def calendar_table(code: str, first: date = FIRST, last: date = LAST) -> dict[str, Any]:
    """One calendar as the simulator stores it: its zone, plain week and times, and every day
    of ``first``..``last`` where the library says otherwise."""
    import exchange_calendars  # pandas and numpy: only when the file is made or checked

    with warnings.catch_warnings():  # the library's own pandas deprecations, not ours
        warnings.simplefilter("ignore")
        cal = exchange_calendars.get_calendar(code, start=first.isoformat(), end=last.isoformat())
        schedule = cal.schedule
    tz = cal.tz
    (_, open_time), *later_opens = cal.open_times
    (_, close_time), *later_closes = cal.close_times
    if later_opens or later_closes:  # a calendar whose times changed in the span
        raise ValueError(f"{code}: regular times changed over the years; store them per day")
    weekmask = str(cal.weekmask)
    sessions: dict[date, tuple[str, str]] = {}
    for label, row in schedule.iterrows():
        opened = row["open"].tz_convert(tz)
        closed = row["close"].tz_convert(tz)
        sessions[label.date()] = (f"{opened:%H:%M}", f"{closed:%H:%M}")
    holidays, closes, opens = [], {}, {}
    day = first
    while day <= last:
        times = sessions.get(day)
        if times is None:
            if weekmask[day.weekday()] == "1":
                holidays.append(day.isoformat())
        else:
            if weekmask[day.weekday()] != "1":
                raise ValueError(f"{code}: a session on {day}, outside its plain week")
            if times[0] != f"{open_time:%H:%M}":
                opens[day.isoformat()] = times[0]
            if times[1] != f"{close_time:%H:%M}":
                closes[day.isoformat()] = times[1]
        day += timedelta(days=1)
    return {
        "tz": str(tz),
        "weekmask": weekmask,
        "open": f"{open_time:%H:%M}",
        "close": f"{close_time:%H:%M}",
        "open_offset": int(cal.open_offset),
        "holidays": holidays,
        "early_closes": closes,
        "late_opens": opens,
    }


def tables(first: date = FIRST, last: date = LAST) -> dict[str, Any]:
    """The whole file: where it comes from, its span, and every calendar of ``CODES``."""
    import exchange_calendars

    return {
        "comment": "Made by `python -m twsapp.calendars` from the exchange_calendars library; "
        "do not edit by hand.",
        "source": f"exchange_calendars {exchange_calendars.__version__}",
        "first": first.isoformat(),
        "last": last.isoformat(),
        "calendars": {code: calendar_table(code, first, last) for code in CODES},
    }


def main(argv: list[str] | None = None) -> int:
    """Write the simulator's calendar file (or another path, given as the one argument)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DATA_FILE
    path.write_text(json.dumps(tables(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
