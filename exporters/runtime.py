"""Running a built Lava graph safely: batches through one graph, always stopped, with a watchdog.

Lava's CPU simulator forks one worker process per Lava process plus a shared-memory manager.
:class:`LavaGraph` owns such a runtime: it compiles once, runs any number of batches through it
(building and stopping many graphs in one Python process leaks, lava#336), and stops it on
:meth:`LavaGraph.close` (also on exceptions and ``KeyboardInterrupt`` inside a run). Every call
into the runtime goes through a watchdog: if it does not return within ``timeout_s``, the
worker processes are killed and :class:`LavaTimeoutError` is raised. A worker that dies while
a call waits on it (killed by SIGKILL, the kernel's out-of-memory killer, a crash) is noticed
within a fraction of a second: the other workers are killed and :class:`LavaWorkerDied` names
the dead one and how it ended, instead of the call waiting out its timeout.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exporters._lava import require_lava
from lava_pinn.runs import SpikeRun

log = logging.getLogger(__name__)


class LavaRunError(RuntimeError):
    """A Lava run failed; the graph has been stopped."""


class LavaTimeoutError(LavaRunError):
    """A Lava call did not return within the watchdog timeout; the workers were killed."""


class LavaWorkerDied(LavaRunError):
    """A Lava worker process died during a call; the other workers were killed."""


def child_pids(pid: int | None = None) -> set[int]:
    """Direct children of ``pid`` (default: this process), read from ``/proc``."""
    pid = os.getpid() if pid is None else pid
    out: set[int] = set()
    task_dir = Path(f"/proc/{pid}/task")
    try:
        tasks = list(task_dir.iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out.update(int(p) for p in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    if out or not tasks:
        return out
    # Fallback when /proc/.../children is unavailable: scan every process's parent id.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                out.add(int(entry.name))
    return out


def infrastructure_pids() -> set[int]:
    """Long-lived helpers of Python's multiprocessing (the shared-memory resource tracker):
    children of this process that are not Lava workers and must not be killed."""
    from multiprocessing import resource_tracker

    pid = getattr(getattr(resource_tracker, "_resource_tracker", None), "_pid", None)
    return {pid} if pid else set()


def lava_children() -> set[int]:
    """Live children of this process, minus multiprocessing's own helpers."""
    return {p for p in child_pids() if _alive(p)} - infrastructure_pids()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def kill_pids(pids: set[int], grace_s: float = 2.0) -> None:
    """SIGTERM, then SIGKILL after ``grace_s`` what is still alive, then reap.

    Processes that :mod:`multiprocessing` tracks (Lava's workers and its shared-memory manager)
    are reaped through their ``Process`` object, so its bookkeeping stays right and the
    interpreter's exit hook does not trip over them.
    """
    import multiprocessing as mp
    from multiprocessing.process import BaseProcess

    if not pids:
        return
    tracked = {}
    for proc in list(getattr(mp.process, "_children", ())):
        try:
            if proc.pid in pids:
                tracked[proc.pid] = proc
        except ValueError:  # closed Process object
            continue
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
    for p in pids:
        try:
            if p in tracked:
                BaseProcess.join(tracked[p], timeout=1.0)  # not Lava's join(), which closes
            else:
                os.waitpid(p, os.WNOHANG)
        except (ChildProcessError, ValueError, AssertionError):
            pass


WORKER_ERROR_GRACE_S = 2.0  # how long a call may take to raise a dead worker's own error


def exit_of(pid: int, settle_s: float = 1.0) -> str:
    """How child ``pid`` ended, as far as can be told: ``"killed by SIGKILL"``, ``"exit code
    1"``, or ``"ended"`` (reaped by someone else). A process seen dying may not report its
    status yet (a loaded machine tears it down slowly): asked again for up to ``settle_s``."""
    import multiprocessing as mp

    for proc in list(getattr(mp.process, "_children", ())):
        try:
            if proc.pid != pid:
                continue
            code = None
            deadline = time.monotonic() + settle_s
            while proc._popen is not None:  # poll, no join: no close
                code = proc._popen.poll()
                if code is not None or time.monotonic() >= deadline:
                    break
                time.sleep(0.02)
        except (ValueError, AttributeError, OSError):
            break
        if code is None:
            break
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"
    return "ended"


def call_with_watchdog(
    fn: Callable[[], Any],
    timeout_s: float,
    what: str,
    check: Callable[[], str | None] | None = None,
) -> Any:
    """Run ``fn()`` in a helper thread; raise :class:`LavaTimeoutError` after ``timeout_s``.

    The main thread waits in short slices, so ``KeyboardInterrupt`` still reaches it; between
    slices ``check()`` (when given) may return why the call cannot finish (a dead worker), and
    :class:`LavaWorkerDied` is raised with it at once.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # re-raised in the caller's thread
            box["error"] = err

    th = threading.Thread(target=target, name=f"lava-{what}", daemon=True)
    th.start()
    deadline = time.monotonic() + timeout_s
    while th.is_alive():
        left = deadline - time.monotonic()
        if left <= 0:
            raise LavaTimeoutError(
                f"Lava {what} did not finish within {timeout_s:g} s (watchdog); the runtime "
                f"was stopped. Raise timeout_s for long runs or check the graph for a deadlock."
            )
        th.join(min(left, 0.2))
        problem = check() if check is not None and th.is_alive() else None
        if problem:
            # a worker that failed with an error exits once it has sent the error on: give
            # the call a moment to raise that (it says more) before reporting the death
            th.join(WORKER_ERROR_GRACE_S)
            if not th.is_alive():
                break
            raise LavaWorkerDied(
                f"Lava {what} cannot finish: {problem}; the runtime was stopped and its other "
                f"workers ended. Run again; if it recurs, check memory (the kernel's "
                f"out-of-memory killer sends SIGKILL) or what else ends processes here."
            )
    if "error" in box:
        raise box["error"]
    return box.get("value")


@dataclass
class NeuronSlot:
    """One hidden layer in a graph: its neuron process and how the host drives it."""

    proc: Any
    kind: str  # "custom" (windowed, self-resetting) or "lif" (Lava's LIF)
    n: int  # neurons per point
    v0: np.ndarray  # (batch * n,) initial potential
    bias_mant: np.ndarray  # (batch * n,) bias mantissa (float bias in floating_pt)
    bias_exp: np.ndarray | None = None  # LIF fixed_pt only
    counter: Any = None  # Accumulator counting the LIF's spikes
    gated: bool = False  # LIF layer i >= 1: bias switched on at step i+1
    graded: bool = False  # signed or multi-level spikes: messages differ from counts


@dataclass
class LavaSession:
    """One compiled Lava runtime, started once and always stopped: the lifecycle every graph of
    this package shares (:class:`LavaGraph`, :class:`exporters.sigma_delta.lava_graph.DeltaGraph`).

    A subclass (a dataclass) gives ``readout`` (a process of the graph, through which the
    runtime is compiled, run and stopped), ``tag`` (the ProcessModel tag, ``"fixed_pt"`` or
    ``"floating_pt"``) and ``timeout_s`` (the watchdog limit of every runtime call, seconds),
    and may override :meth:`_after_compile`. Use as a context manager, or call :meth:`close`.
    """

    _started: bool = field(default=False, init=False)
    _closed: bool = field(default=False, init=False)
    _children: set[int] = field(default_factory=set, init=False)
    _before: set[int] | None = field(default=None, init=False)

    # ------------------------------------------------------------------ lifecycle
    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        try:
            return call_with_watchdog(fn, self.timeout_s, what, self._dead_worker)
        except LavaRunError:
            self._abort()
            raise
        except Exception as err:
            self._abort()
            raise LavaRunError(
                f"Lava {what} failed ({type(err).__name__}: {err}); the graph "
                f"was stopped and its workers ended"
            ) from err
        except BaseException:  # KeyboardInterrupt, SystemExit: clean up, then let it through
            self._abort()
            raise

    def _dead_worker(self) -> str | None:
        """Which worker of the started runtime has died and how, or ``None`` (all alive)."""
        if not self._started or self._closed:
            return None
        for p in sorted(self._children - infrastructure_pids()):
            if not _alive(p):
                return f"worker process {p} died ({exit_of(p)})"
        return None

    def _after_compile(self) -> None:
        """Called once the runtime is compiled and started (subclass hook)."""

    def open(self) -> LavaSession:
        """Compile and start the runtime (idempotent)."""
        if self._closed:
            raise LavaRunError(f"this {type(self).__name__} was closed; build a new one")
        if self._started:
            return self
        cfg = require_lava("lava.magma.core.run_configs")
        before = self._before = child_pids()
        run_cfg = cfg.Loihi2SimCfg(select_tag=self.tag)
        try:
            self._call(lambda: self.readout.create_runtime(run_cfg=run_cfg), "compile")
            self._children |= child_pids() - before  # Lava forks its workers when compiling
            self._after_compile()
        finally:
            self._children |= child_pids() - before
        self._started = True
        return self

    def close(self) -> None:
        """Stop the runtime and make sure no worker process is left (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if not self._started:
            return
        try:
            call_with_watchdog(self.readout.stop, min(self.timeout_s, 30.0), "stop")
        except BaseException as err:  # stop hung or failed: kill what is left
            log.warning("Lava stop failed (%s); killing its workers", err)
        finally:
            left = {p for p in self._children if _alive(p)} - infrastructure_pids()
            if left:
                kill_pids(left)

    def _abort(self) -> None:
        """After a failed or hung call: kill the workers without asking them."""
        if self._closed:
            return
        self._closed = True
        pids = set(self._children) | self._lava_actor_pids()
        if not self._started and self._before is not None:  # failed while opening
            pids |= child_pids() - self._before
        pids -= infrastructure_pids()
        actors = self._lava_actor_pids()
        kill_pids({p for p in actors if _alive(p)})  # the workers first, then the memory
        self._shutdown_shared_memory()
        kill_pids({p for p in pids if _alive(p)})

    def _messaging(self) -> Any:
        rt = getattr(self.readout, "runtime", None) or getattr(self.readout, "_runtime", None)
        return getattr(rt, "_messaging_infrastructure", None)

    def _shutdown_shared_memory(self) -> None:
        """Ask Lava's shared-memory manager to free its segments (else the interpreter warns
        at exit about leaked shared memory it then frees); it is killed when it does not."""
        smm = getattr(self._messaging(), "_smm", None)
        if smm is None:
            return
        try:
            call_with_watchdog(smm.shutdown, 10.0, "shared-memory shutdown")
        except BaseException as err:  # a dead or hung manager: kill_pids ends it
            log.debug("Lava shared-memory manager did not shut down (%s)", err)

    def _lava_actor_pids(self) -> set[int]:
        mi = self._messaging()
        pids = set()
        for actor in list(getattr(mi, "actors", []) or []):
            try:  # a closed multiprocessing.Process raises on .pid
                if actor.pid:
                    pids.add(int(actor.pid))
            except (ValueError, AttributeError):
                continue
        return pids

    def __enter__(self) -> LavaSession:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # last resort; close() is the contract
        try:
            if self._started and not self._closed:
                self.close()
        except Exception:
            pass

    # ------------------------------------------------------------------ runtime calls
    def _set(self, var: Any, value: np.ndarray, what: str) -> None:
        self._call(lambda: var.set(np.asarray(value)), f"set {what}")

    def _get(self, var: Any, what: str) -> np.ndarray:
        return np.asarray(self._call(var.get, f"get {what}"))

    def _steps(self, n: int) -> None:
        rc = require_lava("lava.magma.core.run_conditions")
        self._call(lambda: self.readout.run(condition=rc.RunSteps(num_steps=n)), f"run {n}")

    def _send(self, port: Any, value: np.ndarray, what: str) -> None:
        """``value`` (flat) into ``port``'s host pipe (int64 in ``fixed_pt``, else float)."""
        dtype = np.int64 if self.tag == "fixed_pt" else np.float64
        data = np.ascontiguousarray(value, dtype=dtype).reshape(-1)
        self._call(lambda: port.external_pipe_csp_send_port.send(data), f"send {what}")

    def _receive_array(self, proc: Any, what: str) -> np.ndarray:
        """The array ``proc`` sends through its ``report`` host pipe (int64 in ``fixed_pt``)."""
        data = self._call(lambda: proc.report.external_pipe_csp_recv_port.recv(), f"receive {what}")
        data = np.asarray(data)
        return np.rint(data).astype(np.int64) if self.tag == "fixed_pt" else data

    def _receive(self, proc: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
        """The ``[first, second]`` array a process reports at the end of its window."""
        data = self._receive_array(proc, what)
        half = data.shape[0] // 2
        return data[:half], data[half:]


@dataclass
class LavaGraph(LavaSession):
    """A compiled Lava graph for ``batch`` points side by side; run batches, then :meth:`close`.

    Build it with :func:`exporters.lava_graph.build_int_graph` or ``build_float_graph``.
    Use as a context manager (``with build_int_graph(...) as g: g.run(x)``).
    """

    slots: list[NeuronSlot]
    conns: list[Any]
    readout: Any
    T: int
    batch: int
    tag: str
    encode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]
    decode: Callable[[np.ndarray], np.ndarray]
    n_out: int
    timeout_s: float = 120.0
    host_io: bool = False  # bias and counts through host pipes (no Var.set/get per batch)

    # ------------------------------------------------------------------ lifecycle
    @property
    def depth(self) -> int:
        return len(self.slots)

    @property
    def warmup_steps(self) -> int:
        """Steps taken when the graph opens (the Var path needs one before any ``Var.set``)."""
        return 0 if self.host_io else 1

    @property
    def steps_per_batch(self) -> int:
        """``T + L``: the window of ``T`` steps plus one step of Dense latency per layer."""
        return self.T + self.depth

    def _after_compile(self) -> None:
        if not self.host_io:
            # Lava lets Vars be set only once the runtime has run: take one step, then put
            # every step counter back to 0 (the next step starts a batch) and clear the
            # buffers.
            self._steps(1)
            for j, p in enumerate(self._windowed()):
                self._set(p.t, np.zeros(1), f"t[{j}]")
            for j, c in enumerate(self.conns):
                self._set(c.a_buff, np.zeros(c.a_buff.shape), f"a_buff[{j}]")

    def _windowed(self) -> list[Any]:
        procs = [s.proc if s.kind == "custom" else s.counter for s in self.slots]
        return [*procs, self.readout]

    # ------------------------------------------------------------------ running
    def run(self, x: np.ndarray, *, trace: bool = False) -> SpikeRun:
        """Run every point of ``x`` (``(n_points, n_in)``) for ``T`` steps; ``batch`` at a time.

        ``trace=True`` runs one step at a time and reads every layer's spike counter after each
        step, so ``SpikeRun.spikes[l][p, k-1, j]`` is neuron ``j`` of layer ``l`` at its local
        step ``k`` (global step ``k + l``), as :func:`exporters.twin.run_twin` ``(trace=True)``
        records it. Slow (one runtime round trip per step and layer): for a few points.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 1:
            raise ValueError(f"x must have shape (n_points, n_in), got {x.shape}")
        self.open()
        t0 = time.perf_counter()
        mant, exp = self.encode(x)
        n = x.shape[0]
        accs = []
        counts: list[list[np.ndarray]] = [[] for _ in self.slots]
        events: list[list[np.ndarray]] = [[] for _ in self.slots]
        spikes: list[list[np.ndarray]] = [[] for _ in self.slots]
        try:
            for lo in range(0, n, self.batch):
                hi = min(lo + self.batch, n)
                acc, c, e, sp = self._run_batch(
                    _pad(mant[lo:hi], self.batch),
                    None if exp is None else _pad(exp[lo:hi], self.batch),
                    trace,
                )
                k = hi - lo
                accs.append(acc[:k])
                for i in range(self.depth):
                    counts[i].append(c[i][:k])
                    events[i].append(e[i][:k])
                    if trace:
                        spikes[i].append(sp[i][:k])
        except BaseException:
            self._abort()
            raise
        acc = np.concatenate(accs)
        return SpikeRun(
            y=self.decode(acc),
            acc=acc,
            counts=[np.concatenate(c) for c in counts],
            events=[np.concatenate(e) for e in events],
            seconds=time.perf_counter() - t0,
            spikes=[np.concatenate(s) for s in spikes] if trace else None,
        )

    def _counter_vars(self) -> list[tuple[Any, str]]:
        """Per layer, the Var holding its net spike count inside its window."""
        return [
            (s.counter.acc, f"count[{i}]") if s.kind == "lif" else (s.proc.count, f"count[{i}]")
            for i, s in enumerate(self.slots)
        ]

    def _run_batch(self, mant: np.ndarray, exp: np.ndarray | None, trace: bool = False):
        first = self.slots[0]
        has_lif = any(s.kind == "lif" for s in self.slots)
        if self.host_io:
            self._send(first.proc.bias_in, mant, "bias[0]")
        elif first.kind == "lif":
            self._set(first.proc.bias_mant, mant.reshape(-1), "bias_mant[0]")
            if exp is not None:
                self._set(first.proc.bias_exp, exp.reshape(-1), "bias_exp[0]")
        else:
            self._set(first.proc.bias, mant.reshape(-1), "bias[0]")
        if has_lif:
            self._reset_lif()
        # Custom neurons and accumulators reset themselves at the first step of a batch (their
        # step counter wraps after T + L steps). LIF layers i >= 1 get their bias at step i + 1.
        gated = [(i, s) for i, s in enumerate(self.slots) if s.gated]
        P = self.steps_per_batch
        stops = range(1, P + 1) if trace else sorted({i for i, _ in gated} | {P})
        prev = [np.zeros(self.batch * s.n) for s in self.slots]
        steps: list[list[np.ndarray]] = [[] for _ in self.slots]
        done = 0
        for stop in stops:
            for i, slot in gated:
                if i == done:
                    self._set(slot.proc.bias_mant, slot.bias_mant, f"bias_mant[{i}]")
            self._steps(stop - done)
            done = stop
            if trace:
                for i, (var, what) in enumerate(self._counter_vars()):
                    c = self._get(var, what)
                    steps[i].append(c - prev[i])
                    prev[i] = c
        spikes = None
        if trace:  # global step t = k + i for layer i's local step k = 1..T
            spikes = [
                np.stack(steps[i][i : i + self.T])
                .reshape(self.T, self.batch, s.n)
                .transpose(1, 0, 2)
                .astype(np.int8)
                for i, s in enumerate(self.slots)
            ]
        if self.host_io:
            counts, events = [], []
            for i, s in enumerate(self.slots):
                c, e = self._receive(s.proc, f"counts[{i}]")
                counts.append(c.reshape(self.batch, s.n))
                events.append(e.reshape(self.batch, s.n))
            acc = self._receive(self.readout, "readout")[0].reshape(self.batch, self.n_out)
            return acc, counts, events, spikes
        acc = self._read_acc().reshape(self.batch, self.n_out)
        counts, events = [], []
        for i, s in enumerate(self.slots):
            if s.kind == "lif":
                c = self._get(s.counter.acc, f"count[{i}]")
                e = c
            else:
                c = self._get(s.proc.count, f"count[{i}]")
                e = self._get(s.proc.events, f"events[{i}]") if _graded(s) else c
            counts.append(c.reshape(self.batch, s.n))
            events.append(e.reshape(self.batch, s.n))
        return acc, counts, events, spikes

    def _read_acc(self) -> np.ndarray:
        """The readout's integrated Dense output over the window, flat ``(batch * n_out,)``."""
        return self._get(self.readout.acc, "readout")

    def _reset_lif(self) -> None:
        """Zero the state the host must clear between batches when LIF layers are present."""
        for i, s in enumerate(self.slots):
            if s.kind == "lif":
                self._set(s.proc.v, s.v0, f"v[{i}]")
                self._set(s.proc.u, np.zeros_like(s.v0), f"u[{i}]")
                if s.gated:
                    self._set(s.proc.bias_mant, np.zeros_like(s.bias_mant), f"bias_mant[{i}]")
        for j, c in enumerate(self.conns):
            self._set(c.a_buff, np.zeros(c.a_buff.shape), f"a_buff[{j}]")


def _graded(slot: NeuronSlot) -> bool:
    """Whether the slot's spikes are signed or multi-level (events differ from counts)."""
    return slot.graded


def _pad(a: np.ndarray, batch: int) -> np.ndarray:
    if a.shape[0] == batch:
        return a
    pad = np.zeros((batch - a.shape[0], *a.shape[1:]), dtype=a.dtype)
    return np.concatenate([a, pad])
