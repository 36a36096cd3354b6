"""The advisor messages and requests in every form: requestFA / receiveFA, replaceFA /
replaceFAEnd, reqAccountUpdatesMulti / accountUpdateMulti(End), reqPositionsMulti /
positionMulti(End) and their cancels, cancelHistoricalTicks.

Requests: a real ``EClient`` writes each one at a text and at the protobuf versions, and the
simulator's decoders must read back exactly what was passed (text strictly: nothing left over).
Messages: the examples here are shared with the codec tests of every message kind
(test_sim_text_encode, test_sim_proto), which decode them with ibapi's own decoder.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from capture_client import CaptureSession, ClientRefused
from ibapi.common import PROTOBUF_MSG_IDS
from ibapi.contract import Contract
from ibapi.message import OUT
from ibapi.server_versions import (
    MIN_SERVER_VER_CANCEL_CONTRACT_DATA,
    MIN_SERVER_VER_PROTOBUF_ACCOUNTS_POSITIONS,
    MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_1,
)
from versions import NEWEST

from twsapp.sim import messages as m
from twsapp.sim.fa import aliases_xml
from twsapp.sim.proto import decode_proto_request, encode_proto, proto_kind_version
from twsapp.sim.text import encode_text
from twsapp.sim.text_requests import decode_text_request

GROUPS_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListOfGroups>\n\t<Group>\n\t\t<name>Growth</name>\n'
    "\t\t<defaultMethod>NetLiq</defaultMethod>\n"
    '\t\t<ListOfAccts varName="list">\n\t\t\t<Account>\n\t\t\t\t<acct>DU111</acct>\n'
    "\t\t\t</Account>\n\t\t</ListOfAccts>\n\t</Group>\n</ListOfGroups>\n"
)


def _stock() -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType, c.currency = 265598, "AAPL", "STK", "USD"
    c.localSymbol, c.tradingClass = "AAPL", "NMS"
    return c


FA_KINDS = (
    m.ReceiveFA,
    m.ReplaceFAEnd,
    m.PositionMulti,
    m.PositionMultiEnd,
    m.AccountUpdateMulti,
    m.AccountUpdateMultiEnd,
)
FA_CALLBACKS = [
    "receiveFA",
    "replaceFAEnd",
    "positionMulti",
    "positionMultiEnd",
    "accountUpdateMulti",
    "accountUpdateMultiEnd",
]
FA_EXAMPLES: list[m.Message] = [
    m.ReceiveFA(1, GROUPS_XML),
    m.ReceiveFA(3, aliases_xml({"DU111": "Growth fund \u00e9"})),
    m.ReplaceFAEnd(15, ""),
    m.ReplaceFAEnd(16, "done"),
    m.PositionMulti(17, "DU111", "", _stock(), Decimal(51), 150.01),
    m.PositionMulti(17, "DU222", "", _stock(), Decimal("-0.5"), 0.0),
    m.PositionMultiEnd(17),
    m.AccountUpdateMulti(18, "DU111", "", "AccountCode", "DU111", ""),
    m.AccountUpdateMulti(18, "DU111", "", "NetLiquidation", "999990.00", "USD"),
    m.AccountUpdateMultiEnd(18),
]
# Replies by the request they answer: each moves to protobuf with it (EClient's own table).
FA_REPLY_TO = {
    m.ReceiveFA: OUT.REQ_FA,
    m.ReplaceFAEnd: OUT.REPLACE_FA,
    m.PositionMulti: OUT.REQ_POSITIONS_MULTI,
    m.PositionMultiEnd: OUT.REQ_POSITIONS_MULTI,
    m.AccountUpdateMulti: OUT.REQ_ACCOUNT_UPDATES_MULTI,
    m.AccountUpdateMultiEnd: OUT.REQ_ACCOUNT_UPDATES_MULTI,
}


def fa_call(msg: m.Message) -> tuple[str, tuple]:
    """The wrapper callback and arguments ``msg`` must produce (text and protobuf alike)."""
    match msg:
        case m.ReceiveFA(kind, xml):
            return "receiveFA", (kind, xml)
        case m.ReplaceFAEnd(req_id, text):
            return "replaceFAEnd", (req_id, text)
        case m.PositionMulti(req_id, account, model, contract, position, cost):
            return "positionMulti", (req_id, account, model, contract, position, cost)
        case m.PositionMultiEnd(req_id):
            return "positionMultiEnd", (req_id,)
        case m.AccountUpdateMulti():
            return "accountUpdateMulti", tuple(vars(msg).values())
        case m.AccountUpdateMultiEnd(req_id):
            return "accountUpdateMultiEnd", (req_id,)
    raise AssertionError(f"not an advisor message: {msg!r}")


def test_replies_move_to_protobuf_with_their_requests():
    for kind, request in FA_REPLY_TO.items():
        assert proto_kind_version(kind) == PROTOBUF_MSG_IDS[request], kind.__name__
    assert proto_kind_version(m.ReceiveFA) == MIN_SERVER_VER_PROTOBUF_REST_MESSAGES_1
    assert proto_kind_version(m.PositionMulti) == MIN_SERVER_VER_PROTOBUF_ACCOUNTS_POSITIONS


def test_text_fields_are_spelled_as_tws_writes_them():
    """A version field first (none in replaceFAEnd); the XML escaped for unicode-escape."""
    assert encode_text(176, m.AccountUpdateMultiEnd(18)) == b"74\x001\x0018\x00"
    assert encode_text(176, m.ReplaceFAEnd(15, "")) == b"103\x0015\x00\x00"
    received = encode_text(176, m.ReceiveFA(3, "<a>\u00e9</a>\n"))
    assert received == b"16\x001\x003\x00<a>\\u00e9</a>\\u000a\x00"
    assert encode_text(200, m.PositionMulti(17, "DU1", "", _stock(), Decimal(51), 1.5)) == (
        b"71\x001\x0017\x00DU1\x00265598\x00AAPL\x00STK\x00\x000.0\x00\x00\x00\x00USD\x00AAPL\x00"
        b"NMS\x0051\x001.5\x00\x00"
    )


def test_account_update_multi_protobuf_matches_a_real_gateways_bytes():
    """A paper Gateway at 225 (ibkr-go transcript account_updates_multi.txt): no model code,
    no currency where there is none."""
    payload = encode_proto(NEWEST, m.AccountUpdateMulti(1, "DU9000001", "", "AccountCode",
                                                        "DU9000001", ""))  # fmt: skip
    assert payload == bytes.fromhex("00000111") + (
        b"\x08\x01\x12\x09DU9000001\x22\x0bAccountCode\x2a\x09DU9000001"
    )
    assert (
        encode_proto(NEWEST, m.AccountUpdateMultiEnd(2)) == bytes.fromhex("00000112") + b"\x08\x02"
    )


# --------------------------------------------------------------------------- requests


# Served requests whose round trips (text and protobuf, every generation) are tested here.
FA_REQUESTS = {
    OUT.REQ_FA,
    OUT.REPLACE_FA,
    OUT.REQ_ACCOUNT_UPDATES_MULTI,
    OUT.CANCEL_ACCOUNT_UPDATES_MULTI,
    OUT.REQ_POSITIONS_MULTI,
    OUT.CANCEL_POSITIONS_MULTI,
}


def _requests():
    """(EClient call, OUT id, expected request, first version ibapi sends it at)."""
    xml = GROUPS_XML
    return [
        (lambda c: c.requestFA(1), OUT.REQ_FA, m.ReqFA(1), 0),
        (lambda c: c.requestFA(3), OUT.REQ_FA, m.ReqFA(3), 0),
        (lambda c: c.replaceFA(21, 1, xml), OUT.REPLACE_FA, m.ReplaceFA(21, 1, xml), 0),
        (lambda c: c.reqAccountUpdatesMulti(22, "DU111", "", True), OUT.REQ_ACCOUNT_UPDATES_MULTI,
         m.ReqAccountUpdatesMulti(22, "DU111", "", True), 0),
        (lambda c: c.reqAccountUpdatesMulti(23, "Growth", "M1", False),
         OUT.REQ_ACCOUNT_UPDATES_MULTI, m.ReqAccountUpdatesMulti(23, "Growth", "M1", False), 0),
        (lambda c: c.cancelAccountUpdatesMulti(22), OUT.CANCEL_ACCOUNT_UPDATES_MULTI,
         m.CancelAccountUpdatesMulti(22), 0),
        (lambda c: c.reqPositionsMulti(24, "All", ""), OUT.REQ_POSITIONS_MULTI,
         m.ReqPositionsMulti(24, "All", ""), 0),
        (lambda c: c.cancelPositionsMulti(24), OUT.CANCEL_POSITIONS_MULTI,
         m.CancelPositionsMulti(24), 0),
        (lambda c: c.cancelHistoricalTicks(25), OUT.CANCEL_HISTORICAL_TICKS,
         m.CancelHistoricalTicks(25), MIN_SERVER_VER_CANCEL_CONTRACT_DATA),
    ]  # fmt: skip


@pytest.mark.parametrize("version", [157, 176, 200, 207, 211, NEWEST], ids=lambda v: f"v{v}")
def test_client_requests_decode_to_what_was_sent(version):
    with CaptureSession(version) as session:
        for call, out_id, expected, since in _requests():
            if version < since:
                with pytest.raises(ClientRefused):  # ibapi refuses it itself: nothing is sent
                    session.request(call)
                continue
            msg_id, is_proto, body = session.request(call)
            assert msg_id == out_id
            proto_only = out_id == OUT.CANCEL_HISTORICAL_TICKS
            assert is_proto == (proto_only or version >= PROTOBUF_MSG_IDS[out_id])
            if is_proto:
                decoded = decode_proto_request(msg_id, body)
            else:
                decoded = decode_text_request(version, msg_id, body)  # strict: nothing left
            assert decoded == expected, (version, out_id)
