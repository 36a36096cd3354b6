"""``twsapp journal export``: the orders, fills and entries of a real session's journal as CSV
and Parquet, equal to the live book; a missing journal is one line, exit 2."""

from __future__ import annotations

import pandas as pd
import pytest
from app_helpers import WAIT, Events

from twsapp.cli import main
from twsapp.journal import Journal
from twsapp.orders import market_order
from twsapp.session import TwsApp


@pytest.fixture
def journaled(sim, tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    app = TwsApp(journal=journal, request_timeout=WAIT)
    app.start("127.0.0.1", sim.port, 1, timeout=WAIT)
    events = Events(app)
    record = app.place("AAPL", market_order("BUY", 3))
    events.status(record.order_id, "Filled")
    events.wait(lambda: all(f.commission is not None for f in record.fills.values()), "fees")
    app.stop()
    journal.close()
    (tmp_path / "config.toml").write_text('[journal]\npath = "journal.sqlite"\n')
    return app, tmp_path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_the_books_orders_and_fills_and_every_entry(journaled, fmt, capsys):
    app, folder = journaled
    out = folder / "export"
    code = main(["journal", "export", "--config", str(folder / "config.toml"), "--format", fmt,
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    orders, fills, events = (read(out / f"{name}.{fmt}") for name in ("orders", "fills", "events"))
    live = app.book.orders_df()
    assert list(orders["order_id"]) == list(live["order_id"])
    assert list(orders["status"]) == ["Filled"]
    assert len(fills) == len(app.book.fills_df()) == 1
    assert fills["exec_id"].iloc[0] == app.book.fills_df()["exec_id"].iloc[0]
    kinds = list(events["kind"])
    assert kinds[0] == "place" and "execDetails" in kinds and "commissionReport" in kinds
    assert f"events.{fmt}: {len(events)} rows" in capsys.readouterr().out


def test_no_journal_is_one_line(tmp_path, capsys):
    (tmp_path / "config.toml").write_text('[journal]\npath = "none.sqlite"\n')
    assert main(["journal", "export", "--config", str(tmp_path / "config.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "journal.path" in err[0] and "none.sqlite" in err[0]
