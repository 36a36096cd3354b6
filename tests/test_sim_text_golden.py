"""Golden tests: the simulator's text encoder against messages captured from real TWS.

For every capture in ``shared/fixtures/tws-captures.json`` the test reads the captured values
into ibapi's own objects (by decoding the capture with ibapi's ``Decoder`` at the capture's
server version), hands those objects to ``text_fields`` and compares the result with the
captured fields, field by field.

This is not circular: ibapi's decoder forgets how each value was spelled (``0`` or ``0.0``,
empty or ``2147483647``, ``None``, ``?``, the retired sharesAllocation echo), so the encoder must
reproduce TWS's spellings and layout on its own for the fields to match.
"""

from __future__ import annotations

import pytest
from captures import load_captures
from ibapi.const import UNSET_DOUBLE, UNSET_INTEGER
from ibapi.decoder import Decoder
from ibapi.wrapper import EWrapper

from twsapp.sim import messages as m
from twsapp.sim.text import encode_text, text_fields
from twsapp.sim.wire import UNSET_DOUBLE_TEXT

CAPTURES = load_captures()

# Captured fields that legitimately differ from the encoder's output, keyed by (capture name,
# field index) with the reason. Every capture currently matches in full, so this stays empty;
# an entry here must say why TWS's value cannot be reproduced from the decoded objects.
NAMED_EXCEPTIONS: dict[tuple[str, int], str] = {}

# Message kinds the golden comparison must cover (the list plus the session messages
# that are in the fixture too).
REQUIRED_KINDS = {
    "5": "openOrder",
    "3": "orderStatus",
    "11": "execDetails",
    "59": "commissionReport",
    "10": "contractData",
    "61": "position",
    "4": "error",
    "101": "completedOrder",
}


class _Recorder(EWrapper):
    """Keeps every callback ibapi's decoder makes, with its arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple]] = []


def _recording(name: str):
    def method(self: _Recorder, *args: object) -> None:
        self.calls.append((name, args))

    method.__name__ = name
    return method


# Each callback and the simulator message built from its arguments.
_MESSAGE_FROM_CALL = {
    "openOrder": lambda a: m.OpenOrder(a[0], a[1], a[2], a[3]),
    "orderStatus": lambda a: m.OrderStatus(*a),
    "execDetails": lambda a: m.ExecDetails(a[0], a[1], a[2]),
    "commissionAndFeesReport": lambda a: m.CommissionReport(a[0]),
    "contractDetails": lambda a: m.ContractData(a[0], a[1]),
    "position": lambda a: m.Position(a[0], a[1], a[2], a[3]),
    "positionEnd": lambda a: m.PositionEnd(),
    "error": lambda a: m.ErrorMsg(
        req_id=a[0], code=a[2], text=a[3], advanced_order_reject_json=a[4], error_time_ms=a[1]
    ),
    "completedOrder": lambda a: m.CompletedOrder(a[0], a[1], a[2]),
    "nextValidId": lambda a: m.NextValidId(a[0]),
    "managedAccounts": lambda a: m.ManagedAccounts(a[0].split(",")),
    "currentTime": lambda a: m.CurrentTime(a[0]),
    "accountSummary": lambda a: m.AccountSummary(*a),
    "accountSummaryEnd": lambda a: m.AccountSummaryEnd(a[0]),
}

for _name in _MESSAGE_FROM_CALL:
    setattr(_Recorder, _name, _recording(_name))


def _version_range(capture: dict) -> range:
    low, _, high = capture["ibapi_decodes_every_field_at"].partition("..")
    return range(int(low), int(high) + 1)


def _golden_version(capture: dict) -> int:
    """The capture's own version when the 10.46 decoder reads every field there, else the
    nearest version inside the range where it does (none of today's captures needs that)."""
    own, valid = capture["server_version"], _version_range(capture)
    if own in valid:
        return own
    return min(valid, key=lambda v: abs(v - own))


def _decoded_message(capture: dict, version: int) -> m.Message:
    recorder = _Recorder()
    fields = tuple(f.encode() for f in capture["fields"][1:])
    Decoder(recorder, version).interpret(fields, int(capture["fields"][0]))
    assert len(recorder.calls) == 1, f"ibapi made {recorder.calls} for one captured message"
    name, args = recorder.calls[0]
    return _MESSAGE_FROM_CALL[name](args)


def _capture_id(capture: dict) -> str:
    return f"{capture['fields'][0]}-{capture['name']}@{capture['server_version']}"


def test_fixture_covers_every_required_kind() -> None:
    kinds = {c["fields"][0] for c in CAPTURES}
    missing = {name for msg_id, name in REQUIRED_KINDS.items() if msg_id not in kinds}
    assert not missing, f"no capture of {missing}"


def test_every_capture_decodes_at_its_own_version() -> None:
    """So that no capture is compared at a substitute version without saying so."""
    outside = [c["name"] for c in CAPTURES if c["server_version"] not in _version_range(c)]
    assert outside == []


@pytest.mark.parametrize("capture", CAPTURES, ids=_capture_id)
def test_encoder_reproduces_capture(capture: dict) -> None:
    version = _golden_version(capture)
    message = _decoded_message(capture, version)
    expected = capture["fields"]
    actual = text_fields(version, message)

    mismatches = [
        (i, want, got)
        for i, (want, got) in enumerate(zip(expected, actual, strict=False))
        if want != got and (capture["name"], i) not in NAMED_EXCEPTIONS
    ]
    assert len(actual) == len(expected), (
        f"{len(actual)} fields, TWS sent {len(expected)}: {actual[len(expected) :]}"
    )
    assert mismatches == [], "\n".join(
        f"field {i}: TWS {want!r}, encoder {got!r}" for i, want, got in mismatches
    )


@pytest.mark.parametrize("capture", CAPTURES, ids=_capture_id)
def test_payload_is_the_captured_body(capture: dict) -> None:
    """The frame payload is the captured NUL-terminated fields, byte for byte (text versions)."""
    version = _golden_version(capture)
    message = _decoded_message(capture, version)
    body = "".join(f + "\0" for f in capture["fields"]).encode()
    assert encode_text(version, message) == body


def _as_ibapi_defaults(message: m.Message) -> list[str]:
    """Put ibapi's "unset" defaults where TWS's captured markers decoded, as the simulator holds
    them after decoding a client's placeOrder; returns the names of the fields replaced."""
    replaced = []

    def reset(obj: object, attr: str, tws_value: object, ibapi_default: object) -> None:
        if obj is not None and getattr(obj, attr) == tws_value:
            setattr(obj, attr, ibapi_default)
            replaced.append(f"{type(obj).__name__}.{attr}")

    contract = getattr(message, "contract", None) or getattr(
        getattr(message, "details", None), "contract", None
    )
    reset(contract, "strike", 0.0, UNSET_DOUBLE)
    reset(contract, "right", "?", "")
    order, state = getattr(message, "order", None), getattr(message, "state", None)
    if order is not None:
        if order.orderType == "MKT":
            reset(order, "lmtPrice", 0.0, UNSET_DOUBLE)
        reset(order, "auxPrice", 0.0, UNSET_DOUBLE)
        reset(order, "displaySize", UNSET_INTEGER, 0)
        reset(order, "volatilityType", 0, UNSET_INTEGER)
        reset(order, "referencePriceType", 0, UNSET_INTEGER)
        reset(order, "deltaNeutralOrderType", "None", "")
        reset(order, "deltaNeutralOpenClose", "?", "")
        reset(order, "adjustedOrderType", "None", "")
        reset(order, "cashQty", 0.0, UNSET_DOUBLE)
        reset(order, "usePriceMgmtAlgo", False, None)
        reset(order, "routeMarketableToBbo", False, None)
    if state is not None:
        for attr in ("initMarginBefore", "maintMarginBefore", "equityWithLoanBefore"):
            reset(state, attr, UNSET_DOUBLE_TEXT, "")
        for attr in ("initMarginChange", "maintMarginChange", "equityWithLoanChange"):
            reset(state, attr, UNSET_DOUBLE_TEXT, "")
        for attr in ("initMarginAfter", "maintMarginAfter", "equityWithLoanAfter"):
            reset(state, attr, UNSET_DOUBLE_TEXT, "")
    return replaced


@pytest.mark.parametrize(
    "capture",
    [c for c in CAPTURES if c["fields"][0] in {"5", "101", "10", "11", "61"}],
    ids=_capture_id,
)
def test_ibapi_unset_values_are_spelled_as_tws_spells_them(capture: dict) -> None:
    """An order or contract holding ibapi's UNSET / empty defaults (what a simulator keeps after
    decoding a client's request) is written with TWS's markers: ``?``, ``None``, ``0``, ``0.0``,
    ``2147483647``, ``1.7976931348623157E308``, exactly where the capture has them."""
    version = _golden_version(capture)
    message = _decoded_message(capture, version)
    replaced = _as_ibapi_defaults(message)
    assert replaced, "the capture holds none of TWS's unset markers"
    assert text_fields(version, message) == capture["fields"]
