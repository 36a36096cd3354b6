"""The journal: ibapi's objects stored and read back equal, a book rebuilt from a real
session's entries equal to the live one, and rows that survive kill -9 whole."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest
from app_helpers import Events, barrier, quote
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE
from ibapi.contract import Contract
from ibapi.order import Order

from twsapp.book import OrderBook
from twsapp.journal import Journal, decode, encode
from twsapp.orders import limit_order, market_order


def test_values_come_back_equal_classes_decimals_and_unset_markers_included():
    order = limit_order("BUY", Decimal("12.5"), 101.25)
    order.trailStopPrice = UNSET_DOUBLE
    order.cashQty = float("inf")
    contract = Contract()
    contract.symbol, contract.conId = "AAPL", 265598
    back = decode(encode([7, contract, order, {"a": UNSET_DECIMAL}, None, "x"]))
    assert back[0] == 7 and back[4] is None and back[5] == "x"
    assert isinstance(back[1], Contract) and vars(back[1]) == vars(contract)
    assert isinstance(back[2], Order) and back[2].totalQuantity == Decimal("12.5")
    assert back[2].cashQty == float("inf") and back[2].trailStopPrice == UNSET_DOUBLE
    assert back[3] == {"a": UNSET_DECIMAL}
    with pytest.raises(TypeError, match="cannot store"):
        encode(object())


def _journaled(app, journal: Journal) -> None:
    """What the session will do by itself: every order callback journaled before the book."""
    book = app.book
    for kind, name in (("openOrder", "on_open_order"), ("orderStatus", "on_order_status"),
                       ("execDetails", "on_exec_details"), ("commissionReport", "on_commission"),
                       ("completedOrder", "on_completed_order"), ("error", "on_error")):  # fmt: skip
        live = getattr(book, name)

        def wrapped(*args, _live=live, _kind=kind):
            journal.record(_kind, *args)
            return _live(*args)

        setattr(book, name, wrapped)
    register = book.register_pending

    def place(client_id, order_id, contract, order, **options):
        journal.record("place", client_id, order_id, contract, order)
        return register(client_id, order_id, contract, order, **options)

    book.register_pending = place


def test_a_book_rebuilt_from_the_journal_equals_the_live_one(app, sim, tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    _journaled(app, journal)
    events = Events(app)
    q = quote(sim)
    filled = app.place("AAPL", market_order("BUY", 10))
    resting = app.place("AAPL", limit_order("BUY", 5, round(q.bid * 0.9, 2)))
    cancelled = app.place("AAPL", limit_order("SELL", 5, round(q.ask * 1.1, 2)))
    events.status(filled.order_id, "Filled")
    events.status(resting.order_id, "Submitted")
    app.cancel(cancelled.order_id)
    events.status(cancelled.order_id, "Cancelled")
    events.wait(lambda: all(f.commission is not None for f in filled.fills.values()), "fees")
    barrier(app)
    journal.close()

    reopened = Journal(tmp_path / "journal.sqlite")
    rebuilt = OrderBook(client_id=1)
    assert reopened.replay(rebuilt) == len(reopened) > 8
    columns = ["order_id", "perm_id", "status", "filled", "remaining", "avg_fill_price",
               "limit_price", "commission", "fills"]  # fmt: skip
    assert rebuilt.orders_df()[columns].equals(app.book.orders_df()[columns])
    assert (
        rebuilt.fills_df()
        .drop(columns=["time"], errors="ignore")
        .equals(app.book.fills_df().drop(columns=["time"], errors="ignore"))
    )
    again = OrderBook(client_id=1)
    reopened.replay(again)
    reopened.replay(again)  # replaying twice changes nothing: the book deduplicates
    assert again.orders_df()[columns].equals(rebuilt.orders_df()[columns])


WRITER = textwrap.dedent(
    """
    import sys
    from twsapp.journal import Journal
    from twsapp.orders import limit_order
    journal = Journal(sys.argv[1])
    for i in range(100000):
        seq = journal.record("place", 1, i, None, limit_order("BUY", 1, 100.0 + i / 100))
        print(seq, flush=True)
    """
)


@pytest.mark.parametrize("after", [50, 400])
def test_rows_survive_kill_9_whole_and_every_acknowledged_one_is_there(tmp_path, after):
    path = tmp_path / "journal.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdout is not None
    acknowledged = [int(proc.stdout.readline()) for _ in range(after)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    journal = Journal(path)
    entries = list(journal.entries())
    seqs = [e.seq for e in entries]
    assert seqs[: len(acknowledged)] == acknowledged  # none lost, in order
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no torn row
    for entry in entries:
        _, order_id, _, order = entry.args
        assert order.lmtPrice == pytest.approx(100.0 + order_id / 100)
