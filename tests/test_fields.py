"""twsapp's field reader and writer (session/fields.py) against ibapi's own.

They are swapped into ibapi process-wide, so they must be indistinguishable: the same value of
the same type, or the same exception, for every type and every form a field or a value takes;
whole messages (real TWS captures, the simulator's own) must decode into the same callbacks
either way, and requests must be written byte for byte as ibapi writes them.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import ibapi.decoder
import ibapi.order_condition
import ibapi.orderdecoder
import ibapi.utils
import pytest
from captures import load_captures
from decode_harness import recording, swapped
from hypothesis import given, settings
from hypothesis import strategies as hs
from ibapi import comm, order_condition
from ibapi.client import EClient
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER, UNSET_LONG
from ibapi.contract import Contract
from ibapi.decoder import Decoder
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.tag_value import TagValue
from ibapi.utils import ClientException
from ibapi.wrapper import EWrapper

from bench.ingest import record_frames
from twsapp import TwsApp
from twsapp.session import fields
from twsapp.session.fields import IBAPI_DECODE, decode, use_fast_fields

TYPES = (str, int, float, bool, Decimal, complex)  # complex: one ibapi never asks for
SPECIAL = [
    b"", b"0", b"1", b"-1", b"00", b" 1", b"1.0", b"1.5", b"-0.0", b"1e308", b"1E400", b"nan",
    b"Infinity", b"-Infinity", b"inf", b"2147483647", b"9223372036854775807",
    b"-9223372036854775808", b"1.7976931348623157E308", b"abc", b"\\u00e9", b"\xc3\xa9",
    b"\xff\xfe", b"12,5", "text", "", None, 7,
]  # fmt: skip
FIELDS = hs.one_of(
    hs.sampled_from(SPECIAL),
    hs.binary(max_size=12),
    hs.text(max_size=12).map(lambda t: t.encode()),
    hs.decimals(allow_nan=True, allow_infinity=True).map(lambda d: str(d).encode()),
    hs.floats().map(lambda f: repr(f).encode()),
    hs.integers().map(lambda i: str(i).encode()),
)


def _outcome(reader: Callable[..., Any], the_type: Any, fields: list[Any], *flags: bool) -> Any:
    it: Iterator[Any] = iter(fields)
    try:
        value = reader(the_type, it, *flags)
    except Exception as exc:  # the kind is what must agree (messages may word it differently)
        return ("raises", type(exc))
    if isinstance(value, float) and math.isnan(value):
        value = "float nan"
    elif isinstance(value, Decimal) and value.is_nan():
        value = f"Decimal {value!r}"
    return (type(value), value, repr(value), list(it))  # repr: -0.0 is not 0.0, 1.0 not 1


# ibapi's unicode-escape reading warns of escapes Python has deprecated: both readers do it.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@settings(max_examples=3000, deadline=None, derandomize=True)
@given(
    the_type=hs.sampled_from(TYPES),
    field=FIELDS,
    show_unset=hs.booleans(),
    use_unicode=hs.booleans(),
)
def test_reads_every_field_as_ibapi_does(
    the_type: Any, field: Any, show_unset: bool, use_unicode: bool
) -> None:
    fields = [field, b"next"]
    ours = _outcome(decode, the_type, fields, show_unset, use_unicode)
    theirs = _outcome(IBAPI_DECODE, the_type, fields, show_unset, use_unicode)
    assert ours == theirs


@pytest.mark.parametrize("the_type", TYPES)
def test_an_exhausted_message_raises_as_ibapi_does(the_type: Any) -> None:
    assert _outcome(decode, the_type, []) == _outcome(IBAPI_DECODE, the_type, [])


def test_unset_texts_read_as_unset() -> None:
    """The values the comparison above exercises most, named: a reader that returned the text
    itself would fail here even if ibapi's reader were changed the same way."""
    for text in (b"", b"2147483647", b"9223372036854775807", b"1.7976931348623157E308"):
        assert decode(Decimal, iter([text])) is UNSET_DECIMAL
    assert decode(float, iter([b"Infinity"])) == math.inf
    assert decode(bool, iter([b""]), True) is True  # ibapi's unset int, read as a flag


def _in_place(fast: bool) -> bool:
    return all(
        getattr(module, name) is (ours if fast else theirs)
        for module, name, theirs, ours in fields._SWAPS
    )


_CALLBACKS = [n for n in dir(EWrapper) if not n.startswith("_") and callable(getattr(EWrapper, n))]


def _plain(value: Any) -> Any:
    """A callback's arguments as comparable values (ibapi's objects have no __eq__)."""
    if isinstance(value, enum.Enum):
        return repr(value)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "__dict__"):
        return (type(value).__name__, {k: _plain(v) for k, v in vars(value).items()})
    return (type(value).__name__, value)


def _callbacks(version: int, frames: list[tuple[int, tuple[bytes, ...]]]) -> list[Any]:
    recorder = recording(_CALLBACKS)()
    decoder = Decoder(recorder, version)
    for msg_id, message in frames:
        decoder.interpret(message, msg_id)
    return _plain(recorder.calls)


def _both(version: int, frames: list[tuple[int, tuple[bytes, ...]]]) -> tuple[list, list]:
    with swapped(fast=False):
        theirs = _callbacks(version, frames)
    with swapped(fast=True):
        ours = _callbacks(version, frames)
    return ours, theirs


@pytest.mark.parametrize("capture", load_captures(), ids=lambda c: c["name"])
def test_real_tws_messages_decode_the_same(capture: dict) -> None:
    version = int(capture["ibapi_decodes_every_field_at"].partition("..")[0])
    frame = (int(capture["fields"][0]), tuple(f.encode() for f in capture["fields"][1:]))
    ours, theirs = _both(version, [frame])
    assert theirs, "ibapi made no callback of the capture"
    assert ours == theirs


@pytest.mark.parametrize("version", [157, 178, 200])
def test_the_simulators_order_messages_decode_the_same(version: int) -> None:
    frames = []
    for text in record_frames(40, version):
        cut = text.index(b"\0")
        frames.append((int(text[:cut]), comm.read_fields(text[cut + 1 :])))
    ours, theirs = _both(version, frames)
    assert len(theirs) == len(frames)
    assert ours == theirs


def test_the_app_puts_them_in_place_and_yields_to_ibapis_debug_log() -> None:
    with swapped(fast=False):
        TwsApp()
        assert _in_place(fast=True)
        ibapi_log = logging.getLogger(ibapi.utils.__name__)
        level = ibapi_log.level
        ibapi_log.setLevel(logging.DEBUG)
        try:
            assert use_fast_fields() is False
            assert _in_place(fast=False)
        finally:
            ibapi_log.setLevel(level)
        assert use_fast_fields() is True
        assert _in_place(fast=True)


# ---------------------------------------------------------------------- writing


class _Values(enum.IntEnum):
    ONE = 1


class _Text(str):
    pass


VALUES = hs.one_of(
    hs.sampled_from(
        [
            None,
            True,
            False,
            0,
            -1,
            UNSET_INTEGER,
            UNSET_LONG,
            UNSET_DOUBLE,
            float(UNSET_INTEGER),
            math.inf,
            -math.inf,
            math.nan,
            -0.0,
            1e16,
            1.5,
            Decimal("1.5"),
            Decimal("NaN"),
            "",
            "AAPL",
            "a\tb\nc\r",
            "\x7f",
            "\x00",
            "é",
            "Infinity",
            _Values.ONE,
            _Text("x"),
            b"x",
        ]
    ),
    hs.integers(),
    hs.floats(),
    hs.text(max_size=8),
    hs.decimals(),
)


def _written(writer: Callable[[Any], str], value: Any) -> Any:
    try:
        return writer(value)
    except Exception as exc:
        return ("raises", type(exc))


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(value=VALUES)
def test_writes_every_value_as_ibapi_does(value: Any) -> None:
    assert _written(fields.make_field, value) == _written(fields.IBAPI_MAKE_FIELD, value)
    assert _written(fields.make_field_handle_empty, value) == _written(
        fields.IBAPI_MAKE_FIELD_HANDLE_EMPTY, value
    )


def test_unsendable_text_is_refused_as_ibapi_refuses_it() -> None:
    """Named, as above: a writer that let "é" through would fail here on its own."""
    with pytest.raises(ClientException):
        fields.make_field("é")
    assert fields.make_field_handle_empty(UNSET_DOUBLE) == "\0"
    assert fields.make_field(True) == "1\0"


class _Socket:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def isConnected(self) -> bool:
        return True

    def sendMsg(self, msg: bytes) -> None:
        self.sent.append(msg)


class _Errors(EWrapper):
    def __init__(self) -> None:
        super().__init__()
        self.errors: list[tuple] = []

    def error(self, reqId: Any, *args: Any) -> None:
        code, text = args[1:3] if isinstance(args[1], int) else args[:2]  # errorTime first?
        self.errors.append((reqId, code, text))


def _requests(version: int, order: Order, contract: Contract) -> tuple[list[bytes], list]:
    """What ibapi writes for a place, a cancel, a quote, a history and a lookup."""
    wrapper = _Errors()
    client = EClient(wrapper)
    client.conn = _Socket()
    client.connState = EClient.CONNECTED
    client.serverVersion_ = version
    client.placeOrder(11, contract, order)
    client.cancelOrder(11, OrderCancel())
    client.reqMktData(12, contract, "233", False, False, [])
    client.reqHistoricalData(13, contract, "", "1 D", "1 min", "TRADES", 1, 1, False, [])
    client.reqContractDetails(14, contract)
    client.reqExecutions(15, ExecutionFilter())
    return client.conn.sent, wrapper.errors


_ORDER_VALUES = {
    "lmtPrice": hs.one_of(hs.floats(), hs.just(UNSET_DOUBLE)),
    "auxPrice": hs.one_of(hs.floats(), hs.just(UNSET_DOUBLE)),
    "totalQuantity": hs.decimals(allow_nan=False),
    "orderRef": hs.text(max_size=6),
    "account": hs.sampled_from(["", "DU1234567", "é"]),
    "tif": hs.sampled_from(["DAY", "GTC", "IOC", "GTD"]),
    "outsideRth": hs.booleans(),
    "trailingPercent": hs.one_of(hs.floats(), hs.just(UNSET_DOUBLE)),
    "minQty": hs.one_of(hs.integers(min_value=0, max_value=10**6), hs.just(UNSET_INTEGER)),
    "parentId": hs.integers(min_value=0, max_value=2**31),
    "ocaGroup": hs.text(max_size=4),
    "algoStrategy": hs.sampled_from(["", "Adaptive"]),
}


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    order_type=hs.sampled_from(["LMT", "MKT", "STP", "STP LMT", "TRAIL", "REL", "MOC"]),
    values=hs.fixed_dictionaries({}, optional=_ORDER_VALUES),
    conditions=hs.booleans(),
    version=hs.sampled_from([157, 178, 200]),  # text requests: placeOrder is protobuf from 203
    symbol=hs.sampled_from(["AAPL", "BRK B", "Ä"]),
)
def test_requests_are_written_byte_for_byte_as_ibapi_writes_them(
    order_type: str, values: dict, conditions: bool, version: int, symbol: str
) -> None:
    order = Order()
    order.action, order.orderType, order.totalQuantity = "BUY", order_type, Decimal(10)
    for name, value in values.items():
        setattr(order, name, value)
    if order.algoStrategy:
        order.algoParams = [TagValue("adaptivePriority", "Normal")]
    if conditions:
        price = order_condition.Create(order_condition.OrderCondition.Price)
        price.conId, price.exchange, price.price, price.isMore = 265598, "SMART", 190.5, True
        when = order_condition.Create(order_condition.OrderCondition.Time)
        when.time, when.isMore = "20261201 16:00:00 US/Eastern", False
        order.conditions = [price, when]
    contract = Contract()
    contract.symbol, contract.secType, contract.exchange, contract.currency = (
        symbol, "STK", "SMART", "USD"
    )  # fmt: skip
    with swapped(fast=False):
        theirs = _requests(version, order, contract)
    with swapped(fast=True):
        ours = _requests(version, order, contract)
    assert theirs[0], "ibapi wrote nothing"
    assert ours == theirs


_IMMUTABLE = (str, int, float, Decimal, type(None))


def _shared(first: Order, second: Order) -> list[str]:
    """The attributes two orders share as one object that can be changed in place."""
    return [
        name
        for name, value in vars(first).items()
        if vars(second).get(name) is value and not isinstance(value, _IMMUTABLE)
    ]


@pytest.mark.parametrize("version", [157, 178, 200])
def test_decoded_orders_share_nothing_that_can_change(version: int) -> None:
    """The decoder's Order() is a copy of a blank one: two decoded orders must not share a list
    or an object that a caller could change in one and see in the other."""
    recorder = recording(["openOrder"])()
    decoder = Decoder(recorder, version)
    with swapped(fast=True):
        for text in record_frames(4, version):
            cut = text.index(b"\0")
            decoder.interpret(comm.read_fields(text[cut + 1 :]), int(text[:cut]))
    orders = [args[2] for name, args in recorder.calls if name == "openOrder"]
    assert len(orders) >= 2
    assert all(type(order) is Order for order in orders)
    assert _shared(orders[0], orders[1]) == []
    assert _plain(orders[0]) != _plain(Order())  # (they were decoded: not left blank)


def test_protobuf_orders_are_made_the_same_way_and_share_nothing() -> None:
    from ibapi.decoder_utils import decodeOrder
    from ibapi.protobuf.Contract_pb2 import Contract as ContractProto
    from ibapi.protobuf.Order_pb2 import Order as OrderProto

    with swapped(fast=False):
        theirs = decodeOrder(7, ContractProto(), OrderProto(action="BUY"))
    with swapped(fast=True):
        ours = [decodeOrder(7, ContractProto(), OrderProto(action="BUY")) for _ in range(2)]
    assert [_plain(o) for o in ours] == [_plain(theirs)] * 2
    assert _shared(*ours) == []
