"""A TWS API program of a financial advisor, written the way IB's advisor examples are.

It knows nothing of twsapp: one class inheriting EWrapper and EClient. It reads the advisor's
groups (requestFA), places a market order for 101 AAPL to the first group, prints every order
callback, then asks for the positions and disconnects once it has them. Host and port come from
the command line. Every line printed is one callback, its fields separated by spaces.
"""

import sys
import threading
import xml.etree.ElementTree as ET

from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.wrapper import EWrapper

QUANTITY = 101


class AdvisorApp(EWrapper, EClient):
    def __init__(self):
        EClient.__init__(self, self)
        self.order_id = None
        self.reports = 0
        self.executions = 0
        self.filled = False

    def managedAccounts(self, accountsList):
        print("managedAccounts", accountsList, flush=True)

    def nextValidId(self, orderId):
        if self.order_id is None:
            self.order_id = orderId
            self.requestFA(1)  # 1: groups

    def receiveFA(self, faData, cxml):
        root = ET.fromstring(cxml)
        for group in root.findall("Group"):
            accounts = [a.findtext("acct") for a in group.find("ListOfAccts")]
            method = group.findtext("defaultMethod")
            print("group", group.findtext("name"), method, ",".join(accounts), flush=True)
        first = root.find("Group").findtext("name")
        contract = Contract()
        contract.symbol, contract.secType = "AAPL", "STK"
        contract.exchange, contract.currency = "SMART", "USD"
        order = Order()
        order.action, order.orderType, order.totalQuantity = "BUY", "MKT", QUANTITY
        order.faGroup = first
        self.placeOrder(self.order_id, contract, order)

    def openOrder(self, orderId, contract, order, orderState):
        print(
            "openOrder", orderId, order.faGroup, order.totalQuantity, orderState.status, flush=True
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
        print("orderStatus", orderId, status, filled, remaining, flush=True)
        if status == "Filled":
            self.filled = True
            self._maybe_done()

    def execDetails(self, reqId, contract, execution):
        print(
            "execDetails",
            execution.orderId,
            execution.acctNumber,
            execution.shares,
            execution.price,
            execution.execId,
            flush=True,
        )
        self.executions += 1

    def commissionAndFeesReport(self, commissionAndFeesReport):
        report = commissionAndFeesReport
        print("commissionReport", report.execId, report.commissionAndFees, flush=True)
        self.reports += 1
        self._maybe_done()

    def _maybe_done(self):
        # every execution has its report: the block and each account's
        if self.filled and self.executions and self.reports == self.executions:
            self.filled = False
            self.reqPositions()

    def position(self, account, contract, position, avgCost):
        print("position", account, contract.symbol, position, flush=True)

    def positionEnd(self):
        print("positionEnd", flush=True)
        self.cancelPositions()
        self.disconnect()

    def error(self, reqId, errorTime, errorCode, errorString, advancedOrderRejectJson=""):
        print("error", reqId, errorCode, errorString, flush=True)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = AdvisorApp()
    app.connect(host, port, 0)
    thread = threading.Thread(target=app.run)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
