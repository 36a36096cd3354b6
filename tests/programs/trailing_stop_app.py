"""A TWS API program that protects a long position with a trailing stop, written the way IB's
order examples are.

It knows nothing of twsapp: one class inheriting EWrapper and EClient. On connecting it sells
10 AAPL with a TRAIL order, 2.00 under the market, starting from a stop of 90.00, and prints
every openOrder (with the stop TWS reports), orderStatus, execution and commission. Once the
commission of the fill arrives it disconnects. Host and port come from the command line.
"""

import sys
import threading
from decimal import Decimal

from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.wrapper import EWrapper


class TrailingStopApp(EWrapper, EClient):
    def __init__(self):
        EClient.__init__(self, self)
        self.order_id = None

    def nextValidId(self, orderId):
        if self.order_id is not None:
            return
        self.order_id = orderId
        contract = Contract()
        contract.symbol = "AAPL"
        contract.secType = "STK"
        contract.exchange = "SMART"
        contract.currency = "USD"
        order = Order()
        order.action = "SELL"
        order.orderType = "TRAIL"
        order.totalQuantity = Decimal(10)
        order.auxPrice = 2.0  # the trailing amount
        order.trailStopPrice = 90.0  # the initial stop
        order.tif = "DAY"
        self.placeOrder(orderId, contract, order)

    def openOrder(self, orderId, contract, order, orderState):
        print(
            "openOrder", orderId, order.orderType, order.auxPrice, order.trailStopPrice,
            orderState.status, flush=True,
        )  # fmt: skip

    def orderStatus(self, orderId, status, filled, remaining, avgFillPrice, permId, parentId,
                    lastFillPrice, clientId, whyHeld, mktCapPrice):  # fmt: skip
        print("orderStatus", orderId, status, filled, remaining, avgFillPrice, whyHeld or "-",
              flush=True)  # fmt: skip

    def execDetails(self, reqId, contract, execution):
        print("execDetails", execution.orderId, execution.side, execution.shares,
              execution.price, flush=True)  # fmt: skip

    def commissionAndFeesReport(self, commissionAndFeesReport):
        print("commission", commissionAndFeesReport.commissionAndFees, flush=True)
        self.disconnect()

    def error(self, reqId, errorTime, errorCode, errorString, advancedOrderRejectJson=""):
        print("error", reqId, errorCode, errorString, flush=True)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = TrailingStopApp()
    app.connect(host, port, 0)
    thread = threading.Thread(target=app.run)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
