"""The heartbeat over a real socket: a simulator frozen for a while (the fault plan's Freeze) is
noticed at WARNING once, and the order answered during the freeze is resynced when TWS answers
again; a live TWS raises nothing. The freeze itself is real time, kept short."""

from __future__ import annotations

import logging
import time

from app_helpers import Events, quote

from twsapp.orders import limit_order
from twsapp.session.heartbeat import Heartbeat
from twsapp.sim.fault_plan import Freeze


def test_a_live_tws_answers_every_beat(app, caplog):
    beat = Heartbeat(app, every=2.0)
    with caplog.at_level(logging.WARNING, logger="twsapp.session"):
        assert beat.beat() and beat.beat()
    assert beat.frozen_since is None and beat.episodes == 0
    assert not [r for r in caplog.records if "heartbeat" in r.getMessage()]


def test_a_frozen_tws_is_noticed_once_and_resynced_when_it_answers(app, sim, caplog):
    synced: list[int] = []
    beat = Heartbeat(app, every=0.3, resync=lambda: (app.sync(), synced.append(1)))
    q = quote(sim)
    order = limit_order("BUY", 1, round(q.bid * 0.9, 2))
    Events(app).status(app.place("AAPL", order).order_id, "Submitted")  # contract now cached
    sim.faults.arm(Freeze(seconds=1.5))
    record = app.place("AAPL", order)  # returns at once: TWS answers after the freeze
    with caplog.at_level(logging.WARNING, logger="twsapp.session"):
        misses = 0
        while not beat.beat():
            misses += 1
            assert misses < 30, "the freeze never ended"
    assert misses >= 2 and beat.episodes == 1 and synced == [1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("has not answered a heartbeat" in w for w in warnings) == 1  # once per episode
    assert any("answers again" in w for w in warnings)
    Events(app).status(record.order_id, "Submitted")  # queued during the freeze, then handled


def test_the_run_beats_at_the_configured_period_and_none_when_0():
    from twsapp.config import config_from_dict
    from twsapp.engine import Engine

    def engine(seconds: float) -> Engine:
        sections = {"mode": "sim", "tws": {"heartbeat_seconds": seconds},
                    "control": {"enabled": False}, "journal": {"path": ":memory:"},
                    "logging": {"file": ""}}  # fmt: skip
        return Engine(config_from_dict(sections)).start()

    off = engine(0)
    try:
        assert off.heartbeat is None
    finally:
        off.shutdown()
    on = engine(0.3)
    try:
        assert on.heartbeat is not None and on.heartbeat.every == 0.3
        on.sim.faults.arm(Freeze(seconds=1.2))
        deadline = time.monotonic() + 15
        while on.heartbeat.episodes == 0:
            assert time.monotonic() < deadline, "the run's heartbeat never saw the freeze end"
            time.sleep(0.05)
    finally:
        on.shutdown()
