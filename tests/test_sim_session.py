"""The simulator's session layer, driven by the real ibapi ``EClient`` over a loopback socket.

Handshake and version negotiation, refusal of clients that cannot speak (logged, server keeps
serving), 326, pacing (error 100), order-id sequences per client across reconnects, isolation
between clients, the master client, client 0 binding TWS-window orders, the simple requests
(ids, time, accounts, contract details, market rules), unsupported requests, and determinism.
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from datetime import datetime
from decimal import Decimal

import pytest
from ibapi.common import PROTOBUF_MSG_IDS
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.message import IN, OUT
from ibapi.order_cancel import OrderCancel
from ibapi.protobuf.StartApiRequest_pb2 import StartApiRequest
from sim_client import RawSession, SimClient, TapProxy, order, stock

from twsapp.sim.clock import NEW_YORK
from twsapp.sim.server import SimServer, _split_for_ibapi
from twsapp.sim.wire import MIN_PROTOBUF_VERSION, PROTOBUF_OFFSET, frame, split_payload

AAPL = 265598
IBM_CON_IDS = {8314}


@pytest.fixture
def raw_sessions():
    sessions: list[RawSession] = []

    def make(server: SimServer) -> RawSession:
        session = RawSession(server.port)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


def _tws_time(server: SimServer) -> str:
    return server.clock.now().strftime("%Y%m%d %H:%M:%S") + " US/Eastern"


def _is_text(request: int, version: int) -> bool:
    """Whether ibapi sends ``request`` as text at ``version`` (its PROTOBUF_MSG_IDS table)."""
    first = PROTOBUF_MSG_IDS.get(request)
    return first is None or version < first


def _text_request(version: int, msg_id: int, *fields: bytes) -> bytes:
    """A text request as EClient frames it: the id as text below 201, as 4 bytes from 201."""
    body = b"".join(f + b"\0" for f in fields)
    head = struct.pack("!I", msg_id) if version >= MIN_PROTOBUF_VERSION else b"%d\0" % msg_id
    return frame(head + body)


def _start_api(raw: RawSession, version: int, client_id: int) -> None:
    """startApi in the form the client uses at ``version``, then read up to nextValidId."""
    if _is_text(OUT.START_API, version):
        raw.send_raw(_text_request(version, OUT.START_API, b"2", b"%d" % client_id, b""))
    else:
        body = StartApiRequest(clientId=client_id).SerializeToString()
        raw.send_raw(frame(struct.pack("!I", OUT.START_API + PROTOBUF_OFFSET) + body))
    while _next_message(raw, version)[0] != IN.NEXT_VALID_ID:
        pass


def _next_message(raw: RawSession, version: int) -> tuple[int, bool, bytes]:
    """(message id, is protobuf, body) of the next frame the server sent."""
    payload = raw.reader.read_frame()
    assert payload is not None, "the server closed the connection"
    return split_payload(version, payload)


# --------------------------------------------------------------------------- handshake


def test_real_client_negotiates_the_server_version_and_gets_accounts_then_id(sim, connect):
    client = connect(sim)
    assert client.serverVersion() == sim.settings.server_version
    assert client.twsConnectionTime().decode() == _tws_time(sim)
    assert client.names()[:3] == ["connectAck", "managedAccounts", "nextValidId"]
    assert client.of("managedAccounts")[0].accountsList == "DU1234567"
    assert client.of("nextValidId")[0].orderId >= 1


def test_handshake_chooses_the_highest_common_version(sim, raw_sessions, server_version):
    cases = {
        f"v100..{server_version + 50}": server_version,  # client newer: the server's version
        f"v{server_version}": server_version,  # a bare version
        f"v157..{server_version} +PACEAPI": server_version,  # connect options are accepted
    }
    if server_version > 157:
        cases[f"v100..{server_version - 1}"] = server_version - 1  # client older: its max
        cases["v100..157"] = 157
    for spec, expected in cases.items():
        reply = raw_sessions(sim).handshake(spec)
        assert reply == [str(expected), _tws_time(sim)], spec


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"API\0" + frame(b"v100..156"), id="range-below-157"),
        pytest.param(b"API\0" + frame(b"v100..120 +PACEAPI"), id="old-client"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", id="http"),
        pytest.param(b"API\0" + frame(b"hello"), id="no-version"),
        pytest.param(b"API\0" + frame(b"v300..200"), id="empty-range"),
        pytest.param(b"API\0" + b"\xff\xff\xff\xff", id="huge-frame"),
    ],
)
def test_a_client_that_cannot_speak_is_closed_logged_and_others_are_served(
    sim, connect, raw_sessions, caplog, garbage
):
    already = connect(sim, client_id=1)
    raw = raw_sessions(sim)
    with caplog.at_level(logging.WARNING, logger="twsapp.sim"):
        raw.send_raw(garbage)
        assert raw.read_fields() is None  # closed without a version reply
    port = raw.sock.getsockname()[1]
    assert any(
        record.levelno == logging.WARNING and str(port) in record.getMessage()
        for record in caplog.records
    ), [r.getMessage() for r in caplog.records]
    already.sync()  # the connected client is still served ...
    newcomer = connect(sim, client_id=2)  # ... and so is a new one
    assert newcomer.serverVersion() == sim.settings.server_version


def test_garbage_after_start_api_closes_only_that_connection(sim, connect, raw_sessions, caplog):
    version = sim.settings.server_version
    raw = raw_sessions(sim)
    assert raw.handshake(f"v100..{version}")[0] == str(version)
    _start_api(raw, version, client_id=42)
    other = connect(sim, client_id=1)
    if version >= MIN_PROTOBUF_VERSION:  # the id is 4 binary bytes: send fewer
        garbage, complaint = frame(b"\x00\x01"), "shorter than its 4-byte id"
    else:  # the id is a NUL-terminated number: send something else
        garbage, complaint = frame(b"not-a-number\x00"), "not a number"
    with caplog.at_level(logging.WARNING, logger="twsapp.sim"):
        raw.send_raw(garbage)
        while raw.reader.read_frame() is not None:  # farm notices, then the close
            pass
    assert any(complaint in r.getMessage() for r in caplog.records)
    other.sync()


def test_accepted_connections_send_without_nagle_delay(sim, connect):
    """A burst TWS sends at once (openOrder, orderStatus, execDetails...) must not wait for the
    client's delayed ACK between frames: every accepted socket has TCP_NODELAY set."""
    connect(sim, client_id=1)
    connect(sim, client_id=2)
    sessions = sim.sessions()
    assert len(sessions) == 2
    for session in sessions:
        assert session.conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_write_never_ends_on_ibapis_read_boundary():
    """ibapi loses a 4096-byte read when the data on hand ends exactly there (its next recv
    times out and drops what it read): such a batch is written in two parts."""
    frames = [frame(b"x" * 2000), frame(b"y" * 2088)]  # 2004 + 2092 = 4096 bytes
    head, tail = _split_for_ibapi(frames)
    assert (head, tail) == (frames[0], frames[1])
    frames.append(frame(b"z"))
    assert _split_for_ibapi(frames) == (b"".join(frames), b"")


# --------------------------------------------------------------------------- client ids


def test_second_connection_with_a_connected_client_id_gets_326_and_is_closed(sim, connect):
    first = connect(sim, client_id=5)
    second = connect(sim, client_id=5, wait_ready=False)
    refusal = second.wait_error(326)
    assert refusal.reqId == -1
    assert "client id is already in use" in refusal.errorString
    second.wait_closed()
    assert second.of("nextValidId") == [] and second.of("managedAccounts") == []
    # The first connection is untouched and keeps working.
    assert first.isConnected()
    since = first.mark()
    first.placeOrder(first.next_id(), stock("AAPL"), order("BUY", 1))
    first.wait("execDetails", since)
    # Once the first one goes, the id is free again.
    first.stop()
    assert sim.wait_detached(5)
    third = connect(sim, client_id=5)
    assert third.of("nextValidId")


def test_order_ids_increase_per_client_and_survive_reconnects(sim, connect):
    one = connect(sim, client_id=1)
    start = one.of("nextValidId")[0].orderId
    one.placeOrder(start, stock("AAPL"), order("BUY", 1))
    one.placeOrder(start + 7, stock("AAPL"), order("BUY", 1))  # ids may skip
    one.wait_status(start + 7, "Filled")
    assert one.next_id() == start + 8
    one.stop()
    assert sim.wait_detached(1)

    again = connect(sim, client_id=1)
    assert again.of("nextValidId")[0].orderId == start + 8
    since = again.mark()
    again.placeOrder(start + 3, stock("AAPL"), order("BUY", 1))  # skipped, now behind: 103
    assert again.wait_error(103, since).reqId == start + 3
    again.placeOrder(start + 7, stock("AAPL"), order("BUY", 1))  # a filled order's id: 104
    assert again.wait_error(104, since).reqId == start + 7

    other = connect(sim, client_id=2)  # its own sequence, untouched by client 1's ids
    assert other.of("nextValidId")[0].orderId == start
    other.placeOrder(start, stock("IBM"), order("BUY", 2))  # the same number: no conflict
    other.wait_status(start, "Filled")
    since = other.mark()
    other.reqExecutions(1, ExecutionFilter())
    other.wait("execDetailsEnd", since)
    owners = sorted(
        (e.execution.clientId, e.contract.symbol)
        for e in other.of("execDetails", since)
        if e.execution.orderId == start
    )
    assert owners == [(1, "AAPL"), (2, "IBM")]


# --------------------------------------------------------------------------- several clients


def _resting_buy(client: SimClient, symbol: str = "AAPL", quantity: int = 10) -> int:
    """A DAY limit far below the market: it rests all day."""
    order_id = client.next_id()
    client.placeOrder(order_id, stock(symbol), order("BUY", quantity, "LMT", limit=50.0))
    client.wait_status(order_id, "Submitted")
    return order_id


def _order_events(client: SimClient, since: int = 0) -> list[tuple[int, int]]:
    """(orderId, permId) of every order callback a client received."""
    return (
        [(e.orderId, e.order.permId) for e in client.of("openOrder", since)]
        + [(e.orderId, e.permId) for e in client.of("orderStatus", since)]
        + [(e.execution.orderId, e.execution.permId) for e in client.of("execDetails", since)]
    )


def test_clients_are_isolated(sim, connect):
    one, two = connect(sim, client_id=1), connect(sim, client_id=2)
    filled = one.next_id()
    one.placeOrder(filled, stock("AAPL"), order("BUY", 10))
    one.wait_status(filled, "Filled")
    resting = _resting_buy(two, "IBM")
    one.sync()
    two.sync()
    perm_one = {p for _, p in _order_events(one)}
    perm_two = {p for _, p in _order_events(two)}
    assert perm_one and perm_two and not perm_one & perm_two
    assert {o for o, _ in _order_events(two)} == {resting}

    since = one.mark()
    one.reqOpenOrders()  # its own working orders only: none
    one.wait("openOrderEnd", since)
    assert one.of("openOrder", since) == []
    since = two.mark()
    two.reqOpenOrders()
    two.wait("openOrderEnd", since)
    assert [e.orderId for e in two.of("openOrder", since)] == [resting]
    since = one.mark()
    one.reqAllOpenOrders()  # every client's working orders
    one.wait("openOrderEnd", since)
    assert [(e.orderId, e.order.clientId) for e in one.of("openOrder", since)] == [(resting, 2)]


def test_master_client_sees_every_clients_order_status(sim_factory, server_version, connect):
    sim = sim_factory(server_version=server_version, master_client_id=9)
    master, one, two = (connect(sim, client_id=i) for i in (9, 1, 2))
    order_id = one.next_id()
    one.placeOrder(order_id, stock("AAPL"), order("BUY", 3))
    one.wait_status(order_id, "Filled")
    seen = master.wait_status(order_id, "Filled")
    assert seen.clientId == 1 and seen.filled == Decimal(3)
    assert master.wait("execDetails").execution.clientId == 1
    resting = _resting_buy(two)
    assert master.wait("orderStatus", orderId=resting, status="Submitted", clientId=2)
    one.sync()
    assert {o for o, _ in _order_events(one)} == {order_id}  # not the master: its own only


def test_client_zero_binds_orders_typed_into_tws(sim, connect):
    typed = order("BUY", 5, "LMT", limit=60.0)
    perm = sim.place_manual_order(stock("AAPL"), typed)
    api = connect(sim, client_id=1)
    since = api.mark()
    api.reqOpenOrders()  # not this client's order
    api.wait("openOrderEnd", since)
    assert api.of("openOrder", since) == []
    since = api.mark()
    api.reqAllOpenOrders()  # visible to all, but unbound: order id 0
    api.wait("openOrderEnd", since)
    assert [(e.orderId, e.order.permId) for e in api.of("openOrder", since)] == [(0, perm)]

    zero = connect(sim, client_id=0)
    since = zero.mark()
    zero.reqOpenOrders()  # client 0 binds it: a negative API id
    zero.wait("openOrderEnd", since)
    (bound,) = zero.of("openOrder", since)
    assert bound.order.permId == perm and bound.orderId < 0
    since = zero.mark()
    zero.cancelOrder(bound.orderId, OrderCancel())  # now client 0 can manage it
    assert zero.wait_status(bound.orderId, "Cancelled", since).permId == perm
    assert zero.wait_error(202, since).reqId == bound.orderId

    since = zero.mark()
    zero.reqAutoOpenOrders(True)  # later TWS-window orders are bound as they are placed
    zero.sync()
    later = sim.place_manual_order(stock("IBM"), order("BUY", 1, "LMT", limit=100.0))
    announced = zero.wait("openOrder", since)
    assert announced.order.permId == later and announced.orderId < bound.orderId
    api.sync()
    assert all(e.order.permId != later for e in api.of("openOrder"))

    since = api.mark()
    api.reqAutoOpenOrders(True)  # only client 0 may
    assert api.wait("error", since).errorCode == 321


# --------------------------------------------------------------------------- pacing


BURST = 80


class ManualClock:
    """The pacing clock, moved by the test: a burst is "within one second" however slow the
    machine running it."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _burst(client: SimClient) -> list:
    since = client.mark()
    for _ in range(BURST):
        client.reqCurrentTime()

    def answered(events):
        got = [e for e in events[since:] if e.name == "currentTime" or _is_pacing(e)]
        return got if len(got) == BURST else None

    return client.until(answered)


def _is_pacing(event) -> bool:
    return event.name == "error" and event.errorCode == 100


def test_more_than_50_messages_a_second_get_error_100(sim_factory, server_version, connect):
    clock = ManualClock()
    sim = sim_factory(server_version=server_version, pacing_clock=clock)
    client = connect(sim)
    replies = _burst(client)
    assert [e.name for e in replies[:50]] == ["currentTime"] * 50  # the first 50 pass ...
    refused = replies[50:]  # ... and the other 30 of the same second are refused
    assert len(refused) == BURST - 50 and all(_is_pacing(e) for e in refused)
    for count, error in enumerate(refused, start=1):
        assert error.reqId == count  # TWS numbers its violations, and so the reqId
        assert error.errorString == (
            f"Max rate of messages per second has been exceeded:max=50 rec={50 + count} ({count})"
        )
    assert client.isConnected() and client.of("connectionClosed") == []

    clock.now += 1.0  # a second later the window is empty again
    since = client.mark()
    for _ in range(50):
        client.reqCurrentTime()
    client.until(lambda events: len([e for e in events[since:] if e.name == "currentTime"]) == 50)
    assert [e for e in client.of("error", since) if _is_pacing(e)] == []  # replies are in order


@pytest.mark.parametrize("pacing", [True, False], ids=["pacing", "no-pacing"])
def test_the_pacing_switch_lifts_error_100_for_a_burst(sim_factory, connect, pacing):
    """The benchmarks' switch: with pacing off, the same 80-message burst is answered whole."""
    sim = sim_factory(pacing=pacing, pacing_clock=ManualClock())
    replies = _burst(connect(sim))
    refused = [e for e in replies if _is_pacing(e)]
    assert len(refused) == (BURST - 50 if pacing else 0)
    assert len(replies) - len(refused) == (50 if pacing else BURST)


def test_pacing_uses_real_time_by_default(sim):
    assert sim.settings.pacing_clock is time.monotonic


def test_repeated_pacing_violations_disconnect_when_configured(
    sim_factory, server_version, connect
):
    sim = sim_factory(
        server_version=server_version, disconnect_after_violations=3, pacing_clock=ManualClock()
    )
    other = connect(sim, client_id=2)
    client = connect(sim, client_id=1)
    since = client.mark()
    for _ in range(BURST):
        client.reqCurrentTime()
    client.wait_closed()
    refused = [e for e in client.of("error", since) if e.errorCode == 100]
    assert [e.reqId for e in refused] == [1, 2, 3]
    assert len(client.of("currentTime", since)) == 50
    other.sync()  # only the offender is dropped
    assert sim.wait_detached(1)
    back = connect(sim, client_id=1)
    back.sync()


# --------------------------------------------------------------------------- simple requests


def test_req_ids_current_time_and_managed_accounts(sim_factory, server_version, connect):
    sim = sim_factory(server_version=server_version, accounts=["DU111", "DU222"])
    client = connect(sim)
    first = client.of("nextValidId")[0].orderId
    assert client.next_id() == first  # nothing used yet: the same id again

    since = client.mark()
    client.reqCurrentTime()
    assert client.wait("currentTime", since).time == int(sim.clock.now().timestamp())
    sim.advance(3600)
    since = client.mark()
    client.reqCurrentTime()
    assert client.wait("currentTime", since).time == int(sim.clock.start.timestamp()) + 3600

    since = client.mark()
    client.reqManagedAccts()
    assert client.wait("managedAccounts", since).accountsList == "DU111,DU222"
    assert client.of("managedAccounts")[0].accountsList == "DU111,DU222"


def test_contract_details_for_one_instrument(sim, connect):
    client = connect(sim)
    since = client.mark()
    client.reqContractDetails(7, stock("AAPL"))
    end = client.wait("contractDetailsEnd", since)
    assert end.reqId == 7
    (row,) = client.of("contractDetails", since)
    details = row.contractDetails
    assert row.reqId == 7
    assert (details.contract.conId, details.contract.primaryExchange) == (AAPL, "NASDAQ")
    assert details.minTick == 0.01 and details.contract.exchange == "SMART"
    assert "LMT" in details.orderTypes.split(",") and details.timeZoneId
    assert client.names(since)[-1] == "contractDetailsEnd"


def test_contract_details_unknown_symbol_is_error_200(sim, connect):
    client = connect(sim)
    since = client.mark()
    client.reqContractDetails(8, stock("ZZZZQ"))
    error = client.wait_error(200, since)
    assert error.reqId == 8
    client.sync()
    assert (
        client.of("contractDetails", since) == [] and client.of("contractDetailsEnd", since) == []
    )


def test_ambiguous_contract_request_returns_every_match(sim, connect):
    client = connect(sim)
    bare = Contract()
    bare.symbol = "IBM"  # no secType, exchange or currency
    es = Contract()
    es.symbol, es.secType, es.exchange = "ES", "FUT", "CME"  # no expiry
    since = client.mark()
    client.reqContractDetails(9, bare)
    client.reqContractDetails(10, es)
    client.wait("contractDetailsEnd", since, reqId=10)
    ibm = [e.contractDetails.contract for e in client.of("contractDetails", since, reqId=9)]
    futures = [e.contractDetails.contract for e in client.of("contractDetails", since, reqId=10)]
    assert {c.symbol for c in ibm} == {"IBM"} and len({c.conId for c in ibm}) >= 2
    assert {c.conId for c in ibm} >= IBM_CON_IDS
    assert {c.symbol for c in futures} == {"ES"} and len({c.conId for c in futures}) >= 2
    assert len({c.lastTradeDateOrContractMonth for c in futures}) >= 2
    assert client.of("error", since) == []


def test_market_rule(sim, connect):
    client = connect(sim)
    since = client.mark()
    client.reqContractDetails(1, stock("AAPL"))
    row = client.wait("contractDetails", since).contractDetails
    rule_id = int(row.marketRuleIds.split(",")[0])
    client.reqMarketRule(rule_id)
    rule = client.wait("marketRule", since)
    assert rule.marketRuleId == rule_id
    increments = [(i.lowEdge, i.increment) for i in rule.priceIncrements]
    assert increments and increments[0][0] == 0.0 and increments[0][1] == row.minTick

    since = client.mark()
    client.reqMarketRule(999_999)
    assert client.wait("error", since).errorCode == 321
    client.sync()


def test_unsupported_requests_get_an_error_to_their_req_id(sim, connect):
    client = connect(sim)
    since = client.mark()
    client.reqMktDepth(1001, stock("AAPL"), 5, False, [])
    client.reqHistogramData(1002, stock("AAPL"), True, "3 days")
    first = client.wait("error", since, reqId=1001)
    second = client.wait("error", since, reqId=1002)
    assert first.errorCode == second.errorCode == 321
    assert "not supported" in first.errorString
    client.sync()  # the connection stays up and served
    assert client.isConnected() and client.of("connectionClosed") == []
    assert [type(r).__name__ for r in sim.received(1)[:2]] == ["Unsupported", "Unsupported"]


def test_extra_trailing_fields_are_tolerated(sim, raw_sessions, caplog):
    version = sim.settings.server_version
    if not _is_text(OUT.REQ_CURRENT_TIME, version):
        pytest.skip(f"ibapi sends reqCurrentTime as protobuf at v{version}")
    raw = raw_sessions(sim)
    raw.handshake(f"v100..{version}")
    _start_api(raw, version, client_id=7)
    with caplog.at_level(logging.WARNING, logger="twsapp.sim"):
        # reqCurrentTime (version 1) with one field too many
        raw.send_raw(_text_request(version, OUT.REQ_CURRENT_TIME, b"1", b"surplus"))
        msg_id, is_proto, body = _next_message(raw, version)
        while msg_id == IN.ERR_MSG:  # farm notices
            msg_id, is_proto, body = _next_message(raw, version)
    assert (msg_id, is_proto) == (IN.CURRENT_TIME, False)
    assert body.split(b"\0")[:-1] == [b"1", str(int(sim.clock.now().timestamp())).encode()]
    assert any("left over" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- determinism

START = datetime(2026, 3, 2, 9, 30, tzinfo=NEW_YORK)  # a Monday open


def _scenario(server: SimServer) -> tuple[list[bytes], list[float]]:
    """One fixed conversation through a tap: every byte the server sent, and the fill prices."""
    tap = TapProxy(server.port)
    client = SimClient().start(tap.port, client_id=3)
    try:
        since = client.mark()
        client.reqContractDetails(1, stock("AAPL"))
        client.wait("contractDetailsEnd", since)
        buy = client.next_id()
        client.placeOrder(buy, stock("AAPL"), order("BUY", 100))
        client.wait("commissionAndFeesReport", since)
        sell = client.next_id()
        client.placeOrder(sell, stock("AAPL"), order("SELL", 100, "LMT", limit=400.0))
        client.wait_status(sell, "Submitted", since)
        server.advance(1800)
        client.sync()
        late = client.next_id()
        client.placeOrder(late, stock("AAPL"), order("BUY", 50))
        client.wait_status(late, "Filled", since)
        for request, end in (
            (lambda: client.reqPositions(), "positionEnd"),
            (lambda: client.reqAccountSummary(5, "All", "All"), "accountSummaryEnd"),
            (lambda: client.reqExecutions(6, ExecutionFilter()), "execDetailsEnd"),
            (lambda: client.reqCompletedOrders(False), "completedOrdersEnd"),
            (lambda: client.cancelOrder(sell, OrderCancel()), "orderStatus"),
        ):
            mark = client.mark()
            request()
            client.wait(end, mark)
        client.sync()
        prices = [e.execution.price for e in client.of("execDetails", since)]
    finally:
        client.stop()
        tap.close()
    return tap.frames(), prices


def test_same_seed_same_requests_identical_message_streams(sim_factory, server_version):
    runs = [
        _scenario(sim_factory(server_version=server_version, seed=7, start=START)) for _ in range(2)
    ]
    (frames_a, prices_a), (frames_b, prices_b) = runs
    assert len(frames_a) > 20 and frames_a == frames_b
    assert prices_a == prices_b

    _, other_prices = _scenario(sim_factory(server_version=server_version, seed=8, start=START))
    assert len(other_prices) == len(prices_a) and other_prices != prices_a
