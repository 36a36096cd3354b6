"""The control API: the running process's orders, accounts and positions over HTTP, with the
paths and JSON shapes of IB's Client Portal Web API (under ``/v1/api``).

Every request needs ``Authorization: Bearer <token>``. Its endpoints are plain functions that
run on uvicorn's worker threads and call the app's thread-safe order API (never from ibapi's
api thread, which would wait for itself). A bad request gets a 4xx whose ``error`` names the
field; nothing reaches TWS before every order of a request is validated and held to [risk]
(``risk.py``). A precaution comes back as a question, ``[{"id", "message", "messageIds"}]``;
``POST iserver/reply/{id}`` with ``{"confirmed": true}`` re-runs the request with that answer,
which places it or asks the next question.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ibapi.contract import Contract, ContractDetails
from ibapi.order import Order
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..book import OrderRecord
from ..book.status import WORKING, Status
from ..exceptions import (
    ContractError,
    NotReadyError,
    OrderRefused,
    RequestError,
    RequestTimeout,
    TwsAppError,
)
from ..orders import check_bracket
from ..risk import Precaution, RiskRefused
from ..session import TwsApp
from ..session.risk_facts import PriceSource, snapshot_quote
from . import views
from .mapping import (
    ALGOS,
    BadRequest,
    Target,
    check_contract,
    conid_of,
    contract_for,
    cp_field,
    modify_changes,
    resolve_target,
    to_order,
)
from .models import INT32_MAX, AccountChoice, ModifyBody, OrderBody, OrdersBody, ReplyBody

__all__ = ["ControlState", "create_app"]

log = logging.getLogger("twsapp.control")

API = "/v1/api"
REPLY_TTL = 300.0  # seconds a question waits for its answer
MAX_REPLIES = 100  # questions kept at once; the oldest is forgotten first
ACK_WAIT = 5.0  # seconds a placement waits for TWS's first word on each order
ALL = "All"  # the Client Portal's group of every account of an FA login


@dataclass
class _Reply:
    rerun: Callable[[frozenset[str]], Any]
    confirmed: frozenset[str]
    asked: str
    created: float


@dataclass
class _Prepared:
    where: str
    body: OrderBody
    details: ContractDetails
    contract: Contract
    order: Order
    children: list[_Prepared] = field(default_factory=list)


class ControlState:
    """What the API keeps between requests: the selected account, the open questions."""

    def __init__(
        self,
        app: TwsApp,
        prices: PriceSource | None = None,
        strategies: Callable[[], Collection[str]] = tuple,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.prices = prices
        self.strategies = strategies
        self.clock = clock
        self._lock = threading.Lock()
        self._replies: OrderedDict[str, _Reply] = OrderedDict()
        self._selected = ""

    # ------------------------------------------------------------------ accounts

    @property
    def groups(self) -> list[str]:
        """Allocation groups orders may name: the FA groups TWS listed at connect (requestFA)."""
        return sorted(self.app.fa_groups or ())

    def listed_groups(self) -> list[str]:
        """What iserver/accounts lists: the groups, and "All" for an FA login."""
        fa = self.app.advisor_login
        return self.groups + ([ALL] if fa and ALL not in self.groups else [])

    @property
    def selected(self) -> str:
        with self._lock:
            if self._selected:
                return self._selected
        app = self.app
        return app.default_account or (app.accounts[0] if app.accounts else "")

    def select(self, name: str) -> None:
        if name not in self.app.accounts and name not in self.listed_groups():
            resolve_target("acctId", name, self.app.accounts, self.listed_groups())
        with self._lock:
            self._selected = name

    def target(self, where: str, name: str) -> Target:
        """Where an order naming ``name`` goes; "All" is not placeable yet (FA allocation)."""
        if name == ALL and ALL not in self.groups and len(self.app.accounts) > 1:
            raise BadRequest(where, "orders to the All group are not supported yet: name one "
                             "account, or a configured allocation group")  # fmt: skip
        return resolve_target(where, name, self.app.accounts, self.groups)

    def in_view(self, record: OrderRecord, name: str) -> bool:
        if name == ALL:
            return True
        order = record.order
        if order is None:
            return False
        return name in (order.faGroup, order.account if not order.faGroup else "")

    # ------------------------------------------------------------------ questions

    def ask(self, precaution: Precaution, confirmed: frozenset[str], rerun: Any) -> list[Any]:
        reply_id = str(uuid.uuid4())
        with self._lock:
            self._forget_expired()
            while len(self._replies) >= MAX_REPLIES:
                self._replies.popitem(last=False)
            self._replies[reply_id] = _Reply(rerun, confirmed, precaution.message_id, self.clock())
        log.info("control: asking %s (reply id %s): %s", precaution.message_id, reply_id,
                 precaution.text)  # fmt: skip
        return [{"id": reply_id, "message": [precaution.question], "isSuppressed": False,
                 "messageIds": [precaution.message_id]}]  # fmt: skip

    def answer(self, reply_id: str, confirmed: bool) -> Any:
        with self._lock:
            self._forget_expired()
            reply = self._replies.pop(reply_id, None)
        if reply is None:
            raise BadRequest("replyId", f"{reply_id!r} is unknown or has expired (after "
                             f"{REPLY_TTL:g}s): nothing was placed; send the order again", 404)  # fmt: skip
        if not confirmed:
            log.warning("control: %s not confirmed (reply id %s): nothing was placed",
                        reply.asked, reply_id)  # fmt: skip
            return {"confirmed": False, "message": f"{reply.asked} not confirmed: nothing "
                    "was placed"}  # fmt: skip
        return reply.rerun(reply.confirmed | {reply.asked})

    def _forget_expired(self) -> None:
        now = self.clock()
        for key in [k for k, r in self._replies.items() if now - r.created > REPLY_TTL]:
            del self._replies[key]

    # ------------------------------------------------------------------ orders

    def details(self, where: str, con_id: int) -> ContractDetails:
        try:
            return self.app.contracts.by_conid(con_id)
        except ContractError as exc:
            raise BadRequest(where, f"no contract with conid {con_id}: {exc}") from None

    def place(self, account_id: str, body: OrdersBody, confirmed: frozenset[str]) -> Any:
        """Validate every order, hold them all to [risk], then send them: all or none."""
        default = self.target("accountId", account_id)
        prepared = [self._prepare(f"orders[{i}]", o, default) for i, o in enumerate(body.orders)]
        roots = _families(prepared)
        guard = self.app.risk
        held: list[Precaution] = []
        with guard.answering(confirmed) if guard is not None else _nothing():
            for item in prepared:
                held += self._check(item)
        for root in roots:
            if root.children:
                try:
                    check_bracket([root.order, *(c.order for c in root.children)])
                except OrderRefused as exc:
                    raise BadRequest(f"{root.where}.parentId", str(exc)) from None
        if held:
            first = held[0]
            return self.ask(first, confirmed, lambda more: self.place(account_id, body, more))
        asked = confirmed | {p.message_id for p in held}
        with guard.answering(asked) if guard is not None else _nothing():
            return self._send(roots)

    def _prepare(self, where: str, body: OrderBody, default: Target) -> _Prepared:
        con_id = conid_of(where, body)
        if con_id is None:
            raise BadRequest(f"{where}.conid", 'required (or secType "conid:secType")')
        details = self.details(f"{where}.conid", con_id)
        check_contract(where, body, details)
        target = self.target(f"{where}.acctId", body.acctId) if body.acctId else default
        order = to_order(where, body, target)
        return _Prepared(where, body, details, contract_for(body, details), order)

    def _check(self, item: _Prepared) -> list[Precaution]:
        """Validate one order (400 naming its field) and say what [risk] asks of it."""
        try:
            checked = self.app.check_order(item.contract, item.order)
        except RiskRefused as exc:
            if not exc.askable:
                raise BadRequest(item.where, exc.reason) from None
            return list(exc.precautions)
        except OrderRefused as exc:
            name = cp_field(item.body.orderType, exc.field) if exc.field else ""
            raise BadRequest(f"{item.where}.{name}" if name else item.where, exc.reason) from None
        item.order = checked
        return []

    def _send(self, roots: list[_Prepared]) -> list[dict[str, Any]]:
        placed: list[tuple[_Prepared, OrderRecord]] = []
        with self._acks() as wait:
            for root in roots:
                if root.children:
                    family = [root, *root.children]
                    records = self.app.place_bracket(root.contract, [f.order for f in family])
                    placed += zip(family, records, strict=True)
                else:
                    placed.append((root, self.app.place(root.contract, root.order)))
            wait([record for _, record in placed])
        answer = []
        for item, record in placed:
            entry: dict[str, Any] = {
                "order_id": str(record.order_id),
                "order_status": str(record.status),
                "encrypt_message": "1",
            }
            if item.body.cOID:
                entry["local_order_id"] = item.body.cOID
            if record.parent_id:
                entry["parent_order_id"] = str(record.parent_id)
            answer.append(entry)
            log.info("control: placed order %d (%s %s %s %s)", record.order_id,
                     item.order.action, item.order.totalQuantity, record.symbol,
                     item.order.orderType)  # fmt: skip
        return answer

    @contextmanager
    def _acks(self) -> Iterator[Callable[[list[OrderRecord]], None]]:
        """Wait, after sending, until TWS has said something of each order (bounded)."""
        changed = threading.Condition()

        def on_event(_event: Any) -> None:
            with changed:
                changed.notify_all()

        unsubscribe = self.app.subscribe(on_event)

        def wait(records: list[OrderRecord]) -> None:
            def heard() -> bool:
                fresh = [self.app.book.get(r.order_id, r.client_id) or r for r in records]
                return all(r.status != Status.PENDING_SUBMIT or r.acknowledged for r in fresh)

            with changed:
                changed.wait_for(heard, ACK_WAIT)

        try:
            yield wait
        finally:
            unsubscribe()

    def modify(
        self, account_id: str, order_id: int, body: ModifyBody, confirmed: frozenset[str]
    ) -> Any:
        record = self.record(account_id, order_id)
        changes = modify_changes(body, record)
        guard = self.app.risk
        try:
            with guard.answering(confirmed) if guard is not None else _nothing():
                self.app.modify(order_id, **changes)
        except RiskRefused as exc:
            if not exc.askable:
                raise BadRequest("", exc.reason) from None
            return self.ask(exc.precautions[0], confirmed,
                            lambda more: self.modify(account_id, order_id, body, more))  # fmt: skip
        except OrderRefused as exc:
            name = cp_field(views.order_view(record)["orderType"], exc.field) if exc.field else ""
            raise BadRequest(name, exc.reason) from None
        with self._acks() as wait:
            wait([record])
        log.info("control: modified order %d: %s", order_id, changes)
        fresh = self.app.book.get(order_id) or record
        return [{"order_id": str(order_id), "order_status": str(fresh.status),
                 "encrypt_message": "1"}]  # fmt: skip

    def record(self, account_id: str, order_id: int) -> OrderRecord:
        if account_id != ALL:
            self.target("accountId", account_id)
        record = self.app.book.get(order_id)
        if record is None or not self.in_view(record, account_id):
            raise BadRequest("orderId", f"no order {order_id} of this app (client "
                             f"{self.app.client_id}) in {account_id}", 404)  # fmt: skip
        return record


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _families(prepared: list[_Prepared]) -> list[_Prepared]:
    """Parents with their children (``parentId`` = a parent's ``cOID``), and lone orders."""
    by_coid: dict[str, _Prepared] = {}
    for item in prepared:
        coid = item.body.cOID
        if coid is not None:
            if coid in by_coid:
                raise BadRequest(f"{item.where}.cOID", f"{coid!r} is used twice in the request")
            by_coid[coid] = item
    roots = []
    for item in prepared:
        parent_id = item.body.parentId
        if parent_id is None:
            roots.append(item)
            continue
        parent = by_coid.get(parent_id)
        if parent is None or parent.body.parentId is not None:
            raise BadRequest(f"{item.where}.parentId", f"{parent_id!r} is not the cOID of a "
                             "parent order (one with no parentId) in this request")  # fmt: skip
        if parent.details.contract.conId != item.details.contract.conId:
            raise BadRequest(f"{item.where}.conid", "a child must be for its parent's contract")
        parent.children.append(item)
    return roots


# ---------------------------------------------------------------------- the app


def _error(status: int, message: str, field_name: str = "") -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if field_name:
        body["field"] = field_name
    return JSONResponse(body, status_code=status)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "path", "query")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def create_app(state: ControlState, token: str, docs_path: str = "/docs") -> FastAPI:
    """The FastAPI app over ``state``; every request must carry ``token``."""
    app = FastAPI(
        title="twsapp control API",
        version="1",
        description="The running twsapp process, shaped like IB's Client Portal Web API. Every "
        "request needs `Authorization: Bearer <token>` (the token file).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    expected = f"Bearer {token}".encode()
    tws = state.app

    @app.middleware("http")
    async def bearer(request: Request, call_next: Any) -> Any:
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            why = "missing" if not given else "wrong"
            return JSONResponse(
                {"error": f"{why} bearer token: send Authorization: Bearer <the token file's "
                 "content>"}, status_code=401, headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first: dict[str, Any] = dict(errors[0]) if errors else {"msg": "invalid request"}
        where = _where(tuple(first.get("loc", ())))
        message = str(first.get("msg", "invalid"))
        if first.get("type") == "json_invalid":
            where, message = "body", f"malformed JSON: {first.get('ctx', {}).get('error', '')}"
        return _error(400, f"{where}: {message}", where)

    @app.exception_handler(BadRequest)
    async def bad(_request: Request, exc: BadRequest) -> JSONResponse:
        return _error(exc.status, str(exc), exc.field)

    @app.exception_handler(StarletteHTTPException)
    async def http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(TwsAppError)
    async def refused(_request: Request, exc: TwsAppError) -> JSONResponse:
        if isinstance(exc, RequestTimeout):
            return _error(504, f"TWS did not answer in time: {exc}")
        if isinstance(exc, NotReadyError) or (isinstance(exc, OrderRefused) and not tws.ready):
            return _error(503, f"not connected to TWS: {exc}")
        if isinstance(exc, RequestError):
            return _error(502, str(exc))
        return _error(400, str(exc), getattr(exc, "field", "") or "")

    @app.get(docs_path, summary="This API's OpenAPI schema", include_in_schema=False)
    def docs() -> Any:
        return app.openapi()

    # ------------------------------------------------------------ accounts

    @app.get(f"{API}/iserver/accounts", summary="Accounts and allocation groups")
    def accounts() -> dict[str, Any]:
        return {
            "accounts": list(tws.accounts),
            "groups": state.listed_groups(),
            "selectedAccount": state.selected,
            "isFA": tws.advisor_login,
            "aliases": {a: a for a in tws.accounts},
        }

    @app.post(f"{API}/iserver/account", summary="Select the account the order views use")
    def select_account(choice: AccountChoice) -> dict[str, Any]:
        state.select(choice.acctId)
        return {"set": True, "acctId": choice.acctId}

    # ------------------------------------------------------------ orders

    @app.post(f"{API}/iserver/account/{{accountId}}/orders", summary="Place orders")
    def place_orders(accountId: str, body: OrdersBody) -> Any:  # noqa: N803
        return state.place(accountId, body, frozenset())

    @app.post(f"{API}/iserver/reply/{{replyId}}", summary="Answer a precaution")
    def reply(replyId: str, body: ReplyBody) -> Any:  # noqa: N803
        return state.answer(replyId, body.confirmed)

    @app.get(f"{API}/iserver/account/orders", summary="Orders of the selected account")
    def orders(accountId: str | None = None, working: bool = False) -> dict[str, Any]:  # noqa: N803
        name = accountId or state.selected
        if name != ALL:
            resolve_target("accountId", name, tws.accounts, state.listed_groups())
        names = state.strategies()
        rows = [
            views.order_view(r, names)
            for r in sorted(tws.book.records(), key=lambda r: (r.client_id, r.order_id))
            if state.in_view(r, name) and (not working or r.status in WORKING)
        ]
        return {"orders": rows, "snapshot": True, "selectedAccount": name}

    @app.post(f"{API}/iserver/account/{{accountId}}/order/{{orderId}}", summary="Modify an order")
    def modify(accountId: str, orderId: int, body: ModifyBody) -> Any:  # noqa: N803
        return state.modify(accountId, orderId, body, frozenset())

    @app.delete(f"{API}/iserver/account/{{accountId}}/order/{{orderId}}", summary="Cancel an order")
    def cancel(accountId: str, orderId: int) -> dict[str, Any]:  # noqa: N803
        record = state.record(accountId, orderId)
        try:
            tws.cancel(orderId)
        except OrderRefused as exc:
            if not tws.ready:
                raise
            raise BadRequest("orderId", exc.reason, 409) from None
        log.info("control: cancel of order %d requested", orderId)
        contract = record.contract
        return {"msg": "Request was submitted", "order_id": orderId,
                "conid": contract.conId if contract is not None else None,
                "account": views.order_view(record)["acct"]}  # fmt: skip

    @app.get(f"{API}/iserver/account/trades", summary="Executions")
    def trades(accountId: str | None = None) -> list[dict[str, Any]]:  # noqa: N803
        name = accountId or state.selected
        if name != ALL:
            resolve_target("accountId", name, tws.accounts, state.listed_groups())
        rows = []
        for record in tws.book.records():
            # An account's share of an advisor's block execution is an allocation (fills.py).
            for fill in (*record.fills.values(), *record.allocations.values()):
                counted = fill.exec_id in record.fills
                if (counted and (name == ALL or state.in_view(record, name))) or (
                    name != ALL and fill.account == name
                ):
                    rows.append(views.fill_view(record, fill))
        return sorted(rows, key=lambda row: (row["trade_time"], row["execution_id"]))

    @app.get(f"{API}/portfolio/{{accountId}}/positions/{{pageId}}", summary="Positions")
    def positions(accountId: str, pageId: int) -> list[dict[str, Any]]:  # noqa: N803
        if accountId not in tws.accounts:
            if accountId in state.listed_groups():
                raise BadRequest("accountId", f"{accountId} is an allocation group: positions "
                                 "are per account; ask for one of " + ", ".join(tws.accounts))  # fmt: skip
            resolve_target("accountId", accountId, tws.accounts, ())
        if pageId != 0:
            return []  # one page holds every position
        prices = state.prices
        return [
            views.position_view(p, prices.last_price(p.con_id) if prices and p.con_id else None)
            for p in tws.book.positions()
            if p.account == accountId and p.position != 0
        ]

    # ------------------------------------------------------------ contracts

    @app.get(f"{API}/iserver/secdef/search", summary="Contracts by symbol")
    def search(symbol: str = Query(min_length=1, max_length=32), secType: str = "STK") -> Any:  # noqa: N803
        contract = Contract()
        contract.symbol, contract.secType = symbol.strip().upper(), secType.strip().upper()
        client = tws.ibapi
        try:
            found = tws.request(f"search for {symbol}",
                                lambda rid: client.reqContractDetails(rid, contract))  # fmt: skip
        except RequestError as exc:
            if exc.code == 200:
                return []
            raise
        return views.search_view(d for d in found if isinstance(d, ContractDetails))

    @app.get(f"{API}/iserver/contract/{{conid}}/info", summary="A contract's details")
    def info(conid: int) -> dict[str, Any]:
        return views.contract_info(state.details("conid", _positive(conid)))

    @app.get(f"{API}/iserver/contract/{{conid}}/algos", summary="Algos twsapp sends")
    def algos(conid: int) -> dict[str, Any]:
        details = state.details("conid", _positive(conid))
        kinds = (details.orderTypes or "").split(",")
        usable = "ALGO" in kinds or not details.orderTypes
        return {"algos": [{"name": name, "id": name} for name in ALGOS] if usable else []}

    @app.get(f"{API}/iserver/marketdata/snapshot", summary="Quotes, once")
    def snapshot(conids: str = Query(min_length=1), fields: str = "31,84,86") -> list[Any]:
        wanted = [f.strip() for f in fields.split(",") if f.strip()]
        for name in wanted:
            if name not in views.SNAPSHOT_FIELDS:
                raise BadRequest("fields", f"{name!r} is not a field this API serves: "
                                 + ", ".join(views.SNAPSHOT_FIELDS))  # fmt: skip
        ids = []
        for text in conids.split(","):
            if not text.strip().isdigit() or not 0 < int(text) <= INT32_MAX:
                raise BadRequest("conids", f"{text!r} is not a conid")
            ids.append(int(text))
        if len(ids) > 20:
            raise BadRequest("conids", "at most 20 conids at once")
        rows = []
        for con_id in ids:
            details = state.details("conids", con_id)
            rows.append(views.snapshot_view(con_id, snapshot_quote(tws, details.contract), wanted))
        return rows

    return app


def _positive(conid: int) -> int:
    if not 0 < conid <= INT32_MAX:
        raise BadRequest("conid", f"{conid} is not a conid")
    return conid
