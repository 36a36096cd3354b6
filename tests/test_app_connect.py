"""Connecting: ready, refused, no handshake, client id in use, clean stop, ids across sessions."""

from __future__ import annotations

import socket
import struct
import threading

import pytest
from app_helpers import AAPL, Events, barrier, placed_ids
from ibapi.order import Order

from twsapp.exceptions import ClientIdInUse, ConnectError
from twsapp.orders import limit_order, market_order
from twsapp.session import CONNECT_HINT, TwsApp
from twsapp.session.connection import ResilientConnection
from twsapp.sim import messages as m


def app_threads(app: TwsApp) -> list[threading.Thread]:
    """Threads this app started (handshake, reader, api) that are still running."""
    return app.threads()


def test_ready_means_accounts_and_next_id_known(sim_factory, server_version):
    sim = sim_factory(server_version=server_version, accounts=["DU111", "DU222"])
    app = TwsApp(request_timeout=10)
    try:
        assert app.start("127.0.0.1", sim.port, 5, timeout=10) is app
        assert app.ready and app.connected
        assert app.server_version == server_version
        assert app.accounts == ["DU111", "DU222"]
        assert app.book.accounts == ["DU111", "DU222"]
        assert app.ids.peek() == sim.exchange._next_id(5)
        assert app.book.client_id == 5
        assert (
            type(app.ibapi.conn) is ResilientConnection
        )  # ibapi's boundary-losing reader is fixed
    finally:
        app.stop()
    assert not app.ready
    assert app_threads(app) == []


@pytest.fixture
def refused_port():
    """A port bound but never listening: connecting to it is refused."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    yield holder.getsockname()[1]
    holder.close()


def test_refused_names_host_port_and_what_to_check(refused_port):
    port = refused_port
    app = TwsApp()
    with pytest.raises(ConnectError) as caught:
        app.start("127.0.0.1", port, 1, timeout=10)
    text = str(caught.value)
    assert f"127.0.0.1:{port}" in text and "refused" in text
    assert CONNECT_HINT in text
    for hint in ("Enable ActiveX and Socket Clients", "port", "trusted IP"):
        assert hint in text
    assert not isinstance(caught.value, ClientIdInUse)
    assert not app.ready and app_threads(app) == []


def test_no_handshake_raises_within_the_timeout_and_leaves_no_thread():
    silent = socket.socket()  # listens (the kernel accepts) but never answers "API\0..."
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    app = TwsApp()
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            app.start("127.0.0.1", port, 1, timeout=0.5)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attempt)
    try:
        worker.start()
        worker.join(30)  # a watchdog, far above the 0.5 s asked for
        assert not worker.is_alive(), "start() did not return"
    finally:
        silent.close()
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectError)
    text = str(outcome[0])
    assert f"127.0.0.1:{port}" in text and "handshake" in text and "0.5s" in text
    assert CONNECT_HINT in text
    assert not app.connected and app_threads(app) == []


def scripted_tws(listener: socket.socket, messages: list[list[str]]) -> threading.Thread:
    """A one-connection TWS that handshakes at v176, reads startApi, sends `messages`, closes."""

    def frame(payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + payload

    def read_frame(conn: socket.socket) -> bytes:
        size = struct.unpack(">I", read_exact(conn, 4))[0]
        return read_exact(conn, size)

    def read_exact(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("client went away")
            data += chunk
        return data

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            assert read_exact(conn, 4) == b"API\0"
            read_frame(conn)  # "v100..225"
            conn.sendall(frame(b"176\x0020250102 09:30:00 US/Eastern\x00"))
            read_frame(conn)  # startApi
            for fields in messages:
                conn.sendall(frame("".join(f + "\0" for f in fields).encode()))
            conn.shutdown(socket.SHUT_WR)  # TWS closes after 326, having sent it
            conn.recv(1)  # until the client closes too

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_client_id_in_use_from_tws_raises_client_id_in_use():
    """Deterministic: a scripted TWS sends 326 (as real TWS words it at v176), then closes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    text = "Unable to connect as the client id is already in use. Retry with a unique client id."
    server = scripted_tws(listener, [["4", "2", "-1", "326", text, ""]])
    app = TwsApp()
    try:
        with pytest.raises(ClientIdInUse) as caught:
            app.start("127.0.0.1", port, 12, timeout=10)
    finally:
        server.join(10)
        listener.close()
    message = str(caught.value)
    assert "client id 12 is already in use" in message and f"127.0.0.1:{port}" in message
    assert "another client id" in message and "e.g. 13" in message
    assert not app.ready and app_threads(app) == []


def test_client_id_in_use_says_so_and_suggests_another(sim, app_factory):
    first = app_factory(sim, client_id=3)
    second = TwsApp()
    with pytest.raises(ClientIdInUse) as caught:
        second.start("127.0.0.1", sim.port, 3, timeout=10)
    text = str(caught.value)
    assert "client id 3 is already in use" in text and f"127.0.0.1:{sim.port}" in text
    assert "another client id" in text and "e.g. 4" in text
    assert not second.ready and app_threads(second) == []
    # the session that holds the id is untouched, and another id connects fine
    assert first.ready and first.current_time() > 0
    third = app_factory(sim, client_id=4)
    assert third.ready


def test_stop_leaves_no_thread_and_refuses_orders(sim, app_factory):
    from twsapp.exceptions import OrderRefused

    app = app_factory(sim)
    reader = app.ibapi.reader
    app.stop()
    assert not app.ready and app_threads(app) == [] and not reader.is_alive()
    with pytest.raises(OrderRefused, match="not connected"):
        app.place("AAPL", market_order("BUY", 1))


def test_ids_across_reconnect_start_above_every_id_used_before(sim, app_factory):
    first = app_factory(sim, client_id=9)
    events = Events(first)
    details = first.contracts.by_conid(AAPL)
    low = limit_order("BUY", 1, 100.0)
    records = [first.place(details, low) for _ in range(3)]
    # one more id used behind the app's back, as another session with this client id would
    raw = limit_order("BUY", 1, 100.0)
    raw.account = first.accounts[0]
    first.ibapi.placeOrder(first.ids.next() + 5, details.contract, raw)
    barrier(first)
    used = placed_ids(sim, 9)
    assert len(used) == 4 and used[:3] == [r.order_id for r in records]
    events.wait(lambda: len(first.book.records()) == 4, "the raw order in the book")
    first.stop()
    assert sim.wait_detached(first.client_id)  # TWS frees the id once it sees the close

    second = app_factory(sim, client_id=9)
    assert second.ids.peek() > max(used)
    record = second.place("AAPL", market_order("BUY", 1))
    assert record.order_id > max(used)
    barrier(second)
    assert placed_ids(sim, 9)[-1] == record.order_id
    assert len(set(placed_ids(sim, 9))) == 5  # no id sent twice


def test_working_orders_of_an_earlier_session_are_in_the_new_book(sim, app_factory):
    first = app_factory(sim, client_id=2)
    rec = first.place("AAPL", limit_order("BUY", 7, 100.0))
    Events(first).status(rec.order_id, "Submitted")
    first.stop()
    assert sim.wait_detached(first.client_id)  # TWS frees the id once it sees the close

    second = app_factory(sim, client_id=2)
    events = Events(second)
    events.status(rec.order_id, "Submitted")  # TWS sends open orders on connect
    mine = second.book.get(rec.order_id)
    assert mine.perm_id == rec.perm_id and mine.limit_price == 100.0
    assert mine.sent_order is None  # not placed by this session: only TWS's copy is known
    # ... and it can be managed from the new session: modify, then cancel
    second.modify(rec.order_id, price=101.0)
    events.wait(lambda: mine.limit_price == 101.0, "the modify of the recovered order")
    assert isinstance(mine.order, Order) and mine.modifications[-1].state == "applied"
    barrier(second)
    resent = [r for r in sim.received(2) if isinstance(r, m.PlaceOrder)][-1]
    assert resent.order_id == rec.order_id and resent.order.lmtPrice == 101.0
    # its terms, not TWS's placeholders: "None" would ask for a delta-neutral order
    assert resent.order.deltaNeutralOrderType == "" and resent.order.displaySize == 0
    assert (resent.order.action, resent.order.totalQuantity) == ("BUY", 7)
    assert (resent.order.tif, resent.order.account) == ("DAY", second.accounts[0])
    assert resent.contract.conId == AAPL and resent.contract.right == ""
    assert resent.contract.exchange == "SMART"
    second.cancel(rec.order_id)
    events.status(rec.order_id, "Cancelled")


def test_concurrent_requests_of_one_kind_share_the_answer(app):
    """reqCurrentTime carries no request id: two callers at once both get the answer."""
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(app.current_time())) for _ in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == 2 and all(a > 0 for a in answers)


def test_a_stopped_app_cannot_be_started_again(sim, app_factory):
    """Its threads, queues and ready state are single-use: a second start() says so at once
    instead of reusing the stale state (a ready event already set, a closed inbox)."""
    app = app_factory(sim, client_id=6)
    app.stop()
    assert sim.wait_detached(6)
    with pytest.raises(RuntimeError, match="create a new TwsApp"):
        app.start("127.0.0.1", sim.port, 6, timeout=10)
    assert not app.ready and app_threads(app) == []
    assert sim.wait_detached(6)  # nothing reconnected
    fresh = app_factory(sim, client_id=6)  # a new TwsApp connects as usual
    assert fresh.ready and fresh.current_time() > 0


def test_an_app_whose_start_failed_cannot_be_started_again(refused_port):
    port = refused_port
    app = TwsApp()
    with pytest.raises(ConnectError, match="refused"):
        app.start("127.0.0.1", port, 1, timeout=10)
    with pytest.raises(RuntimeError, match="create a new TwsApp"):
        app.start("127.0.0.1", port, 1, timeout=10)
    assert app_threads(app) == []
