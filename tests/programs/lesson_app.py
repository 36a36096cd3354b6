"""A TWS API program written the way IB's introductory lesson writes one.

It knows nothing of twsapp: one class inheriting EClient and EWrapper, a contract lookup in
nextValidId, a limit order placed from contractDetails, and prints of what TWS answers. The
simulator test runs it unchanged but for host and port, given on the command line.
"""

import sys
import threading

from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.wrapper import EWrapper


class TestApp(EClient, EWrapper):
    def __init__(self):
        EClient.__init__(self, self)
        self.order_id = None
        self.placed = False

    def nextValidId(self, orderId):
        self.order_id = orderId
        contract = Contract()
        contract.symbol = "AAPL"
        contract.secType = "STK"
        contract.exchange = "SMART"
        contract.currency = "USD"
        self.reqContractDetails(9001, contract)

    def contractDetails(self, reqId, contractDetails):
        print(
            "contractDetails",
            reqId,
            contractDetails.contract.conId,
            contractDetails.minTick,
            flush=True,
        )
        if self.placed:
            return
        self.placed = True
        order = Order()
        order.action = "BUY"
        order.orderType = "LMT"
        order.totalQuantity = 100
        order.lmtPrice = 149.50
        order.tif = "DAY"
        self.placeOrder(self.order_id, contractDetails.contract, order)

    def contractDetailsEnd(self, reqId):
        print("contractDetailsEnd", reqId, flush=True)

    def openOrder(self, orderId, contract, order, orderState):
        print(
            "openOrder",
            orderId,
            contract.symbol,
            order.action,
            order.orderType,
            order.totalQuantity,
            order.lmtPrice,
            orderState.status,
            flush=True,
        )

    def orderStatus(
        self,
        orderId,
        status,
        filled,
        remaining,
        avgFillPrice,
        permId,
        parentId,
        lastFillPrice,
        clientId,
        whyHeld,
        mktCapPrice,
    ):
        print("orderStatus", orderId, status, filled, remaining, avgFillPrice, flush=True)

    def execDetails(self, reqId, contract, execution):
        print(
            "execDetails",
            reqId,
            contract.symbol,
            execution.execId,
            execution.side,
            execution.shares,
            execution.price,
            flush=True,
        )

    def commissionAndFeesReport(self, commissionAndFeesReport):
        print(
            "commission",
            commissionAndFeesReport.execId,
            commissionAndFeesReport.commissionAndFees,
            commissionAndFeesReport.currency,
            flush=True,
        )
        self.disconnect()

    def error(self, reqId, errorTime, errorCode, errorString, advancedOrderRejectJson=""):
        print("error", reqId, errorCode, errorString, flush=True)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = TestApp()
    app.connect(host, port, 0)
    thread = threading.Thread(target=app.run)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
