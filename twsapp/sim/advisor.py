"""An advisor's login: requestFA / replaceFA, and group orders split across their accounts.

A mixin of ``Exchange``; the pure part (groups, their XML, the arithmetic of a split) is
``fa.py``, which also names the sources. The login is an advisor's when it manages more than
one account or has groups. A group order (``faGroup``; ``faMethod`` and ``faPercentage`` if
given, else the group's method) is split when it is placed: its accounts' values then set a
ratio method's shares, their positions a PctChange order's size. Each fill is split the same
way and booked to the accounts, one execution and commission report each (IB's schedule
applies per account). An advisor's block execution of the whole fill, on its own (F... / DF...)
account, comes first with the sum of the commissions when the login lists such an account: a
production adapter for IB notes that an advisor first receives "executions and commission
reports for the master order, followed by executions and commission reports for all
allocations" (QuantConnect/Lean.Brokerages.InteractiveBrokers, InteractiveBrokersBrokerage.cs).
Positions and account values exist per account, never per group.

Chosen where no source was found: an unknown group is refused with 321 (tag 'bA', "Invalid
group name"); a group order naming an account too with 201 "Invalid account number." (what
LEAN's issue 228 quotes TWS answering an order that carried both); a malformed replaceFA
document with 321 (tag 'bW', naming what is wrong); replaceFAEnd's text is empty. Each
account's execution reports that account's own cumulative quantity and average price.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ibapi.order import Order

from . import fa, rules
from . import messages as m
from .fa import Allocation, FaError
from .instruments import Instrument
from .matching import commission_for
from .records import Fill, SimOrder
from .rules import Refusal, refuse
from .state import ExchangeState

NOT_ADVISOR = "FA data operations ignored for non FA customers."
NO_SUCH_OPERATION = "Non-existent FA data operation request."


class AdvisorAccounts(ExchangeState):
    """Mixin of ``Exchange``: uses its accounts, groups, marks and ``_book_execution``."""

    # ------------------------------------------------------------------ the login

    @property
    def advisor_login(self) -> bool:
        return len(self.accounts) > 1 or bool(self.fa_groups)

    @property
    def advisor_account(self) -> str | None:
        """The advisor's own account (F... / DF...) among those managed, if listed."""
        return next((a for a in self.account_ids if fa.is_advisor_account(a)), None)

    # ------------------------------------------------------------------ requestFA / replaceFA

    def _on_ReqFA(self, client_id: int, req: m.ReqFA) -> None:
        refusal = self._fa_refusal(req.fa_data_type)
        if refusal is not None:
            self._error(client_id, -1, refusal)
            return
        if req.fa_data_type == fa.GROUPS:
            xml = fa.groups_xml(self.fa_groups.values())
        else:
            xml = fa.aliases_xml({a: self.fa_aliases.get(a, a) for a in self.account_ids})
        self._emit(client_id, [m.ReceiveFA(req.fa_data_type, xml)])

    def _on_ReplaceFA(self, client_id: int, req: m.ReplaceFA) -> None:
        refusal = self._fa_refusal(req.fa_data_type)
        try:
            if refusal is not None:
                raise refusal
            if req.fa_data_type == fa.GROUPS:
                groups = fa.parse_groups(req.xml, self.account_ids)
                self.fa_groups = {g.name: g for g in groups}
            else:
                self.fa_aliases = fa.parse_aliases(req.xml, self.account_ids)
        except FaError as exc:
            self._error(client_id, req.req_id, refuse(rules.VALIDATION, tag="bW", cause=str(exc)))
            return
        except Refusal as exc:
            self._error(client_id, req.req_id, exc)
            return
        self._emit(client_id, [m.ReplaceFAEnd(req.req_id, "")])

    def _fa_refusal(self, fa_data_type: int) -> Refusal | None:
        if not self.advisor_login:
            return refuse(rules.VALIDATION, tag="bW", cause=NOT_ADVISOR)
        if fa_data_type not in (fa.GROUPS, fa.ALIASES):  # profiles are groups now
            return refuse(rules.VALIDATION, tag="ce", cause=NO_SUCH_OPERATION)
        return None

    # ------------------------------------------------------------------ a group order

    def _allocate(self, order: Order, instrument: Instrument) -> Allocation | None:
        """The split of a group order (None for any other), as TWS makes it when the order
        arrives; a PctChange order gets its size from it. Refusal as TWS refuses the order."""
        if not order.faGroup:
            return None
        group = self.fa_groups.get(order.faGroup)
        if group is None:
            cause = f"Invalid group name {order.faGroup!r}"
            raise refuse(rules.VALIDATION, tag="bA", cause=cause)
        if order.account:
            raise refuse(rules.REJECTED, reason="Invalid account number.")
        targets: list[Decimal] | None
        try:
            method = fa.method_of(order.faMethod or group.method)
            unit = _unit(instrument)
            if method == fa.PCT_CHANGE:
                percent = fa.parse_percent(order.faPercentage)
                held = [self._held(a, instrument) for a in group.accounts]
                targets = fa.pct_change(order.action, percent, held, unit)
                if not any(targets):
                    raise FaError(f"no account of group {group.name!r} holds a position that "
                                  f"{order.action} {percent}% changes")  # fmt: skip
                order.totalQuantity = sum(targets, Decimal(0))
            else:
                targets = self._targets(order, group.accounts, method, unit)
        except FaError as exc:
            raise refuse(rules.VALIDATION, tag="bA", cause=str(exc)) from None
        if targets is None:
            return None  # a size TWS refuses anyway (rules.check_order says why)
        return Allocation(group.name, method, group.accounts, targets)

    def _reallocated(self, so: SimOrder, order: Order) -> Allocation | None:
        """A modified group order's split: its new size spread the same way (PctChange sizes
        are TWS's own: they stay); what each account already got is kept."""
        allocation = so.allocation
        if allocation is None or allocation.method == fa.PCT_CHANGE:
            return allocation
        if order.totalQuantity == so.order.totalQuantity:
            return allocation
        try:
            targets = self._targets(
                order, allocation.accounts, allocation.method, _unit(so.instrument)
            )
        except FaError as exc:
            raise refuse(rules.VALIDATION, tag="bA", cause=str(exc)) from None
        if targets is None:
            return allocation
        given, paid = list(allocation.given), list(allocation.paid)
        return Allocation(allocation.group, allocation.method, allocation.accounts, targets,
                          given, paid)  # fmt: skip

    def _targets(
        self, order: Order, accounts: tuple[str, ...], method: str, unit: Decimal
    ) -> list[Decimal] | None:
        total = order.totalQuantity
        if not isinstance(total, Decimal) or not total.is_finite() or total <= 0:
            return None
        if method == fa.EQUAL:
            return fa.split(total, [Decimal(1)] * len(accounts), unit)
        tag = fa.RATIO_TAGS[method]
        marks = self._marks()
        weights = []
        for account_id in accounts:
            value = float(self.accounts[account_id].numbers(marks)[tag])
            weights.append(max(Decimal(repr(round(value, 2))), Decimal(0)))
        if not any(weights):
            raise FaError(f"no account of the group has a positive {tag}: {method} cannot split")
        return fa.split(total, weights, unit)

    def _held(self, account_id: str, instrument: Instrument) -> Decimal:
        holding = self.accounts[account_id].holdings.get(instrument.details.contract.conId)
        return holding.quantity if holding is not None else Decimal(0)

    def _fa_preview_account(self, order: Order) -> str:
        """The account a what-if preview of a group order is figured for: the group's first."""
        group = self.fa_groups.get(order.faGroup)
        return group.accounts[0] if group is not None else self.account_ids[0]

    # ------------------------------------------------------------------ its fills

    def _allocated_fill(
        self, so: SimOrder, quantity: Decimal, price: float, traded: datetime, step: int
    ) -> tuple[list[Fill], list[Fill]]:
        """Book a group order's fill: (the executions TWS reports first, those that follow).

        First the advisor's block execution of the whole fill if the login lists the advisor's
        account, then one per account; without one, the accounts' executions come first.
        """
        allocation = so.allocation
        assert allocation is not None
        parts = allocation.share_fill(quantity, _unit(so.instrument))
        sec_type = so.contract.secType
        # The block execution takes the first id, as it comes first.
        advisor = self.advisor_account
        block = None
        if advisor is not None:
            fees = sum(commission_for(sec_type, q, price) for q in parts if q > 0)
            block = self._book_execution(
                so, advisor, quantity, price, traded, step, round(fees, 2), block=True
            )
        accounts: list[Fill] = []
        for index, (account_id, part) in enumerate(zip(allocation.accounts, parts, strict=True)):
            if part <= 0:
                continue
            allocation.book(index, part, price)
            commission = commission_for(sec_type, part, price)
            fill = self._book_execution(so, account_id, part, price, traded, step, commission)
            fill.execution.cumQty = allocation.given[index]
            fill.execution.avgPrice = allocation.average(index)
            accounts.append(fill)
        if block is None:
            return accounts, []
        return [block], accounts


def _unit(instrument: Instrument) -> Decimal:
    """The smallest quantity an account's share is counted in: the instrument's size step."""
    step = instrument.details.sizeIncrement
    try:
        unit = Decimal(str(step))
    except ArithmeticError:
        return Decimal(1)
    return unit if unit.is_finite() and unit > 0 else Decimal(1)
