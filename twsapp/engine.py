"""Wires everything: simulator (in sim mode), client, book, strategies; start-up sync; shutdown.

The only module that knows every other one. It owns the process's lifetime: ``run`` returns when
the duration ends, ``stop`` is called (SIGINT / SIGTERM from the CLI) or the connection to TWS is
lost (then ``failed`` says why and ``run`` returns EXIT_CONNECTION_LOST).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from .book import OrderBook
from .config import Config
from .events import Disconnected
from .session import TwsApp
from .strategy import Context, StrategyRunner, load_strategy

log = logging.getLogger("twsapp.engine")

SIGNAL_POLL = 0.2  # seconds: how soon a SIGINT / SIGTERM is noticed

EXIT_OK = 0
EXIT_CONNECTION_LOST = 4  # `twsapp run`'s exit code when TWS went away while running


class Engine:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.book = OrderBook()
        # FA groups are known only for the embedded simulator (config lists them); with a real
        # TWS the config has none, so any faGroup is left for TWS to check (None).
        groups = tuple(config.sim.fa_groups) if config.mode == "sim" else None
        self.app = TwsApp(self.book, default_account=config.tws.account, fa_groups=groups)
        self.sim = None
        self.runners: list[StrategyRunner] = []
        self.failed: str | None = None  # why the run ended early (connection lost), else None
        self._stop = threading.Event()
        self._signalled = False
        self._connected = False  # start() connected: a disconnect from here on is a failure
        self._shutting_down = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Engine:
        cfg = self.config
        for note in cfg.notes:
            log.info("config: %s", note)
        host, port = cfg.tws.host, cfg.tws.port
        if cfg.mode == "sim":
            self.sim = self._start_sim()
            host, port = cfg.sim.host, self.sim.port
        self.book.subscribe(self._on_book_event)
        self.app.subscribe(self._on_disconnected, Disconnected)  # before start: none unseen
        self.app.start(
            host, port, cfg.tws.client_id, timeout=cfg.tws.connect_timeout, live=cfg.tws.live
        )
        self._connected = True
        self.app.sync()
        log.info(
            "synced: %d orders, %d fills, %d positions",
            len(self.book.orders_df()),
            len(self.book.fills_df()),
            len(self.book.positions_df()),
        )
        for entry in cfg.strategies:
            cls = load_strategy(entry.module)
            ctx = Context(self.app, logging.getLogger(f"twsapp.strategy.{entry.module}"))
            runner = StrategyRunner(entry.module, cls(ctx, entry.params))
            self.runners.append(runner)
            runner.start()
            log.info("strategy %s started", entry.module)
        return self

    def _start_sim(self):
        from .sim.server import SimServer, SimSettings

        s = self.config.sim
        settings = SimSettings(
            host=s.host,
            port=s.port,
            server_version=s.effective_server_version,
            seed=s.seed,
            speed=s.speed,
            accounts=list(s.accounts),
            start=s.start,
            display_size=s.display_size,
            instruments_file=str(s.instruments_file) if s.instruments_file else None,
            bars={name: str(path) for name, path in s.bars.items()},
        )
        sim = SimServer(settings).start()
        log.info(
            "embedded simulator on %s:%d (server version %d, speed %gx)",
            s.host, sim.port, settings.server_version, s.speed,
        )  # fmt: skip
        return sim

    def run(self, duration: float | None = None) -> int:
        """Block until ``stop()``, ``duration`` seconds or a lost connection; the exit code."""
        deadline = None if duration is None else time.monotonic() + duration
        while not self._stop.is_set() and not self._signalled:
            left = (
                SIGNAL_POLL if deadline is None else min(SIGNAL_POLL, deadline - time.monotonic())
            )
            if left <= 0:
                break
            self._stop.wait(left)
        return EXIT_CONNECTION_LOST if self.failed is not None else EXIT_OK

    def stop(self) -> None:
        self._stop.set()

    def stop_from_signal(self) -> None:
        """For signal handlers: only a plain assignment, no lock.

        A handler runs on the main thread between bytecodes, possibly while that thread holds
        the stop Event's internal lock (inside ``wait``); ``Event.set`` there would deadlock.
        """
        self._signalled = True

    def shutdown(self) -> None:
        self._shutting_down = True
        for runner in self.runners:
            runner.stop()
        self.app.stop()
        if self.sim is not None:
            self.sim.stop()
        log.info("stopped")

    # ------------------------------------------------------------------ events

    def _on_book_event(self, event: Any) -> None:
        log.info("%s", _describe(event))
        for runner in self.runners:
            runner.post(event)

    def _on_disconnected(self, event: Disconnected) -> None:
        """On the api thread: only records and wakes ``run``, never blocks."""
        if self._shutting_down or not self._connected:
            return  # our own stop, or a failed start (start() raises the reason)
        # No reconnect yet (a later issue, reliability): a lost connection ends the run with a
        # non-zero exit code, so that whatever supervises the process can restart it.
        where = f"{self.app.host}:{self.app.port}"
        self.failed = f"connection to TWS at {where} lost"
        log.error("%s: stopping (twsapp does not reconnect yet)", self.failed)
        self._stop.set()

    # ------------------------------------------------------------------ summary

    def summary(self) -> dict[str, Any]:
        def records(frame) -> list[dict[str, Any]]:
            return json.loads(
                frame.to_json(orient="records", date_format="iso", default_handler=str)
            )

        return {
            "orders": records(self.book.orders_df()),
            "fills": records(self.book.fills_df()),
            "positions": records(self.book.positions_df()),
            "strategies_failed": [r.name for r in self.runners if r.failed is not None],
            "failed": self.failed,
        }

    def write_summary(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.summary(), indent=2, default=str) + "\n")


def _describe(event: Any) -> str:
    describe = getattr(event, "describe", None)
    return describe() if callable(describe) else repr(event)
