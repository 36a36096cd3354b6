"""A client of a running process's control API, for the ``twsapp`` commands.

It finds the server the way the run left it: the address file next to the token file of the
same config (``control.url``, written once the API listens, removed at shutdown) and the token
in the token file. Standard library only, so the commands start fast and need no extra package.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from .security import CERT_NAME, read_token, token_file_for
from .server import url_file_for

__all__ = ["ApiError", "ControlClient", "NotRunning"]

TIMEOUT = 60.0  # seconds: a placement waits for TWS's first answer, a snapshot for its quote


class NotRunning(Exception):
    """No ``twsapp run`` of this config is serving its control API."""


class ApiError(Exception):
    """The API refused a request (4xx / 5xx): ``status`` and the server's ``error`` text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ControlClient:
    url: str
    token: str
    cafile: Path | None = None

    @classmethod
    def for_config(cls, config: Config) -> ControlClient:
        control = config.control
        where = f" ({config.source})" if config.source else ""
        if not control.enabled:
            raise NotRunning(f"the control API is off in this config{where} (control.enabled "
                             "= false): the commands have nothing to talk to")  # fmt: skip
        token_file = token_file_for(control.token_file)
        url_file = url_file_for(token_file)
        try:
            url = url_file.read_text().strip()
        except OSError:
            raise NotRunning(f"no twsapp run of this config{where} is running: its control API "
                             f"address file {url_file} does not exist (start one with `twsapp "
                             "run`)") from None  # fmt: skip
        token = read_token(token_file, create=False)
        cafile = None
        if url.startswith("https:"):
            cafile = control.cert_file or token_file.parent / CERT_NAME
        return cls(url, token, cafile)

    def call(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        """The JSON answer of ``method /v1/api/<path>``; ApiError for a 4xx / 5xx."""
        target = f"{self.url}/v1/api/{path.lstrip('/')}"
        if query:
            given = {k: v for k, v in query.items() if v is not None}
            target += "?" + urllib.parse.urlencode(given)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(target, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        context = None
        if self.cafile is not None:
            context = ssl.create_default_context(cafile=str(self.cafile))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            try:
                message = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                message = text
            raise ApiError(exc.code, str(message)) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise NotRunning(f"no twsapp run is answering at {self.url} ({reason}): is it "
                             "running? (its address file may be left from one that crashed)") from None  # fmt: skip
