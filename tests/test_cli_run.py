"""`twsapp run` end to end, as a user runs it: a config file, the embedded simulator, a summary."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

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
    assert data["strategies_failed"] == []
    assert "order 1 BUY 10 AAPL" in proc.stderr  # the lifecycle log, one line per event


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
