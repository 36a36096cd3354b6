"""The request bodies of the control API, with the Client Portal's field names and types.

Unknown fields are refused (a misspelt ``outsideRth`` must not be dropped silently), numbers
must be finite, and every refusal names the field: the API turns pydantic's errors into one
400 line per request (api.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CP_ORDER_TYPES",
    "AccountChoice",
    "ModifyBody",
    "OrderBody",
    "OrdersBody",
    "ReplyBody",
]

#: The Client Portal's order types, as the API takes them (TWS's names: mapping.py).
CP_ORDER_TYPES = (
    "MKT", "LMT", "STP", "STOP_LIMIT", "TRAIL", "TRAILLMT", "MOC", "LOC", "MIT", "LIT",
    "MIDPRICE", "REL",
)  # fmt: skip

INT32_MAX = 2**31 - 1  # TWS's ids (conId, order id) are 32-bit; ibapi refuses larger ones
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=200)
Price = float
ParamValue = str | float | bool


class OrderBody(BaseModel):
    """One order of ``POST iserver/account/{accountId}/orders``, as the Client Portal takes it.

    ``price`` is the limit price of LMT (and LOC, MIDPRICE, REL, the limit of STOP_LIMIT,
    TRAILLMT and LIT), the stop price of STP and the trigger of MIT; STOP_LIMIT takes its stop
    and TRAIL / TRAILLMT their initial stop from ``auxPrice``, which is REL's offset and LIT's
    trigger. ``trailingAmt`` with ``trailingType`` ("amt" or "%") is the trailing distance.
    """

    model_config = _STRICT

    acctId: str | None = Field(None, description="account or allocation group (default: path)")
    conid: int | None = Field(
        None, gt=0, le=INT32_MAX, description="IB's contract id, e.g. 265598 for AAPL"
    )
    secType: str | None = Field(None, description='"conid:secType", e.g. "265598:STK"')
    cOID: str | None = Field(None, min_length=1, description="your id for it; kept as orderRef")
    parentId: str | None = Field(None, min_length=1, description="the cOID of its parent")
    orderType: Literal[CP_ORDER_TYPES]  # type: ignore[valid-type]
    listingExchange: str | None = Field(None, description="route, e.g. SMART (the default)")
    outsideRTH: bool = False
    price: Price | None = None
    auxPrice: Price | None = None
    trailingAmt: Price | None = Field(None, gt=0)
    trailingType: Literal["amt", "%"] | None = None
    side: str = Field(description="BUY or SELL")
    ticker: str | None = Field(None, description="the contract's symbol, checked if given")
    tif: str = Field("DAY", description="DAY, GTC, IOC, OPG, ...")
    referrer: str | None = Field(None, description="kept as orderRef when there is no cOID")
    quantity: Decimal = Field(gt=0, max_digits=24)
    useAdaptive: bool = False
    strategy: str | None = Field(None, description="IB algo name (GET .../algos lists them)")
    strategyParameters: dict[str, ParamValue] | None = None
    allocationMethod: str | None = Field(None, description="FA group orders only")
    isClose: bool = False


class OrdersBody(BaseModel):
    model_config = _STRICT

    orders: list[OrderBody] = Field(min_length=1, max_length=50)


class ModifyBody(BaseModel):
    """``POST iserver/account/{accountId}/order/{orderId}``: the order's fields again, with the
    ones to change changed. The contract, side and type cannot change (cancel and place
    instead); what can is the quantity, the prices and the TIF."""

    model_config = _STRICT

    acctId: str | None = None
    conid: int | None = Field(None, gt=0, le=INT32_MAX)
    secType: str | None = None
    cOID: str | None = None
    orderType: Literal[CP_ORDER_TYPES] | None = None  # type: ignore[valid-type]
    listingExchange: str | None = None
    outsideRTH: bool | None = None
    price: Price | None = None
    auxPrice: Price | None = None
    trailingAmt: Price | None = Field(None, gt=0)
    trailingType: Literal["amt", "%"] | None = None
    side: str | None = None
    ticker: str | None = None
    tif: str | None = None
    referrer: str | None = None
    quantity: Decimal | None = Field(None, gt=0, max_digits=24)


class ReplyBody(BaseModel):
    model_config = _STRICT

    confirmed: bool


class AccountChoice(BaseModel):
    model_config = _STRICT

    acctId: str = Field(min_length=1)
