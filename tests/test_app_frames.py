"""The pandas frames after a real session: columns, values, and no unset marker anywhere."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pandas as pd
import pytest
from app_helpers import AAPL, Events, barrier, quote
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER, UNSET_LONG

from twsapp.book import frames
from twsapp.orders import limit_order, market_order

MARKERS = {float(UNSET_INTEGER), float(UNSET_LONG), float(UNSET_DECIMAL), UNSET_DOUBLE}
MARKER_TEXTS = ("1.7976931348623157E308", "1.7976931348623157e+308", "2147483647", "inf")


def assert_clean(frame: pd.DataFrame) -> None:
    """No ibapi unset marker (or anything that big, or infinite) in any cell."""
    for column in frame.columns:
        for value in frame[column]:
            if value is None or value is pd.NA:
                continue
            if isinstance(value, float | int | Decimal) and not isinstance(value, bool):
                number = float(value)
                assert number != number or abs(number) < 1e300, (column, value)  # NaN is fine
                assert number not in MARKERS, (column, value)
            elif isinstance(value, str):
                assert not any(t in value for t in MARKER_TEXTS), (column, value)


@pytest.fixture
def session(app, sim):
    """Bought 100 (filled), a resting LMT modified once, a cancelled LMT; then sync()."""
    events = Events(app)
    bid = quote(sim).bid
    bought = app.place("AAPL", market_order("BUY", 100))
    resting = app.place("AAPL", limit_order("BUY", 5, round(bid - 5, 2)))
    gone = app.place("AAPL", limit_order("BUY", 7, round(bid - 6, 2)))
    events.wait(lambda: bought.status == "Filled" and bought.commission, "the fill")
    events.status(resting.order_id, "Submitted")
    events.status(gone.order_id, "Submitted")
    app.modify(resting.order_id, price=round(bid - 4, 2))
    app.cancel(gone.order_id)
    events.wait(lambda: resting.limit_price == round(bid - 4, 2), "the modify")
    events.status(gone.order_id, "Cancelled")
    app.sync()
    barrier(app)
    return SimpleNamespace(app=app, sim=sim, bought=bought, resting=resting, gone=gone, bid=bid)


def test_orders_frame(session):
    app, bought, resting, gone, bid = (
        session.app,
        session.bought,
        session.resting,
        session.gone,
        session.bid,
    )
    df = app.book.orders_df()
    assert list(df.columns) == frames.ORDER_COLUMNS
    assert len(df) == 3 and df["order_id"].is_unique
    assert str(df["order_id"].dtype) == "Int64" and str(df["quantity"].dtype) == "float64"
    rows = df.set_index("order_id")
    b, r, g = rows.loc[bought.order_id], rows.loc[resting.order_id], rows.loc[gone.order_id]
    ask = quote(session.sim).ask
    assert (b["status"], b["done"], b["order_type"], b["action"]) == ("Filled", True, "MKT", "BUY")
    assert (b["quantity"], b["filled"], b["remaining"], b["fills"]) == (100.0, 100.0, 0.0, 1)
    assert b["avg_fill_price"] == ask and b["last_fill_price"] == ask
    assert b["commission"] == 1.0 and pd.isna(b["limit_price"]) and pd.isna(b["aux_price"])
    assert (b["symbol"], b["con_id"], b["sec_type"], b["currency"]) == ("AAPL", AAPL, "STK", "USD")
    assert b["account"] == app.accounts[0] and b["perm_id"] == bought.perm_id
    assert (r["status"], r["done"], r["limit_price"], r["modify"]) == (
        "Submitted",
        False,
        round(bid - 4, 2),
        "applied",
    )
    assert r["filled"] == 0.0 and r["remaining"] == 5.0 and pd.isna(r["avg_fill_price"])
    assert pd.isna(r["commission"]) and r["fills"] == 0
    assert (g["status"], g["done"], g["rejected"], g["last_error"]) == (
        "Cancelled",
        True,
        False,
        "",
    )
    assert_clean(df)


def test_fills_frame_has_the_commission(session):
    app, bought = session.app, session.bought
    df = app.book.fills_df()
    assert list(df.columns) == frames.FILL_COLUMNS
    assert len(df) == 1 and df["exec_id"].is_unique  # sync's reqExecutions repeated it: once
    row = df.iloc[0]
    [fill] = bought.fills.values()
    assert row["exec_id"] == fill.exec_id and row["order_id"] == bought.order_id
    assert (row["side"], row["shares"], row["cum_qty"]) == ("BOT", 100.0, 100.0)
    assert row["price"] == bought.avg_fill_price == row["avg_price"]
    assert (row["commission"], row["commission_currency"]) == (1.0, "USD")
    assert (row["symbol"], row["con_id"], row["account"]) == ("AAPL", AAPL, app.accounts[0])
    assert row["time"].startswith(session.sim.clock.start.strftime("%Y%m%d "))
    assert_clean(df)


def test_positions_frame_after_sync_and_live_updates(session):
    app, bought = session.app, session.bought
    events = Events(app)
    df = app.book.positions_df()
    assert list(df.columns) == frames.POSITION_COLUMNS
    [row] = df.to_dict("records")
    assert (row["account"], row["con_id"], row["symbol"], row["sec_type"]) == (
        app.accounts[0],
        AAPL,
        "AAPL",
        "STK",
    )
    assert row["position"] == 100.0 and row["currency"] == "USD"
    cost = (bought.avg_fill_price * 100 + bought.commission) / 100  # commission included
    assert row["avg_cost"] == pytest.approx(cost)
    assert_clean(df)
    sold = app.place("AAPL", market_order("SELL", 40))
    events.status(sold.order_id, "Filled")
    events.wait(
        lambda: app.book.positions_df()["position"].tolist() == [60.0], "the position update"
    )


def test_account_frame_after_sync(session):
    app = session.app
    df = app.book.account_df()
    assert list(df.columns) == frames.ACCOUNT_COLUMNS
    values = df.set_index("tag")
    assert set(df["account"]) == {app.accounts[0]}
    for tag in ("NetLiquidation", "TotalCashValue", "BuyingPower", "GrossPositionValue"):
        assert values.loc[tag, "currency"] == "USD"
        assert values.loc[tag, "amount"] == float(values.loc[tag, "value"])
    assert values.loc["AccountType", "value"] and pd.isna(values.loc["AccountType", "amount"])
    assert values.loc["GrossPositionValue", "amount"] > 0  # the 100 bought
    assert_clean(df)
