"""The socket reader must not lose data that ends exactly on ibapi's 4096-byte chunk boundary."""

from __future__ import annotations

import socket

import pytest
from ibapi.connection import Connection

from twsapp.session.connection import ResilientConnection, make_resilient


def _pair(cls: type[Connection]) -> tuple[Connection, socket.socket]:
    ours, theirs = socket.socketpair()
    conn = cls("127.0.0.1", 0)
    conn.socket = ours
    ours.settimeout(0.05)  # ibapi uses 1 s; the behaviour is the same, the test is faster
    return conn, theirs


@pytest.mark.parametrize("size", [4096, 8192, 3 * 4096])
def test_data_ending_on_a_chunk_boundary_is_kept(size):
    conn, peer = _pair(ResilientConnection)
    payload = bytes(range(256)) * (size // 256)
    peer.sendall(payload)
    assert conn.recvMsg() == payload
    peer.sendall(b"next")
    assert conn.recvMsg() == b"next"
    assert conn.isConnected()


def test_stock_ibapi_loses_that_data():
    """Why the fix exists: the library's own reader drops a boundary-aligned read."""
    conn, peer = _pair(Connection)
    peer.sendall(b"x" * 4096)
    assert conn.recvMsg() == b""


def test_a_read_with_nothing_pending_still_times_out_quietly():
    conn, _peer = _pair(ResilientConnection)
    assert conn.recvMsg() == b""
    assert conn.isConnected()


def test_a_closed_peer_disconnects():
    conn, peer = _pair(ResilientConnection)
    peer.close()
    assert conn.recvMsg() == b""
    assert not conn.isConnected()


def test_only_a_plain_ibapi_connection_is_swapped():
    plain = Connection("127.0.0.1", 0)
    make_resilient(plain)
    assert type(plain) is ResilientConnection
    make_resilient(None)
