"""Contract lookup through reqContractDetails, cached, and the price grid each contract trades on.

A symbol is only a guess at a contract: TWS's answer (conId, exchange, currency, minTick, market
rules) is what orders are built from. Ambiguity is never resolved silently: the user is shown the
candidates and picks.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import TYPE_CHECKING

from ibapi.contract import Contract, ContractDetails

from .orders import round_to_tick

if TYPE_CHECKING:
    from .client import TwsApp


class ContractError(LookupError):
    pass


class ContractNotFound(ContractError):
    pass


class AmbiguousContract(ContractError):
    def __init__(self, request: str, candidates: list[ContractDetails]) -> None:
        lines = ", ".join(
            f"conId {d.contract.conId} {d.contract.symbol} {d.contract.secType} "
            f"{d.contract.primaryExchange or d.contract.exchange} {d.contract.currency}"
            for d in candidates
        )
        super().__init__(
            f"{request} matches {len(candidates)} contracts: {lines}; "
            f"give the currency / exchange, or the conId"
        )
        self.candidates = candidates


def describe(contract: Contract) -> str:
    parts = [contract.symbol or f"conId {contract.conId}", contract.secType, contract.exchange]
    parts += [contract.currency, contract.primaryExchange]
    return " ".join(p for p in parts if p)


class ContractService:
    def __init__(self, app: TwsApp) -> None:
        self._app = app
        self._by_conid: dict[int, ContractDetails] = {}
        self._by_key: dict[tuple, ContractDetails] = {}
        self._rules: dict[int, list[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def lookup(
        self,
        symbol: str,
        sec_type: str = "STK",
        exchange: str = "SMART",
        currency: str = "USD",
        primary_exchange: str = "",
        **extra: str,
    ) -> ContractDetails:
        contract = Contract()
        contract.symbol = symbol
        contract.secType = sec_type
        contract.exchange = exchange
        contract.currency = currency
        contract.primaryExchange = primary_exchange
        for name, value in extra.items():
            setattr(contract, name, value)
        return self.details(contract)

    def by_conid(self, con_id: int) -> ContractDetails:
        with self._lock:
            cached = self._by_conid.get(con_id)
        if cached is not None:
            return cached
        contract = Contract()
        contract.conId = con_id
        return self.details(contract)

    def details(self, contract: Contract) -> ContractDetails:
        key = _key(contract)
        with self._lock:
            cached = self._by_key.get(key)
        if cached is not None:
            return cached
        app = self._app
        req_id = app.requests.new_id()
        pending = app.requests.open(req_id, f"contract lookup of {describe(contract)}")
        app.reqContractDetails(req_id, contract)
        try:
            found = pending.wait(app.request_timeout)
        except Exception as exc:
            if getattr(exc, "code", None) == 200:
                raise ContractNotFound(
                    f"no contract matches {describe(contract)}: check symbol, secType, "
                    f"exchange and currency"
                ) from exc
            raise
        if not found:
            raise ContractNotFound(f"no contract matches {describe(contract)}")
        if len(found) > 1:
            raise AmbiguousContract(describe(contract), found)
        details = found[0]
        with self._lock:
            self._by_key[key] = details
            self._by_conid[details.contract.conId] = details
        return details

    def resolve(self, target: Contract | ContractDetails | str) -> ContractDetails:
        if isinstance(target, ContractDetails):
            return target
        if isinstance(target, str):
            return self.lookup(target)
        if target.conId:
            with self._lock:
                cached = self._by_conid.get(target.conId)
            if cached is not None:
                return cached
        return self.details(target)

    # ------------------------------------------------------------------ price grid

    def market_rule(self, rule_id: int) -> list[tuple[float, float]]:
        with self._lock:
            cached = self._rules.get(rule_id)
        if cached is not None:
            return cached
        app = self._app
        key = ("marketRule", rule_id)
        pending = app.requests.open(key, f"market rule {rule_id}")
        app.reqMarketRule(rule_id)
        rule = pending.wait(app.request_timeout)[0]
        with self._lock:
            self._rules[rule_id] = rule
        return rule

    def price_rules(self, details: ContractDetails) -> list[tuple[float, float]] | None:
        """The market rule of the contract's own exchange (first listed when routed SMART)."""
        ids = [i for i in (details.marketRuleIds or "").split(",") if i]
        if not ids:
            return None
        exchanges = (details.validExchanges or "").split(",")
        wanted = details.contract.exchange
        index = exchanges.index(wanted) if wanted in exchanges else 0
        return self.market_rule(int(ids[min(index, len(ids) - 1)]))

    def round_price(
        self, target: Contract | ContractDetails | str, price: float, direction: str = "nearest"
    ) -> float:
        details = self.resolve(target)
        rules = self.price_rules(details)
        return round_to_tick(price, rules or details.minTick, direction)

    def check_price(self, target: Contract | ContractDetails | str, price: float) -> bool:
        return self.round_price(target, price) == float(Decimal(repr(price)))


def _key(contract: Contract) -> tuple:
    return (
        contract.conId,
        contract.symbol,
        contract.secType,
        contract.exchange,
        contract.currency,
        contract.primaryExchange,
        contract.localSymbol,
        contract.lastTradeDateOrContractMonth,
    )
