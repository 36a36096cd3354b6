"""``twsapp accounts | orders | place | modify | cancel | positions | trades``: the running
process, from a shell, through its control API (client.py).

Output is a table, or the API's JSON with ``--json``. A precaution ([risk]) is shown as the
question; it is answered at the prompt, or yes with ``--yes`` (with no terminal and no
``--yes`` nothing is placed). Exit status: 0 done, 1 no process is running, 2 refused (a bad
argument, or the API said no: its reason is printed), 3 a question answered no.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from ..config import ConfigError, load_config
from .client import ApiError, ControlClient, NotRunning
from .models import CP_ORDER_TYPES

__all__ = ["COMMANDS", "add_commands"]

EXIT_OK, EXIT_NOT_RUNNING, EXIT_REFUSED, EXIT_DECLINED = 0, 1, 2, 3

EPILOG = """\
exit status:
  0  done
  1  no `twsapp run` of this config is running (or its control API is off)
  2  refused: a bad argument, or the API's reason (printed)
  3  a precaution was answered no: nothing was placed
"""


class Declined(Exception):
    """A question answered no (or that nobody could answer)."""


def _out(text: str) -> None:
    print(text, flush=True)


def _table(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Rows as aligned columns: (heading, key) pairs; None shows as '-'."""

    def cell(value: Any) -> str:
        if value is None or value == "":
            return "-"
        if isinstance(value, float):
            return f"{value:g}" if value == int(value) else f"{value:.4f}".rstrip("0")
        return str(value)

    cells = [[cell(row.get(key)) for _, key in columns] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, (h, _) in enumerate(columns)]
    lines = ["  ".join(h.ljust(w) for (h, _), w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


ORDER_COLUMNS = (
    ("id", "orderId"), ("symbol", "ticker"), ("side", "side"), ("qty", "totalSize"),
    ("type", "orderType"), ("price", "price"), ("aux", "auxPrice"), ("status", "status"),
    ("filled", "filledQuantity"), ("avg price", "avgPrice"), ("account", "acct"),
    ("strategy", "strategy"),
)  # fmt: skip


def _answer(client: ControlClient, reply: Any, args: argparse.Namespace) -> Any:
    """Answer questions until the API places (or refuses); Declined when answered no."""
    while isinstance(reply, list) and reply and isinstance(reply[0], dict) and "id" in reply[0]:
        question = "\n".join(reply[0].get("message", []))
        ids = ", ".join(reply[0].get("messageIds", []))
        print(f"[{ids}] {question}", file=sys.stderr, flush=True)
        if args.yes:
            yes = True
            print("answered yes (--yes)", file=sys.stderr, flush=True)
        elif sys.stdin.isatty():
            yes = input("Submit? [y/N] ").strip().lower() in ("y", "yes")
        else:
            client.call("POST", f"iserver/reply/{reply[0]['id']}", {"confirmed": False})
            raise Declined("no terminal to answer on: answer with --yes; nothing was placed")
        reply = client.call("POST", f"iserver/reply/{reply[0]['id']}", {"confirmed": yes})
        if not yes:
            raise Declined("not confirmed: nothing was placed")
    return reply


def _orders(client: ControlClient, account: str | None, working: bool) -> list[dict[str, Any]]:
    answer = client.call("GET", "iserver/account/orders",
                         query={"accountId": account, "working": str(working).lower()})  # fmt: skip
    return list(answer.get("orders", []))


# ---------------------------------------------------------------------- commands


def accounts(client: ControlClient, args: argparse.Namespace) -> Any:
    answer = client.call("GET", "iserver/accounts")
    if args.json:
        return answer
    selected = answer.get("selectedAccount")
    rows = [{"name": a, "kind": "account", "selected": "*" if a == selected else ""}
            for a in answer.get("accounts", [])]  # fmt: skip
    rows += [{"name": g, "kind": "group", "selected": "*" if g == selected else ""}
             for g in answer.get("groups", [])]  # fmt: skip
    _out(_table(rows, (("account", "name"), ("kind", "kind"), ("selected", "selected"))))
    return None


def orders(client: ControlClient, args: argparse.Namespace) -> Any:
    found = _orders(client, args.account, working=not args.all)
    if args.json:
        return found
    _out(_table(found, ORDER_COLUMNS) if found else "no orders" + ("" if args.all else
         " working (--all shows done ones too)"))  # fmt: skip
    return None


def place(client: ControlClient, args: argparse.Namespace) -> Any:
    try:
        quantity = Decimal(args.quantity)
    except InvalidOperation:
        raise ValueError(f"quantity {args.quantity!r}: not a number") from None
    account = args.account or client.call("GET", "iserver/accounts").get("selectedAccount")
    found = client.call("GET", "iserver/secdef/search", query={"symbol": args.symbol})
    matches = [m for m in found if args.currency is None or m.get("currency") == args.currency]
    conids = sorted({m["conid"] for m in matches})
    if not conids:
        raise ValueError(f"no stock {args.symbol!r} found")
    if len(conids) > 1 and args.conid is None:
        listed = "; ".join(f"{m['conid']} {m.get('description')} {m.get('currency')}"
                           for m in matches)  # fmt: skip
        raise ValueError(f"{args.symbol} is ambiguous ({listed}): give --conid or --currency")
    con_id = args.conid or conids[0]
    order: dict[str, Any] = {
        "conid": con_id, "orderType": args.type, "side": args.side, "quantity": _number(quantity),
        "tif": args.tif, "ticker": args.symbol,
    }  # fmt: skip
    if args.price is not None:
        order["price"] = args.price
    if args.aux_price is not None:
        order["auxPrice"] = args.aux_price
    if args.outside_rth:
        order["outsideRTH"] = True
    reply = client.call("POST", f"iserver/account/{account}/orders", {"orders": [order]})
    placed = _answer(client, reply, args)
    if args.json:
        return placed
    for entry in placed:
        _out(f"order {entry['order_id']} placed: {args.side} {args.quantity} {args.symbol} "
             f"{args.type}{'' if args.price is None else f' {args.price}'} in {account} "
             f"({entry['order_status']})")  # fmt: skip
    return None


def _number(value: Decimal) -> int | float:
    """A quantity for JSON: an integer when it is one (100, not 100.0)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _find(client: ControlClient, order_id: int) -> dict[str, Any]:
    for order in _orders(client, "All", working=False):
        if order["orderId"] == order_id and order.get("clientId") is not None:
            return order
    raise ValueError(f"no order {order_id} in the running process's book")


def modify(client: ControlClient, args: argparse.Namespace) -> Any:
    order = _find(client, args.id)
    body: dict[str, Any] = {}
    if args.price is not None:
        body["price"] = args.price
    if args.aux_price is not None:
        body["auxPrice"] = args.aux_price
    if args.quantity is not None:
        try:
            body["quantity"] = _number(Decimal(args.quantity))
        except InvalidOperation:
            raise ValueError(f"--quantity {args.quantity!r}: not a number") from None
    if args.tif is not None:
        body["tif"] = args.tif
    if not body:
        raise ValueError("give what to change: --price, --aux-price, --quantity or --tif")
    reply = client.call("POST", f"iserver/account/{order['acct']}/order/{args.id}", body)
    done = _answer(client, reply, args)
    if args.json:
        return done
    _out(f"order {args.id} modified ({done[0]['order_status']})")
    return None


def cancel(client: ControlClient, args: argparse.Namespace) -> Any:
    filters = (args.symbol, args.type, args.side)
    if args.id is not None and (args.all or any(filters)):
        raise ValueError("give an order id, or --symbol/--type/--side, or --all: not several")
    if args.id is None and not args.all and not any(filters):
        raise ValueError("give an order id, --symbol SYMBOL [--type T] [--side S], or --all")
    if args.id is not None:
        chosen = [_find(client, args.id)]
    else:
        chosen = [
            o for o in _orders(client, "All", working=True)
            if (args.symbol is None or o["ticker"] == args.symbol.upper())
            and (args.type is None or o["orderType"] == args.type.upper())
            and (args.side is None or o["side"] == args.side.upper())
        ]  # fmt: skip
    if not args.json:
        _out(f"cancelling {len(chosen)} order(s):" if chosen else "no working order matches")
        if chosen:
            _out(_table(chosen, ORDER_COLUMNS))
    results = []
    failed = []
    for order in chosen:
        try:
            results.append(client.call(
                "DELETE", f"iserver/account/{order['acct']}/order/{order['orderId']}"))  # fmt: skip
        except ApiError as exc:
            failed.append(f"order {order['orderId']}: {exc}")
    if failed:
        raise ApiError(409, "; ".join(failed))
    if args.json:
        return results
    for result in results:
        _out(f"order {result['order_id']}: cancel requested")
    return None


def positions(client: ControlClient, args: argparse.Namespace) -> Any:
    account = args.account or client.call("GET", "iserver/accounts").get("selectedAccount")
    rows = client.call("GET", f"portfolio/{account}/positions/0")
    if args.json:
        return rows
    columns = (("account", "acctId"), ("symbol", "ticker"), ("conid", "conid"),
               ("position", "position"), ("avg cost", "avgCost"), ("price", "mktPrice"),
               ("value", "mktValue"), ("unrealized", "unrealizedPnl"))  # fmt: skip
    _out(_table(rows, columns) if rows else f"no positions in {account}")
    return None


def trades(client: ControlClient, args: argparse.Namespace) -> Any:
    rows = client.call("GET", "iserver/account/trades", query={"accountId": args.account or "All"})
    if args.json:
        return rows
    columns = (("time", "trade_time"), ("order", "order_id"), ("symbol", "symbol"),
               ("side", "side"), ("size", "size"), ("price", "price"),
               ("commission", "commission"), ("account", "account"),
               ("exec id", "execution_id"))  # fmt: skip
    _out(_table(rows, columns) if rows else "no trades")
    return None


Command = Callable[[ControlClient, argparse.Namespace], Any]
COMMANDS: dict[str, tuple[Command, str]] = {
    "accounts": (accounts, "the accounts and allocation groups of the running process"),
    "orders": (orders, "its working orders (--all: done ones too)"),
    "place": (place, "place an order: SYMBOL BUY|SELL QTY TYPE [PRICE]"),
    "modify": (modify, "modify an order by id (same id, new terms)"),
    "cancel": (cancel, "cancel an order by id, the orders matching filters, or all"),
    "positions": (positions, "positions of an account"),
    "trades": (trades, "executions"),
}


def add_commands(sub: Any) -> None:
    """The subcommands, on the ``twsapp`` parser's subparsers."""
    for name, (func, text) in COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text.capitalize() + ".", epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        p.add_argument("--config", default="config.toml", help="the config of the running run")
        p.add_argument("--json", action="store_true", help="print the API's JSON")
        p.add_argument("--yes", action="store_true", help="answer yes to every precaution")
        if name in ("orders", "positions", "trades", "place"):
            p.add_argument("--account", help="account or allocation group (default: selected)")
        if name == "orders":
            p.add_argument("--all", action="store_true", help="done orders too")
        if name == "place":
            p.add_argument("symbol")
            p.add_argument("side", type=str.upper, choices=("BUY", "SELL"))
            p.add_argument("quantity")
            p.add_argument("type", type=str.upper, choices=CP_ORDER_TYPES)
            p.add_argument("price", type=float, nargs="?", help="limit (LMT) or stop (STP)")
            p.add_argument("--aux-price", type=float, help="STOP_LIMIT's stop, ...")
            p.add_argument("--tif", default="DAY", type=str.upper)
            p.add_argument("--outside-rth", action="store_true")
            p.add_argument("--conid", type=int, help="when the symbol is ambiguous")
            p.add_argument("--currency", help="when the symbol is ambiguous, e.g. USD")
        if name == "modify":
            p.add_argument("id", type=int)
            p.add_argument("--price", type=float)
            p.add_argument("--aux-price", type=float)
            p.add_argument("--quantity")
            p.add_argument("--tif", type=str.upper)
        if name == "cancel":
            p.add_argument("id", type=int, nargs="?")
            p.add_argument("--symbol")
            p.add_argument("--type")
            p.add_argument("--side")
            p.add_argument("--all", action="store_true", help="every working order of the run")
        p.set_defaults(func=lambda args, f=func: run(f, args))


def run(func: Command, args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        client = ControlClient.for_config(config)
        shown = func(client, args)
    except NotRunning as exc:
        print(f"twsapp: {exc}", file=sys.stderr)
        return EXIT_NOT_RUNNING
    except ConfigError as exc:
        print(f"twsapp: {args.config}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (ApiError, ValueError) as exc:
        print(f"twsapp: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except Declined as exc:
        print(f"twsapp: {exc}", file=sys.stderr)
        return EXIT_DECLINED
    if shown is not None:
        _out(json.dumps(shown, indent=2, default=str))
    return EXIT_OK
