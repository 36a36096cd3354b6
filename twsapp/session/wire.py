"""The one class that is both ibapi's EClient and its EWrapper, as IB's own lesson writes it.

Private to the session: it only translates. Each callback hands its arguments, cleaned of
ibapi's calling conventions, to the router (router.py), which finds the owner. Callbacks run on
ibapi's api thread; none blocks or sleeps, so a slow consumer can never stall the socket.
Sending goes through the same object (it is the EClient), but only the session sends: users
reach it through ``TwsApp.ibapi``, which says it bypasses the book.
"""

from __future__ import annotations

import queue
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ibapi.client import EClient
from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.contract import Contract, ContractDetails
from ibapi.execution import Execution
from ibapi.order import Order
from ibapi.order_state import OrderState
from ibapi.wrapper import EWrapper

from .connection import make_resilient

if TYPE_CHECKING:
    from .router import Router


class Inbox(queue.Queue):
    """ibapi's message queue, closable: closing drops what is queued and wakes EClient.run.

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


class Wire(EWrapper, EClient):
    """ibapi's client and wrapper in one; every callback goes to the router."""

    def __init__(self, router: Router) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.msg_queue = Inbox()
        self._router = router

    def setConnState(self, connState: int) -> None:
        """ibapi calls this right after opening its socket: the moment to fix its reader."""
        make_resilient(self.conn)
        super().setConnState(connState)

    # ------------------------------------------------------------------ session

    def nextValidId(self, orderId: int) -> None:
        self._router.next_valid_id(orderId)

    def managedAccounts(self, accountsList: str) -> None:
        self._router.managed_accounts([a for a in accountsList.split(",") if a])

    def connectionClosed(self) -> None:
        self._router.connection_closed()

    def error(self, reqId: int, *args: Any) -> None:
        """Both shapes: (reqId, errorTime, code, text[, json]) and (reqId, code, text[, json])."""
        if len(args) >= 3 and isinstance(args[1], int) and isinstance(args[2], str):
            error_time, code, text, *rest = args  # ibapi >= 10.33 passes TWS's timestamp
        else:
            error_time, (code, text, *rest) = 0, args
        self._router.error(reqId, code, text, rest[0] if rest else "", int(error_time or 0))

    def currentTime(self, time: int) -> None:
        self._router.answer("currentTime", time)

    # ------------------------------------------------------------------ orders

    def openOrder(
        self,
        orderId: int,
        contract: Contract,
        order: Order,
        orderState: OrderState,
    ) -> None:
        self._router.open_order(orderId, contract, order, orderState)

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
        self._router.order_status(
            orderId, status, filled, remaining, avgFillPrice, permId, parentId,
            lastFillPrice, clientId, whyHeld, mktCapPrice,
        )  # fmt: skip

    def openOrderEnd(self) -> None:
        self._router.finish("openOrders")

    def completedOrder(
        self,
        contract: Contract,
        order: Order,
        orderState: OrderState,
    ) -> None:
        self._router.completed_order(contract, order, orderState)

    def completedOrdersEnd(self) -> None:
        self._router.finish("completedOrders")

    def execDetails(self, reqId: int, contract: Contract, execution: Execution) -> None:
        self._router.exec_details(reqId, contract, execution)

    def execDetailsEnd(self, reqId: int) -> None:
        self._router.finish(reqId)

    def commissionAndFeesReport(self, commissionAndFeesReport: CommissionAndFeesReport) -> None:
        self._router.commission(commissionAndFeesReport)

    def commissionReport(self, commissionReport: CommissionAndFeesReport) -> None:
        """Older ibapi releases name the callback this way."""
        self._router.commission(commissionReport)

    # ------------------------------------------------------------------ contracts

    def contractDetails(self, reqId: int, contractDetails: ContractDetails) -> None:
        self._router.answer(reqId, contractDetails)

    def contractDetailsEnd(self, reqId: int) -> None:
        self._router.finish(reqId)

    def marketRule(self, marketRuleId: int, priceIncrements: list) -> None:
        key = ("marketRule", marketRuleId)
        self._router.answer(key, [(p.lowEdge, p.increment) for p in priceIncrements])
        self._router.finish(key)

    # ------------------------------------------------------------------ accounts and positions

    def position(self, account: str, contract: Contract, position: Decimal, avgCost: float) -> None:
        self._router.position(account, contract, position, avgCost)

    def positionEnd(self) -> None:
        self._router.finish("positions")

    def accountSummary(
        self,
        reqId: int,
        account: str,
        tag: str,
        value: str,
        currency: str,
    ) -> None:
        self._router.account_value(account, tag, value, currency, reqId)

    def accountSummaryEnd(self, reqId: int) -> None:
        self._router.finish(reqId)

    def updateAccountValue(self, key: str, val: str, currency: str, accountName: str) -> None:
        self._router.account_value(accountName, key, val, currency)
