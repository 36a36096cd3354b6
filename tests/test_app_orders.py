"""Orders over the socket: place MKT / LMT / STP, modify by id, rejected modify, cancel, partial
fills, cancel_all, and order ids after a duplicate (103)."""

from __future__ import annotations

import itertools
import threading
from decimal import Decimal

import pytest
from app_helpers import AAPL, WAIT, Events, barrier, order_requests, placed_ids, quote

from twsapp.book import Cancelled, Filled, ModifyApplied, ModifyRejected, StatusChanged
from twsapp.exceptions import OrderRefused
from twsapp.orders import bracket, limit_order, market_order, stop_order
from twsapp.session.ids import OrderIdAllocator
from twsapp.sim import messages as m


def statuses(record) -> list[str]:
    """The order's status history from its log (each change once)."""
    out: list[str] = []
    for entry in record.log:
        if entry.status_after and (not out or out[-1] != entry.status_after):
            out.append(entry.status_after)
    return out


def fields(obj) -> dict:
    """An ibapi object's attributes, nested objects (softDollarTier ...) as their own dicts."""
    return {k: fields(v) if hasattr(v, "__dict__") else v for k, v in vars(obj).items()}


def place_requests(sim, client_id=1, order_id=None):
    return [
        r
        for r in sim.received(client_id)
        if isinstance(r, m.PlaceOrder) and order_id in (None, r.order_id)
    ]


# ---------------------------------------------------------------------- place


def test_market_order_fills_with_fill_and_commission(app, sim):
    events = Events(app)
    rec = app.place("AAPL", market_order("BUY", 10))
    events.wait(lambda: rec.status == "Filled" and rec.commission is not None, "fill + commission")
    assert placed_ids(sim, 1) == [rec.order_id]
    ask = quote(sim).ask
    assert rec.filled == Decimal(10) and rec.remaining == 0
    assert rec.avg_fill_price == ask and rec.last_fill_price == ask
    [fill] = rec.fills.values()
    assert fill.shares == 10 and fill.price == ask and fill.side == "BOT"
    assert fill.commission == 1.0 and fill.commission_currency == "USD"
    assert rec.perm_id and rec.account == app.accounts[0] and rec.contract.conId == AAPL
    assert statuses(rec)[0] == "PendingSubmit" and statuses(rec)[-1] == "Filled"
    assert len(events.of(rec.order_id, Filled)) == 1


def test_limit_order_rests_until_cancelled(app, sim):
    events = Events(app)
    q = quote(sim)
    rec = app.place("AAPL", limit_order("BUY", 5, round(q.bid - 5, 2)))
    events.status(rec.order_id, "Submitted")
    assert rec.limit_price == round(q.bid - 5, 2) and rec.filled == 0 and rec.remaining == 5
    assert not rec.fills and rec.working
    [sent] = place_requests(sim)
    assert sent.order.orderType == "LMT" and sent.order.lmtPrice == round(q.bid - 5, 2)
    assert sent.order.totalQuantity == Decimal(5) and sent.order.tif == "DAY"
    assert sent.contract.conId == AAPL and sent.contract.exchange == "SMART"


def test_stop_order_stays_presubmitted_until_its_price_trades(app, sim):
    events = Events(app)
    start = sim.exchange.step
    last0 = quote(sim).last
    stop = round(last0 + 0.05, 2)
    prices = sim.exchange.prices
    trigger = next(s for s in range(start + 1, start + 3600) if prices.quote(AAPL, s).last >= stop)
    rec = app.place("AAPL", stop_order("BUY", 3, stop))
    events.status(rec.order_id, "PreSubmitted")
    sim.advance(trigger - start - 1)  # up to the second before the stop trades
    barrier(app)
    assert rec.status == "PreSubmitted" and rec.filled == 0 and rec.aux_price == stop
    sim.advance(1)
    events.wait(lambda: rec.status == "Filled" and rec.fills, "the triggered stop to fill")
    assert rec.avg_fill_price == prices.quote(AAPL, trigger).ask
    assert statuses(rec) == ["PendingSubmit", "PreSubmitted", "Submitted", "Filled"]


# ---------------------------------------------------------------------- modify


def test_typo_fix_buy_14_90_becomes_149_00_same_id(app, sim):
    """A BUY LMT typed at 14.90 instead of 149.00 rests; the modify reuses its id."""
    events = Events(app)
    rec = app.place("AAPL", limit_order("BUY", 10, 14.90))
    events.status(rec.order_id, "Submitted")
    assert app.modify(rec.order_id, price=149.00) is rec
    events.wait(lambda: rec.limit_price == 149.0, "the modify to be applied")
    barrier(app)
    assert len(app.book.records()) == 1 and app.book.get(rec.order_id) is rec
    assert rec.status == "Submitted" and rec.limit_price == 149.0
    assert [mod.state for mod in rec.modifications] == ["applied"]
    assert [r.order_id for r in place_requests(sim)] == [rec.order_id, rec.order_id]
    requested = [e for e in rec.log if e.event == "modify_requested"]
    applied = [e for e in rec.log if e.event == "modify_applied"]
    assert len(requested) == 1 and "lmtPrice 14.9 -> 149.0" in requested[0].text
    assert len(applied) == 1 and "149.0" in applied[0].text
    assert len(events.of(rec.order_id, ModifyApplied)) == 1
    assert not events.of(rec.order_id, Cancelled)
    row = app.book.orders_df().iloc[0]
    assert row["order_id"] == rec.order_id and row["limit_price"] == 149.0
    assert row["modify"] == "applied" and row["status"] == "Submitted"


def test_typo_fix_sell_1490_becomes_149_and_fills(app, sim):
    """A SELL LMT at 1490.00 rests far above the market; fixed to 149.00 it trades at once."""
    events = Events(app)
    rec = app.place("AAPL", limit_order("SELL", 10, 1490.00))
    events.status(rec.order_id, "Submitted")
    app.modify(rec.order_id, price=149.00)
    events.wait(lambda: rec.status == "Filled", "the fixed order to fill")
    assert len(app.book.records()) == 1 and rec.limit_price == 149.0
    assert rec.modifications[-1].state == "applied"
    assert rec.avg_fill_price == quote(sim).bid >= 149.0
    assert statuses(rec) == ["PendingSubmit", "PreSubmitted", "Submitted", "Filled"]
    texts = [e.text for e in rec.log if e.event.startswith("modify")]
    assert any("1490.0 -> 149.0" in t for t in texts)


def test_modify_resends_the_order_as_placed_with_only_the_changed_fields(app, sim):
    events = Events(app)
    details = app.contracts.lookup("AAPL")
    rec = app.place(details, limit_order("BUY", 10, 140.0, order_ref="typo-fix"))
    events.status(rec.order_id, "Submitted")
    app.modify(rec.order_id, quantity=12)
    events.wait(lambda: rec.total_quantity == 12, "the quantity change")
    app.modify(rec.order_id, price=141.0, tif="GTC")
    events.wait(lambda: rec.limit_price == 141.0 and rec.tif == "GTC", "price + tif change")
    placed, first, second = place_requests(sim)
    assert fields(first.order) == {**fields(placed.order), "totalQuantity": Decimal(12)}
    assert first.order.totalQuantity == 12 and first.order.lmtPrice == 140.0
    assert second.order.totalQuantity == 12 and second.order.lmtPrice == 141.0
    assert second.order.tif == "GTC" and second.order.orderRef == "typo-fix"
    for request in (first, second):  # the resolved contract, not TWS's echo of it
        assert fields(request.contract) == fields(placed.contract)
        assert request.contract.exchange == "SMART" and request.contract.right == ""


def test_the_book_builds_a_modify_from_the_order_as_sent():
    """No socket: what request_modify hands the app to send, against a TWS echo that differs."""
    from ibapi.contract import Contract
    from ibapi.order_state import OrderState

    from twsapp.book import OrderBook

    book = OrderBook(client_id=1)
    contract = Contract()
    contract.conId, contract.symbol, contract.secType = AAPL, "AAPL", "STK"
    contract.exchange, contract.currency = "SMART", "USD"
    sent = limit_order("SELL", 10, 1490.0, order_ref="mine")
    sent.orderId, sent.account = 5, "DU1"
    book.register_pending(1, 5, contract, sent)

    def echo(**terms):
        order = limit_order("SELL", 10, 1490.0, order_ref="mine")
        order.orderId, order.clientId, order.permId, order.account = 5, 1, 77, "DU1"
        order.displaySize, order.deltaNeutralOrderType = 2147483647, "None"  # TWS-side noise
        for name, value in terms.items():
            setattr(order, name, value)
        state = OrderState()
        state.status = "Submitted"
        echoed = Contract()
        echoed.conId, echoed.symbol, echoed.right = AAPL, "AAPL", "?"
        book.on_open_order(5, echoed, order, state)

    echo()
    first = book.request_modify(5, {"price": 149.0})
    assert first.order.lmtPrice == 149.0 and first.order.orderRef == "mine"
    assert first.order.displaySize == sent.displaySize and first.order.deltaNeutralOrderType == ""
    assert first.before == {"lmtPrice": 1490.0}
    second = book.request_modify(5, {"quantity": 8})  # built on the pending one: keeps 149
    assert (second.order.lmtPrice, second.order.totalQuantity) == (149.0, Decimal(8))
    echo(lmtPrice=149.0, totalQuantity=Decimal(8))  # TWS applies both
    assert [x.state for x in book.get(5).modifications] == ["superseded", "applied"]
    assert book.get(5).sent_order.lmtPrice == 1490.0  # the placed order itself is kept
    third = book.request_modify(5, {"price": 148.995})
    assert third.order.totalQuantity == Decimal(8)
    book.on_error(5, 110, "The price does not conform", "")  # TWS refuses it
    # a change made in TWS itself (quantity 9) is what the next modify starts from; the
    # rejected price is not
    echo(lmtPrice=149.0, totalQuantity=Decimal(9))
    fourth = book.preview_modify(5, {"tif": "GTC"})
    assert (fourth.lmtPrice, fourth.totalQuantity, fourth.tif) == (149.0, Decimal(9), "GTC")
    assert fourth.orderRef == "mine" and fourth.displaySize == sent.displaySize
    assert len(book.get(5).modifications) == 3  # preview records nothing


def test_rejected_modify_off_tick_leaves_the_order_working(app, sim):
    """TWS refuses the off-tick price (110): the modify is rejected, never the order."""
    events = Events(app)
    rec = app.place("AAPL", limit_order("BUY", 10, 140.0))
    events.status(rec.order_id, "Submitted")
    # what modify() would send, bypassing its tick check, as a client without one would
    mod = app.book.request_modify(rec.order_id, {"price": 140.005})
    app.ibapi.placeOrder(rec.order_id, rec.sent_contract, mod.order)
    events.wait(lambda: rec.modifications[-1].state == "rejected", "the modify rejection")
    barrier(app)
    assert rec.status == "Submitted" and rec.working and not rec.rejected
    assert rec.limit_price == 140.0
    [rejection] = events.of(rec.order_id, ModifyRejected)
    assert rejection.code == 110 and rec.modifications[-1].code == 110
    assert rec.errors[-1].code == 110 and rec.errors[-1].modify_seq == mod.seq
    assert not events.of(rec.order_id, Cancelled)
    assert [e.after for e in events.of(rec.order_id, StatusChanged)][-1] == "Submitted"
    assert app.book.orders_df().iloc[0]["modify"] == "rejected"
    # still working: a valid modify goes through
    app.modify(rec.order_id, price=140.01)
    events.wait(lambda: rec.limit_price == 140.01, "the next modify")
    assert [x.state for x in rec.modifications] == ["rejected", "applied"]


def test_rejected_modify_below_filled_leaves_the_order_working(sim_factory, server_version):
    from twsapp.session import TwsApp

    sim = sim_factory(server_version=server_version, display_size=Decimal(30))
    app = TwsApp(request_timeout=10).start("127.0.0.1", sim.port, 1, timeout=10)
    try:
        events = Events(app)
        rec = app.place("AAPL", limit_order("BUY", 100, round(quote(sim).ask + 1, 2)))
        events.wait(lambda: rec.filled == 30, "the first partial fill")
        with pytest.raises(OrderRefused, match="below the 30 already filled"):
            app.modify(rec.order_id, quantity=20)
        mod = app.book.request_modify(rec.order_id, {"quantity": 20})  # TWS is the one to refuse
        app.ibapi.placeOrder(rec.order_id, rec.sent_contract, mod.order)
        events.wait(lambda: rec.modifications[-1].state == "rejected", "the modify rejection")
        assert rec.status == "Submitted" and rec.filled == 30 and rec.remaining == 70
        assert rec.total_quantity == 100 and rec.modifications[-1].code == 321
        assert not events.of(rec.order_id, Cancelled)
    finally:
        app.stop()


# ---------------------------------------------------------------------- cancel


def test_cancel_a_working_order(app, sim):
    events = Events(app)
    rec = app.place("AAPL", limit_order("BUY", 5, round(quote(sim).bid - 3, 2)))
    events.status(rec.order_id, "Submitted")
    app.cancel(rec.order_id)
    assert rec.status in ("PendingCancel", "Cancelled")
    events.status(rec.order_id, "Cancelled")
    barrier(app)
    [request] = [r for r in order_requests(sim, 1) if isinstance(r, m.CancelOrder)]
    assert request.order_id == rec.order_id
    assert statuses(rec)[-2:] == ["PendingCancel", "Cancelled"]
    assert rec.errors[-1].code == 202 and not rec.errors[-1].is_failure
    assert len(events.of(rec.order_id, Cancelled)) == 1
    assert app.book.orders_df().iloc[0]["last_error"] == ""


def test_an_inactive_order_tws_still_holds_can_be_cancelled(app, sim):
    """Inactive is done for modify (status.py), not for cancel: TWS may still hold the order
    (e.g. rejected for margin, kept in its order list), and a cancel is how it goes away. The
    simulator never reports Inactive, so TWS's report is fed to the callback here."""
    events = Events(app)
    rec = app.place("AAPL", limit_order("BUY", 5, round(quote(sim).bid - 3, 2)))
    events.status(rec.order_id, "Submitted")
    app.ibapi.orderStatus(
        rec.order_id, "Inactive", Decimal(0), Decimal(5), 0.0, rec.perm_id, 0, 0.0, 1, "", 0.0
    )
    assert rec.status == "Inactive" and rec.done
    app.cancel(rec.order_id)
    events.status(rec.order_id, "Cancelled")
    barrier(app)
    assert [r.order_id for r in order_requests(sim, 1) if isinstance(r, m.CancelOrder)] == [
        rec.order_id
    ]


def test_partial_fills_then_filled(sim_factory, server_version, app_factory):
    sim = sim_factory(server_version=server_version, display_size=Decimal(30))
    app = app_factory(sim)
    events = Events(app)
    rec = app.place("AAPL", market_order("BUY", 100))
    events.wait(lambda: rec.filled == 30, "the first 30")
    barrier(app)
    assert rec.status == "Submitted" and rec.remaining == 70 and len(rec.fills) == 1
    prices = []
    for expected in (60, 90, 100):
        sim.advance(1)
        events.wait(lambda e=expected: rec.filled == e, f"{expected} filled")
    events.wait(lambda: rec.commission is not None and len(rec.fills) == 4, "4 commissions")
    barrier(app)
    assert rec.status == "Filled" and rec.remaining == 0
    fills = sorted(rec.fills.values(), key=lambda f: f.cum_qty)
    assert [f.shares for f in fills] == [30, 30, 30, 10]
    assert [f.cum_qty for f in fills] == [30, 60, 90, 100]
    prices = [f.price for f in fills]
    vwap = sum(Decimal(repr(p)) * f.shares for p, f in zip(prices, fills, strict=True)) / 100
    assert rec.avg_fill_price == pytest.approx(float(vwap), abs=1e-9)
    assert rec.last_fill_price == fills[-1].price
    assert all(f.commission is not None for f in fills)
    assert len(events.of(rec.order_id, Filled)) == 1
    assert statuses(rec) == ["PendingSubmit", "PreSubmitted", "Submitted", "Filled"]


def test_cancel_a_partly_filled_order_keeps_its_fills(sim_factory, server_version, app_factory):
    sim = sim_factory(server_version=server_version, display_size=Decimal(40))
    app = app_factory(sim)
    events = Events(app)
    rec = app.place("AAPL", limit_order("BUY", 100, round(quote(sim).ask + 1, 2)))
    events.wait(lambda: rec.filled == 40, "the first partial fill")
    app.cancel(rec.order_id)
    events.status(rec.order_id, "Cancelled")
    assert rec.filled == 40 and len(rec.fills) == 1 and rec.done


def test_cancel_all_cancels_every_working_order(app, sim, app_factory):
    events = Events(app)
    other = app_factory(sim, client_id=2)
    bid = quote(sim).bid
    mine = [app.place("AAPL", limit_order("BUY", n, round(bid - n, 2))) for n in (1, 2)]
    theirs = other.place("AAPL", limit_order("BUY", 3, round(bid - 3, 2)))
    for rec in mine:
        events.status(rec.order_id, "Submitted")
    Events(other).status(theirs.order_id, "Submitted")
    app.cancel_all()
    for rec in mine:
        events.status(rec.order_id, "Cancelled")
    Events(other).status(theirs.order_id, "Cancelled")  # TWS's global cancel spares nobody
    barrier(app)
    assert [type(r) for r in order_requests(sim, 1)][-1] is m.ReqGlobalCancel


# ---------------------------------------------------------------------- ids


def test_duplicate_id_103_resyncs_and_ids_are_never_reused(sim, app_factory):
    """A stale id source (here: an allocator seeded back to 1) makes TWS answer 103."""
    first = app_factory(sim, client_id=4)
    events = Events(first)
    done = first.place("AAPL", limit_order("BUY", 1, 100.0))
    first.cancel(done.order_id)
    events.status(done.order_id, "Cancelled")
    first.stop()
    assert sim.wait_detached(first.client_id)  # TWS frees the id once it sees the close

    app = app_factory(sim, client_id=4)
    events = Events(app)
    used = set(placed_ids(sim, 4))
    stale = OrderIdAllocator()
    stale.seed(1)
    app.ids = stale  # e.g. ids restored from an out-of-date journal
    dup = app.place("AAPL", limit_order("BUY", 1, 100.0))
    assert dup.order_id in used  # the stale source handed out a used id...
    events.wait(lambda: dup.status == "Inactive", "the 103 rejection")
    assert dup.rejected and dup.reject_error.code == 103
    events.wait(lambda: app.ids.resyncs == 1, "the reqIds(-1) answer")
    assert any(isinstance(r, m.ReqIds) for r in sim.received(4))
    after = app.place("AAPL", limit_order("BUY", 2, 100.0))  # ...and the app carries on
    events.status(after.order_id, "Submitted")
    assert after.order_id > max(used)
    ids = placed_ids(sim, 4)
    assert ids.count(dup.order_id) == 2  # the first session's and the refused one: no more
    assert ids.count(after.order_id) == 1
    assert after.order_id == max(ids)


# ---------------------------------------------------------------------- sending


def test_concurrent_places_reach_the_wire_in_id_order(app, sim):
    """Ids are allocated and sent atomically: from many threads at once, TWS still sees them in
    increasing order (a lower id after a higher one is refused with 103)."""
    events = Events(app)
    details = app.contracts.lookup("AAPL")
    app.contracts.price_rules(details)  # cached: the burst is placeOrders only
    bid = quote(sim).bid
    n_threads, per_thread = 5, 6  # 30 orders: under TWS's 50 messages per second
    go = threading.Barrier(n_threads)
    records, failures = [], []

    def worker(n: int) -> None:
        try:
            go.wait(WAIT)
            for i in range(per_thread):
                price = round(bid - 5 - n - i / 100, 2)
                records.append(app.place(details, limit_order("BUY", 1, price)))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT * 2)
    assert failures == [] and not any(t.is_alive() for t in threads)
    events.wait(lambda: all(r.status != "PendingSubmit" for r in records), "every answer")
    barrier(app)
    ids = placed_ids(sim, 1)
    assert len(ids) == n_threads * per_thread
    assert all(a < b for a, b in itertools.pairwise(ids)), ids
    assert sorted(r.order_id for r in records) == ids
    codes = [e.code for r in app.book.records() for e in r.errors]
    assert 103 not in codes and app.ids.resyncs == 0
    assert {r.status for r in records} == {"Submitted"}


def test_callbacks_are_handled_while_a_send_is_blocked(app, sim, app_factory):
    """The book lock is never held across a socket write: with TWS not reading (here: the
    app's own send held at a gate), callbacks still update the book."""
    events = Events(app)
    details = app.contracts.lookup("AAPL")
    bid = quote(sim).bid
    resting = app.place(details, limit_order("BUY", 1, round(bid - 5, 2)))
    events.status(resting.order_id, "Submitted")
    other = app_factory(sim, client_id=2)

    gate, at_gate = threading.Event(), threading.Event()
    placer: list[int] = []
    send = app.ibapi.conn.sendMsg

    def gated_send(msg: bytes) -> int:
        if threading.get_ident() in placer:
            at_gate.set()
            gate.wait(WAIT * 4)
        return send(msg)

    app.ibapi.conn.sendMsg = gated_send
    placed: list = []

    def place() -> None:
        placer.append(threading.get_ident())
        placed.append(app.place(details, limit_order("BUY", 2, round(bid - 6, 2))))

    def take_book_lock() -> None:
        with app.book.lock:
            pass

    thread = threading.Thread(target=place, daemon=True)
    thread.start()
    try:
        assert at_gate.wait(WAIT), "the order never reached the socket"
        probe = threading.Thread(target=take_book_lock, daemon=True)
        probe.start()
        probe.join(WAIT)
        assert not probe.is_alive(), "the book lock is held across the socket write"
        other.cancel_all()  # TWS cancels the resting order: callbacks to this app
        events.wait(lambda: events.of(resting.order_id, Cancelled), "the cancel callbacks")
        assert resting.status == "Cancelled"
    finally:
        gate.set()
        thread.join(WAIT)
    [rec] = placed
    events.status(rec.order_id, "Submitted")
    assert placed_ids(sim, 1) == [resting.order_id, rec.order_id]


def test_a_place_from_a_book_event_on_the_sending_thread_goes_out_after_the_first(app, sim):
    """A place's own events are delivered on its thread only once its message is on the
    socket: a subscriber placing from there puts its order second, as it must (a higher id
    first would be error 103), and nothing waits on anything."""
    events = Events(app)
    details = app.contracts.lookup("AAPL")
    app.contracts.price_rules(details)  # cached: the nested place waits for nothing
    bid = quote(sim).bid
    nested: list = []
    placing = threading.get_ident()

    def place_again(event) -> None:
        if threading.get_ident() == placing and not nested and event.order_id:
            nested.append(app.place(details, limit_order("BUY", 1, round(bid - 7, 2))))

    unsubscribe = app.book.subscribe(place_again)
    try:
        # Holding the book lock keeps the api thread (TWS's answer) from delivering first.
        with app.book.lock:
            rec = app.place(details, limit_order("BUY", 1, round(bid - 6, 2)))
    finally:
        unsubscribe()
    [second] = nested
    events.status(rec.order_id, "Submitted")
    events.status(second.order_id, "Submitted")
    barrier(app)
    assert placed_ids(sim, 1) == [rec.order_id, second.order_id]
    assert second.order_id > rec.order_id and not rec.errors and not second.errors


def test_after_close_orders_nothing_is_sent(app, sim):
    details = app.contracts.lookup("AAPL")
    rec = app.place(details, limit_order("BUY", 1, round(quote(sim).bid - 6, 2)))
    Events(app).status(rec.order_id, "Submitted")
    app.close_orders("the run is shutting down")
    for attempt in (
        lambda: app.place(details, limit_order("BUY", 1, 100.0)),
        lambda: app.modify(rec.order_id, price=100.0),
        lambda: app.cancel(rec.order_id),
        app.cancel_all,
    ):
        with pytest.raises(OrderRefused, match="orders are closed"):
            attempt()
    barrier(app)
    assert [type(r) for r in order_requests(sim, 1)] == [m.PlaceOrder]


class _JournalFailingAt:
    """A journal whose n-th order intent fails to be written (a full disk, say)."""

    def __init__(self, n: int) -> None:
        self.left = n

    def record(self, kind: str, *args: object) -> int:
        self.left -= 1
        if self.left == 0:
            raise OSError("disk full")
        return 1


def test_a_bracket_whose_journal_fails_half_way_sends_nothing_and_says_so(app, sim):
    """The intent must be durable before the send: a journal that fails on the second leg
    stops the bracket with nothing sent, and the leg already registered is logged and
    published (PendingSubmit), not left unannounced."""
    events = Events(app)
    app._orders.journal = _JournalFailingAt(2)
    bid = quote(sim).bid
    legs = bracket("BUY", 5, round(bid - 2, 2), round(bid + 2, 2), round(bid - 4, 2))
    with pytest.raises(OSError, match="disk full"):
        app.place_bracket("AAPL", list(legs))
    parent = app.book.records()[-1]
    assert [e.event for e in parent.log] == ["registered"]
    events.status(parent.order_id, "PendingSubmit")
    assert parent.order_id not in placed_ids(sim, app.client_id)
