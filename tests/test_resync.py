"""What a resync settles, without a socket: which of the app's requests TWS never answered,
what it corrected, from when executions are asked for again; and the reconnect's waits."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from test_book import CID, execution, make_book, order, placed, stock

from twsapp.session.reconnect import Backoff
from twsapp.session.resync import (
    EXECUTIONS_MARGIN,
    corrections,
    executions_since,
    open_intents,
    overdue,
    snapshot,
)


def test_open_intents_are_the_unanswered_requests_of_this_client_only():
    book, _ = make_book()
    book.register_pending(CID, 1, stock(), order(1))  # never acknowledged
    placed(book, 2)
    book.request_modify(2, {"lmtPrice": 1500.0})
    book.request_modify(2, {"lmtPrice": 1501.0})
    placed(book, 3, perm=9003)
    book.request_cancel(3)
    placed(book, 4, perm=9004)  # working, nothing pending
    book.register_pending(CID + 1, 5, stock(), order(5))  # another client's
    book.register_pending(CID, 6, stock(), order(6))  # held for the reconnect: not sent
    intents = open_intents(book.records(), CID, held={(CID, 6)})
    assert intents.places == [(CID, 1)]
    assert intents.modifies == {(CID, 2): 2}
    assert intents.cancels == [(CID, 3)]
    assert len(intents) == 4


def test_overdue_are_requests_older_than_the_cutoff_even_on_orders_tws_ended():
    book, _ = make_book()
    book.register_pending(CID, 1, stock(), order(1))
    placed(book, 2, perm=9002)
    book.request_modify(2, {"lmtPrice": 1500.0})
    book.on_error(2, 202, "Order Canceled - reason:", client_id=CID)  # ended, modify pending
    placed(book, 3, perm=9003)  # answered: never overdue
    cutoff = book.get(3).updated
    assert [r.order_id for r in overdue(book.records(), CID, cutoff)] == [1, 2]
    assert overdue(book.records(), CID, book.get(1).created) == []  # nothing older than that
    assert overdue(book.records(), CID, cutoff, held={(CID, 1)})[0].order_id == 2


def test_corrections_name_each_changed_field_and_skip_new_orders():
    book, _ = make_book()
    placed(book, 1)
    before = snapshot(book.records())
    book.on_exec_details(-1, stock(), execution(1, "e1.01", 100, 1490.0, 100, 1490.0))
    placed(book, 2, perm=9002)  # new to the book: not a correction
    lines = corrections(before, book.records())
    assert lines == [
        "order 1: status Submitted -> Filled, filled 0 -> 100, 1 fill(s) added (e1.01)"
    ]
    assert corrections(snapshot(book.records()), book.records()) == []


def test_executions_are_asked_for_from_a_little_before_the_newest_known():
    book, _ = make_book()
    assert executions_since(book.records()) == ""  # none known: all of today's
    placed(book, 1)
    e = execution(1, "e1.01", 40, 1490.0, 40, 1490.0)
    e.time = "20250102 14:31:00 US/Eastern"
    book.on_exec_details(-1, stock(), e)
    e2 = execution(1, "e2.01", 60, 1490.0, 100, 1490.0)
    e2.time = "20250102 15:00:30 US/Eastern"
    book.on_exec_details(-1, stock(), e2)
    minutes = int(EXECUTIONS_MARGIN.total_seconds() // 60)
    assert executions_since(book.records()) == f"20250102 14:{60 - minutes}:30 US/Eastern"
    assert book.get(1).filled == Decimal(100)


@pytest.mark.parametrize("seed", range(5))
def test_backoff_doubles_up_to_its_cap_with_jitter_within_each_step(seed):
    backoff = Backoff(first=1.0, cap=60.0)
    rng = random.Random(seed)
    steps = [backoff.step(n) for n in range(1, 10)]
    assert steps == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    delays = [backoff.delay(n, rng) for n in range(1, 10)]
    assert all(s / 2 <= d <= s for s, d in zip(steps, delays, strict=True))
    assert len({round(d, 6) for d in delays[6:]}) == 3  # capped, yet not in lockstep
    assert not backoff.gives_up(10**6)
    assert Backoff(attempts=3).gives_up(4) and not Backoff(attempts=3).gives_up(3)


def test_backoff_refuses_waits_that_make_no_sense():
    with pytest.raises(ValueError, match="first"):
        Backoff(first=0, cap=1)
    with pytest.raises(ValueError, match="factor"):
        Backoff(factor=0.5)
