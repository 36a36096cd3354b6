"""Order-id allocation: seeding, bumping, resync after 103, and thread safety."""

from __future__ import annotations

import threading

import pytest
from ibapi.const import UNSET_INTEGER

from twsapp.exceptions import NotReadyError
from twsapp.session.ids import MAX_ORDER_ID, OrderIdAllocator


def take(allocator: OrderIdAllocator, n: int) -> list[int]:
    return [allocator.next() for _ in range(n)]


def test_no_id_before_next_valid_id():
    allocator = OrderIdAllocator()
    assert not allocator.ready and allocator.peek() is None
    with pytest.raises(NotReadyError, match="nextValidId has not arrived"):
        allocator.next()


def test_seed_then_consecutive_ids():
    allocator = OrderIdAllocator()
    allocator.seed(5)
    assert allocator.ready and allocator.peek() == 5
    assert take(allocator, 3) == [5, 6, 7]


def test_seed_never_moves_backwards():
    allocator = OrderIdAllocator()
    allocator.seed(5)
    take(allocator, 3)  # 5, 6, 7
    allocator.seed(3)  # a stale or lower nextValidId
    assert allocator.next() == 8
    allocator.seed(100)
    assert allocator.next() == 100


def test_observe_bumps_past_ids_seen_in_callbacks():
    allocator = OrderIdAllocator()
    allocator.seed(1)
    assert allocator.observe(41) is True
    assert allocator.next() == 42
    assert allocator.observe(10) is False  # below the mark: nothing moves
    assert allocator.next() == 43


def test_observe_before_seed_is_kept_but_does_not_make_ready():
    allocator = OrderIdAllocator()
    allocator.observe(50)
    assert not allocator.ready
    allocator.seed(10)
    assert allocator.next() == 51


@pytest.mark.parametrize("order_id", [0, -7, UNSET_INTEGER, 2**40])
def test_observe_ignores_ids_of_manual_orders_and_unset_markers(order_id):
    allocator = OrderIdAllocator()
    allocator.seed(3)
    assert allocator.observe(order_id) is False
    assert allocator.next() == 3


def test_error_103_invalidate_then_resync():
    allocator = OrderIdAllocator()
    allocator.seed(1)
    assert take(allocator, 2) == [1, 2]
    # TWS answered 103 for id 2: it already knew ids up to 9 from an earlier session
    allocator.observe(2)
    allocator.invalidate("error 103 (duplicate order id); waiting for reqIds(-1)")
    with pytest.raises(NotReadyError, match="error 103"):
        allocator.next()
    assert allocator.peek() is None
    allocator.resync(10)
    assert allocator.resyncs == 1
    assert allocator.next() == 10


def test_resync_never_reuses_an_id():
    allocator = OrderIdAllocator()
    allocator.seed(1)
    handed_out = take(allocator, 5)
    allocator.invalidate("error 103")
    allocator.resync(2)  # an answer lower than ids already handed out
    assert allocator.next() > max(handed_out)


def test_reconnect_keeps_the_high_water_mark():
    allocator = OrderIdAllocator()
    allocator.seed(1)
    first_session = take(allocator, 5)
    allocator.invalidate("disconnected")
    with pytest.raises(NotReadyError, match="disconnected"):
        allocator.next()
    allocator.seed(3)  # e.g. a restarted simulator starting its sequence lower
    second_session = take(allocator, 5)
    assert not set(first_session) & set(second_session)
    assert min(second_session) > max(first_session)


def test_the_id_space_ends_below_the_unset_marker():
    allocator = OrderIdAllocator()
    allocator.seed(MAX_ORDER_ID)
    assert allocator.next() == MAX_ORDER_ID == UNSET_INTEGER - 1
    with pytest.raises(NotReadyError, match="exhausted"):
        allocator.next()


def test_concurrent_allocation_is_unique_and_increasing_per_thread():
    allocator = OrderIdAllocator()
    allocator.seed(1000)
    threads_n, per_thread = 8, 2000
    barrier = threading.Barrier(threads_n + 1)
    results: list[list[int]] = [[] for _ in range(threads_n)]
    observer_failures: list[str] = []

    def allocate(slot: int) -> None:
        barrier.wait()
        for _ in range(per_thread):
            results[slot].append(allocator.next())

    def observe() -> None:
        # the api thread: every id seen in a callback is below every id allocated after it
        barrier.wait()
        for seen in range(5000, 200_000, 997):
            allocator.observe(seen)
            after = allocator.next()
            if after <= seen:
                observer_failures.append(f"observed {seen}, then got {after}")
            results_observer.append(after)

    results_observer: list[int] = []
    workers = [threading.Thread(target=allocate, args=(i,)) for i in range(threads_n)]
    workers.append(threading.Thread(target=observe))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert observer_failures == []
    every_id = [i for ids in results for i in ids] + results_observer
    assert len(every_id) == len(set(every_id)) == threads_n * per_thread + len(results_observer)
    assert min(every_id) >= 1000
    for ids in results:
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
