"""What the simulator holds, asked as any API client asks TWS, and the run's summary held to it.

A plain ibapi client, never the app: if the app's book drifted across a restart, asking through
the app would agree with itself. The same comparison as the tests' (tests/run_helpers.py), kept
here so the soak imports nothing from tests/.
"""

# ibapi's callback and argument names are camelCase: the overrides keep them.
# ruff: noqa: N802, N803

from __future__ import annotations

import threading
from typing import Any

from ibapi.client import EClient
from ibapi.execution import ExecutionFilter
from ibapi.wrapper import EWrapper

TIMEOUT = 60.0


class Inspector(EWrapper, EClient):
    """Every order, fill and commission the simulator reports, by permId and execId."""

    def __init__(self) -> None:
        EClient.__init__(self, self)
        self.orders: dict[int, dict[str, Any]] = {}
        self.fills: dict[str, dict[str, Any]] = {}
        self.commissions: dict[str, float] = {}
        self._events = {name: threading.Event() for name in ("ready", "open", "done", "execs")}
        self._synced = threading.Event()

    def nextValidId(self, orderId: int) -> None:
        self._events["ready"].set()

    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str, *_: Any) -> None:
        pass  # farm notices and the like: nothing the comparison needs

    def openOrder(self, orderId: int, contract: Any, order: Any, orderState: Any) -> None:
        self.orders[order.permId] = {"status": orderState.status, "filled": None}

    def orderStatus(self, orderId: int, status: str, filled: Any, *args: Any) -> None:
        perm_id = args[2]  # remaining, avgFillPrice, permId, ...
        self.orders.setdefault(perm_id, {}).update(status=status, filled=float(filled))

    def openOrderEnd(self) -> None:
        self._events["open"].set()

    def completedOrder(self, contract: Any, order: Any, orderState: Any) -> None:
        filled = float(order.filledQuantity)
        self.orders[order.permId] = {"status": orderState.status, "filled": filled}

    def completedOrdersEnd(self) -> None:
        self._events["done"].set()

    def execDetails(self, reqId: int, contract: Any, execution: Any) -> None:
        self.fills[execution.execId] = {
            "perm_id": execution.permId,
            "shares": float(execution.shares),
            "price": execution.price,
            "side": execution.side,
        }

    def execDetailsEnd(self, reqId: int) -> None:
        self._events["execs"].set()

    def commissionAndFeesReport(self, commissionAndFeesReport: Any) -> None:
        report = commissionAndFeesReport
        self.commissions[report.execId] = report.commissionAndFees

    def currentTime(self, time: int) -> None:
        self._synced.set()

    def wait(self, name: str) -> None:
        if not self._events[name].wait(TIMEOUT):
            raise TimeoutError(f"the simulator did not answer ({name}) within {TIMEOUT:g} s")


def sim_holds(port: int, client_id: int = 900) -> tuple[dict[int, Any], dict[str, Any]]:
    """Orders by permId (status, filled) and fills by execId (with their commission)."""
    client = Inspector()
    client.connect("127.0.0.1", port, client_id)
    thread = threading.Thread(target=client.run, name="soak-inspector", daemon=True)
    thread.start()
    try:
        client.wait("ready")
        client.reqAllOpenOrders()
        client.wait("open")
        client.reqCompletedOrders(False)
        client.wait("done")
        client.reqExecutions(1, ExecutionFilter())
        client.wait("execs")
        client.reqCurrentTime()  # answered after the commission reports that follow the fills
        if not client._synced.wait(TIMEOUT):
            raise TimeoutError("the simulator did not answer reqCurrentTime")
        for exec_id, fill in client.fills.items():
            fill["commission"] = client.commissions.get(exec_id)
        return client.orders, client.fills
    finally:
        client.disconnect()
        thread.join(5)


def differences(summary: dict[str, Any], port: int) -> list[str]:
    """Where the summary is not what the simulator holds (empty: equal), order by order and
    fill by fill: status, filled quantity, and each fill's order, shares, price, side and
    commission. An order without a permId must be one the app rejected (never reached TWS)."""
    orders, fills = sim_holds(port)
    found: list[str] = []
    ours = {o["perm_id"]: o for o in summary["orders"] if o["perm_id"] is not None}
    unsent = [o for o in summary["orders"] if o["perm_id"] is None and not o.get("rejected")]
    found += [f"order {o['order_id']}: no permId and not rejected ({o['status']})" for o in unsent]
    for perm_id in sorted(set(ours) ^ set(orders)):
        where = "the summary only" if perm_id in ours else "the simulator only"
        found.append(f"permId {perm_id}: in {where}")
    for perm_id in sorted(set(ours) & set(orders)):
        mine, tws = ours[perm_id], orders[perm_id]
        if (mine["status"], mine["filled"]) != (tws["status"], tws["filled"]):
            found.append(
                f"permId {perm_id}: summary {mine['status']} {mine['filled']}, "
                f"simulator {tws['status']} {tws['filled']}"
            )
    summary_fills = {f["exec_id"]: f for f in summary["fills"]}
    for exec_id in sorted(set(summary_fills) ^ set(fills)):
        where = "the summary only" if exec_id in summary_fills else "the simulator only"
        found.append(f"fill {exec_id}: in {where}")
    keys = ("perm_id", "shares", "price", "side", "commission")
    for exec_id in sorted(set(summary_fills) & set(fills)):
        mine_fill = [summary_fills[exec_id][k] for k in keys]
        tws_fill = [fills[exec_id][k] for k in keys]
        if mine_fill != tws_fill:
            found.append(f"fill {exec_id}: summary {mine_fill}, simulator {tws_fill}")
    return found
