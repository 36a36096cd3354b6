"""`twsapp run` as a user runs it: a subprocess, against `twsapp sim` in another subprocess.

What TWS holds at the end is asked of the simulator by a plain ibapi client (sim_client.py),
never read from the app: the test compares the run's summary with the simulator's own record.
Every wait polls with a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ibapi.execution import ExecutionFilter
from sim_client import SimClient

RUN = [sys.executable, "-m", "twsapp", "run"]
SIM = [sys.executable, "-m", "twsapp", "sim"]
DEADLINE = 60.0  # bounds a hang; a passing test never waits this long


def env_with(path: Path) -> dict[str, str]:
    """The environment, with `path` (where a test writes its strategy modules) importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(path), env.get("PYTHONPATH")) if p)
    return env


# ---------------------------------------------------------------------- the simulator


class SimProcess:
    """`twsapp sim --port 0` in a subprocess; its port read from the line it prints."""

    def __init__(self, log_path: Path, *args: str, speed: float = 60.0) -> None:
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [*SIM, "--port", "0", "--speed", str(speed), "--seed", "7", *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], DEADLINE)
        line = self.proc.stdout.readline() if ready else ""
        found = re.search(r"listening on \S+:(\d+) \(server version (\d+)\)", line)
        if found is None:
            self.stop()
            raise AssertionError(f"twsapp sim did not start: {line!r}, {log_path.read_text()}")
        self.port = int(found.group(1))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


_inspector_ids = iter(range(900, 2000))


@dataclass
class SimRecord:
    """What the simulator holds: orders by permId (status, filled, orderRef), fills by execId
    (in the order it reported them, with side, time, conId and the commission of its report),
    positions by (account, conId)."""

    orders: dict[int, dict[str, Any]]
    fills: dict[str, dict[str, Any]]
    positions: dict[tuple[str, int], float] = field(default_factory=dict)


def sim_record(port: int) -> SimRecord:
    """Ask the simulator, as any API client can: every open and completed order, every fill,
    every position."""
    client = SimClient().start(port, next(_inspector_ids))
    try:
        since = client.mark()
        client.reqAllOpenOrders()
        client.wait("openOrderEnd", since)
        client.reqCompletedOrders(False)
        client.wait("completedOrdersEnd", since)
        client.reqExecutions(1, ExecutionFilter())
        client.wait("execDetailsEnd", since)
        client.reqPositions()
        client.wait("positionEnd", since)
        client.cancelPositions()
        client.sync()  # the commission reports that follow the executions
        orders: dict[int, dict[str, Any]] = {}
        for e in client.of("openOrder", since):
            orders[e.order.permId] = {
                "status": e.orderState.status,
                "filled": None,
                "order_ref": e.order.orderRef,
            }
        for e in client.of("orderStatus", since):
            orders[e.permId].update(status=e.status, filled=float(e.filled))
        for e in client.of("completedOrder", since):
            filled = float(e.order.filledQuantity)
            orders[e.order.permId] = {
                "status": e.orderState.status,
                "filled": filled,
                "order_ref": e.order.orderRef,
            }
        commissions = {
            e.commissionAndFeesReport.execId: e.commissionAndFeesReport.commissionAndFees
            for e in client.of("commissionAndFeesReport", since)
        }
        fills = {
            e.execution.execId: {
                "perm_id": e.execution.permId,
                "shares": float(e.execution.shares),
                "price": e.execution.price,
                "side": e.execution.side,
                "time": e.execution.time,
                "con_id": e.contract.conId,
                "commission": commissions.get(e.execution.execId),
            }
            for e in client.of("execDetails", since)
        }
        positions = {
            (e.account, e.contract.conId): float(e.position) for e in client.of("position", since)
        }
        return SimRecord(orders, fills, positions)
    finally:
        client.stop()


def assert_sim_holds_nothing(port: int) -> None:
    record = sim_record(port)
    assert record.orders == {} and record.fills == {}, f"orders reached TWS: {record}"


def assert_summary_is_tws(
    summary: dict[str, Any], port: int, *, positions: bool = False
) -> SimRecord:
    """The summary's orders and fills are exactly what the simulator holds, status for status
    and fill for fill (commissions included); with ``positions``, its positions too."""
    record = sim_record(port)
    ours = {o["perm_id"]: o for o in summary["orders"] if o["perm_id"] is not None}
    refused = [o for o in summary["orders"] if o["perm_id"] is None]
    assert all(o["rejected"] for o in refused), refused  # else: sent and never acknowledged
    assert set(ours) == set(record.orders), (summary["orders"], record.orders)
    for perm_id, tws in record.orders.items():
        assert ours[perm_id]["status"] == tws["status"], (ours[perm_id], tws)
        assert ours[perm_id]["filled"] == tws["filled"], (ours[perm_id], tws)
    fills = {f["exec_id"]: f for f in summary["fills"]}
    assert set(fills) == set(record.fills), (summary["fills"], record.fills)
    for exec_id, tws in record.fills.items():
        ours_fill = fills[exec_id]
        keys = ("perm_id", "shares", "price", "side", "commission")
        assert [ours_fill[k] for k in keys] == [tws[k] for k in keys], (ours_fill, tws)
    if positions:
        held = {(p["account"], p["con_id"]): p["position"] for p in summary["positions"]}
        assert held == record.positions, (summary["positions"], record.positions)
    return record


# ---------------------------------------------------------------------- the run


def write_config(
    folder: Path,
    port: int,
    client_id: int,
    strategies: Iterable[dict[str, Any]] = (),
    connect_timeout: float = 10.0,
    extra: Iterable[str] = (
        "[control]",
        "enabled = false",  # no control API: nothing to clash with
        "[risk]",
        "max_price_deviation_pct = 90.0",  # their orders rest far from the market
    ),
    tws: Iterable[str] = (),
) -> Path:
    """A config.toml for mode = "tws" at 127.0.0.1:`port`, with these [[strategies]];
    ``tws``: more lines of [tws]; ``extra``: more sections before the strategies."""
    lines = [
        'mode = "tws"',
        'log_level = "INFO"',
        "[tws]",
        'host = "127.0.0.1"',
        f"port = {port}",
        f"client_id = {client_id}",
        f"connect_timeout = {connect_timeout}",
        *tws,
        *extra,
    ]
    for entry in strategies:
        lines.append("[[strategies]]")
        lines += [f"{key} = {_toml(value)}" for key, value in entry.items()]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    return repr(value)


def write_module(folder: Path, name: str, source: str) -> None:
    """A strategy module `name` in `folder` (importable through env_with(folder))."""
    (folder / f"{name}.py").write_text(textwrap.dedent(source))


def run(folder: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`twsapp run` to its end."""
    return subprocess.run(
        [*RUN, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        env=env_with(folder),
    )


class Running:
    """`twsapp run` in the background, its stderr collected line by line as it comes.

    Every one started is killed at the end of its test if still running (conftest.py): a run
    reconnects for ever, so one left behind by a failed test would outlive the suite."""

    started: ClassVar[list[Running]] = []

    def __init__(self, folder: Path, config: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*RUN, "--config", str(config), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env_with(folder),
        )
        Running.started.append(self)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, text: str, timeout: float = DEADLINE, count: int = 1) -> None:
        """Until `count` lines of stderr contain `text`."""

        def found() -> int:
            return sum(text in line for line in self.lines)

        def seen() -> bool:
            return found() >= count or not self._reader.is_alive()

        with self._cond:
            self._cond.wait_for(seen, timeout)
            assert found() >= count, f"not {count} x {text!r} in:\n{''.join(self.lines)}"

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = DEADLINE) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(DEADLINE)
        return code

    @property
    def stderr(self) -> str:
        with self._cond:
            return "".join(self.lines)


def summary_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def states(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, state) of each strategy, in the config's order."""
    return [(name, s["state"]) for name, s in summary["strategies"].items()]
