"""What a historical data request asks for, read and checked the way TWS checks it, and the
words TWS refuses it with.

TWS validates a bar request locally, in this order, before its historical data service (HMDS)
sees it: the end date (10314), the duration, ADJUSTED_LAST with an end date, the bar size,
ADJUSTED_LAST with bars longer than a day, whatToShow, formatDate, then the keepUpToDate rules;
each refusal is a 321 with the cause in TWS's words (the validation order and texts of the
userFRM/ibx gateway reimplementation, src/control/historical.rs, "as the reference"; the bar size
text also as users quote it, wboayue/rust-ibapi pull request 245; the 365-day rule in
ib-api-reloaded/ib_async issue 229). What HMDS itself answers (no data, no permissions, pacing,
a step too small) is a 162 that starts "Historical Market Data Service error message:".

The validation tag TWS puts in the 321 text varies between builds ('bK', 'bH' and 'bM' are all
quoted); 'bM' is the one the reimplementation uses for every bar-request cause, and 'bP' for
historical ticks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import messages as m
from .rules import Refusal

HMDS_ERROR = 162
VALIDATION = 321
NO_QUERY = 366
INVALID_DATE = 10314
IMPLIED_ZONE = 2174

HMDS = "Historical Market Data Service error message:"
PACING_TEXT = HMDS + "Historical data request pacing violation"
NO_QUERY_TEXT = "No historical data query found for ticker id:{req_id}"
INVALID_END_TEXT = (
    "End Date/Time: The date, time, or time-zone entered is invalid.\n"
    "The correct format is yyyymmdd hh:mm:ss xx/xxxx\n"
    "where yyyymmdd and xx/xxxx are optional.\n"
    "E.g.: 20031126 15:59:00 US/Eastern\n\n"
    "Note that there is a space between the date and time,\n"
    "and between the time and time-zone.\n\n"
    "If no date is specified, current date is assumed.\n"
    "If no time-zone is specified, local time-zone is assumed(deprecated).\n\n"
    "You can also provide yyyymmddd-hh:mm:ss time is in UTC.\n"
    "Note that there is a dash between the date and time in UTC notation."
)
IMPLIED_ZONE_TEXT = (
    "Warning: You submitted request with date-time attributes without explicit time zone. "
    "Please switch to use yyyymmdd-hh:mm:ss in UTC or use instrument time zone, like US/Eastern. "
    "Implied time zone functionality will be removed in the next API release"
)

# Bar sizes TWS accepts, case-insensitive, with their length in seconds (None: a day or more).
INTRADAY_SIZES = {
    "1 secs": 1,
    "5 secs": 5,
    "10 secs": 10,
    "15 secs": 15,
    "30 secs": 30,
    "1 min": 60,
    "2 mins": 120,
    "3 mins": 180,
    "5 mins": 300,
    "10 mins": 600,
    "15 mins": 900,
    "20 mins": 1200,
    "30 mins": 1800,
    "1 hour": 3600,
    "2 hours": 7200,
    "3 hours": 10800,
    "4 hours": 14400,
    "8 hours": 28800,
}
DAY, WEEK, MONTH = "1 day", "1 week", "1 month"
PERIOD_SIZES = {"1 day": DAY, "1w": WEEK, "1 w": WEEK, "1 week": WEEK}
PERIOD_SIZES |= {"1m": MONTH, "1 m": MONTH, "1 month": MONTH}
LEGAL_SIZES = (
    "1 secs, 5 secs, 10 secs, 15 secs, 30 secs, 1 min, 2 mins, 3 mins, 5 mins, 10 mins, "
    "15 mins, 20 mins, 30 mins, 1 hour, 2 hours, 3 hours, 4 hours, 8 hours, 1 day, 1W, 1M"
)
# whatToShow values served; ADJUSTED_LAST is TRADES here (the simulator has no corporate actions).
BAR_SOURCES = ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST")
LIVE_SOURCES = ("TRADES", "MIDPOINT", "BID", "ASK")
# Known to TWS, not modelled by the simulator: refused as unsupported, not as unknown.
UNMODELLED_SOURCES = frozenset(
    {
        "HISTORICAL_VOLATILITY",
        "OPTION_IMPLIED_VOLATILITY",
        "INDICATIVE_AUCTION_PRICE_SIZE",
        "NAV_LAST",
        "YIELD_ASK",
        "YIELD_BID",
        "YIELD_BID_ASK",
        "YIELD_MARK",
        "YIELD_LAST",
        "FEE_RATE",
        "REBATE_RATE",
        "SCHEDULE",
        "AGGTRADES",
    }
)
TICK_SOURCES = ("TRADES", "MIDPOINT", "BID_ASK")
MAX_TICKS = 1000  # "Max currently 1000 per request" (IB's reqHistoricalTicks documentation)
# The smallest bar each duration allows: IB's "Step Sizes" table (tws-api historical_limitations:
# 1800 S from 1 secs, 3600 S from 5 secs, 14400 S from 10 secs, 28800 S from 30 secs, 1 M from
# 30 mins, 1 Y from 1 day), where the older API guide's table (historical_data_limitations.htm:
# 30 secs for 1 D) and practice (5 D of 1 min bars served: erdewit/ib_insync issue 268) are more
# lenient: 30 secs up to a day, 1 min up to a week. Beyond a month, daily bars and longer only.
MIN_STEP = ((1800, 1), (3600, 5), (14400, 10), (86400, 30), (7 * 86400, 60), (31 * 86400, 1800))
DAY_SECONDS = 86400


def bar_refusal(cause: str) -> Refusal:
    return Refusal(VALIDATION, f"Error validating request.-'bM' : cause - {cause}")


def ticks_refusal(cause: str) -> Refusal:
    return Refusal(VALIDATION, f"Error validating request.-'bP' : cause - {cause}")


def hmds_refusal(cause: str) -> Refusal:
    return Refusal(HMDS_ERROR, HMDS + cause)


def unmodelled(what: str) -> Refusal:
    cause = f"whatToShow {what} is not supported by the twsapp simulator"
    return Refusal(VALIDATION, f"Error validating request.-'bS' : cause - {cause}")


@dataclass(frozen=True)
class BarSize:
    """A bar size: ``seconds`` for one shorter than a day, else ``period`` (day, week, month)."""

    name: str
    seconds: int | None = None
    period: str = ""

    @property
    def step(self) -> str:
        """How HMDS names the step in its errors: seconds, or 1d / 1W / 1M."""
        if self.seconds is not None:
            return str(self.seconds)
        return {DAY: "1d", WEEK: "1W", MONTH: "1M"}[self.period]


@dataclass(frozen=True)
class Duration:
    """``count`` units back from the end: S seconds, D trading days, W weeks, M months, Y years."""

    count: int
    unit: str

    @property
    def nominal_seconds(self) -> int:
        """The span in seconds, a month 31 days: what the step table compares."""
        per_unit = {"S": 1, "D": DAY_SECONDS, "W": 7 * DAY_SECONDS, "M": 31 * DAY_SECONDS}
        return self.count * per_unit.get(self.unit, 365 * DAY_SECONDS)


@dataclass(frozen=True)
class BarQuery:
    """A bar request that passed TWS's checks."""

    duration: Duration
    size: BarSize
    what: str  # upper case; ADJUSTED_LAST kept (it is named so in errors)
    format_date: int
    end: RequestTime | None  # None: now

    @property
    def source(self) -> str:
        """What the bars are made of: ADJUSTED_LAST is made of trades."""
        return "TRADES" if self.what == "ADJUSTED_LAST" else self.what


@dataclass(frozen=True)
class RequestTime:
    """A date-time of a request: the instant, and whether its text named a zone."""

    moment: datetime
    zoned: bool


def parse_time(text: str, local: tzinfo, today: date) -> RequestTime | None:
    """``text`` as TWS reads it: empty (None); ``yyyyMMdd-HH:mm:ss`` in UTC; ``[yyyyMMdd ]HH:mm:ss``
    followed by an optional zone name (else ``local``, deprecated: TWS warns with 2174).
    Raises ValueError for anything else."""
    text = text.strip()
    if not text:
        return None
    utc = re.fullmatch(r"(\d{8})-(\d{2}:\d{2}:\d{2})", text)
    if utc:
        return RequestTime(_combine(utc[1], utc[2], UTC), True)
    words = text.split()
    numeric = [w for w in words if w[0].isdigit()]
    zone_words = [w for w in words if not w[0].isdigit()]
    zone: tzinfo = local
    if zone_words:
        try:
            zone = ZoneInfo(" ".join(zone_words))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone in {text!r}") from None
    if len(numeric) == 2 and re.fullmatch(r"\d{8}", numeric[0]):
        return RequestTime(_combine(numeric[0], numeric[1], zone), bool(zone_words))
    if len(numeric) == 1:
        return RequestTime(_combine(today.strftime("%Y%m%d"), numeric[0], zone), bool(zone_words))
    raise ValueError(f"unreadable date-time {text!r}")


def _combine(day: str, clock: str, zone: tzinfo) -> datetime:
    if not re.fullmatch(r"\d{2}:\d{2}:\d{2}", clock):
        raise ValueError(f"unreadable time {clock!r}")
    year, month, mday = int(day[:4]), int(day[4:6]), int(day[6:])
    hour, minute, second = (int(part) for part in clock.split(":"))
    if not 1978 <= year <= 3000:
        raise ValueError(f"year {year} out of range")
    return datetime.combine(date(year, month, mday), time(hour, minute, second), tzinfo=zone)


def parse_duration(text: str) -> Duration:
    """``N S|D|W|M|Y`` (either case; a bare number is seconds), within TWS's limits."""
    if not text:
        raise bar_refusal("Historical data request duration not specified.")
    text = f"{text} S" if text.isdigit() else text
    parts = text.split(" ")
    if len(parts) != 2 or not parts[0].isdigit() or parts[1].upper() not in "SDWMY":
        cause = (
            "When specifying a unit, historical data request duration format is "
            "integer{SPACE}unit (S|D|W|M|Y)."
        )
        raise bar_refusal(cause)
    count, unit = int(parts[0]), parts[1].upper()
    if count < 1 or (unit == "S" and count < 30):
        raise bar_refusal("Historical data requested duration is invalid.")
    in_years = "must be made in years."
    limits = {
        "S": (86400, "Historical data request for greater than 86400 seconds rejected."),
        "D": (365, f"Historical data requests for durations longer than 365 days {in_years}"),
        "W": (52, f"Historical data request for durations longer than 52 weeks {in_years}"),
        "M": (12, f"Historical data request for durations longer than 12 months {in_years}"),
    }
    if unit in limits and count > limits[unit][0]:
        raise bar_refusal(limits[unit][1])
    return Duration(count, unit)


def parse_bar_size(text: str) -> BarSize:
    key = " ".join(text.lower().split())
    if key in INTRADAY_SIZES:
        return BarSize(key, seconds=INTRADAY_SIZES[key])
    if key in PERIOD_SIZES:
        return BarSize(PERIOD_SIZES[key], period=PERIOD_SIZES[key])
    raise bar_refusal(f"Historical data bar size setting is invalid. Legal ones are: {LEGAL_SIZES}")


def check_bar_request(req: m.ReqHistoricalData, local: tzinfo, today: date) -> BarQuery:
    """The request's parameters, or the Refusal TWS answers first."""
    try:
        end = parse_time(req.end_date_time, local, today)
    except ValueError:
        raise Refusal(INVALID_DATE, INVALID_END_TEXT) from None
    duration = parse_duration(req.duration.strip())
    what = req.what_to_show.strip().upper()
    adjusted = what == "ADJUSTED_LAST"
    if adjusted and end is not None:
        raise bar_refusal("End date not supported with adjusted last")
    size = parse_bar_size(req.bar_size)
    if adjusted and size.period in (WEEK, MONTH):
        raise bar_refusal("Multi day bar size not supported with adjusted last")
    if what in UNMODELLED_SOURCES:
        raise unmodelled(what)
    if what not in BAR_SOURCES:
        raise bar_refusal(f"What to show value of {req.what_to_show} rejected.")
    if req.format_date not in (1, 2, 3):
        raise bar_refusal(f"Date formatting selection of {req.format_date} rejected.")
    if req.keep_up_to_date:
        if end is not None:
            raise bar_refusal("End date not supported with live updates")
        if req.contract.secType == "BAG":
            raise bar_refusal("Live updates for combos are not supported")
        if what not in LIVE_SOURCES:
            raise bar_refusal("Source price not supported with live updates")
        if size.seconds is not None and size.seconds < 5:
            # IB documents keepUpToDate for bars of 5 seconds and up only
            # (tws-api historical_bars); the wording of TWS's refusal was not found.
            raise bar_refusal("Live updates need a bar size of 5 secs or more")
    return BarQuery(duration, size, what, req.format_date, end)


def check_step(query: BarQuery) -> None:
    """HMDS refuses a bar too small for the duration (too many bars)."""
    seconds = query.size.seconds
    if seconds is None:
        return
    span = query.duration.nominal_seconds
    for longest, smallest in MIN_STEP:
        if span <= longest:
            if seconds < smallest:
                raise hmds_refusal(f"invalid step: {seconds}")
            return
    if seconds < DAY_SECONDS:  # beyond a month: daily bars and longer only
        raise hmds_refusal(f"invalid step: {seconds}")


@dataclass(frozen=True)
class TickQuery:
    start: RequestTime | None
    end: RequestTime | None
    count: int
    what: str


def check_ticks_request(req: m.ReqHistoricalTicks, local: tzinfo, today: date) -> TickQuery:
    """reqHistoricalTicks' local checks, in TWS's order (the same reimplementation)."""
    try:
        start = parse_time(req.start_date_time, local, today)
    except ValueError:
        raise Refusal(INVALID_DATE, INVALID_END_TEXT.replace("End", "Start", 1)) from None
    try:
        end = parse_time(req.end_date_time, local, today)
    except ValueError:
        raise Refusal(INVALID_DATE, INVALID_END_TEXT) from None
    if not req.contract.exchange.strip():
        raise ticks_refusal("Exchange must not be empty")
    if req.contract.secType == "BAG":
        raise ticks_refusal("Combo types are not supported")
    if req.number_of_ticks <= 0:
        raise ticks_refusal("Number of ticks must be > 0")
    what = req.what_to_show.strip().upper()
    if not what:
        raise ticks_refusal("Source price must not be empty")
    if what not in TICK_SOURCES:
        raise ticks_refusal("Invalid source price")
    return TickQuery(start, end, min(req.number_of_ticks, MAX_TICKS), what)


def implied_zone_warnings(*times: RequestTime | None) -> list[tuple[int, str]]:
    """TWS warns (2174) once per date-time written without a zone."""
    return [(IMPLIED_ZONE, IMPLIED_ZONE_TEXT) for t in times if t is not None and not t.zoned]
