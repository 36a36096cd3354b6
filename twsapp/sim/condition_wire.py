"""Order conditions on the wire: reading them from a protobuf placeOrder, and the spellings
TWS keeps.

Text placeOrder carries conditions since server version 102 (below every version the
simulator serves), read by ``text_requests``; protobuf placeOrder (203 on) carries them as
``OrderCondition`` messages. ibapi's ``decoder_utils.decodeConditions`` reads those for the
client side, but an unknown or missing condition type makes it fail with an unbound local (or
repeat the previous condition), so the simulator reads them here and refuses such a request as
malformed, as the text decoder does.

A margin condition's percent is a whole number on the protobuf wire (int32) and in TWS; ibapi's
text decoder reads it as a float. ``normalize`` keeps the whole number, so an order placed by
a text client is echoed to a protobuf one (and back) unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message as ProtoMessage
from ibapi import order_condition
from ibapi.order_condition import OrderCondition

from .wire import ProtocolError

#: Every condition type ibapi knows, by its number.
TYPES = {
    OrderCondition.Price: "Price",
    OrderCondition.Time: "Time",
    OrderCondition.Margin: "Margin",
    OrderCondition.Execution: "Execution",
    OrderCondition.Volume: "Volume",
    OrderCondition.PercentChange: "PercentChange",
}
# Proto field -> attribute, per kind of condition (the proto's names are ibapi's).
_OPERATOR = ("isMore",)
_CONTRACT = (*_OPERATOR, "conId", "exchange")
_FIELDS: dict[int, tuple[str, ...]] = {
    OrderCondition.Price: (*_CONTRACT, "price", "triggerMethod"),
    OrderCondition.Time: (*_OPERATOR, "time"),
    OrderCondition.Margin: (*_OPERATOR, "percent"),
    OrderCondition.Execution: ("secType", "exchange", "symbol"),
    OrderCondition.Volume: (*_CONTRACT, "volume"),
    OrderCondition.PercentChange: (*_CONTRACT, "changePercent"),
}


def conditions_from_proto(protos: Iterable[ProtoMessage]) -> list[OrderCondition]:
    """An order's ``conditions`` from its protobuf ``OrderCondition`` messages."""
    out: list[OrderCondition] = []
    for proto in protos:
        kind = proto.type if proto.HasField("type") else None
        if kind not in _FIELDS:
            raise ProtocolError(f"unknown order condition type {kind}")
        condition = order_condition.Create(kind)
        if proto.HasField("isConjunctionConnection"):
            condition.isConjunctionConnection = proto.isConjunctionConnection
        for name in _FIELDS[kind]:
            if proto.HasField(name):
                setattr(condition, name, getattr(proto, name))
        if isinstance(condition, order_condition.OperatorCondition) and condition.isMore is None:
            condition.isMore = False  # the client leaves False out
        normalize(condition)
        out.append(condition)
    return out


def normalize(condition: OrderCondition) -> None:
    """TWS's spellings: a margin percent and a volume are whole numbers."""
    if isinstance(condition, order_condition.MarginCondition):
        percent = condition.percent
        if isinstance(percent, float) and percent.is_integer():
            condition.percent = int(percent)
    if isinstance(condition, order_condition.VolumeCondition):
        volume = condition.volume
        if isinstance(volume, float) and volume.is_integer():
            condition.volume = int(volume)
