"""TwsApp: the one object that is both ibapi's EClient and its EWrapper.

Callbacks run on ibapi's api thread. They only translate and hand over (to the order book, the
id allocator, the request tracker, the event listeners): they never block and never sleep, so a
slow consumer can never stall the socket.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Any

from ibapi.client import EClient
from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.contract import Contract, ContractDetails
from ibapi.execution import Execution
from ibapi.order import Order
from ibapi.order_state import OrderState
from ibapi.wrapper import EWrapper

from . import errors
from .book import OrderBook
from .config import LIVE_PORTS, is_loopback_host
from .connection import make_resilient
from .contracts import ContractService
from .ids import OrderIdAllocator
from .requests import RequestTracker
from .trading import SendLock, TradingMixin

log = logging.getLogger("twsapp.client")

CONNECT_HINT = (
    "check that TWS or IB Gateway is running, that 'Enable ActiveX and Socket Clients' is on "
    "(Global Configuration > API > Settings), that the socket port matches, and that "
    "127.0.0.1 is a trusted IP"
)


class ConnectError(ConnectionError):
    """The app could not get a ready API session."""


class ClientIdInUse(ConnectError):
    pass


LIVE_HOW_TO = "set live = true in [tws] of the config (TwsApp.start(..., live=True))"


def is_paper_account(account: str) -> bool:
    """IB's paper (demo) account ids start with "D": DU (individual), DF (advisor), DI (broker).

    Live ones start with U, F, I ... The account TWS reports is the ground truth of what is
    traded, whatever the port: a live login can listen on the "paper" port too.
    """
    return account.startswith("D")


class _Inbox(queue.Queue):
    """ibapi's message queue, closable: stop() drops what is queued and wakes EClient.run.

    Without it, the api thread may still be decoding queued messages when disconnect() resets
    the client (serverVersion None: a TypeError in the decoder), and it polls every 0.2 s.
    """

    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def close(self) -> None:
        with self.not_empty:
            self.closed = True
            self.queue.clear()
            self.not_empty.notify_all()

    def _put(self, item: Any) -> None:
        if not self.closed:
            super()._put(item)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.not_empty:
            while not self._qsize():
                left = None if deadline is None else deadline - time.monotonic()
                if not block or self.closed or (left is not None and left <= 0):
                    raise queue.Empty
                self.not_empty.wait(left)
            item = self._get()
            self.not_full.notify()
            return item


class TwsApp(TradingMixin, EWrapper, EClient):
    """A connection to TWS / IB Gateway, feeding one OrderBook.

    One connection per object: ``start()`` can succeed once; to connect again (after ``stop()``
    or a lost connection) create a new TwsApp (its threads, queues and ready state are
    single-use). ``default_account`` (tws.account) goes into orders that name no account nor FA
    group; it must be a managed account (or a known FA group), checked at connect.
    ``fa_groups``: the FA group names orders may use; None when they are not known here (a real
    TWS: the config has no list of them), then any faGroup passes and TWS decides.
    """

    def __init__(
        self,
        book: OrderBook | None = None,
        request_timeout: float = 10.0,
        *,
        default_account: str = "",
        fa_groups: Collection[str] | None = None,
    ) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.msg_queue = _Inbox()
        self.book = book or OrderBook()
        self.ids = OrderIdAllocator()
        self.requests = RequestTracker()
        self.contracts = ContractService(self)
        self.request_timeout = request_timeout
        self.default_account = default_account
        self.fa_groups: frozenset[str] | None = None if fa_groups is None else frozenset(fa_groups)
        self.accounts: list[str] = []
        self.host = "127.0.0.1"
        self.port = 0
        self.client_id = 0
        self._ready = threading.Event()
        self._accounts_seen = threading.Event()
        self._id_seen = threading.Event()
        self._connect_error: ConnectError | None = None
        self._api_thread: threading.Thread | None = None
        self._handshake: threading.Thread | None = None
        self._reader_thread: threading.Thread | None = None
        self._used = False  # start() got past its checks: this object cannot connect again
        self._started = False  # start() succeeded
        self._send_lock = SendLock()
        self._stopping = False
        self._resync_pending = False
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []

    def setConnState(self, connState: int) -> None:  # noqa: N802, N803 (ibapi's names)
        """ibapi calls this right after opening its socket: the moment to fix its reader."""
        make_resilient(self.conn)
        super().setConnState(connState)

    # ------------------------------------------------------------------ connection

    def start(
        self, host: str, port: int, client_id: int, timeout: float = 10.0, live: bool = False
    ) -> TwsApp:
        """Connect, start the reader and api threads, and wait until TWS says we are ready.

        Ready means both nextValidId and managedAccounts arrived. Refused before any socket is
        opened: a host that is not this machine (loopback), and the live ports 7496 / 4001
        unless ``live``. Refused after connecting (then disconnected, nothing sent but the
        handshake): a live (non-"D") managed account unless ``live``, and a ``default_account``
        TWS does not manage. Raises ConnectError (also: refused, no handshake, not ready in
        time) or ClientIdInUse, within `timeout` seconds, with no thread of this app left
        running. A second call raises RuntimeError: create a new TwsApp to connect again.
        """
        if self._used:
            raise RuntimeError(
                "this TwsApp has been started before; it connects once (its threads, queues and "
                "ready state are single-use): create a new TwsApp to connect again"
            )
        self._check_target(host, port, live)
        self._used = True
        self.host, self.port, self.client_id = host, port, client_id
        self.book.client_id = client_id
        deadline = time.monotonic() + timeout
        where = f"{host}:{port}"
        handshake = self._handshake = threading.Thread(
            target=self.connect, args=(host, port, client_id), name="tws-handshake", daemon=True
        )
        handshake.start()
        handshake.join(timeout)
        if handshake.is_alive():
            self._stopping = True
            self._abort_connect()
            handshake.join(5)
            raise ConnectError(
                f"{where} accepted the connection but did not answer the API handshake within "
                f"{timeout:g}s (is it TWS / IB Gateway, and is the API ready?): {CONNECT_HINT}"
            )
        if self.connState != EClient.CONNECTED:  # ibapi reset itself: no socket, no handshake
            raise ConnectError(f"could not connect to TWS at {where} (refused): {CONNECT_HINT}")
        self._reader_thread = self.reader
        # Even when TWS has closed the socket already (326 is sent, then the socket closed), its
        # last messages are queued: the api thread decodes them, then reports the close.
        self._api_thread = threading.Thread(target=self.run, name="tws-api", daemon=True)
        self._api_thread.start()
        ready = self._ready.wait(max(0.0, deadline - time.monotonic()))
        failure = self._connect_error
        if failure is None and ready:
            failure = self._check_session(live)
        if failure is not None or not ready:
            self.stop()
            if failure is not None:
                raise failure
            missing = [
                name
                for name, seen in (
                    ("nextValidId", self._id_seen),
                    ("managedAccounts", self._accounts_seen),
                )
                if not seen.is_set()
            ]
            raise ConnectError(
                f"{where} accepted the connection but sent no {' / '.join(missing)} within "
                f"{timeout:g}s: {CONNECT_HINT}"
            )
        self._started = True
        log.info("connected to %s as client %d, accounts %s", where, client_id, self.accounts)
        return self

    @staticmethod
    def _check_target(host: str, port: int, live: bool) -> None:
        """The checks that need no connection: nothing is opened when one fails."""
        where = f"{host}:{port}"
        if not is_loopback_host(host):
            raise ConnectError(
                f"refusing to connect to {where}: {host!r} is not a loopback address, and twsapp "
                "only talks to TWS / IB Gateway on this machine (127.0.0.1, ::1, localhost). Run "
                "twsapp where TWS runs, or forward TWS's port to 127.0.0.1 (e.g. an SSH tunnel); "
                "nothing was opened"
            )
        if port in LIVE_PORTS and not live:
            kind = "TWS" if port == 7496 else "IB Gateway"
            raise ConnectError(
                f"refusing to connect to {where}: {port} is the live {kind} port and live trading "
                f"is not allowed. Use the paper port (7497 TWS, 4002 IB Gateway), or, to trade "
                f"live on purpose, {LIVE_HOW_TO}; nothing was opened"
            )

    def _check_session(self, live: bool) -> ConnectError | None:
        """What managedAccounts tells: a live account, or a default account TWS does not know."""
        where = f"{self.host}:{self.port}"
        real = [a for a in self.accounts if not is_paper_account(a)]
        if real and not live:
            return ConnectError(
                f"{where} is logged in to the live account {', '.join(real)} (paper accounts "
                "start with 'D', e.g. DU1234567) and live trading is not allowed: disconnected, "
                "nothing was sent. Log in to TWS / IB Gateway with the paper trading user, or, to "
                f"trade live on purpose, {LIVE_HOW_TO}"
            )
        default = self.default_account
        groups = self.fa_groups or frozenset()
        if default and default not in self.accounts and default not in groups:
            known = ", ".join(self.accounts) or "none"
            if groups:
                known += "; FA groups: " + ", ".join(sorted(groups))
            return ConnectError(
                f"the default account {default!r} (tws.account) is not one of the accounts "
                f"{where} manages ({known}): disconnected, nothing was sent. Set tws.account to "
                "one of those, or leave it empty"
            )
        return None

    def _abort_connect(self) -> None:
        conn = self.conn
        if conn is not None:
            self._shutdown_socket()
            conn.disconnect()

    def _shutdown_socket(self) -> None:
        """Wake a thread blocked in recv at once (closing alone leaves it to its 1 s timeout)."""
        sock = getattr(self.conn, "socket", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        """Disconnect and wait for the threads; orders already sent stay at TWS.

        Messages not yet handled are dropped. The api thread ends its loop and disconnects
        (connectionClosed, ibapi's reset) itself, so nothing resets the client under it.
        """
        self._stopping = True
        conn = self.conn
        if conn is not None:
            self._shutdown_socket()
            conn.disconnect()  # the reader ends; isConnected() is False from here on
        self.msg_queue.close()
        api = self._api_thread
        if api is not None and api.is_alive():
            if api is threading.current_thread():
                return  # called from a callback: run() disconnects when it returns
            api.join(timeout=5)
        if self.conn is not None:
            self.disconnect()  # no api thread: connectionClosed and reset happen here
        for thread in self.threads():
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def threads(self) -> list[threading.Thread]:
        """The threads this app started that are still running (none after stop())."""
        mine = (self._handshake, self._reader_thread, self._api_thread)
        return [t for t in mine if isinstance(t, threading.Thread) and t.is_alive()]

    def current_time(self, timeout: float | None = None) -> int:
        """TWS's clock (reqCurrentTime), in epoch seconds.

        Also a barrier: TWS answers requests in order, so once the answer is here every request
        sent before it has been processed.
        """
        pending = self.requests.open("currentTime", "reqCurrentTime")
        self.reqCurrentTime()
        return pending.wait(timeout or self.request_timeout)[0]

    @property
    def ready(self) -> bool:
        return self._started and not self._stopping and self.isConnected()

    def _check_ready(self) -> None:
        if self._id_seen.is_set() and self._accounts_seen.is_set():
            self._ready.set()

    def add_listener(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Listeners get (kind, fields) for account/position/connection news; never block."""
        self._listeners.append(listener)

    def _notify(self, kind: str, **fields: Any) -> None:
        for listener in self._listeners:
            try:
                listener(kind, fields)
            except Exception:
                log.exception("listener failed on %s", kind)

    # ------------------------------------------------------------------ session callbacks

    def nextValidId(self, orderId: int) -> None:
        if self._resync_pending:
            self._resync_pending = False
            self.ids.resync(orderId)
            log.info("order ids resynchronized: next id %d", orderId)
        else:
            self.ids.seed(orderId)
        self._id_seen.set()
        self._check_ready()

    def managedAccounts(self, accountsList: str) -> None:
        self.accounts = [a for a in accountsList.split(",") if a]
        self.book.accounts = list(self.accounts)
        self._accounts_seen.set()
        self._check_ready()

    def connectionClosed(self) -> None:
        self.ids.invalidate("not connected to TWS")
        if not self._started:  # closed during start(): wake it; start() raises the reason
            self._connect_error = self._connect_error or ConnectError(
                f"{self.host}:{self.port} closed the connection before the session was ready. "
                f"TWS does this when client id {self.client_id} is already in use (try "
                f"another), or when it refuses API clients: {CONNECT_HINT}"
            )
            self._ready.set()
            log.debug("connection to %s:%d closed during start", self.host, self.port)
        elif self._stopping:
            log.info("disconnected from %s:%d", self.host, self.port)
        else:
            log.warning("connection to %s:%d closed", self.host, self.port)
        self.requests.fail_all(errors.NOT_CONNECTED, "connection closed")
        self._notify("disconnected")

    def error(self, reqId: int, *args: Any) -> None:
        """Both shapes: (reqId, errorTime, code, text[, json]) and (reqId, code, text[, json])."""
        if len(args) >= 3 and isinstance(args[1], int) and isinstance(args[2], str):
            error_time, code, text, *rest = args  # ibapi >= 10.33 passes TWS's timestamp
        else:
            error_time, (code, text, *rest) = 0, args
        advanced = rest[0] if rest else ""
        error_time = int(error_time or 0)
        kind = errors.classify(code)
        if code == errors.CLIENT_ID_IN_USE:
            self._client_id_in_use()
        elif code == errors.DUPLICATE_ORDER_ID:
            self._duplicate_id(reqId)
        if kind == errors.ErrorKind.INFORMATION:
            log.info("TWS %d: %s", code, text)
        elif not self._started and kind == errors.ErrorKind.CONNECTIVITY:
            log.debug("TWS %d: %s", code, text)  # start() raises the explained error
        elif kind == errors.ErrorKind.CONNECTIVITY:
            log.warning("TWS %d: %s", code, text)
            self._notify("connectivity", code=code, text=text)
        if errors.is_failure(code) and self.requests.fail(reqId, code, text):
            return
        self.book.on_error(reqId, code, text, advanced, error_time)

    def _client_id_in_use(self) -> None:
        suggestion = self.client_id + 1
        self._connect_error = ClientIdInUse(
            f"client id {self.client_id} is already in use at {self.host}:{self.port} (TWS error "
            f"326): another application or session is connected with it. Connect with another "
            f"client id (e.g. {suggestion}: tws.client_id in the config), or close the other one"
        )
        self._ready.set()

    def _duplicate_id(self, order_id: int) -> None:
        """Error 103: TWS has seen this id. Stop handing out ids until reqIds answers."""
        self.ids.observe(order_id)
        self.ids.invalidate(f"order id {order_id} was a duplicate (103): waiting for reqIds")
        self._resync_pending = True
        log.warning("TWS says order id %d was already used: requesting new ids", order_id)
        if self.isConnected():
            self.reqIds(-1)

    def currentTime(self, time: int) -> None:
        self.requests.add("currentTime", time)
        self.requests.finish("currentTime")

    # ------------------------------------------------------------------ orders

    def openOrder(
        self, orderId: int, contract: Contract, order: Order, orderState: OrderState
    ) -> None:
        self.ids.observe(orderId)
        self.book.on_open_order(orderId, contract, order, orderState)

    def orderStatus(
        self,
        orderId: int,
        status: str,
        filled: Decimal,
        remaining: Decimal,
        avgFillPrice: float,
        permId: int,
        parentId: int,
        lastFillPrice: float,
        clientId: int,
        whyHeld: str,
        mktCapPrice: float,
    ) -> None:
        self.ids.observe(orderId)
        self.book.on_order_status(
            orderId, status, filled, remaining, avgFillPrice, permId, parentId,
            lastFillPrice, clientId, whyHeld, mktCapPrice,
        )  # fmt: skip

    def openOrderEnd(self) -> None:
        self.requests.finish("openOrders")

    def execDetails(self, reqId: int, contract: Contract, execution: Execution) -> None:
        self.ids.observe(execution.orderId)
        self.book.on_exec_details(reqId, contract, execution)

    def execDetailsEnd(self, reqId: int) -> None:
        self.requests.finish(reqId)

    def commissionAndFeesReport(self, commissionAndFeesReport: CommissionAndFeesReport) -> None:
        self.book.on_commission(commissionAndFeesReport)

    def commissionReport(self, commissionReport: CommissionAndFeesReport) -> None:
        """Older ibapi releases name the callback this way."""
        self.book.on_commission(commissionReport)

    def completedOrder(self, contract: Contract, order: Order, orderState: OrderState) -> None:
        if order.clientId == self.client_id:  # text completedOrder carries no ids: 0
            self.ids.observe(order.orderId)
        self.book.on_completed_order(contract, order, orderState)

    def completedOrdersEnd(self) -> None:
        self.requests.finish("completedOrders")

    # ------------------------------------------------------------------ contracts

    def contractDetails(self, reqId: int, contractDetails: ContractDetails) -> None:
        self.requests.add(reqId, contractDetails)

    def contractDetailsEnd(self, reqId: int) -> None:
        self.requests.finish(reqId)

    def marketRule(self, marketRuleId: int, priceIncrements: list) -> None:
        key = ("marketRule", marketRuleId)
        self.requests.add(key, [(p.lowEdge, p.increment) for p in priceIncrements])
        self.requests.finish(key)

    # ------------------------------------------------------------------ accounts and positions

    def position(self, account: str, contract: Contract, position: Decimal, avgCost: float) -> None:
        self.book.on_position(account, contract, position, avgCost)

    def positionEnd(self) -> None:
        self.requests.finish("positions")

    def accountSummary(self, reqId: int, account: str, tag: str, value: str, currency: str) -> None:
        self.book.on_account_value(account, tag, value, currency)

    def accountSummaryEnd(self, reqId: int) -> None:
        self.requests.finish(reqId)

    def updateAccountValue(self, key: str, val: str, currency: str, accountName: str) -> None:
        self.book.on_account_value(accountName, key, val, currency)
