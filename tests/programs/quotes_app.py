"""A TWS API program that watches a stock, written the way IB's market data examples are.

It knows nothing of twsapp: one class inheriting EWrapper and EClient, streaming top-of-book
quotes and 5-second real-time bars for AAPL, printing every tick and bar. After three bars it
cancels both subscriptions and disconnects. Host and port come from the command line.
"""

import sys
import threading

from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.ticktype import TickTypeEnum
from ibapi.wrapper import EWrapper

BARS_WANTED = 3


class QuotesApp(EWrapper, EClient):
    def __init__(self):
        EClient.__init__(self, self)
        self.bars = 0

    def nextValidId(self, orderId):
        contract = Contract()
        contract.symbol = "AAPL"
        contract.secType = "STK"
        contract.exchange = "SMART"
        contract.currency = "USD"
        self.reqMarketDataType(1)
        self.reqMktData(1, contract, "", False, False, [])
        self.reqRealTimeBars(2, contract, 5, "TRADES", False, [])

    def marketDataType(self, reqId, marketDataType):
        print("marketDataType", reqId, marketDataType, flush=True)

    def tickPrice(self, reqId, tickType, price, attrib):
        print("tickPrice", reqId, TickTypeEnum.toStr(tickType), price, flush=True)

    def tickSize(self, reqId, tickType, size):
        print("tickSize", reqId, TickTypeEnum.toStr(tickType), size, flush=True)

    def realtimeBar(self, reqId, time, open_, high, low, close, volume, wap, count):
        print("realtimeBar", reqId, time, open_, high, low, close, volume, wap, count, flush=True)
        self.bars += 1
        if self.bars == BARS_WANTED:
            self.cancelMktData(1)
            self.cancelRealTimeBars(2)
            self.disconnect()

    def error(self, reqId, errorTime, errorCode, errorString, advancedOrderRejectJson=""):
        print("error", reqId, errorCode, errorString, flush=True)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = QuotesApp()
    app.connect(host, port, 0)
    thread = threading.Thread(target=app.run)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
