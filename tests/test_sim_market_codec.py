"""Market data on the wire: the simulator's messages through ibapi's own decoder, both forms.

OUT: every market data message is encoded at every server version 157..225 (text, or protobuf
from its generation on) and decoded by ``ibapi.decoder.Decoder``; the callbacks must carry what
was encoded (a tickPrice of a bid, ask or last also calls tickSize, as ibapi does), every text
field read and none left over. IN: a real EClient's market data requests, text and protobuf,
decode to what the client was asked to send.

The expectations (``market_calls``) are shared with the codec tests of every message kind
(test_sim_text_encode, test_sim_proto).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from capture_client import CaptureSession
from decode_harness import CountingFields, plain, recording
from ibapi import comm
from ibapi.common import PROTOBUF_MSG_IDS, TickAttrib, TickAttribBidAsk, TickAttribLast
from ibapi.contract import Contract
from ibapi.decoder import Decoder
from ibapi.message import OUT
from ibapi.server_versions import MAX_CLIENT_VER, MIN_SERVER_VER_MARKET_DATA_IN_SHARES
from ibapi.ticktype import TickTypeEnum as T

from twsapp.sim import messages as m
from twsapp.sim.proto import decode_proto_request, encode_proto, proto_kind_version
from twsapp.sim.text import encode_text
from twsapp.sim.text_requests import decode_text_request
from twsapp.sim.wire import split_payload

VERSIONS = list(range(157, MAX_CLIENT_VER + 1))
MARKET_KINDS = (
    m.TickPrice,
    m.TickSize,
    m.TickString,
    m.TickGeneric,
    m.TickReqParams,
    m.MarketDataType,
    m.TickSnapshotEnd,
    m.RealTimeBar,
    m.TickByTickLast,
    m.TickByTickBidAsk,
    m.TickByTickMidPoint,
)
MARKET_CALLBACKS = (
    "tickPrice",
    "tickSize",
    "tickString",
    "tickGeneric",
    "tickReqParams",
    "marketDataType",
    "tickSnapshotEnd",
    "realtimeBar",
    "tickByTickAllLast",
    "tickByTickBidAsk",
    "tickByTickMidPoint",
)
# The tick of the size ibapi reports with a price tick.
SIZE_OF = {
    T.BID: T.BID_SIZE,
    T.ASK: T.ASK_SIZE,
    T.LAST: T.LAST_SIZE,
    T.DELAYED_BID: T.DELAYED_BID_SIZE,
    T.DELAYED_ASK: T.DELAYED_ASK_SIZE,
    T.DELAYED_LAST: T.DELAYED_LAST_SIZE,
}

MARKET_EXAMPLES: list[m.Message] = [
    m.TickPrice(1, T.BID, 150.25, Decimal(300), 0, 100),
    m.TickPrice(1, T.LAST, 150.26, Decimal(141), 0, 100),
    m.TickPrice(1, T.ASK, 1.16644, Decimal(2_000_000)),
    m.TickPrice(1, T.HIGH, 150.9),
    m.TickPrice(1, T.BID, -1.0, Decimal(0), 0, 100),
    m.TickPrice(2, T.DELAYED_LAST, 320.01, Decimal(370), 0, 100),
    m.TickPrice(2, T.DELAYED_CLOSE, 328.21, Decimal(0), 0),
    m.TickPrice(3, T.BID, 7003.75, Decimal(12), 3),  # canAutoExecute and pastLimit
    m.TickSize(1, T.ASK_SIZE, Decimal(800), 100),
    m.TickSize(1, T.VOLUME, Decimal(812254)),
    m.TickSize(2, T.DELAYED_LAST_SIZE, Decimal(80), 100),
    m.TickString(1, T.LAST_TIMESTAMP, "1787602104"),
    m.TickGeneric(1, T.HALTED, 0.0),
    m.TickReqParams(1, 0.01, "9c0001", 4, "0.000001"),
    m.TickReqParams(2, 5e-05, "", 0),
    m.MarketDataType(1, 3),
    m.TickSnapshotEnd(1),
    m.RealTimeBar(
        4, 1796135400, 150.0, 150.04, 149.99, 150.04, Decimal(3186), Decimal("150.0057"), 11
    ),
    m.RealTimeBar(5, 1796135405, 1.16, 1.1601, 1.15995, 1.16, Decimal(-1), Decimal(-1), -1),
    m.TickByTickLast(6, 1, 1796135401, 149.99, Decimal(400), "MEMX"),
    m.TickByTickLast(6, 2, 1796135401, 149.99, Decimal(48), "BATS", "I", True, True),
    m.TickByTickBidAsk(7, 1796135402, 150.01, 150.03, Decimal(600), Decimal(300)),
    m.TickByTickBidAsk(7, 1796135403, 150.01, 150.02, Decimal(100), Decimal(700), True, False),
    m.TickByTickMidPoint(8, 1796135404, 150.015),
]


def _wire_size(version: int, size: Decimal, lot: int, protobuf: bool) -> Decimal:
    if not protobuf and lot > 1 and version < MIN_SERVER_VER_MARKET_DATA_IN_SHARES:
        return size / lot
    return size


def market_calls(version: int, msg: m.Message, protobuf: bool) -> list[tuple[str, tuple]]:
    """The callbacks ibapi makes for ``msg`` at ``version`` (text or protobuf)."""
    match msg:
        case m.TickPrice(req_id, tick, price, size, mask, lot):
            attrib = TickAttrib()
            attrib.canAutoExecute, attrib.pastLimit = bool(mask & 1), bool(mask & 2)
            attrib.preOpen = bool(mask & 4)
            calls = [("tickPrice", (req_id, tick, price, attrib))]
            if tick in SIZE_OF:
                calls.append(
                    ("tickSize", (req_id, SIZE_OF[tick], _wire_size(version, size, lot, protobuf)))
                )
            return calls
        case m.TickSize(req_id, tick, size, lot):
            return [("tickSize", (req_id, tick, _wire_size(version, size, lot, protobuf)))]
        case m.TickReqParams(req_id, min_tick, bbo, permissions, _):
            return [("tickReqParams", (req_id, min_tick, bbo, permissions))]
        case m.TickByTickLast(req_id, kind, time, price, size, exchange, conditions, past, unrep):
            attrib = TickAttribLast()
            attrib.pastLimit, attrib.unreported = past, unrep
            return [
                (
                    "tickByTickAllLast",
                    (req_id, kind, time, price, size, attrib, exchange, conditions),
                )
            ]
        case m.TickByTickBidAsk(req_id, time, bid, ask, bid_size, ask_size, past_low, past_high):
            attrib = TickAttribBidAsk()
            attrib.bidPastLow, attrib.askPastHigh = past_low, past_high
            return [("tickByTickBidAsk", (req_id, time, bid, ask, bid_size, ask_size, attrib))]
    simple = {
        m.TickString: "tickString",
        m.TickGeneric: "tickGeneric",
        m.MarketDataType: "marketDataType",
        m.TickSnapshotEnd: "tickSnapshotEnd",
        m.RealTimeBar: "realtimeBar",
        m.TickByTickMidPoint: "tickByTickMidPoint",
    }
    return [(simple[type(msg)], tuple(vars(msg).values()))]


# --------------------------------------------------------------------------- decoding harness


Recorder = recording(MARKET_CALLBACKS)


_DECODERS: dict[int, tuple[Decoder, Recorder]] = {}


def _decoder(version: int) -> tuple[Decoder, Recorder]:
    """One decoder per version (building one inspects all of EWrapper), its calls cleared."""
    if version not in _DECODERS:
        recorder = Recorder()
        _DECODERS[version] = (Decoder(recorder, version), recorder)
    decoder, recorder = _DECODERS[version]
    recorder.calls = []
    return decoder, recorder


def decode_text_calls(version: int, msg: m.Message) -> list[tuple[str, tuple]]:
    msg_id, is_proto, body = split_payload(version, encode_text(version, msg))
    assert not is_proto
    fields = CountingFields(comm.read_fields(body))
    decoder, recorder = _decoder(version)
    decoder.interpret(fields, msg_id)
    if decoder.msgId2handleInfo[msg_id].processMeth is not None:
        assert fields.consumed == len(fields), f"{fields.consumed} of {len(fields)} fields read"
    return recorder.calls


def decode_proto_calls(version: int, payload: bytes) -> list[tuple[str, tuple]]:
    msg_id, is_proto, body = split_payload(version, payload)
    assert is_proto
    decoder, recorder = _decoder(version)
    decoder.processProtoBuf(body, msg_id)
    return recorder.calls


def assert_market_round_trip(version: int, msg: m.Message) -> None:
    """``msg`` decodes at ``version`` to exactly its expected callbacks, in whichever form TWS
    sends it there."""
    payload = encode_proto(version, msg)
    if payload is None:
        calls = decode_text_calls(version, msg)
        assert plain(calls) == plain(market_calls(version, msg, protobuf=False)), version
    else:
        calls = decode_proto_calls(version, payload)
        assert plain(calls) == plain(market_calls(version, msg, protobuf=True)), version


# --------------------------------------------------------------------------- OUT


def test_examples_cover_every_market_data_message():
    kinds = {cls for cls in vars(m).values() if isinstance(cls, type)}
    assert set(MARKET_KINDS) <= kinds
    assert {type(msg) for msg in MARKET_EXAMPLES} == set(MARKET_KINDS)


@pytest.mark.parametrize("msg", MARKET_EXAMPLES, ids=lambda msg: type(msg).__name__)
def test_every_version_decodes_what_was_sent(msg):
    for version in VERSIONS:
        assert_market_round_trip(version, msg)


def test_market_data_moves_to_protobuf_with_its_request():
    """Quotes with reqMktData (206), bars and tick-by-tick with their requests (208)."""
    for kind in MARKET_KINDS:
        request = OUT.REQ_REAL_TIME_BARS if kind is m.RealTimeBar else OUT.REQ_MKT_DATA
        if kind.__name__.startswith("TickByTick"):
            request = OUT.REQ_TICK_BY_TICK_DATA
        assert proto_kind_version(kind) == PROTOBUF_MSG_IDS[request], kind.__name__


def test_stock_sizes_are_lots_for_clients_before_market_data_in_shares():
    msg = m.TickPrice(1, T.BID, 150.25, Decimal(300), 0, 100)
    old, new = MIN_SERVER_VER_MARKET_DATA_IN_SHARES - 1, MIN_SERVER_VER_MARKET_DATA_IN_SHARES
    assert decode_text_calls(old, msg)[1][1][2] == Decimal(3)
    assert decode_text_calls(new, msg)[1][1][2] == Decimal(300)


def test_text_fields_are_spelled_as_tws_writes_them():
    """Message versions and spellings: tickPrice v6 with its size and mask, tickReqParams with
    no version, a realtimeBar's WAP in plain decimals."""
    assert (
        encode_text(176, m.TickPrice(1, T.HIGH, 150.9))
        == b"1\x006\x001\x006\x00150.9\x000\x000\x00"
    )
    assert (
        encode_text(176, m.TickReqParams(1, 0.01, "9c0001", 3))
        == b"81\x001\x000.01\x009c0001\x003\x00"
    )
    bar = m.RealTimeBar(
        4, 1796135400, 150.0, 150.04, 149.99, 150.04, Decimal(3186), Decimal("150.0057"), 11
    )
    assert encode_text(176, bar).split(b"\x00")[1:3] == [b"3", b"4"]
    assert b"150.0057" in encode_text(176, bar)


def test_protobuf_ticks_carry_every_field_as_a_paper_gateway_does():
    """Zeros included (a high's size "0", attrMask 0), as in the 225 transcripts."""
    from ibapi.protobuf.TickPrice_pb2 import TickPrice as TickPriceProto
    from ibapi.protobuf.TickReqParams_pb2 import TickReqParams as TickReqParamsProto

    body = split_payload(225, encode_proto(225, m.TickPrice(1, T.HIGH, 150.9)))[2]
    proto = TickPriceProto()
    proto.ParseFromString(body)
    assert proto.HasField("size") and proto.size == "0" and proto.HasField("attrMask")
    body = split_payload(225, encode_proto(225, m.TickReqParams(1, 0.01, "9c0001", 4, "0.000001")))[
        2
    ]
    params = TickReqParamsProto()
    params.ParseFromString(body)
    assert (params.minTick, params.bboExchange, params.snapshotPermissions) == ("0.01", "9c0001", 4)
    assert params.lastPricePrecision == params.lastSizePrecision == "0.000001"


# --------------------------------------------------------------------------- IN


def _contract() -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType, c.exchange, c.currency = 265598, "AAPL", "STK", "SMART", "USD"
    c.primaryExchange, c.localSymbol, c.tradingClass, c.strike = "NASDAQ", "AAPL", "NMS", 0.0
    return c


def _requests():
    """(EClient call, OUT id, expected request)."""
    c = _contract()
    return [
        (lambda cl: cl.reqMarketDataType(4), OUT.REQ_MARKET_DATA_TYPE, m.ReqMarketDataType(4)),
        (lambda cl: cl.reqMktData(11, c, "233,236", False, False, []), OUT.REQ_MKT_DATA,
         m.ReqMktData(11, c, "233,236", False, False)),
        (lambda cl: cl.reqMktData(12, c, "", True, True, []), OUT.REQ_MKT_DATA,
         m.ReqMktData(12, c, "", True, True)),
        (lambda cl: cl.cancelMktData(11), OUT.CANCEL_MKT_DATA, m.CancelMktData(11)),
        (lambda cl: cl.reqTickByTickData(13, c, "AllLast", 0, False), OUT.REQ_TICK_BY_TICK_DATA,
         m.ReqTickByTickData(13, c, "AllLast", 0, False)),
        (lambda cl: cl.reqTickByTickData(14, c, "BidAsk", 10, True), OUT.REQ_TICK_BY_TICK_DATA,
         m.ReqTickByTickData(14, c, "BidAsk", 10, True)),
        (lambda cl: cl.cancelTickByTickData(13), OUT.CANCEL_TICK_BY_TICK_DATA,
         m.CancelTickByTickData(13)),
        (lambda cl: cl.reqRealTimeBars(15, c, 5, "TRADES", True, []), OUT.REQ_REAL_TIME_BARS,
         m.ReqRealTimeBars(15, c, 5, "TRADES", True)),
        (lambda cl: cl.reqRealTimeBars(16, c, 5, "MIDPOINT", False, []), OUT.REQ_REAL_TIME_BARS,
         m.ReqRealTimeBars(16, c, 5, "MIDPOINT", False)),
        (lambda cl: cl.cancelRealTimeBars(15), OUT.CANCEL_REAL_TIME_BARS, m.CancelRealTimeBars(15)),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "version", [157, 176, 200, 205, 207, MAX_CLIENT_VER], ids=lambda v: f"v{v}"
)
def test_client_requests_decode_to_what_was_sent(version):
    """Text below each request's protobuf generation, protobuf from it, both read in full."""
    with CaptureSession(version) as session:
        for call, out_id, expected in _requests():
            msg_id, is_proto, body = session.request(call)
            assert msg_id == out_id
            gate = PROTOBUF_MSG_IDS[out_id]
            assert is_proto == (version >= gate)
            if is_proto:
                decoded = decode_proto_request(msg_id, body)
            else:
                decoded = decode_text_request(version, msg_id, body)  # strict: nothing left over
            assert plain(decoded) == plain(expected), (version, out_id)
