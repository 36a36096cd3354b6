"""A TWS API program that buys with a bracket, written the way IB's bracket example is.

It knows nothing of twsapp: one class inheriting EWrapper and EClient. On connecting it sends a
parent BUY LMT 10 AAPL at 103.00 and two children: a take-profit SELL LMT at 104.00 and a
stop-loss SELL STP at 99.00, with parentId set and transmit=False on all but the last. It prints
every openOrder, orderStatus and execution, and disconnects once the parent and one child have
filled and the other child is cancelled. Host and port come from the command line.
"""

import sys
import threading
from decimal import Decimal

from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.wrapper import EWrapper


def make_order(action, order_type, price, parent_id, transmit):
    order = Order()
    order.action = action
    order.orderType = order_type
    order.totalQuantity = Decimal(10)
    if order_type == "LMT":
        order.lmtPrice = price
    else:
        order.auxPrice = price
    order.parentId = parent_id
    order.transmit = transmit
    order.tif = "DAY"
    return order


class BracketApp(EWrapper, EClient):
    def __init__(self):
        EClient.__init__(self, self)
        self.parent_id = None
        self.final = {}

    def nextValidId(self, orderId):
        if self.parent_id is not None:
            return
        self.parent_id = parent = orderId
        contract = Contract()
        contract.symbol = "AAPL"
        contract.secType = "STK"
        contract.exchange = "SMART"
        contract.currency = "USD"
        orders = [
            make_order("BUY", "LMT", 103.0, 0, False),
            make_order("SELL", "LMT", 104.0, parent, False),
            make_order("SELL", "STP", 99.0, parent, True),
        ]
        for offset, order in enumerate(orders):
            self.placeOrder(parent + offset, contract, order)

    def openOrder(self, orderId, contract, order, orderState):
        print("openOrder", orderId, order.action, order.orderType, order.parentId,
              orderState.status, flush=True)  # fmt: skip

    def orderStatus(self, orderId, status, filled, remaining, avgFillPrice, permId, parentId,
                    lastFillPrice, clientId, whyHeld, mktCapPrice):  # fmt: skip
        print("orderStatus", orderId, status, filled, avgFillPrice, parentId, whyHeld or "-",
              flush=True)  # fmt: skip
        if status in ("Filled", "Cancelled"):
            self.final[orderId] = status
        if len(self.final) == 3:
            self.disconnect()

    def execDetails(self, reqId, contract, execution):
        print("execDetails", execution.orderId, execution.side, execution.shares,
              execution.price, flush=True)  # fmt: skip

    def error(self, reqId, errorTime, errorCode, errorString, advancedOrderRejectJson=""):
        print("error", reqId, errorCode, errorString, flush=True)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = BracketApp()
    app.connect(host, port, 0)
    thread = threading.Thread(target=app.run)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
