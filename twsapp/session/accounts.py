"""An advisor's accounts and allocation groups as the session learns them from TWS.

A login that manages several accounts may be an advisor's: at connect the session asks TWS for
its groups (requestFA, faDataType 1), so that an order to a group is checked before it is sent
and the views can show orders per account or group and positions per account. TWS answers
receiveFA with the groups XML; a login that is not an advisor's answers 321 "FA data
operations ignored for non FA customers." (a paper IB Gateway at server version 200: public
transcript api_fa_replace_non_fa.txt of ThomasMarcelis/ibkr-go), and then the groups stay
unknown: any faGroup is left for TWS to check, as before.

The XML TWS writes: ``<ListOfGroups><Group><name/><defaultMethod/><ListOfAccts varName="list">``
with one ``<Account><acct/></Account>`` per account (``<String>`` before TWS unified groups
and profiles): both are read.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..book import OrderRecord, Position
from ..exceptions import BookError, RequestError, RequestTimeout
from .requests import RequestTracker

log = logging.getLogger("twsapp.session")

GROUPS = 1  # requestFA's faDataType for groups
ALL = "All"  # every account of an advisor login, as the Client Portal names it


def request_key(fa_data_type: int) -> tuple[str, int]:
    """The key a requestFA waits under (it carries no reqId: one of each type at a time)."""
    return ("requestFA", fa_data_type)


@dataclass(frozen=True)
class FaGroup:
    """An allocation group: its accounts, in TWS's order, and its default method."""

    name: str
    accounts: tuple[str, ...]
    method: str


def parse_groups(text: str) -> dict[str, FaGroup]:
    """The groups of a receiveFA(1) document, by name; ValueError naming what is wrong."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ValueError("the FA groups document carries a DOCTYPE or ENTITY")
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise ValueError(f"the FA groups document is not well-formed XML ({exc})") from None
    if root.tag != "ListOfGroups":
        raise ValueError(f"the FA groups document's root is <{root.tag}>, not <ListOfGroups>")
    groups: dict[str, FaGroup] = {}
    for element in root.findall("Group"):
        name = (element.findtext("name") or "").strip()
        if not name:
            raise ValueError("a <Group> of the FA groups document has no <name>")
        accounts = []
        listed = element.find("ListOfAccts")
        for item in list(listed) if listed is not None else []:
            account = item.text if item.tag == "String" else item.findtext("acct")
            if account and account.strip():
                accounts.append(account.strip())
        method = (element.findtext("defaultMethod") or "").strip()
        groups[name] = FaGroup(name, tuple(accounts), method)
    return groups


def load_groups(
    requests: RequestTracker, send: Callable[[int], None], timeout: float
) -> dict[str, FaGroup] | None:
    """Ask TWS for the groups (``send(1)`` sends requestFA); None when they stay unknown: the
    login is not an advisor's, TWS did not answer in ``timeout`` seconds, or the answer is
    unreadable (each logged)."""
    try:
        answer = requests.call(request_key(GROUPS), "requestFA (groups)", lambda: send(GROUPS),
                               timeout)  # fmt: skip
    except RequestError as exc:
        log.info("FA groups not available (%s): a faGroup is left for TWS to check", exc)
        return None
    except RequestTimeout:
        log.warning("TWS did not answer requestFA within %gs: FA groups unknown, a faGroup is "
                    "left for TWS to check", timeout)  # fmt: skip
        return None
    try:
        return parse_groups(answer[-1] if answer else "")
    except ValueError as exc:
        log.warning("FA groups from TWS unreadable (%s): a faGroup is left for TWS", exc)
        return None


def orders_for(records: Iterable[OrderRecord], name: str) -> list[OrderRecord]:
    """The orders of an account or group, as the Client Portal lists them: "All" every one; a
    group the orders allocated to it; an account the orders placed for it alone (its share of
    a group order is in that order's fills or allocations)."""
    if name == ALL:
        return list(records)
    out = []
    for record in records:
        order = record.order if record.order is not None else record.sent_order
        if order is not None and name == (order.faGroup or order.account):
            out.append(record)
    return out


def positions_for(
    positions: Iterable[Position], account: str, accounts: Iterable[str], groups: Iterable[str]
) -> list[Position]:
    """One account's positions: positions exist per account, never per group (BookError)."""
    known = list(accounts)
    if account not in known:
        if account in groups or account == ALL:
            raise BookError(f"{account!r} is an allocation group: positions are per account; "
                            f"ask for one of {', '.join(known)}", "account")  # fmt: skip
        raise BookError(f"{account!r} is not an account of this login ({', '.join(known)})",
                        "account")  # fmt: skip
    return [p for p in positions if p.account == account]
