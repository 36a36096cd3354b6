"""`twsapp run` in sim mode reads the embedded simulator's files before anything else: a bad
bars CSV or instruments JSON is one line on stderr and exit 2, and no strategy is even imported.
"""

from __future__ import annotations

import socket

import pytest
from run_helpers import run, write_module

# Would leave a trace if imported: the run must refuse the files first.
TRACER = """
    from pathlib import Path
    Path(__file__).with_name("imported").write_text("yes")
    from twsapp.strategy import Strategy

    class Tracer(Strategy):
        pass
"""


def sim_config(folder, **files: str) -> object:
    lines = ['mode = "sim"', "[sim]", "port = 0"]
    if "instruments" in files:
        (folder / "instruments.json").write_text(files["instruments"])
        lines.append('instruments_file = "instruments.json"')
    if "bars" in files:
        (folder / "aapl.csv").write_text(files["bars"])
        lines += ["[sim.bars]", 'AAPL = "aapl.csv"']
    lines += ["[control]", "enabled = false", "[[strategies]]", 'module = "tracer"']
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({"bars": "open,high,low,close\n1,1,1,1\n"}, ["aapl.csv", "first line"]),
        ({"bars": "time,open,high,low,close\n"}, ["aapl.csv"]),
        ({"bars": "time,open,high,low,close\n0,abc,1,1,1\n"}, ["aapl.csv:2"]),
        ({"instruments": "[1, 2"}, ["instruments.json", "not valid JSON"]),
        ({"instruments": '{"symbol": "X"}'}, ["instruments.json"]),
    ],
    ids=["bars-columns", "bars-no-rows", "bars-bad-value", "json-malformed", "json-shape"],
)
def test_a_bad_simulator_file_is_one_line_and_nothing_starts(tmp_path, files, words):
    write_module(tmp_path, "tracer", TRACER)
    config = sim_config(tmp_path, **files)
    proc = run(tmp_path, config, "--duration", "5")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "imported").exists()


def test_a_simulator_port_in_use_is_one_line_and_exit_2(tmp_path):
    write_module(tmp_path, "tracer", TRACER)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(f'mode = "sim"\n[sim]\nport = {port}\n[control]\nenabled = false\n')
        proc = run(tmp_path, config, "--duration", "5")
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert f"sim.port: cannot listen on 127.0.0.1:{port}" in line and "use a free port" in line
