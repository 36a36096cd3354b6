"""TWS error codes as data: what each code we act on means, and what kind of message it is.

TWS sends everything through EWrapper.error: real failures, order confirmations (202), warnings
and plain notices ("market data farm connection is OK"). The kind decides what the app does;
the order book adds context (a REJECT while a modify is pending rejects the modify, not the
order), so `classify` itself is context free.

Codes and meanings follow IB's published message-code tables (the TWS API "Message Codes"
page and the client's EClientErrors, which ibapi's errors.py mirrors); the descriptions are
ours. A code not in the table is ErrorKind.ERROR: unknown means "look at it", never "ignore",
and never "rejected": only codes listed here as refusing something refuse it (REJECTING_KINDS).
"""

from __future__ import annotations

import logging
from enum import StrEnum


class ErrorKind(StrEnum):
    INFORMATION = "information"  # notices: nothing is wrong
    WARNING = "warning"  # something to know; the request went through
    CONNECTIVITY = "connectivity"  # the link to TWS or from TWS to IB changed
    PACING = "pacing"  # too many messages per second
    DUPLICATE_ID = "duplicate_id"  # the order id was already used
    MODIFY_DONE = "modify_done"  # a modify of an order that is already done
    MODIFY_REJECT = "modify_reject"  # a modify refused; the order itself is unchanged
    REJECT = "reject"  # a request (typically placeOrder) refused
    CANCEL = "cancel"  # an order was cancelled (confirmation, not a failure)
    CANCEL_REJECT = "cancel_reject"  # a cancel request refused; the order is unchanged
    ERROR = "error"  # anything else, including codes not in this table


K = ErrorKind

#: code -> (kind, what it means). The single source of the classification below.
CODES: dict[int, tuple[ErrorKind, str]] = {
    # pacing and ids
    100: (K.PACING, "more than 50 messages per second were sent; TWS may disconnect"),
    103: (K.DUPLICATE_ID, "the order id was already used; request new ids and place again"),
    # modifies
    104: (K.MODIFY_DONE, "a filled order cannot be modified"),
    105: (K.MODIFY_REJECT, "the modify changes more than a modify may; cancel and replace"),
    134: (K.MODIFY_REJECT, "TWS failed to apply the modify"),
    329: (K.MODIFY_REJECT, "a modify cannot change the order type"),
    440: (K.MODIFY_REJECT, "an algo order's algo cannot be modified"),
    2102: (K.MODIFY_REJECT, "the order is still being processed; modify it once acknowledged"),
    10241: (K.MODIFY_REJECT, "an order with a cash quantity cannot be modified via the API"),
    10242: (K.MODIFY_REJECT, "a fractional-size order cannot be modified via the API"),
    # order and request rejections
    106: (K.REJECT, "the order could not be transmitted"),
    107: (K.REJECT, "the order is incomplete and was not transmitted"),
    109: (K.REJECT, "the price is outside the percentage band of TWS's order precautions"),
    110: (K.REJECT, "the price is not a multiple of the contract's minimum price increment"),
    111: (K.REJECT, "the time in force does not go with this order type"),
    113: (K.REJECT, "MOC and LOC orders need time in force DAY"),
    116: (K.REJECT, "the destination exchange is not available"),
    133: (K.REJECT, "TWS failed to submit the new order"),
    154: (K.REJECT, "the security is halted; no orders are accepted"),
    160: (K.REJECT, "the order size cannot be zero"),
    163: (K.REJECT, "the price breaks the percentage constraint of TWS's order precautions"),
    200: (K.REJECT, "no security definition matches the contract (unknown or ambiguous)"),
    201: (K.REJECT, "the order was rejected; TWS gives the reason in the text"),
    203: (K.REJECT, "the security is not available or not allowed for this account"),
    321: (K.REJECT, "TWS found the request invalid; the cause is in the text"),
    322: (K.REJECT, "TWS failed to process the request; the cause is in the text"),
    355: (K.REJECT, "the order size does not conform to the market rule"),
    382: (K.REJECT, "the price breaks the number-of-ticks constraint of the order precautions"),
    383: (K.REJECT, "the size breaks the size constraint of TWS's order precautions"),
    387: (K.REJECT, "the order type is not supported for this exchange and security type"),
    388: (K.REJECT, "the order size is below the minimum for this contract"),
    392: (K.REJECT, "the contract has expired"),
    412: (K.REJECT, "the contract is not available for trading"),
    434: (K.REJECT, "the order size cannot be zero"),
    435: (K.REJECT, "the order needs an account"),
    436: (K.REJECT, "the order needs an allocation: an account, FA group or profile"),
    10006: (K.REJECT, "the parent of this child order is missing"),
    10015: (K.REJECT, "trading is not allowed through the API for this session"),
    10243: (K.REJECT, "a fractional-size order cannot be placed via the API"),
    10244: (K.REJECT, "a cash quantity cannot be used for this order"),
    10268: (K.REJECT, "the 'EtradeOnly' order attribute is not supported"),
    10269: (K.REJECT, "the 'firmQuoteOnly' order attribute is not supported"),
    10270: (K.REJECT, "the 'nbboPriceCap' order attribute is not supported"),
    # ibapi's own, for a placeOrder it could not encode or send: nothing reached TWS
    512: (K.REJECT, "the client failed to send the order (the cause is in the text)"),
    579: (K.REJECT, "a text field holds characters TWS does not accept; nothing was sent"),
    588: (K.REJECT, "the client could not encode the request as protobuf; nothing was sent"),
    # cancels
    202: (K.CANCEL, "the order was cancelled; TWS gives the reason, if any, in the text"),
    135: (K.CANCEL_REJECT, "TWS has no order with this id"),
    136: (K.CANCEL_REJECT, "this order cannot be cancelled"),
    161: (K.CANCEL_REJECT, "the order is not in a state that can be cancelled"),
    10147: (K.CANCEL_REJECT, "the order to cancel was not found"),
    10148: (K.CANCEL_REJECT, "the order can no longer be cancelled; its state is in the text"),
    515: (K.CANCEL_REJECT, "the client failed to send the cancel; the order is unchanged"),
    # warnings: the request went through
    131: (K.WARNING, "sweep-to-fill and display size are ignored for this order"),
    399: (K.WARNING, "an order message from TWS; the order is processed (see the text)"),
    404: (K.WARNING, "shares to sell short are not available yet; TWS holds the order"),
    2100: (K.WARNING, "a newer account-data request took over this client's subscription"),
    2101: (K.WARNING, "another client is subscribed to a different account's data"),
    2109: (K.WARNING, "the outside-RTH flag is ignored for this order type and destination"),
    2137: (K.WARNING, "cross side warning: the order would flip the position long/short"),
    2168: (K.WARNING, "the 'EtradeOnly' attribute is not supported and was ignored"),
    2169: (K.WARNING, "the 'firmQuoteOnly' attribute is not supported and was ignored"),
    162: (K.REJECT, "a historical data request failed or broke the pacing rules (see the text)"),
    354: (K.REJECT, "the market data requested is not subscribed for this account"),
    10167: (K.WARNING, "real-time market data is not subscribed; delayed data is shown"),
    10197: (K.WARNING, "no market data during a competing live session"),
    10311: (K.WARNING, "the order is routed directly to an exchange"),
    10349: (K.WARNING, "TWS set the order's time in force from the order preset"),
    # connectivity
    326: (K.CONNECTIVITY, "the client id is already in use; connect with another client id"),
    502: (K.CONNECTIVITY, "could not connect to TWS: is it running, API enabled, right port?"),
    503: (K.CONNECTIVITY, "TWS is too old for this client; upgrade TWS"),
    504: (K.CONNECTIVITY, "not connected to TWS"),
    507: (K.CONNECTIVITY, "bad message length from TWS; the connection is unusable"),
    1100: (K.CONNECTIVITY, "TWS lost its connection to IB"),
    1101: (K.CONNECTIVITY, "TWS reconnected to IB; data was lost: resubscribe"),
    1102: (K.CONNECTIVITY, "TWS reconnected to IB; data was kept"),
    1300: (K.CONNECTIVITY, "TWS moved its API socket to a new port; reconnect there"),
    2103: (K.CONNECTIVITY, "a market data farm is disconnected"),
    2105: (K.CONNECTIVITY, "a historical data farm is disconnected"),
    2110: (K.CONNECTIVITY, "TWS lost its connection to the server; it restores it itself"),
    2157: (K.CONNECTIVITY, "the security definition data farm is disconnected"),
    # information: nothing is wrong
    2104: (K.INFORMATION, "market data farm connection is OK"),
    2106: (K.INFORMATION, "historical data farm connection is OK"),
    2107: (K.INFORMATION, "historical data farm is inactive, available on demand"),
    2108: (K.INFORMATION, "market data farm is inactive, available on demand"),
    2119: (K.INFORMATION, "market data farm is connecting"),
    2158: (K.INFORMATION, "security definition data farm connection is OK"),
}


def _codes(kind: ErrorKind) -> frozenset[int]:
    return frozenset(code for code, (k, _) in CODES.items() if k is kind)


INFORMATION = _codes(K.INFORMATION)
WARNING = _codes(K.WARNING)
CONNECTIVITY = _codes(K.CONNECTIVITY)
PACING = _codes(K.PACING)
DUPLICATE_ID = _codes(K.DUPLICATE_ID)
MODIFY_DONE = _codes(K.MODIFY_DONE)
MODIFY_REJECT = _codes(K.MODIFY_REJECT)
REJECT = _codes(K.REJECT)
CANCEL = _codes(K.CANCEL)
CANCEL_REJECT = _codes(K.CANCEL_REJECT)

#: Kinds that, for an order TWS has not acknowledged yet, mean the placement failed.
#: CONNECTIVITY belongs here because ibapi itself reports "504 not connected" (or "503 TWS out
#: of date") with the order id when placeOrder is called without a connection, or with a field
#: the server version lacks: nothing was sent. ERROR (codes not in the table) does not: TWS
#: sends notices nobody listed, and an order must never be taken for dead on a guess.
REJECTING_KINDS = frozenset({K.REJECT, K.DUPLICATE_ID, K.CONNECTIVITY})
#: Kinds that, while a modify is pending, mean the modify failed (ERROR, again, does not).
MODIFY_REJECTING_KINDS = REJECTING_KINDS | {K.MODIFY_REJECT, K.MODIFY_DONE}
#: The level a message of each kind is logged at when no order owns it (a notice).
LOG_LEVELS: dict[ErrorKind, int] = {
    K.INFORMATION: logging.INFO,
    K.WARNING: logging.WARNING,
    K.CONNECTIVITY: logging.WARNING,
    K.PACING: logging.WARNING,
    K.DUPLICATE_ID: logging.WARNING,
    K.MODIFY_DONE: logging.WARNING,
    K.MODIFY_REJECT: logging.WARNING,
    K.REJECT: logging.ERROR,
    K.CANCEL: logging.INFO,
    K.CANCEL_REJECT: logging.WARNING,
    K.ERROR: logging.WARNING,
}

#: Kinds that are not failures of anything.
BENIGN_KINDS = frozenset({K.INFORMATION, K.WARNING, K.CANCEL})

# Codes other modules name.
PACING_VIOLATION = 100
DUPLICATE_ORDER_ID = 103
CANNOT_MODIFY_FILLED = 104
PRICE_INCREMENT = 110
NO_SECURITY_DEFINITION = 200
ORDER_REJECTED = 201
ORDER_CANCELLED = 202
CLIENT_ID_IN_USE = 326
CONNECT_FAIL = 502
NOT_CONNECTED = 504
CONNECTIVITY_LOST = 1100
RESTORED_DATA_LOST = 1101
RESTORED_DATA_KEPT = 1102

#: ibapi's own answers to a request it could not send: no connection, or TWS too old.
NOTHING_SENT = frozenset({CONNECT_FAIL, 503, NOT_CONNECTED})

#: TWS's own link to IB: lost (1100, 2110) and restored (1101 data lost, 1102 data kept).
LINK_LOST = frozenset({CONNECTIVITY_LOST, 2110})
LINK_CODES = LINK_LOST | {RESTORED_DATA_LOST, RESTORED_DATA_KEPT}
#: Data farm status; FARM_OK are the "connected" / "available on demand" ones.
FARM_CODES = frozenset({2103, 2104, 2105, 2106, 2107, 2108, 2119, 2157, 2158})
FARM_OK = frozenset({2104, 2106, 2107, 2108, 2158})


def classify(code: int) -> ErrorKind:
    """The kind of a TWS message code; codes not in the table are ERROR."""
    entry = CODES.get(code)
    return entry[0] if entry else K.ERROR


def describe(code: int) -> str:
    """A short explanation of a code, for logs and the CLI."""
    entry = CODES.get(code)
    if entry:
        return entry[1]
    return f"TWS message {code} (not in twsapp's table; see IB's message codes)"


def is_failure(code: int) -> bool:
    """True when the code reports that a request did not happen as asked."""
    return classify(code) not in BENIGN_KINDS
