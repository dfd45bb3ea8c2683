"""Live capture from the CLI: -i IFACE with a capture filter (-f) and an autostop (-a)."""

import io
import json
import os
import socket
import threading
import time
from contextlib import redirect_stdout

import pytest

from mmsanalyze.cli import main

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="live capture needs root")]


def packet_sockets() -> int:
    """Open AF_PACKET sockets on this host (/proc/net/packet, one line each after the header)."""
    with open("/proc/net/packet") as fh:
        return len(fh.readlines()) - 1


def wait_for_capture(before: int, limit: float = 20.0) -> None:
    """Until a new packet socket exists (the CLI imports pandas first: seconds on a busy machine)."""
    end = time.monotonic() + limit
    while packet_sockets() <= before and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.3)            # filter attached and bound


def send_udp(port: int, n: int, delay: float = 0.5, before: int | None = None):
    if before is not None:
        wait_for_capture(before)
    else:
        time.sleep(delay)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(n):
        s.sendto(b"x" * 10, ("127.0.0.1", port))
        s.sendto(b"y" * 10, ("127.0.0.1", port + 1))      # filtered out
        time.sleep(0.01)
    s.close()


def test_live_traffic_with_filter_and_autostop():
    t = threading.Thread(target=send_udp, args=(39999, 15), kwargs={"before": packet_sockets()})
    t.start()
    out = io.StringIO()
    t0 = time.monotonic()
    with redirect_stdout(out):
        rc = main(["traffic", "-i", "lo", "-a", "duration:4", "-f", "udp dst port 39999", "--format", "json"])
    t.join()
    assert rc == 0 and time.monotonic() - t0 < 15
    rows = json.loads(out.getvalue())
    assert sum(r["frames"] for r in rows) == 15          # exactly the filtered datagrams
