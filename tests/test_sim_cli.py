"""``twsapp sim`` as a user runs it: a real process, a real ibapi client, a signal to stop it."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sim_client import SimClient

from twsapp.sim.wire import API_PREFIX, FrameReader, frame

ROOT = Path(__file__).resolve().parents[1]
READY = re.compile(r"twsapp sim listening on 127\.0\.0\.1:(\d+) \(server version (\d+)\)")
WATCHDOG = 30.0  # bounds a hang; a passing run never waits this long


class SimProcess:
    """``python -m twsapp sim ...`` with its stdout lines delivered through a queue."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "twsapp", "sim", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def ready_line(self) -> str:
        try:
            line = self.lines.get(timeout=WATCHDOG)
        except queue.Empty:
            raise AssertionError("twsapp sim printed nothing") from None
        assert line is not None, f"twsapp sim exited: {self.finish()}"
        return line

    def finish(self) -> tuple[int, str]:
        """Wait for the exit; (exit code, stderr)."""
        try:
            _, err = self.proc.communicate(timeout=WATCHDOG)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("twsapp sim did not exit") from None
        return self.proc.returncode, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def run_sim():
    started: list[SimProcess] = []

    def start(*args: str) -> SimProcess:
        process = SimProcess(*args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sim_command_serves_a_real_client_and_exits_0_on_signal(run_sim, stop):
    process = run_sim("--port", "0", "--server-version", "176")
    match = READY.fullmatch(process.ready_line())
    assert match, "the ready line names host, port and version"
    port, version = int(match[1]), int(match[2])
    assert port != 0 and version == 176  # port 0: the port really bound is printed

    client = SimClient().start(port, client_id=1)
    try:
        assert client.serverVersion() == 176
        assert client.of("nextValidId")[0].orderId >= 1
    finally:
        client.stop()

    process.proc.send_signal(stop)
    code, err = process.finish()
    assert code == 0, err


def test_sim_command_refuses_bad_settings(run_sim):
    process = run_sim("--port", "0", "--server-version", "120")
    code, err = process.finish()
    assert code == 2 and "--server-version 120: not a version the simulator serves (157.." in err

    process = run_sim("--port", "0", "--host", "0.0.0.0")
    code, err = process.finish()
    assert code == 2 and "--host '0.0.0.0': the simulator binds loopback only" in err


def test_sim_command_serves_ipv6_loopback(run_sim):
    """``--host ::1`` binds the IPv6 loopback (ibapi itself connects over IPv4 only, so the
    handshake is spoken by hand here)."""
    process = run_sim("--host", "::1", "--port", "0", "--server-version", "176")
    line = process.ready_line()
    match = re.fullmatch(r"twsapp sim listening on \[::1\]:(\d+) \(server version 176\)", line)
    assert match, line
    with socket.create_connection(("::1", int(match[1])), timeout=WATCHDOG) as sock:
        sock.sendall(API_PREFIX + frame(b"v100..176"))
        reply = FrameReader(sock).read_frame()
    assert reply is not None and reply.split(b"\0")[0] == b"176"
    process.proc.send_signal(signal.SIGTERM)
    code, err = process.finish()
    assert code == 0, err


def test_sim_command_arms_faults_and_refuses_a_bad_one_in_one_line(run_sim):
    process = run_sim("--port", "0", "--fault", "refuse-connect", "--fault", "drop:what=ack")
    match = READY.fullmatch(process.ready_line())
    assert match, "the ready line names host, port and version"
    client = SimClient().start(int(match[1]), client_id=1, wait_ready=False)
    try:
        assert client.wait_error(326).reqId == -1  # the fault plan's 326, then the hang-up
        client.wait_closed()
    finally:
        client.stop()
    process.proc.send_signal(signal.SIGTERM)
    code, err = process.finish()
    assert code == 0, err

    process = run_sim("--port", "0", "--fault", "freeze:seconds=3")
    code, err = process.finish()
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("twsapp sim: --fault 'freeze:seconds=3': needs after — write KIND")
