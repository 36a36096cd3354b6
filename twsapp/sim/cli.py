"""``twsapp sim``: run the simulator on its own, for a program of yours to connect to."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation

from .faults import Faults
from .inputs import SimInputError
from .server import (
    HANDSHAKE_TIMEOUT,
    MAX_SERVER_VERSION,
    MIN_SERVER_VERSION,
    SimServer,
    SimSettings,
)

# The setting each option sets, for naming the option in a refusal that ``check_settings`` makes.
OPTION_OF = {
    "host": "--host",
    "port": "--port",
    "server_version": "--server-version",
    "seed": "--seed",
    "speed": "--speed",
    "accounts": "--accounts",
    "start": "--start",
    "master_client_id": "--master-client-id",
    "display_size": "--display-size",
    "instruments_file": "--instruments",
    "bars": "--bars",
    "disconnect_after_violations": "--pacing-disconnect",
    "pacing": "--no-pacing",
    "handshake_timeout": "--handshake-timeout",
    "fa_groups": "--fa-group",
    "fa_methods": "--fa-group",
    "fault_plan": "--fault",
    "daily_restart": "--daily-restart",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Values are taken as text and converted by settings_from, so that a bad one is refused with
    # one line naming the option and the fix (argparse's own errors print the whole usage).
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", default="7497", help="port (0 = any free port)")
    parser.add_argument(
        "--server-version",
        default=str(MAX_SERVER_VERSION),
        help=f"highest API version to negotiate ({MIN_SERVER_VERSION}..{MAX_SERVER_VERSION})",
    )
    parser.add_argument("--seed", default="42", help="seed of the price paths and ids")
    parser.add_argument(
        "--speed", default="1.0", help="simulated seconds per real second (0 = frozen)"
    )
    parser.add_argument(
        "--accounts", default="DU1234567", help="comma-separated account ids to manage"
    )
    parser.add_argument("--start", help="simulated start, ISO 8601 (default: next US open)")
    parser.add_argument("--master-client-id", help="client id that sees every order")
    parser.add_argument("--display-size", help="largest quantity filled per second (partials)")
    parser.add_argument("--instruments", help="JSON file extending the built-in catalog")
    parser.add_argument(
        "--bars",
        action="append",
        default=[],
        metavar="SYMBOL=CSV",
        help="replay a CSV of bars (time,open,high,low,close,volume) for SYMBOL (repeatable)",
    )
    parser.add_argument(
        "--fa-group",
        action="append",
        default=[],
        metavar="NAME=ACCOUNT,ACCOUNT[:METHOD]",
        help="an advisor's allocation group of --accounts, split by EqualQuantity (default), "
        "NetLiq, AvailableEquity or PctChange (repeatable)",
    )
    parser.add_argument(
        "--pacing-disconnect",
        default="0",
        help="disconnect a client after this many pacing violations (0 = never)",
    )
    parser.add_argument(
        "--no-pacing",
        dest="pacing",
        action="store_false",
        help="lift the 50 messages/s limit (no error 100): for raw-speed benchmarks only",
    )
    parser.add_argument(
        "--handshake-timeout",
        default=str(HANDSHAKE_TIMEOUT),
        help="seconds a new connection has to complete the handshake and startApi",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:KEY=VALUE,...]",
        help="arm a fault (repeatable): drop:what=placeOrder|ack|execDetails, "
        "restart:down=S,after=REQUEST, daily-restart:at=HH:MM,down=S, "
        "freeze:seconds=S,after=REQUEST, "
        "notice:code=1100|1101|1102|2103|2104,after=REQUEST, duplicate:callback=NAME, reorder, "
        "delay-commission:seconds=S, withhold-commission, reject:code=103|201, refuse-connect; "
        "each fires once unless given times=N (0 = every time)",
    )
    parser.add_argument(
        "--daily-restart",
        metavar="HH:MM[,down=SECONDS]",
        help="restart like TWS every US trading day at this simulated New York time: every "
        "connection closed, the port refused for SECONDS real seconds (default 2), orders kept",
    )
    parser.add_argument("--duplicate-status", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--shuffle-order-events", action="store_true", help=argparse.SUPPRESS)


def settings_from(args: argparse.Namespace) -> SimSettings:
    """The settings the options describe; ``SimInputError`` naming the option if one is bad."""
    accounts = [a.strip() for a in args.accounts.split(",") if a.strip()]
    if not accounts:
        raise SimInputError.about(
            "--accounts", args.accounts, "names no account", "give account ids, e.g. DU1234567"
        )
    master = args.master_client_id
    groups, methods = _fa_groups(args.fa_group)
    return SimSettings(
        host=args.host,
        port=_integer("--port", args.port, "use 1..65535, or 0 for any free port"),
        server_version=_integer(
            "--server-version",
            args.server_version,
            f"use {MIN_SERVER_VERSION}..{MAX_SERVER_VERSION}",
        ),
        seed=_integer("--seed", args.seed, "use any integer, e.g. 42"),
        speed=_number("--speed", args.speed, "use simulated seconds per real second, e.g. 1"),
        accounts=accounts,
        start=_start(args.start) if args.start else None,
        master_client_id=None if master is None else _integer("--master-client-id", master, ""),
        display_size=_display_size(args.display_size),
        instruments_file=args.instruments,
        bars=_bars(args.bars),
        pacing=args.pacing,
        disconnect_after_violations=_integer(
            "--pacing-disconnect", args.pacing_disconnect, "use a count, or 0 for never"
        ),
        handshake_timeout=_number(
            "--handshake-timeout", args.handshake_timeout, "use seconds, e.g. 10"
        ),
        faults=Faults(args.duplicate_status, args.shuffle_order_events, _seed(args.seed)),
        fa_groups=groups,
        fa_methods=methods,
        fault_plan=list(args.fault),
        daily_restart=args.daily_restart,
    )


def _integer(option: str, text: str, fix: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise SimInputError.about(option, text, "not an integer", fix or "use an integer") from None


def _number(option: str, text: str, fix: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise SimInputError.about(option, text, "not a number", fix) from None


def _seed(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0  # refused with its own message by settings_from


def _display_size(text: str | None) -> Decimal | None:
    if text is None:
        return None
    fix = "use the largest quantity filled per second, e.g. 100, or leave it out for no limit"
    try:
        size = Decimal(text.strip())
    except InvalidOperation:
        raise SimInputError.about("--display-size", text, "not a number", fix) from None
    if not size.is_finite() or size <= 0:
        raise SimInputError.about("--display-size", text, "not a positive quantity", fix)
    return size


def _start(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise SimInputError.about(
            "--start", text, "not an ISO 8601 time", "write it like 2026-11-23T09:30:00-05:00"
        ) from None


def _fa_groups(specs: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """``NAME=ACCOUNT,ACCOUNT[:METHOD]`` each; the accounts and method are checked with the
    other settings (``check_settings``), which names the group."""
    groups: dict[str, list[str]] = {}
    methods: dict[str, str] = {}
    for spec in specs:
        name, sep, rest = spec.partition("=")
        members, colon, method = rest.partition(":")
        accounts = [a.strip() for a in members.split(",") if a.strip()]
        if not sep or not name.strip() or not accounts or (colon and not method.strip()):
            raise SimInputError.about(
                "--fa-group", spec, "not NAME=ACCOUNT,ACCOUNT[:METHOD]",
                "write it as e.g. Growth=DU111,DU222 or Growth=DU111,DU222:NetLiq",
            )  # fmt: skip
        name = name.strip()
        if name in groups:
            raise SimInputError.about(
                "--fa-group", spec, f"group {name!r} is given twice", "give each group once"
            )
        groups[name] = accounts
        if colon:
            methods[name] = method.strip()
    return groups, methods


def _bars(specs: list[str]) -> dict[str, str]:
    bars = {}
    for spec in specs:
        symbol, sep, path = spec.partition("=")
        if not sep or not symbol or not path:
            raise SimInputError.about(
                "--bars", spec, "not SYMBOL=FILE", "write it as SYMBOL=path/to/bars.csv"
            )
        bars[symbol] = path
    return bars


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        settings = settings_from(args)
        server = SimServer(settings).start()
    except SimInputError as exc:  # one line, naming the option as the user typed it
        option = OPTION_OF.get(exc.setting or "")
        print(f"twsapp sim: {exc.named(option) if option else exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"twsapp sim: --port {settings.port}: cannot listen on {settings.host} "
            f"({exc.strerror or exc}) — stop what uses it, or pick another port (0 = any free)",
            file=sys.stderr,
        )
        return 2
    # The handler only flips a flag: Event.set from a handler can deadlock against the main
    # thread's own wait, which is where the signal lands.
    stop: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.append(signum))
    host = server.settings.host
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address in brackets, as in URLs
    print(
        f"twsapp sim listening on {shown}:{server.port} "
        f"(server version {server.settings.server_version})",
        flush=True,
    )
    while not stop:
        time.sleep(0.2)
    server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twsapp sim", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
