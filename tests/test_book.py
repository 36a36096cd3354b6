"""The order book fed with hand-written callback sequences (real ibapi objects, no socket)."""

from __future__ import annotations

import logging
import math
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER
from ibapi.contract import Contract
from ibapi.execution import Execution
from ibapi.order import Order
from ibapi.order_state import OrderState

from twsapp.book import (
    BookError,
    Cancelled,
    Filled,
    FillReceived,
    OrderBook,
    OrderError,
    Rejected,
    StatusChanged,
    frames,
)
from twsapp.book.error_policy import Effect, effect
from twsapp.errors import ErrorKind, classify

CID = 7
PERM = 9001


class Clock:
    """A deterministic clock: one second per call."""

    def __init__(self) -> None:
        self.t = datetime(2025, 1, 2, 14, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


def make_book() -> tuple[OrderBook, list]:
    book = OrderBook(client_id=CID, clock=Clock())
    seen: list = []
    book.subscribe(seen.append)
    return book, seen


def stock(symbol="AAPL", con_id=265598) -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency, c.conId = symbol, "STK", "SMART", "USD", con_id
    return c


def order(oid, qty=100, otype="LMT", lmt=1490.0, action="BUY", perm=PERM) -> Order:
    o = Order()
    o.orderId, o.clientId, o.permId = oid, CID, perm
    o.action, o.orderType, o.totalQuantity, o.tif, o.account = (
        action,
        otype,
        Decimal(qty),
        "DAY",
        "DU1",
    )
    o.lmtPrice = lmt if otype == "LMT" else 0.0
    o.auxPrice = 0.0
    return o


def state(status: str) -> OrderState:
    s = OrderState()
    s.status = status
    return s


def execution(oid, exec_id, shares, price, cum, avg, perm=PERM) -> Execution:
    e = Execution()
    e.orderId, e.clientId, e.permId, e.execId = oid, CID, perm, exec_id
    e.time, e.acctNumber, e.exchange, e.side = "20250102  14:31:00", "DU1", "ISLAND", "BOT"
    e.shares, e.price, e.cumQty, e.avgPrice = Decimal(shares), price, Decimal(cum), avg
    return e


def commission(exec_id, amount, pnl=UNSET_DOUBLE) -> CommissionAndFeesReport:
    r = CommissionAndFeesReport()
    r.execId, r.commissionAndFees, r.currency, r.realizedPNL = exec_id, amount, "USD", pnl
    r.yield_ = UNSET_DOUBLE
    return r


def status(book, oid, st, filled=0, remaining=100, avg=0.0, last=0.0, perm=PERM, why=""):
    return book.on_order_status(
        oid, st, Decimal(filled), Decimal(remaining), avg, perm, 0, last, CID, why, 0.0
    )


def placed(book, oid=1, **kw):
    """The app registered and sent the order; TWS acknowledged it as Submitted."""
    book.register_pending(CID, oid, stock(), order(oid, **kw))
    book.on_open_order(oid, stock(), order(oid, **kw), state("Submitted"))
    status(book, oid, "Submitted", remaining=kw.get("qty", 100))
    return book.get(oid)


def kinds(events):
    return [type(e).__name__ for e in events]


# ---------------------------------------------------------------------- dedup and ordering


def test_repeated_order_status_adds_nothing_and_emits_nothing():
    book, seen = make_book()
    placed(book)
    n_log, n_events = len(book.get(1).log), len(seen)
    assert status(book, 1, "Submitted") == []
    assert book.on_open_order(1, stock(), order(1), state("Submitted")) == []
    rec = book.get(1)
    assert len(rec.log) == n_log
    assert len(seen) == n_events
    assert rec.status == "Submitted"


def test_exec_details_before_open_order_is_joined():
    book, _seen = make_book()
    book.on_exec_details(-1, stock(), execution(5, "e1.01.01", 100, 10.0, 100, 10.0))
    assert book.get(5).status == "Unknown"  # seen, but TWS said nothing about its state yet
    book.on_open_order(5, stock(), order(5, otype="MKT"), state("PreSubmitted"))
    assert len(book.records()) == 1
    rec = book.get(5)
    assert rec is book.by_perm_id(PERM)
    assert rec.contract.exchange == "SMART"  # the order's contract, not the fill venue
    assert list(rec.fills) == ["e1.01.01"]
    assert rec.status == "Filled"  # fills add up to the order's 100
    assert (rec.filled, rec.remaining, rec.avg_fill_price) == (100, 0, 10.0)


def test_order_status_before_open_order_is_joined():
    book, _ = make_book()
    status(book, 3, "Submitted", filled=0, remaining=50)
    rec = book.get(3)
    assert rec.status == "Submitted" and rec.order is None and rec.remaining == 50
    book.on_open_order(3, stock(), order(3, qty=50), state("Submitted"))
    assert len(book.records()) == 1
    assert book.get(3).order_type == "LMT" and book.get(3).total_quantity == 50


def test_commission_before_exec_details_is_kept_and_joined():
    book, _seen = make_book()
    placed(book)
    assert book.on_commission(commission("e1.01.01", 1.25)) == []
    assert [c.exec_id for c in book.unmatched_commissions()] == ["e1.01.01"]
    events = book.on_exec_details(-1, stock(), execution(1, "e1.01.01", 100, 10.0, 100, 10.0))
    assert kinds(events) == ["FillReceived", "CommissionReceived", "Filled"]
    fill = book.get(1).fills["e1.01.01"]
    assert (fill.commission, fill.commission_currency, fill.realized_pnl) == (1.25, "USD", None)
    assert book.unmatched_commissions() == []
    assert book.get(1).commission == 1.25


def test_commission_never_arriving():
    book, _ = make_book()
    placed(book)
    book.on_exec_details(-1, stock(), execution(1, "e1.01.01", 100, 10.0, 100, 10.0))
    rec = book.get(1)
    assert rec.status == "Filled"
    assert rec.fills["e1.01.01"].commission is None and rec.commission is None
    df = book.fills_df()
    assert len(df) == 1 and math.isnan(df.loc[0, "commission"])


def test_market_order_whose_status_never_says_filled():
    book, _seen = make_book()
    book.register_pending(CID, 2, stock(), order(2, otype="MKT"))
    book.on_open_order(2, stock(), order(2, otype="MKT"), state("PreSubmitted"))
    status(book, 2, "Submitted", filled=0, remaining=100)
    book.on_exec_details(-1, stock(), execution(2, "m.01.01", 40, 20.0, 40, 20.0))
    assert book.get(2).status == "Submitted" and book.get(2).filled == 40
    assert book.get(2).remaining == 60
    events = book.on_exec_details(-1, stock(), execution(2, "m2.01.01", 60, 21.0, 100, 20.6))
    rec = book.get(2)
    assert rec.status == "Filled" and rec.done
    assert (rec.filled, rec.remaining) == (100, 0)
    assert rec.avg_fill_price == pytest.approx(20.6)
    assert rec.last_fill_price == 21.0
    assert isinstance(events[-1], Filled) and events[-1].before == "Submitted"


def test_late_submitted_after_filled_is_logged_but_ignored():
    book, seen = make_book()
    placed(book)
    status(book, 1, "Filled", filled=100, remaining=0, avg=10.0, last=10.0)
    n_events = len(seen)
    late = {"filled": 50, "remaining": 50, "avg": 10.0, "last": 10.0}  # sent before the Filled one
    assert status(book, 1, "Submitted", **late) == []
    rec = book.get(1)
    assert rec.status == "Filled" and rec.filled == 100 and rec.avg_fill_price == 10.0
    assert rec.log[-1].event == "ignored" and "Submitted" in rec.log[-1].text
    assert len(seen) == n_events
    n_log = len(rec.log)
    status(book, 1, "Submitted", **late)  # the same late message again: nothing at all
    status(book, 1, "Submitted")  # a copy of the earliest status: dropped as a duplicate
    assert len(book.get(1).log) == n_log


def test_done_status_only_moves_to_a_more_done_one():
    book, _ = make_book()
    placed(book)
    status(book, 1, "Cancelled", filled=0, remaining=100)
    status(book, 1, "Inactive", filled=0, remaining=100)
    assert book.get(1).status == "Cancelled"
    book.on_exec_details(-1, stock(), execution(1, "x.01.01", 100, 9.0, 100, 9.0))
    assert book.get(1).status == "Filled"  # fills are the truth


# ---------------------------------------------------------------------- modify


def test_modify_pending_then_applied_one_record_one_id_both_states_logged():
    book, _seen = make_book()
    placed(book, lmt=1490.0)
    mod = book.request_modify(1, {"price": 149.0})
    assert mod.state == "pending" and mod.order.lmtPrice == 149.0 and mod.order.orderId == 1
    assert book.get(1).limit_price == 1490.0  # unchanged until TWS confirms
    events = book.on_open_order(1, stock(), order(1, lmt=149.0), state("Submitted"))
    assert kinds(events) == ["ModifyApplied"]
    rec = book.get(1)
    assert len(book.records()) == 1 and rec.order_id == 1
    assert rec.limit_price == 149.0 and rec.status == "Submitted"
    assert [m.state for m in rec.modifications] == ["applied"]
    requested = [e for e in rec.log if e.event == "modify_requested"]
    applied = [e for e in rec.log if e.event == "modify_applied"]
    assert len(requested) == 1 and "1490.0 -> 149.0" in requested[0].text
    assert len(applied) == 1 and "149.0" in applied[0].text
    assert book.orders_df().loc[0, "modify"] == "applied"


@pytest.mark.parametrize(
    ("field", "there", "back"), [("price", 1490.01, 1490.0), ("quantity", 2, 1)]
)
def test_a_modify_back_to_earlier_terms_is_applied_though_tws_said_them_before(field, there, back):
    """TWS's answer to a modify back to the original terms repeats its first openOrder: it is
    news all the same, not a duplicate to drop."""
    book, _seen = make_book()
    placed(book, qty=1, lmt=1490.0)

    def echo(value):
        terms = {"qty": 1, "lmt": 1490.0} | {("lmt" if field == "price" else "qty"): value}
        return book.on_open_order(1, stock(), order(1, **terms), state("Submitted"))

    book.request_modify(1, {field: there})
    assert kinds(echo(there)) == ["ModifyApplied"]
    book.request_modify(1, {field: back})
    assert kinds(echo(back)) == ["ModifyApplied"]
    rec = book.get(1)
    assert [m.state for m in rec.modifications] == ["applied", "applied"]
    assert (rec.limit_price, rec.total_quantity) == (1490.0, 1)
    assert echo(back) == []  # a true repeat is still dropped


def test_a_modify_that_changes_nothing_is_refused():
    book, _seen = make_book()
    placed(book, lmt=1490.0)
    with pytest.raises(BookError, match="changes nothing"):
        book.request_modify(1, {"price": 1490.0})
    assert book.get(1).modifications == ()


@pytest.mark.parametrize("code", [110, 201])
def test_rejected_modify_leaves_the_order_working(code):
    book, seen = make_book()
    placed(book, lmt=1490.0)
    book.request_modify(1, {"lmtPrice": 149.003})
    events = book.on_error(1, code, "The price does not conform", "")
    assert kinds(events) == ["ModifyRejected"]
    rec = book.get(1)
    assert rec.status == "Submitted" and not rec.done and not rec.rejected
    assert rec.limit_price == 1490.0
    assert rec.modifications[0].state == "rejected" and rec.modifications[0].code == code
    assert rec.errors[-1].modify_seq == 1
    assert not any(isinstance(e, Cancelled) for e in seen)
    # TWS repeats the unchanged order: the modify stays rejected
    book.on_open_order(1, stock(), order(1, lmt=1490.0), state("Submitted"))
    assert book.get(1).modifications[0].state == "rejected"


def test_newer_modify_applied_supersedes_older_pending_one():
    book, _ = make_book()
    placed(book, lmt=100.0)
    book.request_modify(1, {"price": 101.0})
    book.request_modify(1, {"price": 102.0})
    book.on_open_order(1, stock(), order(1, lmt=102.0), state("Submitted"))
    assert [m.state for m in book.get(1).modifications] == ["superseded", "applied"]


def test_modify_refused_for_unknown_done_or_unmodifiable():
    book, _ = make_book()
    with pytest.raises(BookError, match="not in the book"):
        book.request_modify(42, {"price": 1.0})
    placed(book)
    with pytest.raises(BookError, match="cancel-and-replace"):
        book.request_modify(1, {"orderType": "MKT"})
    status(book, 1, "Filled", filled=100, remaining=0, avg=10.0)
    with pytest.raises(BookError, match="Filled"):
        book.request_modify(1, {"price": 1.0})
    with pytest.raises(BookError, match="Filled"):
        book.request_cancel(1)
    assert book.get(1).modifications == ()


# ---------------------------------------------------------------------- cancel and reject


def test_cancel_then_cancelled_with_202_logged_not_as_failure():
    book, seen = make_book()
    placed(book)
    events = book.request_cancel(1)
    assert book.get(1).status == "PendingCancel" and isinstance(events[0], StatusChanged)
    events = status(book, 1, "Cancelled", filled=0, remaining=100)
    assert kinds(events) == ["Cancelled"] and events[0].before == "PendingCancel"
    n_events = len(seen)
    assert book.on_error(1, 202, "Order Canceled - reason:", "") == []
    rec = book.get(1)
    assert rec.status == "Cancelled" and rec.errors[-1].code == 202
    assert not rec.errors[-1].is_failure
    assert len(seen) == n_events
    assert book.orders_df().loc[0, "last_error"] == ""


def test_error_202_alone_cancels():
    book, _ = make_book()
    placed(book)
    events = book.on_error(1, 202, "Order Canceled - reason:", "")
    assert kinds(events) == ["Cancelled"] and events[0].code == 202
    assert book.get(1).status == "Cancelled"


def test_refused_cancel_returns_to_the_previous_status():
    book, _ = make_book()
    placed(book)
    book.request_cancel(1)
    events = book.on_error(1, 10148, "OrderId 1 that needs to be cancelled cannot be cancelled")
    assert kinds(events) == ["StatusChanged", "OrderError"]
    assert book.get(1).status == "Submitted"


def test_a_duplicated_error_does_not_reject_a_second_modify():
    book, _ = make_book()
    placed(book, lmt=100.0)
    book.request_modify(1, {"price": 100.001})
    book.request_modify(1, {"price": 100.002})
    error = (1, 110, "The price does not conform to the minimum price variation", "", 1735828260000)
    assert kinds(book.on_error(*error)) == ["ModifyRejected"]
    assert book.on_error(*error) == []  # same code, text and TWS timestamp: the same message
    assert [m.state for m in book.get(1).modifications] == ["rejected", "pending"]


def test_cancel_that_could_not_be_sent_returns_to_working():
    book, _ = make_book()
    placed(book)
    book.request_cancel(1)
    assert kinds(book.on_error(1, 504, "Not connected")) == ["StatusChanged", "OrderError"]
    assert book.get(1).status == "Submitted"


def test_rejection_201_makes_the_order_inactive_and_rejected():
    book, _seen = make_book()
    book.register_pending(CID, 4, stock(), order(4))
    events = book.on_error(4, 201, "Order rejected - reason: insufficient margin", "")
    assert kinds(events) == ["Rejected"]
    rec = book.get(4)
    assert rec.status == "Inactive" and rec.rejected and rec.done
    assert rec.reject_reason.startswith("201: Order rejected")
    assert events[0].before == "PendingSubmit" and events[0].code == 201
    # TWS confirms Inactive: nothing new
    assert status(book, 4, "Inactive", filled=0, remaining=100) == []
    assert book.orders_df().loc[0, "rejected"]


def test_rejection_of_an_acknowledged_order_via_inactive_status():
    book, _ = make_book()
    placed(book)
    assert kinds(book.on_error(1, 201, "Order rejected - reason: x")) == ["OrderError"]
    assert book.get(1).status == "Submitted"  # TWS's status decides
    events = status(book, 1, "Inactive")
    assert kinds(events) == ["Rejected"] and book.get(1).rejected


def test_inferred_rejection_yields_to_what_tws_says():
    book, _ = make_book()
    book.register_pending(CID, 6, stock(), order(6))
    book.on_error(6, 201, "Order rejected - reason: will be overridden")
    assert book.get(6).status == "Inactive"
    status(book, 6, "Submitted")
    rec = book.get(6)
    assert rec.status == "Submitted" and not rec.rejected and not rec.done


def test_not_connected_504_for_a_new_order_means_nothing_was_sent():
    book, _ = make_book()
    book.register_pending(CID, 8, stock(), order(8))
    assert kinds(book.on_error(8, 504, "Not connected")) == ["Rejected"]


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (103, "Duplicate order id"),
        (110, "The price does not conform to the minimum price variation for this contract."),
        (201, "Order rejected - reason:"),
        (512, "Order Sending Error - could not encode"),  # ibapi: nothing was sent
        (579, "Invalid symbol in string - "),  # ibapi: non-ASCII text in the order
    ],
)
def test_codes_known_to_reject_reject_an_unacknowledged_order(code, text):
    book, _seen = make_book()
    book.register_pending(CID, 4, stock(), order(4))
    assert kinds(book.on_error(4, code, text)) == ["Rejected"]
    rec = book.get(4)
    assert (rec.status, rec.rejected, rec.reject_error.code) == ("Inactive", True, code)


def test_an_unknown_code_before_open_order_is_attached_never_a_rejection(caplog):
    book, seen = make_book()
    book.register_pending(CID, 4, stock(), order(4))
    n_events = len(seen)
    code, text = 123456, "a notice TWS sends that twsapp has no entry for"
    assert classify(code) is ErrorKind.ERROR  # guards the test: the code is not in the table
    with caplog.at_level(logging.WARNING, logger="twsapp"):
        events = book.on_error(4, code, text)
    assert kinds(events) == ["OrderError"] and kinds(seen[n_events:]) == ["OrderError"]
    assert (events[0].code, events[0].kind, events[0].text) == (code, ErrorKind.ERROR, text)
    rec = book.get(4)
    assert (rec.status, rec.rejected, rec.done, rec.reject_reason) == (
        "PendingSubmit", False, False, ""
    )  # fmt: skip
    assert (rec.errors[-1].code, rec.log[-1].event, rec.log[-1].code) == (code, "error", code)
    assert [r for r in caplog.records if str(code) in r.getMessage()], "not logged"
    assert not book.orders_df().loc[0, "rejected"]
    # the order can still be cancelled, and TWS's acknowledgement finds it still pending
    book.request_cancel(4)
    assert book.get(4).status == "PendingCancel"
    book.on_open_order(4, stock(), order(4), state("Submitted"))
    assert book.get(4).status == "PendingCancel"
    status(book, 4, "Cancelled", filled=0, remaining=100)
    assert book.get(4).status == "Cancelled"
    assert not [e for e in seen if isinstance(e, Rejected)]


def test_an_unknown_code_leaves_a_pending_modify_pending():
    book, _ = make_book()
    placed(book, lmt=100.0)
    book.request_modify(1, {"price": 101.0})
    assert kinds(book.on_error(1, 123456, "a notice about the modify")) == ["OrderError"]
    assert [m.state for m in book.get(1).modifications] == ["pending"]
    book.on_open_order(1, stock(), order(1, lmt=101.0), state("Submitted"))
    rec = book.get(1)
    assert [m.state for m in rec.modifications] == ["applied"] and rec.limit_price == 101.0


@pytest.mark.parametrize(
    ("kind", "acknowledged", "modify", "cancel", "expected"),
    [
        (ErrorKind.ERROR, False, False, False, Effect.ATTACHED),
        (ErrorKind.ERROR, False, True, False, Effect.ATTACHED),
        (ErrorKind.ERROR, True, True, False, Effect.ATTACHED),
        (ErrorKind.WARNING, False, False, False, Effect.ATTACHED),
        (ErrorKind.REJECT, False, False, False, Effect.ORDER_REJECTED),
        (ErrorKind.DUPLICATE_ID, False, False, False, Effect.ORDER_REJECTED),
        (ErrorKind.CONNECTIVITY, False, False, False, Effect.ORDER_REJECTED),
        (ErrorKind.REJECT, True, False, False, Effect.ATTACHED),
        (ErrorKind.REJECT, True, True, False, Effect.MODIFY_REJECTED),
        (ErrorKind.MODIFY_REJECT, False, True, False, Effect.MODIFY_REJECTED),
        (ErrorKind.CONNECTIVITY, True, False, True, Effect.CANCEL_REJECTED),
        (ErrorKind.CANCEL_REJECT, True, False, True, Effect.CANCEL_REJECTED),
        (ErrorKind.CANCEL, True, True, True, Effect.CANCELLED),
    ],
)
def test_error_policy(kind, acknowledged, modify, cancel, expected):
    book, _ = make_book()
    book.register_pending(CID, 1, stock(), order(1))
    if acknowledged:
        book.on_open_order(1, stock(), order(1), state("Submitted"))
    if modify:
        book.request_modify(1, {"price": 1491.0})
    if cancel:
        book.request_cancel(1)
    slot = book._by_key[(CID, 1)]
    assert effect(kind, slot) is expected


def test_warnings_and_unrelated_errors():
    book, seen = make_book()
    placed(book)
    assert kinds(book.on_error(1, 399, "Order Message: warning")) == ["OrderError"]
    assert book.get(1).status == "Submitted" and not book.get(1).errors[-1].is_failure
    # Not orders of this book: None, so the router makes a notice of them; nothing is attached.
    assert book.on_error(-1, 2104, "Market data farm connection is OK:usfarm") is None
    assert book.on_error(999, 200, "No security definition") is None
    assert isinstance(seen[-1], OrderError) and len(book.get(1).errors) == 1


# ---------------------------------------------------------------------- fills


def test_partial_fills_and_a_duplicate_exec():
    book, seen = make_book()
    placed(book, qty=100)
    book.on_exec_details(-1, stock(), execution(1, "p1.01.01", 30, 10.0, 30, 10.0))
    status(book, 1, "Submitted", filled=30, remaining=70, avg=10.0, last=10.0)
    assert book.on_exec_details(-1, stock(), execution(1, "p1.01.01", 30, 10.0, 30, 10.0)) == []
    rec = book.get(1)
    assert (rec.status, rec.filled, rec.remaining) == ("Submitted", 30, 70)
    book.on_exec_details(-1, stock(), execution(1, "p2.01.01", 70, 11.0, 100, 10.7))
    rec = book.get(1)
    assert (rec.status, rec.filled, rec.remaining) == ("Filled", 100, 0)
    assert rec.avg_fill_price == pytest.approx(10.7)
    assert len([e for e in seen if isinstance(e, FillReceived)]) == 2


def test_execution_correction_replaces_the_fill_in_either_order():
    for sequence in (["01", "02"], ["02", "01"]):
        book, _ = make_book()
        placed(book)
        prices = {"01": 10.0, "02": 10.5}
        for rev in sequence:
            e = execution(1, f"c1.abc.01.{rev}", 100, prices[rev], 100, prices[rev])
            book.on_exec_details(-1, stock(), e)
        rec = book.get(1)
        assert list(rec.fills) == ["c1.abc.01.02"]
        assert list(rec.corrected_fills) == ["c1.abc.01.01"]
        assert rec.filled == 100 and rec.avg_fill_price == 10.5


def test_same_prefix_on_another_contract_is_not_a_correction():
    book, _ = make_book()
    placed(book)
    book.on_exec_details(-1, stock(), execution(1, "k.1.01.01", 50, 10.0, 50, 10.0))
    book.on_exec_details(-1, stock("MSFT", 272093), execution(1, "k.1.01.02", 50, 20.0, 100, 15.0))
    assert sorted(book.get(1).fills) == ["k.1.01.01", "k.1.01.02"]
    assert book.get(1).corrected_fills == {}


def test_unset_markers_never_reach_the_record():
    book, _ = make_book()
    placed(book)
    book.on_order_status(
        1, "Submitted", UNSET_DECIMAL, UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER, UNSET_INTEGER,
        UNSET_DOUBLE, UNSET_INTEGER, "", UNSET_DOUBLE,
    )  # fmt: skip
    rec = book.get(1)
    assert rec.client_id == CID and rec.perm_id == PERM
    assert rec.avg_fill_price is None and rec.last_fill_price is None
    assert rec.mkt_cap_price is None and rec.remaining == 100 and rec.filled == 0


# ---------------------------------------------------------------------- threads and events


def test_events_are_delivered_after_the_outermost_lock_holder_leaves():
    book, seen = make_book()
    other_thread_got_lock = []

    def subscriber(event):
        t = threading.Thread(target=lambda: other_thread_got_lock.append(book.get(1) is not None))
        t.start()
        t.join(timeout=5)  # would dead-lock (and append nothing) if the lock were still held

    book.subscribe(subscriber)
    with book.lock:
        book.register_pending(CID, 1, stock(), order(1))
        assert seen == []  # queued while the app holds the lock
    assert kinds(seen) == ["StatusChanged"] and other_thread_got_lock == [True]


def test_events_are_delivered_in_order_when_two_threads_release_the_lock():
    """While one thread delivers, events another thread produces wait their turn behind it:
    a subscriber never sees an order's PendingSubmit after what followed it."""
    book = OrderBook(client_id=CID, clock=Clock())
    seen: list = []
    delivering, go_on = threading.Event(), threading.Event()

    def subscriber(event):
        seen.append((event.order_id, event.after))
        if len(seen) == 1:
            delivering.set()
            go_on.wait(timeout=10)  # the first delivery is slow

    book.subscribe(subscriber)

    def app_thread():
        with book.lock:
            book.register_pending(CID, 1, stock(), order(1))
            book.on_open_order(1, stock(), order(1), state("Submitted"))

    t = threading.Thread(target=app_thread)
    t.start()
    assert delivering.wait(timeout=10)
    book.register_pending(CID, 2, stock(), order(2, perm=PERM + 1))  # from this thread meanwhile
    go_on.set()
    t.join(timeout=10)
    assert seen == [(1, "PendingSubmit"), (1, "Submitted"), (2, "PendingSubmit")]


def test_a_subscriber_that_feeds_the_book_gets_the_new_events_after_the_current_one():
    """Never re-entrantly: a subscriber finishes one event before it is given the next."""
    book, _ = make_book()
    calls: list[str] = []

    def cancel_on_submit(event):
        calls.append(event.after)
        if event.after == "Submitted":
            book.request_cancel(1)  # on the delivering thread, the lock is free
        calls.append(f"/{event.after}")

    book.subscribe(cancel_on_submit)
    placed(book)
    assert calls == [
        "PendingSubmit", "/PendingSubmit", "Submitted", "/Submitted",
        "PendingCancel", "/PendingCancel",
    ]  # fmt: skip


def test_a_failing_subscriber_does_not_break_the_book():
    book, seen = make_book()
    book.subscribe(lambda e: 1 / 0)
    placed(book)
    assert book.get(1).status == "Submitted" and seen


def test_event_snapshots_do_not_change_afterwards():
    book, seen = make_book()
    placed(book)
    first = seen[-1]
    status(book, 1, "Filled", filled=100, remaining=0, avg=5.0)
    assert first.record.status == "Submitted" and book.get(1).status == "Filled"


# ---------------------------------------------------------------------- frames


def test_empty_frames_have_their_columns():
    book = OrderBook()
    assert list(book.orders_df().columns) == frames.ORDER_COLUMNS
    assert list(book.fills_df().columns) == frames.FILL_COLUMNS
    assert list(book.positions_df().columns) == frames.POSITION_COLUMNS
    assert list(book.account_df().columns) == frames.ACCOUNT_COLUMNS
    assert book.orders_df().empty


def test_frames_values():
    book, _ = make_book()
    placed(book, qty=10, lmt=50.0)
    book.on_exec_details(-1, stock(), execution(1, "f.01.01", 10, 49.5, 10, 49.5))
    book.on_commission(commission("f.01.01", 0.35, pnl=12.5))
    book.on_position("DU1", stock(), Decimal(10), 49.535)
    book.on_account_value("DU1", "NetLiquidation", "100000.50", "USD")
    book.on_account_value("DU1", "AccountType", "INDIVIDUAL", "")
    o = book.orders_df().iloc[0]
    assert (o.order_id, o.symbol, o.action, o.order_type, o.status) == (
        1,
        "AAPL",
        "BUY",
        "LMT",
        "Filled",
    )
    assert (o.quantity, o.limit_price, o.filled, o.remaining) == (10.0, 50.0, 10.0, 0.0)
    assert (o.avg_fill_price, o.commission, o.fills) == (49.5, 0.35, 1)
    assert math.isnan(o.aux_price)  # a LMT has no aux price: NaN, never 0.0 or an unset marker
    f = book.fills_df().iloc[0]
    assert (f.exec_id, f.shares, f.price, f.commission, f.realized_pnl) == (
        "f.01.01",
        10.0,
        49.5,
        0.35,
        12.5,
    )
    p = book.positions_df().iloc[0]
    assert (p.account, p.symbol, p.position, p.avg_cost) == ("DU1", "AAPL", 10.0, 49.535)
    a = book.account_df().set_index("tag")
    assert a.loc["NetLiquidation", "amount"] == 100000.5
    assert a.loc["AccountType", "value"] == "INDIVIDUAL" and math.isnan(
        a.loc["AccountType", "amount"]
    )


# ---------------------------------------------------------------------- order independence


def _state(book: OrderBook, oid: int):
    """Everything about the final record that must not depend on callback order."""
    rec = book.get(oid)
    fills = sorted(
        (f.exec_id, f.shares, f.price, f.commission, f.commission_currency)
        for f in rec.fills.values()
    )
    return (
        len(book.records()),
        rec.status,
        rec.filled,
        rec.remaining,
        rec.avg_fill_price,
        rec.last_fill_price,
        rec.perm_id,
        rec.rejected,
        rec.limit_price,
        rec.total_quantity,
        tuple(fills),
        tuple(sorted(rec.corrected_fills)),
        tuple(sorted((e.code, e.text) for e in rec.errors)),
        tuple(sorted(c.exec_id for c in book.unmatched_commissions())),
    )


def _open_mkt(status_text):
    return lambda b: b.on_open_order(1, stock(), order(1, otype="MKT"), state(status_text))


def _filled_in_one():
    o = _open_mkt
    return [
        o("PreSubmitted"),
        lambda b: status(b, 1, "PreSubmitted", 0, 100),
        lambda b: b.on_exec_details(
            -1, stock(), execution(1, "t.63f8.01.01", 100, 196.52, 100, 196.52)
        ),
        o("Filled"),
        lambda b: status(b, 1, "Filled", 100, 0, 196.52, 196.52),
        lambda b: b.on_commission(commission("t.63f8.01.01", 1.0)),
    ]


def _partial_with_correction():
    return [
        lambda b: b.on_open_order(1, stock(), order(1, lmt=10.05), state("Submitted")),
        lambda b: b.on_exec_details(-1, stock(), execution(1, "a.1.01.01", 60, 10.0, 60, 10.0)),
        lambda b: b.on_exec_details(-1, stock(), execution(1, "a.1.01.02", 60, 10.01, 60, 10.01)),
        lambda b: status(b, 1, "Submitted", 60, 40, 10.01, 10.01),
        lambda b: b.on_exec_details(-1, stock(), execution(1, "b.2.01.01", 40, 10.05, 100, 10.028)),
        lambda b: status(b, 1, "Filled", 100, 0, 10.026, 10.05),
        lambda b: b.on_commission(commission("a.1.01.01", 0.6)),
        lambda b: b.on_commission(commission("a.1.01.02", 0.61)),
        lambda b: b.on_commission(commission("b.2.01.01", 0.4)),
    ]


def _cancelled_after_partial():
    return [
        lambda b: b.on_open_order(1, stock(), order(1, lmt=10.0), state("Submitted")),
        lambda b: b.on_exec_details(-1, stock(), execution(1, "c.1.01.01", 40, 10.0, 40, 10.0)),
        lambda b: status(b, 1, "Submitted", 40, 60, 10.0, 10.0),
        lambda b: status(b, 1, "Cancelled", 40, 60, 10.0, 10.0),
        lambda b: b.on_error(1, 202, "Order Canceled - reason:"),
        lambda b: b.on_commission(commission("c.1.01.01", 0.2)),
        lambda b: b.on_commission(commission("zz.9.01.01", 9.9)),  # for no fill of ours
    ]


def _market_status_lags():
    o = _open_mkt
    return [
        o("PreSubmitted"),
        lambda b: status(b, 1, "Submitted", 0, 100),
        lambda b: b.on_exec_details(-1, stock(), execution(1, "m.1.01.01", 40, 20.0, 40, 20)),
        lambda b: status(b, 1, "Submitted", 40, 60, 20.0, 20.0),
        lambda b: b.on_exec_details(-1, stock(), execution(1, "m.2.01.01", 60, 21.0, 100, 20.6)),
        lambda b: b.on_commission(commission("m.2.01.01", 0.3)),
    ]


def _rejected_then_cancelled():
    return [
        lambda b: b.on_open_order(1, stock(), order(1, lmt=10.0), state("PreSubmitted")),
        lambda b: status(b, 1, "PreSubmitted", 0, 100),
        lambda b: b.on_error(1, 201, "Order rejected - reason: margin"),
        lambda b: status(b, 1, "Inactive", 0, 100),
        lambda b: status(b, 1, "Cancelled", 0, 100),
    ]


SCENARIOS = {
    "market_lags": (_market_status_lags, ("Filled", 100, 0, 20.6, 21.0)),
    "rejected": (_rejected_then_cancelled, ("Cancelled", 0, 100, None, None)),
    "filled": (_filled_in_one, ("Filled", 100, 0, 196.52, 196.52)),
    "corrected": (_partial_with_correction, ("Filled", 100, 0, 10.026, 10.05)),
    "cancelled": (_cancelled_after_partial, ("Cancelled", 40, 60, 10.0, 10.0)),
}


def _run(scenario: str, order_of_steps) -> OrderBook:
    book = OrderBook(client_id=CID, clock=Clock())
    steps = SCENARIOS[scenario][0]()
    book.register_pending(CID, 1, stock(), order(1))  # the app always registers first
    for i in order_of_steps:
        steps[i](book)
    return book


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenarios_in_their_natural_order(scenario):
    n = len(SCENARIOS[scenario][0]())
    book = _run(scenario, range(n))
    assert _state(book, 1)[1:6] == SCENARIOS[scenario][1]


@settings(max_examples=150, deadline=None)
@given(data=hs.data())
def test_final_record_does_not_depend_on_callback_order_or_duplicates(data):
    scenario = data.draw(hs.sampled_from(sorted(SCENARIOS)))
    n = len(SCENARIOS[scenario][0]())
    order_of_steps = data.draw(hs.permutations(range(n)))
    duplicates = data.draw(
        hs.lists(hs.tuples(hs.integers(0, n - 1), hs.integers(0, n)), max_size=6)
    )
    sequence = list(order_of_steps)
    for step, position in duplicates:
        sequence.insert(position, step)
    reference = _state(_run(scenario, range(n)), 1)
    assert _state(_run(scenario, sequence), 1) == reference
