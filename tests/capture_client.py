"""A real ibapi ``EClient`` connected to a minimal fake TWS that records every frame it sends.

Tests use it to learn exactly what the installed ibapi writes at a given server version, instead
of trusting hand-written byte strings. The fake TWS does only the handshake (version, startApi,
managedAccounts, nextValidId); after that, each ``request`` call returns the frame that one
``EClient`` call produced. The client's ``run()`` loop is never started: its EReader thread just
queues whatever the fake TWS sends.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from ibapi.client import EClient
from ibapi.message import IN
from ibapi.wrapper import EWrapper

from twsapp.sim.wire import (
    API_PREFIX,
    FrameReader,
    frame,
    parse_version_range,
    split_payload,
    text_payload,
)

ACCOUNT = "DU1234567"
FIRST_ORDER_ID = 1
CONNECT_TIME = "20250323 22:21:01 Greenwich Mean Time"
IO_TIMEOUT = 10.0  # bounds a hang if the client sends nothing; never reached in a passing run


class RecordingWrapper(EWrapper):
    """Keeps the client's own error reports: ibapi refuses some requests without sending them."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[tuple[int, int, str]] = []

    def error(self, reqId, errorTime, errorCode, errorString, advancedOrderRejectJson=""):
        self.errors.append((reqId, errorCode, errorString))


class ClientRefused(AssertionError):
    """The EClient reported an error instead of sending the request."""


class CaptureSession:
    """One EClient connected at ``version`` to a fake TWS on 127.0.0.1 that records its frames."""

    def __init__(self, version: int, client_id: int = 7, optional_capabilities: str = "") -> None:
        self.version = version
        self.client_id = client_id
        self.handshake_range: tuple[int, int, str] | None = None
        self.start_api_payload: bytes | None = None
        self.wrapper = RecordingWrapper()
        self.client = EClient(self.wrapper)
        if optional_capabilities:
            self.client.setOptionalCapabilities(optional_capabilities)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(IO_TIMEOUT)
        self._conn: socket.socket | None = None
        self._reader: FrameReader | None = None
        self._failure: BaseException | None = None
        self._open()

    # ------------------------------------------------------------------ lifecycle

    def _open(self) -> None:
        port = self._listener.getsockname()[1]
        tws = threading.Thread(target=self._serve_handshake, name="fake-tws", daemon=True)
        tws.start()
        self.client.connect("127.0.0.1", port, self.client_id)
        tws.join(IO_TIMEOUT)
        if self._failure is not None:
            self.close()
            raise AssertionError("fake TWS handshake failed") from self._failure
        if tws.is_alive() or not self.client.isConnected():
            self.close()
            raise AssertionError(f"EClient did not complete the handshake: {self.wrapper.errors}")
        if self.client.serverVersion() != self.version:
            self.close()
            raise AssertionError(f"client negotiated {self.client.serverVersion()}")

    def _serve_handshake(self) -> None:
        try:
            conn, _ = self._listener.accept()
            conn.settimeout(IO_TIMEOUT)
            self._conn = conn
            reader = FrameReader(conn)
            if reader.read_exact(len(API_PREFIX)) != API_PREFIX:
                raise AssertionError("client did not start with API\\0")
            spec = reader.read_frame()
            if spec is None:
                raise AssertionError("client closed during the handshake")
            self.handshake_range = parse_version_range(spec.decode("ascii"))
            conn.sendall(frame(f"{self.version}\0{CONNECT_TIME}\0".encode()))
            self.start_api_payload = reader.read_frame()
            conn.sendall(frame(text_payload(self.version, IN.MANAGED_ACCTS, [1, ACCOUNT])))
            conn.sendall(frame(text_payload(self.version, IN.NEXT_VALID_ID, [1, FIRST_ORDER_ID])))
            self._reader = reader
        except BaseException as exc:  # reported to the test thread by _open
            self._failure = exc
            if self._conn is not None:
                self._conn.close()  # unblocks EClient.connect, which would otherwise wait forever

    def close(self) -> None:
        if self.client.isConnected():
            self.client.disconnect()
        if self._conn is not None:
            self._conn.close()
        self._listener.close()

    def __enter__(self) -> CaptureSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ capturing

    def request(self, call: Callable[[EClient], object]) -> tuple[int, bool, bytes]:
        """Run one EClient call and return (msg_id, is_protobuf, body) of the frame it sent."""
        assert self._reader is not None
        seen = len(self.wrapper.errors)
        call(self.client)
        if len(self.wrapper.errors) > seen:
            raise ClientRefused(f"EClient refused at v{self.version}: {self.wrapper.errors[seen:]}")
        payload = self._reader.read_frame()
        if payload is None:
            raise AssertionError("client closed the connection instead of sending")
        return split_payload(self.version, payload)


class SessionPool:
    """One CaptureSession per server version, opened on first use (a module-scoped fixture)."""

    def __init__(self) -> None:
        self._sessions: dict[int, CaptureSession] = {}

    def get(self, version: int) -> CaptureSession:
        if version not in self._sessions:
            self._sessions[version] = CaptureSession(version)
        return self._sessions[version]

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()
