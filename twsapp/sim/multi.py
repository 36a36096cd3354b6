"""reqAccountUpdatesMulti and reqPositionsMulti: account values and positions by account, for
one account, an advisor's group or every account, answered in full with an End message and
then kept up to date after every fill until cancelled.

A mixin of ``Exchange``. What TWS sends, from a paper IB Gateway at server version 225 (public
transcript account_updates_multi.txt of ThomasMarcelis/ibkr-go): accountUpdateMulti rows with
the reqId, the account, no model code, the key, value and currency, starting with
AccountCode; then accountUpdateMultiEnd with the reqId; a cancel has no answer. IB's API
reference: the account may be an advisor's group (a production adapter asks for a group's
values and positions so: QuantConnect/Lean.Brokerages.InteractiveBrokers); each account keeps
its own rows, a group is never summed. ib_async asks reqAccountUpdatesMulti for each account
of a login with several at connect and waits for each End.

Chosen where no source was found, as ``pnl_feed`` chooses for reqPnL: "" and "All" mean every
account; an account or group the login does not have is refused with 321 (tag 'cq', "Invalid
account code"), a model code with 321 ("Invalid model code": the simulator has no models), a
reqId already streaming with 322; ``ledgerAndNLV`` keeps the cash ledger and the net
liquidation value (NetLiquidation, TotalCashValue, SettledCash, AccruedCash, UnrealizedPnL,
RealizedPnL).
"""

from __future__ import annotations

import copy

from . import messages as m
from . import rules
from .accounts import Account, Holding, summary_currency
from .records import MultiSub
from .rules import Refusal, refuse
from .state import ExchangeState

ALL_ACCOUNTS = "All"
INVALID_ACCOUNT = "Invalid account code"
INVALID_MODEL = "Invalid model code"
LEDGER_KEYS = frozenset(
    {"NetLiquidation", "TotalCashValue", "SettledCash", "AccruedCash", "UnrealizedPnL",
     "RealizedPnL"}
)  # fmt: skip


class MultiAccountViews(ExchangeState):
    """Mixin of ``Exchange``: uses its accounts, groups, marks and ``_emit``."""

    def _on_ReqAccountUpdatesMulti(self, client_id: int, req: m.ReqAccountUpdatesMulti) -> None:
        sub = self._multi_sub(client_id, req.req_id, req.account, req.model_code,
                              self._account_multi, req.ledger_and_nlv)  # fmt: skip
        if sub is None:
            return
        marks = self._marks()
        batch: list[m.Message] = []
        for account_id in sub.accounts:
            batch += self._multi_values(sub, self.accounts[account_id], marks)
        batch.append(m.AccountUpdateMultiEnd(req.req_id))
        self._emit(client_id, batch)

    def _on_CancelAccountUpdatesMulti(
        self, client_id: int, req: m.CancelAccountUpdatesMulti
    ) -> None:
        self._account_multi.pop((client_id, req.req_id), None)

    def _on_ReqPositionsMulti(self, client_id: int, req: m.ReqPositionsMulti) -> None:
        sub = self._multi_sub(client_id, req.req_id, req.account, req.model_code,
                              self._position_multi)  # fmt: skip
        if sub is None:
            return
        batch: list[m.Message] = [
            self._multi_position(sub, account_id, holding)
            for account_id in sub.accounts
            for holding in self.accounts[account_id].holdings.values()
        ]
        batch.append(m.PositionMultiEnd(req.req_id))
        self._emit(client_id, batch)

    def _on_CancelPositionsMulti(self, client_id: int, req: m.CancelPositionsMulti) -> None:
        self._position_multi.pop((client_id, req.req_id), None)

    def _multi_sub(
        self,
        client_id: int,
        req_id: int,
        account: str,
        model_code: str,
        subs: dict[tuple[int, int], MultiSub],
        ledger_only: bool = False,
    ) -> MultiSub | None:
        """Open a subscription, or refuse it to its reqId (None)."""
        try:
            if (client_id, req_id) in subs:
                raise refuse(rules.DUPLICATE_TICKER)
            covered = self._covered(account)
            if model_code:
                raise refuse(rules.VALIDATION, tag="cq", cause=INVALID_MODEL)
        except Refusal as refusal:
            self._error(client_id, req_id, refusal)
            return None
        sub = subs[(client_id, req_id)] = MultiSub(req_id, covered, ledger_only)
        return sub

    def _covered(self, account: str) -> tuple[str, ...]:
        if account in ("", ALL_ACCOUNTS):
            return tuple(self.account_ids)
        if account in self.accounts:
            return (account,)
        group = self.fa_groups.get(account)
        if group is not None:
            return group.accounts
        raise refuse(rules.VALIDATION, tag="cq", cause=INVALID_ACCOUNT)

    def _multi_values(
        self, sub: MultiSub, account: Account, marks: dict[int, float]
    ) -> list[m.Message]:
        account_id = account.account_id
        rows: list[m.Message] = [m.AccountUpdateMulti(sub.req_id, account_id, "", "AccountCode",
                                                      account_id, "")]  # fmt: skip
        for key, value in account.values(marks).items():
            if sub.ledger_only and key not in LEDGER_KEYS:
                continue
            rows.append(
                m.AccountUpdateMulti(sub.req_id, account_id, "", key, value, summary_currency(key))
            )
        return rows

    def _multi_position(self, sub: MultiSub, account_id: str, holding: Holding) -> m.PositionMulti:
        contract = copy.copy(holding.contract)
        contract.exchange = ""  # as position() reports it
        return m.PositionMulti(sub.req_id, account_id, "", contract, holding.quantity,
                               holding.avg_cost)  # fmt: skip

    def _multi_after_fill(self, account: Account, holding: Holding) -> None:
        """A fill changed ``account``: its values and its position to whom subscribed to it."""
        account_id = account.account_id
        marks = None
        for (client_id, _), sub in sorted(self._account_multi.items()):
            if account_id in sub.accounts:
                marks = marks if marks is not None else self._marks()
                self._emit(client_id, self._multi_values(sub, account, marks))
        for (client_id, _), sub in sorted(self._position_multi.items()):
            if account_id in sub.accounts:
                self._emit(client_id, [self._multi_position(sub, account_id, holding)])

    def _forget_multi(self, client_id: int) -> None:
        """A client that hangs up loses its subscriptions."""
        for subs in (self._account_multi, self._position_multi):
            for key in [k for k in subs if k[0] == client_id]:
                del subs[key]
