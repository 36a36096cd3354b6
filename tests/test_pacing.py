"""[pacing]: every message to TWS passes one limiter. A burst is queued and spread, never
refused by TWS (error 100); a cancel goes ahead of queued new orders but never ahead of its own
order's message; new orders keep the order of their ids.
"""

from __future__ import annotations

import signal
import threading

import pytest
from run_helpers import (
    Running,
    SimProcess,
    assert_summary_is_tws,
    summary_of,
    write_config,
    write_module,
)

from twsapp.session.pacing import Efficiency, Pacer

# ---------------------------------------------------------------------- the limiter alone


class Gate:
    """A socket write that holds the pacer's thread on its first frame until released."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.first = threading.Event()
        self.release = threading.Event()
        self.all = threading.Condition()

    def write(self, frame: bytes) -> None:
        if not self.written:
            self.first.set()
            assert self.release.wait(10)
        with self.all:
            self.written.append(frame)
            self.all.notify_all()

    def wait(self, count: int) -> list[bytes]:
        with self.all:
            assert self.all.wait_for(lambda: len(self.written) >= count, 10)
            return list(self.written)


def test_a_cancel_goes_ahead_of_queued_orders_but_never_ahead_of_its_own():
    pacer = Pacer(50)
    gate = Gate()
    try:
        pacer.send(b"request", gate.write)
        assert gate.first.wait(10)  # the thread is held on it: the rest stays queued
        for kind, order_id, frame in [
            ("place", 1, b"place 1"),
            ("place", 2, b"place 2"),
            ("cancel", 7, b"cancel 7"),  # nothing of order 7 queued: it goes first
            ("cancel", 1, b"cancel 1"),  # order 1's placeOrder is queued: after it
            ("modify", 2, b"modify 2"),
            ("cancel", 8, b"cancel 8"),
        ]:
            with pacer.tagged(kind, order_id):
                pacer.send(frame, gate.write)
        assert pacer.backlog() > 0
        gate.release.set()
        assert gate.wait(7) == [b"request", b"cancel 7", b"cancel 8", b"place 1", b"place 2",
                                b"cancel 1", b"modify 2"]  # fmt: skip
    finally:
        gate.release.set()
        pacer.close()
    assert pacer.thread is not None and not pacer.thread.is_alive()


def test_unpaced_writes_at_once_and_a_rate_above_tws_limit_is_refused():
    written: list[bytes] = []
    Pacer(None).send(b"x", written.append)
    assert written == [b"x"]
    with pytest.raises(ValueError, match="max_messages_per_second"):
        Pacer(51)


def test_the_efficiency_ratio_is_per_day():
    from datetime import date

    today = [date(2024, 5, 1)]
    counts = Efficiency(lambda: today[0])
    counts.count("submits", 3)
    counts.count("cancels")
    counts.count("fills")
    today[0] = date(2024, 5, 2)
    counts.count("modifies", 2)
    assert counts.summary() == [
        {"day": "2024-05-01", "submits": 3, "modifies": 0, "cancels": 1, "fills": 1, "ratio": 2.0},
        {"day": "2024-05-02", "submits": 0, "modifies": 2, "cancels": 0, "fills": 0, "ratio": 2.0},
    ]


# ---------------------------------------------------------------------- 500 orders at once

COUNT = 500

BURST = f"""
    from twsapp.orders import limit_order
    from twsapp.strategy import Strategy

    class Burst(Strategy):
        def on_start(self):
            self.acked = set()
            aapl = self.ctx.lookup("AAPL")
            self.records = [self.ctx.place(aapl, limit_order("BUY", 1, 50.0))
                            for _ in range({COUNT})]
            self.ctx.log.info("all placed")

        def on_status(self, event):
            if event.after == "Submitted":
                self.acked.add(event.record.order_id)
                if len(self.acked) == {COUNT}:
                    self.ctx.log.info("all acknowledged")
"""


@pytest.mark.parametrize("version", [176, 225], ids=["text-v176", "protobuf-v225"])
def test_500_orders_at_once_reach_tws_with_no_pacing_error(tmp_path, version):
    # at real-time speed: at 60x the simulator spends most of each second matching the 500
    # resting orders, reads a backlog of frames at once and counts them in one second
    server = SimProcess(tmp_path / "sim.log", "--server-version", str(version), speed=1.0)
    try:
        write_module(tmp_path, "burst", BURST)
        config = write_config(
            tmp_path,
            server.port,
            31,
            [{"module": "burst"}],
            extra=("[control]", "enabled = false", "[risk]", "max_price_deviation_pct = 90.0",
                   "[journal]", 'path = ":memory:"'),  # [pacing]: the default, 45 a second
        )  # fmt: skip
        summary_path = tmp_path / "summary.json"
        running = Running(tmp_path, config, "--summary-json", str(summary_path))
        running.wait_for("all placed")  # place() returned at once for every one of them
        running.wait_for("all acknowledged")
        running.signal(signal.SIGINT)
        assert running.wait() == 0, running.stderr
        assert "TWS 100" not in running.stderr
        assert "Max rate of messages" not in (tmp_path / "sim.log").read_text()
        summary = summary_of(summary_path)
        assert len(summary["orders"]) == COUNT
        assert {o["status"] for o in summary["orders"]} == {"Submitted"}
        assert_summary_is_tws(summary, server.port)
        [day] = summary["efficiency"]
        assert (day["submits"], day["modifies"], day["cancels"], day["fills"]) == (COUNT, 0, 0, 0)
        assert day["ratio"] == COUNT
    finally:
        server.stop()
