"""The simulator's records of orders, fills and market data subscriptions, and what TWS fills in
on an order it accepts.

Shared by every part of the exchange (entry, matching, groups, queries), so it lives apart from
the ``Exchange`` that assembles them: no part needs to import the whole to know an order's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.contract import Contract
from ibapi.execution import Execution
from ibapi.order import Order

from . import messages as m
from . import rules
from .fa import Allocation
from .instruments import Instrument
from .triggers import Work
from .wire import UNSET_DOUBLE, UNSET_INT, UNSET_LONG

DONE = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
EXEC_TIME_FORMAT = "%Y%m%d %H:%M:%S"
TWS_TIME_ZONE = "US/Eastern"  # how TWS names the user's zone in execution / completion times
UNBOUND = -1  # client id under which TWS-UI orders wait until client 0 binds them
SHAREHOLDER_DEFAULT = "Not an insider or substantial shareholder"


@dataclass
class SimOrder:
    client_id: int
    order_id: int
    perm_id: int
    contract: Contract
    order: Order
    instrument: Instrument
    placed_step: int
    status: str = "PendingSubmit"
    filled: Decimal = Decimal(0)
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    triggered: bool = False
    commission: float = 0.0
    executions: list[str] = field(default_factory=list)
    done_step: int | None = None
    cancelled_by: str = "Trader"  # or "System" (expiry, IOC remainder): completedStatus says so
    bound: bool = True  # False for an order placed in the TWS UI that no client has bound yet
    held: bool = False  # placed with transmit=False: kept, never reported or matched, until sent
    last_match: int | None = None  # the simulated second this order last looked at the market
    work: Work = field(default_factory=Work)  # trigger memory, trailing limit, auction, OCA
    allocation: Allocation | None = None  # an FA group order's split across its accounts

    @property
    def remaining(self) -> Decimal:
        return self.order.totalQuantity - self.filled

    @property
    def done(self) -> bool:
        return self.status in DONE


@dataclass
class Fill:
    contract: Contract
    execution: Execution
    report: CommissionAndFeesReport
    step: int
    block: bool = False  # an advisor's block execution of a group order: books no position


def apply_tws_defaults(order: Order) -> None:
    """Fill in what TWS itself sets on an order it accepts, as every captured echo shows.

    OCA type 3 (reduce, no block) when the client left it 0, clearing intent "IB", auto price
    for hedge off, the shareholder declaration, unset futures-reference and parent-perm ids, and
    a trail stop price one unit above a limit order's limit (TWS echoes it on LMT orders of
    either side: the openOrder / completedOrder captures at server versions 172..176 in the
    fixture, and the paper-Gateway transcripts at 200..225 of ThomasMarcelis/ibkr-go), and a
    stop order's stop price as its trail stop price (api_bracket_place_aapl.txt there).
    """
    if not order.ocaType:
        order.ocaType = 3
    order.clearingIntent = order.clearingIntent or "IB"
    order.dontUseAutoPriceForHedge = True
    order.shareholder = order.shareholder or SHAREHOLDER_DEFAULT
    if not order.refFuturesConId:
        order.refFuturesConId = UNSET_INT
    if not order.parentPermId:
        order.parentPermId = UNSET_LONG
    if order.trailStopPrice != UNSET_DOUBLE:
        return
    if order.orderType == "LMT" and rules.is_set(order.lmtPrice):
        order.trailStopPrice = float(Decimal(repr(order.lmtPrice)) + 1)
    elif order.orderType == "STP" and rules.is_set(order.auxPrice):
        order.trailStopPrice = order.auxPrice


# --------------------------------------------------------------------------- market data


@dataclass
class QuoteLine:
    """One reqMktData subscription: what its client was last told, so updates send changes only.

    ``delayed``: served from the delayed feed (no subscription for the instrument).
    ``frozen_ok``: the client asked for frozen (2) or delayed-frozen (4) values while closed.
    ``shown``: tick id (the live one) -> the value last sent.
    """

    req_id: int
    con_id: int
    delayed: bool
    frozen_ok: bool
    quiet: bool = False  # "mdoff" in the generic tick list: no top-of-book ticks
    data_type: int = 0  # the marketDataType last announced
    shown: dict[int, object] = field(default_factory=dict)


@dataclass
class TickStream:
    """One reqTickByTickData subscription."""

    req_id: int
    con_id: int
    kind: str  # Last, AllLast, BidAsk, MidPoint
    ignore_size: bool = False
    last_sent: tuple = ()  # BidAsk / MidPoint: what was last sent, to send changes only


@dataclass
class BarStream:
    """One reqRealTimeBars subscription: the start of the next bar to send."""

    req_id: int
    con_id: int
    what: str
    use_rth: bool
    next_start: int


@dataclass
class PnLStream:
    """One reqPnL (``con_id`` None) or reqPnLSingle subscription, and what its client was last
    sent, so that an update goes out only when a value changed."""

    req_id: int
    account: str  # an account id, or "All" for every account of an advisor login
    con_id: int | None = None
    shown: m.Message | None = None


@dataclass
class MultiSub:
    """One reqAccountUpdatesMulti or reqPositionsMulti subscription: the accounts it covers
    (one, an FA group's, or every one) and, for account values, whether it asked for the
    ledger and net liquidation value only."""

    req_id: int
    accounts: tuple[str, ...]
    ledger_only: bool = False
