"""Every refusal: its message, and proof that nothing reached the simulator.

"Nothing reached it" is checked after a barrier (a reqCurrentTime round trip): had a placeOrder or
cancelOrder been sent before it, the simulator would have recorded it by then.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

import pytest
from app_helpers import Events, barrier, close_session, open_session, order_requests, quote
from conftest import VERSION_PARAMS
from ibapi.const import UNSET_DOUBLE

from twsapp.exceptions import OrderRefused
from twsapp.orders import limit_order, market_order, stop_order


def refused(app, sim, action: Callable[[], object], *fragments: str) -> str:
    """Run `action`, expect OrderRefused naming `fragments`; nothing sent, book unchanged."""
    barrier(app)
    before = order_requests(sim, app.client_id)
    records = len(app.book.records())
    with pytest.raises(OrderRefused) as caught:
        action()
    barrier(app)
    assert order_requests(sim, app.client_id) == before, "an order request reached TWS"
    assert len(app.book.records()) == records, "the book registered a refused order"
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def lmt(**changes):
    order = limit_order("BUY", 10, 140.0)
    for name, value in changes.items():
        setattr(order, name, value)
    return order


@pytest.fixture(scope="module", params=VERSION_PARAMS)
def shared(request):
    """One session for the refusals that leave nothing behind (each checks that)."""
    sim, app = open_session(request.param)
    yield sim, app
    close_session(sim, app)


@pytest.fixture
def aapl(app):
    return app.contracts.lookup("AAPL")  # looked up first: only order requests are counted


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"action": "buy"}, ["action 'buy' is not BUY or SELL", "upper case"]),
        ({"action": "HOLD"}, ["action 'HOLD' is not BUY or SELL"]),
        ({"totalQuantity": Decimal(0)}, ["totalQuantity 0 is not > 0"]),
        ({"totalQuantity": Decimal(-5)}, ["totalQuantity -5 is not > 0", "side goes in action"]),
        ({"totalQuantity": Decimal("NaN")}, ["is not a finite number"]),
        ({"totalQuantity": Decimal("Infinity")}, ["is not a finite number"]),
        ({"totalQuantity": math.inf}, ["totalQuantity inf is not a finite number"]),
        ({"totalQuantity": math.nan}, ["totalQuantity nan is not a finite number"]),
        ({"lmtPrice": UNSET_DOUBLE}, ["lmtPrice is not set", "LMT order needs a limit price"]),
        ({"lmtPrice": math.nan}, ["lmtPrice nan is not a finite number"]),
        ({"lmtPrice": math.inf}, ["lmtPrice inf is not a finite number"]),
        ({"lmtPrice": -140.0}, ["lmtPrice -140 is not > 0"]),
        ({"lmtPrice": 140.005}, ["not a multiple of the tick 0.01", "use 140 or 140.01"]),
        ({"tif": "FOREVER"}, ["tif 'FOREVER' is not one of", "DAY"]),
        ({"tif": ""}, ["tif is empty"]),
        ({"tif": "GTD"}, ["goodTillDate is empty"]),
        ({"orderType": "MAGIC"}, ["orderType 'MAGIC' is not supported", "LMT"]),
        ({"account": "DU999"}, ["account 'DU999' is not one of the managed accounts"]),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else "",
)
def test_place_refused(shared, changes, fragments):
    sim, app = shared
    aapl = app.contracts.lookup("AAPL")
    refused(app, sim, lambda: app.place(aapl, lmt(**changes)), *fragments)


def test_place_refusals_of_stop_and_market_orders(app, sim, aapl):
    stp = stop_order("SELL", 5, 140.0)
    stp.auxPrice = UNSET_DOUBLE
    refused(app, sim, lambda: app.place(aapl, stp), "auxPrice is not set", "stop price")
    stp.auxPrice = 139.999
    refused(app, sim, lambda: app.place(aapl, stp), "auxPrice 139.999 is not a multiple")
    mkt = market_order("BUY", 5)
    mkt.lmtPrice = math.nan  # a price the type does not use must still be a number
    refused(app, sim, lambda: app.place(aapl, mkt), "lmtPrice must be a finite number")


def test_account_is_required_when_several_are_managed(sim_factory, server_version, app_factory):
    sim = sim_factory(server_version=server_version, accounts=["DU111", "DU222"])
    app = app_factory(sim)
    aapl = app.contracts.lookup("AAPL")
    refused(app, sim, lambda: app.place(aapl, lmt()), "account is empty", "DU111, DU222")
    refused(app, sim, lambda: app.place(aapl, lmt(account="DU333")), "'DU333' is not one of")
    ok = app.place(aapl, lmt(account="DU222"))  # a known one goes through
    Events(app).status(ok.order_id, "Submitted")
    assert ok.account == "DU222"


def test_modify_refused(app, sim):
    events = Events(app)
    rec = app.place("AAPL", limit_order("BUY", 10, round(quote(sim).bid - 5, 2)))
    events.status(rec.order_id, "Submitted")
    oid = rec.order_id
    refused(app, sim, lambda: app.modify(9999, price=1.0), "order 9999", "not in the book")
    refused(app, sim, lambda: app.modify(oid), "needs at least one of price, quantity")
    refused(app, sim, lambda: app.modify(oid, price=math.nan), "lmtPrice nan is not a finite")
    refused(app, sim, lambda: app.modify(oid, price=-1.0), "lmtPrice -1 is not > 0")
    refused(app, sim, lambda: app.modify(oid, price=140.005), "use 140 or 140.01")
    refused(app, sim, lambda: app.modify(oid, quantity=0), "totalQuantity 0 is not > 0")
    refused(app, sim, lambda: app.modify(oid, quantity="ten"), f"modify of order {oid} refused")
    refused(app, sim, lambda: app.modify(oid, quantity=math.inf), "not a finite number")
    refused(app, sim, lambda: app.modify(oid, tif="SOMETIMES"), "tif 'SOMETIMES' is not one of")
    refused(
        app,
        sim,
        lambda: app.modify(oid, aux_price=139.0),
        "a LMT order has no stop price (aux_price=)",
    )
    assert rec.modifications == () and rec.status == "Submitted"
    stp = app.place("AAPL", stop_order("BUY", 1, round(quote(sim).ask + 50, 2)))
    events.status(stp.order_id, "PreSubmitted")
    refused(
        app,
        sim,
        lambda: app.modify(stp.order_id, price=200.0),
        "a STP order has no limit price (price=)",
    )
    refused(app, sim, lambda: app.modify(stp.order_id, aux_price=math.nan), "auxPrice nan is not")
    refused(app, sim, lambda: app.modify(stp.order_id, aux_price=200.001), "use 200 or 200.01")
    assert rec.limit_price == round(quote(sim).bid - 5, 2)


def test_modify_and_cancel_of_done_orders_refused(app, sim):
    events = Events(app)
    filled = app.place("AAPL", market_order("BUY", 1))
    cancelled = app.place("AAPL", limit_order("BUY", 1, 100.0))
    events.status(filled.order_id, "Filled")
    events.status(cancelled.order_id, "Submitted")
    app.cancel(cancelled.order_id)
    events.status(cancelled.order_id, "Cancelled")
    for rec in (filled, cancelled):
        oid, status = rec.order_id, rec.status
        refused(
            app, sim, lambda o=oid: app.modify(o, price=101.0), f"order {oid} is {status}", "done"
        )
        refused(app, sim, lambda o=oid: app.cancel(o), f"order {oid} is already {status}")
    refused(app, sim, lambda: app.cancel(4242), "order 4242", "not in the book: nothing to cancel")


def test_an_order_tws_rejected_on_placing_cannot_be_modified_or_cancelled(app, sim, aapl):
    events = Events(app)
    order = lmt(lmtPrice=140.001)
    # what place() would send, without its tick check: TWS refuses it (110)
    with app.book.lock:
        oid = app.ids.next()
        order.orderId, order.account = oid, app.accounts[0]
        rec = app.book.register_pending(app.client_id, oid, aapl.contract, order)
        app.ibapi.placeOrder(oid, aapl.contract, order)
    events.status(oid, "Inactive")
    assert rec.rejected and rec.reject_error.code == 110
    refused(app, sim, lambda: app.modify(oid, price=140.0), "Inactive", "done")
    refused(app, sim, lambda: app.cancel(oid), "was rejected (110:", "nothing to cancel")


def test_nothing_is_sent_when_not_connected(app, sim, aapl):
    app.stop()
    before = order_requests(sim, app.client_id)
    for action in (
        lambda: app.place(aapl, lmt()),
        lambda: app.modify(1, price=1.0),
        lambda: app.cancel(1),
        app.cancel_all,
    ):
        with pytest.raises(OrderRefused, match="not connected to TWS"):
            action()
    assert order_requests(sim, app.client_id) == before


def test_a_built_order_changed_before_placing_is_checked_again(app, sim, aapl):
    """The builder's checks are not re-run for an order placed as built; changed, they are."""
    order = limit_order("BUY", 10, 140.0)
    order.totalQuantity = Decimal("1E+1")  # equal to the 10 checked, but sent as "1E+1"
    refused(app, sim, lambda: app.place(aapl, order), "without an exponent")
    order = limit_order("BUY", 10, 140.0)
    order.conditions.append("not a condition")  # the list the builder saw empty
    refused(app, sim, lambda: app.place(aapl, order), "not an ibapi order condition")
    order = limit_order("BUY", 10, 140.0)
    order.conditionsIgnoreRth = True
    refused(app, sim, lambda: app.place(aapl, order), "conditionsIgnoreRth is set")
    placed = app.place(aapl, limit_order("BUY", 10, 140.0))  # unchanged: placed
    assert placed.order_id
