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


def test_sigkilled_worker_ends_the_run_at_once_with_a_clear_error(monkeypatch):
    """A worker SIGKILLed mid-run (as the out-of-memory killer does): the run ends well
    within its timeout, says which worker died and how, and leaves no worker behind."""
    from exporters.lava_procs import models
    from exporters.runtime import LavaWorkerDied, child_pids

    real = models.PyAccumulatorModelFixed.run_spk

    def slow_run_spk(self):  # a long run: 0.05 s per step from the third step on
        if self.t[0] >= 2:
            time.sleep(0.05)
        real(self)

    monkeypatch.setattr(models.PyAccumulatorModelFixed, "run_spk", slow_run_spk)
    before = lava_children()
    g = lava_graph.build_int_graph(_small_net(), 2, timeout_s=120)
    g.open()
    workers = g._lava_actor_pids()
    assert workers and workers <= child_pids(), "Lava's process models run in child processes"
    victim = min(workers)
    timer = threading.Timer(1.0, os.kill, (victim, signal.SIGKILL))
    t0 = time.monotonic()
    timer.start()
    try:
        with pytest.raises(
            LavaWorkerDied, match=rf"worker process {victim} died \(killed by SIGKILL"
        ):
            g.run(np.zeros((200, 3)))  # 100 batches x 9 steps x 0.05 s: far longer than 1 s
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 20, "the dead worker was not noticed before the timeout"
    assert not _settle(before), "a Lava worker outlived the killed one"
    g.close()  # idempotent after the abort


def test_cli_run_whose_lava_worker_is_sigkilled_ends_with_one_line(tmp_path):
    """`lava-pinn run DIR --backend lava-cpu` with one of its Lava workers SIGKILLed: exit 2
    within seconds, one error line naming the worker and the signal, no traceback, no process
    left, and the run directory without a half-written or mixed result."""
    import subprocess
    import sys

    from conftest import REPO

    from exporters.runtime import child_pids
    from hardware.app.cli import main

    d = tmp_path / "run"
    assert main(["train", "regression-1d", "--pretrained", "--out", str(d)]) == 0
    conv = ["--T", "8", "--representation", "direct", "--calibration", "light"]
    assert main(["convert", str(d), *conv, "--calibration-points", "64"]) == 0
    assert main(["export", str(d), "--scoring-points", "16"]) == 0
    cmd = [sys.executable, "-m", "hardware.app.cli", "run", str(d), "--backend", "lava-cpu"]
    p = subprocess.Popen(
        [*cmd, "--points", "1001", "--lava-batch", "1", "--timeout-s", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 120
    while len(child_pids(p.pid)) < 4:  # the shared-memory manager and the process models
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()
        time.sleep(0.2)
    time.sleep(2.0)  # running batches now
    workers = child_pids(p.pid)
    assert p.poll() is None, "the run ended before a worker could be killed"
    os.kill(max(workers), signal.SIGKILL)
    t0 = time.monotonic()
    out, err = p.communicate(timeout=120)
    assert time.monotonic() - t0 < 30
    assert p.returncode == 2, err
    assert f"worker process {max(workers)} died (killed by SIGKILL)" in err, err
    assert "Traceback" not in err and "leaked shared_memory" not in err, err
    left = [w for w in workers if os.path.exists(f"/proc/{w}")]
    deadline = time.monotonic() + 10  # multiprocessing's resource tracker exits after its parent
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [w for w in left if os.path.exists(f"/proc/{w}")]
    assert not left, f"processes left: {[open(f'/proc/{w}/cmdline').read() for w in left]}"
    assert not (d / "predictions.npz").exists() and not list(d.glob(".*.tmp"))


def test_watchdog_prefers_the_calls_own_error_to_a_dead_worker():
    """A worker that fails exits after sending its error on; on a loaded machine the watchdog
    may see it gone first. The call's own error (what failed) wins when it comes within the
    grace; a call that stays stuck is a LavaWorkerDied naming the worker."""
    from exporters.runtime import LavaWorkerDied, call_with_watchdog

    def fails_late():
        time.sleep(0.5)
        raise ValueError("process model failed")

    with pytest.raises(ValueError, match="process model failed"):
        call_with_watchdog(fails_late, 30, "run 1", check=lambda: "worker process 1 died")
    t0 = time.monotonic()
    with pytest.raises(LavaWorkerDied, match="worker process 2 died"):
        call_with_watchdog(
            lambda: time.sleep(30), 30, "run 2", check=lambda: "worker process 2 died"
        )
    assert time.monotonic() - t0 < 10
