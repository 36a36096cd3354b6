"""The simulator's nightly restart (``daily_restart``): TWS restarts once a day whether or not
anyone asked, so a long run must meet it without a test arming it by hand.

On the manual clock: time is advanced past the restart moment; only the restart's own ``down``
(real seconds, kept short) makes a test wait.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import pytest
from sim_client import order, stock

from twsapp.config import ConfigError, load_config
from twsapp.sim import cli
from twsapp.sim.clock import NEW_YORK
from twsapp.sim.fault_plan import DailyRestart, FaultPlan
from twsapp.sim.fault_spec import parse_fault
from twsapp.sim.inputs import SimInputError
from twsapp.sim.server import SimServer

AAPL = 265598
MONDAY = datetime(2026, 11, 23, 15, 0, tzinfo=NEW_YORK)
HOUR = 3600.0


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=NEW_YORK)


def test_the_simulator_restarts_by_itself_at_the_time_of_day_with_orders_kept(sim_factory, connect):
    sim = sim_factory(start=MONDAY, daily_restart="23:45,down=0.1")
    client = connect(sim)
    bid = sim.exchange.prices.quote(AAPL, 0.0).bid
    resting = client.next_id()
    good_till_cancelled = order("BUY", 100, "LMT", limit=round(bid * 0.5, 2), tif="GTC")
    client.placeOrder(resting, stock("AAPL"), good_till_cancelled)  # a DAY order ends at 16:00
    client.wait("openOrder", orderId=resting)

    sim.advance(8 * HOUR + 44 * 60)  # 23:44: not yet
    since = client.mark()
    client.reqCurrentTime()
    client.wait("currentTime", since)
    assert sim.faults.daily_restarts == 0

    sim.advance(2 * 60)  # 23:46
    client.wait_closed()  # the refused port is Restart's, tested in test_sim_faults.py
    assert sim.wait_idle() and sim.wait_listening()
    again = connect(sim)
    assert [e.orderId for e in again.of("openOrder")] == [resting]
    assert sim.faults.daily_restarts == 1
    assert sim.faults.next_restart == ny(24, 23, 45)


class _Server:
    """The plan's view of a server, counting restarts instead of closing sockets."""

    def __init__(self) -> None:
        self.restarts: list[float] = []

    def sessions(self) -> list:
        return []

    def restart(self, down: float) -> None:
        self.restarts.append(down)


def test_restarts_come_on_trading_days_only():
    fault = DailyRestart("23:45")
    wednesday = fault.next_after(ny(25, 12))
    friday = fault.next_after(wednesday)  # Thanksgiving (Thursday 26th) is a holiday
    monday = fault.next_after(friday)  # no restart on the weekend
    assert (wednesday, friday, monday) == (ny(25, 23, 45), ny(27, 23, 45), ny(30, 23, 45))


def test_a_jump_over_several_restart_times_restarts_once_and_times_counts_them():
    now = [ny(23, 15)]
    server = _Server()
    plan = FaultPlan(server, 1, lambda: now[0]).arm(DailyRestart("23:45", down=0, times=2))
    now[0] = ny(26, 12)  # past Monday's, Tuesday's and Wednesday's restart times at once
    plan.on_clock()
    assert plan.daily_restarts == 1 and plan.next_restart == ny(27, 23, 45)
    now[0] = ny(27, 23, 45)
    plan.on_clock()
    assert plan.daily_restarts == 2 and plan.next_restart is None and plan.armed() == []


def test_the_daily_restart_written_as_a_fault_and_as_a_flag():
    assert parse_fault("daily-restart:at=23:45,down=2") == DailyRestart("23:45", 2.0)
    args = argparse.ArgumentParser()
    cli.add_arguments(args)
    settings = cli.settings_from(args.parse_args(["--daily-restart", "16:05,down=3"]))
    assert settings.daily_restart == "16:05,down=3"
    assert SimServer(settings).faults.armed() == [DailyRestart("16:05", 3.0)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("24:00", "at='24:00' is not a time of day HH:MM"),
        ("2345", "at='2345' is not a time of day HH:MM"),
        ("23:45,down=soon", "down='soon' is not a number"),
        ("23:45,up=2", "'up=2' is not down=SECONDS"),
        ("23:45,down=-1", "down=-1.0 is not 0..3600 seconds"),
    ],
)
def test_a_bad_daily_restart_is_one_line_naming_it_and_the_fix(text, problem):
    with pytest.raises(SimInputError) as info:
        SimServer(port=0, speed=0.0, daily_restart=text)
    message = str(info.value)
    assert message.startswith(f"daily_restart {text!r}: {problem} — write HH:MM"), message
    assert info.value.setting == "daily_restart" and "\n" not in message


def test_the_config_key_reaches_the_simulator_through_its_fault_plan(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[sim]\nfault_plan = ["reorder"]\ndaily_restart = "9:05, down=0.5"\n')
    sim = load_config(path).sim
    assert sim.daily_restart == "9:05, down=0.5"
    assert sim.fault_plan == ("reorder", "daily-restart:at=9:05,down=0.5")
    assert parse_fault(sim.fault_plan[1]) == DailyRestart("9:05", 0.5)


@pytest.mark.parametrize("value", ['"24:00"', '"23:45,down=4000"', '"23:45,up=2"', "2345"])
def test_a_bad_config_key_is_one_line_naming_it(tmp_path: Path, value: str):
    path = tmp_path / "config.toml"
    path.write_text(f"[sim]\ndaily_restart = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    expected = 'sim.daily_restart: expected "HH:MM[,down=SECONDS]"'
    assert str(info.value).startswith(expected) and "e.g. " in str(info.value), info.value
