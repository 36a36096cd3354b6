"""Chaos (issue 11): hypothesis mixes place, modify, cancel and partial fills with random
simulator faults that keep the connection up; after quiescence the book equals the simulator's
own record (sim_truth.py), nothing was submitted twice, every fill was published exactly once,
and commissions are there wherever the simulator sent them.

One simulator and one connected app serve every example (a module fixture per fast server
version); each example uses fresh orders and is checked on those alone, then cleans up (its
working orders cancelled, its faults disarmed, late reports released), so examples do not see
each other. The simulator's clock is advanced by hand: nothing sleeps. Derandomized: the same
cases every run. The full run (SLOW_EXAMPLES per version) is in the slow set (.ci/run).

Faults are drawn from ``FAULTS``, one hypothesis strategy per kind: a new kind is one more
entry. Faults that drop the connection (DropAfter, Restart, RefuseConnect) are not in it yet:
the app's reconnect is being built. To add them once it works, see ``Chaos.recover``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import pytest
from app_helpers import WAIT, Events, barrier, quote
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from sim_truth import FillLog, book_vs_sim, tap
from versions import FAST_VERSIONS

from twsapp.book.model import OrderRecord
from twsapp.exceptions import OrderRefused
from twsapp.orders import limit_order, market_order
from twsapp.session import TwsApp
from twsapp.sim.fault_plan import (
    DelayCommission,
    Duplicate,
    Fault,
    Freeze,
    Notice,
    RejectOrder,
    Reorder,
    WithholdCommission,
)
from twsapp.sim.server import SimServer, SimSettings

FAST_EXAMPLES = 40  # per version, in `make test`
SLOW_EXAMPLES = 200  # per version, in the slow set
DISPLAY = Decimal(30)  # the simulator fills at most this much of an order per second
MAX_DELAY = 10  # simulated seconds a commission report may be held back
SETTLE = 5  # simulated seconds after the plan: a MKT 100 needs four to fill in parts

LINK = (1100, 1101, 1102)
CALLBACKS = ["openOrder", "orderStatus", "execDetails", "commissionAndFeesReport"]
times = hs.integers(1, 3)

# One strategy per kind of fault the connection survives, by the fault's class name (the
# harness checks every kind was armed at least once). A new kind is one more entry.
FAULTS: dict[str, hs.SearchStrategy[Fault]] = {
    "Duplicate": hs.builds(Duplicate, hs.sampled_from(CALLBACKS), times=times),
    "Reorder": hs.builds(Reorder, times=times),
    "DelayCommission": hs.builds(
        DelayCommission, seconds=hs.integers(1, MAX_DELAY).map(float), times=times
    ),
    "WithholdCommission": hs.builds(WithholdCommission, times=times),
    # At once, between two steps: a restored link's resync then races the steps that follow.
    "Notice": hs.builds(Notice, code=hs.sampled_from([1100, 1101, 1102, 2103, 2104])),
    "RejectOrder": hs.builds(RejectOrder, code=hs.sampled_from([103, 201])),
    "Freeze": hs.builds(Freeze, seconds=hs.just(0.05)),  # real time: kept short
}


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Place:
    kind: str  # "rest": far from the market; "lmt": marketable limit; "mkt": market
    side: str
    quantity: int


@dataclass(frozen=True)
class Modify:
    which: int  # index into this example's orders (modulo their number)
    price: bool  # a new limit (limit orders), else a new quantity
    step: int  # cents away from the market (above 30: through it), or shares more


@dataclass(frozen=True)
class Cancel:
    which: int


@dataclass(frozen=True)
class Advance:
    seconds: int


@dataclass(frozen=True)
class Arm:
    fault: Fault


steps = hs.one_of(
    hs.builds(
        Place,
        hs.sampled_from(["rest", "lmt", "mkt"]),
        hs.sampled_from(["BUY", "SELL"]),
        hs.integers(1, 100),
    ),
    hs.builds(Modify, hs.integers(0, 7), hs.booleans(), hs.integers(1, 40)),
    hs.builds(Cancel, hs.integers(0, 7)),
    hs.builds(Advance, hs.integers(1, 2)),
    hs.builds(Arm, hs.one_of(*FAULTS.values())),
)
plans = hs.lists(steps, min_size=1, max_size=10).filter(
    lambda plan: any(isinstance(s, Place) for s in plan)
)


# --------------------------------------------------------------------------- the harness


class Chaos:
    """One simulator and one app for many examples; ``run`` plays one plan and checks it."""

    def __init__(self, version: int) -> None:
        self.sim = SimServer(
            SimSettings(
                port=0, speed=0.0, server_version=version, display_size=DISPLAY, pacing=False
            )
        ).start()
        self.wire = tap(self.sim)
        try:
            # Unpaced: the plans send faster than a person; pacing has its own tests.
            self.app = TwsApp(request_timeout=WAIT, max_messages_per_second=None)
            self.app.start("127.0.0.1", self.sim.port, 1, WAIT)
        except BaseException:
            self.sim.stop()
            raise
        self.fills = FillLog(self.app)
        self.seen: Counter[str] = Counter()  # what the examples did, to check they did it
        self.events = Events(self.app)
        self.link_down = False  # the last link notice armed was 1100
        self.restores = 0  # 1101 / 1102 armed in this example: each starts a resync
        self.resyncs = self.app.resyncs

    def close(self) -> None:
        self.fills.close()
        self.events.close()
        self.app.stop()
        self.sim.stop()

    def run(self, plan: list) -> None:
        self.seen["examples"] += 1
        app, sim = self.app, self.sim
        mine: list[OrderRecord] = []
        try:
            for step in plan:
                self.play(step, mine)
            barrier(app)
            sim.advance(SETTLE)
            barrier(app)
            self.recover()
            ids = [r.order_id for r in mine]
            problems = book_vs_sim(app, sim, ids)
            problems += self.fills.problems(sim, app.client_id, ids)
            problems += self.commissions(mine)
            assert not problems, f"plan {plan}:\n  " + "\n  ".join(problems)
            self.count(mine)
        finally:
            self.clean_up(mine)

    def play(self, step: object, mine: list[OrderRecord]) -> None:
        app, sim = self.app, self.sim
        if isinstance(step, Place):
            q = quote(sim)
            buy = step.side == "BUY"
            if step.kind == "mkt":
                order = market_order(step.side, step.quantity)
            else:
                far = 0.9 if buy else 1.1  # never trades in an example's few seconds
                near = 1.01 if buy else 0.99  # through the touch: trades at once
                price = round((q.bid if buy else q.ask) * (far if step.kind == "rest" else near), 2)
                order = limit_order(step.side, step.quantity, price)
            try:
                mine.append(app.place("AAPL", order))
            except OrderRefused:  # TWS's link is down, or the app is resyncing: nothing sent
                self.seen["place refused"] += 1
        elif isinstance(step, Modify) and mine:
            rec = mine[step.which % len(mine)]
            # One modify in flight, and only once TWS answered the order: two refusals in one
            # millisecond leave a modify pending (an app bug: the xfail tests at the end of
            # test_app_faults.py). Drop these two guards once those tests pass.
            if rec.pending_modifications:
                return
            if not rec.acknowledged:
                barrier(app)  # its ack, or its refusal (then the app refuses the modify)
            try:
                if step.price and rec.limit_price is not None:
                    app.modify(rec.order_id, price=self.new_limit(rec, step.step))
                else:
                    app.modify(rec.order_id, quantity=int(rec.total_quantity or 1) + step.step)
            except OrderRefused:
                pass  # done by now, or rejected: refused before anything was sent
        elif isinstance(step, Cancel) and mine:
            with contextlib.suppress(OrderRefused):  # done by now: nothing sent
                app.cancel(mine[step.which % len(mine)].order_id)
        elif isinstance(step, Advance):
            barrier(app)  # what was sent is at the exchange before its clock moves
            sim.advance(step.seconds)
        elif isinstance(step, Arm):
            fault = step.fault
            if isinstance(fault, Notice) and fault.code in LINK:
                self.link_down = fault.code == 1100
                self.restores += fault.code != 1100
            sim.faults.arm(fault)
            self.seen[type(step.fault).__name__] += 1

    def new_limit(self, rec: OrderRecord, step: int) -> float:
        """A few cents away from the market, or (step > 30) through it: the modify fills."""
        buy = rec.action == "BUY"
        if step > 30:
            q = quote(self.sim)
            return round(q.ask * 1.01 if buy else q.bid * 0.99, 2)
        assert rec.limit_price is not None
        return round(rec.limit_price + (-step if buy else step) * 0.01, 2)

    def recover(self) -> None:
        """After the plan, before the checks: disarm what did not fire, release the reports
        still held back, and let the app see it all.

        Drop faults, once the app reconnects: arm them from FAULTS like any other (e.g.
        ``hs.builds(DropAfter, hs.sampled_from(DROP_MOMENTS), reached=hs.booleans())``,
        ``hs.builds(Restart, down=hs.just(0.2))``), and here wait until the app is connected
        and resynced again (its reconnect event, or ``sim.wait_listening`` then a barrier)
        before the barrier below; a plan step on a dropped link expects the app's refusal
        (``while_disconnected = "refuse"``) or its queue. The checks need no change: they read
        the simulator's record, which a drop leaves intact.
        """
        app, sim = self.app, self.sim
        sim.faults.clear()
        if self.link_down:  # TWS always says when its link is back
            sim.faults.arm(Notice(1102))
            self.link_down = False
            self.restores += 1
        sim.advance(MAX_DELAY)  # every delayed report is due
        barrier(app)
        expected = self.resyncs + self.restores  # each restored link resyncs, one at a time
        self.restores = 0
        self.events.wait(lambda: app.resyncs >= expected and not app.unreachable, "the resyncs")
        self.resyncs = app.resyncs
        barrier(app)

    def count(self, mine: list[OrderRecord]) -> None:
        for rec in mine:
            self.seen["orders"] += 1
            self.seen["fills"] += len(rec.fills)
            self.seen["partly filled"] += len(rec.fills) > 1
            self.seen["modified"] += bool(rec.modifications)
            self.seen[f"ended {rec.status}"] += 1

    def commissions(self, mine: list[OrderRecord]) -> list[str]:
        """Every fill whose report the simulator sent has its commission (sim_truth compares
        the values; this says plainly which ones are missing)."""
        return [
            f"order {r.order_id}: fill {f.exec_id} has no commission, the simulator sent one"
            for r in mine
            for f in r.fills.values()
            if f.commission is None and self.wire.reported(f.exec_id)
        ]

    def clean_up(self, mine: list[OrderRecord]) -> None:
        """Cancel what still works, so later examples' clock steps stay cheap."""
        self.sim.faults.clear()
        for rec in mine:
            if rec.active:
                with contextlib.suppress(OrderRefused):  # became done meanwhile
                    self.app.cancel(rec.order_id)
        barrier(self.app)


@pytest.fixture(scope="module", params=[pytest.param(v, id=f"v{v}") for v in FAST_VERSIONS])
def chaos(request):
    harness = Chaos(request.param)
    yield harness
    # Across all examples, including the clean-ups: the whole book equals the simulator's.
    try:
        barrier(harness.app)
        problems = book_vs_sim(harness.app, harness.sim)
        assert not problems, "\n  ".join(problems)
        # The plans did what they are for: every fault kind, partial fills, modifies, cancels.
        did = harness.seen
        wanted = [*FAULTS, "partly filled", "modified", "ended Cancelled", "ended Filled"]
        assert all(did[what] for what in wanted), f"the plans never did some of it: {did}"
    finally:
        harness.close()


CHAOS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}


@settings(max_examples=FAST_EXAMPLES, **CHAOS)
@given(plan=plans)
def test_chaos_book_equals_the_simulator(chaos, plan):
    """A few dozen plans in `make test`: the harness and the common faults stay honest."""
    chaos.run(plan)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, **CHAOS)
@given(plan=plans)
def test_chaos_book_equals_the_simulator_at_length(chaos, plan):
    """At least 200 plans per version (the slow set, CI)."""
    chaos.run(plan)
