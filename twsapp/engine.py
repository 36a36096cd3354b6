"""Wires everything: simulator (in sim mode), client, book, strategies; start-up; shutdown order.

The only module that knows every other one. It owns the process's lifetime:

1. ``prepare``: import every strategy and check its parameters, before any connection, so a bad
   entry costs nothing at TWS;
2. ``start``: connect and sync (a stop asked for meanwhile abandons the connection at once),
   then start the strategies, unless a stop was asked for first;
3. ``run``: until the duration ends, ``stop`` is called (SIGINT / SIGTERM from the CLI), every
   strategy has failed, or the connection to TWS is lost (``failed`` says why);
4. ``shutdown``: the strategies stop (``on_stop`` on their threads), TWS answers their last
   requests (bounded), a reqCurrentTime barrier, the summary from the book, then the socket
   closes. So the summary is what TWS holds at exit.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .book import BookEvent, FillReceived, OrderBook
from .book.status import PENDING
from .config import Config, StrategyConfig
from .control import ControlServer
from .events import Disconnected
from .exceptions import ConfigError, StrategyError, TwsAppError
from .journal import Journal
from .marketdata import MarketData
from .pnl import LastFillPrices, pnl_df
from .session import TwsApp
from .session.heartbeat import Heartbeat
from .session.reconnect import Backoff
from .strategy import Context, ParamError, StrategyRunner, load_strategy, report

log = logging.getLogger("twsapp.engine")

SIGNAL_POLL = 0.1  # seconds: how soon a SIGINT / SIGTERM is noticed
STOP_TIMEOUT = 10.0  # seconds the strategies' on_stop may take, together
SETTLE_TIMEOUT = 10.0  # seconds TWS has to answer the strategies' last requests
ABANDON_TIMEOUT = 5.0  # seconds an abandoned connect may take to wind down

EXIT_OK = 0
EXIT_BAD_INPUT = 2  # the config, a strategy or its parameters, a command-line value
EXIT_CANNOT_CONNECT = 3
EXIT_CONNECTION_LOST = 4  # TWS went away while running
EXIT_STRATEGY_FAILED = 5  # a strategy raised (in a hook) or did not stop in time


class Engine:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.book = OrderBook()
        # FA groups come from TWS (or the embedded simulator, [sim.fa_groups]) at connect:
        # requestFA, when the login manages several accounts (TwsApp).
        self.prices = LastFillPrices()  # unrealized P&L's prices: the last fill, quote or bar
        # [journal]: every order intent and callback, before it is acted on (journal.py)
        self.journal = Journal(config.journal.path)
        self.app = TwsApp(
            self.book, default_account=config.tws.account,
            risk=config.risk, prices=self.prices,  # [risk] guards every order, from anywhere
            max_messages_per_second=config.pacing.max_messages_per_second,  # [pacing]
            journal=self.journal,
            reconnect=_backoff(config),  # [tws] reconnect: the nightly restart is survived
            while_disconnected=config.tws.while_disconnected,
        )  # fmt: skip
        self.sim: Any = None
        self.runners: list[StrategyRunner] = []
        self.market = MarketData(self.app, prices=self.prices)
        self.heartbeat: Heartbeat | None = None
        self.control: ControlServer | None = None  # the control API ([control]), once bound
        self.failed: str | None = None  # why the run ended early (connection lost), else None
        self.connect_error: str | None = None  # why it could not connect, else None
        self.synced = False  # the book holds what TWS held at start-up
        self._prepared = False
        self._stop = threading.Event()
        self._signalled = False
        self._connected = False  # start() connected: a disconnect from here on is a failure
        self._shutting_down = False
        self._shut_down = False
        self._changed = threading.Condition()  # notified on every event: for the settle wait

    # ------------------------------------------------------------------ lifecycle

    def prepare(self) -> Engine:
        """Import every strategy, check its parameters and create it; nothing is connected.

        In sim mode the embedded simulator is built here too: its instruments and bars files
        are read first, and it listens last (a port in use is a config error too).
        Raises StrategyError or ConfigError, one line naming the config key and the fix.
        """
        if not self._prepared:
            sim = self._make_sim() if self.config.mode == "sim" else None
            names = _unique_names([entry.module for entry in self.config.strategies])
            for index, (entry, name) in enumerate(zip(self.config.strategies, names, strict=True)):
                self.runners.append(self._make_runner(index, entry, name))
            if self.config.control.enabled:  # a busy port or bad token file: exit 2 here
                self.control = ControlServer(self.config.control).bind()
            if sim is not None:
                self.sim = self._listen(sim)
            self._prepared = True
        return self

    def _make_runner(self, index: int, entry: StrategyConfig, name: str) -> StrategyRunner:
        key = f"strategies[{index}]"
        try:
            cls = load_strategy(entry.module)
        except StrategyError as exc:
            raise StrategyError(f"{key}.module: {exc}") from None
        logger = logging.getLogger(f"twsapp.strategy.{name}")
        ctx = Context(self.app, logger, name, prices=self.prices, market=self.market)
        try:
            strategy = cls(ctx, entry.params)  # checks the parameters first (ParamError)
        except ParamError as exc:
            raise StrategyError(f"{key}.{exc}") from None
        except Exception as exc:
            raise StrategyError(
                f"{key} ({entry.module}): creating {cls.__name__} failed: "
                f"{type(exc).__name__}: {exc} — fix its __init__ (what needs TWS belongs in "
                "on_start)"
            ) from None
        return StrategyRunner(name, entry.module, strategy)

    def start(self) -> Engine:
        """Prepare, connect and sync, then start the strategies; a stop asked for before the
        strategies start means none starts (and, before connecting, no connection)."""
        self.prepare()
        for note in self.config.notes:
            log.info("config: %s", note)
        if self.stop_requested:
            log.info("stop requested before connecting: nothing connected, no strategy started")
            return self
        self.app.subscribe(self._on_event)
        self.app.subscribe(self._on_disconnected, Disconnected)  # before start: none unseen
        if not self._connect_unless_stopped():
            log.info("stop requested while connecting: connection abandoned, no strategy started")
            return self
        if self.config.tws.heartbeat_seconds > 0:  # notices a frozen TWS, resyncs after it
            self.heartbeat = Heartbeat(self.app, self.config.tws.heartbeat_seconds).start()
        if self.control is not None:  # after the sync: its views start complete
            names = [runner.name for runner in self.runners]
            self.control.serve(self.app, prices=self.prices, strategies=lambda: names)
        for runner in self.runners:
            if self.stop_requested:
                log.info("stop requested: strategy %s not started", runner.name)
                continue
            runner.start()
            log.info("strategy %s started", runner.name)
        return self

    def _connect_unless_stopped(self) -> bool:
        """Connect and sync on a helper thread, watching for a stop; False if it came first.

        Raises what connecting or syncing raised (a TwsAppError: ConnectError when TWS cannot
        be reached, RequestTimeout when it does not answer the sync); connect_error says why.
        """
        outcome: list[BaseException] = []
        worker = threading.Thread(
            target=_capture(self._connect_and_sync, outcome), name="twsapp-connect", daemon=True
        )
        worker.start()
        while worker.is_alive():
            worker.join(SIGNAL_POLL)
            if self.stop_requested and worker.is_alive():
                self._shutting_down = True  # the disconnect that follows is ours
                self.app.stop()  # wakes the handshake or the waits of start() / sync()
                worker.join(ABANDON_TIMEOUT)
                return False
        if self.stop_requested:
            return False  # came as the connect ended: whatever its outcome, nothing starts
        if outcome:
            if isinstance(outcome[0], TwsAppError):
                self.connect_error = str(outcome[0])
            raise outcome[0]
        return True

    def _connect_and_sync(self) -> None:
        cfg = self.config
        host, port = cfg.tws.host, cfg.tws.port
        if self.sim is not None:
            host, port = cfg.sim.host, self.sim.port
        if self.stop_requested:
            return
        if self.sim is not None:  # a new simulated world: an earlier one's orders never existed
            self.journal.clear()
        else:  # the last run's book, then TWS's word on it (sync)
            self.app.replay_journal(cfg.tws.client_id)
        log.info("connecting to %s:%d as client %d", host, port, cfg.tws.client_id)
        self.app.start(
            host, port, cfg.tws.client_id, timeout=cfg.tws.connect_timeout, live=cfg.tws.live
        )
        self._connected = True
        if cfg.tws.market_data_type != 1:  # TWS's default for a new session is live
            self.market.set_data_type(cfg.tws.market_data_type)
        # TWS's word on the book; a journaled order TWS never received is rejected, not re-sent
        self.app.resync("start")
        self.synced = True
        log.info(
            "synced: %d orders, %d fills, %d positions",
            len(self.book.orders_df()),
            len(self.book.fills_df()),
            len(self.book.positions_df()),
        )

    def _make_sim(self) -> Any:
        """The embedded simulator, built from [sim] but not listening yet."""
        from .sim.inputs import SimInputError
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
            pacing=s.pacing,
            fault_plan=list(s.fault_plan),
            fa_groups={name: list(members) for name, members in s.fa_groups.items()},
        )
        try:
            return SimServer(settings)
        except SimInputError as exc:
            if exc.setting is not None:
                raise ConfigError(f"sim.{exc.setting}", exc.named("").strip()) from None
            raise ConfigError("sim", str(exc)) from None

    def _listen(self, sim: Any) -> Any:
        s = self.config.sim
        try:
            sim.start()
        except OSError as exc:
            raise ConfigError(
                "sim.port",
                f"cannot listen on {s.host}:{s.port} ({exc.strerror or exc})",
                "use a free port, or 0 for any free port",
            ) from None
        log.info(
            "embedded simulator on %s:%d (server version %d, speed %gx)",
            s.host, sim.port, sim.settings.server_version, s.speed,
        )  # fmt: skip
        return sim

    def run(self, duration: float | None = None) -> int:
        """Block until a stop, ``duration`` seconds, a lost connection or every strategy
        failed; the exit code so far (``exit_code`` after ``shutdown`` is the final one)."""
        deadline = None if duration is None else time.monotonic() + duration
        while not self.stop_requested:
            if self.runners and all(r.failed for r in self.runners):
                log.error("every strategy has failed: stopping")
                break
            left = SIGNAL_POLL if deadline is None else deadline - time.monotonic()
            if left <= 0:
                break
            self._stop.wait(min(SIGNAL_POLL, left))
        return self.exit_code

    def stop(self) -> None:
        self._stop.set()

    def stop_from_signal(self) -> None:
        """For signal handlers: only a plain assignment, no lock.

        A handler runs on the main thread between bytecodes, possibly while that thread holds
        the stop Event's internal lock (inside ``wait``); ``Event.set`` there would deadlock.
        """
        self._signalled = True

    @property
    def stop_requested(self) -> bool:
        return self._signalled or self._stop.is_set()

    @property
    def exit_code(self) -> int:
        if self.connect_error is not None:
            return EXIT_CANNOT_CONNECT
        if self.failed is not None:
            return EXIT_CONNECTION_LOST
        if any(r.failed for r in self.runners):
            return EXIT_STRATEGY_FAILED
        return EXIT_OK

    def shutdown(self, summary_path: str | Path | None = None) -> int:
        """Stop in order (module docstring), write the summary if asked; the exit code."""
        if not self._shut_down:
            self._shut_down = self._shutting_down = True
            if self.control is not None:
                self.control.close()  # first: no order from outside while the run winds down
            if self.heartbeat is not None:
                self.heartbeat.stop()
            self._stop_strategies()
            self.app.close_orders("the run is shutting down")
            self._await_tws()
            if self.app.ready:
                self._settle()
                self._barrier()
            self._log_results()
            if summary_path is not None:
                self.write_summary(summary_path)
            self.app.stop()
            self.journal.close()
            if self.sim is not None:
                self.sim.stop()
            log.info("stopped")
        return self.exit_code

    def _stop_strategies(self) -> None:
        """All asked at once (they stop in parallel), then waited for, then closed."""
        for runner in self.runners:
            runner.request_stop()
        deadline = time.monotonic() + STOP_TIMEOUT
        for runner in self.runners:
            runner.join(deadline - time.monotonic())
        for runner in self.runners:
            if not runner.ctx.close(max(0.0, deadline - time.monotonic())):
                log.warning("strategy %s is still sending as the run stops", runner.name)

    def _await_tws(self) -> None:
        """A stop while reconnecting or resyncing waits for that to end (bounded), so that the
        summary is still what TWS holds."""
        why = self.app.unreachable
        if not why:
            return
        log.info("TWS is unreachable (%s): waiting up to %gs before the summary", why,
                 SETTLE_TIMEOUT)  # fmt: skip
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while self.app.unreachable and time.monotonic() < deadline:
            time.sleep(SIGNAL_POLL)
        if not self.app.ready:
            log.warning("TWS is still unreachable: the summary shows the book as it is")

    def _unsettled(self) -> list[int]:
        """Ids of the strategies' orders still waiting for TWS's answer."""
        waiting = []
        for runner in self.runners:
            for client_id, order_id in runner.ctx.owned():
                rec = self.book.get(order_id, client_id)
                if rec is not None and (rec.status in PENDING or rec.pending_modifications):
                    waiting.append(order_id)
        return sorted(waiting)

    def _settle(self) -> None:
        with self._changed:
            settled = self._changed.wait_for(
                lambda: not self._unsettled() or not self.app.ready, SETTLE_TIMEOUT
            )
        if not settled:
            log.warning(
                "TWS has not answered for orders %s within %gs: the summary shows them pending",
                self._unsettled(),
                SETTLE_TIMEOUT,
            )

    def _barrier(self) -> None:
        """reqCurrentTime: once answered, everything TWS sent before it is in the book."""
        try:
            self.app.current_time()
        except TwsAppError as exc:
            log.warning("no answer to the shutdown barrier (reqCurrentTime): %s", exc)

    # ------------------------------------------------------------------ events

    def _on_event(self, event: Any) -> None:
        """On the delivering thread (usually the api thread): log, account, hand over, never
        block. Fills are counted in the owner's P&L here, before its hooks can read it, and
        whatever the strategy's state, so that its P&L is complete."""
        if isinstance(event, BookEvent):
            log.info("%s", _describe(event))
        if isinstance(event, FillReceived):
            self.prices.observe(event.fill)
        for runner in self.runners:
            runner.ctx.account_for(event)
            runner.post(event)
        with self._changed:
            self._changed.notify_all()

    def _on_disconnected(self, event: Disconnected) -> None:
        """On the api thread: only records and wakes ``run``, never blocks."""
        if self._shutting_down or event.requested or not self._connected:
            return  # our own stop, or a failed start (start() raises the reason)
        if event.reconnecting:
            return  # the session reconnects and resyncs ([tws] reconnect); the run goes on
        # [tws] reconnect = false: a lost connection ends the run with a non-zero exit code, so
        # that whatever supervises the process can restart it.
        where = f"{self.app.host}:{self.app.port}"
        self.failed = f"connection to TWS at {where} lost"
        log.error("%s: stopping ([tws] reconnect is false)", self.failed)
        self._stop.set()

    # ------------------------------------------------------------------ summary

    def strategies(self) -> dict[str, dict[str, Any]]:
        """Each strategy by name: module, state, error, orders, fills, position and P&L."""
        return {runner.name: report.describe(runner) for runner in self.runners}

    def pnl_df(self) -> Any:
        """Every strategy's P&L, one row per strategy and contract (pnl.PNL_COLUMNS)."""
        return pnl_df({runner.name: runner.ctx.pnl for runner in self.runners})

    def _log_results(self) -> None:
        if self.runners:
            log.info("strategies at the end of the run:")
            for line in report.table(self.strategies()):
                log.info("  %s", line)

    def summary(self) -> dict[str, Any]:
        def records(frame: Any) -> list[dict[str, Any]]:
            return json.loads(
                frame.to_json(orient="records", date_format="iso", default_handler=str)
            )

        return {
            "orders": records(self.book.orders_df()),
            "fills": records(self.book.fills_df()),
            "positions": records(self.book.positions_df()),
            "strategies": self.strategies(),
            "efficiency": self.app.efficiency.summary(),  # per day: IB's order-efficiency ratio
            "synced": self.synced,
            "reconnects": self.app.reconnects,  # connections made again after a loss
            "resyncs": self.app.resyncs,
            "failed": self.failed or self.connect_error,
        }

    def write_summary(self, path: str | Path) -> None:
        try:
            Path(path).write_text(json.dumps(self.summary(), indent=2, default=str) + "\n")
        except OSError as exc:
            log.error("cannot write the summary to %s: %s", path, exc)


def _backoff(config: Config) -> Backoff | None:
    """[tws] reconnect's waits: 1 s, 2 s, 4 s ... up to reconnect_max_seconds; None when off."""
    tws = config.tws
    if not tws.reconnect:
        return None
    cap = tws.reconnect_max_seconds
    return Backoff(first=min(1.0, cap), cap=cap, next_client_id=tws.next_client_id)


def _unique_names(modules: list[str]) -> list[str]:
    """The module name, with #2, #3 ... for its second and later entries."""
    seen: dict[str, int] = {}
    names = []
    for module in modules:
        seen[module] = seen.get(module, 0) + 1
        names.append(module if seen[module] == 1 else f"{module}#{seen[module]}")
    return names


def _capture(work: Callable[[], None], outcome: list[BaseException]) -> Callable[[], None]:
    """`work` for a thread: its exception, if any, is kept in `outcome` for the caller."""

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            outcome.append(exc)

    return run


def _describe(event: Any) -> str:
    describe = getattr(event, "describe", None)
    return describe() if callable(describe) else repr(event)
