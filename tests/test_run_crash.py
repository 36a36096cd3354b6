"""`twsapp run` killed with SIGKILL at a random point of a stream of orders, then run again
with the same journal until it ends cleanly, against a `twsapp sim` subprocess.

Issue 11's crash test: a trading process dies mid-stream and is restarted. The restarted run
must rebuild its book from the journal, resync with TWS, place none of the killed run's
orders again, and end with a summary equal to what the simulator holds. The strategy's
intents are numbered (orderRef ``crasher/i<n>``) and derived deterministically, and it skips
the ones its book already holds, as a real restartable strategy would: so an intent placed
twice shows up at the simulator as two orders with one orderRef. What the simulator holds is
asked of it by a plain ibapi client (run_helpers.sim_record), never read from its memory.
"""

from __future__ import annotations

import random
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from run_helpers import (
    Running,
    SimProcess,
    assert_summary_is_tws,
    summary_of,
    write_config,
    write_module,
)

from twsapp.book.status import PENDING

CLIENT_ID = 31
INTENTS = 24
STRATEGY = "crasher"

# Intents 0, 3, 6 ... are market orders (they fill), the others rest far below the market;
# one every 10 or 50 ms (the config), so a kill can land anywhere in the stream.
CRASHER = """
    from twsapp.orders import limit_order, market_order
    from twsapp.strategy import Param, Strategy

    class Crasher(Strategy):
        count = Param(int, 1, "intents in all")
        every = Param(float, 0.05, "seconds between two orders")

        def on_start(self):
            self.aapl = self.ctx.lookup("AAPL")
            held = {r.order.orderRef for r in self.ctx.orders() if r.order is not None}
            self.todo = [i for i in range(self.count)
                         if self.ctx.order_ref(f"i{i}") not in held]
            self.ctx.log.info("placing %d of %d intents", len(self.todo), self.count)
            self.ctx.schedule(self.every, "next")

        def on_timer(self, name):
            if self.todo:
                i = self.todo.pop(0)
                order = (market_order("BUY", 1) if i % 3 == 0
                         else limit_order("BUY", 1, 50.0 + i / 100))
                order.orderRef = f"i{i}"
                self.ctx.place(self.aapl, order)
                self.ctx.log.info("intent %d placed", i)
            else:
                self.ctx.unschedule("next")
                self._settled()

        def on_status(self, event):
            if not self.todo:
                self._settled()

        def _settled(self):
            if all(r.acknowledged or r.done for r in self.ctx.orders()):
                self.ctx.log.info("all intents settled")
"""


def _run_config(folder: Path, port: int, every: float) -> Path:
    """mode = "tws" at the simulator, a journal of its own, no control API, default heartbeat."""
    return write_config(
        folder,
        port,
        CLIENT_ID,
        [{"module": STRATEGY, "count": INTENTS, "every": every}],
        extra=(
            "[journal]",
            f"path = {str(folder / 'journal.sqlite')!r}",
            "[control]",
            "enabled = false",
            "[risk]",
            "max_price_deviation_pct = 90.0",  # the resting orders sit far from the market
        ),
    )


SEEDS = [
    pytest.param(seed, marks=[] if seed < 3 else [pytest.mark.slow], id=f"seed{seed}")
    for seed in range(8)
]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_run_killed_at_a_random_point_restarts_and_ends_equal_to_tws(tmp_path, seed):
    """Each seed picks its kill points (during the sync, or after N intents), the stream's
    pace, and one kill or two in a row: a journal written by a killed restart is replayed too."""
    rng = random.Random(seed)
    write_module(tmp_path, STRATEGY, CRASHER)
    sim = SimProcess(tmp_path / "sim.log")
    try:
        # One order every 10 ms outruns the pacer (a backlog to die with), every 50 ms not.
        config = _run_config(tmp_path, sim.port, rng.choice((0.01, 0.05)))

        # Killed once or twice: while it replays and syncs, or after a random number of
        # intents; then after a random delay. Every intent it logged as placed was journaled.
        logged = 0
        for _ in range(1 + seed % 2):
            killed = Running(tmp_path, config)
            try:
                if rng.random() < 0.25:
                    killed.wait_for("connecting to")
                else:
                    killed.wait_for("intents")  # "placing N of M intents": it has started
                    todo = int(re.findall(r"placing (\d+) of", killed.stderr)[0])
                    placed = rng.randint(0, todo)
                    if placed:
                        killed.wait_for(" placed\n", count=placed)
                time.sleep(rng.uniform(0.0, 0.05))  # not a wait: a random point to kill at
                killed.signal(signal.SIGKILL)
            finally:
                code = killed.wait()
            assert code == -signal.SIGKILL, killed.stderr  # it was running until killed
            logged += killed.stderr.count(" placed\n")

        summary_path = tmp_path / "summary.json"
        final = Running(tmp_path, config, "--summary-json", str(summary_path))
        final.wait_for("all intents settled")
        final.signal(signal.SIGINT)
        assert final.wait() == 0, final.stderr
        replayed = re.findall(r"entries replayed, (\d+) orders", final.stderr)
        assert replayed and int(replayed[0]) >= logged, final.stderr  # rebuilt from the journal

        summary = summary_of(summary_path)
        record = assert_summary_is_tws(summary, sim.port, positions=True)
    finally:
        sim.stop()

    # Each intent reached TWS at most once, and is in the summary exactly once.
    refs = Counter(o["order_ref"] for o in record.orders.values())
    assert [ref for ref, n in refs.items() if n > 1] == [], refs
    wanted = {f"{STRATEGY}/i{i}" for i in range(INTENTS)}
    assert Counter(o["order_ref"] for o in summary["orders"]) == Counter(wanted)
    assert not [o for o in summary["orders"] if o["status"] in PENDING], summary["orders"]
    ids = Counter(o["order_id"] for o in summary["orders"])
    assert [i for i, n in ids.items() if n > 1] == []
