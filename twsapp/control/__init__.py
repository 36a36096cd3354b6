"""The control API: the running process's orders, accounts and positions over local HTTP,
shaped like IB's Client Portal Web API, and the commands that talk to it.

``server.ControlServer`` runs it inside ``twsapp run``; ``api`` holds its endpoints;
``client`` and ``commands`` are the ``twsapp orders | place | modify | cancel | ...`` side.
FastAPI and uvicorn are imported only when a server is built.
"""

from __future__ import annotations

from .server import ControlServer, url_file_for

__all__ = ["ControlServer", "url_file_for"]
