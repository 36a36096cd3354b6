"""`twsapp accounts | orders | place | modify | cancel | positions | trades` as a user runs them:
against a `twsapp run` in the background, itself connected to `twsapp sim` in another process.
What TWS holds at the end is asked of the simulator, never read from the run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from run_helpers import DEADLINE, Running, SimProcess, sim_record, write_config

TWSAPP = [sys.executable, "-m", "twsapp"]
CONTROL = (
    "[control]", "port = 0",
    "[risk]", 'confirm = "ask"', "max_quantity = 50", "max_price_deviation_pct = 30.0",
)  # fmt: skip


def cli(config, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TWSAPP, *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        stdin=subprocess.DEVNULL,  # no terminal: a question is not answered unless --yes
    )


def ok(config, *args: str) -> str:
    done = cli(config, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def orders_json(config, *extra: str) -> dict[int, dict]:
    return {o["orderId"]: o for o in json.loads(ok(config, "orders", "--json", *extra))}


@pytest.fixture
def running(tmp_path):
    sim = SimProcess(tmp_path / "sim.log")
    run = None
    try:
        config = write_config(tmp_path, sim.port, 3, extra=CONTROL)
        run = Running(tmp_path, config)
        run.wait_for("control API listening on http://127.0.0.1:")
        yield config, sim, run
    finally:
        if run is not None and run.proc.poll() is None:
            run.signal(signal.SIGINT)
            run.wait()
        sim.stop()


def test_the_commands_say_so_when_no_run_is_there(tmp_path):
    config = write_config(tmp_path, 7497, 3, extra=("[control]", "port = 0"))
    done = cli(config, "orders")
    assert done.returncode == 1
    assert "no twsapp run of this config" in done.stderr and "is running" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_commands_drive_a_running_process(running):
    config, sim, run = running
    assert "DU1234567" in ok(config, "accounts")
    placed = ok(config, "place", "AAPL", "BUY", "10", "LMT", "130.00")
    first = int(placed.split()[1])
    assert f"order {first} placed: BUY 10 AAPL LMT 130.0 in DU1234567" in placed

    asked = cli(config, "place", "AAPL", "BUY", "100", "LMT", "130.00")  # over max_quantity
    assert asked.returncode == 3 and "[o383]" in asked.stderr and "--yes" in asked.stderr
    assert len(orders_json(config)) == 1  # nothing placed without an answer
    second = int(ok(config, "place", "AAPL", "BUY", "100", "LMT", "129.00", "--yes").split()[1])

    table = ok(config, "orders")
    header = table.splitlines()[0].split()
    assert header[:7] == ["id", "symbol", "side", "qty", "type", "price", "aux"]
    assert {str(first), str(second)} <= {line.split()[0] for line in table.splitlines()[1:]}

    assert "modified" in ok(config, "modify", str(first), "--price", "131")
    assert orders_json(config)[first]["price"] == 131.0
    refused = cli(config, "modify", str(first), "--price", "131.001")
    assert refused.returncode == 2 and "tick" in refused.stderr

    assert "cancel requested" in ok(config, "cancel", str(first))
    by_symbol = ok(config, "cancel", "--symbol", "AAPL", "--type", "LMT", "--side", "BUY")
    assert f"{second} " in by_symbol and f"order {second}: cancel requested" in by_symbol

    third = int(ok(config, "place", "AAPL", "SELL", "3", "LMT", "190", "--yes").split()[1])
    assert "cancel requested" in ok(config, "cancel", "--all")

    bought = int(ok(config, "place", "AAPL", "BUY", "5", "MKT").split()[1])
    rows = json.loads(ok(config, "positions", "--json"))
    assert [(r["ticker"], r["position"]) for r in rows] == [("AAPL", 5.0)]
    assert "AAPL" in ok(config, "positions")
    trades = json.loads(ok(config, "trades", "--json"))
    assert [t["order_id"] for t in trades] == [bought] and trades[0]["side"] == "B"
    everything = orders_json(config, "--all")
    assert {everything[i]["status"] for i in (first, second, third)} == {"Cancelled"}

    run.signal(signal.SIGINT)
    assert run.wait() == 0
    assert "control API" in run.stderr
    held = sim_record(sim.port)
    statuses = sorted(o["status"] for o in held.orders.values())
    assert statuses == ["Cancelled", "Cancelled", "Cancelled", "Filled"]
    after = cli(config, "orders")
    assert after.returncode == 1 and "no twsapp run" in after.stderr
