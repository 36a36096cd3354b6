"""`twsapp run` refuses bad input before connecting, and a stop before the strategies start
starts none: each run here must leave the simulator (a `twsapp sim` subprocess shared by the
module) holding no order at all, which every test checks through a plain ibapi client."""

from __future__ import annotations

import signal
import socket
import threading
import time
from itertools import count

import pytest
from run_helpers import (
    Running,
    SimProcess,
    assert_sim_holds_nothing,
    run,
    states,
    summary_of,
    write_config,
    write_module,
)

_client_ids = count(11)

# A strategy that trades as soon as it starts: if it ever starts, the simulator has an order.
TRADER = """
    from twsapp.orders import market_order
    from twsapp.strategy import Strategy

    class Trader(Strategy):
        def on_start(self):
            self.ctx.place(self.ctx.lookup("AAPL"), market_order("BUY", 1))
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    server = SimProcess(tmp_path_factory.mktemp("sim") / "sim.log")
    yield server
    server.stop()


@pytest.fixture
def folder(tmp_path, sim):
    write_module(tmp_path, "trader", TRADER)
    yield tmp_path
    assert_sim_holds_nothing(sim.port)


def _config(folder, sim, *strategies, **kwargs):
    return write_config(folder, sim.port, next(_client_ids), strategies, **kwargs)


def _one_line(proc, *words):
    """Exit 2, exactly one line on stderr, naming every one of `words`."""
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# ---------------------------------------------------------------------- strategy modules


def test_a_missing_module_is_one_line_and_nothing_is_sent(folder, sim):
    config = _config(folder, sim, {"module": "trader"}, {"module": "no_such_strategy"})
    line = _one_line(run(folder, config), "strategies[1].module", "no_such_strategy")
    assert "PYTHONPATH" in line


def test_a_misspelt_module_gets_a_suggestion(folder, sim):
    config = _config(folder, sim, {"module": "strategies.dmeo"})
    _one_line(run(folder, config), "did you mean 'strategies.demo'?")


def test_a_module_without_a_strategy_is_one_line(folder, sim):
    write_module(folder, "empty", "X = 1\n")
    config = _config(folder, sim, {"module": "trader"}, {"module": "empty"})
    _one_line(run(folder, config), "strategies[1].module", "empty", "Strategy subclass")


def test_a_second_module_that_fails_to_import_stops_the_first_from_trading(folder, sim):
    write_module(folder, "broken", "import trader\n\nvalue = 1 / 0\n")
    config = _config(folder, sim, {"module": "trader"}, {"module": "broken"})
    line = _one_line(run(folder, config), "strategies[1].module", "ZeroDivisionError")
    assert "broken.py:3" in line


def test_a_strategy_whose_constructor_raises_is_one_line(folder, sim):
    write_module(
        folder,
        "fussy",
        """
        from twsapp.strategy import Strategy

        class Fussy(Strategy):
            def __init__(self, ctx, params):
                super().__init__(ctx, params)
                raise RuntimeError("not today")
        """,
    )
    config = _config(folder, sim, {"module": "trader"}, {"module": "fussy"})
    _one_line(run(folder, config), "strategies[1]", "not today")


# ---------------------------------------------------------------------- parameters


def test_an_unknown_parameter_gets_a_did_you_mean(folder, sim):
    entry = {"module": "strategies.demo", "symbol": "AAPL", "quantiy": 5}
    config = _config(folder, sim, entry)
    _one_line(run(folder, config), "strategies[0].quantiy", "did you mean 'quantity'?")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("quantity", "ten", ["strategies[0].quantity", "expected a number", "quantity = 10"]),
        ("quantity", -5, ["strategies[0].quantity", "greater than 0"]),
        ("symbol", 42, ["strategies[0].symbol", "expected a string"]),
        ("take_profit", True, ["strategies[0].take_profit", "expected a number"]),
    ],
)
def test_a_bad_parameter_value_is_one_line(folder, sim, key, value, words):
    config = _config(folder, sim, {"module": "strategies.demo", key: value})
    _one_line(run(folder, config), *words)


def test_a_missing_required_parameter_is_one_line(folder, sim):
    write_module(
        folder,
        "needs",
        """
        from twsapp.strategy import Param, Strategy

        class Needs(Strategy):
            symbol = Param(str, help="the instrument it trades")
        """,
    )
    config = _config(folder, sim, {"module": "trader"}, {"module": "needs"})
    _one_line(run(folder, config), "strategies[1].symbol", "missing", "the instrument")


# ---------------------------------------------------------------------- durations


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "-inf", "soon"])
def test_a_duration_that_never_ends_or_is_negative_is_one_line(folder, sim, value):
    config = _config(folder, sim, {"module": "trader"})
    _one_line(run(folder, config, f"--duration={value}"), f"--duration {value}", "--duration 60")


def test_duration_0_connects_nothing_and_starts_nothing(folder, sim):
    config = _config(folder, sim, {"module": "trader"})
    summary = folder / "summary.json"
    proc = run(folder, config, "--duration", "0", "--summary-json", str(summary))
    assert proc.returncode == 0, proc.stderr
    assert "connecting to" not in proc.stderr
    data = summary_of(summary)
    assert states(data) == [("trader", "not_started")]
    assert data["orders"] == [] and data["synced"] is False


# ---------------------------------------------------------------------- signals while connecting


class SilentTws:
    """A port that accepts connections and never answers the API handshake."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self._listener.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_connecting_is_acted_on_at_once(folder, sig):
    tws = SilentTws()
    try:
        config = write_config(folder, tws.port, 5, [{"module": "trader"}], connect_timeout=60)
        summary = folder / "summary.json"
        running = Running(folder, config, "--summary-json", str(summary))
        running.wait_for("connecting to 127.0.0.1")
        signalled = time.monotonic()
        running.signal(sig)
        code = running.wait(timeout=30)
        assert time.monotonic() - signalled < 5, "the stop waited for the connect timeout"
    finally:
        tws.close()
    assert code == 0, running.stderr
    assert "strategy trader started" not in running.stderr
    assert states(summary_of(summary)) == [("trader", "not_started")]


# ---------------------------------------------------------------------- the log file


def test_the_run_logs_to_a_rotating_file_as_well_as_stderr(folder, sim):
    extra = ("[control]", "enabled = false", "[logging]", 'file = "logs/run.log"',
             "max_bytes = 2000", "backups = 2")  # fmt: skip
    (folder / "logs").mkdir()
    proc = run(folder, _config(folder, sim, extra=extra), "--duration", "0")
    assert proc.returncode == 0, proc.stderr
    logged = (folder / "logs" / "run.log").read_text()
    assert "twsapp.engine" in logged and logged.splitlines()[0] in proc.stderr
    assert len(logged) <= 2000 + 400  # rotated at max_bytes (plus the line that crossed it)


def test_an_unwritable_log_file_is_one_line_and_nothing_is_sent(folder, sim):
    extra = ("[control]", "enabled = false", "[logging]", 'file = "missing/dir/run.log"')
    _one_line(run(folder, _config(folder, sim, extra=extra)), "logging.file", 'file = ""')
