"""The simulator's socket server: handshake, one session per connection, pacing, delivery.

Threads: one acceptor; per connection a reader (decodes requests, calls the exchange) and a
writer (drains that client's queue, so a slow client never holds the exchange lock); one ticker
that moves the simulation clock unless it is manual (speed 0), in which case ``advance`` does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.server_versions import MAX_CLIENT_VER

from . import calendar, rules
from . import messages as m
from .clock import SimClock, default_start
from .exchange import Exchange
from .fa import EQUAL, FaError, FaGroup, make_group
from .fault_plan import Fault, FaultPlan, Timed, Verdict
from .fault_spec import check_fault, parse_daily_restart, parse_fault
from .faults import FaultInjector, Faults
from .inputs import SimInputError
from .instruments import Catalog
from .prices import PriceModel
from .proto import decode_proto_request, encode_proto
from .text import encode_text
from .text_requests import decode_text_request
from .wire import (
    API_PREFIX,
    FrameReader,
    ProtocolError,
    frame,
    parse_version_range,
    split_payload,
)

log = logging.getLogger("twsapp.sim")

MIN_SERVER_VERSION = 157
MAX_SERVER_VERSION = MAX_CLIENT_VER
HANDSHAKE_TIMEOUT = 10.0
TICK_SECONDS = 0.02
LOOPBACK_NAMES = ("localhost",)


@dataclass
class SimSettings:
    host: str = "127.0.0.1"
    port: int = 0
    server_version: int = MAX_SERVER_VERSION
    seed: int = 42
    speed: float = 1.0
    accounts: list[str] = field(default_factory=lambda: ["DU1234567"])
    start: datetime | None = None
    master_client_id: int | None = None
    display_size: Decimal | None = None
    instruments_file: str | None = None
    max_messages_per_second: int = 50
    # False lifts the messages-per-second check altogether (no error 100, ever): for raw-speed
    # benchmarks, where the limit would measure the rule instead of the program. TWS has no
    # such switch.
    pacing: bool = True
    disconnect_after_violations: int = 0  # 0 = never disconnect for pacing
    faults: Faults = field(default_factory=Faults)
    # Seconds on a monotonic scale for the 50-messages-a-second window. Real time by default;
    # tests pass a clock they move themselves, so a stalled CI machine cannot split a burst.
    pacing_clock: Callable[[], float] = time.monotonic
    # Never end a write on ibapi's 4096-byte read boundary (see _split_for_ibapi). Real TWS does
    # not take this care; turn it off to expose a client to what TWS may really do.
    spare_ibapi_reader: bool = True
    bars: dict[str, str] = field(default_factory=dict)  # symbol or conId -> CSV of bars to replay
    # Real seconds a new connection has to send the API prefix, its version range and startApi;
    # then it is closed, so a client that connects and stalls cannot hold a thread for ever.
    # About the network, not the market: measured on the wall clock whatever the speed.
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    # An advisor's allocation groups: name -> its accounts (of ``accounts``, in order), and a
    # group's method where not EqualQuantity (fa.py lists the methods); replaceFA changes them.
    fa_groups: dict[str, list[str]] = field(default_factory=dict)
    fa_methods: dict[str, str] = field(default_factory=dict)
    # Faults armed from the start (fault_plan.py), as objects or as text (fault_spec.py); each
    # timed one needs its ``after``. More can be armed while running: ``server.faults.arm``.
    fault_plan: list[Fault | str] = field(default_factory=list)
    # TWS's nightly restart: "HH:MM[,down=SECONDS]" (New York time) restarts the simulator at
    # that simulated time of every US trading day, orders kept (fault_plan.DailyRestart).
    # None: never, as before; tests that want one at a moment of their choosing arm Restart.
    daily_restart: str | None = None


def check_settings(s: SimSettings) -> None:
    """Refuse, before anything is read or bound, settings the simulator cannot run with.

    Python callers (tests, the app embedding the simulator) get the same refusals as
    ``twsapp sim``: each one a ``SimInputError`` naming the setting, the value and the fix.
    """
    if not _is_loopback(s.host):
        raise SimInputError.about(
            "host", s.host, "the simulator binds loopback only", "use 127.0.0.1, localhost or ::1"
        )
    if isinstance(s.start, datetime) and (beyond := calendar.start_problem(s.start.date())):
        raise SimInputError.about("start", s.start.isoformat(), *beyond)
    if not _is_int(s.port) or not 0 <= s.port <= 65535:
        raise SimInputError.about(
            "port", s.port, "not a port number", "use 1..65535, or 0 for any free port"
        )
    if not _is_int(s.server_version) or not (
        MIN_SERVER_VERSION <= s.server_version <= MAX_SERVER_VERSION
    ):
        raise SimInputError.about(
            "server_version",
            s.server_version,
            f"not a version the simulator serves ({MIN_SERVER_VERSION}..{MAX_SERVER_VERSION})",
            f"use {MIN_SERVER_VERSION}..{MAX_SERVER_VERSION} ({MAX_SERVER_VERSION} is the newest)",
        )
    if not _is_int(s.seed):
        raise SimInputError.about("seed", s.seed, "not an integer", "use any integer, e.g. 42")
    if not _is_number(s.speed) or not math.isfinite(s.speed) or s.speed < 0:
        raise SimInputError.about(
            "speed",
            s.speed,
            "not a finite number >= 0",
            "use how many simulated seconds pass per real second (0 = frozen)",
        )
    accounts = s.accounts
    if (
        isinstance(accounts, str)
        or not accounts
        or not all(isinstance(a, str) and a.strip() and "," not in a for a in accounts)
        or len(set(accounts)) != len(accounts)
    ):
        raise SimInputError.about(
            "accounts",
            accounts,
            "needs one or more distinct account ids",
            "name the accounts to manage, e.g. DU1234567",
        )
    if s.master_client_id is not None and not _is_int(s.master_client_id):
        raise SimInputError.about(
            "master_client_id", s.master_client_id, "not an integer", "use a client id, e.g. 0"
        )
    size = s.display_size
    if size is not None and (
        not isinstance(size, Decimal | int) or isinstance(size, bool) or not Decimal(size) > 0
    ):
        raise SimInputError.about(
            "display_size",
            size,
            "not a positive quantity",
            "use the largest quantity filled per second, e.g. 100, or none for no limit",
        )
    if not _is_int(s.max_messages_per_second) or s.max_messages_per_second < 1:
        raise SimInputError.about(
            "max_messages_per_second", s.max_messages_per_second, "not >= 1", "TWS allows 50"
        )
    if not isinstance(s.pacing, bool):
        raise SimInputError.about(
            "pacing", s.pacing, "not true or false", "use true (TWS's rule) or false (no limit)"
        )
    if not _is_int(s.disconnect_after_violations) or s.disconnect_after_violations < 0:
        raise SimInputError.about(
            "disconnect_after_violations",
            s.disconnect_after_violations,
            "not an integer >= 0",
            "use how many pacing violations end a session (0 = never)",
        )
    timeout = s.handshake_timeout
    if not _is_number(timeout) or not math.isfinite(timeout) or timeout <= 0:
        raise SimInputError.about(
            "handshake_timeout",
            timeout,
            "not a finite number of seconds > 0",
            f"use e.g. {HANDSHAKE_TIMEOUT:g}",
        )
    fa_groups_of(s)
    faults_of(s)
    daily_restart_of(s)


def faults_of(s: SimSettings) -> list[Fault]:
    """The configured faults, parsed and checked; SimInputError naming the bad one."""
    if isinstance(s.fault_plan, str) or not isinstance(s.fault_plan, list | tuple):
        raise SimInputError.about(
            "fault_plan", s.fault_plan, "not a list", "give a list, e.g. ['drop:what=ack']"
        )
    faults = []
    for item in s.fault_plan:
        fault = check_fault(item, repr(item)) if isinstance(item, Fault) else parse_fault(item)
        if isinstance(fault, Timed) and fault.after is None:
            raise SimInputError.about(
                "fault_plan", repr(fault), "fires before anyone connects", "give it an after"
            )
        faults.append(fault)
    return faults


def daily_restart_of(s: SimSettings) -> list[Fault]:
    """The daily restart to arm (none or one); SimInputError naming ``daily_restart``."""
    return [] if s.daily_restart is None else [parse_daily_restart(s.daily_restart)]


def fa_groups_of(s: SimSettings) -> list[FaGroup]:
    """The configured groups, checked against the accounts; SimInputError naming the group."""
    if not isinstance(s.fa_groups, dict) or not isinstance(s.fa_methods, dict):
        raise SimInputError.about(
            "fa_groups", s.fa_groups, "not a mapping", "map each group name to its accounts"
        )
    unknown = sorted(set(s.fa_methods) - set(s.fa_groups))
    if unknown:
        raise SimInputError.about(
            "fa_methods", unknown, "names no group", "give methods to groups of fa_groups only"
        )
    groups = []
    for name, members in s.fa_groups.items():
        method = s.fa_methods.get(name, EQUAL)
        try:
            if isinstance(members, str) or not isinstance(members, list | tuple):
                raise FaError(f"group {name!r}: expected a list of accounts")
            groups.append(make_group(name, list(members), method, s.accounts))
        except FaError as exc:
            raise SimInputError.about(
                "fa_groups", {name: members}, str(exc), "write NAME=ACCOUNT,ACCOUNT[:METHOD]"
            ) from None
    return groups


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SimServer:
    """A TWS stand-in on a loopback port. ``start()`` returns once it is listening."""

    def __init__(self, settings: SimSettings | None = None, **overrides: object) -> None:
        settings = settings or SimSettings()
        for key, value in overrides.items():
            if not hasattr(settings, key):
                raise TypeError(f"unknown simulator setting {key!r}")
            setattr(settings, key, value)
        check_settings(settings)
        self.settings = settings
        catalog = Catalog.builtin()
        if settings.instruments_file:
            catalog.extend_from_file(settings.instruments_file)
        self.clock = SimClock(settings.start or default_start(), settings.speed)
        self.exchange = Exchange(
            catalog,
            self._price_model(settings, catalog),
            self.clock,
            settings.accounts,
            seed=settings.seed,
            display_size=settings.display_size,
            master_client_id=settings.master_client_id,
            fa_groups=fa_groups_of(settings),
        )
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sessions: set[Session] = set()
        self._lock = threading.Lock()
        self._sessions_changed = threading.Condition(self._lock)
        self._received: list[tuple[int | None, m.Request]] = []
        self._listening = threading.Event()
        self.port = 0
        self.faults = FaultPlan(self, settings.seed, self.clock.now)
        self.faults.arm(*faults_of(settings), *daily_restart_of(settings))

    @staticmethod
    def _price_model(settings: SimSettings, catalog: Catalog) -> PriceModel:
        prices = PriceModel(settings.seed, catalog)
        for symbol, path in settings.bars.items():
            matches = [i for i in catalog if i.symbol == symbol or str(i.con_id) == symbol]
            if len(matches) != 1:
                raise SimInputError(
                    f"bars for {symbol!r}: {len(matches)} instruments match — name one "
                    "instrument of the catalog by its symbol or conId",
                    setting="bars",
                )
            prices.load_bars_csv(matches[0].con_id, path)
        return prices

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SimServer:
        self._listen(self.settings.port)
        if self.settings.speed > 0:
            self._spawn(self._tick_loop, "sim-ticker")
        log.info("simulator listening on %s:%d", self.settings.host, self.port)
        return self

    def _listen(self, port: int) -> None:
        family = socket.AF_INET6 if ":" in self.settings.host else socket.AF_INET  # ::1 = IPv6
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.host, port))
        sock.listen(16)
        sock.settimeout(0.2)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._spawn(lambda: self._accept_loop(sock), "sim-accept")
        self._listening.set()

    def _close_listener(self) -> None:
        self._listening.clear()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the acceptor at once
            self._sock.close()

    def stop(self) -> None:
        self._stop.set()
        self.faults.thaw()
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.close()
        self._close_listener()
        for thread in self._threads:
            thread.join(timeout=2)

    def restart(self, down: float) -> None:
        """TWS's restart: close every connection, refuse new ones for ``down`` seconds, then
        listen on the same port again. The exchange is untouched: orders, executions and ids
        are kept, as TWS keeps them across its daily restart. Returns once listening again."""
        log.info("simulator restarting: port %d refuses connections for %g s", self.port, down)
        self._close_listener()
        for session in self.sessions():
            session.close()
        self.wait_idle()
        if not self._stop.wait(down):
            self._listen(self.port)
            log.info("simulator listening again on %s:%d", self.settings.host, self.port)

    def wait_listening(self, timeout: float = 10.0) -> bool:
        """Wait until the port accepts connections (again, after a restart)."""
        return self._listening.wait(timeout)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def advance(self, seconds: float) -> None:
        """Move simulated time forward and process it (the way tests let a day pass)."""
        self.clock.advance(seconds)
        self.exchange.on_clock()
        self.faults.on_clock()

    def place_manual_order(self, contract: Contract, order: Order) -> int:
        """An order typed into the TWS window (no API client): returns its permId.

        It stays unbound (orderId 0, seen only by reqAllOpenOrders and the master client) until
        client 0 binds it with reqOpenOrders, or at once if client 0 asked reqAutoOpenOrders.
        """
        return self.exchange.place_manual(contract, order)

    def sessions(self) -> list[Session]:
        """The connections being served right now."""
        with self._lock:
            return list(self._sessions)

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept_loop(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            # TWS writes each burst of messages at once; without this, Nagle's algorithm holds
            # every small frame after the first until the client's delayed ACK (~40 ms each).
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            session = Session(self, conn, addr)
            with self._lock:
                self._sessions.add(session)
            threading.Thread(target=session.run, name=f"sim-session-{addr[1]}", daemon=True).start()

    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.exchange.on_clock()
                self.faults.on_clock()
            except Exception:  # a bug in matching must not kill the clock silently
                log.exception("simulator clock step failed")

    def record(self, client_id: int | None, request: m.Request) -> None:
        with self._lock:
            self._received.append((client_id, request))

    def received(self, client_id: int | None = None) -> list[m.Request]:
        """Every request decoded so far (of one client id, if given): what reached "TWS"."""
        with self._lock:
            return [r for c, r in self._received if client_id is None or c == client_id]

    def _forget(self, session: Session) -> None:
        with self._lock:
            self._sessions.discard(session)
            self._sessions_changed.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no connection is being served (each one's thread has finished with it)."""
        with self._sessions_changed:
            return self._sessions_changed.wait_for(lambda: not self._sessions, timeout)

    def wait_detached(self, client_id: int, timeout: float = 10.0) -> bool:
        """Wait until no session holds ``client_id`` (TWS frees an id when its socket closes).

        A client that reconnects with the same id right after disconnecting races the server
        noticing the close, as with real TWS; tests wait here instead of retrying on 326.
        """
        with self._sessions_changed:
            return self._sessions_changed.wait_for(
                lambda: all(s.client_id != client_id or not s.attached for s in self._sessions),
                timeout,
            )


class Session:
    """One client connection: handshake, startApi, then requests until it closes."""

    def __init__(self, server: SimServer, conn: socket.socket, addr: tuple) -> None:
        self.server = server
        self.conn = conn
        self.addr = addr
        self.version = 0
        self.client_id: int | None = None
        self.attached = False
        self._out: queue.Queue[list[bytes] | None] = queue.Queue()
        self._faults = FaultInjector(server.settings.faults)
        self._recent: deque[float] = deque()
        self._violations = 0
        self._closed = threading.Event()
        self._awaiting = "API prefix"  # what the handshake waits for (named when it times out)

    # ------------------------------------------------------------------ outgoing

    def encode(self, msg: m.Message) -> bytes:
        payload = encode_proto(self.version, msg)
        return payload if payload is not None else encode_text(self.version, msg)

    def deliver(self, batch: list[m.Message]) -> None:
        """Called by the exchange under its lock: encode and queue, never block on the socket.

        A batch is what TWS sends in one go (openOrder + orderStatus, fill + report, ...): it is
        queued whole, so it leaves in one write.
        """
        planned, cut = self.server.faults.outgoing(self, self._faults.apply(batch))
        payloads = [self.encode(msg) for msg in planned]
        # An empty payload: the negotiated version folds that message into another one.
        frames = [frame(payload) for payload in payloads if payload]
        if frames:
            self._out.put(frames)
        if cut:  # a fault ends the connection right after this batch
            self.close(flush=True)

    def _writer(self) -> None:
        stop = False
        while not stop:
            frames = self._out.get()
            if frames is None:
                break
            while True:  # whatever else is queued by now goes out in the same write
                try:
                    more = self._out.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                frames += more
            self.server.faults.wait_thawed()  # a frozen TWS writes nothing
            try:
                if self.server.settings.spare_ibapi_reader:
                    head, tail = _split_for_ibapi(frames)
                else:
                    head, tail = b"".join(frames), b""
                self.conn.sendall(head)
                if tail:
                    time.sleep(IBAPI_PAUSE)  # let the reader take ``head`` on its own
                    self.conn.sendall(tail)
            except OSError:
                break
        self.close()
        self._shutdown()

    def send_now(self, msg: m.Message) -> None:
        self._out.put([frame(self.encode(msg))])

    def close(self, flush: bool = False) -> None:
        """Stop the session; with ``flush``, what is queued (a 326, a last 100) goes out first.

        Without it the socket is shut at once, which is right when the peer is gone or the
        server stops, but would drop the refusal TWS sends right before it hangs up.
        """
        if self._closed.is_set():
            return
        self._closed.set()
        self._out.put(None)
        if not flush:
            self._shutdown()

    def _shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_RDWR)

    # ------------------------------------------------------------------ incoming

    def run(self) -> None:
        writer = threading.Thread(target=self._writer, name="sim-writer", daemon=True)
        timeout = self.server.settings.handshake_timeout
        try:
            reader = FrameReader(self.conn, deadline=time.monotonic() + timeout)
            if not self._handshake(reader):
                return
            writer.start()
            self._serve(reader)
        except TimeoutError:
            log.warning("closing %s: no %s within %g s of connecting", self.addr, self._awaiting,
                        timeout)  # fmt: skip
        except ProtocolError as exc:
            log.warning("closing %s: %s", self.addr, exc)
        except OSError as exc:
            log.debug("connection %s ended: %s", self.addr, exc)
        finally:
            if self.attached and self.client_id is not None:
                self.server.exchange.detach(self.client_id)
            self.close()
            if writer.is_alive():
                writer.join(timeout=2)
            self.conn.close()
            self.server._forget(self)

    def _handshake(self, reader: FrameReader) -> bool:
        prefix = reader.read_exact(len(API_PREFIX))
        if prefix is None:
            return False
        if prefix != API_PREFIX:
            raise ProtocolError(f"expected the API prefix, got {prefix!r}")
        self._awaiting = "version range"
        payload = reader.read_frame()
        if payload is None:
            return False
        low, high, _options = parse_version_range(payload.decode("ascii", errors="replace"))
        version = min(high, self.server.settings.server_version)
        if version < max(low, MIN_SERVER_VERSION):
            raise ProtocolError(
                f"client range v{low}..{high} has nothing in common with "
                f"v{MIN_SERVER_VERSION}..{self.server.settings.server_version}"
            )
        self.version = version
        now = self.server.clock.now()
        stamp = now.strftime("%Y%m%d %H:%M:%S") + " " + _zone_name(now)
        self.server.faults.wait_thawed()
        self.conn.sendall(frame(f"{version}\0{stamp}\0".encode()))
        self._awaiting = "startApi"
        return True

    def _decode(self, payload: bytes) -> m.Request:
        msg_id, is_proto, body = split_payload(self.version, payload)
        if is_proto:
            return decode_proto_request(msg_id, body)
        return decode_text_request(self.version, msg_id, body, strict=False)

    def _serve(self, reader: FrameReader) -> None:
        exchange = self.server.exchange
        while not self._closed.is_set():
            payload = reader.read_frame()
            if payload is None:
                return
            self.server.faults.wait_thawed()  # a frozen TWS handles nothing
            request = self._decode(payload)
            self.server.record(self.client_id, request)
            if self.client_id is None:
                if not isinstance(request, m.StartApi):
                    raise ProtocolError(f"first request must be startApi, got {request}")
                reader.deadline = None  # from here on a client may stay quiet as long as it likes
                self.conn.settimeout(None)
                if not self._start(request):
                    return
                self.server.faults.after(request)
                continue
            if not self._pace():
                continue
            if self._closed.is_set():
                return
            verdict = self.server.faults.before(self, request)
            if verdict in (Verdict.DROP, Verdict.LOSE):
                self.close()
            if verdict in (Verdict.ANSWERED, Verdict.LOSE):
                continue
            try:
                exchange.handle(self.client_id, request)
            except Exception:  # a simulator bug: say so, keep the session (TWS would)
                log.exception("client %s: handling %s failed", self.client_id, request)
                self.send_now(
                    m.ErrorMsg(getattr(request, "req_id", -1), 321,
                               "Error validating request.-'bS' : cause - simulator fault")
                )  # fmt: skip
            self.server.faults.after(request)

    def _start(self, request: m.StartApi) -> bool:
        exchange = self.server.exchange
        self.client_id = request.client_id
        if not self.server.faults.connect():
            log.info("fault plan: refusing client id %d with 326", request.client_id)
            text = rules.text(rules.CLIENT_ID_IN_USE)
            self.send_now(m.ErrorMsg(-1, rules.CLIENT_ID_IN_USE, text, "", exchange.millis()))
            self.close(flush=True)
            return False
        if not exchange.attach(request.client_id, self.deliver):
            log.info("client id %d already in use: refusing %s", request.client_id, self.addr)
            text = rules.text(rules.CLIENT_ID_IN_USE)
            self.send_now(m.ErrorMsg(-1, rules.CLIENT_ID_IN_USE, text, "", exchange.millis()))
            self.close(flush=True)
            return False
        self.attached = True
        exchange.welcome(request.client_id)
        return True

    def _pace(self) -> bool:
        """TWS's 50-messages-per-second rule: refuse the excess with error 100."""
        if not self.server.settings.pacing:
            return True
        limit = self.server.settings.max_messages_per_second
        now = self.server.settings.pacing_clock()
        recent = self._recent
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        recent.append(now)
        if len(recent) <= limit:
            return True
        self._violations += 1
        count = self._violations  # real TWS: "id=3 ... rec=106 (3)": the reqId is the count
        text = rules.text(rules.PACING, max=limit, rec=len(recent), count=count)
        self.send_now(m.ErrorMsg(count, rules.PACING, text, "", self.server.exchange.millis()))
        cap = self.server.settings.disconnect_after_violations
        if cap and self._violations >= cap:
            log.info("client %s disconnected after %d pacing violations", self.addr, cap)
            self.close(flush=True)
        return False


IBAPI_READ = 4096  # ibapi's Connection reads the socket in chunks of this size
IBAPI_PAUSE = 0.005


def _split_for_ibapi(frames: list[bytes]) -> tuple[bytes, bytes]:
    """One write for ``frames``, or two when its length is a multiple of 4096.

    ibapi 10.46 (``Connection._recvAllMsg``) reads 4096-byte chunks until a short one. When the
    data on hand ends exactly at a chunk boundary, its next recv waits for the 1 s socket
    timeout, and the timeout discards the chunks already read: the client silently loses
    them and mis-frames the rest of the stream. Real TWS can hit that too (the cure is on the
    client side); the simulator at least never hands an idle reader such a write: the last
    frame follows a moment later, so each part ends in a short read.
    """
    data = b"".join(frames)
    if len(data) % IBAPI_READ or len(frames) == 1:
        return data, b""
    cut = len(data) - len(frames[-1])
    return data[:cut], data[cut:]


def _zone_name(moment: datetime) -> str:
    key: str = getattr(moment.tzinfo, "key", "")
    return {"America/New_York": "US/Eastern"}.get(key, moment.tzname() or "UTC")
