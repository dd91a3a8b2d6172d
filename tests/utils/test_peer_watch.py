"""The peer watcher against a real TCPStore whose process is frozen (SIGSTOP): what a machine that hung or lost
power looks like to the others (no connection reset, calls that block far beyond the store's timeout)."""

import datetime
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
import torch.distributed as dist

from slowfast.engine.launch import find_free_port
from slowfast.utils import peer_watch

SERVER = (
    "import datetime, sys, time, torch.distributed as d; "
    "s = d.TCPStore('127.0.0.1', int(sys.argv[1]), is_master=True, timeout=datetime.timedelta(seconds=60)); "
    "print('up', flush=True); time.sleep(300)"
)


@pytest.fixture
def store_and_server():
    """A client of a TCPStore held by another process (a stand-in for machine 0), and that process."""
    port = find_free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "up"
        yield dist.TCPStore("127.0.0.1", port, is_master=False, timeout=datetime.timedelta(seconds=2)), server
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.kill()
        server.wait()


def test_a_frozen_store_ends_the_process_within_store_loss_s(store_and_server, monkeypatch):
    store, server = store_and_server
    monkeypatch.setattr(peer_watch, "STORE_LOSS_S", 3.0)
    watch = peer_watch.PeerWatch(store, rank=0, world_size=2, silence_s=60.0, store_holder="the store")
    ended = []
    monkeypatch.setattr(watch, "_end", lambda message: ended.append((time.monotonic(), message)))
    watch.begin()
    time.sleep(2 * watch.period_s)  # a few polls that return
    os.kill(server.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    while not ended and time.monotonic() < frozen_at + 20:
        time.sleep(0.1)
    watch.stop()
    assert [message for _, message in ended] == ["lost the store for 3 s: its process or machine died"]
    # STORE_LOSS_S after the last poll that returned, noticed at the watchdog's next look (one period).
    assert ended[0][0] - frozen_at < 3.0 + 2 * watch.period_s + 1.0


def test_telling_a_frozen_store_about_a_failure_gives_up_after_store_loss_s(store_and_server, monkeypatch, caplog):
    store, server = store_and_server
    monkeypatch.setattr(peer_watch, "STORE_LOSS_S", 2.0)
    watch = peer_watch.PeerWatch(store, rank=1, world_size=2, silence_s=60.0, store_holder="the store")
    os.kill(server.pid, signal.SIGSTOP)
    began = time.monotonic()
    with caplog.at_level(logging.WARNING):
        watch.publish_failure("failed: RuntimeError: boom")  # the main thread of a process whose job raised
    assert time.monotonic() - began < 2.0 + 1.0
    assert "could not tell the peers: rank 1 on host" in caplog.text
