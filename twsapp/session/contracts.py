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

from ..errors import NO_SECURITY_DEFINITION
from ..exceptions import ContractError, ContractNotFound, RequestError
from ..orders import Direction, round_to_tick
from .requests import RequestTracker

if TYPE_CHECKING:
    from ibapi.client import EClient


class AmbiguousContract(ContractError):
    def __init__(self, request: str, candidates: list[ContractDetails]) -> None:
        lines = "; ".join(candidate_text(d) for d in candidates)
        super().__init__(
            f"{request} matches {len(candidates)} contracts: {lines}. Give the currency, "
            f"exchange or primary exchange (or expiry) that tells them apart, or the conId"
        )
        self.candidates = candidates


def candidate_text(details: ContractDetails) -> str:
    """One candidate as a user picks it: conId, what it is, where it trades, its currency."""
    c = details.contract
    words = [f"conId {c.conId}", c.symbol, c.secType]
    if c.localSymbol and c.localSymbol != c.symbol:
        words.append(c.localSymbol)
    if c.lastTradeDateOrContractMonth:
        words.append(f"expiry {c.lastTradeDateOrContractMonth}")
    words.append(f"exchange {c.exchange or '?'}")
    if c.primaryExchange and c.primaryExchange != c.exchange:
        words.append(f"primary {c.primaryExchange}")
    words.append(f"currency {c.currency or '?'}")
    if details.longName:
        words.append(f"({details.longName})")
    return " ".join(w for w in words if w)


def describe(contract: Contract) -> str:
    if contract.conId and not contract.symbol:
        parts = [f"conId {contract.conId}", contract.exchange]
    else:
        parts = [contract.symbol, contract.secType, contract.exchange, contract.currency]
        parts += [contract.primaryExchange, contract.localSymbol]
        parts.append(contract.lastTradeDateOrContractMonth)
    return " ".join(p for p in parts if p)


class ContractService:
    def __init__(self, requests: RequestTracker, client: EClient, timeout: float) -> None:
        self._requests = requests
        self._client = client
        self.timeout = timeout
        self._by_conid: dict[int, ContractDetails] = {}
        self._by_key: dict[tuple, ContractDetails] = {}
        self._rules: dict[int, list[tuple[float, float]]] = {}
        # (marketRuleIds, validExchanges, exchange) -> the rule id that applies (None: no rule)
        self._rule_ids: dict[tuple[str, str, str], int | None] = {}
        self._lock = threading.Lock()
        self._rule_fetch = threading.Lock()

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

    def by_conid(self, con_id: int, exchange: str = "") -> ContractDetails:
        """The contract with this conId (its SMART row when it has one, unless `exchange`)."""
        with self._lock:
            cached = self._by_conid.get(con_id)
        if cached is not None and exchange in ("", cached.contract.exchange):
            return cached
        contract = Contract()
        contract.conId = con_id
        contract.exchange = exchange
        return self.details(contract)

    def details(self, contract: Contract) -> ContractDetails:
        """reqContractDetails for `contract`, once: exactly one contract must match."""
        key = _key(contract)
        with self._lock:
            cached = self._by_key.get(key)
        if cached is not None:
            return cached
        what = describe(contract)
        req_id = self._requests.new_id()
        try:
            found = self._requests.call(
                req_id,
                f"contract lookup of {what}",
                lambda: self._client.reqContractDetails(req_id, contract),
                self.timeout,
            )
        except RequestError as exc:
            if exc.code == NO_SECURITY_DEFINITION:
                raise ContractNotFound(
                    f"no contract matches {what} (TWS error 200): check symbol, secType, "
                    f"exchange and currency"
                ) from exc
            raise
        if not found:
            raise ContractNotFound(f"no contract matches {what}")
        details = _pick(found, contract.exchange)
        if details is None:
            raise AmbiguousContract(what, _distinct(found))
        with self._lock:
            self._by_key[key] = details
            known = self._by_conid.get(details.contract.conId)
            smart = details.contract.exchange == "SMART"
            if known is None or (smart and known.contract.exchange != "SMART"):
                self._by_conid[details.contract.conId] = details
        return details

    def resolve(self, target: Contract | ContractDetails | str) -> ContractDetails:
        """What an order names (symbol, contract or details) as TWS's contract details."""
        if isinstance(target, ContractDetails):
            return target
        if isinstance(target, str):
            return self.lookup(target)
        if target.conId:
            return self.by_conid(target.conId, target.exchange)
        return self.details(target)

    # ------------------------------------------------------------------ price grid

    def market_rule(self, rule_id: int) -> list[tuple[float, float]]:
        with self._lock:
            cached = self._rules.get(rule_id)
        if cached is not None:
            return cached
        with self._rule_fetch:  # one request per rule id: answers carry no request id
            with self._lock:
                cached = self._rules.get(rule_id)
            if cached is not None:
                return cached
            key = ("marketRule", rule_id)
            send = lambda: self._client.reqMarketRule(rule_id)  # noqa: E731
            rule = self._requests.call(key, f"market rule {rule_id}", send, self.timeout)[0]
            with self._lock:
                self._rules[rule_id] = rule
            return rule

    def price_rules(self, details: ContractDetails) -> list[tuple[float, float]] | None:
        """The market rule of the contract's own exchange (first listed when routed SMART)."""
        key = (details.marketRuleIds, details.validExchanges, details.contract.exchange)
        rule_id = self._rule_ids.get(key, -1)  # asked on every place: parsed once per contract
        if rule_id == -1:
            ids = [i for i in (details.marketRuleIds or "").split(",") if i]
            exchanges = (details.validExchanges or "").split(",")
            wanted = details.contract.exchange
            index = exchanges.index(wanted) if wanted in exchanges else 0
            rule_id = int(ids[min(index, len(ids) - 1)]) if ids else None
            self._rule_ids[key] = rule_id
        return None if rule_id is None else self.market_rule(rule_id)

    def round_price(
        self,
        target: Contract | ContractDetails | str,
        price: float,
        direction: Direction = "nearest",
    ) -> float:
        details = self.resolve(target)
        rules = self.price_rules(details)
        return round_to_tick(price, rules or details.minTick, direction)

    def check_price(self, target: Contract | ContractDetails | str, price: float) -> bool:
        return self.round_price(target, price) == float(Decimal(repr(price)))


def _pick(found: list[ContractDetails], exchange: str) -> ContractDetails | None:
    """The one contract of an answer, or None when it holds several contracts.

    Without an exchange TWS answers one row per exchange the contract trades on: rows of one
    conId are one contract, of which the asked exchange's, SMART's or the primary's row is taken.
    """
    if len({d.contract.conId for d in found}) > 1:
        return None
    by_exchange = {d.contract.exchange: d for d in found}
    primary = found[0].contract.primaryExchange
    for wanted in (exchange, "SMART", primary):
        if wanted and wanted in by_exchange:
            return by_exchange[wanted]
    return found[0]


def _distinct(found: list[ContractDetails]) -> list[ContractDetails]:
    """One row per conId, for listing candidates."""
    rows: dict[int, ContractDetails] = {}
    for d in found:
        rows.setdefault(d.contract.conId, d)
    return list(rows.values())


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
