"""What each strategy did, at the end of a run: the summary's ``strategies`` object and the
table the engine logs. Numbers come from the strategy's own orders and its P&L (pnl.py)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..book import OrderRecord
from ..pnl import PnlLine, totals
from .runner import StrategyRunner

COLUMNS = (
    ("strategy", "<"),
    ("state", "<"),
    ("symbol", "<"),
    ("orders", ">"),
    ("fills", ">"),
    ("position", ">"),
    ("avg_cost", ">"),
    ("realized", ">"),
    ("unrealized", ">"),
    ("commissions", ">"),
)


def contract_rows(records: list[OrderRecord], lines: list[PnlLine]) -> list[dict[str, Any]]:
    """One row per contract the strategy traded (first traded first), then per contract it
    only placed orders for."""
    rows = [_line_row(line, _count(records, line.con_id, line.symbol)) for line in lines]
    seen = {(row["con_id"], row["symbol"]) for row in rows}
    for rec in records:
        key = (_con_id(rec), rec.symbol)
        if key not in seen:
            seen.add(key)
            rows.append(_empty_row(key[0], key[1], _count(records, *key)))
    return rows


def describe(runner: StrategyRunner) -> dict[str, Any]:
    """The summary entry of one strategy: its state, its orders and fills, its P&L."""
    records, lines = runner.ctx.orders(), runner.ctx.pnl.lines()
    rows = contract_rows(records, lines)
    sums = totals(lines)
    return {
        "module": runner.module,
        "state": runner.state,
        "error": runner.error,
        "orders": len(records),
        "fills": sums.fills,
        "position": _positions(rows),
        "realized": sums.realized,
        "unrealized": sums.unrealized,
        "commissions": sums.commissions,
        "contracts": rows,
    }


def table(strategies: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The per-strategy table, one line per strategy and contract, header first."""
    body = [
        {"strategy": name, "state": entry["state"], **row}
        for name, entry in strategies.items()
        for row in entry["contracts"] or [_empty_row(None, "-", 0)]
    ]
    cells = [[_cell(column, row.get(column)) for column, _ in COLUMNS] for row in body]
    header = [column for column, _ in COLUMNS]
    widths = [max(len(c) for c in column) for column in zip(header, *cells, strict=True)]
    return [_join(line, widths) for line in (header, *cells)]


def _join(cells: Iterable[str], widths: list[int]) -> str:
    parts = [
        f"{cell:{align}{width}}"
        for cell, width, (_, align) in zip(cells, widths, COLUMNS, strict=True)
    ]
    return "  ".join(parts).rstrip()


def _cell(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column == "position":  # a quantity: as many decimals as it has
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _line_row(line: PnlLine, orders: int) -> dict[str, Any]:
    return {
        "symbol": line.symbol,
        "con_id": line.con_id,
        "orders": orders,
        "fills": line.fills,
        "position": float(line.position),
        "avg_cost": line.avg_cost,
        "last_price": line.last_price,
        "realized": line.realized,
        "unrealized": line.unrealized,
        "commissions": line.commissions,
    }


def _empty_row(con_id: int | None, symbol: str, orders: int) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "con_id": con_id,
        "orders": orders,
        "fills": 0,
        "position": 0.0,
        "avg_cost": None,
        "last_price": None,
        "realized": 0.0,
        "unrealized": 0.0,
        "commissions": 0.0,
    }


def _con_id(rec: OrderRecord) -> int | None:
    return (rec.contract.conId or None) if rec.contract is not None else None


def _count(records: list[OrderRecord], con_id: int | None, symbol: str) -> int:
    if con_id is not None:
        return sum(1 for rec in records if _con_id(rec) == con_id)
    return sum(1 for rec in records if rec.symbol == symbol)


def _positions(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Position by symbol; a symbol traded as several contracts is keyed "SYMBOL conId"."""
    symbols = [row["symbol"] for row in rows]
    positions = {}
    for row in rows:
        symbol = row["symbol"]
        key = symbol if symbols.count(symbol) == 1 else f"{symbol} {row['con_id']}"
        positions[key] = row["position"]
    return positions
