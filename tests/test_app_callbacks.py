"""Callbacks in any order: fills and commissions before, between and after openOrder/orderStatus.

Two ways: the simulator is told to shuffle and repeat order callbacks (Faults), over a real socket,
with several seeds; and the callbacks of a real session are recorded and fed to fresh books in
many random orders with duplicates, including orders the simulator cannot produce (a fill before
the first openOrder). Either way the book must end with the same record, and emit no event twice.
"""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from app_helpers import Events, barrier, close_session, open_session, order_requests
from conftest import VERSION_PARAMS
from ibapi.server_versions import MIN_SERVER_VER_ERROR_TIME

from twsapp import errors
from twsapp.book import (
    BookEvent,
    CommissionReceived,
    Filled,
    FillReceived,
    OrderBook,
    OrderError,
    OrderRecord,
    Rejected,
    StatusChanged,
)
from twsapp.errors import ErrorKind
from twsapp.events import Notice
from twsapp.orders import limit_order, market_order
from twsapp.session import TwsApp
from twsapp.sim.faults import Faults

SEEDS = [1, 2, 3, 4, 5, 6]
RECORDED = ("on_open_order", "on_order_status", "on_exec_details", "on_commission", "on_error")


class RecordingBook(OrderBook):
    """An OrderBook that also keeps every callback it was fed, in arrival order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple]] = []
        self._calls_lock = threading.Lock()
        for name in RECORDED:
            setattr(self, name, self._recording(name, getattr(self, name)))

    def _recording(self, name: str, method):
        def record(*args: Any) -> Any:
            with self._calls_lock:
                self.calls.append((name, args))
            return method(*args)

        return record


def summary(rec: OrderRecord) -> dict:
    """What the user sees of an order once everything has arrived."""
    return {
        "status": rec.status,
        "filled": rec.filled,
        "remaining": rec.remaining,
        "avg": rec.avg_fill_price,
        "last": rec.last_fill_price,
        "perm_id": rec.perm_id,
        "limit": rec.limit_price,
        "quantity": rec.total_quantity,
        "commission": rec.commission,
        "fills": {
            f.exec_id: (f.shares, f.price, f.cum_qty, f.commission, f.commission_currency)
            for f in rec.fills.values()
        },
    }


def check_events(events: list[BookEvent], n_fills: int) -> None:
    """No event twice: one per fill, one per commission, one Filled, no status 'change' to self."""
    fills = [e.fill.exec_id for e in events if isinstance(e, FillReceived)]
    commissions = [e.fill.exec_id for e in events if isinstance(e, CommissionReceived)]
    assert len(fills) == len(set(fills)) == n_fills
    assert len(commissions) == len(set(commissions)) == n_fills
    assert set(commissions) == set(fills)
    assert len([e for e in events if isinstance(e, Filled)]) == 1
    changes = [e for e in events if isinstance(e, StatusChanged)]
    assert all(e.before != e.after for e in changes)
    assert all(a.after == b.before for a, b in itertools.pairwise(changes))
    assert changes[-1].after == "Filled"


def session(version: int, faults: Faults) -> tuple[RecordingBook, list, list]:
    """A MKT order filled in three parts and a LMT filled at once; returns book, records, events."""
    sim, app = open_session(version, book=RecordingBook(), display_size=Decimal(40), faults=faults)
    try:
        events = Events(app)
        mkt = app.place("AAPL", market_order("BUY", 100))
        lmt = app.place("AAPL", limit_order("SELL", 30, 149.0))  # marketable: one fill of 30
        barrier(app)  # both placed before the clock moves
        sim.advance(1)
        sim.advance(1)

        def complete(rec: OrderRecord, n: int) -> bool:
            fills = list(rec.fills.values())
            return rec.status == "Filled" and len(fills) == n and all(f.commission for f in fills)

        events.wait(lambda: complete(mkt, 3) and complete(lmt, 1), "both orders filled")
        barrier(app)  # every message of the session has been handled
        assert len(app.book.records()) == 2
        return app.book, [mkt, lmt], list(events.seen)
    finally:
        close_session(sim, app)


@pytest.fixture(scope="module", params=VERSION_PARAMS)
def sessions(request) -> dict:
    """Per version: the session without faults, and one per seed with shuffles and repeats."""
    version = request.param
    runs = {None: session(version, Faults())}
    for seed in SEEDS:
        runs[seed] = session(
            version, Faults(duplicate_status=0.5, shuffle_order_events=True, seed=seed)
        )
    return runs


@pytest.mark.parametrize("seed", SEEDS)
def test_shuffled_and_repeated_callbacks_give_the_same_book(sessions, seed):
    _, expected, _ = sessions[None]
    book, records, seen = sessions[seed]
    assert [summary(r) for r in records] == [summary(r) for r in expected]
    for rec, n in zip(records, (3, 1), strict=True):
        check_events([e for e in seen if e.order_id == rec.order_id], n)
    assert book.fills_df()["exec_id"].is_unique and len(book.fills_df()) == 4


def test_the_faults_really_reorder_and_repeat(sessions):
    """Guards the test above: across the seeds, the disorder it claims to survive happens."""
    assert disorder(sessions[None][0].calls) == set()
    found = set()
    for seed in SEEDS:
        found |= disorder(sessions[seed][0].calls)
    assert found >= {"commission before fill", "Filled status before a fill", "status repeated"}


def disorder(calls: list[tuple[str, tuple]]) -> set[str]:
    """Which kinds of disorder a callback sequence shows."""
    seen_exec: set[str] = set()
    seen_status: set[tuple] = set()
    filled: set[int] = set()  # orders whose Filled orderStatus has arrived
    found = set()
    for name, args in calls:
        if name == "on_exec_details":
            seen_exec.add(args[2].execId)
            if args[2].orderId in filled:
                found.add("Filled status before a fill")
        elif name == "on_commission" and args[0].execId not in seen_exec:
            found.add("commission before fill")
        elif name == "on_order_status":
            if args in seen_status:
                found.add("status repeated")
            seen_status.add(args)
            if args[1] == "Filled":
                filled.add(args[0])
    return found


def replay(recorded_book: RecordingBook, records, calls) -> tuple[OrderBook, list[BookEvent]]:
    book = OrderBook(client_id=1)
    seen: list[BookEvent] = []
    book.subscribe(seen.append)
    book.accounts = list(recorded_book.accounts)
    for rec in records:  # the app registers before it sends: that never moves
        book.register_pending(1, rec.order_id, rec.sent_contract, rec.sent_order)
    for name, args in calls:
        getattr(book, name)(*args)
    return book, seen


def test_recorded_callbacks_in_any_order_give_the_same_book(sessions):
    book, records, _ = sessions[None]
    calls = [c for c in book.calls if c[0] != "on_error"]  # farm notices only
    rng = random.Random(20250102)
    orders = [list(reversed(calls))]  # every fill and commission before any openOrder
    for _ in range(200):
        shuffled = calls + rng.sample(calls, k=rng.randrange(0, 8))  # with repeats
        rng.shuffle(shuffled)
        orders.append(shuffled)
    expected = [summary(r) for r in records]
    for sequence in orders:
        replayed, seen = replay(book, records, sequence)
        got = [summary(replayed.get(r.order_id)) for r in records]
        assert got == expected
        assert len(replayed.records()) == 2
        for rec, n in zip(records, (3, 1), strict=True):
            check_events([e for e in seen if e.order_id == rec.order_id], n)


# ---------------------------------------------------------------------- error callback


def test_error_takes_both_callback_shapes():
    app = TwsApp()
    seen: list[Notice] = []
    app.subscribe(seen.append, Notice)
    app.ibapi.error(7, 1735828260000, 399, "Order message: warning", "")  # ibapi >= 10.33
    app.ibapi.error(8, 201, "Order rejected - reason:", '{"rejectReason": "x"}')  # older ibapi
    app.ibapi.error(9, 202, "Order Canceled - reason:")
    notices = {n.req_id: n for n in seen}  # no order of the book: notices
    assert (notices[7].code, notices[7].text, notices[7].error_time) == (
        399,
        "Order message: warning",
        1735828260000,
    )
    assert (notices[8].code, notices[8].advanced, notices[8].error_time) == (
        201,
        '{"rejectReason": "x"}',
        0,
    )
    assert (notices[9].code, notices[9].text) == (202, "Order Canceled - reason:")


def test_tws_error_time_reaches_the_book(app, sim):
    events = Events(app)
    rec = app.place("AAPL", limit_order("BUY", 1, 100.0))
    events.status(rec.order_id, "Submitted")
    app.cancel(rec.order_id)
    events.wait(lambda: any(e.code == 202 for e in rec.errors), "the 202")
    [entry] = [e for e in rec.errors if e.code == 202]
    moment = sim.clock.start + timedelta(seconds=sim.exchange.step)
    if app.server_version >= MIN_SERVER_VER_ERROR_TIME:
        assert entry.error_time == int(moment.timestamp() * 1000)
    else:
        assert entry.error_time == 0  # not on the wire before v194


def test_an_unknown_tws_notice_before_open_order_leaves_the_order_cancellable(app, sim):
    """A TWS message whose code twsapp does not know, for a new order before its openOrder, is
    attached and reported as an error: the order is not taken for rejected (no Rejected event
    for strategies) and cancel() still sends the cancel, which TWS carries out."""
    code = 9999
    assert errors.classify(code) is ErrorKind.ERROR  # guards the test: not in the table
    events = Events(app)
    details = app.contracts.lookup("AAPL")
    app.contracts.price_rules(details)  # cached: placing below needs no answer from TWS
    barrier(app)
    with app.book.lock:  # the api thread waits with openOrder until the notice is in
        rec = app.place(details, limit_order("BUY", 1, 100.0))
        app.ibapi.error(rec.order_id, 1735828260000, code, "a notice twsapp has no entry for", "")
        assert (rec.status, rec.rejected) == ("PendingSubmit", False)
        app.cancel(rec.order_id)
    events.status(rec.order_id, "Cancelled")
    assert [type(e).__name__ for e in events.of(rec.order_id, OrderError)] == ["OrderError"]
    assert not events.of(rec.order_id, Rejected)
    assert [e.code for e in rec.errors if e.code == code] == [code] and not rec.rejected
    assert [r.order_id for r in order_requests(sim, app.client_id)] == [rec.order_id] * 2


def test_events_reach_subscribers_in_order_with_the_book_unlocked(app):
    """Subscribers run after the lock is released, on the threads that released it (here the
    test's, after placing, and the api thread): another thread can take the lock meanwhile (it
    would dead-lock, and record nothing, otherwise), and the order's events come in order."""
    seen: list[tuple[StatusChanged, str, bool]] = []

    def subscriber(event: BookEvent) -> None:
        took: list[bool] = []

        def other() -> None:
            with app.book.lock:
                took.append(True)

        t = threading.Thread(target=other)
        t.start()
        t.join(timeout=10)
        seen.append((event, threading.current_thread().name, took == [True]))

    app.book.subscribe(subscriber)
    events = Events(app)
    rec = app.place("AAPL", market_order("BUY", 10))
    events.status(rec.order_id, "Filled")
    barrier(app)
    assert all(unlocked for _, _, unlocked in seen)
    callback_threads = {threading.current_thread().name, "tws-api", "tws-reader"}
    assert {name for _, name, _ in seen} <= callback_threads
    changes = [e for e, _, _ in seen if isinstance(e, StatusChanged)]
    assert [e.before for e in changes] == ["", *(e.after for e in changes[:-1])]
    assert (changes[0].after, changes[-1].after) == ("PendingSubmit", "Filled")


SESSION_SCRIPT = """
from twsapp.sim.server import SimServer, SimSettings
from twsapp.session import TwsApp
from twsapp.orders import limit_order, market_order
sim = SimServer(SimSettings(port=0, speed=0.0)).start()
app = TwsApp(request_timeout=10).start("127.0.0.1", sim.port, 1, timeout=10)
app.sync()
app.place("AAPL", market_order("BUY", 1))
rec = app.place("AAPL", limit_order("BUY", 1, 100.0))
app.current_time()
app.modify(rec.order_id, price=101.0)
app.cancel(rec.order_id)
app.current_time()
app.stop()
sim.stop()
"""


def test_a_session_prints_nothing():
    """No print, and no warning in a normal session: with logging left unconfigured (Python
    then writes warnings to stderr) both streams stay empty. Logging setup is the CLI's."""
    done = subprocess.run(
        [sys.executable, "-c", SESSION_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
