"""Command line: ``twsapp run`` (the long-lived process) and ``twsapp sim`` (the simulator)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from .config import ConfigError, load_config
from .sim import cli as sim_cli


def _run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"twsapp: {args.config}: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, config.log_level, logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # ibapi logs every request and answer at INFO: useful only when debugging the wire.
    if config.log_level != "DEBUG":
        logging.getLogger("ibapi").setLevel(logging.WARNING)
    from .engine import Engine
    from .exceptions import ConnectError

    engine = Engine(config)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: engine.stop_from_signal())
    try:
        engine.start()
    except ConnectError as exc:
        print(f"twsapp: {exc}", file=sys.stderr)
        engine.shutdown()
        return 3
    try:
        code = engine.run(args.duration)  # 0, or 4 when the connection to TWS was lost
    finally:
        if args.summary_json:
            engine.write_summary(args.summary_json)
        engine.shutdown()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twsapp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the trading process (strategies, book, simulator)")
    run.add_argument("--config", default="config.toml", help="path of config.toml")
    run.add_argument("--duration", type=float, help="stop after this many seconds")
    run.add_argument("--summary-json", help="write orders, fills and positions here at exit")
    run.set_defaults(func=_run)
    sim = sub.add_parser("sim", help="run the TWS simulator alone")
    sim_cli.add_arguments(sim)
    sim.set_defaults(func=sim_cli.run)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
