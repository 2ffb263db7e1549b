"""Runtime safety with Lava really running: no worker process outlives a graph, whether the run
succeeds, raises, is interrupted with Ctrl-C (SIGINT delivered to the main thread) or hangs."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from exporters.intnet import random_network
from exporters.runtime import LavaRunError, LavaTimeoutError, lava_children

pytest.importorskip("lava.magma.core.process.process")
pytestmark = pytest.mark.lava

lava_graph = pytest.importorskip("exporters.lava_graph")


def _settle(before: set[int], timeout_s: float = 5.0) -> set[int]:
    """Children started since ``before`` that are still alive after at most ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while lava_children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    return lava_children() - before


def _small_net():
    return random_network(np.random.default_rng(3), [3, 5, 2], "if", 8)


def test_success_starts_workers_and_close_ends_them():
    before = lava_children()
    with lava_graph.build_int_graph(_small_net(), 2) as g:
        g.run(np.zeros((3, 3)))
        assert lava_children() - before, "Lava should run its processes in worker processes"
    assert not _settle(before), "a Lava worker outlived a successful run"


def test_keyboard_interrupt_during_run_ends_every_worker(monkeypatch):
    from exporters.lava_procs import models

    real = models.PyAccumulatorModelFixed.run_spk

    def slow_run_spk(self):  # a long run: 0.2 s per step from the third step on
        if self.t[0] >= 2:
            time.sleep(0.2)
        real(self)

    # Workers are forked when the graph compiles, so they inherit the patched model.
    monkeypatch.setattr(models.PyAccumulatorModelFixed, "run_spk", slow_run_spk)
    before = lava_children()
    g = lava_graph.build_int_graph(_small_net(), 2, timeout_s=120)
    g.open()
    assert lava_children() - before
    # Ctrl-C: a real SIGINT to this process (the terminal sends the same), 1 s into the run.
    # A process started in the background by a non-interactive shell (`make test &`, some CI
    # runners) inherits SIGINT *ignored* (POSIX) and Python then keeps it ignored, so the
    # foreground handler a terminal user has is installed here for the test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    outcome = "returned normally"
    try:
        timer.start()
        g.run(np.zeros((20, 3)))  # 20 points x 9 steps x 0.2 s: far longer than 1 s
    except KeyboardInterrupt:
        outcome = "KeyboardInterrupt"
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert outcome == "KeyboardInterrupt", f"run {outcome} after {time.monotonic() - t0:.2f} s"
    assert time.monotonic() - t0 < 30, "the interrupt was not acted on promptly"
    assert not _settle(before), "a Lava worker outlived Ctrl-C"
    g.close()  # idempotent after the abort
    with pytest.raises(LavaRunError, match="closed"):
        g.run(np.zeros((1, 3)))


def test_hanging_run_times_out_with_clear_error(monkeypatch):
    from exporters.lava_procs import models

    def hang(self):
        time.sleep(3600)

    monkeypatch.setattr(models.PyNeuronModelFixed, "run_spk", hang)
    before = lava_children()
    t0 = time.monotonic()
    with pytest.raises(LavaTimeoutError, match=r"did not finish within 3 s.*timeout_s"):
        with lava_graph.build_int_graph(_small_net(), 2, timeout_s=3) as g:
            g.run(np.zeros((2, 3)))
    assert time.monotonic() - t0 < 60
    assert not _settle(before), "a hung Lava worker was left running"


def test_error_in_host_code_between_steps_ends_workers(monkeypatch):
    before = lava_children()
    g = lava_graph.build_int_graph(_small_net(), 2)

    def bad_decode(acc):
        raise ZeroDivisionError("decode failed")

    monkeypatch.setattr(g, "decode", bad_decode)
    with pytest.raises(ZeroDivisionError):
        with g:
            g.run(np.zeros((2, 3)))
    assert not _settle(before), "a Lava worker outlived an exception in host code"
