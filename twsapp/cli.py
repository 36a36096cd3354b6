"""Command line: ``twsapp run`` (the long-lived process), ``twsapp sim`` (the simulator), and
the commands that drive a running process through its control API (``twsapp orders`` ...)."""

from __future__ import annotations

import argparse
import gc
import logging
import math
import signal
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from . import journal_export
from .config import ConfigError, load_config
from .control import commands as control_commands
from .sim import cli as sim_cli

RUN_EPILOG = """\
exit status:
  0  a clean run: Ctrl-C, SIGTERM or the end of --duration
  2  bad input: the config, a strategy module or its parameters, a command-line value
     (one line on stderr names it and the fix; nothing was connected)
  3  cannot connect to TWS (or TWS did not answer the start-up sync)
  4  the connection to TWS was lost while running and [tws] reconnect is false
  5  a strategy failed: it raised in a hook (e.g. an unknown symbol in on_start) or did not
     stop in time; the others ran on ("strategies" in the summary says which)

--duration 0 checks the config and the strategies and stops without connecting. A stop
(Ctrl-C, SIGTERM) before the strategies start means no strategy starts; one while connecting
abandons the connection at once. At the end, the strategies stop (on_stop), TWS answers their
last orders, a table of each strategy's orders, fills, position and P&L is logged, then the
summary is written and the connection closed.
"""


def _duration(text: str | None) -> float | None:
    """Seconds to run, or None for "until stopped"; ValueError with the one-line reason."""
    if text is None:
        return None
    fix = "give the seconds to run, e.g. --duration 60, or leave it out to run until Ctrl-C"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--duration {text}: not a number — {fix}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"--duration {text}: expected 0 or more finite seconds — {fix}")
    return value


def _check_summary_path(text: str | None) -> None:
    if text is not None and not Path(text).absolute().parent.is_dir():
        raise ValueError(
            f"--summary-json {text}: its folder does not exist — create it or choose another path"
        )


def _run(args: argparse.Namespace) -> int:
    try:
        duration = _duration(args.duration)
        _check_summary_path(args.summary_json)
    except ValueError as exc:
        print(f"twsapp: {exc}", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"twsapp: {args.config}: {exc}", file=sys.stderr)
        return 2
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if config.logging.file is not None:
        try:
            handlers.append(RotatingFileHandler(
                config.logging.file, maxBytes=config.logging.max_bytes,
                backupCount=config.logging.backups, encoding="utf-8",
            ))  # fmt: skip
        except OSError as exc:
            print(f"twsapp: {args.config}: logging.file: cannot write {config.logging.file}: "
                  f"{exc.strerror} — fix the path or set file = \"\"", file=sys.stderr)  # fmt: skip
            return 2
    logging.basicConfig(
        level=getattr(logging, config.log_level, logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        handlers=handlers,
    )
    # ibapi logs every request and answer at INFO: useful only when debugging the wire.
    if config.log_level != "DEBUG":
        logging.getLogger("ibapi").setLevel(logging.WARNING)
    from .engine import Engine
    from .exceptions import StrategyError, TwsAppError

    engine = Engine(config)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: engine.stop_from_signal())
    try:
        engine.prepare()  # every strategy imported and checked before connecting
    except (StrategyError, ConfigError) as exc:
        print(f"twsapp: {args.config}: {exc}", file=sys.stderr)
        return 2
    if duration == 0:
        engine.stop()
    # What is alive now (modules, pandas, the strategies) lives as long as the process: out of
    # the collector's way, so that each full collection of a long run walks only the book.
    gc.collect()
    gc.freeze()
    try:
        engine.start()
    except TwsAppError as exc:  # cannot connect, or no answer to the sync: exit 3
        print(f"twsapp: {exc}", file=sys.stderr)
    else:
        engine.run(duration)
    finally:
        code = engine.shutdown(args.summary_json)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twsapp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run the trading process (strategies, book, simulator)",
        description="Run the strategies of the config against TWS (or the embedded simulator).",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--config", default="config.toml", help="path of config.toml")
    run.add_argument(
        "--duration", metavar="SECONDS", help="stop this many seconds after the strategies start"
    )
    run.add_argument(
        "--summary-json",
        metavar="PATH",
        help="write orders, fills, positions and each strategy's state and P&L here at exit",
    )
    run.set_defaults(func=_run)
    sim = sub.add_parser("sim", help="run the TWS simulator alone")
    sim_cli.add_arguments(sim)
    sim.set_defaults(func=sim_cli.run)
    # accounts | orders | place | modify | cancel | positions | trades: a running run's API
    control_commands.add_commands(sub)
    journal_export.add_command(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
