"""The straight openOrder reader reads what ibapi's decoder reads, or leaves the message to it.

Checked four ways: its own check at every server version twsapp speaks (and that the check
catches a reader that reads otherwise); real TWS captures; every order message the simulator
makes for a range of order types; and thousands of messages with fields swapped for awkward
texts, through the wire's own entry point, where ibapi's decoder must read whatever the reader
leaves and nothing the reader keeps may differ from ibapi's result.
"""

from __future__ import annotations

import logging
import random
from decimal import Decimal
from typing import Any

import ibapi.utils
import pytest
from captures import load_captures
from decode_harness import swapped
from ibapi.contract import Contract
from ibapi.decoder import Decoder
from ibapi.order import Order
from ibapi.order_condition import Create, OrderCondition
from ibapi.tag_value import TagValue

from twsapp import TwsApp
from twsapp.session import open_order_reader as reader
from twsapp.session.fields import use_fast_fields
from twsapp.session.open_order_reader import IbapiReader, comparable, made_up, reader_for
from twsapp.session.wire import Wire

VERSIONS = range(157, 226)


def test_every_server_version_twsapp_speaks_is_read_straight() -> None:
    """TWS sends openOrder as text up to 202; past that the reader is ready but unused."""
    refused = [version for version in VERSIONS if reader_for(version) is None]
    assert refused == [], "the installed ibapi reads openOrder otherwise at these versions"
    assert reader_for(144) is None  # the message still carried its own version then


@pytest.mark.parametrize("version", [157, 178, 200])
@pytest.mark.parametrize("variant", range(len(reader._VARIANTS)))
def test_it_reads_a_made_up_message_as_ibapi_does(version: int, variant: int) -> None:
    fields = made_up(version, variant)
    read = reader_for(version)
    assert read is not None
    ours = comparable(read(fields))
    assert ours == _ibapi(version, fields)
    guarded, empty, _ = reader._VARIANTS[variant]
    assert (ours[0]["deltaNeutralConId"] != ("int", "0")) is guarded
    assert (ours[0]["minQty"] == ("int", "2147483647")) is empty  # ibapi's unset int


def _swap_rows(monkeypatch: pytest.MonkeyPatch, first: str, second: str) -> None:
    rows = list(reader._FIELDS)
    names = [row[1] for row in rows]
    i, j = names.index(first), names.index(second)
    rows[i], rows[j] = rows[j], rows[i]
    monkeypatch.setattr(reader, "_FIELDS", tuple(rows))


def _kind(monkeypatch: pytest.MonkeyPatch, name: str, kind: str) -> None:
    rows = [(row[0], row[1], kind, *row[3:]) if row[1] == name else row for row in reader._FIELDS]
    monkeypatch.setattr(reader, "_FIELDS", tuple(rows))


def _drop(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(reader, "_FIELDS", tuple(r for r in reader._FIELDS if r[1] != name))


_OTHERWISE = {  # a reader that reads otherwise than ibapi, as a wrong table or a new ibapi would
    "two texts swapped": lambda mp: _swap_rows(mp, "tif", "ocaGroup"),
    "two flags swapped": lambda mp: _swap_rows(mp, "blockOrder", "allOrNone"),
    "two later flags swapped": lambda mp: _swap_rows(
        mp, "dontUseAutoPriceForHedge", "discretionaryUpToLimitPrice"
    ),
    "guarded texts swapped": lambda mp: _swap_rows(
        mp, "deltaNeutralSettlingFirm", "deltaNeutralClearingAccount"
    ),
    "a field ibapi no longer reads": lambda mp: _drop(mp, "sharesAllocation"),
    "an unset int read as an int": lambda mp: _kind(mp, "minQty", reader.INT),
    "an unset float read as a float": lambda mp: _kind(mp, "lmtPrice", reader.FLOAT),
    "a float read as an unset float": lambda mp: _kind(mp, "cashQty", reader.FLOAT_U),
    "a Decimal read as a float": lambda mp: _kind(mp, "totalQuantity", reader.FLOAT),
    "an int read as a flag": lambda mp: _kind(mp, "orderId", reader.BOOL),
}


@pytest.mark.parametrize("mistake", list(_OTHERWISE))
def test_its_check_refuses_a_reader_that_reads_otherwise(
    monkeypatch: pytest.MonkeyPatch, mistake: str
) -> None:
    monkeypatch.setattr(reader, "_READERS", {})
    _OTHERWISE[mistake](monkeypatch)
    assert reader_for(200) is None


# ---------------------------------------------------------------------- through the wire


class _Catching(Wire):
    """The wire's openOrder entry, with what it hands on caught instead of routed."""

    def __init__(self, version: int) -> None:  # no socket, no router: only the reading
        use_fast_fields()  # as a client does when made
        self.serverVersion_ = version
        self.caught: list[tuple[Any, Any, Any]] = []
        self.errors: list[tuple[int, int, str]] = []

    def error(
        self, reqId: int, errorTime: int, errorCode: int, errorString: str, *more: Any
    ) -> None:
        self.errors.append((reqId, errorCode, errorString))

    def openOrder(self, orderId: int, contract: Any, order: Any, orderState: Any) -> None:
        self.caught.append((order, contract, orderState))


def _through_wire(version: int, fields: list[str]) -> Any:
    """What the wire makes of the message: the reader's result, or None if it leaves it."""
    wire = _Catching(version)
    text = b"".join(field.encode() + b"\0" for field in fields)
    return comparable(wire.caught[0]) if wire._open_order(text) else None


def _ibapi(version: int, fields: list[str]) -> Any:
    """ibapi's own reading, with its own field functions (not twsapp's, which a TwsApp made
    earlier in the process would have swapped in)."""
    try:
        with swapped(fast=False):
            return comparable(IbapiReader(version).read(fields))
    except Exception as exc:  # ibapi's own error: the reader must have left the message
        return type(exc).__name__


_OPEN_ORDER_CAPTURES = [c for c in load_captures() if c["fields"][0] == "5"]


def _version(capture: dict) -> int:
    return int(capture["ibapi_decodes_every_field_at"].partition("..")[0])


@pytest.mark.parametrize("capture", _OPEN_ORDER_CAPTURES, ids=lambda c: c["name"])
def test_real_tws_open_orders_read_as_ibapi_reads_them(capture: dict) -> None:
    version, fields = _version(capture), capture["fields"][1:]
    ours = _through_wire(version, fields)
    assert ours is not None, "a real TWS openOrder was left to ibapi's decoder"
    assert ours == _ibapi(version, fields)


def test_there_are_real_open_orders_to_check() -> None:
    assert len(_OPEN_ORDER_CAPTURES) >= 2


def _orders() -> list[tuple[Order, bool]]:
    """Orders of many kinds, and whether the reader reads their openOrder itself."""

    def order(kind: str, **terms: Any) -> Order:
        built = Order()
        built.action, built.totalQuantity, built.orderType, built.tif = (
            "BUY",
            Decimal(3),
            kind,
            "DAY",
        )
        for name, value in terms.items():
            setattr(built, name, value)
        return built

    price = Create(OrderCondition.Price)
    price.conId, price.exchange, price.isMore, price.price = 265598, "SMART", True, 300.0
    price.triggerMethod = 0
    return [
        (order("LMT", lmtPrice=150.25), True),
        (order("MKT"), True),
        (order("STP", auxPrice=140.0, outsideRth=True), True),
        (order("STP LMT", lmtPrice=139.5, auxPrice=140.0, tif="GTC"), True),
        (order("TRAIL", trailingPercent=1.5), True),
        (order("TRAIL LIMIT", auxPrice=2.0, lmtPriceOffset=0.1, trailStopPrice=148.0), True),
        (order("MIT", auxPrice=151.0), True),
        (order("LIT", lmtPrice=151.0, auxPrice=151.5), True),
        (order("REL", auxPrice=0.01, lmtPrice=152.0), True),
        (order("MIDPRICE", lmtPrice=152.0), True),
        (order("LMT", lmtPrice=150.0, ocaGroup="g1", ocaType=1, orderRef="mine"), True),
        (order("LMT", lmtPrice=150.0, hedgeType="D", hedgeParam="0.5"), True),
        (order("LMT", lmtPrice=150.0, algoStrategy="Adaptive",
               algoParams=[TagValue("adaptivePriority", "Normal")]), False),
        (order("LMT", lmtPrice=150.0, conditions=[price]), False),
        (order("LMT", lmtPrice=150.0, scalePriceIncrement=0.5, scaleInitLevelSize=1), False),
    ]  # fmt: skip


@pytest.mark.parametrize("version", [157, 170, 178, 193, 200])
def test_the_simulators_open_orders_read_as_ibapi_reads_them(version: int) -> None:
    from twsapp.sim import messages as m
    from twsapp.sim.server import SimServer
    from twsapp.sim.text import encode_text

    exchange = SimServer(port=0, speed=0.0, server_version=version).exchange
    batches: list[list[Any]] = []
    exchange.attach(1, batches.append)
    contract = Contract()
    contract.conId, contract.exchange = 265598, "SMART"
    expected: dict[int, bool] = {}
    for order_id, (order, straight) in enumerate(_orders(), start=1):
        exchange.handle(1, m.PlaceOrder(order_id, contract, order))
        expected[order_id] = straight
    seen: dict[int, set[bool]] = {}
    for msg in (msg for batch in batches for msg in batch if isinstance(msg, m.OpenOrder)):
        text = encode_text(version, msg)
        fields = text.decode().split("\0")[1:-1]
        ours = _through_wire(version, fields)
        if ours is not None:
            assert ours == _ibapi(version, fields)
        seen.setdefault(msg.order_id, set()).add(ours is not None)
    assert seen == {order_id: {straight} for order_id, straight in expected.items()}


def _position(version: int, name: str) -> int:
    """Where a row's field is in ``made_up(version)`` (with the guarded fields)."""
    at = 0
    for _, row_name, kind, _ in reader._fields_for(version):
        if row_name == name:
            return at
        at += 3 if kind == reader.TIER else 1
    raise KeyError(name)


_UNUSUAL = [  # (row, a text that makes ibapi read on in a way the reader leaves to it)
    ("orderType", "PEG BENCH"), ("orderType", "PEGBENCH"), ("comboLegs", "1"),
    ("orderComboLegs", "2"), ("smartComboRoutingParams", "1"), ("scalePriceIncrement", "0.5"),
    ("deltaNeutralContract", "1"), ("algoStrategy", "Adaptive"), ("conditions", "1"),
    ("orderAllocations", "1"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text"), _UNUSUAL)
def test_what_it_leaves_to_ibapi_goes_to_ibapi(name: str, text: str) -> None:
    fields = made_up(200)
    assert _through_wire(200, fields) is not None
    fields[_position(200, name)] = text
    assert _through_wire(200, fields) is None


_AWKWARD = [
    "", "0", "1", "-1", "2", "00", "007", " 7", "1.5", "-0.0", "1e3", "1e400", "Infinity",
    "-Infinity", "inf", "nan", "NaN", "2147483647", "9223372036854775807", "-9223372036854775808",
    "1.7976931348623157E308", "abc", "None", "PEG BENCH", "PEGBENCH", "LMT", "0x1", "1_000",
    "caf\u00e9", "\u0663",
]  # fmt: skip


def test_awkward_fields_read_as_ibapi_reads_them_or_go_to_it() -> None:
    rng = random.Random(7)
    versions = (157, 162, 170, 176, 177, 178, 183, 193, 194, 195, 198, 199, 200, 201, 225)
    bases = [(v, made_up(v, variant)) for v in versions for variant in (0, 1)]
    bases += [(_version(c), c["fields"][1:]) for c in _OPEN_ORDER_CAPTURES]
    straight = left = 0
    for _ in range(4000):
        version, fields = rng.choice(bases)
        fields = list(fields)
        for _ in range(rng.randint(1, 2)):
            fields[rng.randrange(len(fields))] = rng.choice(_AWKWARD)
        if rng.random() < 0.1:
            fields = fields[: rng.randrange(len(fields))]  # cut short
        elif rng.random() < 0.1:
            fields += ["x"] * rng.randint(1, 3)  # more than ibapi reads
        ours = _through_wire(version, fields)
        if ours is None:
            left += 1
        else:
            straight += 1
            assert ours == _ibapi(version, fields), (version, fields)
    assert straight > 1000 and left > 1000, (straight, left)  # both ways, often


def test_ibapis_debug_log_gets_ibapis_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user who asks ibapi for its field-by-field log gets it for openOrder too."""
    text = b"".join(field.encode() + b"\0" for field in made_up(178))
    ibapi_log = logging.getLogger(ibapi.utils.__name__)
    level = ibapi_log.level
    ibapi_log.setLevel(logging.DEBUG)
    try:
        wire = TwsApp()._wire
    finally:
        ibapi_log.setLevel(level)
    wire.serverVersion_ = 178
    assert wire._open_order(text) is False
    wire = TwsApp()._wire
    wire.serverVersion_ = 178
    caught: list[Any] = []
    monkeypatch.setattr(wire, "openOrder", lambda *args: caught.append(args))
    assert wire._open_order(text) is True
    assert caught and caught[0][0] == 1


@pytest.mark.parametrize("version", [178, 201])
@pytest.mark.parametrize("unusual", [False, True])
def test_the_wires_loop_hands_open_orders_to_the_reader_or_ibapi(
    version: int, unusual: bool
) -> None:
    wire = _Catching(version)
    wire.decoder = Decoder(wire, version)  # for what the reader leaves
    fields = made_up(version)
    if unusual:  # an algo with no parameters: ibapi reads their count after its name
        at = _position(version, "algoStrategy")
        fields[at : at + 1] = ["Adaptive", "0"]
    body = b"".join(field.encode() + b"\0" for field in fields)
    head = (5).to_bytes(4, "big") if version >= 201 else b"5\0"  # the message id, as sent
    straight: list[bool] = []
    read = wire._open_order
    wire._open_order = lambda text: straight.append(read(text)) or straight[-1]  # type: ignore[method-assign]
    wire._handle(head + body)
    assert straight == [not unusual]
    assert [comparable(args) for args in wire.caught] == [_ibapi(version, fields)]
    assert (wire.caught[0][0].algoStrategy == "Adaptive") is unusual


def test_what_the_callback_raises_goes_up_and_the_message_is_not_read_again() -> None:
    class Failing(_Catching):
        def openOrder(self, *args: Any) -> None:
            raise RuntimeError("the book failed")

    class NoDecoder:
        def interpret(self, *args: Any) -> None:
            raise AssertionError("read a second time by ibapi's decoder")

    wire = Failing(178)
    wire.decoder = NoDecoder()
    body = b"".join(field.encode() + b"\0" for field in made_up(178))
    with pytest.raises(RuntimeError, match="the book failed"):
        wire._handle(b"5\0" + body)


@pytest.mark.parametrize("msg_id", [b"5", b"3"])  # openOrder, orderStatus
def test_a_message_cut_short_is_reported_and_skipped(msg_id: bytes) -> None:
    """ibapi (10.46) raises a TypeError while reporting a text BadMessage; the wire makes the
    report ibapi meant (508) and goes on."""
    wire = _Catching(178)
    wire.decoder = Decoder(wire, 178)
    wire._handle(msg_id + b"\0" + b"1\0")
    assert wire.caught == []
    assert [(req, code) for req, code, _ in wire.errors] == [(-1, 508)]
    assert "Bad message" in wire.errors[0][2]


def test_the_reader_is_ready_when_the_client_has_connected(
    monkeypatch: pytest.MonkeyPatch, sim_factory: Any, app_factory: Any
) -> None:
    monkeypatch.setattr(reader, "_READERS", {})
    sim = sim_factory(server_version=176)
    app_factory(sim)
    assert reader._READERS.get(176) is not None  # before any openOrder came
