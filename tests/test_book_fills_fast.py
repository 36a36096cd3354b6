"""The fill side's shortcuts keep the book's guarantees: the positional Fill constructor, the
correction index built at an order's second fill, and commission reports that the fill takes
over (the book keeps only those still waiting for their fill)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from test_book import CID, Clock, commission, execution, make_book, order, placed, state, stock

from twsapp.book import OrderBook
from twsapp.book.events import CommissionReceived, FillReceived
from twsapp.book.model import Commission, Fill, new_fill


def _values() -> tuple:
    return ("x.01.01", 1, CID, 9001, "20250102  14:31:00", "BOT", Decimal(5), 10.5,
            Decimal(5), 10.5, "ISLAND", "DU1", 265598, "AAPL", 1.25, "USD", None)  # fmt: skip


def test_new_fill_is_the_dataclass_fill_and_stays_frozen():
    fill = new_fill(*_values())
    assert type(fill) is Fill
    assert fill == Fill(*_values())
    assert dataclasses.astuple(fill) == _values()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fill.price = 1.0  # type: ignore[misc]


def test_with_commission_changes_only_the_commission_fields():
    fill = new_fill(*_values())
    joined = fill.with_commission(Commission("x.01.01", 2.5, "EUR", 7.0))
    assert (joined.commission, joined.commission_currency, joined.realized_pnl) == (2.5, "EUR", 7.0)
    assert dataclasses.astuple(joined)[:-3] == _values()[:-3]
    assert fill.commission == 1.25  # the original is unchanged


def _exec(exec_id: str, shares: int, price: float, cum: int) -> None:
    return execution(1, exec_id, shares, price, cum, price)


def test_a_correction_of_the_first_fill_arriving_after_another_fill_replaces_it():
    book, _ = make_book()
    placed(book)
    book.on_exec_details(-1, stock(), _exec("a.01.01", 40, 10.0, 40))
    book.on_exec_details(-1, stock(), _exec("b.01.01", 60, 11.0, 100))
    book.on_exec_details(-1, stock(), _exec("a.01.02", 40, 10.5, 40))  # corrects the first
    book.on_exec_details(-1, stock(), _exec("b.01.00", 60, 9.0, 100))  # older than b.01.01
    rec = book.get(1)
    assert sorted(rec.fills) == ["a.01.02", "b.01.01"]
    assert sorted(rec.corrected_fills) == ["a.01.01", "b.01.00"]
    assert rec.filled == 100 and rec.avg_fill_price == pytest.approx(10.8)


def test_a_correction_of_a_lone_fill_replaces_it():
    book, seen = make_book()
    placed(book)
    book.on_exec_details(-1, stock(), _exec("a.01.01", 100, 10.0, 100))
    book.on_exec_details(-1, stock(), _exec("a.01.02", 100, 10.5, 100))
    rec = book.get(1)
    assert list(rec.fills) == ["a.01.02"] and list(rec.corrected_fills) == ["a.01.01"]
    [_, fix] = [e for e in seen if isinstance(e, FillReceived)]
    assert fix.replaces is not None and fix.replaces.exec_id == "a.01.01"


def test_a_repeated_commission_changes_nothing_once_its_fill_holds_it():
    book, seen = make_book()
    placed(book)
    book.on_commission(commission("a.01.01", 1.0))  # before its fill: kept aside
    assert book.on_commission(commission("a.01.01", 1.0)) == []
    assert [c.exec_id for c in book.unmatched_commissions()] == ["a.01.01"]
    book.on_exec_details(-1, stock(), _exec("a.01.01", 100, 10.0, 100))
    assert book.unmatched_commissions() == [] and book._commissions == {}  # the fill has it
    rec = book.get(1)
    n_log, n_seen = len(rec.log), len(seen)
    assert book.on_commission(commission("a.01.01", 1.0)) == []
    assert len(book.get(1).log) == n_log and len(seen) == n_seen
    assert rec.fills["a.01.01"].commission == 1.0 and rec.commission == 1.0


def test_a_commission_with_other_numbers_is_joined_again():
    book, _seen = make_book()
    placed(book)
    book.on_exec_details(-1, stock(), _exec("a.01.01", 100, 10.0, 100))
    assert len(book.on_commission(commission("a.01.01", 1.0))) == 1
    assert book.on_commission(commission("a.01.01", 1.0)) == []
    [event] = book.on_commission(commission("a.01.01", 1.0, pnl=5.0))
    assert isinstance(event, CommissionReceived) and event.fill.realized_pnl == 5.0
    assert book.get(1).fills["a.01.01"].realized_pnl == 5.0


def test_a_corrected_fills_commission_is_joined_once_and_not_counted():
    book, _ = make_book()
    placed(book)
    book.on_exec_details(-1, stock(), _exec("a.01.01", 100, 10.0, 100))
    book.on_exec_details(-1, stock(), _exec("a.01.02", 100, 10.5, 100))
    assert book.on_commission(commission("a.01.01", 1.0)) == []
    n_log = len(book.get(1).log)
    assert book.on_commission(commission("a.01.01", 1.0)) == []
    rec = book.get(1)
    assert len(rec.log) == n_log and rec.log[-1].event == "commission"
    assert rec.corrected_fills["a.01.01"].commission == 1.0 and rec.commission is None


def test_an_advisor_accounts_share_takes_its_commission_once():
    book = OrderBook(client_id=CID, clock=Clock())
    book.accounts = ["F1", "U1"]
    group = order(1)
    group.faGroup = "Two"
    book.register_pending(CID, 1, stock(), group)  # execDetails before TWS's openOrder
    share = execution(1, "s.01.01", 100, 10.0, 100, 10.0)
    share.acctNumber = "U1"
    book.on_exec_details(-1, stock(), share)
    rec = book.get(1)
    assert list(rec.allocations) == ["s.01.01"] and rec.fills == {}
    book.on_commission(commission("s.01.01", 1.0))
    n_log = len(book.get(1).log)
    assert book.on_commission(commission("s.01.01", 1.0)) == []
    rec = book.get(1)
    assert rec.allocations["s.01.01"].commission == 1.0 and len(rec.log) == n_log


def test_without_an_advisor_login_a_group_orders_execution_is_its_fill():
    book = OrderBook(client_id=CID, clock=Clock())
    book.accounts = ["U1", "U2"]
    group = order(1)
    group.faGroup = "Two"
    book.register_pending(CID, 1, stock(), group)
    book.on_exec_details(-1, stock(), execution(1, "s.01.01", 100, 10.0, 100, 10.0))
    book.on_open_order(1, stock(), group, state("Filled"))
    rec = book.get(1)
    assert list(rec.fills) == ["s.01.01"] and rec.allocations == {} and rec.filled == 100
