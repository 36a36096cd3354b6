"""A restart as a user meets it: `twsapp run` trades (one order cancelled, one filled) against a
separate `twsapp sim`, stops; a second `twsapp run` with the same client id syncs and writes its
summary. Every order must come back with its quantity, and with its order id wherever a message
TWS sends carries it; the summary must equal what the simulator holds.
"""

from __future__ import annotations

import signal

import pytest
from run_helpers import (
    Running,
    SimProcess,
    assert_summary_is_tws,
    run,
    summary_of,
    write_config,
    write_module,
)

CLIENT_ID = 21

TRADER = """
    from twsapp.orders import limit_order, market_order
    from twsapp.strategy import Strategy

    class Trader(Strategy):
        def on_start(self):
            aapl = self.ctx.lookup("AAPL")
            self.resting = self.ctx.place(aapl, limit_order("BUY", 3, 50.0))
            self.bought = self.ctx.place(aapl, market_order("BUY", 2))

        def on_status(self, event):
            rec = event.record
            if rec.order_id == self.resting.order_id and event.after == "Submitted":
                self.ctx.cancel(rec.order_id)
            if self.resting.status == "Cancelled" and self.bought.status == "Filled":
                self.ctx.log.info("both done")
"""


@pytest.fixture(params=[176, 225], ids=["text-v176", "protobuf-v225"])
def sim(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim")
    server = SimProcess(folder / "sim.log", "--server-version", str(request.param))
    server.version = request.param
    yield server
    server.stop()


def test_a_restart_shows_every_order_with_its_quantity_and_known_id(tmp_path, sim):
    write_module(tmp_path, "trader", TRADER)
    first_dir = tmp_path / "first"
    first_dir.mkdir()
    config = write_config(first_dir, sim.port, CLIENT_ID, [{"module": "trader"}])
    first_summary = first_dir / "summary.json"
    running = Running(tmp_path, config, "--summary-json", str(first_summary))
    running.wait_for("both done")
    running.signal(signal.SIGINT)
    assert running.wait() == 0, running.stderr
    placed = {o["perm_id"]: o for o in summary_of(first_summary)["orders"]}
    assert sorted(o["status"] for o in placed.values()) == ["Cancelled", "Filled"]

    second_dir = tmp_path / "second"
    second_dir.mkdir()
    config = write_config(second_dir, sim.port, CLIENT_ID)
    second_summary = second_dir / "summary.json"
    proc = run(tmp_path, config, "--duration", "0.5", "--summary-json", str(second_summary))
    assert proc.returncode == 0, proc.stderr
    data = summary_of(second_summary)
    assert_summary_is_tws(data, sim.port)
    again = {o["perm_id"]: o for o in data["orders"]}
    assert set(again) == set(placed)
    for perm_id, before in placed.items():
        after = again[perm_id]
        assert (after["status"], after["quantity"], after["filled"]) == (
            before["status"],
            before["quantity"],
            before["filled"],
        ), after
        # The filled order's id comes with its executions; a cancelled one's only with a
        # completedOrder that carries ids (protobuf), never made up.
        if before["status"] == "Filled" or sim.version >= 204:
            assert (after["client_id"], after["order_id"]) == (CLIENT_ID, before["order_id"])
        else:
            assert after["order_id"] is None and after["ids_from"] == ""
