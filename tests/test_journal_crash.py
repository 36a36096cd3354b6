"""[journal]: `twsapp run` killed with SIGKILL while a stream of orders is still going out (the
pacer holds most of it), then run again with the same journal. The second run rebuilds its
book from the journal, resyncs with TWS, and ends equal to what TWS holds: the orders TWS never
received are rejected (nothing was sent), never sent again, and no order id reaches TWS twice.

The simulator runs in this process (real sockets, real clock) so that the test can read every
placeOrder it received; the runs are subprocesses.
"""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
from app_helpers import placed_ids
from run_helpers import (
    DEADLINE,
    Running,
    assert_summary_is_tws,
    summary_of,
    write_config,
    write_module,
)

from twsapp.journal import Journal
from twsapp.sim.server import SimServer, SimSettings

CLIENT_ID = 41
STREAM = 120
MORE = 5

STREAMER = """
    from twsapp.orders import limit_order
    from twsapp.strategy import Strategy, Param

    class Streamer(Strategy):
        count = Param(int, 1, "orders to place")

        def on_start(self):
            aapl = self.ctx.lookup("AAPL")
            self.records = [self.ctx.place(aapl, limit_order("BUY", 1, 50.0))
                            for _ in range(self.count)]
            self.ctx.log.info("all placed")

        def on_status(self, event):
            if all(r.status == "Submitted" for r in self.records):
                self.ctx.log.info("all acknowledged")
"""


def _config(folder, port, strategies):
    return write_config(
        folder,
        port,
        CLIENT_ID,
        strategies,
        extra=("[control]", "enabled = false", "[risk]", "max_price_deviation_pct = 90.0"),
    )


@pytest.fixture
def sim():
    server = SimServer(SimSettings(port=0, speed=60.0, seed=7, server_version=225)).start()
    yield server
    server.stop()


def test_a_run_killed_mid_stream_restarts_from_its_journal(tmp_path, sim):
    write_module(tmp_path, "streamer", STREAMER)
    config = _config(tmp_path, sim.port, [{"module": "streamer", "count": STREAM}])
    first = Running(tmp_path, config)
    try:
        first.wait_for("all placed")  # every place() returned: all journaled, few sent yet
        deadline = time.monotonic() + DEADLINE
        while len(placed_ids(sim, CLIENT_ID)) < STREAM // 4:  # bounded wait for the subprocess
            assert time.monotonic() < deadline and first.proc.poll() is None, first.stderr
            time.sleep(0.02)
        first.signal(signal.SIGKILL)
    finally:
        first.wait()
    received = set(placed_ids(sim, CLIENT_ID))
    assert STREAM // 4 <= len(received) < STREAM  # killed in the middle of the stream
    journal = Journal(tmp_path / "journal.sqlite")
    try:
        journaled = [e.args[1] for e in journal.entries() if e.kind == "place"]
    finally:
        journal.close()
    assert len(journaled) == STREAM

    # Again, same journal; a strategy that places a few more must get ids past all of them.
    config = _config(tmp_path, sim.port, [{"module": "streamer", "count": MORE}])
    summary_path = tmp_path / "summary.json"
    second = Running(tmp_path, config, "--summary-json", str(summary_path))
    second.wait_for("all acknowledged")
    second.signal(signal.SIGINT)
    assert second.wait() == 0, second.stderr
    summary = summary_of(summary_path)
    assert_summary_is_tws(summary, sim.port)
    ids = placed_ids(sim, CLIENT_ID)
    assert [i for i, n in Counter(ids).items() if n > 1] == []  # no order placed twice
    ours = {o["order_id"]: o for o in summary["orders"]}
    assert set(journaled) <= set(ours)  # the book was rebuilt: every order of the first run
    for order_id in journaled:
        if order_id in received:
            assert ours[order_id]["status"] == "Submitted", ours[order_id]
        else:
            assert ours[order_id]["rejected"], ours[order_id]
    new = sorted(set(ours) - set(journaled))
    assert len(new) == MORE and min(new) > max(journaled)
    assert all(ours[i]["status"] == "Submitted" for i in new)
