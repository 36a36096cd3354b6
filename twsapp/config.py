"""config.toml -> frozen dataclasses.

A bad config must stop the app before it touches a socket, with one line a trader can act on:
every ``ConfigError`` names the dotted key (``tws.port``), what is wrong and how to fix it.
Unknown keys are errors because a typo (``tws.prot``) would otherwise silently fall back to a
default, and the defaults are where the safety rules live: loopback hosts only, and no live
TWS / Gateway port unless ``tws.live = true`` says so explicitly.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from ibapi.server_versions import MAX_CLIENT_VER

from .exceptions import ConfigError

__all__ = [
    "LIVE_PORTS",
    "MAX_SERVER_VERSION",
    "MIN_SERVER_VERSION",
    "PAPER_PORTS",
    "Config",
    "ConfigError",
    "ControlConfig",
    "JournalConfig",
    "PacingConfig",
    "RiskConfig",
    "SimConfig",
    "StrategyConfig",
    "TwsConfig",
    "config_from_dict",
    "is_loopback_host",
    "load_config",
]

LIVE_PORTS = frozenset({7496, 4001})  # TWS live, IB Gateway live
PAPER_PORTS = frozenset({7497, 4002})  # TWS paper, IB Gateway paper
MIN_SERVER_VERSION = 157  # oldest server version the project supports
MAX_SERVER_VERSION = MAX_CLIENT_VER  # newest the installed ibapi speaks
MAX_TWS_MESSAGES_PER_SECOND = 50  # above this TWS answers error 100, then disconnects
EXCHANGE_TZ = ZoneInfo("America/New_York")  # sim.start without an offset is exchange time
MODES = ("sim", "tws")
CONFIRM_MODES = ("never", "ask", "always")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9]+$")
_MODULE_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_INT32_MAX = 2**31 - 1  # TWS's unset-int marker; one below it is the largest usable value


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class TwsConfig:
    """Where TWS / IB Gateway listens (used when ``mode = "tws"``)."""

    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    account: str = ""
    connect_timeout: float = 10.0
    live: bool = False
    # reqMarketDataType for the run: 1 live, 2 frozen, 3 delayed, 4 delayed-frozen.
    market_data_type: int = 1
    # Seconds between heartbeats (reqCurrentTime) that notice a frozen TWS; 0 = none.
    heartbeat_seconds: float = 10.0
    # Reconnect after a lost connection (backoff with jitter, capped at reconnect_max_seconds),
    # for ever; false: a lost connection ends the run (exit 4).
    reconnect: bool = True
    reconnect_max_seconds: float = 60.0
    # On 326 (client id in use) while reconnecting, try client_id + 1, + 2 ...
    next_client_id: bool = False
    # An order asked for while TWS is unreachable: "refuse" (OrderRefused at once) or "queue"
    # (held, sent once after the resync).
    while_disconnected: str = "refuse"


@dataclass(frozen=True)
class SimConfig:
    """The embedded simulator (used when ``mode = "sim"``)."""

    server_version: int | None = None  # None: MAX_SERVER_VERSION
    seed: int = 42
    speed: float = 60.0
    accounts: tuple[str, ...] = ("DU1234567",)
    fa_groups: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    instruments_file: Path | None = None
    start: datetime | None = None  # None: the next regular US session open
    display_size: Decimal | None = None  # None: no limit, orders fill in one piece
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    # symbol (or conId) -> CSV of bars replayed instead of the seeded walk
    bars: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))
    pacing: bool = True  # False: no 50 messages/s check (raw-speed benchmarks only)
    # faults the simulator injects, as `twsapp sim --fault` writes them (checked by the simulator)
    fault_plan: tuple[str, ...] = ()
    # TWS's nightly restart, "HH:MM[,down=SECONDS]" New York time (None: never); it reaches the
    # simulator inside fault_plan, as "daily-restart:at=HH:MM,down=SECONDS"
    daily_restart: str | None = None

    @property
    def effective_server_version(self) -> int:
        return MAX_SERVER_VERSION if self.server_version is None else self.server_version


@dataclass(frozen=True)
class RiskConfig:
    """Pre-trade limits; ``risk.py`` enforces them. The ``max_*`` ones are precautions (asked
    where someone can answer, when ``confirm`` says so); the ``hard_*`` ones (None: none)
    refuse whatever anyone answers."""

    max_order_value: float = 100_000.0
    max_quantity: Decimal = Decimal(1000)
    max_price_deviation_pct: float = 5.0
    confirm: str = "never"
    hard_max_order_value: float | None = None
    hard_max_quantity: Decimal | None = None
    hard_max_price_deviation_pct: float | None = None


@dataclass(frozen=True)
class PacingConfig:
    max_messages_per_second: int = 45


@dataclass(frozen=True)
class JournalConfig:
    path: Path = Path("journal.sqlite")  # ":memory:" keeps it in memory (tests)


@dataclass(frozen=True)
class LoggingConfig:
    """Where logs go besides stderr: a size-rotated file (None: stderr only)."""

    file: Path | None = Path("twsapp.log")
    max_bytes: int = 10_000_000
    backups: int = 5


@dataclass(frozen=True)
class ControlConfig:
    """The control API (``twsapp/control``): where it listens, its token, TLS."""

    host: str = "127.0.0.1"
    port: int = 5000  # 0: any free port
    token_file: Path | None = None  # None: control.token in the current folder
    tls: bool = False
    enabled: bool = True
    cert_file: Path | None = None  # None with tls: a self-signed one, generated once
    key_file: Path | None = None
    allow_remote: bool = False  # a non-loopback host; only with tls


@dataclass(frozen=True)
class StrategyConfig:
    module: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Config:
    mode: str = "sim"
    log_level: str = "INFO"
    tws: TwsConfig = field(default_factory=TwsConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    pacing: PacingConfig = field(default_factory=PacingConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    strategies: tuple[StrategyConfig, ...] = ()
    source: Path | None = None  # the file it was loaded from
    notes: tuple[str, ...] = ()  # not errors, but worth one log line at start-up

    @property
    def connect_host(self) -> str:
        """The host the app connects to: the embedded simulator's in sim mode."""
        return self.sim.host if self.mode == "sim" else self.tws.host


# --------------------------------------------------------------------------- loading


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; relative paths in it are relative to its folder."""
    path = Path(path)
    shown = str(path.resolve())
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            shown, "config file not found", "create it (copy the repository's config.toml)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(shown, "is a directory, not a config file", "pass a .toml file") from None
    except OSError as exc:
        raise ConfigError(shown, f"cannot read: {exc.strerror}", "check its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            shown, f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            shown, f"TOML syntax error: {exc}", "fix the syntax at that line and column"
        ) from None
    return config_from_dict(data, base_dir=path.resolve().parent, source=path.resolve())


def config_from_dict(
    data: Mapping[str, Any], *, base_dir: Path | None = None, source: Path | None = None
) -> Config:
    """Validate already-parsed TOML (a dict as ``tomllib`` returns it)."""
    base = base_dir if base_dir is not None else Path.cwd()
    top = _Table("", data, ("mode", "log_level", *_SECTIONS, "strategies"))
    mode = top.choice("mode", MODES, "sim", 'use "sim" (embedded simulator) or "tws"')
    log_level = top.choice(
        "log_level", LOG_LEVELS, "INFO", "use one of DEBUG, INFO, WARNING, ERROR", upper=True
    )
    notes: list[str] = []
    tws = _tws(top.table("tws"), mode, notes)
    sim = _sim(top.table("sim"), base)
    risk = _risk(top.table("risk"))
    pacing = _pacing(top.table("pacing"))
    journal = _journal(top.table("journal"), base)
    control = _control(top.table("control"), base)
    logs = _logging(top.table("logging"), base)
    strategies = _strategies(top.array_of_tables("strategies"))
    _check_port_clashes(mode, tws, sim, control)
    return Config(
        mode=mode,
        log_level=log_level,
        tws=tws,
        sim=sim,
        risk=risk,
        pacing=pacing,
        journal=journal,
        control=control,
        logging=logs,
        strategies=strategies,
        source=source,
        notes=tuple(notes),
    )


_SECTIONS = ("tws", "sim", "risk", "pacing", "journal", "control", "logging")

_TWS_PORT_FIX = "set it to the API port configured in TWS (7497 paper, 7496 live)"


def _tws(t: _Table, mode: str, notes: list[str]) -> TwsConfig:
    t.known("host", "port", "client_id", "account", "connect_timeout", "live", "market_data_type",
            "heartbeat_seconds", "reconnect", "reconnect_max_seconds", "next_client_id",
            "while_disconnected")  # fmt: skip
    d = TwsConfig()
    host = t.host("host", d.host)
    port = t.integer("port", d.port, 1, 65535, _TWS_PORT_FIX)
    client_id = t.integer(
        "client_id",
        d.client_id,
        0,
        _INT32_MAX - 1,
        "use a number no other API client of this TWS uses (0 also sees manual TWS orders)",
    )
    account = t.account("account", d.account, "use the account id TWS shows, e.g. 'DU1234567'")
    timeout = t.number("connect_timeout", d.connect_timeout, "use seconds, e.g. 10", positive=True)
    live = t.boolean("live", d.live, "write true or false")
    data_type = t.integer(
        "market_data_type", d.market_data_type, 1, 4,
        "use 1 live, 2 frozen, 3 delayed (no subscription needed) or 4 delayed-frozen",
    )  # fmt: skip
    if port in LIVE_PORTS and not live:
        kind = "TWS" if port == 7496 else "IB Gateway"
        message = f"{port} is the live {kind} port and tws.live is not true"
        fix = "use the paper port (7497 TWS, 4002 Gateway), or set tws.live = true to trade live"
        if mode == "tws":
            raise ConfigError(t.key("port"), message, fix)
        notes.append(f'tws.port: {message}; ignored in sim mode, refused when mode = "tws"')
    if live and port in PAPER_PORTS:
        notes.append(
            f"tws.live = true but tws.port {port} is a paper port: allowed, "
            "the account TWS reports decides what is traded"
        )
    heartbeat = t.number("heartbeat_seconds", d.heartbeat_seconds,
                         "use seconds between heartbeats, e.g. 10, or 0 for none")  # fmt: skip
    if heartbeat < 0:
        raise ConfigError(t.key("heartbeat_seconds"), f"{heartbeat:g} is negative",
                          "use seconds between heartbeats, e.g. 10, or 0 for none")  # fmt: skip
    reconnect = t.boolean(
        "reconnect",
        d.reconnect,
        "write true (reconnect for ever) or false (a lost connection ends the run)",
    )
    cap = t.number(
        "reconnect_max_seconds",
        d.reconnect_max_seconds,
        "use the longest wait between reconnect attempts in seconds, e.g. 60",
        positive=True,
    )
    next_id = t.boolean("next_client_id", d.next_client_id, "write true or false")
    waiting = t.choice(
        "while_disconnected",
        ("refuse", "queue"),
        d.while_disconnected,
        'write "refuse" (refused at once) or "queue" (sent after the resync)',
    )
    return TwsConfig(host, port, client_id, account, timeout, live, data_type, heartbeat,
                     reconnect, cap, next_id, waiting)  # fmt: skip


def _sim(t: _Table, base: Path) -> SimConfig:
    t.known(
        "server_version",
        "seed",
        "speed",
        "accounts",
        "fa_groups",
        "instruments_file",
        "start",
        "display_size",
        "host",
        "port",
        "bars",
        "pacing",
        "fault_plan",
        "daily_restart",
    )
    d = SimConfig()
    version = t.integer(
        "server_version",
        None,
        MIN_SERVER_VERSION,
        MAX_SERVER_VERSION,
        f"use {MIN_SERVER_VERSION}..{MAX_SERVER_VERSION}, or remove the key for the newest",
    )
    seed = t.integer("seed", d.seed, -(2**63), 2**63 - 1, "use any integer, e.g. 42")
    speed = t.number(
        "speed", d.speed, "use how many simulated seconds pass per real second", positive=True
    )
    accounts = t.accounts("accounts", d.accounts)
    fa_groups = _fa_groups(t, accounts)
    instruments = t.path("instruments_file", None, base, must_exist=True)
    start = t.start("start")
    display_size = t.decimal(
        "display_size", None, "use a positive size, or remove the key for no limit"
    )
    host = t.host("host", d.host)
    port = t.integer("port", d.port, 0, 65535, "use a free port, or 0 for any free port")
    pacing = t.boolean(
        "pacing", d.pacing, "use true (TWS's 50 messages/s rule) or false (no limit, benchmarks)"
    )
    bars_table = t.table("bars")
    bars: dict[str, Path] = {}
    for name in bars_table.data:
        path = bars_table.path(name, None, base, must_exist=True)
        assert path is not None  # the key is there and the file exists
        bars[name] = path
    fault_plan = t.data.get("fault_plan", [])
    if not isinstance(fault_plan, list) or not all(isinstance(f, str) for f in fault_plan):
        raise t._bad("fault_plan", "an array of strings", 'write e.g. ["drop:what=ack"]')
    daily_restart = t.data.get("daily_restart")
    if daily_restart is not None:  # through fault_plan, which the embedded simulator takes as is
        fault_plan = [*fault_plan, _daily_restart(t, daily_restart)]
    return SimConfig(
        version,
        seed,
        speed,
        accounts,
        fa_groups,
        instruments,
        start,
        display_size,
        host,
        port,
        MappingProxyType(bars),
        pacing,
        tuple(fault_plan),
        daily_restart,
    )


_DAILY_RESTART = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?:,\s*down\s*=\s*(\d+(?:\.\d*)?))?")


def _daily_restart(t: _Table, value: Any) -> str:
    """sim.daily_restart as the simulator's fault text. Checked here, not by importing the
    simulator's parser: config is read by layers that must not import the simulator."""
    found = _DAILY_RESTART.fullmatch(value.strip()) if isinstance(value, str) else None
    down = float(found.group(3) or 2) if found else 0.0
    if found is None or down > 3600:
        raise t._bad(
            "daily_restart",
            '"HH:MM[,down=SECONDS]" (New York time; down 0..3600, default 2)',
            'write e.g. "23:45,down=2"',
        )
    return f"daily-restart:at={found.group(1)}:{found.group(2)},down={down:g}"


def _fa_groups(t: _Table, accounts: tuple[str, ...]) -> Mapping[str, tuple[str, ...]]:
    raw = t.table("fa_groups")
    groups: dict[str, tuple[str, ...]] = {}
    for name in raw.data:
        key = raw.key(name)
        members = raw.data[name]
        fix = f'write {key} = ["{accounts[0]}", ...] with accounts from sim.accounts'
        if not isinstance(members, list) or not members:
            raise ConfigError(
                key, f"expected a non-empty array of accounts, got {_show(members)}", fix
            )
        for member in members:
            if not isinstance(member, str) or member not in accounts:
                raise ConfigError(key, f"{_show(member)} is not one of sim.accounts", fix)
        if len(set(members)) != len(members):
            raise ConfigError(key, "lists an account twice", "list each account once")
        groups[name] = tuple(members)
    return MappingProxyType(groups)


def _risk(t: _Table) -> RiskConfig:
    t.known(
        "max_order_value", "max_quantity", "max_price_deviation_pct", "confirm",
        "hard_max_order_value", "hard_max_quantity", "hard_max_price_deviation_pct",
    )  # fmt: skip
    d = RiskConfig()
    value = t.number(
        "max_order_value",
        d.max_order_value,
        "use the largest notional (price x quantity x multiplier) one order may have",
        positive=True,
    )
    quantity = t.decimal(
        "max_quantity", d.max_quantity, "use the largest quantity one order may have"
    )
    deviation = t.number(
        "max_price_deviation_pct",
        d.max_price_deviation_pct,
        "use how far (percent) a price may be from the market, e.g. 5",
        positive=True,
    )
    confirm = t.choice("confirm", CONFIRM_MODES, d.confirm, 'use "never", "ask" or "always"')
    hard_fix = "use a positive number, or remove the key for no hard limit"
    hard_value = None
    if "hard_max_order_value" in t.data:
        hard_value = t.number("hard_max_order_value", 0.0, hard_fix, positive=True)
    hard_quantity = t.decimal("hard_max_quantity", None, hard_fix)
    hard_deviation = None
    if "hard_max_price_deviation_pct" in t.data:
        hard_deviation = t.number("hard_max_price_deviation_pct", 0.0, hard_fix, positive=True)
    return RiskConfig(
        value, quantity, deviation, confirm, hard_value, hard_quantity, hard_deviation
    )


def _pacing(t: _Table) -> PacingConfig:
    t.known("max_messages_per_second")
    rate = t.integer(
        "max_messages_per_second",
        PacingConfig().max_messages_per_second,
        1,
        MAX_TWS_MESSAGES_PER_SECOND,
        f"TWS disconnects clients above {MAX_TWS_MESSAGES_PER_SECOND}/s; 45 leaves a margin",
    )
    return PacingConfig(rate)


def _journal(t: _Table, base: Path) -> JournalConfig:
    t.known("path")
    if t.data.get("path") == ":memory:":
        return JournalConfig(Path(":memory:"))
    path = t.path("path", JournalConfig().path, base, must_exist=False)
    assert path is not None
    if path.is_dir():
        raise ConfigError(t.key("path"), f"{str(path)!r} is a directory", "name a file in it")
    return JournalConfig(path)


def _logging(t: _Table, base: Path) -> LoggingConfig:
    t.known("file", "max_bytes", "backups")
    d = LoggingConfig()
    if t.data.get("file") == "":
        path = None  # stderr only
    else:
        path = t.path("file", d.file, base, must_exist=False)
        if path is not None and path.is_dir():
            raise ConfigError(t.key("file"), f"{str(path)!r} is a directory", "name a file in it")
    max_bytes = t.integer("max_bytes", d.max_bytes, 1000, 10**12,
                          "use a size in bytes, e.g. 10000000 (10 MB)")  # fmt: skip
    backups = t.integer("backups", d.backups, 0, 1000, "use how many old files to keep, e.g. 5")
    return LoggingConfig(path, max_bytes, backups)


def _control(t: _Table, base: Path) -> ControlConfig:
    t.known("enabled", "host", "port", "token_file", "tls", "cert_file", "key_file", "allow_remote")
    d = ControlConfig()
    enabled = t.boolean("enabled", d.enabled, "write true or false")
    allow_remote = t.boolean(
        "allow_remote", d.allow_remote, "write true (with tls = true) or false"
    )
    tls = t.boolean("tls", d.tls, "write true or false")
    host = t.data.get("host", d.host)
    if not allow_remote or "host" not in t.data or is_loopback_host(str(host)):
        host = t.host("host", d.host)  # loopback only, with its one-line refusal
    elif not isinstance(host, str) or not host:
        raise t._bad("host", "a host name or address", 'use "127.0.0.1"')
    elif not tls:
        raise ConfigError(
            t.key("host"),
            f"{host!r} is not loopback and control.tls is not true: the token would cross "
            "the network in clear",
            "set control.tls = true (with allow_remote = true), or use 127.0.0.1",
        )
    port = t.integer("port", d.port, 0, 65535, "use a free port, e.g. 5000 (0: any free port)")
    token_file = t.path("token_file", Path("control.token"), base, must_exist=False)
    if token_file is not None and token_file.is_dir():
        raise ConfigError(t.key("token_file"), f"{str(token_file)!r} is a directory",
                          "name a file in it")  # fmt: skip
    cert_file = t.path("cert_file", None, base, must_exist=True)
    key_file = t.path("key_file", None, base, must_exist=True)
    if (cert_file is None) != (key_file is None):
        given, missing = (
            ("cert_file", "key_file") if key_file is None else ("key_file", "cert_file")
        )
        raise ConfigError(t.key(missing), f"missing while control.{given} is set",
                          "give both files, or neither for a generated self-signed pair")  # fmt: skip
    if cert_file is not None and not tls:
        raise ConfigError(t.key("cert_file"), "set while control.tls is not true",
                          "set control.tls = true, or remove cert_file and key_file")  # fmt: skip
    return ControlConfig(host, port, token_file, tls, enabled, cert_file, key_file, allow_remote)


def _strategies(entries: list[_Table]) -> tuple[StrategyConfig, ...]:
    out = []
    for t in entries:
        fix = 'name the Python module of the strategy, e.g. module = "strategies.demo"'
        if "module" not in t.data:
            raise ConfigError(t.key("module"), "missing", fix)
        module = t.data["module"]
        if not isinstance(module, str) or not _MODULE_RE.match(module):
            raise ConfigError(
                t.key("module"), f"expected a dotted module name, got {_show(module)}", fix
            )
        params = {k: _freeze(v) for k, v in t.data.items() if k != "module"}
        out.append(StrategyConfig(module, MappingProxyType(params)))
    return tuple(out)


def _check_port_clashes(mode: str, tws: TwsConfig, sim: SimConfig, control: ControlConfig) -> None:
    if control.port == 0 or not control.enabled:
        return
    other = ("tws.port", tws.port) if mode == "tws" else ("sim.port", sim.port)
    if control.port == other[1]:
        raise ConfigError(
            "control.port",
            f"{control.port} is also {other[0]}",
            "give the control API its own port, e.g. 5000",
        )


# --------------------------------------------------------------------------- helpers


def is_loopback_host(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the only hosts twsapp talks to or listens on."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _show(value: Any) -> str:
    """A value as it would be written in TOML, short and on one line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, datetime | date | time):
        text = value.isoformat()
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Table:
    """One TOML table being read: knows its dotted prefix, so every error can name its key."""

    def __init__(self, prefix: str, data: Mapping[str, Any], known: tuple[str, ...] = ()):
        self.prefix = prefix
        self.data = data
        if known:
            self.known(*known)

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def known(self, *names: str) -> None:
        for name in self.data:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
                fix = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(names)
                raise ConfigError(self.key(name), "unknown key", fix)

    def table(self, name: str) -> _Table:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(
                self.key(name), f"expected a table, got {_show(value)}", f"write it as [{name}]"
            )
        return _Table(self.key(name), value)

    def array_of_tables(self, name: str) -> list[_Table]:
        value = self.data.get(name, [])
        fix = f"write each entry as [[{name}]] followed by its keys"
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(
                self.key(name), f"expected [[{name}]] tables, got {_show(value)}", fix
            )
        return [_Table(f"{self.key(name)}[{i}]", v) for i, v in enumerate(value)]

    def _bad(self, name: str, expected: str, fix: str) -> ConfigError:
        return ConfigError(
            self.key(name), f"expected {expected}, got {_show(self.data[name])}", fix
        )

    def integer(self, name: str, default: Any, lo: int, hi: int, fix: str) -> Any:
        if name not in self.data:
            return default
        value = self.data[name]
        if not _is_int(value) or not lo <= value <= hi:
            raise self._bad(name, f"an integer {lo}..{hi}", fix)
        return value

    def number(self, name: str, default: float, fix: str, *, positive: bool = False) -> float:
        if name not in self.data:
            return default
        value = self.data[name]
        if not _is_number(value) or not math.isfinite(value) or (positive and value <= 0):
            raise self._bad(name, "a positive number" if positive else "a number", fix)
        return float(value)

    def decimal(self, name: str, default: Any, fix: str) -> Any:
        """A positive quantity, kept exact as a Decimal like every quantity in the app."""
        if name not in self.data:
            return default
        value = self.data[name]
        if not _is_number(value) or not math.isfinite(value) or value <= 0:
            raise self._bad(name, "a positive number", fix)
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)

    def boolean(self, name: str, default: bool, fix: str) -> bool:
        if name not in self.data:
            return default
        if not isinstance(self.data[name], bool):
            raise self._bad(name, "true or false", fix)
        return self.data[name]

    def choice(
        self, name: str, choices: tuple[str, ...], default: str, fix: str, *, upper: bool = False
    ) -> str:
        if name not in self.data:
            return default
        value = self.data[name]
        if isinstance(value, str) and upper:
            value = value.upper()
        if value not in choices:
            raise self._bad(name, "one of " + ", ".join(f'"{c}"' for c in choices), fix)
        return value

    def host(self, name: str, default: str) -> str:
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, str) or not value:
            raise self._bad(name, "a host name or address", 'use "127.0.0.1"')
        if not is_loopback_host(value):
            raise ConfigError(
                self.key(name),
                f"{value!r} is not a loopback address; twsapp only talks to this machine",
                'use "127.0.0.1" (or "::1", "localhost") and run twsapp where TWS runs, '
                "or forward TWS's port to 127.0.0.1 (e.g. an SSH tunnel)",
            )
        return value

    def account(self, name: str, default: str, fix: str) -> str:
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, str) or (value and not _ACCOUNT_RE.match(value)):
            raise self._bad(name, "an account id (letters and digits)", fix)
        return value

    def accounts(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        if name not in self.data:
            return default
        value = self.data[name]
        fix = 'list paper-style account ids, e.g. ["DU1234567"] (several for an FA setup)'
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and _ACCOUNT_RE.match(v) for v in value)
        ):
            raise self._bad(name, "a non-empty array of account ids", fix)
        if len(set(value)) != len(value):
            raise ConfigError(self.key(name), "lists an account twice", "list each account once")
        return tuple(value)

    def path(self, name: str, default: Path | None, base: Path, *, must_exist: bool) -> Path | None:
        if name not in self.data:
            return base / default if default is not None else None
        value = self.data[name]
        if not isinstance(value, str) or not value or "\0" in value:
            raise self._bad(name, "a file path", "write a path, relative to this config file")
        path = base / Path(value).expanduser()
        if must_exist and not path.is_file():
            raise ConfigError(
                self.key(name),
                f"file not found: {str(path)!r}",
                "fix the path (relative paths start at the config file's folder) or remove the key",
            )
        return path

    def start(self, name: str) -> datetime | None:
        """sim.start: a TOML datetime or an ISO string; without an offset it is New York time."""
        if name not in self.data:
            return None
        value = self.data[name]
        fix = "write an ISO date and time, e.g. 2025-01-06T09:30:00-05:00, or remove the key"
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise self._bad(name, "an ISO date and time", fix) from None
        if not isinstance(value, datetime):  # a bare date or time is ambiguous: refuse it
            raise self._bad(name, "a date and time", fix)
        return value if value.tzinfo is not None else value.replace(tzinfo=EXCHANGE_TZ)
