"""A test host "outside the cluster" that is still on this machine.

Egress policies must be checked against an address beyond the cluster, but no
real outside address may ever be a target. So the test makes its own host: a
network namespace joined to the node by a veth pair, on 198.18.0.0/30 (a range
for benchmarking that nothing else here uses), with its own HTTP listener.
"""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator

NETNS = "ms5h-outside"
HOST_SIDE, HOST_IP = "ms5h-out0", "198.18.0.1"
PEER_SIDE, PEER_IP = "ms5h-out1", "198.18.0.2"
PORT = 8080
SERVER_EXIT_SECONDS = 5  # the killed listener reaped


# Accepts and closes connections for at most ten minutes: a bounded listener.
LISTENER = """
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64); s.settimeout(1)
end = time.monotonic() + 600
while time.monotonic() < end:
    try:
        s.accept()[0].close()
    except socket.timeout:
        pass
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def remove() -> None:
    for pid in subprocess.run(["ip", "netns", "pids", NETNS], capture_output=True, text=True).stdout.split():
        subprocess.run(["kill", "-9", pid], capture_output=True)
    subprocess.run(["ip", "link", "delete", HOST_SIDE], capture_output=True)
    subprocess.run(["ip", "netns", "delete", NETNS], capture_output=True)


@contextmanager
def outside_host() -> Iterator[tuple[str, int]]:
    """Yields (address, port) of a listener outside the cluster; removes everything afterwards."""
    remove()
    try:
        _ip("netns", "add", NETNS)
        _ip("link", "add", HOST_SIDE, "type", "veth", "peer", "name", PEER_SIDE)
        _ip("link", "set", PEER_SIDE, "netns", NETNS)
        _ip("addr", "add", f"{HOST_IP}/30", "dev", HOST_SIDE)
        _ip("link", "set", HOST_SIDE, "up")
        _ip("-n", NETNS, "addr", "add", f"{PEER_IP}/30", "dev", PEER_SIDE)
        _ip("-n", NETNS, "link", "set", PEER_SIDE, "up")
        _ip("-n", NETNS, "link", "set", "lo", "up")
        _ip("-n", NETNS, "route", "add", "default", "via", HOST_IP)
        server = subprocess.Popen(["ip", "netns", "exec", NETNS, sys.executable, "-c", LISTENER, PEER_IP, str(PORT)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if subprocess.run(["ip", "netns", "exec", NETNS, "bash", "-c", f"exec 3<>/dev/tcp/{PEER_IP}/{PORT}"],
                                  capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)
            yield PEER_IP, PORT
        finally:
            server.kill()
            server.wait(timeout=SERVER_EXIT_SECONDS)
    finally:
        remove()
