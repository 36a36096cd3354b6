"""A TWS API program that loads recent history and keeps it up to date, written the way IB's
historical data examples are.

It knows nothing of twsapp: one class inheriting EWrapper and EClient. It asks for the last five
minutes of AAPL in 1-minute bars with keepUpToDate, printing every bar, the end marker and every
update. Once the updates have reached the second minute after the last historical bar it cancels
the request and disconnects. Bar times are Unix seconds (formatDate 2). Host and port come from
the command line.
"""

import sys
import threading

from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.wrapper import EWrapper

MINUTES_AFTER = 2


class HistoryApp(EWrapper, EClient):
    def __init__(self):
        EClient.__init__(self, self)
        self.last_bar = None

    def nextValidId(self, orderId):
        contract = Contract()
        contract.symbol = "AAPL"
        contract.secType = "STK"
        contract.exchange = "SMART"
        contract.currency = "USD"
        self.reqHistoricalData(1, contract, "", "300 S", "1 min", "TRADES", 0, 2, True, [])

    def historicalData(self, reqId, bar):
        print(
            "historicalData",
            reqId,
            bar.date,
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
            bar.barCount,
            flush=True,
        )
        self.last_bar = int(bar.date)

    def historicalDataEnd(self, reqId, start, end):
        print(
            "historicalDataEnd", reqId, start.replace(" ", "_"), end.replace(" ", "_"), flush=True
        )

    def historicalDataUpdate(self, reqId, bar):
        print(
            "historicalDataUpdate",
            reqId,
            bar.date,
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
            bar.barCount,
            flush=True,
        )
        if int(bar.date) >= self.last_bar + 60 * MINUTES_AFTER:
            self.cancelHistoricalData(1)
            self.disconnect()

    def error(self, reqId, errorTime, errorCode, errorString, advancedOrderRejectJson=""):
        print("error", reqId, errorCode, errorString, flush=True)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = HistoryApp()
    app.connect(host, port, 0)
    thread = threading.Thread(target=app.run)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
