"""Positions and account values: reqPositions, reqAccountSummary, reqAccountUpdates, and the
updates their subscribers get after every fill.

A mixin of ``Exchange``; the bookkeeping itself (holdings, cash, P&L) is ``accounts.Account``'s.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from ibapi.contract import Contract

from . import messages as m
from .accounts import SUMMARY_TAGS, Account, Holding, summary_currency
from .records import SimOrder
from .state import ExchangeState


class Portfolio(ExchangeState):
    """Mixin of ``Exchange``: uses its accounts, subscriptions and ``_emit``."""

    def _after_fill(self, so: SimOrder, accounts: Sequence[str] = ()) -> None:
        """Tell the subscribers of each account a fill booked to (the order's own account, or
        a group order's accounts) its new position and values."""
        for booked in dict.fromkeys(accounts or [so.order.account]):
            account = self.accounts[booked]
            holding = account.holdings[so.contract.conId]
            self._after_fill_of(account, holding)

    def _after_fill_of(self, account: Account, holding: Holding) -> None:
        for client_id in sorted(self._position_subs):
            self._emit(
                client_id,
                [
                    m.Position(
                        account.account_id,
                        self._pos_contract(holding.contract),
                        holding.quantity,
                        holding.avg_cost,
                    )
                ],
            )
        for client_id, account_id in sorted(self._account_subs.items()):
            if account_id in ("", account.account_id):
                self._emit(client_id, self._account_batch(account, with_end=False))
        self._multi_after_fill(account, holding)

    @staticmethod
    def _pos_contract(contract: Contract) -> Contract:
        c = copy.copy(contract)
        c.exchange = ""
        return c

    def _marks(self) -> dict[int, float]:
        """What holdings are worth: the tape's last trade (kept through the night), or the
        quote's midpoint for a currency, which never trades."""
        marks = {}
        for account in self.accounts.values():
            for con_id in account.holdings:
                marks[con_id] = self._mark(con_id)
        return marks

    def _mark(self, con_id: int) -> float:
        last = self.tape.last_trade(con_id, self._step)
        if last is not None:
            return last.price
        quote = self.tape.last_quote(con_id, self._step)
        return quote.mid if quote is not None else self.prices.price_at(con_id, self._step)

    def _on_ReqPositions(self, client_id: int, req: m.ReqPositions) -> None:
        self._position_subs.add(client_id)
        batch: list[m.Message] = [
            m.Position(
                account.account_id,
                self._pos_contract(holding.contract),
                holding.quantity,
                holding.avg_cost,
            )
            for account in self.accounts.values()
            for holding in account.holdings.values()
        ]
        batch.append(m.PositionEnd())
        self._emit(client_id, batch)

    def _on_CancelPositions(self, client_id: int, req: m.CancelPositions) -> None:
        self._position_subs.discard(client_id)

    def _on_ReqAccountSummary(self, client_id: int, req: m.ReqAccountSummary) -> None:
        wanted = [t.strip() for t in req.tags.split(",") if t.strip()]
        if "All" in wanted or "$LEDGER" in wanted:
            wanted = list(SUMMARY_TAGS)
        marks = self._marks()
        batch: list[m.Message] = []
        # "All", or an advisor's group: then its accounts, each on its own rows (IB's API
        # reference, reqAccountSummary's group parameter).
        group = self.fa_groups.get(req.group)
        covered = group.accounts if group is not None else tuple(self.accounts)
        for account in (self.accounts[a] for a in covered):
            values = account.values(marks)
            batch.extend(
                m.AccountSummary(
                    req.req_id, account.account_id, tag, values[tag], summary_currency(tag)
                )
                for tag in wanted
                if tag in values
            )
        batch.append(m.AccountSummaryEnd(req.req_id))
        self._emit(client_id, batch)

    def _on_CancelAccountSummary(self, client_id: int, req: m.CancelAccountSummary) -> None:
        return None

    def _on_ReqAccountUpdates(self, client_id: int, req: m.ReqAccountUpdates) -> None:
        if not req.subscribe:
            self._account_subs.pop(client_id, None)
            return
        account = self.accounts.get(req.account) or self.accounts[self.account_ids[0]]
        self._account_subs[client_id] = account.account_id
        self._emit(client_id, self._account_batch(account, with_end=True))

    def _account_batch(self, account: Account, with_end: bool) -> list[m.Message]:
        marks = self._marks()
        # AccountCode first, with no currency (a paper Gateway at 225: ibkr-go transcript
        # account_updates.txt).
        batch: list[m.Message] = [m.AccountValue("AccountCode", account.account_id, "",
                                                 account.account_id)]  # fmt: skip
        for key, value in account.values(marks).items():
            batch.append(m.AccountValue(key, value, summary_currency(key), account.account_id))
        for con_id, holding in account.holdings.items():
            price = marks.get(con_id, 0.0)
            batch.append(
                m.PortfolioValue(
                    contract=copy.copy(holding.contract),
                    position=holding.quantity,
                    market_price=price,
                    market_value=account.market_value(holding, price),
                    average_cost=holding.avg_cost,
                    unrealized_pnl=account.unrealized(holding, price),
                    realized_pnl=holding.realized_pnl,
                    account=account.account_id,
                )
            )
        batch.append(m.AccountUpdateTime(self._moment(self._step).strftime("%H:%M")))
        if with_end:
            batch.append(m.AccountDownloadEnd(account.account_id))
        return batch
