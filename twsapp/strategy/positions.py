"""A strategy's position in one contract, next to the account's.

Two numbers because they differ: the strategy's own comes from its own fills (pnl.py), so
other strategies, orders placed in TWS and positions held before the run do not count; the
account's is what TWS reports (reqPositions), everything included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..book.model import Position
from ..exceptions import ContractError
from ..pnl import PnlLine


@dataclass(frozen=True, slots=True)
class StrategyPosition:
    symbol: str
    con_id: int | None  # None when neither the strategy nor the account holds it
    quantity: Decimal  # the strategy's own, signed (negative: short)
    avg_cost: float | None  # the strategy's, per share, commissions included; None when flat
    account: Decimal  # the account's (all accounts of the login unless one was named)
    account_avg_cost: float | None  # TWS's avgCost of the account's position
    realized: float  # the strategy's, this contract
    unrealized: float | None


def position_of(
    contract: Any,
    lines: Iterable[PnlLine],
    positions: Iterable[Position],
    account: str | None = None,
) -> StrategyPosition:
    """``contract`` (a symbol, Contract or ContractDetails) in the strategy's P&L lines and
    the account's positions. A bare symbol naming several contracts is refused: pass one."""
    con_id, symbol = _identify(contract)
    held = [p for p in positions if account is None or p.account == account]
    mine = [line for line in lines if _matches(line.con_id, line.symbol, con_id, symbol)]
    theirs = [p for p in held if _matches(p.con_id, p.symbol, con_id, symbol)]
    ids = {i for i in [*(x.con_id for x in mine), *(p.con_id for p in theirs)] if i is not None}
    if len(ids) > 1:
        found = ", ".join(str(i) for i in sorted(ids))
        raise ContractError(
            f"{symbol!r} names several contracts (conIds {found}): pass the contract itself"
        )
    line = mine[0] if mine else None
    quantity = sum((p.position for p in theirs), Decimal(0))
    return StrategyPosition(
        symbol=line.symbol if line else (theirs[0].symbol if theirs else symbol),
        con_id=next(iter(ids), con_id),
        quantity=line.position if line else Decimal(0),
        avg_cost=line.avg_cost if line else None,
        account=quantity,
        account_avg_cost=theirs[0].avg_cost if len(theirs) == 1 else None,
        realized=line.realized if line else 0.0,
        unrealized=line.unrealized if line else 0.0,
    )


def _identify(contract: Any) -> tuple[int | None, str]:
    """(conId or None, symbol) of a symbol, Contract or ContractDetails."""
    if isinstance(contract, str):
        return None, contract
    inner = getattr(contract, "contract", contract)  # ContractDetails holds a Contract
    return (getattr(inner, "conId", 0) or None), getattr(inner, "symbol", "")


def _matches(con_id: int | None, symbol: str, want_id: int | None, want_symbol: str) -> bool:
    if want_id is not None and con_id is not None:
        return con_id == want_id
    return symbol == want_symbol
