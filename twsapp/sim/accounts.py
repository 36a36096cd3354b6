"""Simulated brokerage accounts: cash, positions, average cost and the values TWS reports.

Kept apart from the exchange so the arithmetic of fills (cost basis, realized P&L, commissions)
can be checked on its own, and so the values TWS derives from it (NetLiquidation, BuyingPower,
...) are computed in one place for reqAccountSummary and reqAccountUpdates alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal

from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.order_state import OrderState

from .wire import java_double

STARTING_CASH = 1_000_000.0
BASE_CURRENCY = "USD"

# Tags TWS knows for reqAccountSummary; "All" expands to these (the simulator computes each).
SUMMARY_TAGS = (
    "AccountType",
    "NetLiquidation",
    "TotalCashValue",
    "SettledCash",
    "AccruedCash",
    "BuyingPower",
    "EquityWithLoanValue",
    "PreviousDayEquityWithLoanValue",
    "GrossPositionValue",
    "RegTEquity",
    "RegTMargin",
    "SMA",
    "InitMarginReq",
    "MaintMarginReq",
    "AvailableFunds",
    "ExcessLiquidity",
    "Cushion",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "FullAvailableFunds",
    "FullExcessLiquidity",
    "LookAheadNextChange",
    "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq",
    "LookAheadAvailableFunds",
    "LookAheadExcessLiquidity",
    "HighestSeverity",
    "DayTradesRemaining",
    "Leverage",
)
INIT_MARGIN_RATE = 0.25
MAINT_MARGIN_RATE = 0.25
LEVERAGE = 4.0


@dataclass
class Holding:
    contract: Contract
    quantity: Decimal = Decimal(0)
    avg_cost: float = 0.0  # per unit, times the multiplier, commissions included (as IB reports)
    realized_pnl: float = 0.0

    @property
    def multiplier(self) -> float:
        text = self.contract.multiplier
        try:
            return float(text) if text else 1.0
        except ValueError:
            return 1.0


@dataclass
class Account:
    account_id: str
    cash: float = STARTING_CASH
    holdings: dict[int, Holding] = field(default_factory=dict)
    realized_pnl: float = 0.0
    commissions: float = 0.0

    def apply_fill(
        self, contract: Contract, side: str, quantity: Decimal, price: float, commission: float
    ) -> tuple[Holding, float | None]:
        """Book one execution; return the holding after it and the realized P&L of this fill.

        The P&L is None for a fill that only opens or adds: TWS leaves the commission report's
        realizedPNL unset then, and reports a number (possibly 0) only when a position closes.
        """
        holding = self.holdings.get(contract.conId)
        if holding is None:
            holding = Holding(contract=copy.copy(contract))
            self.holdings[contract.conId] = holding
        mult = holding.multiplier
        signed = quantity if side == "BUY" else -quantity
        old_qty = holding.quantity
        realized: float | None = None
        unit_cost = price * mult
        if old_qty == 0 or (old_qty > 0) == (signed > 0):
            total = float(abs(old_qty)) * holding.avg_cost + float(quantity) * unit_cost
            total += commission
            holding.quantity = old_qty + signed
            holding.avg_cost = total / float(abs(holding.quantity))
        else:
            closing = min(abs(old_qty), quantity)
            direction = 1.0 if old_qty > 0 else -1.0
            realized = direction * float(closing) * (unit_cost - holding.avg_cost) - commission
            holding.quantity = old_qty + signed
            if holding.quantity == 0:
                holding.avg_cost = 0.0
            elif (holding.quantity > 0) != (old_qty > 0):
                holding.avg_cost = unit_cost  # flipped: the remainder opened at this price
        booked = realized or 0.0
        holding.realized_pnl += booked
        self.realized_pnl += booked
        self.commissions += commission
        if contract.secType == "FUT":
            self.cash += booked if realized is not None else -commission
        else:
            notional = float(quantity) * unit_cost
            self.cash += (-notional if side == "BUY" else notional) - commission
        return holding, realized

    def market_value(self, holding: Holding, price: float) -> float:
        return float(holding.quantity) * price * holding.multiplier

    def unrealized(self, holding: Holding, price: float) -> float:
        return (
            float(holding.quantity) * price * holding.multiplier
            - float(holding.quantity) * holding.avg_cost
        )

    def values(self, prices: dict[int, float]) -> dict[str, str]:
        """Every summary tag's value, as strings (TWS sends them as text)."""
        return {key: _money(value) for key, value in self.numbers(prices).items()}

    def numbers(self, prices: dict[int, float]) -> dict[str, float | int | str]:
        """Every summary tag's value, unformatted."""
        gross = 0.0
        stock_value = 0.0
        unrealized = 0.0
        for con_id, holding in self.holdings.items():
            if holding.quantity == 0:
                continue
            price = prices.get(con_id, holding.avg_cost / holding.multiplier)
            value = self.market_value(holding, price)
            unrealized += self.unrealized(holding, price)
            gross += abs(value)
            if holding.contract.secType != "FUT":
                stock_value += value
        net_liq = (
            self.cash
            + stock_value
            + sum(
                self.unrealized(h, prices.get(c, 0.0))
                for c, h in self.holdings.items()
                if h.contract.secType == "FUT" and h.quantity != 0
            )
        )
        init_margin = gross * INIT_MARGIN_RATE
        maint_margin = gross * MAINT_MARGIN_RATE
        available = net_liq - init_margin
        excess = net_liq - maint_margin
        cushion = excess / net_liq if net_liq else 0.0
        values: dict[str, float | int | str] = {
            "AccountType": "INDIVIDUAL",
            "NetLiquidation": net_liq,
            "TotalCashValue": self.cash,
            "SettledCash": self.cash,
            "AccruedCash": 0.0,
            "BuyingPower": max(available, 0.0) * LEVERAGE,
            "EquityWithLoanValue": net_liq,
            "PreviousDayEquityWithLoanValue": STARTING_CASH,
            "GrossPositionValue": gross,
            "RegTEquity": net_liq,
            "RegTMargin": gross * 0.5,
            "SMA": max(net_liq - gross * 0.5, 0.0),
            "InitMarginReq": init_margin,
            "MaintMarginReq": maint_margin,
            "AvailableFunds": available,
            "ExcessLiquidity": excess,
            "Cushion": cushion,
            "FullInitMarginReq": init_margin,
            "FullMaintMarginReq": maint_margin,
            "FullAvailableFunds": available,
            "FullExcessLiquidity": excess,
            "LookAheadNextChange": 0,
            "LookAheadInitMarginReq": init_margin,
            "LookAheadMaintMarginReq": maint_margin,
            "LookAheadAvailableFunds": available,
            "LookAheadExcessLiquidity": excess,
            "HighestSeverity": 0,
            "DayTradesRemaining": -1,
            "Leverage": gross / net_liq if net_liq else 0.0,
            "UnrealizedPnL": unrealized,
            "RealizedPnL": self.realized_pnl,
        }
        return values


def preview_price(order: Order, bid: float, ask: float) -> float:
    """The price a what-if preview fills at: the touch, whatever the order type.

    A preview is about holding the position, so it is valued as if taken now; filling a far
    limit at its own price would book a gain against the mark that no real fill gives.
    """
    return ask if order.action == "BUY" else bid


def preview_state(
    account: Account,
    prices: dict[int, float],
    contract: Contract,
    order: Order,
    price: float,
    commission: float,
) -> OrderState:
    """The OrderState of a what-if order: the account's margin before and after the order
    would fill at ``price``, the change, and the commission it would cost.

    Margin follows the account model (a flat share of gross position value), so a stock buy
    adds ``INIT_MARGIN_RATE`` of its notional; equity with loan changes by the commission and
    by the gap between ``price`` and the mark. Outside-RTH figures, suggested size and the
    allocation list stay unset, as in the paper-Gateway preview of a stock order (see
    ``Exchange._what_if``).
    """
    before = account.numbers(prices)
    after_account = copy.deepcopy(account)
    after_account.apply_fill(contract, order.action, order.totalQuantity, price, commission)
    after = after_account.numbers(prices)
    state = OrderState()
    state.status = "PreSubmitted"
    for name, tag in (
        ("initMargin", "InitMarginReq"),
        ("maintMargin", "MaintMarginReq"),
        ("equityWithLoan", "EquityWithLoanValue"),
    ):
        old, new = round(float(before[tag]), 2), round(float(after[tag]), 2)
        setattr(state, name + "Before", java_double(old))
        setattr(state, name + "After", java_double(new))
        setattr(state, name + "Change", java_double(round(new - old, 2)))
    state.commissionAndFees = commission
    state.commissionAndFeesCurrency = BASE_CURRENCY
    state.marginCurrency = BASE_CURRENCY
    return state


def _money(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def summary_currency(tag: str) -> str:
    """TWS leaves the currency empty for non-monetary tags."""
    non_money = {"AccountType", "Cushion", "LookAheadNextChange", "HighestSeverity"}
    non_money |= {"DayTradesRemaining", "Leverage"}
    return "" if tag in non_money else BASE_CURRENCY
