"""The simulator's own throughput, measured by a client that only counts what comes back.

Measured through a real program, the figure is the program's: ibapi's reader copies the rest of
its buffer for every message it cuts off, so the further it falls behind a burst, the slower it
reads (the same code gave 1,700 and 14,800 messages/s in two runs). This client writes
placeOrder frames encoded beforehand by ibapi itself, and counts the order messages that come
back, cutting frames in one pass and decoding nothing but their message ids.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from ibapi import comm
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.message import IN
from ibapi.server_versions import (
    MAX_CLIENT_VER,
    MIN_CLIENT_VER,
    MIN_SERVER_VER_ERROR_TIME,
    MIN_SERVER_VER_PROTOBUF,
)
from ibapi.wrapper import EWrapper

from .programs import HOST, TIMEOUT, lmt_order

ORDER_MESSAGES = {IN.OPEN_ORDER, IN.ORDER_STATUS}
PER_ORDER = 4  # a resting LMT: openOrder and orderStatus, PreSubmitted then Submitted


class _Kept:
    """A connection that keeps what ibapi writes instead of sending it."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def isConnected(self) -> bool:  # noqa: N802 (ibapi's name)
        return True

    def sendMsg(self, msg: bytes) -> int:  # noqa: N802 (ibapi's name)
        self.frames.append(msg)
        return len(msg)


def _encoder(version: int, client_id: int) -> tuple[EClient, _Kept]:
    client = EClient(EWrapper())
    kept = _Kept()
    client.conn = kept
    client.serverVersion_ = version
    client.connState = EClient.CONNECTED
    client.clientId = client_id
    return client, kept


def _contract() -> Contract:
    """AAPL as the simulator's contract details give it (what the bare program sends)."""
    contract = Contract()
    contract.conId, contract.symbol, contract.secType = 265598, "AAPL", "STK"
    contract.exchange, contract.primaryExchange, contract.currency = "SMART", "NASDAQ", "USD"
    contract.localSymbol, contract.tradingClass = "AAPL", "NMS"
    return contract


class _Frames:
    """Frames off a socket, cut in one pass."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._rest = b""  # the start of a frame whose rest has not arrived

    def chunk(self) -> list[bytes]:
        data = self._sock.recv(1 << 16)
        if not data:
            raise ConnectionError("the simulator closed the connection")
        buf = self._rest + data
        at, end, out = 0, len(buf), []
        while end - at >= 4:
            stop = at + 4 + int.from_bytes(buf[at : at + 4], "big")
            if stop > end:
                break
            out.append(buf[at + 4 : stop])
            at = stop
        self._rest = buf[at:]
        return out


def _msg_id(frame: bytes) -> int:
    return int(frame[: frame.index(b"\0")])


def _order_error(frame: bytes, version: int, first_id: int, n: int) -> bool:
    """An error message about one of the flood's orders (its id among theirs): unexpected for
    these plain orders, so the flood stops on it rather than wait for answers never coming."""
    fields = comm.read_fields(frame[frame.index(b"\0") + 1 :])
    at = 1 if version < MIN_SERVER_VER_ERROR_TIME else 0  # a version field came first
    return (
        len(fields) > at
        and fields[at].lstrip(b"-").isdigit()
        and first_id <= int(fields[at]) < first_id + n
    )


def flood(port: int, client_id: int, n: int) -> dict[str, Any]:
    """Connect as ``client_id`` (a new one: nothing of it working at the simulator), send ``n``
    resting LMT orders back to back, and time until all their order messages are back: the
    simulator's messages per second, in and out."""
    sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
    try:
        version_text = f"v{MIN_CLIENT_VER}..{MAX_CLIENT_VER}"
        sock.sendall(b"API\0" + comm.make_initial_msg(version_text))
        frames = _Frames(sock)
        got: list[bytes] = []
        while not got:
            got = frames.chunk()
        version = int(comm.read_fields(got[0])[0])
        if version >= MIN_SERVER_VER_PROTOBUF:  # binary message ids: not needed by the bench
            raise ValueError(f"flood speaks the text protocol (below {MIN_SERVER_VER_PROTOBUF})")
        client, kept = _encoder(version, client_id)
        client.startApi()
        sock.sendall(b"".join(kept.frames))
        next_id = None
        while next_id is None:
            for frame in frames.chunk():
                if _msg_id(frame) == IN.NEXT_VALID_ID:
                    next_id = int(comm.read_fields(frame)[2])
        kept.frames.clear()
        contract = _contract()
        for order_id in range(next_id, next_id + n):
            client.placeOrder(order_id, contract, lmt_order())
        if len(kept.frames) != n:  # ibapi refused one (it only tells its wrapper)
            raise RuntimeError(f"ibapi encoded {len(kept.frames)} of {n} orders")
        payload = b"".join(kept.frames)
        failed: list[BaseException] = []

        def send() -> None:
            try:
                sock.sendall(payload)
            except OSError as exc:
                failed.append(exc)

        began = time.perf_counter()
        sender = threading.Thread(target=send, daemon=True)
        sender.start()  # while this thread reads: neither side may block the other's writes
        wanted, seen = PER_ORDER * n, 0
        while seen < wanted and not failed:
            for frame in frames.chunk():
                msg_id = _msg_id(frame)
                if msg_id in ORDER_MESSAGES:
                    seen += 1
                elif msg_id == IN.ERR_MSG and _order_error(frame, version, next_id, n):
                    raise RuntimeError(f"the simulator refused a flood order: {frame!r}")
        seconds = time.perf_counter() - began
        sender.join(TIMEOUT)
        if failed:
            raise failed[0]
        return {"seconds": seconds, "messages": n + seen}
    finally:
        sock.close()
