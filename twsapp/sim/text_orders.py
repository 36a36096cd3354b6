"""openOrder and completedOrder as TWS writes them in the text protocol.

The field order follows ibapi's ``Decoder.processOpenOrder`` / ``processCompletedOrderMsg`` and
their ``OrderDecoder`` steps, one function per step, gated on the same server versions. The
spellings are TWS's own (see ``spelling``): for instance TWS writes ``None`` for an empty
delta-neutral or adjusted order type, ``?`` for an empty right or open/close, ``0.0`` for the limit
price of a market order, and ``1.7976931348623157E308`` in the adjusted-order block.
"""

from __future__ import annotations

from decimal import Decimal

from ibapi.contract import Contract
from ibapi.message import IN
from ibapi.order import Order
from ibapi.order_state import OrderState
from ibapi.server_versions import (
    MIN_SERVER_VER_AUTO_CANCEL_PARENT,
    MIN_SERVER_VER_AUTO_PRICE_FOR_HEDGE,
    MIN_SERVER_VER_BOND_ACCRUED_INTEREST,
    MIN_SERVER_VER_CASH_QTY,
    MIN_SERVER_VER_CME_TAGGING_FIELDS_IN_OPEN_ORDER,
    MIN_SERVER_VER_CUSTOMER_ACCOUNT,
    MIN_SERVER_VER_D_PEG_ORDERS,
    MIN_SERVER_VER_DURATION,
    MIN_SERVER_VER_FA_PROFILE_DESUPPORT,
    MIN_SERVER_VER_FULL_ORDER_PREVIEW_FIELDS,
    MIN_SERVER_VER_IMBALANCE_ONLY,
    MIN_SERVER_VER_INCLUDE_OVERNIGHT,
    MIN_SERVER_VER_MODELS_SUPPORT,
    MIN_SERVER_VER_ORDER_CONTAINER,
    MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS,
    MIN_SERVER_VER_PEGGED_TO_BENCHMARK,
    MIN_SERVER_VER_POST_TO_ATS,
    MIN_SERVER_VER_PRICE_MGMT_ALGO,
    MIN_SERVER_VER_PROFESSIONAL_CUSTOMER,
    MIN_SERVER_VER_SOFT_DOLLAR_TIER,
    MIN_SERVER_VER_SUBMITTER,
    MIN_SERVER_VER_WHAT_IF_EXT_FIELDS,
)
from ibapi.utils import isPegBenchOrder

from twsapp.sim import messages as m
from twsapp.sim.spelling import (
    dbl,
    dbl_max,
    dbl_zero,
    dec,
    flag,
    int_max,
    int_text,
    int_zero,
    plain_zero,
    tag_values,
    text,
)
from twsapp.sim.wire import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_DOUBLE_TEXT, UNSET_INT

# TWS's spellings of "nothing" in order fields (from the captures).
NO_ORDER_TYPE = "None"
NO_OPEN_CLOSE = "?"
NO_RIGHT = "?"
UNSET_SUGGESTED_SIZE = "-9223372036854775808"
TRAILING_TYPES = frozenset({"TRAIL", "TRAIL LIMIT", "TRAIL LIT", "TRAIL MIT"})


def open_order_fields(v: int, msg: m.OpenOrder) -> list[str]:
    order, contract, state = msg.order, msg.contract, msg.state
    fields = [str(IN.OPEN_ORDER), int_text(msg.order_id)]
    fields += contract_block(contract)
    fields += _order_head(order)
    fields += [text(order.orderRef), int_text(order.clientId), int_text(order.permId)]
    fields += _rth_hidden_discretion(order)
    fields.append(_shares_allocation(order))
    fields += _fa_and_model(v, order)
    fields += _rule_to_short_sale(order)
    fields.append(int_text(order.auctionStrategy))
    fields += _box_peg_display(order)
    fields.append(flag(order.blockOrder))
    fields += [flag(order.sweepToFill), flag(order.allOrNone), int_max(order.minQty)]
    fields.append(int_text(order.ocaType))
    fields += ["0", "0", ""]  # eTradeOnly, firmQuoteOnly, nbboPriceCap: retired, always empty
    fields += [int_text(order.parentId), int_text(order.triggerMethod)]
    fields += _vol_order(order, open_order_attribs=True)
    fields += _trail(order)
    fields += [dbl_max(order.basisPoints), int_max(order.basisPointsType)]
    fields += _combo_legs(contract, order)
    fields += tag_values(order.smartComboRoutingParams)
    fields += _scale(order)
    fields += _hedge(order)
    fields.append(flag(order.optOutSmartRouting))
    fields += [text(order.clearingAccount), text(order.clearingIntent), flag(order.notHeld)]
    fields += _delta_neutral_contract(contract)
    fields += _algo(order)
    fields.append(flag(order.solicited))
    fields += _what_if_and_state(v, order, state)
    fields += [flag(order.randomizeSize), flag(order.randomizePrice)]
    fields += _peg_bench(v, order)
    fields += _conditions(v, order)
    fields += _adjusted(v, order)
    fields += _soft_dollar_tier(v, order)
    fields += _cash_qty_to_oms(v, order)
    if v >= MIN_SERVER_VER_D_PEG_ORDERS:
        fields.append(flag(order.discretionaryUpToLimitPrice))
    fields += _price_mgmt_duration_ats(v, order)
    if v >= MIN_SERVER_VER_AUTO_CANCEL_PARENT:
        fields.append(flag(order.autoCancelParent))
    fields += _peg_best_mid(v, order)
    fields += _customer_fields(v, order, open_order=True)
    if v >= MIN_SERVER_VER_IMBALANCE_ONLY:
        fields.append(flag(order.imbalanceOnly))
    return fields


def completed_order_fields(v: int, msg: m.CompletedOrder) -> list[str]:
    order, contract, state = msg.order, msg.contract, msg.state
    fields = [str(IN.COMPLETED_ORDER)]
    fields += contract_block(contract)
    fields += _order_head(order)
    fields += [text(order.orderRef), int_text(order.permId)]
    fields += _rth_hidden_discretion(order)
    fields += _fa_and_model(v, order)
    fields += _rule_to_short_sale(order)
    fields += _box_peg_display(order)
    fields += [flag(order.sweepToFill), flag(order.allOrNone), int_max(order.minQty)]
    fields += [int_text(order.ocaType), int_text(order.triggerMethod)]
    fields += _vol_order(order, open_order_attribs=False)
    fields += _trail(order)
    fields += _combo_legs(contract, order)
    fields += tag_values(order.smartComboRoutingParams)
    fields += _scale(order)
    fields += _hedge(order)
    fields += [text(order.clearingAccount), text(order.clearingIntent), flag(order.notHeld)]
    fields += _delta_neutral_contract(contract)
    fields += _algo(order)
    fields += [flag(order.solicited), text(state.status)]
    fields += [flag(order.randomizeSize), flag(order.randomizePrice)]
    fields += _peg_bench(v, order)
    fields += _conditions(v, order)
    fields += [dbl(order.trailStopPrice), dbl(order.lmtPriceOffset)]
    fields += _cash_qty_to_oms(v, order)
    fields += _completion(order, state)
    fields += _peg_best_mid(v, order)
    fields += _customer_fields(v, order, open_order=False)
    return fields


# --------------------------------------------------------------------------- blocks


def contract_block(contract: Contract) -> list[str]:
    return [
        int_text(contract.conId),
        text(contract.symbol),
        text(contract.secType),
        text(contract.lastTradeDateOrContractMonth),
        plain_zero(contract.strike),
        contract.right or NO_RIGHT,
        text(contract.multiplier),
        text(contract.exchange),
        text(contract.currency),
        text(contract.localSymbol),
        text(contract.tradingClass),
    ]


def _order_head(order: Order) -> list[str]:
    return [
        text(order.action),
        dec(order.totalQuantity),
        text(order.orderType),
        dbl_zero(order.lmtPrice),
        dbl_zero(order.auxPrice),
        text(order.tif),
        text(order.ocaGroup),
        text(order.account),
        text(order.openClose),
        int_text(order.origin),
    ]


def _rth_hidden_discretion(order: Order) -> list[str]:
    return [
        flag(order.outsideRth),
        flag(order.hidden),
        plain_zero(order.discretionaryAmt),
        text(order.goodAfterTime),
    ]


def _shares_allocation(order: Order) -> str:
    """The retired sharesAllocation field, which TWS still fills as ``<permId>.0/<account>/100``
    (ibapi skips it)."""
    if not order.permId or not order.account:
        return ""
    return f"{int(order.permId)}.0/{order.account}/100"


def _fa_and_model(v: int, order: Order) -> list[str]:
    fields = [text(order.faGroup), text(order.faMethod), text(order.faPercentage)]
    if v < MIN_SERVER_VER_FA_PROFILE_DESUPPORT:
        fields.append("")  # faProfile
    if v >= MIN_SERVER_VER_MODELS_SUPPORT:
        fields.append(text(order.modelCode))
    return fields


def _rule_to_short_sale(order: Order) -> list[str]:
    return [
        text(order.goodTillDate),
        text(order.rule80A),
        dbl_max(order.percentOffset),
        text(order.settlingFirm),
        int_text(order.shortSaleSlot),
        text(order.designatedLocation),
        int_text(order.exemptCode),
    ]


def _box_peg_display(order: Order) -> list[str]:
    return [
        dbl_max(order.startingPrice),
        dbl_max(order.stockRefPrice),
        dbl_max(order.delta),
        dbl_max(order.stockRangeLower),
        dbl_max(order.stockRangeUpper),
        _display_size(order.displaySize),
    ]


def _display_size(size: int | None) -> str:
    """TWS reports "no display size" (ibapi's 0 or unset) as Integer.MAX_VALUE."""
    if not size or size == UNSET_INT:
        return str(UNSET_INT)
    return str(int(size))


def _vol_order(order: Order, open_order_attribs: bool) -> list[str]:
    fields = [
        dbl_max(order.volatility),
        int_zero(order.volatilityType),
        order.deltaNeutralOrderType or NO_ORDER_TYPE,
        dbl_max(order.deltaNeutralAuxPrice),
        int_text(order.deltaNeutralConId),
    ]
    if open_order_attribs:
        fields += [
            text(order.deltaNeutralSettlingFirm),
            text(order.deltaNeutralClearingAccount),
            text(order.deltaNeutralClearingIntent),
            order.deltaNeutralOpenClose or NO_OPEN_CLOSE,
        ]
    fields += [
        flag(order.deltaNeutralShortSale),
        int_text(order.deltaNeutralShortSaleSlot),
        text(order.deltaNeutralDesignatedLocation),
        flag(order.continuousUpdate),
        int_zero(order.referencePriceType),
    ]
    return fields


def _trail(order: Order) -> list[str]:
    """TWS fills the first trail-stop slot only for trailing orders; the stop price it computes
    for any order travels in the later adjusted-order block (ibapi keeps the later one)."""
    first = order.trailStopPrice if order.orderType in TRAILING_TYPES else UNSET_DOUBLE
    return [dbl_max(first), dbl_max(order.trailingPercent)]


def _combo_legs(contract: Contract, order: Order) -> list[str]:
    legs = contract.comboLegs or []
    fields = [text(contract.comboLegsDescrip), str(len(legs))]
    for leg in legs:
        fields += [
            int_text(leg.conId),
            int_text(leg.ratio),
            text(leg.action),
            text(leg.exchange),
            int_text(leg.openClose),
            int_text(leg.shortSaleSlot),
            text(leg.designatedLocation),
            int_text(leg.exemptCode),
        ]
    order_legs = order.orderComboLegs or []
    fields.append(str(len(order_legs)))
    fields += [dbl_max(leg.price) for leg in order_legs]
    return fields


def _scale(order: Order) -> list[str]:
    fields = [
        str(order.scaleInitLevelSize),
        str(order.scaleSubsLevelSize),
        dbl_max(order.scalePriceIncrement),
    ]
    increment = order.scalePriceIncrement
    if increment != UNSET_DOUBLE and increment > 0.0:
        fields += [
            dbl_max(order.scalePriceAdjustValue),
            int_max(order.scalePriceAdjustInterval),
            dbl_max(order.scaleProfitOffset),
            flag(order.scaleAutoReset),
            int_max(order.scaleInitPosition),
            int_max(order.scaleInitFillQty),
            flag(order.scaleRandomPercent),
        ]
    return fields


def _hedge(order: Order) -> list[str]:
    fields = [text(order.hedgeType)]
    if order.hedgeType:
        fields.append(text(order.hedgeParam))
    return fields


def _delta_neutral_contract(contract: Contract) -> list[str]:
    neutral = contract.deltaNeutralContract
    if neutral is None:
        return ["0"]
    return ["1", int_text(neutral.conId), dbl(neutral.delta), dbl(neutral.price)]


def _algo(order: Order) -> list[str]:
    fields = [text(order.algoStrategy)]
    if order.algoStrategy:
        fields += tag_values(order.algoParams)
    return fields


def _what_if_and_state(v: int, order: Order, state: OrderState) -> list[str]:
    fields = [flag(order.whatIf), text(state.status)]
    if v >= MIN_SERVER_VER_WHAT_IF_EXT_FIELDS:
        fields += [
            _margin(state.initMarginBefore),
            _margin(state.maintMarginBefore),
            _margin(state.equityWithLoanBefore),
            _margin(state.initMarginChange),
            _margin(state.maintMarginChange),
            _margin(state.equityWithLoanChange),
        ]
    fields += [
        _margin(state.initMarginAfter),
        _margin(state.maintMarginAfter),
        _margin(state.equityWithLoanAfter),
        dbl_max(state.commissionAndFees),
        dbl_max(state.minCommissionAndFees),
        dbl_max(state.maxCommissionAndFees),
        text(state.commissionAndFeesCurrency),
    ]
    if v >= MIN_SERVER_VER_FULL_ORDER_PREVIEW_FIELDS:
        fields += _order_preview(state)
    fields.append(text(state.warningText))
    return fields


def _margin(value: str | None) -> str:
    """Margin figures are strings; TWS writes the unset double when there is none."""
    return value if value else UNSET_DOUBLE_TEXT


def _order_preview(state: OrderState) -> list[str]:
    fields = [
        text(state.marginCurrency),
        dbl(state.initMarginBeforeOutsideRTH),
        dbl(state.maintMarginBeforeOutsideRTH),
        dbl(state.equityWithLoanBeforeOutsideRTH),
        dbl(state.initMarginChangeOutsideRTH),
        dbl(state.maintMarginChangeOutsideRTH),
        dbl(state.equityWithLoanChangeOutsideRTH),
        dbl(state.initMarginAfterOutsideRTH),
        dbl(state.maintMarginAfterOutsideRTH),
        dbl(state.equityWithLoanAfterOutsideRTH),
        _suggested_size(state.suggestedSize),
        text(state.rejectReason),
    ]
    allocations = state.orderAllocations or []
    fields.append(str(len(allocations)))
    for alloc in allocations:
        fields += [
            text(alloc.account),
            dec(alloc.position),
            dec(alloc.positionDesired),
            dec(alloc.positionAfter),
            dec(alloc.desiredAllocQty),
            dec(alloc.allowedAllocQty),
            flag(alloc.isMonetary),
        ]
    return fields


def _suggested_size(size: Decimal | None) -> str:
    if size is None or size == UNSET_DECIMAL:
        return UNSET_SUGGESTED_SIZE
    return dec(size)


def _peg_bench(v: int, order: Order) -> list[str]:
    if v < MIN_SERVER_VER_PEGGED_TO_BENCHMARK or not isPegBenchOrder(order.orderType):
        return []
    return [
        int_text(order.referenceContractId),
        flag(order.isPeggedChangeAmountDecrease),
        dbl(order.peggedChangeAmount),
        dbl(order.referenceChangeAmount),
        text(order.referenceExchangeId),
    ]


def _conditions(v: int, order: Order) -> list[str]:
    if v < MIN_SERVER_VER_PEGGED_TO_BENCHMARK:
        return []
    conditions = order.conditions or []
    fields = [str(len(conditions))]
    if not conditions:
        return fields
    for condition in conditions:
        fields.append(str(condition.type()))
        # ibapi's conditions write the same layout they read; drop make_field's terminators.
        fields += [part.rstrip("\0") for part in condition.make_fields()]
    fields += [flag(order.conditionsIgnoreRth), flag(order.conditionsCancelOrder)]
    return fields


def _adjusted(v: int, order: Order) -> list[str]:
    if v < MIN_SERVER_VER_PEGGED_TO_BENCHMARK:
        return []
    return [
        order.adjustedOrderType or NO_ORDER_TYPE,
        dbl(order.triggerPrice),
        dbl(order.trailStopPrice),
        dbl(order.lmtPriceOffset),
        dbl(order.adjustedStopPrice),
        dbl(order.adjustedStopLimitPrice),
        dbl(order.adjustedTrailingAmount),
        int_text(order.adjustableTrailingUnit),
    ]


def _soft_dollar_tier(v: int, order: Order) -> list[str]:
    if v < MIN_SERVER_VER_SOFT_DOLLAR_TIER:
        return []
    tier = order.softDollarTier
    if tier is None:
        return ["", "", ""]
    return [text(tier.name), text(tier.val), text(tier.displayName)]


def _cash_qty_to_oms(v: int, order: Order) -> list[str]:
    fields = []
    if v >= MIN_SERVER_VER_CASH_QTY:
        fields.append(plain_zero(order.cashQty))
    if v >= MIN_SERVER_VER_AUTO_PRICE_FOR_HEDGE:
        fields.append(flag(order.dontUseAutoPriceForHedge))
    if v >= MIN_SERVER_VER_ORDER_CONTAINER:
        fields.append(flag(order.isOmsContainer))
    return fields


def _price_mgmt_duration_ats(v: int, order: Order) -> list[str]:
    fields = [flag(order.usePriceMgmtAlgo)] if v >= MIN_SERVER_VER_PRICE_MGMT_ALGO else []
    if v >= MIN_SERVER_VER_DURATION:
        fields.append(int_max(order.duration))
    if v >= MIN_SERVER_VER_POST_TO_ATS:
        fields.append(int_max(order.postToAts))
    return fields


def _peg_best_mid(v: int, order: Order) -> list[str]:
    if v < MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS:
        return []
    return [
        int_max(order.minTradeQty),
        int_max(order.minCompeteSize),
        dbl_max(order.competeAgainstBestOffset),
        dbl_max(order.midOffsetAtWhole),
        dbl_max(order.midOffsetAtHalf),
    ]


def _customer_fields(v: int, order: Order, open_order: bool) -> list[str]:
    """The compliance tail; completedOrder carries only part of it."""
    fields = []
    if v >= MIN_SERVER_VER_CUSTOMER_ACCOUNT:
        fields.append(text(order.customerAccount))
    if v >= MIN_SERVER_VER_PROFESSIONAL_CUSTOMER:
        fields.append(flag(order.professionalCustomer))
    if open_order and v >= MIN_SERVER_VER_BOND_ACCRUED_INTEREST:
        fields.append(text(order.bondAccruedInterest))
    if open_order and v >= MIN_SERVER_VER_INCLUDE_OVERNIGHT:
        fields.append(flag(order.includeOvernight))
    if open_order and v >= MIN_SERVER_VER_CME_TAGGING_FIELDS_IN_OPEN_ORDER:
        fields += [text(order.extOperator), str(order.manualOrderIndicator)]
    if v >= MIN_SERVER_VER_SUBMITTER:
        fields.append(text(order.submitter))
    return fields


def _completion(order: Order, state: OrderState) -> list[str]:
    filled = order.filledQuantity
    return [
        text(order.autoCancelDate),
        "0" if filled is None or filled == UNSET_DECIMAL else dec(filled),
        str(order.refFuturesConId),
        flag(order.autoCancelParent),
        text(order.shareholder),
        flag(order.imbalanceOnly),
        flag(order.routeMarketableToBbo),
        str(order.parentPermId),
        text(state.completedTime),
        text(state.completedStatus),
    ]
