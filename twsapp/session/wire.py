"""The one class that is both ibapi's EClient and its EWrapper, as IB's own lesson writes it.

Private to the session: it only translates. Each callback hands its arguments, cleaned of
ibapi's calling conventions, to the router (router.py), which finds the owner. Callbacks run on
the reader or the api thread, one at a time in wire order (inbox.py); none blocks or sleeps,
and a slow consumer cannot stall the socket: the other thread reads meanwhile.
Sending goes through the same object (it is the EClient), but only the session sends: users
reach it through ``TwsApp.ibapi``, which says it bypasses the book.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ibapi import comm
from ibapi.client import EClient
from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.common import PROTOBUF_MSG_ID
from ibapi.const import MAX_MSG_LEN, NO_VALID_ID
from ibapi.contract import Contract, ContractDetails
from ibapi.errors import BAD_LENGTH, BAD_MESSAGE
from ibapi.execution import Execution
from ibapi.message import IN
from ibapi.order import Order
from ibapi.order_state import OrderState
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF
from ibapi.utils import BadMessage, currentTimeMillis
from ibapi.wrapper import EWrapper

from .connection import ResilientConnection, make_resilient
from .fields import fast_fields_in_place, use_fast_fields
from .inbox import Inbox
from .open_order_reader import reader_for
from .pacing import Pacer

if TYPE_CHECKING:
    from .router import Router

log = logging.getLogger("twsapp.session")


class Wire(EWrapper, EClient):
    """ibapi's client and wrapper in one; every callback goes to the router."""

    def __init__(self, router: Router) -> None:
        self.pacer = Pacer(None)  # the app sets its own before connecting
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.msg_queue = Inbox()
        self._router = router
        use_fast_fields()
        # The busiest callbacks go straight to the router, a call less per message; the methods
        # below say what they carry, but ibapi's decoder finds these first (so a subclass's or
        # a patch's version of those four methods would not be called).
        self.__dict__.update(
            openOrder=router.open_order,
            orderStatus=router.order_status,
            execDetails=router.exec_details,
            commissionAndFeesReport=router.commission,
        )

    def connect(self, host: str, port: int, clientId: int) -> None:
        use_fast_fields()  # or ibapi's own again, should its DEBUG log be wanted now
        super().connect(host, port, clientId)

    def isConnected(self) -> bool:
        """ibapi's check, without the DEBUG line it formats on every call whether logged or
        not: ibapi's run loop asks once per message, and an order send a few times."""
        conn = self.conn
        return self.connState == EClient.CONNECTED and conn is not None and conn.isConnected()

    def setConnState(self, connState: int) -> None:
        """ibapi calls this right after opening its socket, the moment to fix its reader, and
        again once the handshake is done, just before it starts its reader thread: from then on
        that thread serves the inbox with the api thread (inbox.py)."""
        conn = self.conn
        make_resilient(conn, self.pacer)
        if connState == EClient.CONNECTED and isinstance(conn, ResilientConnection):
            inbox = self.msg_queue
            conn.serving = lambda: self._serve(inbox, conn, "tws-reader")
            if (version := self.serverVersion()) is not None:
                reader_for(version)  # made and checked now, not when the first order is read
        super().setConnState(connState)

    def run(self) -> None:
        """ibapi's message loop, replaced: the api thread and the reader thread take turns at
        reading and handling (inbox.py). Returns once the socket has closed and all it brought
        is handled, or the session closed the inbox; then reports the close, as ibapi's does."""
        try:
            conn = self.conn
            if isinstance(conn, ResilientConnection):
                self._serve(self.msg_queue, conn, None)
        finally:
            self.disconnect()

    def _serve(self, inbox: Inbox, conn: ResilientConnection, name: str | None) -> None:
        if name is not None:
            threading.current_thread().name = name
        inbox.serve(conn.read, self._handle, opens=name is None)

    def _handle(self, text: bytes) -> None:
        """One frame, decoded and dispatched as ibapi's loop does it."""
        if len(text) > MAX_MSG_LEN:
            self.error(NO_VALID_ID, currentTimeMillis(), BAD_LENGTH.code(),
                       f"{BAD_LENGTH.msg()}:{len(text)}:{text!r}")  # fmt: skip
            self.msg_queue.close()  # ibapi's loop stops here too, and the connection with it
            if self.conn is not None:
                self.conn.disconnect()
            return
        if self.serverVersion() >= MIN_SERVER_VER_PROTOBUF:
            msg_id = int.from_bytes(text[:4], "big")
            text = text[4:]
        else:
            cut = text.index(b"\0")
            msg_id = int(text[:cut])
            text = text[cut + 1 :]
        try:
            if msg_id > PROTOBUF_MSG_ID:
                self.decoder.processProtoBuf(text, msg_id - PROTOBUF_MSG_ID)
            elif msg_id != IN.OPEN_ORDER or not self._open_order(text):
                self.decoder.interpret(comm.read_fields(text), msg_id)
        except BadMessage:
            log.info("a message TWS sent could not be decoded (ibapi's BadMessage): skipped")
        except TypeError as exc:
            # ibapi (10.46) reports a text BadMessage by joining the message's bytes into a str,
            # which raises: the report it meant to make is made here, and the message skipped.
            if not isinstance(exc.__context__, BadMessage):
                raise
            shown = text.replace(b"\0", b",").decode(errors="backslashreplace")
            self.error(NO_VALID_ID, currentTimeMillis(), BAD_MESSAGE.code(),
                       BAD_MESSAGE.msg() + shown)  # fmt: skip

    def _open_order(self, text: bytes) -> bool:
        """A text openOrder read in one pass (open_order_reader.py); False where ibapi's
        decoder is to read it: while ibapi's own field functions are in use (its DEBUG log),
        for text beyond ASCII (read field by field, ibapi's numbers are ASCII only), and for
        whatever the reader leaves to it. Only the reading is caught: what the callback raises
        goes on up, and the message is not read a second time."""
        read = reader_for(self.serverVersion()) if fast_fields_in_place() else None
        if read is None:
            return False
        try:
            order, contract, state = read(text.decode("ascii").split("\0")[:-1])
        except Exception:  # ibapi's decoder reads it, or raises its own error for it
            return False
        self.openOrder(order.orderId, contract, order, state)
        return True

    # ------------------------------------------------------------------ session

    def nextValidId(self, orderId: int) -> None:
        self._router.next_valid_id(orderId)

    def managedAccounts(self, accountsList: str) -> None:
        self._router.managed_accounts([a for a in accountsList.split(",") if a])

    def receiveFA(self, faData: int, cxml: str) -> None:
        self._router.fa_config(int(faData), cxml)

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

    # ------------------------------------------------------------------ market data
    # Streams (and the answers to one-off data requests) go to the router by reqId, with the
    # callback's name: a subscription or a pending request owns each.

    def tickPrice(self, reqId: int, tickType: int, price: float, attrib: Any) -> None:
        self._router.data(reqId, "tickPrice", tickType, price, attrib)

    def tickSize(self, reqId: int, tickType: int, size: Decimal) -> None:
        self._router.data(reqId, "tickSize", tickType, size)

    def tickString(self, reqId: int, tickType: int, value: str) -> None:
        self._router.data(reqId, "tickString", tickType, value)

    def tickGeneric(self, reqId: int, tickType: int, value: float) -> None:
        self._router.data(reqId, "tickGeneric", tickType, value)

    def marketDataType(self, reqId: int, marketDataType: int) -> None:
        self._router.data(reqId, "marketDataType", marketDataType)

    def tickReqParams(
        self, tickerId: int, minTick: float, bboExchange: str, snapshotPermissions: int
    ) -> None:
        self._router.data(tickerId, "tickReqParams", minTick, bboExchange, snapshotPermissions)

    def tickSnapshotEnd(self, reqId: int) -> None:
        self._router.end(reqId, "tickSnapshotEnd")

    def realtimeBar(
        self,
        reqId: int,
        time: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        volume: Decimal,
        wap: Decimal,
        count: int,
    ) -> None:
        self._router.data(reqId, "realtimeBar", time, open_, high, low, close, volume, wap, count)

    def historicalData(self, reqId: int, bar: Any) -> None:
        self._router.data(reqId, "historicalData", bar)

    def historicalDataEnd(self, reqId: int, start: str, end: str) -> None:
        self._router.end(reqId, "historicalDataEnd", start, end)

    def historicalDataUpdate(self, reqId: int, bar: Any) -> None:
        self._router.data(reqId, "historicalDataUpdate", bar)

    def headTimestamp(self, reqId: int, headTimestamp: str) -> None:
        self._router.data(reqId, "headTimestamp", headTimestamp)
        self._router.end(reqId, "headTimestamp")

    def historicalTicks(self, reqId: int, ticks: list, done: bool) -> None:
        self._router.data(reqId, "historicalTicks", ticks, done)
        if done:
            self._router.end(reqId, "historicalTicks")

    def historicalTicksBidAsk(self, reqId: int, ticks: list, done: bool) -> None:
        self._router.data(reqId, "historicalTicksBidAsk", ticks, done)
        if done:
            self._router.end(reqId, "historicalTicksBidAsk")

    def historicalTicksLast(self, reqId: int, ticks: list, done: bool) -> None:
        self._router.data(reqId, "historicalTicksLast", ticks, done)
        if done:
            self._router.end(reqId, "historicalTicksLast")

    def tickByTickAllLast(
        self,
        reqId: int,
        tickType: int,
        time: int,
        price: float,
        size: Decimal,
        tickAttribLast: Any,
        exchange: str,
        specialConditions: str,
    ) -> None:
        self._router.data(
            reqId, "tickByTickAllLast", tickType, time, price, size, tickAttribLast,
            exchange, specialConditions,
        )  # fmt: skip

    def tickByTickBidAsk(
        self,
        reqId: int,
        time: int,
        bidPrice: float,
        askPrice: float,
        bidSize: Decimal,
        askSize: Decimal,
        tickAttribBidAsk: Any,
    ) -> None:
        self._router.data(
            reqId, "tickByTickBidAsk", time, bidPrice, askPrice, bidSize, askSize,
            tickAttribBidAsk,
        )  # fmt: skip

    def tickByTickMidPoint(self, reqId: int, time: int, midPoint: float) -> None:
        self._router.data(reqId, "tickByTickMidPoint", time, midPoint)

    def pnl(self, reqId: int, dailyPnL: float, unrealizedPnL: float, realizedPnL: float) -> None:
        self._router.data(reqId, "pnl", dailyPnL, unrealizedPnL, realizedPnL)

    def pnlSingle(
        self,
        reqId: int,
        pos: Decimal,
        dailyPnL: float,
        unrealizedPnL: float,
        realizedPnL: float,
        value: float,
    ) -> None:
        self._router.data(reqId, "pnlSingle", pos, dailyPnL, unrealizedPnL, realizedPnL, value)
