"""openOrder, TWS's largest and most frequent order message, read in one straight pass.

ibapi reads an openOrder through some eighty methods, each taking its fields one call at a
time: about 35 µs a message, the largest single cost in an order's round trip once the socket
is read. Here the same reading order is one table (`_FIELDS`); for the server version in use it
is written out as one function (`_source`), compiled once, with one expression per field and
the commonest texts looked up rather than parsed: about 13 µs. It reads the message's text
decoded once (the wire hands it only ASCII text, where that equals ibapi's field-by-field
decoding). TWS sends openOrder as text up to server version 202, as protobuf from 203.

Where ibapi's reading depends on what it has read, the rows it reads only when a text is set
(delta-neutral and hedge terms) are read here too; for the rest (combo legs, smart-routing or
algo parameters, conditions, scale terms, a delta-neutral contract, pegged-to-benchmark fields,
a preview's allocations) the function stops, and ibapi's decoder reads the message instead, as
it does for a field the function cannot read. Before first use for a server version, the
function and ibapi's decoder both read four made-up messages (`_VARIANTS`); if any result
differs in a value or its type (an ibapi that reads other fields), ibapi's decoder keeps
reading that version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ibapi import server_versions as sv
from ibapi.const import DOUBLE_INFINITY, INFINITY_STR, UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER
from ibapi.contract import Contract
from ibapi.decoder import Decoder
from ibapi.message import IN
from ibapi.order import Order
from ibapi.order_state import OrderState
from ibapi.softdollartier import SoftDollarTier
from ibapi.wrapper import EWrapper

from ..orders import blank_order

log = logging.getLogger(__name__)

Read = Callable[[list[str]], tuple[Order, Contract, OrderState]]  # a message's fields

# How a field is read, as ibapi's decode reads it ("_u": its SHOW_UNSET form). GUARD: a text
# whose presence makes ibapi read the rows guarded by it. The kinds in _STOPS are read and must
# hold the common value, or ibapi's decoder reads the message.
STR, INT, INT_U, FLOAT, FLOAT_U, BOOL, DECIMAL = "str", "int", "int_u", "float", "float_u", "bool", "dec"  # fmt: skip
GUARD, TIER = "guard", "tier"  # TIER: three texts, SoftDollarTier(name, value, displayName)
NONE_COUNT, NO_FLAG, EMPTY, NO_SCALE, NOT_PEG_BENCH = "count", "flag", "empty", "scale", "peg"

# Each field's text in, ibapi's value out. The common texts are looked up (a dict costs a third
# of int() or float()); any other text goes to int() / float() as in ibapi.
_EXPR = {
    STR: "n()",
    INT: "(INT[x] if (x := n()) in INT else int(x))",
    INT_U: "(INT_U[x] if (x := n()) in INT_U else int(x))",
    FLOAT: "(FLOAT[x] if (x := n()) in FLOAT else float(x))",
    FLOAT_U: "(FLOAT_U[x] if (x := n()) in FLOAT_U else float(x))",
    BOOL: "(BOOL[x] if (x := n()) in BOOL else int(x) != 0)",
    DECIMAL: "(UNSET_DECIMAL if (x := n()) in UNSET_DECIMALS else Decimal(x))",
}
_EXPR[GUARD] = _EXPR[STR]
_STOPS = {  # the check that sends the message to ibapi's decoder (v: the value read and kept)
    NONE_COUNT: f"{_EXPR[INT]} > 0",
    NO_FLAG: _EXPR[BOOL],
    EMPTY: "v",
    NO_SCALE: "v != UNSET_DOUBLE and v > 0.0",
    NOT_PEG_BENCH: 'v in ("PEG BENCH", "PEGBENCH")',
}
_STOP_READS = {EMPTY: STR, NO_SCALE: FLOAT_U, NOT_PEG_BENCH: STR}  # kept as well as checked

_ALWAYS, _NEVER = 0, 10**6

# (object, attribute, kind, from server version, before server version, read only if this
# GUARD attribute is set), in ibapi's reading order for the server versions twsapp speaks (all
# past MIN_SERVER_VER_ORDER_CONTAINER, where the message's version is the server's). Object "c"
# contract, "o" order, "s" state, "" read and not kept.
_FIELDS: tuple[tuple[str, str, str, int, int, str], ...] = tuple(
    (*row, *(_ALWAYS, _NEVER, "")[len(row) - 3 :])  # type: ignore[misc]
    for row in (
        ("o", "orderId", INT),
        ("c", "conId", INT), ("c", "symbol", STR), ("c", "secType", STR),
        ("c", "lastTradeDateOrContractMonth", STR), ("c", "strike", FLOAT), ("c", "right", STR),
        ("c", "multiplier", STR), ("c", "exchange", STR), ("c", "currency", STR),
        ("c", "localSymbol", STR), ("c", "tradingClass", STR),
        ("o", "action", STR), ("o", "totalQuantity", DECIMAL),
        ("o", "orderType", NOT_PEG_BENCH, sv.MIN_SERVER_VER_PEGGED_TO_BENCHMARK),
        ("o", "orderType", STR, _ALWAYS, sv.MIN_SERVER_VER_PEGGED_TO_BENCHMARK),
        ("o", "lmtPrice", FLOAT_U), ("o", "auxPrice", FLOAT_U), ("o", "tif", STR),
        ("o", "ocaGroup", STR), ("o", "account", STR), ("o", "openClose", STR),
        ("o", "origin", INT), ("o", "orderRef", STR), ("o", "clientId", INT),
        ("o", "permId", INT), ("o", "outsideRth", BOOL), ("o", "hidden", BOOL),
        ("o", "discretionaryAmt", FLOAT), ("o", "goodAfterTime", STR),
        ("", "sharesAllocation", STR),
        ("o", "faGroup", STR), ("o", "faMethod", STR), ("o", "faPercentage", STR),
        ("", "faProfile", STR, _ALWAYS, sv.MIN_SERVER_VER_FA_PROFILE_DESUPPORT),
        ("o", "modelCode", STR, sv.MIN_SERVER_VER_MODELS_SUPPORT),
        ("o", "goodTillDate", STR), ("o", "rule80A", STR), ("o", "percentOffset", FLOAT_U),
        ("o", "settlingFirm", STR), ("o", "shortSaleSlot", INT),
        ("o", "designatedLocation", STR), ("o", "exemptCode", INT),
        ("o", "auctionStrategy", INT), ("o", "startingPrice", FLOAT_U),
        ("o", "stockRefPrice", FLOAT_U), ("o", "delta", FLOAT_U),
        ("o", "stockRangeLower", FLOAT_U), ("o", "stockRangeUpper", FLOAT_U),
        ("o", "displaySize", INT_U), ("o", "blockOrder", BOOL), ("o", "sweepToFill", BOOL),
        ("o", "allOrNone", BOOL), ("o", "minQty", INT_U), ("o", "ocaType", INT),
        ("", "eTradeOnly", BOOL), ("", "firmQuoteOnly", BOOL), ("", "nbboPriceCap", FLOAT_U),
        ("o", "parentId", INT), ("o", "triggerMethod", INT),
        ("o", "volatility", FLOAT_U), ("o", "volatilityType", INT),
        ("o", "deltaNeutralOrderType", GUARD), ("o", "deltaNeutralAuxPrice", FLOAT_U),
        *(
            ("o", name, kind, _ALWAYS, _NEVER, "deltaNeutralOrderType")
            for name, kind in (
                ("deltaNeutralConId", INT), ("deltaNeutralSettlingFirm", STR),
                ("deltaNeutralClearingAccount", STR), ("deltaNeutralClearingIntent", STR),
                ("deltaNeutralOpenClose", STR), ("deltaNeutralShortSale", BOOL),
                ("deltaNeutralShortSaleSlot", INT), ("deltaNeutralDesignatedLocation", STR),
            )
        ),
        ("o", "continuousUpdate", BOOL), ("o", "referencePriceType", INT),
        ("o", "trailStopPrice", FLOAT_U), ("o", "trailingPercent", FLOAT_U),
        ("o", "basisPoints", FLOAT_U), ("o", "basisPointsType", INT_U),
        ("c", "comboLegsDescrip", STR), ("", "comboLegs", NONE_COUNT),
        ("", "orderComboLegs", NONE_COUNT), ("", "smartComboRoutingParams", NONE_COUNT),
        ("o", "scaleInitLevelSize", INT_U), ("o", "scaleSubsLevelSize", INT_U),
        ("o", "scalePriceIncrement", NO_SCALE),
        ("o", "hedgeType", GUARD), ("o", "hedgeParam", STR, _ALWAYS, _NEVER, "hedgeType"),
        ("o", "optOutSmartRouting", BOOL),
        ("o", "clearingAccount", STR), ("o", "clearingIntent", STR), ("o", "notHeld", BOOL),
        ("", "deltaNeutralContract", NO_FLAG), ("o", "algoStrategy", EMPTY),
        ("o", "solicited", BOOL), ("o", "whatIf", BOOL), ("s", "status", STR),
        ("s", "initMarginBefore", STR, sv.MIN_SERVER_VER_WHAT_IF_EXT_FIELDS),
        ("s", "maintMarginBefore", STR, sv.MIN_SERVER_VER_WHAT_IF_EXT_FIELDS),
        ("s", "equityWithLoanBefore", STR, sv.MIN_SERVER_VER_WHAT_IF_EXT_FIELDS),
        ("s", "initMarginChange", STR, sv.MIN_SERVER_VER_WHAT_IF_EXT_FIELDS),
        ("s", "maintMarginChange", STR, sv.MIN_SERVER_VER_WHAT_IF_EXT_FIELDS),
        ("s", "equityWithLoanChange", STR, sv.MIN_SERVER_VER_WHAT_IF_EXT_FIELDS),
        ("s", "initMarginAfter", STR), ("s", "maintMarginAfter", STR),
        ("s", "equityWithLoanAfter", STR), ("s", "commissionAndFees", FLOAT_U),
        ("s", "minCommissionAndFees", FLOAT_U), ("s", "maxCommissionAndFees", FLOAT_U),
        ("s", "commissionAndFeesCurrency", STR),
        *(
            ("s", name, kind, sv.MIN_SERVER_VER_FULL_ORDER_PREVIEW_FIELDS)
            for name, kind in (
                ("marginCurrency", STR), ("initMarginBeforeOutsideRTH", FLOAT_U),
                ("maintMarginBeforeOutsideRTH", FLOAT_U),
                ("equityWithLoanBeforeOutsideRTH", FLOAT_U),
                ("initMarginChangeOutsideRTH", FLOAT_U),
                ("maintMarginChangeOutsideRTH", FLOAT_U),
                ("equityWithLoanChangeOutsideRTH", FLOAT_U),
                ("initMarginAfterOutsideRTH", FLOAT_U), ("maintMarginAfterOutsideRTH", FLOAT_U),
                ("equityWithLoanAfterOutsideRTH", FLOAT_U), ("suggestedSize", DECIMAL),
                ("rejectReason", STR), ("orderAllocations", NONE_COUNT),
            )
        ),
        ("s", "warningText", STR),
        ("o", "randomizeSize", BOOL), ("o", "randomizePrice", BOOL),
        ("", "conditions", NONE_COUNT, sv.MIN_SERVER_VER_PEGGED_TO_BENCHMARK),
        *(
            ("o", name, kind, sv.MIN_SERVER_VER_PEGGED_TO_BENCHMARK)
            for name, kind in (
                ("adjustedOrderType", STR), ("triggerPrice", FLOAT), ("trailStopPrice", FLOAT),
                ("lmtPriceOffset", FLOAT), ("adjustedStopPrice", FLOAT),
                ("adjustedStopLimitPrice", FLOAT), ("adjustedTrailingAmount", FLOAT),
                ("adjustableTrailingUnit", INT),
            )
        ),
        ("o", "softDollarTier", TIER, sv.MIN_SERVER_VER_SOFT_DOLLAR_TIER),
        ("o", "cashQty", FLOAT, sv.MIN_SERVER_VER_CASH_QTY),
        ("o", "dontUseAutoPriceForHedge", BOOL, sv.MIN_SERVER_VER_AUTO_PRICE_FOR_HEDGE),
        ("o", "isOmsContainer", BOOL, sv.MIN_SERVER_VER_ORDER_CONTAINER),
        ("o", "discretionaryUpToLimitPrice", BOOL, sv.MIN_SERVER_VER_D_PEG_ORDERS),
        ("o", "usePriceMgmtAlgo", BOOL, sv.MIN_SERVER_VER_PRICE_MGMT_ALGO),
        ("o", "duration", INT_U, sv.MIN_SERVER_VER_DURATION),
        ("o", "postToAts", INT_U, sv.MIN_SERVER_VER_POST_TO_ATS),
        ("o", "autoCancelParent", BOOL, sv.MIN_SERVER_VER_AUTO_CANCEL_PARENT),
        ("o", "minTradeQty", INT_U, sv.MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS),
        ("o", "minCompeteSize", INT_U, sv.MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS),
        ("o", "competeAgainstBestOffset", FLOAT_U, sv.MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS),
        ("o", "midOffsetAtWhole", FLOAT_U, sv.MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS),
        ("o", "midOffsetAtHalf", FLOAT_U, sv.MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS),
        ("o", "customerAccount", STR, sv.MIN_SERVER_VER_CUSTOMER_ACCOUNT),
        ("o", "professionalCustomer", BOOL, sv.MIN_SERVER_VER_PROFESSIONAL_CUSTOMER),
        ("o", "bondAccruedInterest", STR, sv.MIN_SERVER_VER_BOND_ACCRUED_INTEREST),
        ("o", "includeOvernight", BOOL, sv.MIN_SERVER_VER_INCLUDE_OVERNIGHT),
        ("o", "extOperator", STR, sv.MIN_SERVER_VER_CME_TAGGING_FIELDS_IN_OPEN_ORDER),
        ("o", "manualOrderIndicator", INT_U, sv.MIN_SERVER_VER_CME_TAGGING_FIELDS_IN_OPEN_ORDER),
        ("o", "submitter", STR, sv.MIN_SERVER_VER_SUBMITTER),
        ("o", "imbalanceOnly", BOOL, sv.MIN_SERVER_VER_IMBALANCE_ONLY),
    )
)  # fmt: skip


# Texts ibapi reads as "no value" for a Decimal.
_UNSET_DECIMAL_TEXTS = frozenset(
    {"", "2147483647", "9223372036854775807", "1.7976931348623157E308", "-9223372036854775808"}
)
# What ibapi makes of the commonest texts (int(text or 0), float(text or 0), infinity).
_INT = {"": 0, **{str(k): k for k in (*range(-1, 10), UNSET_INTEGER)}}
_FLOAT = {"": 0.0, "0": 0.0, "0.0": 0.0, INFINITY_STR: DOUBLE_INFINITY}


class _Unusual(Exception):
    """The message takes a branch this reader leaves to ibapi's decoder."""


def _fields_for(server_version: int) -> list[tuple[str, str, str, str]]:
    return [(obj, name, kind, guard) for obj, name, kind, since, before, guard in _FIELDS
            if since <= server_version < before]  # fmt: skip


def _source(server_version: int) -> str:
    """The reading function for one server version, as Python source."""
    lines = [
        "def read(f):",
        "    n = iter(f).__next__",
        "    o, c, s = blank(), Contract(), OrderState()",
    ]
    for obj, name, kind, guard in _fields_for(server_version):
        pad = "    "
        if guard:
            lines.append(f"    if o.{guard}:")
            pad = "        "
        if kind == TIER:
            lines.append(f"{pad}o.{name} = SoftDollarTier({', '.join([_EXPR[STR]] * 3)})")
        elif kind in _STOP_READS:
            lines.append(f"{pad}o.{name} = v = {_EXPR[_STOP_READS[kind]]}")
            lines.append(f"{pad}if {_STOPS[kind]}: raise Unusual")
        elif kind in _STOPS:
            lines.append(f"{pad}if {_STOPS[kind]}: raise Unusual")
        elif obj:
            lines.append(f"{pad}{obj}.{name} = {_EXPR[kind]}")
        else:
            lines.append(f"{pad}{_EXPR[kind]}")  # read as ibapi reads it, not kept
    lines.append("    return o, c, s")
    return "\n".join(lines)


def _compile(server_version: int) -> Read:
    names: dict[str, Any] = {
        "blank": blank_order, "Contract": Contract, "OrderState": OrderState,
        "SoftDollarTier": SoftDollarTier, "Decimal": Decimal, "Unusual": _Unusual,
        "INT": _INT, "INT_U": {**_INT, "": UNSET_INTEGER}, "FLOAT": _FLOAT,
        "FLOAT_U": {**_FLOAT, "": UNSET_DOUBLE}, "BOOL": {k: v != 0 for k, v in _INT.items()},
        "UNSET_DOUBLE": UNSET_DOUBLE, "UNSET_DECIMAL": UNSET_DECIMAL,
        "UNSET_DECIMALS": _UNSET_DECIMAL_TEXTS,
    }  # fmt: skip
    exec(compile(_source(server_version), f"<openOrder reader v{server_version}>", "exec"), names)
    read: Read = names["read"]
    return read


# Per server version; None: ibapi's decoder reads it. No lock: each client's messages are read
# one at a time, and two clients at once would only make the same reader twice.
_READERS: dict[int, Read | None] = {}


def reader_for(server_version: int) -> Read | None:
    """The straight reader for this server version, or None where ibapi's decoder must read:
    an older version than twsapp speaks, or an ibapi that reads the message otherwise."""
    if server_version not in _READERS:
        _READERS[server_version] = _checked(server_version)
    return _READERS[server_version]


def _checked(server_version: int) -> Read | None:
    if server_version < sv.MIN_SERVER_VER_ORDER_CONTAINER:
        return None  # the message carries its own version, which the table does not follow
    read = _compile(server_version)
    ibapi = IbapiReader(server_version)
    for variant in range(len(_VARIANTS)):
        fields = made_up(server_version, variant)
        ours: Any
        try:
            ours = read(fields)
            theirs = ibapi.read(fields)
        except Exception:
            ours, theirs = (), None
        if comparable(ours) != comparable(theirs):
            log.info(
                "this ibapi reads openOrder at server version %s otherwise than twsapp's "
                "reader: ibapi's own decoder reads it", server_version,
            )  # fmt: skip
            return None
    return read


# The made-up messages: (GUARD texts set, numbers and flags left empty, which bit of a field's
# position sets its flag). Between them every field differs from every other in some message,
# and every reading shows its unset form.
_VARIANTS = ((False, False, 0), (True, False, 1), (True, False, 2), (False, True, 0))


def made_up(server_version: int, variant: int = 1) -> list[str]:
    """An openOrder's fields that take only the branches this reader reads (see _VARIANTS)."""
    guarded, empty, bit = _VARIANTS[variant]
    texts: list[str] = []
    for at, (_, _, kind, guard) in enumerate(_fields_for(server_version), start=1):
        if guard and not guarded:
            continue
        if empty and kind in (INT, INT_U, FLOAT, FLOAT_U, BOOL, DECIMAL, NO_SCALE):
            texts.append("")
            continue
        texts += {
            STR: [f"t{at}"], INT: [str(at)], INT_U: [str(at)], FLOAT: [f"{at}.25"],
            FLOAT_U: [f"{at}.5"], BOOL: [str(at >> bit & 1)], DECIMAL: [f"{at}.75"],
            GUARD: [f"g{at}" if guarded else ""], NONE_COUNT: ["0"], NO_FLAG: ["0"], EMPTY: [""],
            NO_SCALE: [f"-{at}"], NOT_PEG_BENCH: ["LMT"], TIER: [f"n{at}", f"v{at}", f"d{at}"],
        }[kind]  # fmt: skip
    return texts


class IbapiReader(EWrapper):
    """ibapi's own decoder at one server version, reading openOrders for comparison."""

    def __init__(self, server_version: int) -> None:
        super().__init__()
        self._decoder = Decoder(self, server_version)  # made once: it inspects this wrapper
        self._got: list[tuple[Order, Contract, OrderState]] = []

    def openOrder(self, order_id: int, contract: Any, order: Any, state: Any) -> None:  # noqa: N802
        self._got.append((order, contract, state))

    def read(self, fields: list[str]) -> tuple[Order, Contract, OrderState] | None:
        """What ibapi's decoder makes of an openOrder's fields (None: no callback)."""
        self._got.clear()
        self._decoder.interpret(tuple(f.encode() for f in fields), IN.OPEN_ORDER)
        return self._got[0] if self._got else None


def comparable(value: Any) -> Any:
    """Objects as nested dicts of their attributes, each value as its type and repr, to compare
    two decoders' results (True is not 1 here, nor 0.0 -0.0, and NaN equals NaN)."""
    if isinstance(value, list | tuple):
        return [comparable(item) for item in value]
    if hasattr(value, "__dict__"):
        return {key: comparable(item) for key, item in vars(value).items()}
    return (type(value).__name__, repr(value))
