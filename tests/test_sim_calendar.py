"""The simulator's exchange calendars are the exchange_calendars library's, and the sessions,
contract details and tape follow them: holidays closed, early closes early.

The simulator reads the library's days from twsapp/sim/calendars.json (it may not load pandas);
the first test is what keeps that file true to the installed library.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import exchange_calendars
import pytest

from twsapp import calendars
from twsapp.sim import calendar
from twsapp.sim.clock import SessionTemplate, default_start
from twsapp.sim.instruments import US_OVERNIGHT, Catalog
from twsapp.sim.prices import PriceModel
from twsapp.sim.tape import Tape

# exchange_calendars' own use of pandas, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:Series.values returning an ndarray")
NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
AAPL, ES = 265598, 515416632  # ES: ESZ6


def test_the_calendar_file_says_what_the_installed_library_says() -> None:
    """Made again from the library, the file is the same: run python -m twsapp.calendars when
    a new exchange_calendars release changes a day."""
    stored = json.loads(calendars.DATA_FILE.read_text(encoding="utf-8"))
    assert (stored["first"], stored["last"]) == (calendars.FIRST.isoformat(), "2040-12-31")
    for code in calendars.CODES:
        assert stored["calendars"][code] == calendars.calendar_table(code), code


@pytest.mark.parametrize("code", ["XNYS", "CMES"])
def test_every_session_opens_and_closes_when_the_library_says(code: str) -> None:
    ours = calendar.get(code)
    theirs = exchange_calendars.get_calendar(code, start="2024-01-01", end="2027-12-31")
    sessions = {label.date(): row for label, row in theirs.schedule.iterrows()}
    day = date(2024, 1, 1)
    while day <= date(2027, 12, 31):
        row = sessions.get(day)
        assert ours.is_session(day) == (row is not None), day
        if row is not None:
            assert ours.opens(day) == row["open"].to_pydatetime(), day
            assert ours.closes(day) == row["close"].to_pydatetime(), day
        day += timedelta(days=1)


def test_contract_details_hours_follow_the_calendar_through_thanksgiving() -> None:
    """US stocks: Thursday closed, Friday's regular session ends at 13:00 and its after-hours
    at 17:00. CME futures: the library's CMES trades Thanksgiving to the 12:00 CT halt."""
    catalog = Catalog.builtin(reference_date=date(2026, 11, 24))
    aapl = catalog.by_conid(AAPL).contract_details("SMART", date(2026, 11, 24))
    assert aapl.liquidHours == (
        "20261124:0930-20261124:1600;20261125:0930-20261125:1600;20261126:CLOSED;"
        "20261127:0930-20261127:1300"
    )  # TWS drops the closed days that end the window
    assert aapl.tradingHours.split(";")[3] == "20261127:0400-20261127:1700"
    nyse = exchange_calendars.get_calendar("XNYS", start="2026-11-20", end="2026-12-04")
    for entry in aapl.liquidHours.split(";"):
        day = datetime.strptime(entry[:8], "%Y%m%d")
        if entry.endswith("CLOSED"):
            assert not nyse.is_session(day)
        else:
            close = nyse.session_close(day).tz_convert(NEW_YORK)
            assert entry.endswith(f"{close:%Y%m%d:%H%M}")
    es = catalog.by_conid(ES).contract_details("CME", date(2026, 11, 24))
    assert es.tradingHours.split(";")[2:4] == [
        "20261125:1700-20261126:1200",
        "20261126:1700-20261127:1200",
    ]
    assert es.liquidHours.split(";")[2] == "20261126:0830-20261126:1200"
    overnight = catalog.by_conid(AAPL).contract_details("OVERNIGHT", date(2026, 11, 24))
    assert (
        overnight.tradingHours
        == overnight.liquidHours
        == ("20261123:2000-20261124:0350;20261124:2000-20261125:0350;20261126:2000-20261127:0350")
    )  # no session runs into Thanksgiving


def test_the_tape_prints_nothing_on_a_holiday_and_stops_at_an_early_close() -> None:
    origin = datetime(2026, 11, 25, 9, 30, tzinfo=NEW_YORK)
    catalog = Catalog.builtin(reference_date=origin.date())
    tape = Tape(catalog, PriceModel(42, catalog), origin)

    def at(day: int, hour: int, minute: int = 0, tz: ZoneInfo = NEW_YORK) -> float:
        return (datetime(2026, 11, day, hour, minute, tzinfo=tz) - origin).total_seconds()

    assert tape.trades(AAPL, at(26, 0), at(27, 0)) == []  # Thanksgiving
    assert not tape.is_trading(AAPL, at(26, 12))
    assert tape.is_regular(AAPL, at(27, 12, 59)) and not tape.is_regular(AAPL, at(27, 13))
    assert tape.is_trading(AAPL, at(27, 16, 59)) and not tape.is_trading(AAPL, at(27, 17))
    assert tape.trades(AAPL, at(27, 17), at(27, 23)) == []
    assert tape.trades(ES, at(26, 10, tz=CHICAGO), at(26, 11, 59, tz=CHICAGO))
    assert not tape.is_trading(ES, at(26, 12, tz=CHICAGO))


def test_default_start_skips_the_holidays_the_library_lists() -> None:
    assert default_start(date(2025, 1, 9)) == datetime(2025, 1, 10, 9, 30, tzinfo=NEW_YORK)
    assert default_start(date(2026, 12, 25)) == datetime(2026, 12, 28, 9, 30, tzinfo=NEW_YORK)


def test_a_day_outside_the_file_is_refused_with_the_fix() -> None:
    with pytest.raises(calendar.CalendarRangeError, match=r"python -m twsapp\.calendars"):
        SessionTemplate.parse("0930-1600").trades_on(date(2041, 1, 2))


def test_old_calendar_names_still_read() -> None:
    assert SessionTemplate.parse("0930-1600", calendar="NYSE").calendar == "XNYS"
    assert SessionTemplate.parse("0830-1600", calendar="CME").calendar == "CMES"
    assert US_OVERNIGHT.calendar == "XNYS"


def test_a_start_the_calendars_do_not_reach_is_refused_before_anything_starts() -> None:
    from twsapp.sim.inputs import SimInputError
    from twsapp.sim.server import SimServer

    with pytest.raises(SimInputError, match="outside the simulator's exchange calendars") as err:
        SimServer(start=datetime(2045, 1, 2, 9, 30, tzinfo=NEW_YORK))
    assert err.value.setting == "start"
