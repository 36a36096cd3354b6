"""Timers: ``ctx.schedule(every=..., name=...)`` -> ``on_timer(name)`` on the strategy's thread.

The scheduler and the runner take a clock; the tests move it by hand, so nothing sleeps for
time to pass. A late timer fires once (coalesced), timers keep their rhythm, and they end with
the strategy, whether it stopped or failed.
"""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest

from twsapp.strategy import Context, Scheduler, Strategy, StrategyRunner

WAIT = 10.0  # bounds a hang


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------------- the scheduler


def test_a_timer_is_due_every_period_from_when_it_was_scheduled():
    clock = Clock()
    timers = Scheduler(clock)
    timers.schedule(10, "a")
    assert timers.wait_time() == 10 and timers.due() == []
    clock.now = 10
    assert timers.due() == ["a"] and timers.due() == []
    clock.now = 17
    assert timers.wait_time() == 3  # the rhythm is kept: 20, not 27
    clock.now = 20
    assert timers.due() == ["a"]


def test_a_late_timer_fires_once_and_keeps_its_rhythm():
    clock = Clock()
    timers = Scheduler(clock)
    timers.schedule(10, "a")
    clock.now = 45  # four periods missed
    assert timers.due() == ["a"]
    assert timers.due() == [] and timers.wait_time() == 5  # next at 50


def test_due_timers_come_earliest_first_and_a_name_scheduled_again_restarts():
    clock = Clock()
    timers = Scheduler(clock)
    timers.schedule(3, "slow")
    timers.schedule(2, "fast")
    clock.now = 3
    assert timers.due() == ["fast", "slow"]
    timers.schedule(10, "fast")  # restarted: from 3, every 10
    clock.now = 6
    assert timers.due() == ["slow"]
    clock.now = 13
    assert timers.due() == ["slow", "fast"]  # slow was due at 12, fast at 13
    assert timers.cancel("slow") and not timers.cancel("slow")
    assert timers.names() == ["fast"]


def test_a_closed_scheduler_fires_nothing_and_takes_nothing():
    clock = Clock()
    timers = Scheduler(clock)
    timers.schedule(1, "a")
    timers.close()
    clock.now = 5
    timers.schedule(1, "b")
    assert timers.due() == [] and timers.wait_time() is None and timers.names() == []


@pytest.mark.parametrize("every", [0, -1, float("inf"), float("nan"), "5", True])
def test_a_period_must_be_a_positive_number_of_seconds(every):
    with pytest.raises((ValueError, TypeError), match="every="):
        Scheduler().schedule(every, "a")


# ---------------------------------------------------------------------- the runner


class Marker:
    """An event the test posts to learn that everything before it was handled."""


class Timed(Strategy):
    def on_start(self):
        self.calls: list[tuple[str, str, float]] = []
        self.seen = threading.Condition()
        self.ctx.schedule(every=1, name="fast")
        self.ctx.schedule(every=5, name="slow")
        self.slow_next = False

    def _note(self, hook: str, what: str) -> None:
        with self.seen:
            self.calls.append((hook, what, self.ctx.timers.clock()))
            self.seen.notify_all()

    def on_event(self, event):
        self._note("on_event", type(event).__name__)

    def on_timer(self, name):
        assert threading.current_thread().name == "strategy-timed"
        self._note("on_timer", name)
        if self.slow_next:  # a hook that takes 10 s
            self.slow_next = False
            self.ctx.timers.clock.now += 10


def _runner(clock: Clock, strategy_class: type[Strategy] = Timed) -> StrategyRunner:
    ctx = Context(SimpleNamespace(), logging.getLogger("test.timers"), "timed", clock=clock)
    runner = StrategyRunner("timed", "timed", strategy_class(ctx))
    runner.start()
    return runner


def _at(runner: StrategyRunner, clock: Clock, now: float) -> list[tuple[str, str, float]]:
    """Move the clock, let the runner check its timers, and return the calls since."""
    strategy = runner.strategy
    with strategy.seen:
        start = len(strategy.calls)
    clock.now = now
    runner.wake()
    runner.post(Marker())
    with strategy.seen:
        assert strategy.seen.wait_for(
            lambda: ("on_event", "Marker", now) in strategy.calls[start:], WAIT
        )
        return [c for c in strategy.calls[start:] if c[1] != "Marker"]


def test_the_runner_calls_on_timer_on_the_strategys_thread_when_due():
    clock = Clock()
    runner = _runner(clock)
    try:
        assert _at(runner, clock, 0.5) == []
        assert _at(runner, clock, 1) == [("on_timer", "fast", 1)]
        assert _at(runner, clock, 5) == [("on_timer", "fast", 5), ("on_timer", "slow", 5)]
        assert _at(runner, clock, 5) == []
    finally:
        assert runner.stop(WAIT)
    assert runner.state == "stopped"


def test_a_slow_hook_does_not_make_timers_pile_up():
    clock = Clock()
    runner = _runner(clock)
    strategy = runner.strategy
    strategy.slow_next = True
    clock.now = 1
    runner.wake()  # fast runs at 1 and takes until 11: ten of its periods and two of slow's
    runner.post(Marker())
    assert runner.stop(WAIT)
    assert strategy.calls == [
        ("on_timer", "fast", 1),
        ("on_event", "Marker", 11),
        ("on_timer", "fast", 11),  # once, not ten times
        ("on_timer", "slow", 11),  # once, not twice
    ]


def test_timers_fire_between_events_and_end_with_the_strategy():
    clock = Clock()
    runner = _runner(clock)
    strategy = runner.strategy
    clock.now = 1
    runner.post(Marker())  # the timer due is checked after the event
    assert runner.stop(WAIT)
    hooks = [(hook, what) for hook, what, _ in strategy.calls]
    assert hooks == [("on_event", "Marker"), ("on_timer", "fast")]
    assert strategy.ctx.timers.names() == []  # nothing left to fire
    clock.now = 100
    runner.wake()  # stopped: nothing happens
    assert len(strategy.calls) == 2


def test_a_timer_that_raises_fails_the_strategy_and_its_timers_end():
    class Failing(Timed):
        def on_timer(self, name):
            raise RuntimeError(f"bad {name}")

    clock = Clock()
    runner = _runner(clock, Failing)
    clock.now = 1
    runner.wake()
    runner.join(WAIT)
    assert runner.state == "failed" and runner.error == "on_timer: RuntimeError: bad fast"
    assert runner.strategy.ctx.timers.names() == []


def test_on_the_real_clock_a_timer_fires_without_any_event():
    fired = threading.Event()

    class Quick(Strategy):
        def on_start(self):
            self.ctx.schedule(every=0.01, name="tick")
            self.ticks = 0

        def on_timer(self, name):
            self.ticks += 1
            if self.ticks == 3:
                fired.set()

    ctx = Context(SimpleNamespace(), logging.getLogger("test.timers"), "quick")
    runner = StrategyRunner("quick", "quick", Quick(ctx))
    runner.start()
    try:
        assert fired.wait(WAIT)
    finally:
        assert runner.stop(WAIT)
