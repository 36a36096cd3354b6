"""Every callback and error reaches its owner: request, subscription, order, or a notice.

The router is driven directly (no socket) for each rule of its order of checks, then over a real
socket for the two cases only TWS's behaviour shows: a pacing violation whose counter equals an
order id, and a refused subscription.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal

import pytest
from app_helpers import WAIT, Events, barrier
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.order_state import OrderState

from twsapp.book import OrderBook, OrderError
from twsapp.errors import ErrorKind
from twsapp.events import (
    Disconnected,
    EventBus,
    FarmStatus,
    Notice,
    TwsLinkLost,
    TwsLinkRestored,
)
from twsapp.exceptions import RequestError
from twsapp.orders import limit_order
from twsapp.session.ids import OrderIdAllocator
from twsapp.session.requests import RequestTracker
from twsapp.session.router import Link, Router
from twsapp.session.subscriptions import SubscriptionState

CID = 3


class ManualClock:
    """The simulator's pacing clock, moved by the test: a burst is "within one second"."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Collected:
    """Events of some kinds from the app's bus, and a wait for a condition on them."""

    def __init__(self, app, *kinds: type) -> None:
        self.items: list = []
        self._cond = threading.Condition()
        app.subscribe(self._add, *kinds)

    def _add(self, event: object) -> None:
        with self._cond:
            self.items.append(event)
            self._cond.notify_all()

    def wait(self, condition, what: str) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: condition(self.items), WAIT), f"no {what}"


class FakeLink(Link):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_client_id_in_use(self) -> None:
        self.calls.append(("326",))

    def on_duplicate_id(self, order_id: int) -> None:
        self.calls.append(("103", order_id))


def make_router() -> tuple[Router, OrderBook, list]:
    bus = EventBus()
    book = OrderBook(client_id=CID, bus=bus)
    seen: list = []
    bus.subscribe(seen.append)
    router = Router(book, bus, OrderIdAllocator(), RequestTracker(), FakeLink())
    return router, book, seen


def place(book: OrderBook, order_id: int) -> None:
    contract = Contract()
    contract.symbol, contract.secType, contract.conId = "AAPL", "STK", 265598
    order = Order()
    order.action, order.orderType, order.totalQuantity = "BUY", "LMT", Decimal(1)
    order.lmtPrice, order.tif = 100.0, "DAY"
    book.register_pending(CID, order_id, contract, order)


def notices(seen: list) -> list[Notice]:
    return [e for e in seen if isinstance(e, Notice)]


def test_pacing_error_belongs_to_no_order_even_when_its_counter_is_an_order_id():
    router, book, seen = make_router()
    place(book, 1)
    router.error(
        1, 100, "Max rate of messages per second has been exceeded:max=50 rec=51 (1)", "", 0
    )
    assert book.get(1).errors == ()
    [notice] = notices(seen)
    assert (notice.code, notice.kind, notice.req_id) == (100, ErrorKind.PACING, 1)


def test_request_errors_fail_the_request_and_reach_no_order():
    router, book, _ = make_router()
    req_id = router.requests.new_id()
    pending = router.requests.open(req_id, "contract lookup")
    router.error(req_id, 200, "No security definition has been found for the request", "", 0)
    with pytest.raises(RequestError, match="TWS error 200"):
        pending.wait(0)
    assert book.records() == []


def test_a_warning_for_a_request_is_a_notice_and_the_request_goes_on():
    router, _, seen = make_router()
    req_id = router.requests.new_id()
    pending = router.requests.open(req_id, "historical data")
    router.error(req_id, 2137, "cross side warning", "", 0)
    assert not pending.done.is_set()
    assert [(n.code, n.req_id) for n in notices(seen)] == [(2137, req_id)]


def test_subscriptions_get_their_data_warnings_and_failures():
    router, _, seen = make_router()
    got: list = []
    sent: list[int] = []
    sub = router.subscriptions.open(
        "market data AAPL",
        sent.append,
        on_data=lambda name, args: got.append((name, args)),
        on_error=lambda code, text: got.append((code, text)),
    )
    assert sent == [sub.req_id]
    router.data(sub.req_id, "tickPrice", 1, 150.25)
    router.error(sub.req_id, 10167, "Requested market data is not subscribed. Delayed...", "", 0)
    assert sub.active and sub.last["tickPrice"] == (1, 150.25)
    router.error(sub.req_id, 354, "Requested market data is not subscribed.", "", 0)
    assert sub.state is SubscriptionState.FAILED and sub.error == (354, got[-1][1])
    assert [g[0] for g in got] == ["tickPrice", 10167, 354]
    assert notices(seen) == []  # owned: not a notice
    router.data(sub.req_id, "tickPrice", 1, 151.0)  # after the failure: dropped
    assert sub.last["tickPrice"] == (1, 150.25)


def test_a_subscription_ibapi_could_not_send_ends_a_farm_notice_does_not():
    router, _, _ = make_router()
    farm = router.subscriptions.open("quotes", lambda _id: None)
    router.error(farm.req_id, 2103, "Market data farm connection is broken:usfarm", "", 0)
    assert farm.active and farm.warnings == [(2103, "Market data farm connection is broken:usfarm")]
    unsent = router.subscriptions.open("quotes", lambda _id: None)
    router.error(unsent.req_id, 504, "Not connected", "", 0)
    assert unsent.state is SubscriptionState.FAILED and unsent.error == (504, "Not connected")


def test_a_cancelled_subscription_sends_its_cancel_once():
    router, _, _ = make_router()
    sub = router.subscriptions.open("bars", lambda _id: None)
    cancels: list[int] = []
    router.subscriptions.cancel(sub.req_id, cancels.append)
    router.subscriptions.cancel(sub.req_id, cancels.append)
    assert cancels == [sub.req_id] and sub.state is SubscriptionState.CANCELLED


def test_order_errors_go_to_the_order():
    router, book, seen = make_router()
    place(book, 5)
    router.error(5, 399, "Order Message: warning", "", 0)
    assert [e.code for e in book.get(5).errors] == [399]
    assert [type(e) for e in seen if isinstance(e, OrderError)] == [OrderError]
    assert notices(seen) == []


@pytest.mark.parametrize(
    ("code", "kind", "level"),
    [
        (321, ErrorKind.REJECT, logging.ERROR),
        (2100, ErrorKind.WARNING, logging.WARNING),
        (354, ErrorKind.REJECT, logging.ERROR),
        (202, ErrorKind.CANCEL, logging.INFO),
        (9999, ErrorKind.ERROR, logging.WARNING),
    ],
)
def test_ownerless_errors_are_logged_at_their_kinds_level_and_published(caplog, code, kind, level):
    router, book, seen = make_router()
    place(book, 1)
    with caplog.at_level(logging.DEBUG, logger="twsapp"):
        router.error(777, code, f"text of {code}", "", 1735828260000)
    [notice] = notices(seen)
    assert (notice.code, notice.kind, notice.req_id, notice.error_time) == (
        code,
        kind,
        777,
        1735828260000,
    )
    [record] = [r for r in caplog.records if f"text of {code}" in r.getMessage()]
    assert record.levelno == level
    assert book.get(1).errors == ()


@pytest.mark.parametrize(
    ("code", "event_type"),
    [
        (1100, TwsLinkLost),
        (1101, TwsLinkRestored),
        (1102, TwsLinkRestored),
        (2104, FarmStatus),
        (2103, FarmStatus),
    ],
)
def test_connection_news_are_connection_events(code, event_type):
    router, _, seen = make_router()
    router.error(-1, code, f"news {code}", "", 0)
    [event] = [e for e in seen if isinstance(e, event_type)]
    assert event.code == code
    if event_type is TwsLinkRestored:
        assert event.data_lost is (code == 1101)
    if event_type is FarmStatus:
        assert event.ok is (code == 2104)
    assert notices(seen) == []


def test_326_and_103_reach_the_session_first():
    router, book, _ = make_router()
    place(book, 4)
    router.error(-1, 326, "client id in use", "", 0)
    router.error(4, 103, "Duplicate order id", "", 0)
    assert router.link.calls == [("326",), ("103", 4)]
    assert book.get(4).reject_error.code == 103  # and the order it names is rejected


def test_callbacks_feed_ids_and_book():
    router, book, _ = make_router()
    router.ids.seed(1)
    contract = Contract()
    contract.conId, contract.symbol = 265598, "AAPL"
    order = Order()
    order.orderId, order.clientId, order.permId = 41, CID, 7001
    order.action, order.orderType, order.totalQuantity = "BUY", "MKT", Decimal(1)
    state = OrderState()
    state.status = "Submitted"
    router.open_order(41, contract, order, state)
    assert router.ids.peek() == 42 and book.get(41).status == "Submitted"


# ---------------------------------------------------------------------- event bus


def test_the_bus_delivers_in_order_by_kind_and_survives_a_failing_subscriber(caplog):
    bus = EventBus()
    everything: list = []
    only_notices: list = []

    def broken(_event: object) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(broken)
    bus.subscribe(everything.append)
    bus.subscribe(only_notices.append, Notice)
    assert bus.wants(Notice) and bus.wants(Disconnected)
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    first = Notice(time=now, code=2100, kind=ErrorKind.WARNING, text="a")
    second = Disconnected(time=now, requested=True)
    with caplog.at_level(logging.ERROR, logger="twsapp.events"):
        bus.publish(first)
        bus.publish(second)
    assert everything == [first, second] and only_notices == [first]
    assert len([r for r in caplog.records if "subscriber bug" in r.exc_text]) == 2


def test_the_bus_keeps_order_across_threads():
    """Many producers at once: each subscriber sees each producer's events in its order."""
    bus = EventBus()
    seen: list = []
    bus.subscribe(seen.append)
    from datetime import UTC, datetime

    now = datetime.now(UTC)

    def produce(producer: int) -> None:
        for n in range(200):
            bus.publish(Notice(time=now, code=producer, kind=ErrorKind.WARNING, text=str(n)))

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 800
    for producer in range(4):
        assert [int(e.text) for e in seen if e.code == producer] == list(range(200))


# ---------------------------------------------------------------------- over a socket


def test_pacing_violation_counter_never_lands_on_the_order_with_that_id(
    sim_factory, server_version, app_factory
):
    clock = ManualClock()
    sim = sim_factory(server_version=server_version, pacing_clock=clock)
    app = app_factory(sim)
    notices = Collected(app, Notice)
    rec = app.place("AAPL", limit_order("BUY", 1, 100.0))
    Events(app).status(rec.order_id, "Submitted")
    clock.now += 1.0  # an empty window, then a burst past TWS's 50 messages per second
    burst = 50 + rec.order_id + 2
    for _ in range(burst):
        app.ibapi.reqCurrentTime()
    refused = burst - 50
    notices.wait(lambda got: len([n for n in got if n.code == 100]) == refused, "error 100s")
    clock.now += 1.0
    barrier(app)  # the order's own messages, if any came, are in
    pacing = [n for n in notices.items if n.code == 100]
    assert [n.req_id for n in pacing] == list(range(1, refused + 1))
    assert rec.order_id in [n.req_id for n in pacing]  # the counter did pass the order's id
    assert [e.code for e in rec.errors] == []  # ... and the order got none of them
    assert rec.status == "Submitted"


def test_a_refused_subscription_gets_its_error_and_no_notice(sim, app_factory):
    app = app_factory(sim)
    seen: list[Notice] = []
    app.subscribe(seen.append, Notice)
    contract = Contract()
    contract.conId, contract.exchange = 999_999_999, "SMART"  # no such contract
    sub = app.subscriptions.open(
        "market data of an unknown contract",
        lambda req_id: app.ibapi.reqMktData(req_id, contract, "", False, False, []),
    )
    barrier(app)
    assert sub.state is SubscriptionState.FAILED and sub.error is not None
    assert [n for n in seen if n.req_id == sub.req_id] == []
