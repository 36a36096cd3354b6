"""Config loading: defaults, safety rules, and one-line errors that name the key."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from ibapi.server_versions import MAX_CLIENT_VER

from twsapp.config import (
    Config,
    ConfigError,
    ControlConfig,
    JournalConfig,
    LoggingConfig,
    PacingConfig,
    RiskConfig,
    SimConfig,
    TwsConfig,
    is_loopback_host,
    load_config,
)

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config.toml"


def load_text(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def config_error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    return info.value


# --------------------------------------------------------------------------- defaults


def test_empty_file_gives_the_documented_defaults(tmp_path):
    config = load_text(tmp_path, "")
    assert config.mode == "sim"
    assert config.log_level == "INFO"
    assert config.tws == TwsConfig("127.0.0.1", 7497, 1, "", 10.0, False)
    assert config.sim.server_version is None
    assert config.sim.effective_server_version == MAX_CLIENT_VER
    assert (config.sim.seed, config.sim.speed, config.sim.accounts) == (42, 60.0, ("DU1234567",))
    assert dict(config.sim.fa_groups) == {}
    assert config.sim.instruments_file is None and config.sim.start is None
    assert config.sim.display_size is None
    assert (config.sim.host, config.sim.port) == ("127.0.0.1", 0)
    assert config.risk.confirm == "never"
    assert config.pacing == PacingConfig(45)
    assert config.control == ControlConfig("127.0.0.1", 5000, tmp_path / "control.token", False)
    assert config.strategies == ()
    assert config.notes == ()
    assert config.source == tmp_path / "config.toml"
    # the default journal lives next to the config file, not in the current directory
    assert config.journal.path == tmp_path / "journal.sqlite"


def test_config_is_frozen_all_the_way_down(tmp_path):
    config = load_text(
        tmp_path,
        '[sim.fa_groups]\nG = ["DU1234567"]\n'
        '[[strategies]]\nmodule = "strategies.demo"\nsymbols = ["AAPL"]\nlimits = { a = 1 }\n',
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.tws.port = 7496  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.sim.fa_groups["H"] = ("DU1234567",)  # type: ignore[index]
    params = config.strategies[0].params
    with pytest.raises(TypeError):
        params["symbol"] = "IBM"  # type: ignore[index]
    assert params["symbols"] == ("AAPL",)
    with pytest.raises(TypeError):
        params["limits"]["a"] = 2  # type: ignore[index]


def test_a_full_config_is_read_into_typed_values(tmp_path):
    (tmp_path / "extra.json").write_text("[]")
    config = load_text(
        tmp_path,
        """
mode = "tws"
log_level = "debug"
[tws]
host = "localhost"
port = 4002
client_id = 7
account = "DU7654321"
connect_timeout = 3
[sim]
server_version = 176
seed = -3
speed = 1
accounts = ["DU1", "DU2", "DU3"]
instruments_file = "extra.json"
start = "2025-01-06T09:30:00"
display_size = 2.5
port = 7600
pacing = false
[sim.fa_groups]
Growth = ["DU1", "DU2"]
[risk]
max_order_value = 5000
max_quantity = 0.1
max_price_deviation_pct = 2.5
confirm = "ask"
[pacing]
max_messages_per_second = 50
[journal]
path = "data/j.sqlite"
[control]
host = "::1"
port = 0
token_file = "token.txt"
tls = true
[[strategies]]
module = "strategies.rsi_dca"
symbol = "AAPL"
[[strategies]]
module = "strategies.demo"
""",
    )
    assert config.mode == "tws" and config.log_level == "DEBUG"
    assert config.tws == TwsConfig("localhost", 4002, 7, "DU7654321", 3.0, False)
    assert isinstance(config.tws.connect_timeout, float)
    assert config.connect_host == "localhost"
    sim = config.sim
    assert sim.effective_server_version == 176 and sim.seed == -3 and sim.speed == 1.0
    assert sim.accounts == ("DU1", "DU2", "DU3")
    assert dict(sim.fa_groups) == {"Growth": ("DU1", "DU2")}
    assert sim.instruments_file == tmp_path / "extra.json"
    assert sim.display_size == Decimal("2.5")
    assert sim.pacing is False and SimConfig().pacing is True
    assert sim.start is not None and sim.start.utcoffset() == timedelta(hours=-5)  # NY winter
    assert config.risk == RiskConfig(5000.0, Decimal("0.1"), 2.5, "ask")
    assert config.pacing == PacingConfig(50)
    assert config.journal == JournalConfig(tmp_path / "data" / "j.sqlite")
    assert config.control == ControlConfig("::1", 0, tmp_path / "token.txt", True)
    assert [s.module for s in config.strategies] == ["strategies.rsi_dca", "strategies.demo"]
    assert dict(config.strategies[0].params) == {"symbol": "AAPL"}
    assert dict(config.strategies[1].params) == {}


def test_sim_start_keeps_an_explicit_offset_and_accepts_toml_datetimes(tmp_path):
    config = load_text(tmp_path, "[sim]\nstart = 2025-07-01T13:30:00Z\n")
    assert config.sim.start == datetime.fromisoformat("2025-07-01T13:30:00+00:00")
    summer = load_text(tmp_path, "[sim]\nstart = 2025-07-01T09:30:00\n").sim.start
    assert summer is not None and summer.utcoffset() == timedelta(hours=-4)  # NY daylight time


def test_journal_in_memory(tmp_path):
    assert load_text(tmp_path, '[journal]\npath = ":memory:"\n').journal.path == Path(":memory:")


def test_default_dataclasses_need_no_arguments():
    config = Config()
    assert isinstance(config.sim, SimConfig) and config.connect_host == "127.0.0.1"


# --------------------------------------------------------------------------- errors name the key

BAD_CONFIGS = [
    # (toml, key the message must start with, a fragment the message must contain)
    ('[tws]\nport = "abc"', "tws.port", "got 'abc'"),
    ("[tws]\nport = 0", "tws.port", "1..65535"),
    ("[tws]\nport = 70000", "tws.port", "7497 paper"),
    ("[tws]\nport = true", "tws.port", "got true"),
    ("[tws]\nport = 7497.0", "tws.port", "integer"),
    ("[tws]\nclient_id = -1", "tws.client_id", "integer"),
    ('[tws]\nclient_id = "1"', "tws.client_id", "got '1'"),
    ('[tws]\naccount = "DU 123"', "tws.account", "DU1234567"),
    ("[tws]\naccount = 1234567", "tws.account", "account id"),
    ("[tws]\nconnect_timeout = 0", "tws.connect_timeout", "positive"),
    ("[tws]\nconnect_timeout = nan", "tws.connect_timeout", "positive"),
    ("[tws]\nconnect_timeout = inf", "tws.connect_timeout", "positive"),
    ('[tws]\nlive = "yes"', "tws.live", "true or false"),
    ("[tws]\nmarket_data_type = 5", "tws.market_data_type", "3 delayed"),
    ("[tws]\nheartbeat_seconds = -1", "tws.heartbeat_seconds", "0 for none"),
    ('[tws]\nheartbeat_seconds = "10"', "tws.heartbeat_seconds", "0 for none"),
    ("[logging]\nmax_bytes = 10", "logging.max_bytes", "10 MB"),
    ("[logging]\nbackups = -1", "logging.backups", "how many"),
    ("[logging]\nfile = 5", "logging.file", "path"),
    ("[logging]\nfiel = 'x.log'", "logging.fiel", "did you mean 'file'?"),
    ("[tws]\nprot = 7497", "tws.prot", "did you mean 'port'?"),
    ("[tws]\nclientid = 3", "tws.clientid", "did you mean 'client_id'?"),
    ("[tws]\nzzz = 1", "tws.zzz", "known keys: host, port"),
    ("[tws.extra]\na = 1", "tws.extra", "unknown key"),
    ("tws = 5", "tws", "expected a table"),
    ('mdoe = "sim"', "mdoe", "did you mean 'mode'?"),
    ('mode = "live"', "mode", '"sim", "tws"'),
    ('log_level = "verbose"', "log_level", "DEBUG"),
    ("[sim]\nserver_version = 100", "sim.server_version", f"157..{MAX_CLIENT_VER}"),
    (f"[sim]\nserver_version = {MAX_CLIENT_VER + 1}", "sim.server_version", "remove the key"),
    ("[sim]\nspeed = 0", "sim.speed", "positive"),
    ('[sim]\nseed = "x"', "sim.seed", "integer"),
    ("[sim]\naccounts = []", "sim.accounts", "non-empty"),
    ('[sim]\naccounts = "DU1"', "sim.accounts", "array"),
    ('[sim]\naccounts = ["DU1", "DU1"]', "sim.accounts", "twice"),
    ('[sim.fa_groups]\nG = ["DU999"]', "sim.fa_groups.G", "'DU999' is not one of sim.accounts"),
    ("[sim.fa_groups]\nG = []", "sim.fa_groups.G", "non-empty"),
    ('[sim]\ninstruments_file = "nope.json"', "sim.instruments_file", "file not found"),
    ('[sim]\nstart = "yesterday"', "sim.start", "ISO"),
    ("[sim]\nstart = 2025-01-06", "sim.start", "date and time"),
    ("[sim]\ndisplay_size = 0", "sim.display_size", "positive"),
    ("[sim]\nport = -1", "sim.port", "0..65535"),
    ('[sim]\npacing = "off"', "sim.pacing", "true or false"),
    ("[sim]\nspeeed = 2", "sim.speeed", "did you mean 'speed'?"),
    ('[risk]\nconfirm = "sometimes"', "risk.confirm", '"never", "ask", "always"'),
    ("[risk]\nmax_quantity = 0", "risk.max_quantity", "positive"),
    ("[risk]\nmax_order_value = -5", "risk.max_order_value", "positive"),
    ('[risk]\nmax_price_deviation_pct = "5%"', "risk.max_price_deviation_pct", "got '5%'"),
    ("[pacing]\nmax_messages_per_second = 60", "pacing.max_messages_per_second", "1..50"),
    ("[pacing]\nmax_messages_per_second = 0", "pacing.max_messages_per_second", "1..50"),
    ("[journal]\npath = 5", "journal.path", "file path"),
    ("[journal]\npath = '.'", "journal.path", "directory"),
    ("[control]\nport = 70000", "control.port", "0..65535"),
    ('[control]\ntls = "no"', "control.tls", "true or false"),
    ("[control]\ntoken_file = 1", "control.token_file", "file path"),
    ('mode = "tws"\n[control]\nport = 7497', "control.port", "also tws.port"),
    ("[sim]\nport = 5000", "control.port", "also sim.port"),
    ("[[strategies]]\nsymbol = 'AAPL'", "strategies[0].module", "missing"),
    (
        "[[strategies]]\nmodule = 'strategies.demo'\n[[strategies]]\nmodule = 'not a module'",
        "strategies[1].module",
        "dotted module name",
    ),
    ("strategies = 5", "strategies", "[[strategies]]"),
]


@pytest.mark.parametrize(("text", "key", "fragment"), BAD_CONFIGS)
def test_every_error_is_one_line_naming_the_key(tmp_path, text, key, fragment):
    error = config_error(tmp_path, text)
    message = str(error)
    assert message.startswith(f"{key}: "), message
    assert error.key == key
    assert fragment in message, message
    assert " — " in message, f"no fix given: {message}"


def test_the_example_message_from_the_brief(tmp_path):
    message = str(config_error(tmp_path, '[tws]\nport = "abc"'))
    assert message == (
        "tws.port: expected an integer 1..65535, got 'abc' — set it to the API port configured "
        "in TWS (7497 paper, 7496 live)"
    )


def test_a_string_value_with_a_newline_stays_on_one_line(tmp_path):
    message = str(config_error(tmp_path, '[tws]\nhost = "10.0.0.1\\nsecond line"'))
    assert message.startswith("tws.host: ")


# --------------------------------------------------------------------------- safety rules


@pytest.mark.parametrize("section", ["tws", "sim", "control"])
@pytest.mark.parametrize(
    "host", ["10.0.0.5", "192.168.1.20", "0.0.0.0", "::", "8.8.8.8", "example.com", "tws.lan"]
)
def test_non_loopback_hosts_are_refused(tmp_path, section, host):
    message = str(config_error(tmp_path, f'[{section}]\nhost = "{host}"'))
    assert message.startswith(f"{section}.host: {host!r} is not a loopback address")
    assert "127.0.0.1" in message


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.1.2.3", "::1", "localhost", "LocalHost", "::ffff:127.0.0.1"]
)
def test_loopback_hosts_are_accepted(tmp_path, host):
    assert is_loopback_host(host)
    assert load_text(tmp_path, f'[tws]\nhost = "{host}"').tws.host == host


@pytest.mark.parametrize("port", [7496, 4001])
def test_live_ports_are_refused_without_live_true(tmp_path, port):
    message = str(config_error(tmp_path, f'mode = "tws"\n[tws]\nport = {port}'))
    assert message.startswith(f"tws.port: {port} is the live")
    assert "tws.live = true" in message


@pytest.mark.parametrize("port", [7496, 4001])
def test_live_ports_are_allowed_with_live_true(tmp_path, port):
    config = load_text(tmp_path, f'mode = "tws"\n[tws]\nport = {port}\nlive = true')
    assert config.tws.port == port and config.tws.live
    assert config.notes == ()


def test_a_live_port_in_sim_mode_is_noted_not_refused(tmp_path):
    config = load_text(tmp_path, 'mode = "sim"\n[tws]\nport = 7496')
    assert config.connect_host == config.sim.host
    assert len(config.notes) == 1 and 'refused when mode = "tws"' in config.notes[0]


@pytest.mark.parametrize("port", [7497, 4002])
def test_live_true_with_a_paper_port_is_allowed_with_a_note(tmp_path, port):
    config = load_text(tmp_path, f'mode = "tws"\n[tws]\nport = {port}\nlive = true')
    assert config.tws.live
    assert len(config.notes) == 1 and f"{port} is a paper port" in config.notes[0]


# --------------------------------------------------------------------------- file problems


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere" / "config.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "not found" in message and "\n" not in message


def test_toml_syntax_error_gives_line_and_column(tmp_path):
    message = str(config_error(tmp_path, 'mode = "sim"\n[tws]\nport = \n'))
    assert message.startswith(str(tmp_path / "config.toml"))
    assert re.search(r"line 3, column \d+", message), message


def test_non_utf8_file_is_one_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b'mode = "\xff"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "UTF-8" in str(info.value) and "\n" not in str(info.value)


def test_a_directory_is_not_a_config(tmp_path):
    with pytest.raises(ConfigError, match="directory"):
        load_config(tmp_path)


# --------------------------------------------------------------------------- the repo's config.toml


def test_the_repository_config_loads():
    config = load_config(REPO_CONFIG)
    assert config.mode == "sim"
    assert config.tws.live is False
    assert [s.module for s in config.strategies] == ["strategies.rsi_dca"]
    assert config.strategies[0].params["symbol"] == "AAPL"


def test_the_repository_config_documents_every_key():
    """Every key of every section is in config.toml, set or commented out, under a comment."""
    text = REPO_CONFIG.read_text()
    uncommented = re.sub(r"^# (\w+ = )", r"\1", text, flags=re.MULTILINE)
    parsed = tomllib.loads(uncommented)
    lines = uncommented.splitlines()
    sections = {
        "": Config,
        "tws": TwsConfig,
        "sim": SimConfig,
        "risk": RiskConfig,
        "pacing": PacingConfig,
        "journal": JournalConfig,
        "control": ControlConfig,
        "logging": LoggingConfig,
    }
    skip = {"tws", "sim", "risk", "pacing", "journal", "control", "logging", "strategies",
            "source", "notes"}  # fmt: skip
    for section, cls in sections.items():
        table = parsed[section] if section else parsed
        start = lines.index(f"[{section}]") if section else 0
        for f in dataclasses.fields(cls):
            if f.name in skip:
                continue
            assert f.name in table, f"{section}.{f.name} missing from config.toml"
            if f.name in ("fa_groups", "bars"):
                line = lines.index(f"[sim.{f.name}]")
            else:
                line = next(
                    i for i in range(start, len(lines)) if lines[i].startswith(f"{f.name} = ")
                )
            assert lines[line - 1].startswith("#"), f"{section}.{f.name}: no comment above it"
    assert parsed["strategies"][0]["module"] == "strategies.rsi_dca"
