"""Every time in force end to end: the app's builders, validation and book against the simulator
over a real socket, at a text and a protobuf server version.

Each TIF has a case where it fills and one where it expires or is cancelled, each asserting the
fill price, the statuses as TWS reports them and the book's final state. Sessions come from the
exchange calendar: Thanksgiving 2026 (Thursday 26 November) is closed, the Friday after it
closes at 13:00 (17:00 after hours). Prices are replayed bars (``points``: second -> price,
flat between), bid and ask the simulator's around them; time is the manual clock.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from app_helpers import AAPL, Events, barrier
from ibapi.contract import Contract

from twsapp import OrderValidationError
from twsapp.orders import limit_order, market_order

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
FILLED = ["PendingSubmit", "PreSubmitted", "Submitted", "Filled"]
EXPIRED = ["PendingSubmit", "PreSubmitted", "Submitted", "Cancelled"]
ES_Z6 = 515416632


def ny(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=NEW_YORK)


@pytest.fixture
def market(sim_factory, app_factory, server_version, tmp_path):
    """``market(start, points)``: a simulator from ``start`` replaying AAPL at ``points``
    (seconds from the start -> price, flat until the next), and an app connected to it."""

    def make(start: datetime, points: dict[int, float] | None = None, **settings):
        rows = sorted((points or {0: 100.0}).items())
        csv = tmp_path / "aapl.csv"
        body = "\n".join(f"{s},{p},{p},{p},{p}" for s, p in rows)
        csv.write_text("time,open,high,low,close\n" + body + "\n")
        sim = sim_factory(
            server_version=server_version, start=start, bars={"AAPL": str(csv)}, **settings
        )
        return sim, app_factory(sim)

    return make


def advance(sim, app, seconds: int) -> None:
    sim.advance(seconds)
    barrier(app)


def quote(sim, second: int):
    return sim.exchange.prices.quote(AAPL, float(second))


def statuses(record) -> list[str]:
    out: list[str] = []
    for entry in record.log:
        if entry.status_after and (not out or out[-1] != entry.status_after):
            out.append(str(entry.status_after))
    return out


def place(app, order, contract="AAPL", wait: str = "Submitted"):
    events = Events(app)
    rec = app.place(contract, order)
    events.status(rec.order_id, wait)
    return rec, events


def ended_at(sim, rec) -> int:
    """The simulated second the order was done (filled or cancelled) on the simulator."""
    return sim.exchange.orders[(1, rec.order_id)].done_step


def filled_at(rec, price: float, quantity: int) -> None:
    assert rec.status == "Filled" and rec.filled == quantity and rec.remaining == 0
    assert rec.avg_fill_price == price and rec.last_fill_price == price
    assert [fill.price for fill in rec.fills.values()] == [price]


def expired(rec, quantity: int) -> None:
    assert rec.status == "Cancelled" and rec.filled == 0 and rec.remaining == quantity
    assert not rec.fills and statuses(rec) == EXPIRED


def seconds(start: datetime, moment: datetime) -> int:
    return int((moment - start).total_seconds())


# ---------------------------------------------------------------------- DAY, GTC, outsideRth


def test_day_fills_in_its_session(market):
    start = ny(25, 10)
    sim, app = market(start, {0: 100.0, 60: 98.0})
    rec, events = place(app, limit_order("BUY", 10, 99.0))
    advance(sim, app, 59)
    assert rec.status == "Submitted" and not rec.fills
    advance(sim, app, 1)
    events.wait(lambda: rec.status == "Filled", "the fill")
    filled_at(rec, quote(sim, 60).ask, 10)
    assert statuses(rec) == FILLED


def test_day_expires_at_the_early_close_after_thanksgiving(market):
    """13:00 for the regular session, 17:00 with outsideRth (the after-hours keep 4 hours)."""
    start = ny(27, 12, 59)
    sim, app = market(start)
    rth, events = place(app, limit_order("BUY", 10, 90.0))
    extended, _ = place(app, limit_order("BUY", 5, 90.0, outside_rth=True))
    advance(sim, app, 59)
    assert rth.status == extended.status == "Submitted"
    advance(sim, app, 1)
    events.wait(lambda: rth.status == "Cancelled", "the 13:00 expiry")
    expired(rth, 10)
    assert ended_at(sim, rth) == seconds(start, ny(27, 13))
    assert extended.status == "Submitted"
    advance(sim, app, 4 * 3600)
    events.wait(lambda: extended.status == "Cancelled", "the 17:00 expiry")
    expired(extended, 5)
    assert ended_at(sim, extended) == seconds(start, ny(27, 17))


def test_no_trading_on_thanksgiving_queued_day_gtc_and_after_hours_orders(market):
    """Placed Wednesday at 16:30: a DAY order (regular hours) is queued for the next trading day
    (Friday: Thursday is a holiday) and expires at its 13:00 close; a GTC order fills at
    Friday's open; with outsideRth a marketable DAY order fills at once after hours, and one
    that is not expires at 20:00."""
    start = ny(25, 16, 30)
    friday_open = seconds(start, ny(27, 9, 30))
    sim, app = market(start, {0: 100.0, friday_open: 98.0})
    after_hours, events = place(app, limit_order("BUY", 10, 101.0, outside_rth=True), wait="Filled")
    filled_at(after_hours, quote(sim, 0).ask, 10)
    assert statuses(after_hours) == FILLED
    evening = place(app, limit_order("BUY", 10, 97.0, outside_rth=True))[0]
    gtc = place(app, limit_order("BUY", 10, 99.0, tif="GTC"))[0]
    queued = place(app, limit_order("BUY", 10, 97.0))[0]
    advance(sim, app, seconds(start, ny(25, 20)))
    events.wait(lambda: evening.status == "Cancelled", "the 20:00 expiry")
    expired(evening, 10)
    advance(sim, app, seconds(ny(25, 20), ny(27, 9, 29, 59)))  # through the holiday
    assert gtc.status == queued.status == "Submitted" and not gtc.fills
    advance(sim, app, 1)
    events.wait(lambda: gtc.status == "Filled", "the GTC fill at Friday's open")
    filled_at(gtc, quote(sim, friday_open).ask, 10)
    assert statuses(gtc) == FILLED
    assert queued.status == "Submitted"
    advance(sim, app, seconds(ny(27, 9, 30), ny(27, 13)))
    events.wait(lambda: queued.status == "Cancelled", "Friday's 13:00 expiry")
    expired(queued, 10)
    assert ended_at(sim, queued) == seconds(start, ny(27, 13))


def test_a_future_day_order_expires_at_the_cme_holiday_halt(market):
    """CME equity futures trade Thanksgiving morning and halt at 12:00 CT (CMES calendar)."""
    start = datetime(2026, 11, 26, 11, 59, tzinfo=CHICAGO)
    sim, app = market(start)
    es = Contract()
    es.conId, es.exchange = ES_Z6, "CME"
    rec, events = place(app, limit_order("BUY", 1, 1000.0), contract=es)
    advance(sim, app, 60)
    events.wait(lambda: rec.status == "Cancelled", "the 12:00 CT expiry")
    expired(rec, 1)
    assert ended_at(sim, rec) == 60


# ---------------------------------------------------------------------- IOC, FOK


def test_ioc_fills_what_it_can_at_once_and_cancels_the_rest(market):
    sim, app = market(ny(25, 10), display_size=Decimal(100))
    rec, _ = place(app, limit_order("BUY", 300, 101.0, tif="IOC"), wait="Cancelled")
    assert rec.filled == 100 and rec.remaining == 200 and rec.avg_fill_price == quote(sim, 0).ask
    assert [f.shares for f in rec.fills.values()] == [100]
    assert statuses(rec) == EXPIRED


def test_ioc_not_marketable_is_cancelled_at_once(market):
    sim, app = market(ny(25, 10))
    rec, _ = place(app, limit_order("BUY", 10, 95.0, tif="IOC"), wait="Cancelled")
    expired(rec, 10)
    assert ended_at(sim, rec) == 0


def test_fok_fills_all_of_it_at_once(market):
    sim, app = market(ny(25, 10), display_size=Decimal(100))
    rec, _ = place(app, limit_order("BUY", 100, 101.0, tif="FOK"), wait="Filled")
    filled_at(rec, quote(sim, 0).ask, 100)
    assert statuses(rec) == FILLED


def test_fok_larger_than_the_market_shows_fills_nothing(market):
    """IOC would take the 100 shown; FOK takes all 300 or nothing."""
    sim, app = market(ny(25, 10), display_size=Decimal(100))
    rec, _ = place(app, limit_order("BUY", 300, 101.0, tif="FOK"), wait="Cancelled")
    expired(rec, 300)
    assert ended_at(sim, rec) == 0 and not sim.exchange.fills


# ---------------------------------------------------------------------- OPG


def test_market_on_open_fills_at_the_opening_price(market):
    start = ny(25, 9)
    sim, app = market(start, {0: 100.0, 1800: 101.5})
    rec, events = place(app, market_order("BUY", 10, tif="OPG"), wait="PreSubmitted")
    advance(sim, app, 1799)  # 09:29:59
    assert rec.status == "PreSubmitted" and not rec.fills
    advance(sim, app, 1)
    events.wait(lambda: rec.status == "Filled", "the opening auction")
    filled_at(rec, 101.5, 10)
    assert next(iter(rec.fills.values())).time.startswith("20261125 09:30:00")
    assert statuses(rec) == FILLED


def test_limit_on_open_beyond_its_limit_is_cancelled_at_the_open(market):
    start = ny(25, 9)
    sim, app = market(start, {0: 100.0, 1800: 101.5})
    rec, events = place(app, limit_order("BUY", 10, 101.0, tif="OPG"), wait="PreSubmitted")
    advance(sim, app, 1800)
    events.wait(lambda: rec.status == "Cancelled", "the opening auction")
    assert not rec.fills and rec.filled == 0
    assert statuses(rec) == ["PendingSubmit", "PreSubmitted", "Cancelled"]
    assert ended_at(sim, rec) == 1800


def test_opening_orders_after_the_cut_off_and_after_the_open_are_refused(market):
    """Nasdaq and NYSE take opening orders until 09:28 and let none be cancelled after it."""
    start = ny(25, 9, 27)
    sim, app = market(start)
    moo, events = place(app, market_order("BUY", 10, tif="OPG"), wait="PreSubmitted")
    advance(sim, app, 90)  # 09:28:30
    late = app.place("AAPL", market_order("BUY", 10, tif="OPG"))
    events.wait(lambda: late.rejected, "the refusal")
    assert late.reject_error.code == 201 and "cannot be placed after 09:28" in late.reject_reason
    app.cancel(moo.order_id)
    events.wait(lambda: moo.errors, "the cancel's refusal")
    barrier(app)
    assert moo.errors[-1].code == 10148 and moo.status == "PreSubmitted"
    advance(sim, app, 32 * 60)  # 10:00: the auction is over
    assert moo.status == "Filled"
    closed = app.place("AAPL", limit_order("BUY", 10, 100.0, tif="OPG"))
    events.wait(lambda: closed.rejected, "the refusal")
    assert closed.reject_reason.endswith("Exchange is closed.")


def test_opg_is_checked_before_sending():
    with pytest.raises(OrderValidationError, match="market- or limit-on-open") as refused:
        from twsapp.order_builders import market_if_touched_order

        market_if_touched_order("BUY", 10, 99.0, tif="OPG")
    assert refused.value.field == "tif"
    with pytest.raises(OrderValidationError, match="outsideRth is not available") as refused:
        market_order("BUY", 10, tif="OPG", outside_rth=True)
    assert refused.value.field == "outsideRth"


# ---------------------------------------------------------------------- GTD


def test_gtd_fills_before_its_time(market):
    start = ny(25, 10)
    sim, app = market(start, {0: 100.0, 1800: 98.0})
    order = limit_order("BUY", 10, 99.0, tif="GTD", good_till_date="20261125 11:00:00 US/Eastern")
    rec, events = place(app, order)
    advance(sim, app, 1800)
    events.wait(lambda: rec.status == "Filled", "the fill")
    filled_at(rec, quote(sim, 1800).ask, 10)
    assert statuses(rec) == FILLED


def test_gtd_expires_at_its_time_in_utc(market):
    start = ny(25, 10)
    sim, app = market(start)
    order = limit_order("BUY", 10, 97.0, tif="GTD", good_till_date="20261125-16:00:00")
    rec, events = place(app, order)
    advance(sim, app, 3599)
    assert rec.status == "Submitted"
    advance(sim, app, 1)  # 11:00 New York is 16:00 UTC
    events.wait(lambda: rec.status == "Cancelled", "the expiry")
    expired(rec, 10)
    assert ended_at(sim, rec) == 3600


def test_gtd_already_past_is_refused(market):
    _, app = market(ny(25, 10))
    events = Events(app)
    order = limit_order("BUY", 10, 97.0, tif="GTD", good_till_date="20261125 09:00:00 US/Eastern")
    rec = app.place("AAPL", order)
    events.wait(lambda: rec.rejected, "the refusal")
    assert rec.reject_error.code == 201 and "already passed" in rec.reject_reason


def test_gtd_terms_are_checked_before_sending():
    with pytest.raises(OrderValidationError) as refused:
        limit_order("BUY", 10, 97.0, good_till_date="20261125 11:00:00 US/Eastern")
    assert refused.value.field == "goodTillDate" and "tif='GTD'" in str(refused.value)
    with pytest.raises(OrderValidationError) as refused:
        limit_order("BUY", 10, 97.0, tif="GTD", good_till_date="20261125 11:00:00 Mars/Olympus")
    assert refused.value.field == "goodTillDate"


# ---------------------------------------------------------------------- OVERNIGHT


def overnight() -> Contract:
    contract = Contract()
    contract.symbol, contract.secType, contract.currency = "AAPL", "STK", "USD"
    contract.exchange = "OVERNIGHT"
    return contract


def test_overnight_orders_work_only_in_the_overnight_session(market):
    """Placed at 19:59 (outside its hours) a marketable limit waits; it fills at 20:00 on the
    OVERNIGHT venue. A DAY order that does not fill expires when the session ends, 03:50."""
    start = ny(24, 19, 59)
    sim, app = market(start)
    rec, events = place(app, limit_order("BUY", 10, 101.0), contract=overnight())
    assert rec.contract.exchange == "OVERNIGHT"
    lapse = place(app, limit_order("BUY", 10, 97.0), contract=overnight())[0]
    advance(sim, app, 59)
    assert rec.status == "Submitted" and not rec.fills
    advance(sim, app, 1)
    events.wait(lambda: rec.status == "Filled", "the overnight fill")
    filled_at(rec, quote(sim, 60).ask, 10)
    assert next(iter(rec.fills.values())).exchange == "OVERNIGHT"
    assert statuses(rec) == FILLED
    advance(sim, app, seconds(ny(24, 20), ny(25, 3, 50)))
    events.wait(lambda: lapse.status == "Cancelled", "the 03:50 expiry")
    expired(lapse, 10)
    assert ended_at(sim, lapse) == seconds(start, ny(25, 3, 50))


def test_no_overnight_session_runs_into_thanksgiving(market):
    """Wednesday evening's session would end on Thanksgiving: the next one opens Thursday 20:00."""
    start = ny(25, 21)
    sim, app = market(start)
    rec, events = place(app, limit_order("BUY", 10, 101.0, tif="GTC"), contract=overnight())
    advance(sim, app, seconds(start, ny(26, 19, 59, 59)))
    assert rec.status == "Submitted" and not rec.fills
    advance(sim, app, 1)
    events.wait(lambda: rec.status == "Filled", "Thursday evening's fill")
    filled_at(rec, quote(sim, seconds(start, ny(26, 20))).ask, 10)


def test_overnight_takes_limit_orders_only(market, connect):
    sim, app = market(ny(24, 21))
    with pytest.raises(OrderValidationError, match="limit orders only") as refused:
        app.place(overnight(), market_order("BUY", 10))
    assert refused.value.field == "orderType"
    with pytest.raises(OrderValidationError, match="'DAY' or 'GTC'"):
        app.place(overnight(), limit_order("BUY", 10, 100.0, tif="IOC"))
    raw = connect(sim, client_id=7)  # a program without twsapp's checks: TWS's answer
    order_id = raw.next_id()
    since = raw.mark()
    raw.placeOrder(order_id, overnight(), market_order("BUY", 10))
    error = raw.wait("error", since)
    assert error.errorCode == 201 and "OVERNIGHT destination takes limit orders" in (
        error.errorString
    )


def test_opg_for_futures_and_overnight_for_futures_are_refused_before_sending():
    from twsapp.orders import validate_order

    with pytest.raises(OrderValidationError, match="not offered for FUT"):
        validate_order(market_order("BUY", 1, tif="OPG"), min_tick=0.25, accounts=["DU1"],
                       sec_type="FUT")  # fmt: skip
    with pytest.raises(OrderValidationError, match="trades US stocks") as refused:
        validate_order(limit_order("BUY", 1, 5000.0), min_tick=0.25, accounts=["DU1"],
                       sec_type="FUT", exchange="OVERNIGHT")  # fmt: skip
    assert refused.value.field == "exchange"
