"""Every request ibapi 10.46 can send is either served by the simulator or refused on purpose.

The list of requests comes from ibapi itself: its message ids (``ibapi.message.OUT``), the ids it
switches to protobuf (``PROTOBUF_MSG_IDS``) and the ids ``EClient`` really writes, as text and as
protobuf (read from its source). A request id that a newer ibapi adds, and that is neither in the
exchange's handler table nor in its named ``UNSUPPORTED_REQUESTS``, fails here.
"""

from __future__ import annotations

import inspect
import logging
import re
from decimal import Decimal

import ibapi.client
import pytest
from ibapi.common import PROTOBUF_MSG_IDS
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.message import OUT
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from sim_client import stock
from versions import NEWEST

from twsapp.sim import messages as m
from twsapp.sim.entry import OrderEntry
from twsapp.sim.exchange import UNSUPPORTED_REQUESTS, Exchange
from twsapp.sim.groups import OrderGroups
from twsapp.sim.matching import Matching
from twsapp.sim.proto_requests import PROTO_DECODERS, PROTO_REQ_ID_CARRIERS, decode_proto_request
from twsapp.sim.queries import OrderQueries
from twsapp.sim.server import SimServer, SimSettings
from twsapp.sim.state import ExchangeState
from twsapp.sim.text_requests import (
    REQUESTS_WITHOUT_REQ_ID,
    TEXT_DECODERS,
    UNSUPPORTED_REQ_ID_INDEX,
    decode_text_request,
)
from twsapp.sim.wire import split_payload

try:
    from capture_client import CaptureSession, ClientRefused
except ImportError:  # tests/ imported as a package
    from tests.capture_client import CaptureSession, ClientRefused

OUT_IDS: dict[str, int] = {
    name: value for name, value in vars(OUT).items() if name.isupper() and isinstance(value, int)
}
NAMES = {value: name for name, value in OUT_IDS.items()}
_SOURCE = inspect.getsource(ibapi.client)
SENT_AS_TEXT = {OUT_IDS[n] for n in re.findall(r"sendMsg\(\s*OUT\.([A-Z_]+)", _SOURCE)}
SENT_AS_PROTO = {OUT_IDS[n] for n in re.findall(r"sendMsgProtoBuf\(\s*OUT\.([A-Z_]+)", _SOURCE)}
# Served in some form: most in both, a few (cancelHistoricalTicks) only as protobuf, the only
# form in which ibapi sends them.
SERVED = set(TEXT_DECODERS) | set(PROTO_DECODERS)
PROTO_ONLY = set(PROTO_DECODERS) - set(TEXT_DECODERS)
TEXT_VERSION = 176


def names(ids) -> list[str]:
    return sorted(NAMES.get(i, str(i)) for i in ids)


@pytest.fixture
def exchange() -> Exchange:
    return SimServer(SimSettings(port=0, speed=0.0)).exchange  # never started: no socket


def test_ibapi_requests_are_all_enumerated():
    """The enumeration itself is sound: every OUT id is written by some EClient method."""
    assert len(OUT_IDS) == len(NAMES) > 80  # ids are distinct
    assert set(NAMES) == SENT_AS_TEXT | SENT_AS_PROTO
    assert set(PROTOBUF_MSG_IDS) <= set(NAMES)
    assert set(PROTOBUF_MSG_IDS) <= SENT_AS_PROTO


def test_every_request_id_is_served_or_explicitly_refused():
    every = set(NAMES) | set(PROTOBUF_MSG_IDS)
    neither = every - SERVED - UNSUPPORTED_REQUESTS
    both = SERVED & UNSUPPORTED_REQUESTS
    assert names(neither) == [], "add a handler, or name the request in UNSUPPORTED_REQUESTS"
    assert names(both) == []
    assert every >= UNSUPPORTED_REQUESTS, "UNSUPPORTED_REQUESTS names an id ibapi does not have"


def test_the_decoders_know_every_request_in_every_form_ibapi_sends():
    """Served requests decode in full; refused ones far enough to address the refusal."""
    text_unknown = SENT_AS_TEXT - SERVED - set(UNSUPPORTED_REQ_ID_INDEX) - REQUESTS_WITHOUT_REQ_ID
    proto_unknown = (
        SENT_AS_PROTO - set(PROTO_DECODERS) - set(PROTO_REQ_ID_CARRIERS) - REQUESTS_WITHOUT_REQ_ID
    )
    assert names(text_unknown) == []
    assert names(proto_unknown) == []
    assert set(PROTO_DECODERS) == SERVED & SENT_AS_PROTO
    assert names(PROTO_ONLY) == ["CANCEL_HISTORICAL_TICKS"]
    assert PROTO_ONLY <= SENT_AS_PROTO - SENT_AS_TEXT, "a text form exists: decode it too"
    assert REQUESTS_WITHOUT_REQ_ID <= UNSUPPORTED_REQUESTS
    assert not REQUESTS_WITHOUT_REQ_ID & (
        set(UNSUPPORTED_REQ_ID_INDEX) | set(PROTO_REQ_ID_CARRIERS)
    )


def test_every_request_class_has_a_handler(exchange):
    """StartApi belongs to the session (before the client exists for the exchange)."""
    kinds = {
        cls
        for cls in vars(m).values()
        if isinstance(cls, type) and issubclass(cls, m.Request) and cls is not m.Request
    }
    assert set(exchange.handlers) == kinds - {m.StartApi}
    for kind, handler in exchange.handlers.items():
        assert getattr(handler, "__self__", None) is exchange, kind


# --------------------------------------------------------------------------- served


def _order() -> Order:
    order = Order()
    order.action, order.orderType, order.totalQuantity = "BUY", "LMT", Decimal(1)
    order.lmtPrice, order.tif = 100.0, "DAY"
    return order


def _contract() -> Contract:
    return stock("AAPL")


SERVED_CALLS = {
    OUT.PLACE_ORDER: lambda c: c.placeOrder(5, _contract(), _order()),
    OUT.CANCEL_ORDER: lambda c: c.cancelOrder(5, OrderCancel()),
    OUT.REQ_GLOBAL_CANCEL: lambda c: c.reqGlobalCancel(OrderCancel()),
    OUT.REQ_OPEN_ORDERS: lambda c: c.reqOpenOrders(),
    OUT.REQ_ALL_OPEN_ORDERS: lambda c: c.reqAllOpenOrders(),
    OUT.REQ_AUTO_OPEN_ORDERS: lambda c: c.reqAutoOpenOrders(True),
    OUT.REQ_COMPLETED_ORDERS: lambda c: c.reqCompletedOrders(False),
    OUT.REQ_EXECUTIONS: lambda c: c.reqExecutions(3, ExecutionFilter()),
    OUT.REQ_IDS: lambda c: c.reqIds(-1),
    OUT.REQ_CONTRACT_DATA: lambda c: c.reqContractDetails(4, _contract()),
    OUT.REQ_MARKET_RULE: lambda c: c.reqMarketRule(26),
    OUT.REQ_MANAGED_ACCTS: lambda c: c.reqManagedAccts(),
    OUT.REQ_CURRENT_TIME: lambda c: c.reqCurrentTime(),
    OUT.REQ_CURRENT_TIME_IN_MILLIS: lambda c: c.reqCurrentTimeInMillis(),
    OUT.REQ_POSITIONS: lambda c: c.reqPositions(),
    OUT.CANCEL_POSITIONS: lambda c: c.cancelPositions(),
    OUT.REQ_ACCOUNT_SUMMARY: lambda c: c.reqAccountSummary(6, "All", "NetLiquidation"),
    OUT.CANCEL_ACCOUNT_SUMMARY: lambda c: c.cancelAccountSummary(6),
    OUT.REQ_ACCT_DATA: lambda c: c.reqAccountUpdates(True, "DU1234567"),
    OUT.REQ_MARKET_DATA_TYPE: lambda c: c.reqMarketDataType(3),
    OUT.REQ_MKT_DATA: lambda c: c.reqMktData(7, _contract(), "", False, False, []),
    OUT.CANCEL_MKT_DATA: lambda c: c.cancelMktData(7),
    OUT.REQ_TICK_BY_TICK_DATA: lambda c: c.reqTickByTickData(8, _contract(), "Last", 0, False),
    OUT.CANCEL_TICK_BY_TICK_DATA: lambda c: c.cancelTickByTickData(8),
    OUT.REQ_REAL_TIME_BARS: lambda c: c.reqRealTimeBars(9, _contract(), 5, "TRADES", False, []),
    OUT.CANCEL_REAL_TIME_BARS: lambda c: c.cancelRealTimeBars(9),
    OUT.REQ_HISTORICAL_DATA: lambda c: c.reqHistoricalData(
        12, _contract(), "", "1 D", "1 hour", "TRADES", 1, 1, False, []
    ),
    OUT.CANCEL_HISTORICAL_DATA: lambda c: c.cancelHistoricalData(12),
    OUT.REQ_HEAD_TIMESTAMP: lambda c: c.reqHeadTimeStamp(13, _contract(), "TRADES", 1, 1),
    OUT.CANCEL_HEAD_TIMESTAMP: lambda c: c.cancelHeadTimeStamp(13),
    OUT.REQ_HISTORICAL_TICKS: lambda c: c.reqHistoricalTicks(
        14, _contract(), "", "20261120 16:00:00 US/Eastern", 10, "TRADES", 1, False, []
    ),
    OUT.REQ_PNL: lambda c: c.reqPnL(10, "DU1234567", ""),
    OUT.CANCEL_PNL: lambda c: c.cancelPnL(10),
    OUT.REQ_PNL_SINGLE: lambda c: c.reqPnLSingle(11, "DU1234567", "", 265598),
    OUT.CANCEL_PNL_SINGLE: lambda c: c.cancelPnLSingle(11),
    OUT.CANCEL_HISTORICAL_TICKS: lambda c: c.cancelHistoricalTicks(14),
    OUT.REQ_FA: lambda c: c.requestFA(1),
    OUT.REPLACE_FA: lambda c: c.replaceFA(15, 1, "<ListOfGroups/>"),
    OUT.REQ_ACCOUNT_UPDATES_MULTI: lambda c: c.reqAccountUpdatesMulti(16, "All", "", False),
    OUT.CANCEL_ACCOUNT_UPDATES_MULTI: lambda c: c.cancelAccountUpdatesMulti(16),
    OUT.REQ_POSITIONS_MULTI: lambda c: c.reqPositionsMulti(17, "All", ""),
    OUT.CANCEL_POSITIONS_MULTI: lambda c: c.cancelPositionsMulti(17),
}


def test_every_served_request_has_a_sample_call():
    assert names(SERVED - {OUT.START_API}) == names(SERVED_CALLS)


def _decode(version: int, payload_parts: tuple[int, bool, bytes]) -> m.Request:
    msg_id, is_proto, body = payload_parts
    if is_proto:
        return decode_proto_request(msg_id, body)
    return decode_text_request(version, msg_id, body)


@pytest.mark.parametrize("version", [TEXT_VERSION, NEWEST], ids=lambda v: f"v{v}")
def test_what_a_real_client_sends_reaches_a_handler(exchange, version):
    with CaptureSession(version) as session:
        start = _decode(version, split_payload(version, session.start_api_payload))
        assert isinstance(start, m.StartApi)  # answered by the session itself
        for out_id, call in SERVED_CALLS.items():
            try:
                sent = session.request(call)
            except ClientRefused:  # the request is newer than this version: nothing to serve
                assert version < NEWEST, NAMES[out_id]
                continue
            assert sent[0] == out_id
            decoded = _decode(version, sent)
            assert not isinstance(decoded, m.Unsupported), NAMES[out_id]
            assert type(decoded) in exchange.handlers, NAMES[out_id]


# --------------------------------------------------------------------------- refused


def _decoded_forms(out_id: int) -> list[m.Request]:
    forms = []
    if out_id in SENT_AS_TEXT:
        forms.append(decode_text_request(TEXT_VERSION, out_id, b""))
    if out_id in SENT_AS_PROTO:
        forms.append(decode_proto_request(out_id, b""))
    return forms


@pytest.mark.parametrize("out_id", sorted(UNSUPPORTED_REQUESTS), ids=lambda i: NAMES[i])
def test_every_refused_request_gets_the_explicit_refusal(exchange, caplog, out_id):
    sent: list[m.Message] = []
    exchange.attach(1, sent.extend)
    forms = _decoded_forms(out_id)
    assert forms
    with caplog.at_level(logging.WARNING, logger="twsapp.sim"):
        for request in forms:
            assert request == m.Unsupported(out_id, -1, NAMES[out_id])
            exchange.handle(1, request)
    text = f"Error validating request.-'bS' : cause - {NAMES[out_id]} is not supported by the twsapp simulator"
    assert [(e.req_id, e.code, e.text) for e in sent if isinstance(e, m.ErrorMsg)] == [
        (-1, 321, text)
    ] * len(forms)
    logged = [r.getMessage() for r in caplog.records if r.name == "twsapp.sim"]
    assert len(logged) == len(forms) and all(NAMES[out_id] in line for line in logged)


def test_an_unknown_request_id_is_refused_and_logged_as_unknown(exchange, caplog):
    sent: list[m.Message] = []
    exchange.attach(1, sent.extend)
    request = decode_text_request(TEXT_VERSION, 150, b"1\0")
    with caplog.at_level(logging.WARNING, logger="twsapp.sim"):
        exchange.handle(1, request)
    assert [(e.code, e.req_id) for e in sent if isinstance(e, m.ErrorMsg)] == [(321, -1)]
    assert "request id 150 is not supported" in sent[0].text
    assert any("unknown request id 150" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("version", [TEXT_VERSION, NEWEST], ids=lambda v: f"v{v}")
def test_market_depth_over_a_real_socket_is_refused_by_name(sim_factory, connect, caplog, version):
    """reqMktDepth travels as text at 176 and as protobuf from 206: refused the same way."""
    sim = sim_factory(server_version=version)
    client = connect(sim)
    since = client.mark()
    with caplog.at_level(logging.WARNING, logger="twsapp.sim"):
        client.reqMktDepth(4711, stock("AAPL"), 5, False, [])
        refusal = client.wait_error(321, since, reqId=4711)
        client.sync()  # the session is kept and still served
    assert refusal.errorString == (
        "Error validating request.-'bS' : cause - "
        "REQ_MKT_DEPTH is not supported by the twsapp simulator"
    )
    assert client.of("updateMktDepth", since) == [] and client.of("connectionClosed") == []
    assert any(
        "REQ_MKT_DEPTH" in r.getMessage() and "4711" in r.getMessage() for r in caplog.records
    )


# --------------------------------------------------------------------------- shared state


def test_the_exchange_implements_every_helper_its_parts_share(exchange):
    assert Exchange.__abstractmethods__ == frozenset()
    for part in (OrderEntry, Matching, OrderGroups, OrderQueries):
        assert issubclass(part, ExchangeState)
    assert exchange.orders == {} and exchange.lock is not None


def test_an_exchange_missing_a_part_cannot_be_built():
    class WithoutPortfolio(OrderEntry, Matching, OrderGroups, OrderQueries):
        pass

    assert {"_after_fill", "_marks", "_cancel"} <= WithoutPortfolio.__abstractmethods__
    with pytest.raises(TypeError, match="abstract"):
        WithoutPortfolio(None, None, None, ["DU1"])
