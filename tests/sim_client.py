"""A real ibapi client for simulator tests: ``EClient`` over a socket, every callback recorded.

Tests drive the simulator the way a user's program does (``class App(EWrapper, EClient)``) and
then wait for what they expect. Waiting is done on a condition variable that every callback
notifies, so a test never sleeps for time to pass; the generous timeout only bounds a hang.

Also here: ``RawSession`` (a socket speaking the handshake by hand, for what ibapi would never
send) and ``TapProxy`` (a loopback proxy that keeps every byte the server sent, so two runs can
be compared byte for byte).
"""

from __future__ import annotations

import contextlib
import inspect
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.wrapper import EWrapper

from twsapp.sim.wire import API_PREFIX, FrameReader, frame

TIMEOUT = 10.0  # bounds a hang; a passing test never waits this long


@dataclass(frozen=True)
class Event:
    """One callback: its name and its arguments by parameter name."""

    name: str
    args: dict[str, Any]

    def __getattr__(self, item: str) -> Any:
        try:
            return self.args[item]
        except KeyError:
            raise AttributeError(item) from None


def _recording(name: str, signature: inspect.Signature) -> Callable[..., None]:
    def method(self: SimClient, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        values.pop("self")
        self._record(Event(name, values))

    method.__name__ = name
    return method


class SimClient(EWrapper, EClient):
    """A user's program in miniature: records every EWrapper callback as an ``Event``."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, self)
        self.events: list[Event] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ recording

    def _record(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    # ------------------------------------------------------------------ connection

    def start(self, port: int, client_id: int = 1, wait_ready: bool = True) -> SimClient:
        """Connect, start the message loop and (by default) wait for nextValidId."""
        self.connect("127.0.0.1", port, client_id)
        self._thread = threading.Thread(target=self.run, name=f"ibapi-{client_id}", daemon=True)
        self._thread.start()
        if wait_ready:
            self.wait("nextValidId")
        return self

    def stop(self) -> None:
        """Hang up without waiting: shut the socket down and let the message loop end itself.

        Shutting down (not just closing) sends the FIN at once, although ibapi's reader thread
        sits in recv() on the socket. The loop then drains what was queued and calls
        ``disconnect`` itself; calling it from here could reset the server version under the
        loop while it still decodes (ibapi then fails on ``None >= int``).
        """
        sock = getattr(self.conn, "socket", None)
        if self._thread is None or not self._thread.is_alive() or sock is None:
            if self.isConnected():
                self.disconnect()
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def wait_closed(self) -> None:
        """Wait until the server has closed the connection (the message loop ended)."""
        self.wait("connectionClosed")
        if self._thread is not None:
            self._thread.join(TIMEOUT)
            assert not self._thread.is_alive(), "ibapi message loop still running"

    # ------------------------------------------------------------------ waiting

    def mark(self) -> int:
        """An index into ``events``: pass it as ``since`` to look only at what came after."""
        with self._cond:
            return len(self.events)

    def until(self, predicate: Callable[[list[Event]], Any], timeout: float = TIMEOUT) -> Any:
        """Wait until ``predicate(events)`` is truthy and return its value."""
        with self._cond:
            result = self._cond.wait_for(lambda: predicate(self.events), timeout)
        if not result:
            raise AssertionError(
                f"timed out waiting; last events: {[e.name for e in self.events[-15:]]}"
            )
        return result

    def wait(self, name: str, since: int = 0, **match: Any) -> Event:
        """Wait for the first ``name`` callback after ``since`` whose arguments equal ``match``."""

        def find(events: list[Event]) -> Event | None:
            for event in events[since:]:
                if event.name == name and all(event.args.get(k) == v for k, v in match.items()):
                    return event
            return None

        return self.until(find)

    def wait_error(self, code: int, since: int = 0, **match: Any) -> Event:
        return self.wait("error", since, errorCode=code, **match)

    def wait_status(self, order_id: int, status: str, since: int = 0) -> Event:
        return self.wait("orderStatus", since, orderId=order_id, status=status)

    def of(self, name: str, since: int = 0, **match: Any) -> list[Event]:
        """Every ``name`` callback recorded after ``since`` (no waiting)."""
        with self._cond:
            events = list(self.events[since:])
        return [
            e
            for e in events
            if e.name == name and all(e.args.get(k) == v for k, v in match.items())
        ]

    def names(self, since: int = 0) -> list[str]:
        with self._cond:
            return [e.name for e in self.events[since:] if e.name != "error"]

    def errors(self, since: int = 0) -> list[tuple[int, int]]:
        """(reqId, code) of every error after ``since``, farm notices (21xx) left out."""
        return [
            (e.reqId, e.errorCode)
            for e in self.of("error", since)
            if not 2100 <= e.errorCode < 2200
        ]

    def sync(self) -> None:
        """Round-trip: everything the server sent before its reply to this has arrived."""
        since = self.mark()
        self.reqCurrentTime()
        self.wait("currentTime", since)

    def next_id(self) -> int:
        """A fresh order id from the server (reqIds round trip)."""
        since = self.mark()
        self.reqIds(-1)
        return self.wait("nextValidId", since).orderId


for _name, _function in inspect.getmembers(EWrapper, inspect.isfunction):
    if _name.startswith("_") or _name.endswith("ProtoBuf") or _name == "logAnswer":
        continue
    setattr(SimClient, _name, _recording(_name, inspect.signature(_function)))


# --------------------------------------------------------------------------- contracts, orders


def stock(symbol: str, exchange: str = "SMART", currency: str = "USD") -> Contract:
    c = Contract()
    c.symbol = symbol
    c.secType = "STK"
    c.exchange = exchange
    c.currency = currency
    return c


def order(
    action: str,
    quantity: float | Decimal | int,
    order_type: str = "MKT",
    limit: float | None = None,
    stop: float | None = None,
    tif: str = "DAY",
) -> Order:
    o = Order()
    o.action = action
    o.totalQuantity = Decimal(str(quantity))
    o.orderType = order_type
    if limit is not None:
        o.lmtPrice = limit
    if stop is not None:
        o.auxPrice = stop
    o.tif = tif
    return o


# --------------------------------------------------------------------------- raw sockets


class RawSession:
    """A hand-driven socket: the handshake bytes of our choosing, frames read back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.reader = FrameReader(self.sock)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def handshake(self, version_range: str) -> list[str] | None:
        """Send ``API\\0`` + framed range; the server's reply fields, or None if it closed."""
        self.sock.sendall(API_PREFIX + frame(version_range.encode("ascii")))
        return self.read_fields()

    def read_fields(self) -> list[str] | None:
        try:
            payload = self.reader.read_frame()
        except ConnectionError:
            return None
        if payload is None:
            return None
        return payload.decode().split("\0")[:-1]

    def closed_by_server(self) -> bool:
        """True once the server has closed its side (recv reports end of stream)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionError:
            return True

    def close(self) -> None:
        self.sock.close()


class TapProxy:
    """Forwards one client connection to the simulator and keeps every byte the server sent."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._received = bytearray()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        accept = threading.Thread(target=self._accept, name="tap-accept", daemon=True)
        accept.start()
        self._threads.append(accept)

    def _accept(self) -> None:
        self._listener.settimeout(TIMEOUT)
        client, _ = self._listener.accept()
        server = socket.create_connection(("127.0.0.1", self.target_port), timeout=TIMEOUT)
        server.settimeout(None)
        client.settimeout(None)
        self._sockets += [client, server]
        for src, dst, keep in ((client, server, False), (server, client, True)):
            t = threading.Thread(target=self._pump, args=(src, dst, keep), daemon=True)
            t.start()
            self._threads.append(t)

    def _pump(self, src: socket.socket, dst: socket.socket, keep: bool) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
                return
            if keep:
                with self._lock:
                    self._received += data
            try:
                dst.sendall(data)
            except OSError:
                return

    def frames(self) -> list[bytes]:
        """The server's byte stream split into frame payloads (the handshake reply first)."""
        with self._lock:
            data = bytes(self._received)
        payloads = []
        while len(data) >= 4:
            (size,) = struct.unpack("!I", data[:4])
            if len(data) < 4 + size:
                break
            payloads.append(data[4 : 4 + size])
            data = data[4 + size :]
        return payloads

    def close(self) -> None:
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes the pumps blocked in recv
            s.close()
        self._listener.close()
        for t in self._threads:
            t.join(TIMEOUT)
