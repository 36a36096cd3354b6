"""reqPnL and reqPnLSingle in the simulator, through a real ibapi client on the manual clock.

Every expected figure is computed here by hand from what the client itself was told (execution
prices, commission reports) and from the tape's trades (``tape.last_trade``): the mark is the
last trade now, the previous close the last trade before the previous regular session ended.
Nothing is read from the simulator's own P&L arithmetic.

The codec half (every message and request in every form, at every version) is also here; the
examples and the requests tested are shared with the codec tests of every message kind
(test_sim_text_encode, test_sim_proto, test_sim_text_requests).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from capture_client import CaptureSession
from ibapi.common import PROTOBUF_MSG_IDS
from ibapi.const import UNSET_DOUBLE
from ibapi.contract import Contract
from ibapi.message import OUT
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF_SCAN_DATA
from sim_client import SimClient, order, stock
from versions import FAST_VERSIONS, NEWEST

from twsapp.sim import messages as m
from twsapp.sim.clock import NEW_YORK
from twsapp.sim.proto import decode_proto_request, encode_proto, proto_kind_version
from twsapp.sim.server import SimServer
from twsapp.sim.text import encode_text
from twsapp.sim.text_requests import decode_text_request
from twsapp.sim.wire import split_payload

AAPL, ESZ6 = 265598, 515416632
ACCOUNT = "DU1234567"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)  # regular hours; the day began at 04:00
INVALID_ACCOUNT = "Error validating request.-'cq' : cause - Invalid account code"
DUPLICATE = "Error processing request.-'bO' : cause - Duplicate ticker id"

# --------------------------------------------------------------------------- codec (shared)

PNL_KINDS = (m.PnL, m.PnLSingle)
PNL_EXAMPLES: list[m.Message] = [
    m.PnL(1, 150.25, 45.0, 105.25),
    m.PnL(2, -3.0000000000018, -2.5, 0.0),
    m.PnL(3, UNSET_DOUBLE, 0.0, 0.0),
    m.PnLSingle(4, Decimal(100), -3.0, -4.0, 0.0, 14999.0),
    m.PnLSingle(5, Decimal(-25), 12.5, 10.0, UNSET_DOUBLE, -3750.5),  # not traded today
    m.PnLSingle(6, Decimal(0), 96.0, 0.0, 96.0, 0.0),  # closed today
    m.PnLSingle(7, Decimal("0.5"), UNSET_DOUBLE, 1.25, UNSET_DOUBLE, 1.5),
]
# Served requests whose round trips (text and protobuf, every generation) are tested here.
PNL_REQUESTS = {OUT.REQ_PNL, OUT.CANCEL_PNL, OUT.REQ_PNL_SINGLE, OUT.CANCEL_PNL_SINGLE}


def _requests():
    """(EClient call, OUT id, expected request)."""
    return [
        (lambda c: c.reqPnL(11, ACCOUNT, ""), OUT.REQ_PNL, m.ReqPnL(11, ACCOUNT, "")),
        (lambda c: c.reqPnL(12, "All", "Model1"), OUT.REQ_PNL, m.ReqPnL(12, "All", "Model1")),
        (lambda c: c.cancelPnL(11), OUT.CANCEL_PNL, m.CancelPnL(11)),
        (lambda c: c.reqPnLSingle(13, ACCOUNT, "", AAPL), OUT.REQ_PNL_SINGLE,
         m.ReqPnLSingle(13, ACCOUNT, "", AAPL)),
        (lambda c: c.cancelPnLSingle(13), OUT.CANCEL_PNL_SINGLE, m.CancelPnLSingle(13)),
    ]  # fmt: skip


@pytest.mark.parametrize("version", [157, 176, 200, 209, 210, NEWEST], ids=lambda v: f"v{v}")
def test_client_requests_decode_to_what_was_sent(version):
    """Text before the scanner / P&L generation (210), protobuf from it, both read in full."""
    with CaptureSession(version) as session:
        for call, out_id, expected in _requests():
            msg_id, is_proto, body = session.request(call)
            assert msg_id == out_id
            assert is_proto == (version >= PROTOBUF_MSG_IDS[out_id] == 210)
            if is_proto:
                decoded = decode_proto_request(msg_id, body)
            else:
                decoded = decode_text_request(version, msg_id, body)  # strict: nothing left
            assert decoded == expected, (version, out_id)


def test_pnl_moves_to_protobuf_with_its_request():
    for kind, request in ((m.PnL, OUT.REQ_PNL), (m.PnLSingle, OUT.REQ_PNL_SINGLE)):
        assert proto_kind_version(kind) == PROTOBUF_MSG_IDS[request]
        assert proto_kind_version(kind) == MIN_SERVER_VER_PROTOBUF_SCAN_DATA


def test_text_fields_are_spelled_as_tws_writes_them():
    """No version field; doubles as Java writes them, the unset marker included."""
    assert encode_text(176, m.PnL(1, 150.25, -3.0, UNSET_DOUBLE)) == (
        b"94\x001\x00150.25\x00-3.0\x001.7976931348623157E308\x00"
    )
    assert encode_text(200, m.PnLSingle(4, Decimal(100), -3.0, -4.0, 0.0, 14999.0)) == (
        b"95\x004\x00100\x00-3.0\x00-4.0\x000.0\x0014999.0\x00"
    )


def test_protobuf_leaves_unset_values_out():
    from ibapi.protobuf.PnLSingle_pb2 import PnLSingle as PnLSingleProto

    body = split_payload(NEWEST, encode_proto(NEWEST, PNL_EXAMPLES[4]))[2]
    proto = PnLSingleProto()
    proto.ParseFromString(body)
    assert proto.position == "-25" and proto.HasField("dailyPnL")
    assert not proto.HasField("realizedPnL")
    assert encode_proto(MIN_SERVER_VER_PROTOBUF_SCAN_DATA - 1, PNL_EXAMPLES[0]) is None


# --------------------------------------------------------------------------- helpers


@pytest.fixture(params=FAST_VERSIONS, ids=lambda v: f"v{v}")
def version(request) -> int:
    """A text (176) and a protobuf (newest) version."""
    return request.param


@pytest.fixture
def monday(sim_factory, version) -> SimServer:
    return sim_factory(server_version=version, start=MONDAY)


def future() -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "ES", "FUT", "CME", "USD"
    c.lastTradeDateOrContractMonth = "202612"
    return c


def fill(client: SimClient, contract: Contract, o) -> tuple[float, float, float]:
    """Place, wait until filled with its report: (price, commission, realized P&L)."""
    order_id = client.next_id()
    since = client.mark()
    client.placeOrder(order_id, contract, o)
    client.wait_status(order_id, "Filled", since)
    execution = client.wait("execDetails", since).execution
    report = client.wait("commissionAndFeesReport", since).commissionAndFeesReport
    return execution.price, report.commissionAndFees, report.realizedPNL


def step(sim: SimServer, client: SimClient, seconds: float = 1) -> int:
    """Let ``seconds`` pass; everything the simulator sent for them has arrived."""
    since = client.mark()
    sim.advance(seconds)
    client.sync()
    return since


def mark(sim: SimServer, con_id: int = AAPL) -> float:
    """The last trade on the tape now: what a position is marked at."""
    return sim.exchange.tape.last_trade(con_id, sim.exchange.step).price


def close_before(sim: SimServer, moment: datetime, con_id: int = AAPL) -> float:
    """The last trade printed before ``moment`` (a regular session's close)."""
    return sim.exchange.tape.last_trade(con_id, sim.clock.seconds_at(moment) - 0.001).price


def latest(client: SimClient, name: str, req_id: int, since: int = 0):
    events = client.of(name, since, reqId=req_id)
    assert events, f"no {name} for reqId {req_id}"
    return events[-1]


def account(event) -> tuple:
    return (event.dailyPnL, event.unrealizedPnL, event.realizedPnL)


def portfolio(client: SimClient, con_id: int = AAPL, name: str = ACCOUNT):
    """The account window's view of a position now (a fresh reqAccountUpdates)."""
    since = client.mark()
    client.reqAccountUpdates(True, name)
    client.wait("accountDownloadEnd", since)
    client.reqAccountUpdates(False, name)
    (row,) = [e for e in client.of("updatePortfolio", since) if e.contract.conId == con_id]
    return row


# --------------------------------------------------------------------------- values


def test_pnl_follows_fills_commissions_and_the_tape(monday, connect):
    sim, client = monday, connect(monday)
    since = client.mark()
    client.reqPnL(1, ACCOUNT, "")
    client.reqPnLSingle(2, ACCOUNT, "", AAPL)
    client.sync()
    assert account(latest(client, "pnl", 1, since)) == (0.0, 0.0, 0.0)  # nothing held yet
    assert client.of("pnlSingle", since) == [] and client.errors(since) == []

    buy, buy_fee, _ = fill(client, stock("AAPL"), order("BUY", 100))
    since = step(sim, client)
    now = mark(sim)
    cost = 100 * buy + buy_fee  # IB's cost basis carries the commission
    pos = latest(client, "pnlSingle", 2, since)
    assert pos.pos == 100 and pos.realizedPnL == 0.0  # traded today: a number, not unset
    assert pos.dailyPnL == pytest.approx(100 * (now - buy) - buy_fee)
    assert pos.unrealizedPnL == pytest.approx(100 * now - cost)
    assert pos.value == pytest.approx(100 * now)
    held = portfolio(client)
    assert (pos.unrealizedPnL, pos.value) == (held.unrealizedPNL, held.marketValue)
    acct = latest(client, "pnl", 1, since)
    assert account(acct) == (pos.dailyPnL, pos.unrealizedPnL, 0.0)

    sell, sell_fee, sell_realized = fill(client, stock("AAPL"), order("SELL", 40))
    assert sell_realized == pytest.approx(40 * (sell - cost / 100) - sell_fee)
    since = step(sim, client)
    now = mark(sim)
    pos = latest(client, "pnlSingle", 2, since)
    assert pos.pos == 60 and pos.realizedPnL == pytest.approx(sell_realized)
    daily = 100 * (now - buy) - 40 * (now - sell) - buy_fee - sell_fee
    assert pos.dailyPnL == pytest.approx(daily)
    assert pos.unrealizedPnL == pytest.approx(60 * (now - cost / 100))
    held = portfolio(client)
    assert (pos.unrealizedPnL, pos.realizedPnL) == (held.unrealizedPNL, held.realizedPNL)
    assert account(latest(client, "pnl", 1, since)) == (
        pos.dailyPnL,
        pos.unrealizedPnL,
        pos.realizedPnL,
    )


def test_updates_come_each_second_the_values_change_and_only_then(monday, connect):
    sim, client = monday, connect(monday)
    buy, fee, _ = fill(client, stock("AAPL"), order("BUY", 10))
    since = client.mark()
    client.reqPnLSingle(7, ACCOUNT, "", AAPL)
    client.sync()
    expected = [10 * (mark(sim) - buy) - fee]  # the first values come with the request
    for _ in range(30):
        step(sim, client)
        daily = 10 * (mark(sim) - buy) - fee
        if daily != pytest.approx(expected[-1], abs=1e-9):
            expected.append(daily)
    sent = [e.dailyPnL for e in client.of("pnlSingle", since, reqId=7)]
    assert len(expected) > 3, "the tape should move within 30 seconds"
    assert sent == pytest.approx(expected)
    since = step(sim, client, 600)  # a long step: one update, not one per second
    assert len(client.of("pnlSingle", since, reqId=7)) <= 1


def test_a_futures_position_counts_its_multiplier(monday, connect):
    sim, client = monday, connect(monday)
    price, fee, _ = fill(client, future(), order("BUY", 2))
    since = client.mark()
    client.reqPnLSingle(3, ACCOUNT, "", ESZ6)
    step(sim, client, 5)
    now = mark(sim, ESZ6)
    pos = latest(client, "pnlSingle", 3, since)
    assert pos.pos == 2 and pos.value == pytest.approx(2 * 50 * now)
    assert pos.dailyPnL == pytest.approx(2 * 50 * (now - price) - fee)
    assert pos.unrealizedPnL == pytest.approx(2 * 50 * now - (2 * 50 * price + fee))
    assert pos.unrealizedPnL == portfolio(client, ESZ6).unrealizedPNL


def test_daily_pnl_turns_at_the_next_session_with_the_previous_close(sim_factory, version, connect):
    """Monday: bought 100, sold 40. Until Tuesday's 04:00 open the day is Monday's; then the
    60 held overnight count from Monday's 16:00 close, and nothing is realized yet."""
    sim = sim_factory(server_version=version, start=MONDAY.replace(hour=15, minute=58))
    client = connect(sim)
    buy, buy_fee, _ = fill(client, stock("AAPL"), order("BUY", 100))
    sell, sell_fee, realized = fill(client, stock("AAPL"), order("SELL", 40))
    client.reqPnL(1, ACCOUNT, "")
    client.reqPnLSingle(2, ACCOUNT, "", AAPL)
    evening = MONDAY.replace(hour=21)  # after the close, before the next open
    step(sim, client, sim.clock.seconds_at(evening) - sim.clock.elapsed())
    now = mark(sim)
    monday_daily = 100 * (now - buy) - 40 * (now - sell) - buy_fee - sell_fee
    pos = latest(client, "pnlSingle", 2)
    assert (pos.pos, pos.realizedPnL) == (60, pytest.approx(realized))
    assert pos.dailyPnL == pytest.approx(monday_daily)

    tuesday_open = (MONDAY + timedelta(days=1)).replace(hour=4, minute=0)
    since = step(sim, client, sim.clock.seconds_at(tuesday_open) - 1 - sim.clock.elapsed())
    assert client.of("pnlSingle", since) == []  # 03:59:59: still Monday's day, nothing moved
    since = step(sim, client, 5)
    close = close_before(sim, MONDAY.replace(hour=16))
    now = mark(sim)
    pos = latest(client, "pnlSingle", 2, since)
    assert pos.pos == 60 and pos.realizedPnL == UNSET_DOUBLE  # not traded today
    assert pos.dailyPnL == pytest.approx(60 * (now - close))
    cost = (100 * buy + buy_fee) / 100
    assert pos.unrealizedPnL == pytest.approx(60 * (now - cost))
    acct = latest(client, "pnl", 1, since)
    assert acct.realizedPnL == 0.0  # the account's realized is a number, reset for the day
    assert (acct.dailyPnL, acct.unrealizedPnL) == (pos.dailyPnL, pos.unrealizedPnL)

    early = order("BUY", 10)  # Tuesday's trade, before the regular session
    early.outsideRth = True
    more, more_fee, _ = fill(client, stock("AAPL"), early)
    since = step(sim, client)
    now = mark(sim)
    pos = latest(client, "pnlSingle", 2, since)
    assert pos.pos == 70 and pos.realizedPnL == 0.0
    assert pos.dailyPnL == pytest.approx(60 * (now - close) + 10 * (now - more) - more_fee)


def test_a_position_closed_today_reports_zero_with_its_pnl(monday, connect):
    sim, client = monday, connect(monday)
    buy, buy_fee, _ = fill(client, stock("AAPL"), order("BUY", 100))
    step(sim, client, 30)
    sell, sell_fee, realized = fill(client, stock("AAPL"), order("SELL", 100))
    assert realized == pytest.approx(100 * (sell - buy) - buy_fee - sell_fee)
    since = client.mark()
    client.reqPnLSingle(5, ACCOUNT, "", AAPL)
    client.reqPnL(6, ACCOUNT, "")
    step(sim, client)
    (pos,) = client.of("pnlSingle", since, reqId=5)
    assert (pos.pos, pos.unrealizedPnL, pos.value) == (0, 0.0, 0.0)
    assert pos.realizedPnL == pytest.approx(realized)
    assert pos.dailyPnL == pytest.approx(realized)
    assert account(latest(client, "pnl", 6, since)) == pytest.approx((realized, 0.0, realized))
    since = step(sim, client, 60)
    assert client.of("pnlSingle", since) == []  # flat and nothing moves: nothing more
    # The next day the closed position is nobody's business: no pnlSingle, no error.
    next_day = (MONDAY + timedelta(days=1)).replace(hour=9)
    step(sim, client, sim.clock.seconds_at(next_day) - sim.clock.elapsed())
    since = client.mark()
    client.reqPnLSingle(8, ACCOUNT, "", AAPL)
    step(sim, client, 5)
    assert client.of("pnlSingle", since) == [] and client.errors(since) == []
    assert account(latest(client, "pnl", 6)) == (0.0, 0.0, 0.0)  # the new day's


# --------------------------------------------------------------------------- edges


def test_a_contract_not_held_is_silent_until_it_is_traded(monday, connect):
    sim, client = monday, connect(monday)
    since = client.mark()
    client.reqPnLSingle(3, ACCOUNT, "", AAPL)
    client.reqPnLSingle(4, ACCOUNT, "", 999999999)  # no such contract at all
    step(sim, client, 10)
    assert client.of("pnlSingle", since) == [] and client.errors(since) == []
    buy, fee, _ = fill(client, stock("AAPL"), order("BUY", 5))
    since = step(sim, client)
    pos = latest(client, "pnlSingle", 3, since)
    assert pos.pos == 5 and pos.dailyPnL == pytest.approx(5 * (mark(sim) - buy) - fee)
    assert client.of("pnlSingle", since, reqId=4) == []


def test_unknown_accounts_model_codes_and_all_are_refused(monday, connect):
    sim, client = monday, connect(monday)
    since = client.mark()
    client.reqPnL(1, "DU9999999", "")
    client.reqPnLSingle(2, "DU9999999", "", AAPL)
    client.reqPnL(3, "", "")
    client.reqPnL(4, "All", "")  # not an advisor login
    client.reqPnL(5, ACCOUNT, "Model1")
    for req_id in (1, 2, 3, 4):
        assert client.wait_error(321, since, reqId=req_id).errorString == INVALID_ACCOUNT
    assert "Invalid model code" in client.wait_error(321, since, reqId=5).errorString
    fill(client, stock("AAPL"), order("BUY", 5))
    step(sim, client, 3)
    assert client.of("pnl", since) == [] and client.of("pnlSingle", since) == []


def test_cancel_stops_updates_and_ids_are_checked(monday, connect):
    sim, client = monday, connect(monday)
    fill(client, stock("AAPL"), order("BUY", 100))
    since = client.mark()
    client.reqPnL(1, ACCOUNT, "")
    client.reqPnLSingle(2, ACCOUNT, "", AAPL)
    client.reqPnL(2, ACCOUNT, "")  # the id is streaming already
    assert client.wait_error(322, since, reqId=2).errorString == DUPLICATE
    client.cancelPnL(77)  # not streaming: TWS says nothing
    client.cancelPnLSingle(1)  # the other kind: nothing either, the stream goes on
    step(sim, client, 120)
    assert [e.errorCode for e in client.of("error", since)] == [322]
    assert len(client.of("pnl", since, reqId=1)) >= 2
    assert len(client.of("pnlSingle", since, reqId=2)) >= 2
    assert client.of("pnl", since, reqId=2) == []
    client.cancelPnL(1)
    client.cancelPnLSingle(2)
    client.sync()
    since = client.mark()
    fill(client, stock("AAPL"), order("SELL", 50))
    step(sim, client, 120)
    assert client.of("pnl", since) == [] and client.of("pnlSingle", since) == []
    client.reqPnL(1, ACCOUNT, "")  # a cancelled id may be used again
    client.sync()
    assert latest(client, "pnl", 1, since).realizedPnL != 0.0


def test_an_advisor_login_reports_each_account_and_all(sim_factory, version, connect):
    sim = sim_factory(server_version=version, start=MONDAY, accounts=["DU111", "DU222"])
    client = connect(sim)
    directed = order("BUY", 100)
    directed.account = "DU222"
    buy, fee, _ = fill(client, stock("AAPL"), directed)
    since = client.mark()
    client.reqPnL(1, "DU111", "")
    client.reqPnL(2, "DU222", "")
    client.reqPnL(3, "All", "")
    client.reqPnLSingle(4, "DU111", "", AAPL)
    client.reqPnLSingle(5, "DU222", "", AAPL)
    step(sim, client)
    now = mark(sim)
    assert account(latest(client, "pnl", 1, since)) == (0.0, 0.0, 0.0)
    mine = latest(client, "pnl", 2, since)
    assert mine.dailyPnL == pytest.approx(100 * (now - buy) - fee)
    assert mine.unrealizedPnL == pytest.approx(100 * now - (100 * buy + fee))
    assert account(latest(client, "pnl", 3, since)) == account(mine)
    assert client.of("pnlSingle", since, reqId=4) == []
    pos = latest(client, "pnlSingle", 5, since)
    assert pos.pos == 100 and pos.unrealizedPnL == portfolio(client, name="DU222").unrealizedPNL


# --------------------------------------------------------------------------- versions


def test_every_version_carries_the_values(sim_factory, server_version, connect):
    """Text below 210, protobuf from it; the unset realized of a position not traded today
    survives both (the matrix of versions; the slow ones under the slow mark)."""
    sim = sim_factory(server_version=server_version, start=MONDAY.replace(hour=15, minute=59))
    client = connect(sim)
    buy, fee, _ = fill(client, stock("AAPL"), order("BUY", 3))
    tuesday = (MONDAY + timedelta(days=1)).replace(hour=5)
    step(sim, client, sim.clock.seconds_at(tuesday) - sim.clock.elapsed())
    since = client.mark()
    client.reqPnLSingle(9, ACCOUNT, "", AAPL)
    client.reqPnL(10, ACCOUNT, "")
    client.sync()
    now = mark(sim)
    close = close_before(sim, MONDAY.replace(hour=16))
    pos = latest(client, "pnlSingle", 9, since)
    assert (pos.pos, pos.realizedPnL) == (3, UNSET_DOUBLE)
    assert pos.dailyPnL == pytest.approx(3 * (now - close))
    assert pos.unrealizedPnL == pytest.approx(3 * now - (3 * buy + fee))
    assert account(latest(client, "pnl", 10, since)) == (pos.dailyPnL, pos.unrealizedPnL, 0.0)
