"""The control API's server: uvicorn on a thread of its own inside ``twsapp run``.

``bind`` does what can fail on bad settings (the token file, the TLS pair, the socket) before
anything connects, so a busy port is a one-line config error like any other; ``serve`` starts
answering once the run has synced; ``close`` stops it first thing at shutdown. While it runs it
leaves an address file next to the token file (``control.url``): the CLI reads it to find a
server listening on a port picked at random (``port = 0``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from ..config import ControlConfig, is_loopback_host
from ..exceptions import ConfigError
from .security import ensure_self_signed, read_token, token_file_for

__all__ = ["ControlServer", "url_file_for"]

log = logging.getLogger("twsapp.control")

START_TIMEOUT = 10.0  # seconds uvicorn has to start answering
STOP_TIMEOUT = 5  # seconds it has to finish the requests under way


def url_file_for(token_file: Path) -> Path:
    """Where a running server writes its address: next to the token file."""
    return token_file.with_name(token_file.stem + ".url")


class ControlServer:
    """One control API for one run (``bind`` -> ``serve`` -> ``close``)."""

    def __init__(self, config: ControlConfig) -> None:
        self.config = config
        self.token_file = token_file_for(config.token_file)
        self.url_file = url_file_for(self.token_file)
        self.token = ""
        self.url = ""
        self.cert: Path | None = None
        self.key: Path | None = None
        self._socket: socket.socket | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def bind(self) -> ControlServer:
        """Token, TLS pair and listening socket; ConfigError (one line) when one fails."""
        cfg = self.config
        if not is_loopback_host(cfg.host) and not (cfg.allow_remote and cfg.tls):
            raise ConfigError("control.host", f"{cfg.host!r} is not loopback",
                              "use 127.0.0.1, or allow_remote = true with tls = true")  # fmt: skip
        self.token = read_token(self.token_file)
        if cfg.tls:
            if cfg.cert_file is not None and cfg.key_file is not None:
                self.cert, self.key = cfg.cert_file, cfg.key_file
            else:
                self.cert, self.key = ensure_self_signed(self.token_file.parent, cfg.host)
        family = socket.AF_INET6 if ":" in cfg.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((cfg.host, cfg.port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise ConfigError("control.port", f"cannot listen on {cfg.host}:{cfg.port} "
                              f"({exc.strerror or exc}; another twsapp run?)",
                              "stop the other one, use a free port (0: any free port), or set "
                              "control.enabled = false") from None  # fmt: skip
        self._socket = sock
        port = sock.getsockname()[1]
        host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
        self.url = f"{'https' if cfg.tls else 'http'}://{host}:{port}"
        return self

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1] if self._socket is not None else 0

    def serve(
        self,
        app: Any,
        prices: Any = None,
        strategies: Callable[[], Collection[str]] = tuple,
    ) -> ControlServer:
        """Answer requests from now on (``app``: the connected TwsApp)."""
        import uvicorn

        from .api import ControlState, create_app

        assert self._socket is not None, "bind() first"
        self.state = ControlState(app, prices=prices, strategies=strategies)
        asgi = create_app(self.state, self.token)
        started = threading.Event()

        class _Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets)
                started.set()

        config = uvicorn.Config(
            asgi,
            log_config=None,  # the app's logging stays as the run set it
            access_log=False,
            lifespan="off",
            ssl_certfile=str(self.cert) if self.cert else None,
            ssl_keyfile=str(self.key) if self.key else None,
            timeout_graceful_shutdown=STOP_TIMEOUT,
        )
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="control-http",
            daemon=True,
        )  # fmt: skip
        self._thread.start()
        if not started.wait(START_TIMEOUT):
            raise ConfigError("control", f"the control API did not start within {START_TIMEOUT:g}s")
        self.url_file.write_text(self.url + "\n")
        log.info("control API listening on %s (token in %s)", self.url, self.token_file)
        return self

    def close(self) -> None:
        """Stop answering (requests under way finish, bounded); remove the address file."""
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(STOP_TIMEOUT + 1)
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None
        if server is not None:
            with contextlib.suppress(OSError):
                if self.url_file.read_text().strip() == self.url:
                    self.url_file.unlink()
        self._server = self._thread = None
