"""pandas views of the book. Built from snapshots; every frame has its columns even when empty.

Dtypes are fixed whatever the rows: prices and quantities are float64 (pandas has no Decimal
dtype) with NaN for "unknown", ids are nullable Int64 with <NA>; never an ibapi unset marker,
because the records they come from are already clean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from ..order_types import PRICE_FIELDS
from .cleaning import clean_float
from .model import AccountValue, OrderRecord, Position

ORDER_COLUMNS = [
    "client_id",  # int | <NA>: the API client that placed it (0 for TWS-placed orders)
    "order_id",  # int | <NA>: the API order id; <NA> when no message gave it (ids_from "")
    "perm_id",  # int | None: TWS's permanent id
    "ids_from",  # str: the message that gave the ids (placeOrder, openOrder, orderStatus,
    #   execDetails, completedOrder); "" for a done order known only from a completedOrder
    #   without ids (text versions: a cancelled order without fills, after a restart)
    "parent_id",  # int | None
    "symbol",
    "sec_type",
    "con_id",  # int | None
    "exchange",
    "currency",
    "account",  # "" for an advisor's group order, which fa_group names
    "fa_group",  # str: the advisor's allocation group an order is split across, else ""
    "order_ref",  # str: orderRef; a strategy's orders carry its name first
    "action",  # BUY / SELL
    "order_type",  # MKT, LMT, STP, ...
    "quantity",  # float | None: total quantity
    # float | None: one column per price field of order_types.py (None where the type has none)
    "limit_price",  # lmtPrice: the limit, or a cap
    "aux_price",  # auxPrice: stop, trigger, trailing amount or offset, by type
    "trailing_percent",
    "trail_stop_price",
    "limit_price_offset",
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
#: The price columns, by the ibapi attribute each shows (a column for every table field).
PRICE_COLUMNS = {
    "lmtPrice": "limit_price",
    "auxPrice": "aux_price",
    "trailingPercent": "trailing_percent",
    "trailStopPrice": "trail_stop_price",
    "lmtPriceOffset": "limit_price_offset",
}
assert set(PRICE_COLUMNS) == set(PRICE_FIELDS), "order_types.py has a price field frames lacks"

_DTYPES = {
    **dict.fromkeys(PRICE_COLUMNS.values(), _FLOAT),
    **dict.fromkeys(("client_id", "order_id", "perm_id", "parent_id", "con_id", "fills"), _ID),
    **dict.fromkeys(("quantity", "filled", "remaining"), _FLOAT),
    **dict.fromkeys(("avg_fill_price", "last_fill_price", "commission", "shares"), _FLOAT),
    **dict.fromkeys(("price", "cum_qty", "avg_price", "realized_pnl", "position"), _FLOAT),
    **dict.fromkeys(("avg_cost", "amount"), _FLOAT),
    **dict.fromkeys(("done", "rejected"), "bool"),
}


def _no_derived(item: Any) -> dict[str, Any]:
    return {}


def _frame(
    items: Iterable[Any], columns: list[str], derived: Callable[[Any], dict] = _no_derived
) -> pd.DataFrame:
    """One row per item: `derived(item)` for the columns it gives, the item's attribute of the
    column's name for the others. The dtypes turn Decimals into floats, None into NaN / <NA>."""
    rows = []
    for item in items:
        row = derived(item)
        rows.append({c: row[c] if c in row else getattr(item, c) for c in columns})
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({c: t for c, t in _DTYPES.items() if c in columns})


def _order_row(r: OrderRecord) -> dict[str, Any]:
    """The order columns that are not attributes of the record by the same name."""
    c = r.contract
    failures = [e for e in r.errors if e.is_failure]
    return {
        # unknown ids are <NA>, never 0: no two orders (nor a TWS-placed one) read as the same
        "client_id": r.client_id if r.ids_known or r.client_id else None,
        "order_id": r.order_id if r.ids_known else None,
        "sec_type": c.secType if c is not None else "",
        "con_id": (c.conId or None) if c is not None else None,
        "exchange": c.exchange if c is not None else "",
        "currency": c.currency if c is not None else "",
        "quantity": r.total_quantity,
        **{column: r.price(attr) for attr, column in PRICE_COLUMNS.items()},
        "order_ref": (r.order.orderRef or "") if r.order is not None else "",
        "fa_group": (r.order.faGroup or "") if r.order is not None else "",
        "fills": len(r.fills),
        "modify": r.modifications[-1].state if r.modifications else "",
        "last_error": f"{failures[-1].code}: {failures[-1].text}" if failures else "",
    }


def orders_df(records: Iterable[OrderRecord]) -> pd.DataFrame:
    return _frame(records, ORDER_COLUMNS, _order_row)


def fills_df(records: Iterable[OrderRecord]) -> pd.DataFrame:
    return _frame((f for r in records for f in r.fills.values()), FILL_COLUMNS)


def positions_df(positions: Iterable[Position]) -> pd.DataFrame:
    return _frame(positions, POSITION_COLUMNS)


def account_df(values: Iterable[AccountValue]) -> pd.DataFrame:
    return _frame(values, ACCOUNT_COLUMNS, lambda v: {"amount": clean_float(v.value)})
