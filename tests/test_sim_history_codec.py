"""Historical data on the wire: the simulator's messages through ibapi's own decoder, both forms.

OUT: every historical data message at every server version 157..225, text below 208 and
protobuf from it, decoded by ``ibapi.decoder.Decoder``: the callbacks carry what was encoded,
every text field is read and none is left over. Below HISTORICAL_DATA_END (196) historicalData
carries the span and ends the answer itself, and historicalDataEnd is not sent at all. IN: a real
EClient's historical requests, text and protobuf, decode to what it was asked to send.

The expectations (``history_calls``) are shared with the codec tests of every message kind
(test_sim_text_encode, test_sim_proto).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from capture_client import CaptureSession
from decode_harness import CountingFields, plain, recording
from ibapi import comm
from ibapi.common import (
    PROTOBUF_MSG_IDS,
    BarData,
    HistoricalTick,
    HistoricalTickBidAsk,
    HistoricalTickLast,
)
from ibapi.contract import Contract
from ibapi.decoder import Decoder
from ibapi.message import OUT
from ibapi.server_versions import (
    MAX_CLIENT_VER,
    MIN_SERVER_VER_HISTORICAL_DATA_END,
    MIN_SERVER_VER_PROTOBUF_HISTORICAL_DATA,
)

from twsapp.sim import messages as m
from twsapp.sim.proto import decode_proto_request, encode_proto, proto_kind_version
from twsapp.sim.text import encode_text
from twsapp.sim.text_requests import decode_text_request
from twsapp.sim.wire import split_payload

VERSIONS = list(range(157, MAX_CLIENT_VER + 1))
HISTORY_KINDS = (
    m.HistoricalData,
    m.HistoricalDataEnd,
    m.HistoricalDataUpdate,
    m.HeadTimestamp,
    m.HistoricalTicks,
    m.HistoricalTicksBidAsk,
    m.HistoricalTicksLast,
)
HISTORY_CALLBACKS = (
    "historicalData",
    "historicalDataEnd",
    "historicalDataUpdate",
    "headTimestamp",
    "historicalTicks",
    "historicalTicksBidAsk",
    "historicalTicksLast",
)
# The request each message answers (a reply moves to protobuf with its request).
HISTORY_REPLY_TO = {
    m.HistoricalData: OUT.REQ_HISTORICAL_DATA,
    m.HistoricalDataEnd: OUT.REQ_HISTORICAL_DATA,
    m.HistoricalDataUpdate: OUT.REQ_HISTORICAL_DATA,
    m.HeadTimestamp: OUT.REQ_HEAD_TIMESTAMP,
    m.HistoricalTicks: OUT.REQ_HISTORICAL_TICKS,
    m.HistoricalTicksBidAsk: OUT.REQ_HISTORICAL_TICKS,
    m.HistoricalTicksLast: OUT.REQ_HISTORICAL_TICKS,
}


def bar(date: str, o: float, h: float, low: float, c: float, vol="-1", wap="-1", n=-1) -> BarData:
    out = BarData()
    out.date, out.open, out.high, out.low, out.close = date, o, h, low, c
    out.volume, out.wap, out.barCount = Decimal(vol), Decimal(wap), n
    return out


def tick(time: int, price: float, size: str = "0") -> HistoricalTick:
    out = HistoricalTick()
    out.time, out.price, out.size = time, price, Decimal(size)
    return out


def bid_ask(time: int, bid: float, ask: float, sizes=("300", "500"), flags=(False, False)):
    out = HistoricalTickBidAsk()
    out.time, out.priceBid, out.priceAsk = time, bid, ask
    out.sizeBid, out.sizeAsk = Decimal(sizes[0]), Decimal(sizes[1])
    out.tickAttribBidAsk.bidPastLow, out.tickAttribBidAsk.askPastHigh = flags
    return out


def last(time: int, price: float, size: str, exchange: str, cond: str = "", flags=(False, False)):
    out = HistoricalTickLast()
    out.time, out.price, out.size = time, price, Decimal(size)
    out.exchange, out.specialConditions = exchange, cond
    out.tickAttribLast.pastLimit, out.tickAttribLast.unreported = flags
    return out


TRADE_BARS = [
    bar("20261123 09:30:00 US/Eastern", 150.0, 150.5, 149.9, 150.2, "41200", "150.173", 181),
    bar("20261123 09:31:00 US/Eastern", 150.2, 150.2, 149.75, 149.8, "38800", "149.95", 160),
]
HISTORY_EXAMPLES: list[m.Message] = [
    m.HistoricalData(
        1, TRADE_BARS, "20261122 09:32:00 US/Eastern", "20261123 09:32:00 US/Eastern"
    ),
    m.HistoricalData(2, [bar("20261120", 1.16, 1.1612, 1.15985, 1.16005)], "a", "b"),
    m.HistoricalData(3, [bar("1795444200", 6001.25, 6003.0, 6000.5, 6002.75, "12", "6001.9", 7)],
                     "20261123 08:00:00 US/Central", "20261123 08:30:00 US/Central"),
    m.HistoricalDataEnd(1, "20261122 09:32:00 US/Eastern", "20261123 09:32:00 US/Eastern"),
    m.HistoricalDataUpdate(1, TRADE_BARS[1]),
    m.HistoricalDataUpdate(4, bar("20261123", 150.0, 150.5, 149.9, 150.2)),
    m.HeadTimestamp(5, "20251124-14:30:00"),
    m.HeadTimestamp(6, "1763994600"),
    m.HistoricalTicks(7, [tick(1795444200, 150.005), tick(1795444201, 150.01)]),
    m.HistoricalTicks(7, [], True),
    m.HistoricalTicksBidAsk(
        8, [bid_ask(1795444200, 150.0, 150.01), bid_ask(1795444202, 150.0, 150.02, flags=(1, 1))]
    ),
    m.HistoricalTicksLast(
        9,
        [
            last(1795444200, 150.0, "300", "NASDAQ"),
            last(1795444200, 150.0, "17", "BATS", "I", flags=(True, True)),
        ],
        False,
    ),
]  # fmt: skip


def history_calls(version: int, msg: m.Message, protobuf: bool) -> list[tuple[str, tuple]]:
    """The callbacks ibapi makes for ``msg`` at ``version`` (text or protobuf)."""
    folded = not protobuf and version < MIN_SERVER_VER_HISTORICAL_DATA_END
    match msg:
        case m.HistoricalData(req_id, bars, start, end):
            calls = [("historicalData", (req_id, b)) for b in bars]
            return calls + ([("historicalDataEnd", (req_id, start, end))] if folded else [])
        case m.HistoricalDataEnd(req_id, start, end):
            return [] if folded else [("historicalDataEnd", (req_id, start, end))]
        case m.HistoricalDataUpdate(req_id, b):
            return [("historicalDataUpdate", (req_id, b))]
        case m.HeadTimestamp(req_id, stamp):
            return [("headTimestamp", (req_id, stamp))]
    name = {
        m.HistoricalTicks: "historicalTicks",
        m.HistoricalTicksBidAsk: "historicalTicksBidAsk",
        m.HistoricalTicksLast: "historicalTicksLast",
    }[type(msg)]
    return [(name, tuple(vars(msg).values()))]


# --------------------------------------------------------------------------- decoding harness


Recorder = recording(HISTORY_CALLBACKS)


def decode_calls(version: int, msg: m.Message) -> list[tuple[str, tuple]]:
    """What ibapi calls for ``msg`` sent at ``version``, in whichever form TWS sends it."""
    recorder = Recorder()
    decoder = Decoder(recorder, version)
    payload = encode_proto(version, msg)
    if payload is not None:
        msg_id, is_proto, body = split_payload(version, payload)
        assert is_proto
        decoder.processProtoBuf(body, msg_id)
        return recorder.calls
    payload = encode_text(version, msg)
    if not payload:  # folded into another message at this version
        return []
    msg_id, is_proto, body = split_payload(version, payload)
    assert not is_proto
    fields = CountingFields(comm.read_fields(body))
    decoder.interpret(fields, msg_id)
    assert fields.consumed == len(fields), f"{fields.consumed} of {len(fields)} fields read"
    return recorder.calls


def assert_history_round_trip(version: int, msg: m.Message) -> None:
    protobuf = encode_proto(version, msg) is not None
    assert plain(decode_calls(version, msg)) == plain(history_calls(version, msg, protobuf))


# --------------------------------------------------------------------------- OUT


def test_examples_cover_every_history_message():
    assert {type(msg) for msg in HISTORY_EXAMPLES} == set(HISTORY_KINDS)


@pytest.mark.parametrize("msg", HISTORY_EXAMPLES, ids=lambda msg: type(msg).__name__)
def test_every_version_decodes_what_was_sent(msg):
    for version in VERSIONS:
        assert_history_round_trip(version, msg)


def test_history_moves_to_protobuf_with_its_request():
    for kind, request in HISTORY_REPLY_TO.items():
        assert proto_kind_version(kind) == PROTOBUF_MSG_IDS[request], kind.__name__
    assert PROTOBUF_MSG_IDS[OUT.REQ_HISTORICAL_DATA] == MIN_SERVER_VER_PROTOBUF_HISTORICAL_DATA


def test_the_end_of_an_answer_moves_into_its_own_message_at_196():
    """One historicalData with the span before 196; bars, then historicalDataEnd from 196."""
    data, end = HISTORY_EXAMPLES[0], HISTORY_EXAMPLES[3]
    old, new = MIN_SERVER_VER_HISTORICAL_DATA_END - 1, MIN_SERVER_VER_HISTORICAL_DATA_END
    assert [c[0] for c in decode_calls(old, data)] == [
        "historicalData",
        "historicalData",
        "historicalDataEnd",
    ]
    assert encode_text(old, end) == b""
    assert [c[0] for c in decode_calls(new, data)] == ["historicalData", "historicalData"]
    assert encode_text(new, end).split(b"\0")[:2] == [b"108", b"1"]


def test_text_fields_are_spelled_as_tws_writes_them():
    """Quote bars carry -1 in volume, WAP and count; an update writes its fields in ibapi's
    order (count first, close before high); a midpoint tick's second field is a 0."""
    quote_bar = encode_text(200, HISTORY_EXAMPLES[1]).split(b"\0")
    assert quote_bar[:3] == [b"17", b"2", b"1"]
    assert (
        quote_bar[3:11] == [b"20261120", b"1.16", b"1.1612", b"1.15985", b"1.16005"] + [b"-1"] * 3
    )
    update = encode_text(176, HISTORY_EXAMPLES[4]).split(b"\0")
    assert update[:5] == [b"90", b"1", b"160", b"20261123 09:31:00 US/Eastern", b"150.2"]
    assert update[5:10] == [b"149.8", b"150.2", b"149.75", b"149.95", b"38800"]
    ticks = encode_text(176, HISTORY_EXAMPLES[8]).split(b"\0")
    assert ticks[:7] == [b"96", b"7", b"2", b"1795444200", b"0", b"150.005", b"0"]


# --------------------------------------------------------------------------- IN


def _contract() -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType, c.exchange, c.currency = 265598, "AAPL", "STK", "SMART", "USD"
    c.primaryExchange, c.localSymbol, c.tradingClass, c.strike = "NASDAQ", "AAPL", "NMS", 0.0
    c.includeExpired = True
    return c


HISTORY_REQUESTS = {
    OUT.REQ_HISTORICAL_DATA,
    OUT.CANCEL_HISTORICAL_DATA,
    OUT.REQ_HEAD_TIMESTAMP,
    OUT.CANCEL_HEAD_TIMESTAMP,
    OUT.REQ_HISTORICAL_TICKS,
}


def _requests():
    """(EClient call, OUT id, expected request)."""
    c = _contract()
    return [
        (lambda cl: cl.reqHistoricalData(21, c, "20261120 16:00:00 US/Eastern", "2 D", "5 mins",
                                          "MIDPOINT", 1, 2, False, []),
         OUT.REQ_HISTORICAL_DATA,
         m.ReqHistoricalData(21, c, "20261120 16:00:00 US/Eastern", "2 D", "5 mins", "MIDPOINT",
                             True, 2, False)),
        (lambda cl: cl.reqHistoricalData(22, c, "", "3600 S", "1 min", "TRADES", 0, 1, True, []),
         OUT.REQ_HISTORICAL_DATA,
         m.ReqHistoricalData(22, c, "", "3600 S", "1 min", "TRADES", False, 1, True)),
        (lambda cl: cl.cancelHistoricalData(22), OUT.CANCEL_HISTORICAL_DATA,
         m.CancelHistoricalData(22)),
        (lambda cl: cl.reqHeadTimeStamp(23, c, "BID", 1, 2), OUT.REQ_HEAD_TIMESTAMP,
         m.ReqHeadTimeStamp(23, c, "BID", True, 2)),
        (lambda cl: cl.cancelHeadTimeStamp(23), OUT.CANCEL_HEAD_TIMESTAMP,
         m.CancelHeadTimeStamp(23)),
        (lambda cl: cl.reqHistoricalTicks(24, c, "20261120 10:00:00 US/Eastern", "", 100,
                                           "BID_ASK", 1, True, []),
         OUT.REQ_HISTORICAL_TICKS,
         m.ReqHistoricalTicks(24, c, "20261120 10:00:00 US/Eastern", "", 100, "BID_ASK", True,
                              True)),
    ]  # fmt: skip


def test_every_history_request_is_exercised():
    assert {out_id for _, out_id, _ in _requests()} == HISTORY_REQUESTS


@pytest.mark.parametrize(
    "version", [157, 176, 196, 200, 207, 208, MAX_CLIENT_VER], ids=lambda v: f"v{v}"
)
def test_client_requests_decode_to_what_was_sent(version):
    """Text below 208, protobuf from it, both read in full."""
    with CaptureSession(version) as session:
        for call, out_id, expected in _requests():
            msg_id, is_proto, body = session.request(call)
            assert msg_id == out_id
            assert is_proto == (version >= PROTOBUF_MSG_IDS[out_id])
            if is_proto:
                decoded = decode_proto_request(msg_id, body)
            else:
                decoded = decode_text_request(version, msg_id, body)  # strict: nothing left over
            assert plain(decoded) == plain(expected), (version, out_id)
