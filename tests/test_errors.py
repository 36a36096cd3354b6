"""The error-code table: every named code lands in the kind the app acts on."""

import pytest
from ibapi import errors as ibapi_errors

from twsapp import errors
from twsapp.errors import ErrorKind, classify, describe


@pytest.mark.parametrize("code", [2104, 2106, 2107, 2108, 2119, 2158])
def test_farm_notices_are_information_never_errors(code):
    assert classify(code) is ErrorKind.INFORMATION
    assert not errors.is_failure(code)


@pytest.mark.parametrize(
    "code", [110, 200, 201, 203, 321, 322, 382, 383, 387, 388, 10006, 160, 434]
)
def test_order_refusals_are_rejects(code):
    assert classify(code) is ErrorKind.REJECT
    assert errors.is_failure(code)


@pytest.mark.parametrize("code", [1100, 1101, 1102, 1300, 2110, 502, 504, 326, 2103, 2105, 2157])
def test_connectivity(code):
    assert classify(code) is ErrorKind.CONNECTIVITY


@pytest.mark.parametrize("code", [399, 404, 2109, 2137, 10167, 10349])
def test_warnings_are_not_failures(code):
    assert classify(code) is ErrorKind.WARNING
    assert not errors.is_failure(code)


def test_cancel_confirmation_is_not_a_failure():
    assert classify(202) is ErrorKind.CANCEL
    assert not errors.is_failure(202)


@pytest.mark.parametrize("code", [161, 10147, 10148, 135, 136])
def test_refused_cancels(code):
    assert classify(code) is ErrorKind.CANCEL_REJECT
    assert errors.is_failure(code)


def test_single_purpose_codes():
    assert classify(100) is ErrorKind.PACING
    assert classify(103) is ErrorKind.DUPLICATE_ID
    assert classify(104) is ErrorKind.MODIFY_DONE
    for code in (105, 2102, 329):
        assert classify(code) is ErrorKind.MODIFY_REJECT


def test_unknown_codes_are_errors_with_a_description():
    assert classify(987654) is ErrorKind.ERROR
    assert "987654" in describe(987654)
    assert errors.is_failure(987654)


def test_only_known_codes_reject_an_order_or_a_modify():
    assert ErrorKind.ERROR not in errors.REJECTING_KINDS
    assert ErrorKind.ERROR not in errors.MODIFY_REJECTING_KINDS
    assert classify(987654) not in errors.REJECTING_KINDS
    assert {ErrorKind.REJECT, ErrorKind.DUPLICATE_ID} <= errors.REJECTING_KINDS
    assert errors.REJECTING_KINDS.isdisjoint(errors.BENIGN_KINDS)


@pytest.mark.parametrize(
    ("pair", "kind"),
    [
        (ibapi_errors.NOT_CONNECTED, ErrorKind.CONNECTIVITY),
        (ibapi_errors.UPDATE_TWS, ErrorKind.CONNECTIVITY),
        (ibapi_errors.FAIL_SEND_ORDER, ErrorKind.REJECT),
        (ibapi_errors.INVALID_SYMBOL, ErrorKind.REJECT),
        (ibapi_errors.ERROR_ENCODING_PROTOBUF, ErrorKind.REJECT),
        (ibapi_errors.FAIL_SEND_CORDER, ErrorKind.CANCEL_REJECT),
    ],
)
def test_ibapi_client_side_refusals_of_placing_and_cancelling(pair, kind):
    """ibapi reports these with the order id when it sent nothing: known, never ERROR."""
    assert classify(pair.code()) is kind


def test_named_sets_partition_the_table():
    sets = [
        errors.INFORMATION,
        errors.WARNING,
        errors.CONNECTIVITY,
        errors.PACING,
        errors.DUPLICATE_ID,
        errors.MODIFY_DONE,
        errors.MODIFY_REJECT,
        errors.REJECT,
        errors.CANCEL,
        errors.CANCEL_REJECT,
    ]
    union = frozenset().union(*sets)
    assert union == frozenset(errors.CODES)
    assert sum(len(s) for s in sets) == len(union)  # no code in two sets
    assert {2104, 2106, 2158} <= errors.INFORMATION


def test_every_code_has_its_own_description():
    for code in errors.CODES:
        text = describe(code)
        assert text and text == errors.CODES[code][1]


def test_constants_other_modules_use():
    assert classify(errors.CLIENT_ID_IN_USE) is ErrorKind.CONNECTIVITY
    assert classify(errors.DUPLICATE_ORDER_ID) is ErrorKind.DUPLICATE_ID
    assert classify(errors.NOT_CONNECTED) is ErrorKind.CONNECTIVITY
    assert classify(errors.ORDER_CANCELLED) is ErrorKind.CANCEL
