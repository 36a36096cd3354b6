"""``twsapp journal export``: the journal as files a spreadsheet or pandas reads: the orders and
fills of the book rebuilt from it, and every entry."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from .book import OrderBook
from .config import ConfigError, load_config
from .journal import Journal, encode

FORMATS = ("csv", "parquet")


def add_command(sub: argparse._SubParsersAction) -> None:
    journal = sub.add_parser("journal", help="read the run's journal")
    actions = journal.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export", help="write orders, fills and events of the journal as CSV or Parquet files"
    )
    export.add_argument("--config", default="config.toml", help="path of config.toml")
    export.add_argument("--format", choices=FORMATS, default="csv")
    export.add_argument("--out", default=".", help="folder to write into (created if missing)")
    export.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"twsapp: {args.config}: {exc}", file=sys.stderr)
        return 2
    path = config.journal.path
    if str(path) == ":memory:" or not Path(path).is_file():
        print(f"twsapp: {args.config}: journal.path: no journal at {path} — run twsapp with "
              "this config first, or point journal.path at one", file=sys.stderr)  # fmt: skip
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(path)
    try:
        frames = tables(journal, config.tws.client_id)
    finally:
        journal.close()
    for name, frame in frames.items():
        target = out / f"{name}.{args.format}"
        if args.format == "csv":
            frame.to_csv(target)
        else:
            frame.astype(
                {c: "string" for c in frame.columns if frame[c].dtype == object}
            ).to_parquet(target)
        print(f"{target}: {len(frame)} rows")
    return 0


def tables(journal: Journal, client_id: int) -> dict[str, pd.DataFrame]:
    """orders and fills of the book the journal rebuilds, and the entries themselves."""
    book = OrderBook(client_id=client_id)
    journal.replay(book)
    events = pd.DataFrame(
        [
            {"seq": e.seq, "at": e.at, "kind": e.kind, "args": json.dumps(encode(list(e.args)))}
            for e in journal.entries()
        ],
        columns=["seq", "at", "kind", "args"],
    ).set_index("seq")
    return {"orders": book.orders_df(), "fills": book.fills_df(), "events": events}
