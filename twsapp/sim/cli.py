"""``twsapp sim``: run the simulator on its own, for a program of yours to connect to."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from datetime import datetime
from decimal import Decimal

from .faults import Faults
from .server import MAX_SERVER_VERSION, MIN_SERVER_VERSION, SimServer, SimSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=7497, help="port (0 = any free port)")
    parser.add_argument(
        "--server-version",
        type=int,
        default=MAX_SERVER_VERSION,
        help=f"highest API version to negotiate ({MIN_SERVER_VERSION}..{MAX_SERVER_VERSION})",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the price paths and ids")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (0 = frozen)"
    )
    parser.add_argument(
        "--accounts", default="DU1234567", help="comma-separated account ids to manage"
    )
    parser.add_argument("--start", help="simulated start, ISO 8601 (default: next US open)")
    parser.add_argument("--master-client-id", type=int, help="client id that sees every order")
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
        "--pacing-disconnect",
        type=int,
        default=0,
        help="disconnect a client after this many pacing violations (0 = never)",
    )
    parser.add_argument("--duplicate-status", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--shuffle-order-events", action="store_true", help=argparse.SUPPRESS)


def settings_from(args: argparse.Namespace) -> SimSettings:
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(
            f"--host {args.host}: the simulator binds loopback only (127.0.0.1, localhost or ::1)"
        )
    return SimSettings(
        host=args.host,
        port=args.port,
        server_version=args.server_version,
        seed=args.seed,
        speed=args.speed,
        accounts=[a.strip() for a in args.accounts.split(",") if a.strip()],
        start=datetime.fromisoformat(args.start) if args.start else None,
        master_client_id=args.master_client_id,
        display_size=Decimal(args.display_size) if args.display_size else None,
        instruments_file=args.instruments,
        bars=_bars(args.bars),
        disconnect_after_violations=args.pacing_disconnect,
        faults=Faults(args.duplicate_status, args.shuffle_order_events, args.seed),
    )


def _bars(specs: list[str]) -> dict[str, str]:
    bars = {}
    for spec in specs:
        symbol, sep, path = spec.partition("=")
        if not sep or not symbol or not path:
            raise SystemExit(f"--bars {spec}: write it as SYMBOL=path/to/bars.csv")
        bars[symbol] = path
    return bars


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        server = SimServer(settings_from(args)).start()
    except (ValueError, OSError) as exc:
        print(f"twsapp sim: {exc}", file=sys.stderr)
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
