"""Chaos (issue 11): hypothesis mixes place, modify, cancel and partial fills with random
simulator faults, the connection drops and TWS restarts among them; after quiescence the book
equals the simulator's own record (sim_truth.py), nothing was submitted twice, every fill was
published exactly once, and commissions are there wherever the simulator sent them.

One simulator and one connected app serve every example (a module fixture per fast server
version); each example uses fresh orders and is checked on those alone, then cleans up (its
working orders cancelled, its faults disarmed, late reports released), so examples do not see
each other. The simulator's clock is advanced by hand: nothing sleeps. Derandomized: the same
cases every run. The full run (SLOW_EXAMPLES per version) is in the slow set (.ci/run).

Faults are drawn from ``FAULTS``, one hypothesis strategy per kind: a new kind is one more
entry. The app reconnects (tiny backoff: the waits are real time); every other example holds
orders while TWS is unreachable instead of refusing them. ``Chaos.settle`` is the barrier
that survives drops: it waits out the reconnect and every resync before its round trip.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import pytest
from app_helpers import WAIT, barrier, placed_ids, quote
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from sim_truth import FillLog, book_vs_sim, sim_orders, tap
from versions import FAST_VERSIONS

from twsapp.book.model import OrderRecord
from twsapp.events import ConnectionEvent, Disconnected
from twsapp.exceptions import OrderRefused, TwsAppError
from twsapp.orders import limit_order, market_order
from twsapp.session import TwsApp
from twsapp.session.reconnect import Backoff
from twsapp.sim.fault_plan import (
    DROP_MOMENTS,
    DelayCommission,
    DropAfter,
    Duplicate,
    Fault,
    Freeze,
    Notice,
    RefuseConnect,
    RejectOrder,
    Reorder,
    Restart,
    WithholdCommission,
)
from twsapp.sim.server import SimServer, SimSettings

FAST_EXAMPLES = 40  # per version, in `make test`
SLOW_EXAMPLES = 200  # per version, in the slow set
DISPLAY = Decimal(30)  # the simulator fills at most this much of an order per second
MAX_DELAY = 10  # simulated seconds a commission report may be held back
SETTLE = 5  # simulated seconds after the plan: a MKT 100 needs four to fill in parts

LINK = (1100, 1101, 1102)
QUICK = Backoff(first=0.05, cap=0.2)  # real time: a reconnect costs a few tenths of a second
DOWN = hs.sampled_from([0.05, 0.1, 0.2])  # a restart's refusing port, real time
BUSY = ("tws-resync", "tws-reconnect")  # the app's threads that resync (app.py)
CALLBACKS = ["openOrder", "orderStatus", "execDetails", "commissionAndFeesReport"]
times = hs.integers(1, 3)

# One strategy per kind of fault, by the fault's class name (the harness checks every kind was
# armed at least once). A new kind is one more entry.
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
    # The socket closes at a moment of an order's life (the next place or modify, its ack, a
    # fill before its commission); unfired at the end of the plan, it is disarmed.
    "DropAfter": hs.builds(DropAfter, hs.sampled_from(DROP_MOMENTS), reached=hs.booleans()),
    "Restart": hs.builds(Restart, down=DOWN),
    # Armed with a restart (``Chaos.play``): the reconnect is answered 326, the next one taken.
    "RefuseConnect": hs.builds(RefuseConnect),
}


# Drops cost real time (a reconnect, a resync): drawn half as often as the others.
DROPS = ("DropAfter", "Restart", "RefuseConnect")
_kept = hs.one_of(*(v for k, v in FAULTS.items() if k not in DROPS))
faults = hs.one_of(_kept, _kept, _kept, hs.one_of(*(FAULTS[k] for k in DROPS)))

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
    hs.builds(Arm, faults),
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
            self.app = TwsApp(request_timeout=WAIT, max_messages_per_second=None, reconnect=QUICK)
            self.app.start("127.0.0.1", self.sim.port, 1, WAIT)
        except BaseException:
            self.sim.stop()
            raise
        self.fills = FillLog(self.app)
        self.seen: Counter[str] = Counter()  # what the examples did, to check they did it
        self.link_down = False  # the last link notice armed was 1100
        self.unsent: set[int] = set()  # cancelled while held for the reconnect: never sent
        self.may_drop = False  # a DropAfter was armed in this example: the link may be going
        self.drops = 0  # sockets the app has seen close
        self._link = threading.Condition()  # notified on every connection event
        self._unsubscribe = self.app.subscribe(self._on_link, ConnectionEvent)

    def _on_link(self, event: ConnectionEvent) -> None:
        with self._link:
            self.drops += isinstance(event, Disconnected)
            self._link.notify_all()

    def close(self) -> None:
        self._unsubscribe()
        self.fills.close()
        self.app.stop()
        self.sim.stop()

    def run(self, plan: list) -> None:
        self.seen["examples"] += 1
        app, sim = self.app, self.sim
        # [tws] while_disconnected, set per example (one app serves both modes) from the plan,
        # so a failing plan names its mode: a drawn mode stayed on one value when derandomized.
        mode = ("refuse", "queue")[len(plan) % 2]
        app._orders.while_disconnected = mode
        reconnects = app.reconnects
        self.may_drop = False
        mine: list[OrderRecord] = []
        try:
            for step in plan:
                self.play(step, mine)
            self.settle()
            sim.advance(SETTLE)
            self.settle()
            self.recover()
            unsent = {r.order_id for r in mine if held_and_cancelled(r)}
            self.unsent |= unsent
            self.seen["held, cancelled"] += len(unsent)
            ids = [r.order_id for r in mine if r.order_id not in unsent]
            problems = book_vs_sim(app, sim, ids)
            problems += self.fills.problems(sim, app.client_id, ids)
            problems += self.commissions(mine)
            placed = set(placed_ids(sim, app.client_id))
            problems += [f"order {i}: cancelled while held, yet sent" for i in unsent & placed]
            assert not problems, f"plan {plan} ({mode}):\n  " + "\n  ".join(problems)
            self.count(mine)
            self.seen["reconnects"] += app.reconnects - reconnects
        finally:
            self.clean_up(mine)

    def play(self, step: object, mine: list[OrderRecord]) -> None:
        app, sim = self.app, self.sim
        if isinstance(step, Place):
            self.before_a_place_order()
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
                rec = app.place("AAPL", order)
                mine.append(rec)
                self.seen["held"] += rec.key in app._orders.held_keys()  # queue, unreachable
            except OrderRefused:  # TWS is unreachable (refuse), or resyncing: nothing sent
                self.seen["place refused"] += 1
        elif isinstance(step, Modify) and mine:
            rec = mine[step.which % len(mine)]
            # One modify in flight, and only once TWS answered the order: two refusals in one
            # millisecond leave a modify pending (an app bug: the xfail tests at the end of
            # test_app_faults.py). Drop these two guards once those tests pass.
            if rec.pending_modifications:
                return
            if not rec.acknowledged:
                self.settle()  # its ack, or its refusal (then the app refuses the modify)
            self.before_a_place_order()
            try:
                if step.price and rec.limit_price is not None:
                    app.modify(rec.order_id, price=self.new_limit(rec, step.step))
                else:
                    app.modify(rec.order_id, quantity=int(rec.total_quantity or 1) + step.step)
            except OrderRefused:
                pass  # done by now, rejected, or TWS unreachable: refused before anything was sent
        elif isinstance(step, Cancel) and mine:
            rec = mine[step.which % len(mine)]
            with contextlib.suppress(OrderRefused):  # done by now, or TWS unreachable: nothing sent
                app.cancel(rec.order_id)
        elif isinstance(step, Advance):
            self.settle()  # what was sent is at the exchange before its clock moves
            sim.advance(step.seconds)
        elif isinstance(step, Arm):
            fault = step.fault
            self.may_drop |= isinstance(fault, DropAfter)
            if isinstance(fault, Notice) and fault.code in LINK:
                self.settle()  # on a live socket: the app hears it, and it starts one resync
                self.link_down = fault.code == 1100
            if isinstance(fault, Restart | RefuseConnect):
                # Nothing in flight when TWS goes: the tap's record of what reached the app
                # stays exact (a restart shuts the sockets without flushing them).
                self.settle()
                faults = (fault,) if isinstance(fault, Restart) else (fault, Restart(down=0.05))
                drops = self.drops
                sim.faults.arm(*faults)
                sim.wait_idle()  # every old socket closed: its queue goes nowhere from here
                with self._link:  # the steps that follow meet an app that knows it is cut off
                    assert self._link.wait_for(lambda: self.drops > drops, WAIT)
            else:
                sim.faults.arm(fault)
            self.seen[type(step.fault).__name__] += 1

    def before_a_place_order(self) -> None:
        """A placeOrder drop shuts the socket without flushing it: let what the simulator
        queued before reach the app first, so the tap's record of what was sent is exact."""
        if any(
            isinstance(f, DropAfter) and f.what == "placeOrder" for f in self.sim.faults.armed()
        ):
            self.settle()

    def new_limit(self, rec: OrderRecord, step: int) -> float:
        """A few cents away from the market, or (step > 30) through it: the modify fills."""
        buy = rec.action == "BUY"
        if step > 30:
            q = quote(self.sim)
            return round(q.ask * 1.01 if buy else q.bid * 0.99, 2)
        assert rec.limit_price is not None
        return round(rec.limit_price + (-step if buy else step) * 0.01, 2)

    def busy(self) -> bool:
        """The app is reconnecting or resyncing (a resync thread runs until its Resynced)."""
        why = self.app.unreachable
        if why and "(1100)" not in why:  # 1100 alone: connected, waiting for TWS's link
            return True
        return any(t.name in BUSY and t.is_alive() for t in threading.enumerate())

    def settle(self) -> None:
        """The barrier for a link that may drop: wait out any reconnect and resync, then a
        round trip on the live socket, until one passes with nothing of the app in flight.
        After it, everything the simulator sent has been handled and every resync is over."""
        deadline = time.monotonic() + WAIT
        while True:
            with self._link:  # woken by Resynced; the resync thread ends right after it
                while self.busy():
                    assert time.monotonic() < deadline, "the reconnect and resync never ended"
                    self._link.wait(0.01)
            try:
                barrier(self.app)
            except TwsAppError:  # the socket closed under it: the reconnect comes next
                pass
            else:
                if not self.busy():  # nothing the barrier's round trip let in started one
                    return
            assert time.monotonic() < deadline, "the app never settled after a drop"

    def recover(self) -> None:
        """After the plan, before the checks: disarm what did not fire, restore TWS's link,
        release the reports still held back, and let the app see it all. The checks need no
        change for drops: they read the simulator's record, which a drop leaves intact."""
        app, sim = self.app, self.sim
        sim.faults.clear()
        self.settle()  # reconnected: the notice below reaches the app
        if self.link_down:  # TWS always says when its link is back
            sim.faults.arm(Notice(1102))
            self.link_down = False
        sim.advance(MAX_DELAY)  # every delayed report is due
        self.settle()
        assert app.ready, f"the app is not ready after the plan: {app.unreachable}"

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
        self.settle()
        for rec in mine:
            if rec.active:
                with contextlib.suppress(OrderRefused):  # became done meanwhile
                    self.app.cancel(rec.order_id)
        self.settle()


def held_and_cancelled(rec: OrderRecord) -> bool:
    """Held for the reconnect (queue mode) and cancelled there: TWS never hears of it."""
    return rec.status == "Cancelled" and any(
        e.code == 202 and "cancelled before it was sent" in e.text for e in rec.errors
    )


@pytest.fixture(scope="module", params=[pytest.param(v, id=f"v{v}") for v in FAST_VERSIONS])
def chaos(request):
    harness = Chaos(request.param)
    yield harness
    # Across all examples, including the clean-ups: the whole book equals the simulator's.
    try:
        harness.settle()
        app, sim = harness.app, harness.sim
        ids = {r.order_id for r in app.book.records()} - harness.unsent
        problems = book_vs_sim(app, sim, ids | set(sim_orders(sim, app.client_id)))
        assert not problems, "\n  ".join(problems)
        # The plans did what they are for: partial fills, modifies, cancels, reconnects; over
        # the slow set's length also every fault kind, refused and held orders (FAST_EXAMPLES
        # plans miss a kind or two of ten).
        did = harness.seen
        wanted = ["partly filled", "modified", "ended Cancelled", "ended Filled", "reconnects"]
        if did["examples"] > FAST_EXAMPLES:
            wanted += [*FAULTS, "place refused", "held"]
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
