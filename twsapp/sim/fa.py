"""Financial Advisor allocation groups, pure: what a group is, its XML as TWS writes it for
requestFA and reads it from replaceFA, and how a group order is split across its accounts.

The exchange's part (answering requestFA / replaceFA, splitting a group order's fills into one
execution per account) is ``advisor.py``; this module holds no state and does no I/O.

Facts and their sources:

* faDataType 1 is groups, 2 profiles, 3 account aliases (ibapi's ``EClient.requestFA``).
  Profiles became groups with TWS 983's "Use Account Groups with Allocation Methods"; ibapi
  itself refuses faDataType 2 from server version 177 (``FA_PROFILE_DESUPPORT``), and a TWS
  with groups and profiles unified answers a profiles request with 321 "Error validating
  request.-'ce' : cause - Non-existent FA data operation request." (QuantConnect/IBAutomater
  pull request 44).
* A login that is not an advisor's answers requestFA / replaceFA with 321 "Error validating
  request.-'bW' : cause - FA data operations ignored for non FA customers." (a paper IB
  Gateway at server version 200: public transcript api_fa_replace_non_fa.txt of
  ThomasMarcelis/ibkr-go).
* The groups XML: ``<ListOfGroups><Group><name/><defaultMethod/><ListOfAccts varName="list">
  <Account><acct/></Account>...`` as ibapi's own samples write it (FaAllocationSamples) and as
  public fixtures copied from a live advisor login's requestFA answer show it; before the
  unification TWS listed the accounts as ``<String>`` elements (a requestFA answer quoted in a
  public IBKR-style sample script). Both are read; the first is written, one element a line,
  indented with tabs, as that quoted answer is.
* Advisor (master) accounts are F... (DF... on paper); their clients U... (DU...).
* EqualQuantity divides the order equally, then gives one more share to each account in turn
  until none is left (400 over six accounts: 66 each, then four get 67). NetLiq and
  AvailableEquity split by the ratio of each account's net liquidation value or available
  equity (700 over 25,000 / 50,000 / 100,000 is 100 / 200 / 400). PctChange takes no order
  size: it changes each account's existing position by a percentage, a positive one growing
  a position the order's side adds to, a negative one shrinking one it reduces (+50% of
  100 / 400 / 200 long is a BUY of 50 / 200 / 100). (IB's TWS API guide, Financial Advisors;
  its Advisor Portal guide, Allocation Methods; TWS Advisor guide, Account Groups.)

Chosen where no source gives the detail: a ratio's shares are rounded down to whole units and
the units left go one each to the largest fractional parts, ties to the account listed first
(this reproduces EqualQuantity's documented rule); a PctChange share is rounded down, and a
decrease never goes past the position; a partial fill is split the same way, in proportion to
what each account has still to receive, so the fills of a whole order add up to its split.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from xml.sax.saxutils import escape

GROUPS = 1
PROFILES = 2
ALIASES = 3

EQUAL = "EqualQuantity"
NET_LIQ = "NetLiq"
AVAILABLE_EQUITY = "AvailableEquity"
PCT_CHANGE = "PctChange"
# Every spelling the simulator takes, to the method it means ("Equal" is newer TWS's name).
_METHODS = {
    "equalquantity": EQUAL,
    "equal": EQUAL,
    "netliq": NET_LIQ,
    "availableequity": AVAILABLE_EQUITY,
    "pctchange": PCT_CHANGE,
}
# Methods of TWS the simulator does not play (user-specified amounts per account).
_NOT_PLAYED = ("ContractsOrShares", "Ratio", "Percent", "MonetaryAmount")
METHOD_NAMES = f"{EQUAL}, {NET_LIQ}, {AVAILABLE_EQUITY} or {PCT_CHANGE}"
# The account value each ratio method reads (reqAccountSummary's tags).
RATIO_TAGS = {NET_LIQ: "NetLiquidation", AVAILABLE_EQUITY: "AvailableFunds"}
ADVISOR_PREFIXES = ("F", "DF")
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


class FaError(ValueError):
    """A group definition, an FA document or a group order TWS would refuse; the message names
    the part at fault and the fix."""


def is_advisor_account(account_id: str) -> bool:
    """An advisor's own (master) account: F... live, DF... paper."""
    return account_id.startswith(ADVISOR_PREFIXES)


def method_of(name: str) -> str:
    """The method a spelling means (EqualQuantity, NetLiq, AvailableEquity, PctChange)."""
    method = _METHODS.get(name.strip().lower())
    if method is not None:
        return method
    if name in _NOT_PLAYED:
        raise FaError(f"allocation method {name!r} is not played by the twsapp simulator: "
                      f"use {METHOD_NAMES}")  # fmt: skip
    raise FaError(f"unknown allocation method {name!r}: use {METHOD_NAMES}")


@dataclass(frozen=True)
class FaGroup:
    """An allocation group: its accounts in the order listed, and its default method as it was
    spelled (TWS writes back what it was given)."""

    name: str
    accounts: tuple[str, ...]
    method: str = EQUAL

    @property
    def kind(self) -> str:
        return method_of(self.method)


def make_group(name: str, accounts: Sequence[str], method: str, managed: Iterable[str]) -> FaGroup:
    """A group checked against the login's accounts; FaError naming what is wrong."""
    known = list(managed)
    if not name or not name.strip():
        raise FaError("a group needs a name")
    if not accounts:
        raise FaError(f"group {name!r} lists no account: name one or more of {', '.join(known)}")
    for account in accounts:
        if account not in known:
            raise FaError(f"group {name!r}: {account!r} is not an account of this login "
                          f"({', '.join(known)})")  # fmt: skip
    if len(set(accounts)) != len(accounts):
        raise FaError(f"group {name!r} lists an account twice: list each account once")
    method_of(method)
    return FaGroup(name, tuple(accounts), method)


# --------------------------------------------------------------------------- XML


def groups_xml(groups: Iterable[FaGroup]) -> str:
    """The groups as TWS answers requestFA(1)."""
    lines = [XML_HEAD, "<ListOfGroups>"]
    for group in groups:
        lines += [
            "\t<Group>",
            f"\t\t<name>{escape(group.name)}</name>",
            f"\t\t<defaultMethod>{escape(group.method)}</defaultMethod>",
            '\t\t<ListOfAccts varName="list">',
        ]
        for account in group.accounts:
            lines += [
                "\t\t\t<Account>",
                f"\t\t\t\t<acct>{escape(account)}</acct>",
                "\t\t\t</Account>",
            ]
        lines += ["\t\t</ListOfAccts>", "\t</Group>"]
    lines.append("</ListOfGroups>")
    return "\n".join(lines) + "\n"


def aliases_xml(aliases: Mapping[str, str]) -> str:
    """The account aliases as TWS answers requestFA(3) (an account without one is its own)."""
    lines = [XML_HEAD, "<ListOfAccountAliases>"]
    for account, alias in aliases.items():
        lines += [
            "\t<AccountAlias>",
            f"\t\t<account>{escape(account)}</account>",
            f"\t\t<alias>{escape(alias)}</alias>",
            "\t</AccountAlias>",
        ]
    lines.append("</ListOfAccountAliases>")
    return "\n".join(lines) + "\n"


def _root(text: str, tag: str) -> ET.Element:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise FaError("the FA document carries a DOCTYPE or ENTITY: send plain XML")
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise FaError(f"the FA document is not well-formed XML ({exc})") from None
    if root.tag != tag:
        raise FaError(f"the FA document's root is <{root.tag}>: expected <{tag}>")
    return root


def _text(element: ET.Element, tag: str) -> str:
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


def parse_groups(text: str, managed: Iterable[str]) -> list[FaGroup]:
    """The groups of a replaceFA(1) document; FaError naming the first thing TWS would refuse."""
    known = list(managed)
    groups: list[FaGroup] = []
    for element in _root(text, "ListOfGroups").findall("Group"):
        name = _text(element, "name")
        method = _text(element, "defaultMethod") or EQUAL
        listed = element.find("ListOfAccts")
        accounts: list[str] = []
        for item in list(listed) if listed is not None else []:
            account = (item.text or "") if item.tag == "String" else _text(item, "acct")
            accounts.append(account.strip())
        try:
            group = make_group(name, accounts, method, known)
        except FaError as exc:
            raise FaError(f"<Group> {len(groups) + 1}: {exc}") from None
        if any(g.name == group.name for g in groups):
            raise FaError(f"group {name!r} is defined twice: keep one <Group> per name")
        groups.append(group)
    return groups


def parse_aliases(text: str, managed: Iterable[str]) -> dict[str, str]:
    """The aliases of a replaceFA(3) document, by account."""
    known = list(managed)
    aliases: dict[str, str] = {}
    for element in _root(text, "ListOfAccountAliases").findall("AccountAlias"):
        account, alias = _text(element, "account"), _text(element, "alias")
        if account not in known:
            raise FaError(f"alias for {account!r}: not an account of this login "
                          f"({', '.join(known)})")  # fmt: skip
        aliases[account] = alias or account
    return aliases


# --------------------------------------------------------------------------- allocation


def split(total: Decimal, weights: Sequence[Decimal], unit: Decimal = Decimal(1)) -> list[Decimal]:
    """``total`` in proportion to ``weights`` (>= 0, not all 0), in whole ``unit``s: each part
    rounded down, the units left one each to the largest fractional parts (ties: first)."""
    whole = int(total // unit)
    rest = total - whole * unit  # a total off the unit grid: its odd bit goes with the rest
    weight = sum(weights, Decimal(0))
    if weight <= 0:
        raise ValueError("split needs a positive weight")
    exact = [Decimal(whole) * w / weight for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in order[: whole - sum(parts)]:
        parts[i] += 1
    out = [Decimal(p) * unit for p in parts]
    if rest:
        out[order[0]] += rest
    return out


def pct_change(
    action: str, percent: Decimal, positions: Sequence[Decimal], unit: Decimal = Decimal(1)
) -> list[Decimal]:
    """Each account's share of a PctChange order: ``percent`` of its position where the order's
    side grows it (percent > 0) or shrinks it (percent < 0); 0 elsewhere."""
    out = []
    for position in positions:
        buy = action == "BUY"
        grows = (position > 0) == buy and position != 0
        if position == 0 or (percent > 0) != grows:
            out.append(Decimal(0))
            continue
        rate = min(abs(percent), Decimal(100)) if percent < 0 else percent
        share = abs(position) * rate / 100
        out.append((share // unit) * unit)
    return out


def parse_percent(text: str) -> Decimal:
    """faPercentage: a signed percentage, not 0."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        value = Decimal(0)
    if not value.is_finite() or value == 0:
        raise FaError(f"faPercentage {text!r} is not a percentage: PctChange needs one, e.g. "
                      "'50' to grow positions by half or '-100' to close them")  # fmt: skip
    return value


@dataclass
class Allocation:
    """A group order's split: what each account is to get, and what its fills gave it so far
    (shares and their cost, for each account's own cumulative quantity and average price)."""

    group: str
    method: str
    accounts: tuple[str, ...]
    targets: list[Decimal]
    given: list[Decimal] = field(default_factory=list)
    paid: list[Decimal] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.given = self.given or [Decimal(0)] * len(self.accounts)
        self.paid = self.paid or [Decimal(0)] * len(self.accounts)

    def share_fill(self, quantity: Decimal, unit: Decimal = Decimal(1)) -> list[Decimal]:
        """How a fill of ``quantity`` splits: in proportion to what each account still has to
        get (to the targets if nothing is owed, as after a size raised by a modify)."""
        owed = [max(t - g, Decimal(0)) for t, g in zip(self.targets, self.given, strict=True)]
        if sum(owed, Decimal(0)) < quantity:
            owed = list(self.targets)
        return split(quantity, owed, unit)

    def book(self, index: int, quantity: Decimal, price: float) -> None:
        self.given[index] += quantity
        self.paid[index] += quantity * Decimal(repr(price))

    def average(self, index: int) -> float:
        given = self.given[index]
        return float(self.paid[index] / given) if given else 0.0
