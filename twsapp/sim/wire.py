"""Framing and field primitives of the TWS socket protocol, shared by the text and protobuf codecs.

Real TWS is a Java program: numbers travel as Java's ``Double.toString`` renders them, and unset
values as Java's ``Double.MAX_VALUE`` / ``Integer.MAX_VALUE``. Keeping those spellings here, in one
place, is what lets the golden tests compare the simulator's fields to captured ones verbatim.
"""

from __future__ import annotations

import builtins
import math
import socket
import struct
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from enum import Enum

UNSET_INT = 2**31 - 1
UNSET_LONG = 2**63 - 1
UNSET_DOUBLE = 1.7976931348623157e308
UNSET_DECIMAL = Decimal(2**127 - 1)
UNSET_DOUBLE_TEXT = "1.7976931348623157E308"
UNSET_INT_TEXT = "2147483647"
MIN_PROTOBUF_VERSION = 201
PROTOBUF_OFFSET = 200
MAX_FRAME = 0xFFFFFF
API_PREFIX = b"API\0"


class ProtocolError(Exception):
    """The peer sent bytes that no ibapi client would send."""


def frame(payload: bytes) -> bytes:
    return struct.pack("!I", len(payload)) + payload


def is_set(value: float | None) -> bool:
    """Whether a double holds a value (not None, not Java's Double.MAX_VALUE marker)."""
    return value is not None and value != UNSET_DOUBLE


def java_double(value: float) -> str:
    """Spell a double the way Java's Double.toString does (TWS is Java)."""
    if value is None:
        return ""
    value = float(value)
    if value == UNSET_DOUBLE:
        return UNSET_DOUBLE_TEXT
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        if "e" in text or "E" in text:
            text = f"{value:.17f}".rstrip("0")
        return text if "." in text else text + ".0"
    sign, digits, exp = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exp, int)  # only NaN and infinities have a letter here, spelled above
    text = "".join(map(str, digits))
    point_exp = exp + len(text) - 1
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{point_exp}"


def decimal_text(value: Decimal | int | float | None) -> str:
    """Quantities: TWS sends Decimal sizes in plain notation ("100", "0.5"); unset is empty."""
    if value is None:
        return ""
    value = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if value == UNSET_DECIMAL:
        return ""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def last_trade_field(details) -> str:
    """TWS joins a dated expiry with the last trade time and zone (``20261218 08:30:00
    US/Central``) in one field, text and protobuf alike; ibapi splits it back."""
    date = details.contract.lastTradeDateOrContractMonth or ""
    if not date or not details.lastTradeTime:
        return date
    parts = [date, details.lastTradeTime]
    if details.timeZoneId:
        parts.append(details.timeZoneId)
    return " ".join(parts)


def enum_code(item: object) -> str | None:
    """The wire code of one of ibapi's fund enums; None for ``NoneItem`` (TWS sends nothing)."""
    if not isinstance(item, Enum) or item.name == "NoneItem":
        return None
    code = item.value[0]
    while isinstance(code, tuple):  # ibapi's FundAssetType.Others is a nested tuple
        code = code[0]
    return str(code)


def field_text(value: object) -> str:
    """Default spelling of one outgoing text field."""
    if type(value) is str:  # most fields are spelled already: the first test decides them
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


def text_payload(version: int, msg_id: int, fields: Iterable[object]) -> bytes:
    """A text message body: NUL-terminated fields; from version 201 the id is a 4-byte int."""
    texts = list(map(field_text, fields))
    body = ("\0".join(texts) + "\0" if texts else "").encode("utf-8")
    if version >= MIN_PROTOBUF_VERSION:
        return struct.pack("!I", msg_id) + body
    return f"{msg_id}\0".encode() + body


def proto_payload(msg_id: int, data: bytes) -> bytes:
    """A protobuf message body: 4-byte id offset by 200, then the serialized message."""
    return struct.pack("!I", msg_id + PROTOBUF_OFFSET) + data


def split_payload(version: int, payload: bytes) -> tuple[int, bool, bytes]:
    """Return (message id, is_protobuf, rest) of an incoming message at ``version``."""
    if version >= MIN_PROTOBUF_VERSION:
        if len(payload) < 4:
            raise ProtocolError("message shorter than its 4-byte id")
        msg_id = struct.unpack("!I", payload[:4])[0]
        rest = payload[4:]
    else:
        end = payload.find(b"\0")
        if end < 0:
            raise ProtocolError("text message without a NUL-terminated id")
        try:
            msg_id = int(payload[:end])
        except ValueError as exc:
            raise ProtocolError(f"message id {payload[:end]!r} is not a number") from exc
        rest = payload[end + 1 :]
    if msg_id > PROTOBUF_OFFSET:
        return msg_id - PROTOBUF_OFFSET, True, rest
    return msg_id, False, rest


def parse_version_range(text: str) -> tuple[int, int, str]:
    """Parse the handshake's ``v<min>..<max>[ options]`` (also a bare ``v<n>``)."""
    if not text.startswith("v"):
        raise ProtocolError(f"handshake {text!r} does not start with 'v'")
    spec, _, options = text[1:].partition(" ")
    low, sep, high = spec.partition("..")
    try:
        lo = int(low)
        hi = int(high) if sep else lo
    except ValueError as exc:
        raise ProtocolError(f"handshake version range {spec!r} is not numeric") from exc
    if lo > hi:
        raise ProtocolError(f"handshake version range {spec!r} is empty")
    return lo, hi, options


class FrameReader:
    """Reads length-prefixed frames from a blocking socket.

    ``deadline`` (a ``time.monotonic()`` instant, or None) bounds the whole of what is read
    until it is cleared, not each recv: a peer that trickles one byte at a time cannot stretch
    it. Past it, reading raises ``TimeoutError``.
    """

    def __init__(self, sock: socket.socket, deadline: float | None = None) -> None:
        self._sock = sock
        self._buf = bytearray()
        self.deadline = deadline

    def _fill(self, size: int) -> bool:
        while len(self._buf) < size:
            if self.deadline is not None:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("read deadline passed")
                self._sock.settimeout(left)
            chunk = self._sock.recv(65536)
            if not chunk:
                return False
            self._buf += chunk
        return True

    def read_exact(self, size: int) -> bytes | None:
        if not self._fill(size):
            return None
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def read_frame(self) -> bytes | None:
        """The next frame's payload, or None when the peer closed the connection."""
        head = self.read_exact(4)
        if head is None:
            return None
        size = struct.unpack("!I", head)[0]
        if size > MAX_FRAME:
            raise ProtocolError(f"frame of {size} bytes exceeds the protocol limit")
        return self.read_exact(size)


class Fields:
    """Cursor over the NUL-terminated text fields of one incoming request.

    Mirrors how TWS reads what ibapi's ``make_field`` wrote: empty numeric fields mean 0, or
    "unset" for the ``*_max`` readers that pair with ibapi's ``make_field_handle_empty``.
    """

    def __init__(self, body: bytes) -> None:
        parts = body.split(b"\0")
        if parts and parts[-1] == b"":
            parts.pop()
        self._items: Iterator[bytes] = iter(parts)
        self.consumed = 0

    def _next(self) -> str:
        try:
            raw = next(self._items)
        except StopIteration:
            raise ProtocolError("message ended before all its fields were read") from None
        self.consumed += 1
        return raw.decode("utf-8", errors="backslashreplace")

    def remaining(self) -> list[str]:
        return [raw.decode("utf-8", errors="backslashreplace") for raw in self._items]

    def str(self) -> str:
        return self._next()

    def int(self) -> int:
        text = self._next()
        if text == "":
            return 0
        try:
            return int(text)
        except ValueError:
            raise ProtocolError(f"expected an integer, got {text!r}") from None

    def int_max(self) -> builtins.int:
        text = self._next()
        return UNSET_INT if text == "" else self._parse_int(text)

    def float(self) -> builtins.float:
        text = self._next()
        return 0.0 if text == "" else self._parse_float(text)

    def float_max(self) -> builtins.float:
        text = self._next()
        return UNSET_DOUBLE if text == "" else self._parse_float(text)

    def bool(self) -> builtins.bool:
        text = self._next()
        if text in ("", "0", "false", "False"):
            return False
        if text in ("1", "true", "True"):
            return True
        return self._parse_int(text) != 0

    def decimal(self) -> Decimal:
        text = self._next()
        if text in ("", UNSET_INT_TEXT, UNSET_DOUBLE_TEXT, str(UNSET_LONG)):
            return UNSET_DECIMAL
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ProtocolError(f"expected a decimal, got {text!r}") from None

    @staticmethod
    def _parse_int(text: builtins.str) -> builtins.int:
        try:
            return int(text)
        except ValueError:
            raise ProtocolError(f"expected an integer, got {text!r}") from None

    @staticmethod
    def _parse_float(text: builtins.str) -> builtins.float:
        if text == "Infinity":
            return math.inf
        try:
            return float(text)
        except ValueError:
            raise ProtocolError(f"expected a number, got {text!r}") from None
