"""The TWS side: the ibapi adapter, routing, requests, subscriptions, ids, contracts, the order
API, and TwsApp, the facade over all of them. The book never imports this package."""

from .app import CONNECT_HINT, TwsApp, is_paper_account
from .contracts import AmbiguousContract

__all__ = ["CONNECT_HINT", "AmbiguousContract", "TwsApp", "is_paper_account"]
