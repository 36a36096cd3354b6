"""`twsapp run` end to end, as a user runs it: a config file, the embedded simulator, a summary."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from twsapp.exceptions import OrderRefused

RUN = [sys.executable, "-m", "twsapp", "run"]


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        textwrap.dedent(
            """
            mode = "sim"
            log_level = "INFO"
            [sim]
            seed = 7
            speed = 120.0
            [[strategies]]
            module = "strategies.demo"
            symbol = "AAPL"
            quantity = 10
            take_profit = 0.05
            [control]
            enabled = false
            """
        )
        + extra
    )
    return path


def test_run_places_and_fills_an_order_and_writes_a_summary(tmp_path):
    summary = tmp_path / "summary.json"
    proc = subprocess.run(
        [
            *RUN,
            "--config",
            str(_config(tmp_path)),
            "--duration",
            "4",
            "--summary-json",
            str(summary),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(summary.read_text())
    buys = [o for o in data["orders"] if o["action"] == "BUY" and o["order_type"] == "MKT"]
    assert len(buys) == 1 and buys[0]["status"] == "Filled" and buys[0]["filled"] == 10
    assert any(f["exec_id"] and f["commission"] > 0 for f in data["fills"])
    (name, strategy), *others = data["strategies"].items()
    assert not others and name == "strategies.demo"
    assert (strategy["module"], strategy["state"], strategy["error"]) == (name, "stopped", None)
    assert {o["order_ref"] for o in data["orders"]} == {name}
    assert (strategy["orders"], strategy["fills"]) == (len(data["orders"]), len(data["fills"]))
    held = sum(f["shares"] * (1 if f["side"] == "BOT" else -1) for f in data["fills"])
    assert strategy["position"] == {"AAPL": held}
    assert strategy["commissions"] == pytest.approx(sum(f["commission"] for f in data["fills"]))
    assert "order 1 BUY 10 AAPL" in proc.stderr  # the lifecycle log, one line per event
    logged = proc.stderr.split("strategies at the end of the run:")[1].splitlines()[1:3]
    header, row = (line.split("twsapp.engine: ")[1].split() for line in logged)
    assert header[:3] == ["strategy", "state", "symbol"] and header[-1] == "commissions"
    assert row[:5] == [name, "stopped", "AAPL", "2", str(len(data["fills"]))]
    assert float(row[9]) == pytest.approx(strategy["commissions"])


def test_run_stops_cleanly_on_sigint(tmp_path):
    proc = subprocess.Popen(
        [*RUN, "--config", str(_config(tmp_path))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "strategy strategies.demo started" in line:
            break
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0


def test_a_bad_config_exits_2_with_one_line_naming_the_key(tmp_path):
    path = _config(tmp_path, '[tws]\nport = "abc"\n')
    proc = subprocess.run([*RUN, "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "tws.port" in lines[0]
    assert proc.stdout == ""


def test_a_missing_config_file_is_one_line(tmp_path):
    proc = subprocess.run(
        [*RUN, "--config", str(tmp_path / "nope.toml")], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "nope.toml" in proc.stderr


# ---------------------------------------------------------------------- a lost connection


def _engine(start: bool = True, **sections):
    from twsapp.config import config_from_dict
    from twsapp.engine import Engine

    sections.setdefault("control", {"enabled": False})  # no control API: nothing to clash
    engine = Engine(config_from_dict({"mode": "sim", "sim": {"speed": 1.0}, **sections}))
    return engine.start() if start else engine


def _run_in_thread(engine, duration: float = 600.0) -> tuple[threading.Thread, list]:
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(engine.run(duration)), daemon=True)
    thread.start()
    return thread, outcome


def test_engine_run_ends_with_exit_code_4_when_tws_goes_away_and_reconnect_is_off(caplog):
    engine = _engine(tws={"reconnect": False})
    try:
        with caplog.at_level(logging.INFO, logger="twsapp"):
            thread, outcome = _run_in_thread(engine)
            engine.sim.stop()  # TWS goes away (the embedded simulator here)
            thread.join(30)  # a watchdog: it returns as soon as the close is seen
            assert not thread.is_alive(), "run() did not return after the connection was lost"
        assert outcome == [4]
        assert engine.failed is not None and "lost" in engine.failed
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "[tws] reconnect is false" in errors[0].getMessage()
        assert engine.summary()["failed"] == engine.failed
    finally:
        engine.shutdown()


def test_engine_stopped_on_purpose_exits_0_and_its_shutdown_is_no_failure():
    engine = _engine()
    try:
        thread, outcome = _run_in_thread(engine)
        engine.stop()
        thread.join(30)
        assert outcome == [0]
    finally:
        engine.shutdown()  # closes the connection: expected, not a failure
    assert engine.failed is None and not engine.app.connected


def test_engine_applies_the_default_account_and_fa_groups_of_the_config():
    from twsapp.orders import limit_order

    engine = _engine(
        risk={"max_price_deviation_pct": 50.0},  # its orders rest far below the market
        tws={"account": "DU222"},
        sim={
            "speed": 1.0,
            "accounts": ["DU111", "DU222"],
            "fa_groups": {"Both": ["DU111", "DU222"]},
        },
    )
    try:
        app = engine.app
        plain = app.place("AAPL", limit_order("BUY", 1, 100.0))
        assert plain.sent_order.account == "DU222"
        grouped = limit_order("BUY", 2, 100.0)
        grouped.faGroup = "Both"
        assert app.place("AAPL", grouped).sent_order.faGroup == "Both"
        unknown = limit_order("BUY", 2, 100.0)
        unknown.faGroup = "Nope"
        with pytest.raises(OrderRefused, match="'Nope' is not one of the FA groups \\(Both\\)"):
            app.place("AAPL", unknown)
    finally:
        engine.shutdown()


def test_engine_refuses_a_live_account_unless_tws_live():
    from twsapp.exceptions import ConnectError

    live_sim = {"speed": 1.0, "accounts": ["U1234567"]}
    refused = _engine(start=False, sim=live_sim)
    try:
        with pytest.raises(ConnectError, match="live account U1234567"):
            refused.start()
    finally:
        refused.shutdown()
    assert refused.failed is None  # a refused start is not a lost connection
    allowed = _engine(tws={"live": True}, sim=live_sim)
    try:
        assert allowed.app.ready and allowed.app.accounts == ["U1234567"]
    finally:
        allowed.shutdown()


def test_run_exits_4_with_an_error_line_when_tws_goes_away(tmp_path, sim_factory):
    """`twsapp run` against a "TWS" (a simulator of the test's) that then goes away, with
    [tws] reconnect = false."""
    sim = sim_factory()
    path = tmp_path / "config.toml"
    path.write_text(
        f'mode = "tws"\n[tws]\nhost = "127.0.0.1"\nport = {sim.port}\nreconnect = false\n'
        "[control]\nenabled = false\n"
    )
    summary = tmp_path / "summary.json"
    proc = subprocess.Popen(
        [*RUN, "--config", str(path), "--summary-json", str(summary)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "synced:" in line:
            break
    sim.stop()
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    rest = proc.stderr.read()
    assert code == 4, "".join(seen) + rest
    errors = [line for line in rest.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and f"127.0.0.1:{sim.port} lost" in errors[0]
    assert json.loads(summary.read_text())["failed"].endswith("lost")


def test_the_signal_path_takes_no_lock_the_waiting_thread_may_hold():
    """A SIGTERM lands on the main thread, maybe inside Event.wait with its lock held: the
    handler must still return (Event.set there deadlocked, a hang seen under load)."""
    import threading

    from twsapp.config import config_from_dict
    from twsapp.engine import Engine

    engine = Engine(config_from_dict({}))
    with engine._stop._cond:  # what the main thread holds for a moment inside wait()
        handler = threading.Thread(target=engine.stop_from_signal, daemon=True)
        handler.start()
        handler.join(5)
        assert not handler.is_alive()
    assert engine.run(duration=30) == 0  # returns at once: the flag was seen
