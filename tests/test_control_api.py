"""The control API over a real socket, against an app connected to the simulator: the request
bodies of IB's Client Portal lessons sent unchanged, the answers' shapes, the orders they leave
in the book and at the simulator; precautions as reply ids; every bad request a 4xx naming
its field, with nothing sent."""

from __future__ import annotations

import os
import ssl
import stat
from decimal import Decimal

import httpx
import pytest
from app_helpers import AAPL, WAIT, Events
from control_helpers import FA_ACCOUNTS, GROUP, served

from twsapp.config import ControlConfig, RiskConfig
from twsapp.control import ControlServer
from twsapp.control.security import read_token
from twsapp.exceptions import ConfigError

SUB = FA_ACCOUNTS[0]
OTHER = FA_ACCOUNTS[1]
RISK = RiskConfig(
    confirm="ask",
    max_price_deviation_pct=30.0,  # the lessons' 190 and 185 are within 30% of the sim's 150
    max_quantity=Decimal(500),
    hard_max_quantity=Decimal(5000),
)

# The bodies of IB's Client Portal lessons (placing orders; FA order placement; brackets).
LESSON_MKT = {"orders": [{"conid": 265598, "orderType": "MKT", "side": "BUY", "tif": "DAY",
                          "quantity": 10}]}  # fmt: skip
LESSON_LMT = {"orders": [{"conid": 265598, "orderType": "LMT", "price": 190, "side": "BUY",
                          "tif": "DAY", "quantity": 100}]}  # fmt: skip
LESSON_STP = {"orders": [{"conid": 265598, "orderType": "STP", "price": 185, "side": "SELL",
                          "tif": "DAY", "quantity": 10}]}  # fmt: skip
LESSON_GROUP = {"orders": [{"acctId": GROUP, "conid": 265598, "orderType": "LMT", "price": 190,
                            "side": "BUY", "tif": "DAY", "quantity": 100}]}  # fmt: skip


def lesson_bracket(account: str) -> dict:
    common = {"acctId": account, "conid": 265598, "listingExchange": "SMART",
              "outsideRTH": False, "tif": "GTC", "quantity": 10}  # fmt: skip
    return {"orders": [
        {**common, "cOID": "Parent", "orderType": "LMT", "price": 149, "side": "BUY",
         "referrer": "QuickTrade"},
        {**common, "orderType": "LMT", "price": 157, "side": "SELL", "parentId": "Parent"},
        {**common, "orderType": "STP", "price": 143, "side": "SELL", "parentId": "Parent"},
    ]}  # fmt: skip


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    # No pacing: a module's worth of requests in a few seconds is not what is tested here.
    with served(tmp_path_factory.mktemp("control"), RISK, pacing=False) as s:
        s.prices.set(AAPL, 150.0)  # the run's last price: the reference of [risk]'s checks
        yield s


def _placed(answer: httpx.Response) -> list[dict]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, list) and all("order_id" in e for e in body), body
    for entry in body:
        assert entry["encrypt_message"] == "1" and entry["order_status"], entry
    return body


def _confirming(api, answer: httpx.Response, expected: list[str]) -> httpx.Response:
    """Answer yes to each question, checking they are the `expected` message ids in order."""
    for message_id in expected:
        [question] = answer.json()
        assert question["messageIds"] == [message_id], question
        answer = api.client.post(f"/iserver/reply/{question['id']}", json={"confirmed": True})
    return answer


def _record(api, entry):
    return api.app.book.get(int(entry["order_id"]))


# ---------------------------------------------------------------------- the lessons


def test_lesson_market_buy_of_10_aapl(api):
    [entry] = _placed(api.client.post(f"/iserver/account/{SUB}/orders", json=LESSON_MKT))
    record = _record(api, entry)
    assert (record.order_type, record.action, record.total_quantity) == ("MKT", "BUY", 10)
    assert record.sent_order.account == SUB and record.contract.conId == AAPL
    Events(api.app).status(record.order_id, "Filled")


def test_lesson_limit_buy_of_100_at_190(api):
    [entry] = _placed(api.client.post(f"/iserver/account/{SUB}/orders", json=LESSON_LMT))
    record = _record(api, entry)
    assert (record.order_type, record.limit_price, record.total_quantity) == ("LMT", 190.0, 100)
    assert entry["order_status"] in ("Submitted", "Filled", "PreSubmitted")


def test_lesson_stop_sell_asks_first_and_is_placed_once_confirmed(api):
    sent = api.sent()
    question = api.client.post(f"/iserver/account/{SUB}/orders", json=LESSON_STP)
    assert question.status_code == 200
    [asked] = question.json()
    assert asked["messageIds"] == ["o10331"] and "stop order" in asked["message"][0]
    assert set(asked) >= {"id", "message", "messageIds"}
    assert api.sent() == sent  # nothing reaches TWS before the answer
    [entry] = _placed(api.client.post(f"/iserver/reply/{asked['id']}", json={"confirmed": True}))
    record = _record(api, entry)
    assert (record.order_type, record.action, record.aux_price) == ("STP", "SELL", 185.0)
    assert api.sent() == sent + 1
    again = api.client.post(f"/iserver/reply/{asked['id']}", json={"confirmed": True})
    assert again.status_code == 404 and "unknown or has expired" in again.json()["error"]
    assert api.sent() == sent + 1


def test_orders_to_an_allocation_group_and_to_one_sub_account(api):
    [group] = _placed(api.client.post(f"/iserver/account/{SUB}/orders", json=LESSON_GROUP))
    assert _record(api, group).sent_order.faGroup == GROUP
    assert _record(api, group).sent_order.account == ""
    body = {"orders": [{**LESSON_LMT["orders"][0], "acctId": OTHER, "price": 140}]}
    [single] = _placed(api.client.post(f"/iserver/account/{OTHER}/orders", json=body))
    assert _record(api, single).sent_order.account == OTHER


def test_switching_the_selected_account_and_listing_orders_per_account(api):
    body = {"orders": [{**LESSON_LMT["orders"][0], "price": 141, "quantity": 3}]}
    [mine] = _placed(api.client.post(f"/iserver/account/{OTHER}/orders", json=body))
    accounts = api.client.get("/iserver/accounts").json()
    assert accounts["accounts"] == FA_ACCOUNTS
    assert accounts["groups"] == [GROUP, "All"] and accounts["selectedAccount"] == SUB
    assert api.client.post("/iserver/account", json={"acctId": OTHER}).json() == {
        "set": True, "acctId": OTHER,
    }  # fmt: skip
    listed = api.client.get("/iserver/account/orders").json()
    ids = {o["orderId"] for o in listed["orders"]}
    assert int(mine["order_id"]) in ids and {o["acct"] for o in listed["orders"]} == {OTHER}
    api.client.post("/iserver/account", json={"acctId": SUB})
    listed = api.client.get("/iserver/account/orders").json()["orders"]
    assert int(mine["order_id"]) not in {o["orderId"] for o in listed}
    assert {o["acct"] for o in listed} <= {SUB}
    everything = api.client.get("/iserver/account/orders", params={"accountId": "All"}).json()
    assert int(mine["order_id"]) in {o["orderId"] for o in everything["orders"]}
    refused = api.client.post("/iserver/account", json={"acctId": "DU999"})
    assert refused.status_code == 400 and "DU999" in refused.json()["error"]


def test_positions_of_one_sub_account_and_a_group_refused(api):
    before = {p.account: float(p.position) for p in api.app.book.positions()}  # group orders too
    body = {"orders": [{**LESSON_MKT["orders"][0], "acctId": OTHER, "quantity": 7}]}
    [entry] = _placed(api.client.post(f"/iserver/account/{OTHER}/orders", json=body))
    Events(api.app).status(int(entry["order_id"]), "Filled")
    events = Events(api.app)
    held = before.get(OTHER, 0.0) + 7
    events.wait(lambda: any(p.account == OTHER and p.position == held
                            for p in api.app.book.positions()), "positions")  # fmt: skip
    rows = api.client.get(f"/portfolio/{OTHER}/positions/0").json()
    assert [(r["acctId"], r["conid"], r["position"]) for r in rows] == [(OTHER, AAPL, held)]
    assert rows[0]["avgCost"] > 0
    group = api.client.get(f"/portfolio/{GROUP}/positions/0")
    assert group.status_code == 400 and "positions are per account" in group.json()["error"]


def test_lesson_bracket_of_three_orders(api):
    sent = api.sent()
    asked = api.client.post(f"/iserver/account/{SUB}/orders", json=lesson_bracket(SUB))
    placed = _placed(_confirming(api, asked, ["o10331"]))  # the stop-loss is a stop order
    assert api.sent() == sent + 3
    parent, profit, stop = (_record(api, e) for e in placed)
    assert placed[0]["local_order_id"] == "Parent" and "parent_order_id" not in placed[0]
    assert [e.get("parent_order_id") for e in placed[1:]] == [placed[0]["order_id"]] * 2
    assert (profit.parent_id, stop.parent_id) == (parent.order_id, parent.order_id)
    assert [r.sent_order.transmit for r in (parent, profit, stop)] == [False, False, True]
    assert (stop.order_type, stop.aux_price, profit.limit_price) == ("STP", 143.0, 157.0)
    assert parent.sent_order.orderRef == "Parent"


# ---------------------------------------------------------------------- refusals


def test_a_missing_or_wrong_token_gets_401(api):
    url = f"{api.server.url}/v1/api/iserver/accounts"
    assert httpx.get(url).status_code == 401
    wrong = httpx.get(url, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "bearer token" in wrong.json()["error"]
    assert httpx.get(f"{api.server.url}/docs").status_code == 401
    sent = api.sent()
    assert httpx.post(f"{api.server.url}/v1/api/iserver/account/{SUB}/orders",
                      json=LESSON_MKT).status_code == 401  # fmt: skip
    assert api.sent() == sent


def _order(**changes):
    return {"orders": [{**LESSON_LMT["orders"][0], "price": 140, **changes}]}


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        (f"/iserver/account/{SUB}/orders", b'{"orders": [', 400, "body"),
        (
            f"/iserver/account/{SUB}/orders",
            {"orders": [{"conid": 265598, "side": "BUY"}]},
            400,
            "orders[0].orderType",
        ),
        (f"/iserver/account/{SUB}/orders", _order(quantity="ten"), 400, "orders[0].quantity"),
        (f"/iserver/account/{SUB}/orders", _order(quantity=-1), 400, "orders[0].quantity"),
        (f"/iserver/account/{SUB}/orders", _order(conid=999999999), 400, "orders[0].conid"),
        (f"/iserver/account/{SUB}/orders", _order(price=140.003), 400, "orders[0].price"),
        (f"/iserver/account/{SUB}/orders", _order(side="HOLD"), 400, "orders[0].side"),
        (f"/iserver/account/{SUB}/orders", _order(outsideRth=True), 400, "orders[0].outsideRth"),
        (f"/iserver/account/{SUB}/orders", _order(auxPrice=1.0), 400, "orders[0].auxPrice"),
        (f"/iserver/account/{SUB}/orders", _order(ticker="MSFT"), 400, "orders[0].ticker"),
        (f"/iserver/account/{SUB}/orders", _order(acctId="DU000"), 400, "orders[0].acctId"),
        (f"/iserver/account/{SUB}/orders", _order(tif="NEVER"), 400, "orders[0].tif"),
        (f"/iserver/account/{SUB}/orders", _order(strategy="Vwap"), 400, "orders[0].strategy"),
        ("/iserver/account/DU000/orders", _order(), 404, "accountId"),
        (f"/iserver/account/{SUB}/order/987654", {"price": 141}, 404, "orderId"),
        (f"/iserver/account/{SUB}/order/abc", {"price": 141}, 400, "orderId"),
        ("/iserver/reply/nope", {"confirmed": True}, 404, "replyId"),
        ("/iserver/reply/nope", {"confirmed": "maybe"}, 400, "confirmed"),
    ],
    ids=[
        "malformed-json",
        "missing-field",
        "wrong-type",
        "negative",
        "unknown-conid",
        "off-tick",
        "bad-side",
        "unknown-field",
        "unused-price",
        "ticker-mismatch",
        "unknown-account",
        "bad-tif",
        "unknown-algo",
        "unknown-path-account",
        "unknown-order",
        "order-id-type",
        "unknown-reply",
        "reply-type",
    ],
)
def test_every_bad_request_is_a_4xx_naming_the_field_and_sends_nothing(
    api, path, body, status, field
):
    sent = api.sent()
    if isinstance(body, bytes):
        answer = api.client.post(path, content=body, headers={"Content-Type": "application/json"})
    else:
        answer = api.client.post(path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"].startswith(field) or answer.json().get("field") == field, (
        answer.json()
    )
    assert api.sent() == sent


def test_unknown_orders_cannot_be_cancelled(api):
    answer = api.client.delete(f"/iserver/account/{SUB}/order/987654")
    assert answer.status_code == 404 and "987654" in answer.json()["error"]
    assert api.client.get("/iserver/contract/0/info").status_code == 400
    assert api.client.get("/iserver/contract/999999999/info").status_code == 400
    bad = api.client.get("/iserver/marketdata/snapshot", params={"conids": "x", "fields": "31"})
    assert bad.status_code == 400 and bad.json()["field"] == "conids"
    field = api.client.get("/iserver/marketdata/snapshot", params={"conids": AAPL, "fields": "9"})
    assert field.status_code == 400 and field.json()["field"] == "fields"


def test_a_multi_order_request_is_never_placed_in_part(api):
    sent = api.sent()
    good = LESSON_LMT["orders"][0] | {"price": 140}
    for bad in ({**good, "price": 140.001}, {**good, "conid": 999999999}):
        answer = api.client.post(f"/iserver/account/{SUB}/orders", json={"orders": [good, bad]})
        assert answer.status_code == 400 and answer.json()["field"].startswith("orders[1]")
    orphan = {**good, "parentId": "nobody"}
    answer = api.client.post(f"/iserver/account/{SUB}/orders", json={"orders": [good, orphan]})
    assert answer.status_code == 400 and answer.json()["field"] == "orders[1].parentId"
    wrong_side = lesson_bracket(SUB)
    wrong_side["orders"][1]["price"] = 148  # a take-profit below the entry
    answer = api.client.post(f"/iserver/account/{SUB}/orders", json=wrong_side)
    assert answer.status_code == 400 and "take-profit" in answer.json()["error"]
    too_big = {**good, "quantity": 600}  # asks o383; the first order waits with it
    question = api.client.post(f"/iserver/account/{SUB}/orders", json={"orders": [good, too_big]})
    assert question.json()[0]["messageIds"] == ["o383"]
    declined = api.client.post(f"/iserver/reply/{question.json()[0]['id']}",
                               json={"confirmed": False})  # fmt: skip
    assert declined.status_code == 200 and declined.json()["confirmed"] is False
    assert api.sent() == sent


def test_precautions_and_hard_limits_through_the_api(api):
    sent = api.sent()
    hard = api.client.post(f"/iserver/account/{SUB}/orders", json=_order(quantity=6000))
    assert hard.status_code == 400 and "hard_max_quantity" in hard.json()["error"]
    typo = api.client.post(f"/iserver/account/{SUB}/orders", json=_order(price=1490))
    [question] = typo.json()  # IB's lesson typo: 1490 for 149, 893% from the market
    assert question["messageIds"] == ["o163"] and "1490.00" in question["message"][0]
    [value] = api.client.post(f"/iserver/reply/{question['id']}", json={"confirmed": True}).json()
    assert value["messageIds"] == ["o451"]  # the next precaution of the same order
    api.client.post(f"/iserver/reply/{value['id']}", json={"confirmed": False})
    assert api.sent() == sent


def test_a_question_expires(api):
    state = api.server.state
    now = [1000.0]
    state.clock, before = (lambda: now[0]), state.clock
    try:
        asked = api.client.post(f"/iserver/account/{SUB}/orders", json=_order(quantity=600))
        [question] = asked.json()
        now[0] += 10_000
        late = api.client.post(f"/iserver/reply/{question['id']}", json={"confirmed": True})
        assert late.status_code == 404 and "expired" in late.json()["error"]
    finally:
        state.clock = before


def test_modify_keeps_the_id_and_asks_like_a_placement(api):
    [entry] = _placed(api.client.post(f"/iserver/account/{SUB}/orders", json=_order()))
    order_id = int(entry["order_id"])
    Events(api.app).status(order_id, "Submitted")
    sent = api.sent()
    changed = api.client.post(f"/iserver/account/{SUB}/order/{order_id}", json={"price": 141})
    assert changed.status_code == 200 and changed.json()[0]["order_id"] == str(order_id)
    Events(api.app).wait(lambda: api.app.book.get(order_id).limit_price == 141.0, "the modify")
    asked = api.client.post(f"/iserver/account/{SUB}/order/{order_id}", json={"quantity": 600})
    [question] = asked.json()
    assert question["messageIds"] == ["o383"] and api.sent() == sent + 1
    done = api.client.post(f"/iserver/reply/{question['id']}", json={"confirmed": True})
    assert done.status_code == 200 and done.json()[0]["order_id"] == str(order_id)
    assert api.sent() == sent + 2
    side = api.client.post(f"/iserver/account/{SUB}/order/{order_id}", json={"side": "SELL"})
    assert side.status_code == 400 and side.json()["field"] == "side"
    gone = api.client.delete(f"/iserver/account/{SUB}/order/{order_id}")
    assert gone.status_code == 200 and gone.json()["order_id"] == order_id
    Events(api.app).status(order_id, "Cancelled")
    again = api.client.delete(f"/iserver/account/{SUB}/order/{order_id}")
    assert again.status_code == 409 and "already Cancelled" in again.json()["error"]


def test_trades_contracts_snapshot_and_the_schema(api):
    # its own fill: a worker may run this test before any other of the module
    [entry] = _placed(api.client.post(f"/iserver/account/{SUB}/orders", json=LESSON_MKT))
    Events(api.app).status(int(entry["order_id"]), "Filled")
    trades = api.client.get("/iserver/account/trades", params={"accountId": "All"}).json()
    assert trades and {"execution_id", "symbol", "side", "size", "price"} <= set(trades[0])
    found = api.client.get("/iserver/secdef/search", params={"symbol": "AAPL"}).json()
    assert [(f["conid"], f["symbol"]) for f in found] == [(AAPL, "AAPL")]
    info = api.client.get(f"/iserver/contract/{AAPL}/info").json()
    assert (info["con_id"], info["symbol"], info["currency"]) == (AAPL, "AAPL", "USD")
    algos = api.client.get(f"/iserver/contract/{AAPL}/algos").json()
    assert [a["id"] for a in algos["algos"]] == ["Adaptive"]
    [quote] = api.client.get("/iserver/marketdata/snapshot",
                             params={"conids": str(AAPL), "fields": "31,84,86"}).json()  # fmt: skip
    assert quote["conid"] == AAPL and quote["84"] < quote["86"] and quote["31"] > 0
    schema = api.client.get(f"{api.server.url}/docs").json()
    assert schema["openapi"].startswith("3.") and "/v1/api/iserver/accounts" in schema["paths"]


def test_an_adaptive_order(api):
    body = _order(useAdaptive=True, quantity=1)
    [entry] = _placed(api.client.post(f"/iserver/account/{SUB}/orders", json=body))
    order = _record(api, entry).sent_order
    assert order.algoStrategy == "Adaptive"
    assert [(t.tag, t.value) for t in order.algoParams] == [("adaptivePriority", "Normal")]


# ---------------------------------------------------------------------- binding, token, TLS


def test_the_token_file_is_owner_only_and_one_others_can_read_is_refused(tmp_path):
    path = tmp_path / "control.token"
    token = read_token(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(token) >= 32
    assert read_token(path) == token  # kept across runs
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        read_token(path)


def test_binding_is_loopback_only(tmp_path):
    config = ControlConfig(host="0.0.0.0", port=0, token_file=tmp_path / "t")
    with pytest.raises(ConfigError, match="not loopback"):
        ControlServer(config).bind()
    remote = ControlConfig(host="0.0.0.0", port=0, token_file=tmp_path / "t", allow_remote=True)
    with pytest.raises(ConfigError, match="not loopback"):
        ControlServer(remote).bind()  # allow_remote without TLS
    server = ControlServer(ControlConfig(port=0, token_file=tmp_path / "t")).bind()
    try:
        assert server.url.startswith("http://127.0.0.1:")
    finally:
        server.close()


def test_a_busy_port_is_a_config_error(tmp_path):
    first = ControlServer(ControlConfig(port=0, token_file=tmp_path / "t")).bind()
    try:
        busy = ControlConfig(port=first.port, token_file=tmp_path / "t")
        with pytest.raises(
            ConfigError, match=f"control.port: cannot listen on 127.0.0.1:{first.port}"
        ):
            ControlServer(busy).bind()
    finally:
        first.close()


def test_tls_with_a_generated_self_signed_certificate(tmp_path):
    with served(tmp_path, RISK, accounts=["DU1234567"]) as plain:
        config = ControlConfig(port=0, token_file=tmp_path / "tls.token", tls=True)
        server = ControlServer(config).bind().serve(plain.app)
        try:
            assert server.url.startswith("https://127.0.0.1:")
            assert server.cert is not None and (tmp_path / "control-key.pem").exists()
            key_mode = stat.S_IMODE((tmp_path / "control-key.pem").stat().st_mode)
            assert key_mode == 0o600
            headers = {"Authorization": f"Bearer {server.token}"}
            trust = ssl.create_default_context(cafile=str(server.cert))
            answer = httpx.get(f"{server.url}/v1/api/iserver/accounts", headers=headers,
                               verify=trust, timeout=WAIT)  # fmt: skip
            assert answer.status_code == 200 and answer.json()["accounts"] == ["DU1234567"]
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{server.url}/v1/api/iserver/accounts", headers=headers, timeout=WAIT)
        finally:
            server.close()
