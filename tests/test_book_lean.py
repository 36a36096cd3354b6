"""The book's lean paths (issue 12) give the same book as the full ones.

Events are built only for kinds somebody subscribes to; the fills' sums are kept running; the
order as sent is kept compact. None of that may change a record: each test compares against
the plain computation or against a book that builds everything.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from ibapi.order import Order
from ibapi.tag_value import TagValue
from test_book import CID, Clock, commission, execution, order, stock
from test_book import state as order_state
from test_book import status as order_status

from twsapp.book import OrderBook
from twsapp.book.events import CommissionReceived, FillReceived, StatusChanged
from twsapp.book.merge import FillStats
from twsapp.book.model import compact_order, expand_order
from twsapp.orders import limit_order


def _feed(book: OrderBook) -> list[list]:
    """One order's life: placed, acknowledged, two fills (one corrected), a late commission."""
    returned = [
        [book.register_pending(CID, 1, stock(), order(1))],
        book.on_open_order(1, stock(), order(1), order_state("Submitted")),
        order_status(book, 1, "Submitted"),
        book.on_commission(commission("e1.01.01", 1.0)),
        book.on_exec_details(-1, stock(), execution(1, "e1.01.01", 40, 10.0, 40, 10.0)),
        book.on_exec_details(-1, stock(), execution(1, "e2.01.01", 60, 10.5, 100, 10.3)),
        book.on_exec_details(-1, stock(), execution(1, "e2.01.02", 60, 10.25, 100, 10.15)),
        order_status(book, 1, "Filled", filled=100, remaining=0, avg=10.15, last=10.25),
        book.on_commission(commission("e2.01.02", 2.0)),
    ]
    return returned[1:]


def _state(book: OrderBook) -> tuple:
    rec = book.get(1)
    assert rec is not None
    return (rec.status, rec.filled, rec.remaining, rec.avg_fill_price, rec.last_fill_price,
            rec.commission, sorted(rec.fills), sorted(rec.corrected_fills),
            [(e.event, e.status_before, e.status_after, e.text) for e in rec.log])  # fmt: skip


def test_nobody_subscribed_builds_no_event_and_the_same_record():
    quiet = OrderBook(client_id=CID, clock=Clock())
    loud = OrderBook(client_id=CID, clock=Clock())
    seen: list = []
    loud.subscribe(seen.append)
    assert all(events == [] for events in _feed(quiet))
    _feed(loud)
    assert {type(e) for e in seen} >= {StatusChanged, FillReceived, CommissionReceived}
    assert _state(quiet) == _state(loud)


def test_only_the_kinds_subscribed_to_are_built():
    book = OrderBook(client_id=CID, clock=Clock())
    fills: list = []
    book.bus.subscribe(fills.append, FillReceived)
    returned = [e for events in _feed(book) for e in events]
    assert returned and all(isinstance(e, FillReceived) for e in returned)
    assert [e.fill.exec_id for e in fills] == ["e1.01.01", "e2.01.01", "e2.01.02"]
    assert fills[-1].replaces is not None and fills[-1].replaces.exec_id == "e2.01.01"


def test_running_fill_sums_equal_a_recount_after_fills_commissions_and_a_correction():
    book = OrderBook(client_id=CID, clock=Clock())
    _feed(book)
    slot = book._by_key[(CID, 1)]
    kept = slot.fills()
    recount = FillStats.of_fills(slot.rec.fills)
    assert (kept.quantity, kept.vwap, kept.last) == (recount.quantity, recount.vwap, recount.last)
    assert kept.quantity == Decimal(100) and slot.rec.avg_fill_price == recount.vwap


def test_the_order_as_sent_comes_back_whole_from_its_compact_form():
    sent = limit_order("SELL", 7, 151.25, tif="GTC", order_ref="mine")
    sent.algoStrategy, sent.algoParams = "Adaptive", [TagValue("adaptivePriority", "Normal")]
    sent.transmit, sent.orderId = False, 9
    back = expand_order(compact_order(sent))
    assert _fields(back) == _fields(sent)
    assert back.algoParams is not sent.algoParams  # the kept lists are never handed out
    assert compact_order(Order()) == ()  # a new order keeps nothing
    kept = compact_order(sent)
    assert dict(zip(kept[::2], kept[1::2], strict=True))["lmtPrice"] == 151.25


def _fields(order: Order) -> dict:
    """The order's attributes, ibapi's small value objects (no __eq__) by their own fields."""
    return {k: vars(v) if hasattr(v, "__dict__") else v for k, v in vars(order).items()}


def test_a_record_shows_the_order_it_sent_after_the_echo_replaced_it():
    book = OrderBook(client_id=CID, clock=Clock())
    sent = order(1)
    sent.orderRef = "as sent"
    book.register_pending(CID, 1, stock(), sent)
    echo = order(1)
    echo.orderRef, echo.permId = "echo", 424242
    book.on_open_order(1, stock(), echo, order_state("Submitted"))
    rec = book.get(1)
    assert rec is not None and rec.order is echo
    assert rec.sent_order is not None and rec.sent_order.orderRef == "as sent"
    assert _fields(rec.sent_order) == _fields(sent)


def test_an_order_registered_whole_is_compacted_after_the_send_into_the_same_sent_order():
    book = OrderBook(client_id=CID, clock=Clock())
    sent = order(1)
    sent.orderRef = "as sent"
    rec = book.register_pending(CID, 1, stock(), sent, sending=True)
    whole = rec.sent_order
    assert whole is not None and whole is not sent and _fields(whole) == _fields(sent)
    book.announce([rec])
    assert isinstance(rec.sent_terms, tuple)
    assert rec.sent_order is not None and _fields(rec.sent_order) == _fields(sent)


def _statuses(events: list) -> list[tuple[int, str]]:
    return [(e.order_id, e.after) for e in events if isinstance(e, StatusChanged)]


def test_a_sender_registers_first_and_announces_once_the_message_is_out():
    """Before the send the book makes only the record; the log line and the PendingSubmit
    event come with ``announce``, stamped with the registration's time."""
    book = OrderBook(client_id=CID, clock=Clock())
    events: list = []
    book.subscribe(events.append)
    rec = book.register_pending(CID, 1, stock(), order(1), sending=True)
    assert book.get(1) is rec and rec.status == "PendingSubmit"
    assert rec.log == () and events == []
    book.announce([rec])
    assert [(e.event, e.status_after, e.time) for e in rec.log] == [
        ("registered", "PendingSubmit", rec.created)
    ]
    assert _statuses(events) == [(1, "PendingSubmit")]
    book.announce([rec])  # again: nothing twice
    assert len(rec.log) == 1 and len(events) == 1


@pytest.mark.parametrize("first", ["openOrder", "orderStatus", "error", "cancel"])
def test_tws_answering_before_the_sender_announces_keeps_the_order_of_log_and_events(first):
    book = OrderBook(client_id=CID, clock=Clock())
    events: list = []
    book.subscribe(events.append)
    rec = book.register_pending(CID, 1, stock(), order(1), sending=True)
    if first == "openOrder":
        echo = order(1)
        echo.permId = 77
        book.on_open_order(1, stock(), echo, order_state("PreSubmitted"))
        after = "PreSubmitted"
    elif first == "orderStatus":
        book.on_order_status(1, "Submitted", Decimal(0), Decimal(100), 0.0, 77, 0, 0.0, CID, "")
        after = "Submitted"
    elif first == "error":
        book.on_error(1, 201, "Order rejected - reason: no")
        after = "Inactive"
    else:
        book.request_cancel(1)
        after = "PendingCancel"
    book.announce([rec])
    assert rec.log[0].event == "registered"
    assert [e.event for e in rec.log].count("registered") == 1
    assert _statuses(events) == [(1, "PendingSubmit"), (1, after)]
    assert isinstance(rec.sent_terms, tuple)


def test_tws_answering_one_leg_first_announces_every_leg_registered_before_it():
    """A bracket's legs are registered together and sent one after the other: TWS's word on
    the parent may come before the sender announces; every leg's PendingSubmit still comes
    first, in order, as when each was announced at registration."""
    book = OrderBook(client_id=CID, clock=Clock())
    events: list = []
    book.subscribe(events.append)
    legs = [book.register_pending(CID, i, stock(), order(i), sending=True) for i in (1, 2, 3)]
    echo = order(1)
    echo.permId = 77
    book.on_open_order(1, stock(), echo, order_state("PreSubmitted"))
    book.announce(legs)
    assert _statuses(events) == [
        (1, "PendingSubmit"), (2, "PendingSubmit"), (3, "PendingSubmit"), (1, "PreSubmitted")
    ]  # fmt: skip
    assert all([e.event for e in leg.log].count("registered") == 1 for leg in legs)
