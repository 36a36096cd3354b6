"""TwsApp: the one object that is both ibapi's EClient and its EWrapper.

Callbacks run on ibapi's api thread. They only translate and hand over (to the order book, the
id allocator, the request tracker, the event listeners): they never block and never sleep, so a
slow consumer can never stall the socket.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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
from .contracts import ContractService
from .ids import OrderIdAllocator
from .requests import RequestTracker
from .trading import TradingMixin

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


class TwsApp(TradingMixin, EWrapper, EClient):
    """A connection to TWS / IB Gateway, feeding one OrderBook."""

    def __init__(self, book: OrderBook | None = None, request_timeout: float = 10.0) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.book = book or OrderBook()
        self.ids = OrderIdAllocator()
        self.requests = RequestTracker()
        self.contracts = ContractService(self)
        self.request_timeout = request_timeout
        self.accounts: list[str] = []
        self.host = "127.0.0.1"
        self.port = 0
        self.client_id = 0
        self._ready = threading.Event()
        self._accounts_seen = threading.Event()
        self._id_seen = threading.Event()
        self._connect_error: ConnectError | None = None
        self._api_thread: threading.Thread | None = None
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []

    # ------------------------------------------------------------------ connection

    def start(self, host: str, port: int, client_id: int, timeout: float = 10.0) -> TwsApp:
        """Connect, start the reader and api threads, and wait until TWS says we are ready."""
        self.host, self.port, self.client_id = host, port, client_id
        self.book.client_id = client_id
        where = f"{host}:{port}"
        handshake = threading.Thread(
            target=self.connect, args=(host, port, client_id), name="tws-handshake", daemon=True
        )
        handshake.start()
        handshake.join(timeout)
        if handshake.is_alive():
            self._abort_connect()
            handshake.join(2)
            raise ConnectError(f"no API handshake from {where} within {timeout:g}s: {CONNECT_HINT}")
        if not self.isConnected():
            raise ConnectError(f"connection to {where} refused: {CONNECT_HINT}")
        self._api_thread = threading.Thread(target=self.run, name="tws-api", daemon=True)
        self._api_thread.start()
        if not self._ready.wait(timeout):
            failure = self._connect_error
            self.stop()
            if failure is not None:
                raise failure
            raise ConnectError(
                f"{where} accepted the connection but sent no nextValidId/managedAccounts "
                f"within {timeout:g}s: {CONNECT_HINT}"
            )
        if self._connect_error is not None:
            self.stop()
            raise self._connect_error
        log.info("connected to %s as client %d, accounts %s", where, client_id, self.accounts)
        return self

    def _abort_connect(self) -> None:
        conn = self.conn
        if conn is not None:
            conn.disconnect()

    def stop(self) -> None:
        if self.isConnected() or self.conn is not None:
            self.disconnect()
        thread = self._api_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=3)

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.isConnected()

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
        self.ids.seed(orderId)
        self._id_seen.set()
        self._check_ready()

    def managedAccounts(self, accountsList: str) -> None:
        self.accounts = [a for a in accountsList.split(",") if a]
        self.book.accounts = list(self.accounts)
        self._accounts_seen.set()
        self._check_ready()

    def connectionClosed(self) -> None:
        log.warning("connection to %s:%d closed", self.host, self.port)
        self.requests.fail_all(errors.NOT_CONNECTED, "connection closed")
        self._notify("disconnected")

    def error(self, reqId: int, *args: Any) -> None:
        """Both shapes: (reqId, errorTime, code, text[, json]) and (reqId, code, text[, json])."""
        if len(args) >= 3 and isinstance(args[2], str):
            _time, code, text, *rest = args
        else:
            code, text, *rest = args
        advanced = rest[0] if rest else ""
        kind = errors.classify(code)
        if code == errors.CLIENT_ID_IN_USE:
            self._connect_error = ClientIdInUse(
                f"client id {self.client_id} is already in use at {self.host}:{self.port}: "
                f"choose another tws.client_id (each connection needs its own)"
            )
            self._ready.set()
        if code == errors.DUPLICATE_ORDER_ID:
            self.reqIds(-1)
        if kind == errors.ErrorKind.INFORMATION:
            log.info("TWS %d: %s", code, text)
        elif kind == errors.ErrorKind.CONNECTIVITY:
            log.warning("TWS %d: %s", code, text)
            self._notify("connectivity", code=code, text=text)
        if self.requests.fail(reqId, code, text):
            return
        self.book.on_error(reqId, code, text, advanced)

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
