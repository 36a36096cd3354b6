"""Bad input to the simulator is refused before anything listens, in one line that says why.

Three ways in: ``twsapp sim`` as a user runs it (exit status 2, one stderr line), the Python API
(``SimServer`` raises ``SimInputError``, a ``ValueError``) and the loaders of bars CSVs and
instrument files that the app's embedded simulator shares. Also here: connections that never
finish the handshake are closed after ``handshake_timeout`` real seconds.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from run_helpers import SimProcess
from sim_client import RawSession, SimClient

from twsapp.sim.inputs import SimInputError
from twsapp.sim.instruments import Catalog, CatalogError
from twsapp.sim.prices import PriceModel
from twsapp.sim.server import SimServer
from twsapp.sim.wire import API_PREFIX, frame

ROOT = Path(__file__).resolve().parents[1]
AAPL = 265598
GOOD_BARS = "time,open,high,low,close,volume\n0,10,11,9,10.5,100\n60,10.5,11,10,10.8,100\n"
ENTRY = {
    "symbol": "NVDA",
    "secType": "STK",
    "conId": 4815747,
    "currency": "USD",
    "minTick": 0.01,
    "basePrice": 180.0,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- twsapp sim


def _bars(tmp_path: Path, text: str) -> list[str]:
    return ["--bars", f"AAPL={write(tmp_path, 'bars.csv', text)}"]


def _instruments(tmp_path: Path, text: str) -> list[str]:
    return ["--instruments", str(write(tmp_path, "instruments.json", text))]


no_base_price = json.dumps([{k: v for k, v in ENTRY.items() if k != "basePrice"}])
CLI_CASES = {
    # case: (arguments, what the one line must say: the value ... and the fix)
    "display size not a number": (["--display-size", "abc"], ["--display-size 'abc'", "e.g. 100"]),
    "negative display size": (["--display-size", "-5"], ["--display-size '-5'", "positive"]),
    "port out of range": (["--port", "70000"], ["--port 70000", "0 for any free port"]),
    "speed NaN": (["--speed", "nan"], ["--speed nan", "simulated seconds"]),
    "speed infinite": (["--speed", "inf"], ["--speed inf", "simulated seconds"]),
    "negative speed": (["--speed", "-2"], ["--speed -2", ">= 0"]),
    "no accounts": (["--accounts", ""], ["--accounts ''", "DU1234567"]),
    "blank accounts": (["--accounts", " , "], ["--accounts ' , '", "DU1234567"]),
    "bars missing a column": (
        lambda d: _bars(d, "time,open,high,low\n0,1,1,1\n"),
        ["bars.csv", "missing column(s) close", "time,open,high,low,close"],
    ),
    "bars with a bad value": (
        lambda d: _bars(d, "time,open,high,low,close\n0,1,1,1,1\n60,abc,1,1,1\n"),
        ["bars.csv:3", "open 'abc'", "write a price > 0"],
    ),
    "bars with an infinite price": (
        lambda d: _bars(d, "time,open,high,low,close\n0,inf,inf,1,1\n"),
        ["bars.csv:2", "open", "write a price > 0"],
    ),
    "bars without rows": (
        lambda d: _bars(d, "time,open,high,low,close\n"),
        ["bars.csv", "no bars", "add one row per bar"],
    ),
    "instruments not JSON": (
        lambda d: _instruments(d, '[{"symbol": "NVDA",}]'),
        ["instruments.json", "not valid JSON", "line 1 column", "fix the JSON"],
    ),
    "instruments of the wrong shape": (
        lambda d: _instruments(d, json.dumps(ENTRY)),
        ["instruments.json", "holds a JSON object", "JSON list"],
    ),
    "instrument missing a required key": (
        lambda d: _instruments(d, no_base_price),
        ["instruments.json", "entry 0 (NVDA)", "'basePrice'", "add it"],
    ),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_twsapp_sim_refuses_bad_input_in_one_line(tmp_path, case):
    arguments, expected = CLI_CASES[case]
    if callable(arguments):
        arguments = arguments(tmp_path)
    port = free_port()
    proc = subprocess.run(
        [sys.executable, "-m", "twsapp", "sim", "--port", str(port), *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr  # no traceback, no usage text
    assert lines[0].startswith("twsapp sim: ")
    for part in expected:
        assert part in lines[0]
    assert "listening" not in proc.stdout
    assert not listening(port)


# --------------------------------------------------------------------------- Python API

BAD_SETTINGS = {
    "host": ("0.0.0.0", "loopback only"),
    "port": (70000, "0 for any free port"),
    "speed": (float("nan"), "(0 = frozen)"),
    "accounts": ([], "e.g. DU1234567"),
    "display_size": (Decimal(-5), "e.g. 100"),
    "server_version": (120, "use 157.."),
    "handshake_timeout": (0.0, "seconds"),
    "pacing": ("off", "use true"),
}


@pytest.mark.parametrize("setting", list(BAD_SETTINGS))
def test_simserver_refuses_bad_settings_before_binding(monkeypatch, setting):
    value, fix = BAD_SETTINGS[setting]

    def no_bind(*args):
        raise AssertionError("bound a socket despite bad settings")

    monkeypatch.setattr(socket.socket, "bind", no_bind)
    with pytest.raises(SimInputError) as refused:
        SimServer(**{setting: value}).start()
    message = str(refused.value)
    assert isinstance(refused.value, ValueError) and refused.value.setting == setting
    assert message.startswith(f"{setting} ") and fix in message and "\n" not in message


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com", ""])
def test_simserver_binds_loopback_only(host):
    with pytest.raises(ValueError, match="loopback only"):
        SimServer(host=host)


def test_a_refused_setting_can_be_named_as_the_caller_spells_it():
    with pytest.raises(SimInputError) as refused:
        SimServer(display_size=Decimal(0))
    assert refused.value.named("sim.display_size").startswith("sim.display_size 0: ")


# --------------------------------------------------------------------------- loaders


@pytest.mark.parametrize(
    ("text", "where", "fix"),
    [
        ("open,high,low,close\n1,1,1,1\n", ":", "the first line must name"),
        ("time,open,high,low,close\nnan,1,1,1,1\n", ":2:", "seconds from the start"),
        ("time,open,high,low,close\n0,1,1,1,1\n0,1,1,1,1\n", ":3:", "sort the rows"),
        ("time,open,high,low,close,volume\n0,1,1,1,1,-3\n", ":2:", "volume"),
        ("time,open,high,low,close\n0,1,2,1,3\n", ":2:", "high must be >= open"),
        ("", ":", "the first line must name"),
    ],
)
def test_bars_csv_refusals_name_the_file_row_and_fix(tmp_path, text, where, fix):
    path = write(tmp_path, "bars.csv", text)
    model = PriceModel(1, Catalog.builtin())
    with pytest.raises(SimInputError) as refused:
        model.load_bars_csv(AAPL, path)
    message = str(refused.value)
    assert message.startswith(f"{path}{where}") and fix in message and "\n" not in message


def test_bars_that_cannot_be_read_are_refused_too(tmp_path):
    model = PriceModel(1, Catalog.builtin())
    with pytest.raises(SimInputError, match=r"cannot read bars file .* check the path"):
        model.load_bars_csv(AAPL, tmp_path / "missing.csv")
    binary = tmp_path / "bars.csv"
    binary.write_bytes(b"time,open,high,low,close\n0,\xff,1,1,1\n")
    with pytest.raises(SimInputError, match="not UTF-8"):
        model.load_bars_csv(AAPL, binary)


def test_good_bars_still_load(tmp_path):
    model = PriceModel(1, Catalog.builtin())
    bars = model.load_bars_csv(AAPL, write(tmp_path, "bars.csv", GOOD_BARS))
    assert [b.open for b in bars] == [10.0, 10.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2", "not valid JSON: Expecting ',' delimiter at line 1 column 6"),
        ('"AAPL"', "holds a JSON string"),
        ("[]", "holds no instrument entries"),
        (no_base_price, "entry 0 (NVDA): key 'basePrice': is required — add it"),
        (json.dumps([{**ENTRY, "minTick": float("nan")}]), "'minTick': must be a finite number"),
        (json.dumps([{**ENTRY, "basePrice": float("inf")}]), "'basePrice': must be a finite"),
    ],
)
def test_instrument_file_refusals_are_sim_input_errors(tmp_path, text, expected):
    path = write(tmp_path, "instruments.json", text)
    with pytest.raises(SimInputError) as refused:
        Catalog.builtin().extend_from_file(path)
    assert isinstance(refused.value, CatalogError)
    message = str(refused.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message
    with pytest.raises(SimInputError):  # the same refusal through the server's settings
        SimServer(instruments_file=str(path))


def test_bars_for_an_unknown_symbol_are_refused_with_the_fix(tmp_path):
    path = write(tmp_path, "bars.csv", GOOD_BARS)
    with pytest.raises(SimInputError, match="0 instruments match — name one instrument"):
        SimServer(bars={"NOPE": str(path)})


def test_a_message_stays_on_one_line_whatever_the_file_name(tmp_path):
    directory = tmp_path / "two\nlines"
    directory.mkdir()
    with pytest.raises(SimInputError) as refused:
        Catalog.builtin().extend_from_file(directory / "x.json")
    assert "\n" not in str(refused.value) and "two\\nlines" in str(refused.value)


# --------------------------------------------------------------------------- stalled handshakes

QUICK = 0.3  # handshake_timeout for these tests, in real seconds


def _closed_within(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closed ``sock`` (AssertionError if it did not in ``limit``)."""
    began = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except ConnectionError:
        pass
    except TimeoutError:
        raise AssertionError(f"still open after {limit} s") from None
    return time.monotonic() - began


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "twsapp.sim"]


def test_a_client_that_sends_nothing_is_closed(sim_factory, caplog):
    sim = sim_factory(handshake_timeout=QUICK)
    with caplog.at_level(logging.WARNING, logger="twsapp.sim"):
        with socket.create_connection(("127.0.0.1", sim.port)) as sock:
            assert _closed_within(sock, 10 * QUICK + 5) < 10 * QUICK + 5
        assert sim.wait_idle(5)
    assert any(f"no API prefix within {QUICK:g} s" in line for line in _warnings(caplog))


def test_a_client_that_never_sends_start_api_is_closed(sim_factory, caplog):
    sim = sim_factory(handshake_timeout=QUICK)
    raw = RawSession(sim.port)
    try:
        with caplog.at_level(logging.WARNING, logger="twsapp.sim"):
            reply = raw.handshake("v100..176")
            assert reply is not None and reply[0] == "176"  # the handshake itself was answered
            _closed_within(raw.sock, 10 * QUICK + 5)
            assert sim.wait_idle(5)
    finally:
        raw.close()
    assert any(f"no startApi within {QUICK:g} s" in line for line in _warnings(caplog))
    assert sim.received() == []


def test_trickling_bytes_does_not_extend_the_deadline(sim_factory):
    """The limit is on the whole handshake, not on each read: one byte at a time is no way
    around it."""
    sim = sim_factory(handshake_timeout=QUICK)
    with socket.create_connection(("127.0.0.1", sim.port)) as sock:
        began = time.monotonic()
        data = API_PREFIX + frame(b"v100..176")
        try:
            for byte in data:
                sock.sendall(bytes([byte]))
                time.sleep(QUICK / 4)  # real time: the timeout is about the network
        except OSError:
            pass  # closed while trickling: what is tested
        _closed_within(sock, 10 * QUICK + 5)
        assert time.monotonic() - began < len(data) * QUICK / 4
    assert sim.wait_idle(5)


def test_a_started_client_may_stay_quiet_past_the_handshake_timeout(sim_factory, connect):
    sim = sim_factory(handshake_timeout=QUICK)
    client = connect(sim)
    time.sleep(3 * QUICK)  # real time: the timeout is about the network, not the market
    client.sync()
    assert client.isConnected() and client.of("connectionClosed") == []
    assert len(sim.sessions()) == 1


def test_twsapp_sim_no_pacing_answers_a_burst_above_50_per_second(tmp_path):
    """`twsapp sim --no-pacing`, as `make bench` runs it: 120 requests sent at once are all
    answered, none refused with 100 (with pacing on, 70 of them would be)."""
    sim = SimProcess(tmp_path / "sim.log", "--no-pacing")
    try:
        client = SimClient().start(sim.port, 3)
        try:
            since = client.mark()
            for _ in range(120):
                client.reqCurrentTime()
            client.until(lambda ev: sum(e.name == "currentTime" for e in ev[since:]) >= 120)
            client.sync()
            assert [e for e in client.of("error", since) if e.errorCode == 100] == []
        finally:
            client.stop()
    finally:
        sim.stop()


def test_config_pacing_false_reaches_the_embedded_simulator(tmp_path):
    from twsapp.config import config_from_dict
    from twsapp.engine import Engine

    for value in (True, False):
        config = config_from_dict({"sim": {"pacing": value}}, base_dir=tmp_path)
        assert Engine(config)._make_sim().settings.pacing is value


def test_twsapp_sim_closes_a_stalled_handshake_and_serves_the_next_client(tmp_path):
    """As a user meets it: `twsapp sim` in its own process, a client that sends the API
    handshake and never starts the API, then an ordinary client, which must be served."""

    sim = SimProcess(tmp_path / "sim.log", "--handshake-timeout", str(QUICK))
    try:
        raw = RawSession(sim.port)
        try:
            reply = raw.handshake("v100..176")
            assert reply is not None and reply[0] == "176"
            _closed_within(raw.sock, 10 * QUICK + 5)
        finally:
            raw.close()
        client = SimClient().start(sim.port, 3)
        try:
            since = client.mark()
            client.reqCurrentTime()
            client.wait("currentTime", since)
        finally:
            client.stop()
    finally:
        sim.stop()
    assert f"no startApi within {QUICK:g} s" in (tmp_path / "sim.log").read_text()
