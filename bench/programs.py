"""The three programs measured side by side, behind one small interface.

- ``Bare``: the thinnest correct ibapi application, one EClient + EWrapper class whose
  callbacks only record (latest status per order id, fills and commissions per execId) and wake
  a waiting caller. It is the floor: any program that keeps an order book costs at least this.
- ``Twsapp``: the same work through ``twsapp.TwsApp`` (validation, ids, the book, its events).
- ``BareFields``: the bare program with twsapp's faster ibapi field reader and writer swapped in
  (twsapp/session/fields.py), which twsapp uses: the difference between it and twsapp is what
  twsapp's own work costs, the difference between it and ``Bare`` what the fields save.
- ``IbAsync``: ib_async's ``IB``, a third column where it can run (it speaks server versions
  up to 178, so the scenarios it joins run the simulator at 178 for all three).

Each does: ``connect``, ``round_trip`` (one resting LMT until the program knows it is
Submitted), ``hold(n)`` (n resting LMT orders, sent back to back, until all are Submitted),
``sync`` (what a program loads at start: open and completed orders, executions, positions,
account summary) and ``close``. Every order is the same: BUY 1 AAPL LMT far below the market,
DAY, on the contract the simulator's contract details give.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from ibapi.client import EClient
from ibapi.const import UNSET_DOUBLE
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.wrapper import EWrapper

HOST = "127.0.0.1"
TIMEOUT = 180.0  # bounds a hang; a loaded 2-core machine can take a minute over 10,000 orders
PRICE = 100.0  # AAPL trades near 190 in the simulator: a BUY at 100 rests
CLIENT_ID_IN_USE = 326
PACING_VIOLATION = 100


class ClientIdBusy(Exception):
    """The simulator has not freed the client id of the previous run yet: try again."""


class Program:
    """What a scenario asks of a program."""

    name: ClassVar[str]

    def connect(self, port: int, client_id: int) -> None:
        raise NotImplementedError

    def round_trip(self) -> float:
        raise NotImplementedError

    def hold(self, n: int) -> None:
        raise NotImplementedError

    def sync(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------- bare ibapi


class BareApp(EWrapper, EClient):
    """One class, both sides, as IB's own lessons write it; callbacks record and notify."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.cond = threading.Condition()
        self.next_id = 0
        self.accounts = ""
        self.details: list[Any] = []
        self.orders: dict[int, tuple[Contract, Order, Any]] = {}
        self.status: dict[int, str] = {}
        self.submitted = 0  # orders seen Submitted at least once
        self.filled = 0  # orders seen Filled
        self.fills: dict[str, tuple[Contract, Any]] = {}
        self.commissions: dict[str, Any] = {}
        self.completed: list[tuple[Contract, Order, Any]] = []
        self.positions: dict[tuple[str, int], Any] = {}
        self.summary: dict[tuple[str, str], str] = {}
        self.ends: set[str] = set()
        self.errors: list[tuple[int, int, str]] = []

    def _notify(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def wait(self, predicate: Any, timeout: float = TIMEOUT) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise TimeoutError(f"bare: timed out; errors {self.errors[-3:]}")

    def nextValidId(self, orderId: int) -> None:
        with self.cond:
            self.next_id = orderId
            self.cond.notify_all()

    def managedAccounts(self, accountsList: str) -> None:
        with self.cond:
            self.accounts = accountsList
            self.cond.notify_all()

    def error(self, reqId: int, *args: Any) -> None:
        code, text = (args[1], args[2]) if len(args) >= 3 else (args[0], args[1])
        with self.cond:
            self.errors.append((reqId, code, text))
            self.cond.notify_all()

    def contractDetails(self, reqId: int, contractDetails: Any) -> None:
        self.details.append(contractDetails)

    def contractDetailsEnd(self, reqId: int) -> None:
        with self.cond:
            self.ends.add("contractDetails")
            self.cond.notify_all()

    def openOrder(self, orderId: int, contract: Contract, order: Order, orderState: Any) -> None:
        self.orders[orderId] = (contract, order, orderState)

    def orderStatus(self, orderId: int, status: str, *args: Any) -> None:
        with self.cond:
            if status != self.status.get(orderId):
                if status == "Submitted":
                    self.submitted += 1
                elif status == "Filled":
                    self.filled += 1
            self.status[orderId] = status
            self.cond.notify_all()

    def openOrderEnd(self) -> None:
        with self.cond:
            self.ends.add("openOrder")
            self.cond.notify_all()

    def completedOrder(self, contract: Contract, order: Order, orderState: Any) -> None:
        self.completed.append((contract, order, orderState))

    def completedOrdersEnd(self) -> None:
        with self.cond:
            self.ends.add("completedOrders")
            self.cond.notify_all()

    def execDetails(self, reqId: int, contract: Contract, execution: Any) -> None:
        self.fills[execution.execId] = (contract, execution)

    def execDetailsEnd(self, reqId: int) -> None:
        with self.cond:
            self.ends.add("execDetails")
            self.cond.notify_all()

    def commissionAndFeesReport(self, commissionAndFeesReport: Any) -> None:
        self.commissions[commissionAndFeesReport.execId] = commissionAndFeesReport

    def position(self, account: str, contract: Contract, position: Decimal, avgCost: float) -> None:
        self.positions[(account, contract.conId)] = (position, avgCost)

    def positionEnd(self) -> None:
        with self.cond:
            self.ends.add("position")
            self.cond.notify_all()

    def accountSummary(self, reqId: int, account: str, tag: str, value: str, currency: str) -> None:
        self.summary[(account, tag)] = value

    def accountSummaryEnd(self, reqId: int) -> None:
        with self.cond:
            self.ends.add("accountSummary")
            self.cond.notify_all()


def lmt_order() -> Order:
    order = Order()
    order.action = "BUY"
    order.orderType = "LMT"
    order.totalQuantity = Decimal(1)
    order.lmtPrice = PRICE
    order.tif = "DAY"
    return order


class Bare(Program):
    name = "bare"

    def __init__(self) -> None:
        self.app = BareApp()
        self.thread: threading.Thread | None = None
        self.contract: Contract | None = None

    def connect(self, port: int, client_id: int) -> None:
        app = self.app
        app.connect(HOST, port, client_id)
        self.thread = threading.Thread(target=app.run, name="bare-api", daemon=True)
        self.thread.start()

        def ready() -> bool:
            return bool(app.next_id and app.accounts) or _refused(app.errors)

        app.wait(ready)
        if _refused(app.errors):
            self.close()
            raise ClientIdBusy
        wanted = Contract()
        wanted.symbol, wanted.secType, wanted.exchange, wanted.currency = (
            "AAPL",
            "STK",
            "SMART",
            "USD",
        )
        app.reqContractDetails(1, wanted)
        app.wait(lambda: "contractDetails" in app.ends)
        self.contract = app.details[0].contract

    def _place(self, order: Order | None = None) -> int:
        app = self.app
        order_id = app.next_id
        app.next_id += 1
        app.placeOrder(order_id, self.contract, order or lmt_order())
        return order_id

    def round_trip(self) -> float:
        app = self.app
        start = time.perf_counter()
        order_id = self._place()
        app.wait(lambda: app.status.get(order_id) == "Submitted")
        return time.perf_counter() - start

    def hold(self, n: int) -> None:
        app = self.app
        target = app.submitted + n
        for _ in range(n):
            self._place()
        app.wait(lambda: app.submitted >= target)

    def fill(self, n: int) -> None:
        """n market orders, back to back, until each is Filled (seeding executions)."""
        app = self.app
        target = app.filled + n
        for _ in range(n):
            order = lmt_order()
            order.orderType, order.lmtPrice = "MKT", UNSET_DOUBLE
            self._place(order)
        app.wait(lambda: app.filled >= target)

    def sync(self) -> None:
        app = self.app
        app.reqOpenOrders()
        app.reqCompletedOrders(False)
        app.reqExecutions(2, ExecutionFilter())
        app.reqPositions()
        app.reqAccountSummary(3, "All", "All")
        wanted = {"openOrder", "completedOrders", "execDetails", "position", "accountSummary"}
        app.wait(lambda: wanted <= app.ends)
        app.cancelAccountSummary(3)

    def close(self) -> None:
        self.app.disconnect()
        if self.thread is not None:
            self.thread.join(timeout=5)


def _refused(errors: list[tuple[int, int, str]]) -> bool:
    return any(code == CLIENT_ID_IN_USE for _, code, _ in errors)


# --------------------------------------------------------------------------- twsapp


class Twsapp(Program):
    name = "twsapp"

    def __init__(self, rate: float | None = None) -> None:
        """``rate``: twsapp's pacing limiter (None, unpaced, for the raw-speed scenarios,
        where the simulator's own check is off too; the burst scenario sets it)."""
        from twsapp import Notice, StatusChanged, TwsApp

        self.app = TwsApp(request_timeout=TIMEOUT, max_messages_per_second=rate)
        self.cond = threading.Condition()
        self.submitted: set[int] = set()
        self.submitted_at: dict[int, float] | None = None  # when each was seen (the burst)
        self.details: Any = None
        self.pacing_errors = 0  # TWS's error 100: a message refused for going too fast
        self.app.subscribe(self._on_status, StatusChanged)
        self.app.subscribe(self._on_notice, Notice)

    def _on_status(self, event: Any) -> None:
        if event.after == "Submitted":
            if self.submitted_at is not None:
                self.submitted_at[event.order_id] = time.perf_counter()
            with self.cond:
                self.submitted.add(event.order_id)
                self.cond.notify_all()

    def _on_notice(self, event: Any) -> None:
        if event.code == PACING_VIOLATION:
            with self.cond:
                self.pacing_errors += 1

    def connect(self, port: int, client_id: int) -> None:
        from twsapp import ClientIdInUse

        try:
            self.app.start(HOST, port, client_id, timeout=TIMEOUT)
        except ClientIdInUse:
            raise ClientIdBusy from None
        self.details = self.app.contracts.lookup("AAPL")

    def _order(self) -> Order:
        from twsapp import limit_order

        return limit_order("BUY", 1, PRICE)

    def _wait(self, predicate: Any) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, TIMEOUT):
                raise TimeoutError("twsapp: timed out")

    def round_trip(self) -> float:
        start = time.perf_counter()
        record = self.app.place(self.details, self._order())
        order_id = record.order_id
        self._wait(lambda: order_id in self.submitted)
        return time.perf_counter() - start

    def hold(self, n: int) -> None:
        target = len(self.submitted) + n
        for _ in range(n):
            self.app.place(self.details, self._order())
        self._wait(lambda: len(self.submitted) >= target)

    def burst(self, n: int) -> tuple[float, list[float]]:
        """n orders placed at once (place() only queues them for the pacer): seconds from the
        first place until the book knows all n Submitted, and until each was."""
        target = len(self.submitted) + n
        self.submitted_at = {}
        start = time.perf_counter()
        ids = [self.app.place(self.details, self._order()).order_id for _ in range(n)]
        self._wait(lambda: len(self.submitted) >= target)
        seconds = time.perf_counter() - start
        times = [self.submitted_at[order_id] - start for order_id in ids]
        self.submitted_at = None
        return seconds, times

    def sync(self) -> None:
        self.app.sync(timeout=TIMEOUT)

    def close(self) -> None:
        self.app.stop()


# --------------------------------------------------------------------------- ib_async


class IbAsync(Program):
    name = "ib_async"

    def __init__(self) -> None:
        from ib_async import IB

        self.ib = IB()
        # ib_async paces its own requests at 45/s, twsapp at [pacing]; the raw-speed scenarios
        # turn both off, as the simulator's check: the same raw speed for all three.
        self.ib.client.MaxRequests = 0
        self.contract: Any = None

    def connect(self, port: int, client_id: int) -> None:
        from ib_async import Stock
        from ib_async.ib import StartupFetch, StartupFetchALL

        # Everything ib_async loads at start but the FA sub-account updates (reqAccountUpdates-
        # Multi), which the simulator does not serve: ib_async would wait for them in vain.
        fetch = StartupFetchALL & ~StartupFetch.SUB_ACCOUNT_UPDATES
        try:
            self.ib.connect(HOST, port, clientId=client_id, timeout=TIMEOUT, fetchFields=fetch)
        except Exception as exc:  # ib_async reports 326 by raising its own errors
            if "326" in str(exc) or "already in use" in str(exc):
                raise ClientIdBusy from exc
            raise
        [self.contract] = self.ib.qualifyContracts(Stock("AAPL", "SMART", "USD"))

    def _order(self) -> Any:
        from ib_async import LimitOrder

        return LimitOrder("BUY", 1, PRICE, tif="DAY")

    def _wait(self, predicate: Callable[[], bool], event: Any) -> None:
        """Run ib_async's loop until ``predicate`` holds, checked at each emit of ``event``
        (checked first, and only in the loop: no update can slip between check and wait)."""

        async def until() -> None:
            while not predicate():
                await event

        self.ib.run(asyncio.wait_for(until(), TIMEOUT))

    def round_trip(self) -> float:
        start = time.perf_counter()
        trade = self.ib.placeOrder(self.contract, self._order())
        self._wait(lambda: trade.orderStatus.status == "Submitted", trade.statusEvent)
        return time.perf_counter() - start

    def hold(self, n: int) -> None:
        trades = [self.ib.placeOrder(self.contract, self._order()) for _ in range(n)]
        seen = 0  # trades[:seen] are Submitted: each is looked at until it is, once after

        def all_submitted() -> bool:
            nonlocal seen
            while seen < n and trades[seen].orderStatus.status == "Submitted":
                seen += 1
            return seen == n

        self._wait(all_submitted, self.ib.updateEvent)  # after each packet ib_async handled

    def sync(self) -> None:
        """ib_async loads open and completed orders, executions, positions and account values
        in ``connect`` itself; the account summary the others ask for is asked here."""
        self.ib.accountSummary()

    def close(self) -> None:
        self.ib.disconnect()


class BareFields(Bare):
    name = "bare_fields"

    def __init__(self) -> None:
        from twsapp.session.fields import use_fast_fields

        use_fast_fields()
        super().__init__()


PROGRAMS: dict[str, type[Program]] = {
    "bare": Bare,
    "bare_fields": BareFields,
    "twsapp": Twsapp,
    "ib_async": IbAsync,
}


def connect_when_free(
    make: Callable[[], Program], port: int, client_id: int, timeout: float = 10.0
) -> Program:
    """A new program connected as ``client_id``, retrying (each time with a new program, as
    a TwsApp connects once) while the simulator still holds the id of the previous run: 326."""
    deadline = time.monotonic() + timeout
    while True:
        program = make()
        try:
            program.connect(port, client_id)
            return program
        except ClientIdBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
