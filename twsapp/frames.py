"""pandas views of the book. Built from snapshots; every frame has its columns even when empty.

Dtypes are fixed whatever the rows: prices and quantities are float64 (pandas has no Decimal
dtype) with NaN for "unknown", ids are nullable Int64 with <NA>; never an ibapi unset marker,
because the records they come from are already clean.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pandas as pd

from .records import AccountValue, OrderRecord, Position, clean_float

ORDER_COLUMNS = [
    "client_id",  # int: the API client that placed it (0 for TWS-placed orders)
    "order_id",  # int: the API order id (0 when TWS did not give one)
    "perm_id",  # int | None: TWS's permanent id
    "parent_id",  # int | None
    "symbol",
    "sec_type",
    "con_id",  # int | None
    "exchange",
    "currency",
    "account",
    "action",  # BUY / SELL
    "order_type",  # MKT, LMT, STP, ...
    "quantity",  # float | None: total quantity
    "limit_price",  # float | None (None for types without one)
    "aux_price",  # float | None: stop / trail amount (None for types without one)
    "tif",
    "status",  # see twsapp.status
    "done",  # bool
    "rejected",  # bool
    "filled",  # float
    "remaining",  # float | None
    "avg_fill_price",  # float | None
    "last_fill_price",  # float | None
    "commission",  # float | None: sum of the fills' joined commissions
    "fills",  # int: number of executions
    "why_held",
    "modify",  # str: state of the latest modify ("" when never modified)
    "last_error",  # str: "code: text" of the latest failure (not 202, warnings), "" when none
    "updated",  # datetime of the latest change
]

FILL_COLUMNS = [
    "exec_id",
    "client_id",
    "order_id",
    "perm_id",
    "time",  # as TWS sends it
    "symbol",
    "con_id",
    "side",  # BOT / SLD
    "shares",  # float
    "price",  # float
    "cum_qty",  # float | None
    "avg_price",  # float | None
    "exchange",
    "account",
    "commission",  # float | None: None until (or unless) the report arrives
    "commission_currency",
    "realized_pnl",  # float | None
]

POSITION_COLUMNS = [
    "account",
    "con_id",
    "symbol",
    "sec_type",
    "currency",
    "local_symbol",
    "exchange",
    "position",  # float; 0 rows are kept: TWS reports positions closed in the session
    "avg_cost",  # float | None
]

ACCOUNT_COLUMNS = [
    "account",
    "tag",  # e.g. NetLiquidation, TotalCashValue, BuyingPower
    "value",  # str, as TWS sends it (some tags are not numbers)
    "currency",
    "amount",  # float | None: value as a number when it is one
]


_FLOAT = "float64"
_ID = "Int64"
_DTYPES = {
    **dict.fromkeys(("client_id", "order_id", "perm_id", "parent_id", "con_id", "fills"), _ID),
    **dict.fromkeys(("quantity", "limit_price", "aux_price", "filled", "remaining"), _FLOAT),
    **dict.fromkeys(("avg_fill_price", "last_fill_price", "commission", "shares"), _FLOAT),
    **dict.fromkeys(("price", "cum_qty", "avg_price", "realized_pnl", "position"), _FLOAT),
    **dict.fromkeys(("avg_cost", "amount"), _FLOAT),
    **dict.fromkeys(("done", "rejected"), "bool"),
}


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({c: t for c, t in _DTYPES.items() if c in columns})


def _num(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def orders_df(records: Iterable[OrderRecord]) -> pd.DataFrame:
    rows = []
    for r in records:
        c = r.contract
        last_mod = r.modifications[-1].state if r.modifications else ""
        failures = [e for e in r.errors if e.is_failure]
        last_err = f"{failures[-1].code}: {failures[-1].text}" if failures else ""
        rows.append(
            {
                "client_id": r.client_id,
                "order_id": r.order_id,
                "perm_id": r.perm_id,
                "parent_id": r.parent_id,
                "symbol": r.symbol,
                "sec_type": c.secType if c is not None else "",
                "con_id": (c.conId or None) if c is not None else None,
                "exchange": c.exchange if c is not None else "",
                "currency": c.currency if c is not None else "",
                "account": r.account,
                "action": r.action,
                "order_type": r.order_type,
                "quantity": _num(r.total_quantity),
                "limit_price": r.limit_price,
                "aux_price": r.aux_price,
                "tif": r.tif,
                "status": r.status,
                "done": r.done,
                "rejected": r.rejected,
                "filled": float(r.filled),
                "remaining": _num(r.remaining),
                "avg_fill_price": r.avg_fill_price,
                "last_fill_price": r.last_fill_price,
                "commission": r.commission,
                "fills": len(r.fills),
                "why_held": r.why_held,
                "modify": last_mod,
                "last_error": last_err,
                "updated": r.updated,
            }
        )
    return _frame(rows, ORDER_COLUMNS)


def fills_df(records: Iterable[OrderRecord]) -> pd.DataFrame:
    rows = []
    for r in records:
        for f in r.fills.values():
            rows.append(
                {
                    "exec_id": f.exec_id,
                    "client_id": f.client_id,
                    "order_id": f.order_id,
                    "perm_id": f.perm_id,
                    "time": f.time,
                    "symbol": f.symbol,
                    "con_id": f.con_id,
                    "side": f.side,
                    "shares": float(f.shares),
                    "price": f.price,
                    "cum_qty": _num(f.cum_qty),
                    "avg_price": f.avg_price,
                    "exchange": f.exchange,
                    "account": f.account,
                    "commission": f.commission,
                    "commission_currency": f.commission_currency,
                    "realized_pnl": f.realized_pnl,
                }
            )
    return _frame(rows, FILL_COLUMNS)


def positions_df(positions: Iterable[Position]) -> pd.DataFrame:
    rows = [
        {
            "account": p.account,
            "con_id": p.con_id,
            "symbol": p.symbol,
            "sec_type": p.sec_type,
            "currency": p.currency,
            "local_symbol": p.local_symbol,
            "exchange": p.exchange,
            "position": float(p.position),
            "avg_cost": p.avg_cost,
        }
        for p in positions
    ]
    return _frame(rows, POSITION_COLUMNS)


def account_df(values: Iterable[AccountValue]) -> pd.DataFrame:
    rows = [
        {
            "account": v.account,
            "tag": v.tag,
            "value": v.value,
            "currency": v.currency,
            "amount": clean_float(v.value),
        }
        for v in values
    ]
    return _frame(rows, ACCOUNT_COLUMNS)
