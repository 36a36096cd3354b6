"""The app's book against the simulator's own record, read in-process from its state objects.

The reliability claim (issue 11) is that whatever TWS does to the callbacks (repeats them,
reorders them, delays or withholds commission reports, freezes), the book ends equal to what
TWS holds. ``run_helpers.assert_summary_is_tws`` asks the simulator over the API, which goes
through the same faults; here the truth is read straight from ``sim.exchange`` (its
``SimOrder``s and ``Fill``s), and what the simulator actually put on the wire is recorded by a
``WireTap`` on its fault plan, so "commission where the simulator sent one" means exactly that.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from app_helpers import placed_ids

from twsapp.book import FillReceived
from twsapp.book import status as st
from twsapp.book.model import OrderRecord
from twsapp.sim import messages as m
from twsapp.sim.records import SimOrder
from twsapp.sim.server import SimServer

PRICE_TOLERANCE = 1e-9  # the sim averages in decimals, the book in floats: equal to rounding


class WireTap:
    """The commission reports the simulator really sent, by execId, after its fault plan.

    Wraps the plan's two exits: ``outgoing`` (each batch a session queues, after duplicates,
    reorders, cuts and withheld or delayed reports are applied) and ``on_clock`` (where a
    delayed report is released). Install it before the first order is placed; one per sim.
    A report is counted when queued to a session that is still open: one queued after its
    socket closed (a fill racing a drop, a delayed report released after it) never reached the
    app. A resync after the reconnect asks for executions again, and their reports count then.
    What was queued before a close that does not flush (a restart, a placeOrder drop) is exact
    only if the caller lets the app take it first (the chaos test settles before those).
    """

    def __init__(self, sim: SimServer) -> None:
        self._lock = threading.Lock()
        self.reports: dict[str, float] = {}  # execId -> commissionAndFees sent
        plan = sim.faults
        outgoing, on_clock = plan.outgoing, plan.on_clock

        def tapped_outgoing(session: Any, batch: list[m.Message]) -> tuple[list[m.Message], bool]:
            out, cut = outgoing(session, batch)
            if _open(session):
                self._saw(out)
            return out, cut

        def tapped_on_clock() -> None:
            held = list(plan._held)  # what is delayed right now, with its session
            on_clock()
            left = {id(msg) for _, _, msg in plan._held}
            self._saw([msg for _, s, msg in held if id(msg) not in left and _open(s)])

        plan.outgoing = tapped_outgoing  # type: ignore[method-assign]
        plan.on_clock = tapped_on_clock  # type: ignore[method-assign]

    def _saw(self, batch: list[m.Message]) -> None:
        with self._lock:
            for msg in batch:
                if isinstance(msg, m.CommissionReport):
                    self.reports[msg.report.execId] = msg.report.commissionAndFees

    def reported(self, exec_id: str) -> bool:
        with self._lock:
            return exec_id in self.reports


def _open(session: Any) -> bool:
    """The session's socket is not closed yet (``attached`` stays true after a close)."""
    closed = getattr(session, "_closed", None)
    return closed is None or not closed.is_set()


def _tap_of(sim: SimServer) -> WireTap | None:
    return getattr(sim, "_truth_tap", None)


def tap(sim: SimServer) -> WireTap:
    """The sim's WireTap, installed on first use."""
    existing = _tap_of(sim)
    if existing is None:
        existing = WireTap(sim)
        sim._truth_tap = existing  # type: ignore[attr-defined]
    return existing


# --------------------------------------------------------------------------- the truth


def sim_orders(sim: SimServer, client_id: int) -> dict[int, SimOrder]:
    """The simulator's orders of ``client_id`` by order id (under its lock: a consistent cut)."""
    with sim.exchange.lock:
        return {oid: so for (cid, oid), so in sim.exchange.orders.items() if cid == client_id}


def sim_commissions(sim: SimServer) -> dict[str, float]:
    """execId -> the commission of the simulator's own report for that execution."""
    with sim.exchange.lock:
        return {f.execution.execId: f.report.commissionAndFees for f in sim.exchange.fills}


def book_vs_sim(app: Any, sim: SimServer, order_ids: Any = None) -> list[str]:
    """Every difference between the app's book and the simulator's record, one line each,
    naming the order and the field. Empty when they agree. ``order_ids``: only these orders
    (the chaos test checks each example's own orders); None: every order of the app's client.
    """
    client_id = app.client_id
    wire = _tap_of(sim)  # None: no tap, so every report the simulator made is expected
    truth = sim_orders(sim, client_id)
    commissions = sim_commissions(sim)
    placed = placed_ids(sim, client_id)  # new orders and modifies, in wire order
    wanted = None if order_ids is None else set(order_ids)
    problems: list[str] = []

    def check(order_id: int, field: str, ours: object, theirs: object) -> None:
        if ours != theirs:
            problems.append(f"order {order_id}: {field}: book {ours!r} != sim {theirs!r}")

    book: dict[int, OrderRecord] = {
        r.order_id: r for r in app.book.records() if r.client_id == client_id and r.ids_known
    }
    ids = set(truth) | set(book)
    if wanted is not None:
        ids &= wanted
    for order_id in sorted(ids):
        so, rec = truth.get(order_id), book.get(order_id)
        if rec is None:
            problems.append(f"order {order_id}: missing from the book (sim: {so.status})")
            continue
        pending = rec.pending_modifications
        if rec.status in st.PENDING or pending:
            problems.append(
                f"order {order_id}: left pending: status {rec.status}, "
                f"{len(pending)} pending modification(s)"
            )
        if so is None:
            # Never created at the simulator: only right if it was refused (103 / 201, ...).
            if not rec.rejected:
                problems.append(
                    f"order {order_id}: not at the sim, but the book has it {rec.status} "
                    "and not rejected"
                )
            check(order_id, "execIds", set(rec.fills), set())
            continue
        check(order_id, "status", rec.status, so.status)
        check(order_id, "filled", rec.filled, so.filled)
        if so.filled:
            ours = rec.avg_fill_price
            if ours is None or abs(ours - so.avg_fill_price) > PRICE_TOLERANCE:
                check(order_id, "avg_fill_price", ours, so.avg_fill_price)
        elif rec.avg_fill_price not in (None, 0.0):
            check(order_id, "avg_fill_price", rec.avg_fill_price, None)
        check(order_id, "execIds", set(rec.fills), set(so.executions))
        for exec_id in sorted(set(rec.fills) & set(so.executions)):
            ours_c = rec.fills[exec_id].commission
            if wire is None or wire.reported(exec_id):
                theirs_c: float | None = commissions.get(exec_id)
            else:
                theirs_c = None  # the simulator never sent this report: the book cannot know it
            check(order_id, f"commission of {exec_id}", ours_c, theirs_c)
        check(order_id, "total_quantity", rec.total_quantity, so.order.totalQuantity)
        if so.order.orderType == "LMT":
            check(order_id, "limit_price", rec.limit_price, so.order.lmtPrice)
    # No order id used twice: the first placeOrder of each id comes in increasing order, and
    # each id is re-sent only as often as the book sent a modify of it. A modify the resync
    # rejected as never received (504) may still have been read and lost with the link
    # (DropAfter placeOrder, not reached): it counts as at most once; if TWS had applied it,
    # the terms checked above differ.
    counts = Counter(placed)
    firsts = list(dict.fromkeys(placed))
    if wanted is not None:
        firsts = [i for i in firsts if i in wanted]
    if firsts != sorted(firsts):
        problems.append(f"order ids first used out of order: {firsts}")
    for order_id in firsts:
        rec = book.get(order_id)
        mods = len(rec.modifications) if rec is not None else 0
        lost = len(_unreached(rec)) if rec is not None else 0
        if not 1 + mods - lost <= counts[order_id] <= 1 + mods:
            problems.append(
                f"order {order_id}: placeOrder sent {counts[order_id]} times, expected "
                f"1 + {mods} modify ({lost} of them lost with the link)"
            )
    return problems


def _unreached(rec: OrderRecord) -> list[Any]:
    """The record's modifies a resync found TWS never received (rejected with 504)."""
    return [m for m in rec.modifications if m.state == "rejected" and m.code == 504]


def assert_book_is_sim_truth(app: Any, sim: SimServer, order_ids: Any = None) -> None:
    """Fail with every difference, one line per order and field."""
    problems = book_vs_sim(app, sim, order_ids)
    assert not problems, "book differs from the simulator:\n  " + "\n  ".join(problems)


class FillLog:
    """How many FillReceived events the app published per execId: every fill exactly once,
    whatever TWS repeated (a duplicate execDetails, a resync's reqExecutions)."""

    def __init__(self, app: Any) -> None:
        self._lock = threading.Lock()
        self.count: Counter[str] = Counter()
        self.close = app.subscribe(self._on_fill, FillReceived)

    def _on_fill(self, event: FillReceived) -> None:
        if event.replaces is None:  # a correction is the same fill again, by design
            with self._lock:
                self.count[event.fill.exec_id] += 1

    def problems(self, sim: SimServer, client_id: int, order_ids: Any = None) -> list[str]:
        orders = sim_orders(sim, client_id)
        wanted = orders.keys() if order_ids is None else set(order_ids) & orders.keys()
        expected = {e for oid in wanted for e in orders[oid].executions}
        with self._lock:
            seen = {e: n for e, n in self.count.items() if e in expected or order_ids is None}
        out = [f"fill {e}: FillReceived {n} times" for e, n in sorted(seen.items()) if n != 1]
        out += [f"fill {e}: no FillReceived" for e in sorted(expected - seen.keys())]
        return out

    def assert_each_once(self, sim: SimServer, client_id: int, order_ids: Any = None) -> None:
        problems = self.problems(sim, client_id, order_ids)
        assert not problems, "fill events differ from the simulator:\n  " + "\n  ".join(problems)
