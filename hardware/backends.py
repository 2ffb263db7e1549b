"""Where a converted network runs: one registry of backends, each a small object.

=================  ==========  ==============================================================
name               network     what runs
=================  ==========  ==============================================================
``torch-float``    float SNN   :class:`lava_pinn.conversion.network.SpikingNetwork` in torch
``torch-twin``     integer     :func:`exporters.twin.run_twin`, bit-exact with ``lava-cpu``
``lava-cpu``       integer     Lava CPU simulator, ``Loihi2SimCfg(select_tag="fixed_pt")``
``lava-cpu-float`` float SNN   Lava CPU simulator, ``floating_pt`` models
``loihi2``         integer     Loihi 2 through ``Loihi2HwCfg`` (needs lava-loihi and a board)
=================  ==========  ==============================================================

Every backend answers :meth:`Backend.available` with ``(ok, reason)`` and never raises there;
:meth:`Backend.run` takes a :class:`LoadedNetwork` and points ``x``
``(n_points, n_in)`` and returns a :class:`RunOutput` (decoded outputs, per-point net spike
counts and spike events per hidden layer, simulator steps). :func:`hardware.run` wraps it into a
:class:`~hardware.runner.RunResult` with timing, versions and the layer descriptions.

Counts and events: ``counts[l][p, j]`` is the net spike count of neuron ``j`` of hidden layer
``l`` for point ``p`` over the ``T`` steps of the window (``+1`` and ``-1`` spikes of signed
neurons cancel; a graded spike counts its payload in quanta); ``events[l][p, j]`` counts the
steps on which the neuron sent a message, of either sign and any payload (what costs energy).
They are equal for binary non-negative neurons.

``run(net, x, trace=True)`` (backends with ``traces``) also records every spike step by step:
``spikes[l][p, k-1, j]`` is neuron ``j`` of hidden layer ``l`` at its local step ``k`` (global
Lava step ``k + l``), ``n_points * T * n_l`` values per layer: for locating where two backends
diverge on a few points (:mod:`hardware.ladder`).

Lava backends compile one graph for ``batch`` points, run every batch through it and stop it on
exit (:class:`exporters.runtime.LavaGraph` as a context manager), so no worker process outlives
a run, also on errors and Ctrl-C.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch

from exporters._lava import require_lava
from exporters.lava_graph import build_float_graph, build_int_graph
from exporters.runtime import LavaGraph
from exporters.twin import run_twin
from hardware.energy.measured import measure_loihi2
from lava_pinn.conversion.network import simulate
from lava_pinn.neurons import get_neuron
from lava_pinn.registry import Registry, UnknownNameError, unknown_name
from lava_pinn.validation import check_count

log = logging.getLogger(__name__)

DEFAULT_BACKEND = "lava-cpu"
NEEDS = ("integer", "float")


class BackendUnavailable(RuntimeError):
    """A backend cannot run here; the message says what is missing and what to use instead."""


@dataclass(frozen=True, eq=False)
class RunOutput:
    """What a backend returns for ``n_points`` points (numpy arrays)."""

    y: np.ndarray  # (n_points, n_out) decoded outputs
    counts: tuple[np.ndarray, ...]  # per hidden layer (n_points, n_l), net signed counts
    events: tuple[np.ndarray, ...]  # per hidden layer (n_points, n_l), spikes of either sign
    steps: int  # simulator time steps executed in total (all batches)
    arithmetic: str  # "fixed_pt" or "floating_pt"
    measured: Any = None  # hardware.energy.MeasuredEnergy from a board's power profiler
    spikes: tuple[np.ndarray, ...] | None = None  # with trace=True: per layer (n, T, n_l)


@dataclass(frozen=True, eq=False)
class LoadedNetwork:
    """The forms of one network a backend may need, with what is known about its origin.

    ``metadata`` holds the conversion metadata where known (``problem``, ``hard_bc``,
    ``units``: the ANN's hidden widths, ``activations``).
    """

    integer: Any = None  # exporters.intnet.IntegerNetwork
    float_snn: Any = None  # lava_pinn.conversion.network.SpikingNetwork
    source: str = "<memory>"
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.integer is None and self.float_snn is None:
            raise ValueError("LoadedNetwork needs an integer network, a float SNN or both")

    def require_integer(self, backend: str):
        if self.integer is None:
            raise ValueError(
                f"backend {backend!r} runs the exported integer network, but {self.source} "
                "holds only the float SpikingNetwork; export it first (`lava-pinn export DIR` "
                "or exporters.export(snn, path)) or pick backend 'torch-float' / 'lava-cpu-float'"
            )
        return self.integer

    def require_float(self, backend: str):
        if self.float_snn is None:
            raise ValueError(
                f"backend {backend!r} runs the float SpikingNetwork, but {self.source} holds "
                "only the exported integer network; pass snn.pt (`lava-pinn convert DIR`) or an "
                "artifact that embeds the float network, or pick 'torch-twin' / 'lava-cpu'"
            )
        return self.float_snn

    @property
    def in_features(self) -> int:
        net = self.integer if self.integer is not None else self.float_snn
        return int(net.in_features)

    @property
    def T(self) -> int:
        net = self.integer if self.integer is not None else self.float_snn
        return int(net.T)


def _lava_status() -> tuple[bool, str]:
    try:
        require_lava("lava.magma.core.run_configs")
    except ImportError as err:
        return False, str(err)
    return True, "Lava CPU simulator (lava-nc) importable"


def _pos_int_option(options: dict, key: str, default: int) -> int:
    return check_count(options.pop(key, default), f"option {key}")


def _timeout_option(options: dict) -> float:
    v = options.pop("timeout_s", 600.0)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise ValueError(f"option timeout_s must be a number > 0 (seconds), got {v!r}")
    return float(v)


def _no_more(options: dict, backend: str, known: tuple[str, ...]) -> None:
    if options:
        raise TypeError(
            f"backend {backend!r} got unknown option(s) {', '.join(sorted(options))}; "
            f"it takes {', '.join(known) or 'none'}"
        )


@dataclass(frozen=True)
class Backend:
    """A place to run a network: ``needs`` says which form of it (``integer`` or ``float``)."""

    name: str
    needs: str
    arithmetic: str
    description: str
    options: tuple[str, ...]
    _status: Callable[[], tuple[bool, str]]
    _run: Callable[[LoadedNetwork, np.ndarray, dict], RunOutput]
    traces: bool = True  # run(..., trace=True) records spikes step by step

    def __post_init__(self) -> None:
        if self.needs not in NEEDS:
            raise ValueError(f"Backend.needs must be one of {NEEDS}, got {self.needs!r}")

    def available(self) -> tuple[bool, str]:
        """``(True, what runs)`` or ``(False, why not and what to use instead)``; never raises."""
        try:
            return self._status()
        except Exception as err:  # noqa: BLE001 - a probe must not break the listing
            return False, f"availability check failed: {type(err).__name__}: {err}"

    def run(
        self, net: LoadedNetwork, x: np.ndarray, *, trace: bool = False, **options: Any
    ) -> RunOutput:
        """Run ``net`` on points ``x``; ``options`` are the backend's (see :attr:`options`).
        ``trace=True`` also fills :attr:`RunOutput.spikes` (module docstring)."""
        ok, reason = self.available()
        if not ok:
            raise BackendUnavailable(f"backend {self.name!r} is unavailable here: {reason}")
        if trace and not self.traces:
            raise ValueError(f"backend {self.name!r} cannot record spikes step by step")
        return self._run(net, x, dict(options, trace=bool(trace)))


# ------------------------------------------------------------------------------- torch-float
def _torch_float(net: LoadedNetwork, x: np.ndarray, options: dict) -> RunOutput:
    trace = options.pop("trace", False)
    _no_more(options, "torch-float", ())
    snn = net.require_float("torch-float")
    dtype = snn.hidden[0].weight.dtype
    xt = torch.as_tensor(np.asarray(x), dtype=dtype)
    T = snn.T
    spikes = _float_spikes(snn, xt) if trace else None
    if not any(get_neuron(la.neuron).graded for la in snn.hidden):
        y, counts = snn.run(xt)
        cs = tuple(c.numpy().astype(np.int64) for c in counts)
        return RunOutput(y.numpy(), cs, cs, T, "floating_pt", spikes=spikes)
    # Signed or graded neurons: the counts (net +1/-1, or quanta) are not the number of messages
    # sent; the simulator counts those events as well.
    events: list = []
    y, counts = simulate(snn.hidden, snn.output, xt, T, events=events)
    return RunOutput(
        y.numpy(),
        tuple(c.numpy().astype(np.int64) for c in counts),
        tuple(e.numpy().astype(np.int64) for e in events),
        T,
        "floating_pt",
        spikes=spikes,
    )


def _float_spikes(snn, xt) -> tuple[np.ndarray, ...]:
    """Every layer's spike train ``(n, T, n_l)`` from the float simulator (one recorded layer
    per pass of :func:`~lava_pinn.conversion.network.simulate_from`)."""
    from lava_pinn.conversion.network import simulate_from

    h = snn.hidden
    args = (
        [(la.weight,) for la in h],
        [la.bias for la in h],
        [la.neuron for la in h],
        [la.threshold for la in h],
        [la.v0 for la in h],
        xt,
        snn.T,
    )
    return tuple(
        simulate_from(*args, record=i)[2].numpy().transpose(1, 0, 2) for i in range(len(h))
    )


# ------------------------------------------------------------------------------- torch-twin
def _torch_twin(net: LoadedNetwork, x: np.ndarray, options: dict) -> RunOutput:
    # default: exporters.twin.default_chunk (sized to the network's widest layer)
    chunk = _pos_int_option(options, "chunk", 1) if "chunk" in options else None
    trace = options.pop("trace", False)
    _no_more(options, "torch-twin", ("chunk",))
    inet = net.require_integer("torch-twin")
    r = run_twin(inet, x, chunk=chunk, trace=trace)
    spikes = tuple(r.spikes) if trace else None
    return RunOutput(r.y, tuple(r.counts), tuple(r.events), inet.T, "fixed_pt", spikes=spikes)


# ------------------------------------------------------------------------------- lava-cpu
_LAVA_OPTIONS = ("batch", "connection", "timeout_s")


def _graph_options(options: dict, backend: str) -> tuple[int, str, float, bool]:
    batch = _pos_int_option(options, "batch", 16)
    connection = options.pop("connection", "batched")
    timeout_s = _timeout_option(options)
    trace = options.pop("trace", False)
    _no_more(options, backend, _LAVA_OPTIONS)
    return batch, connection, timeout_s, trace


def _graph_output(graph, x: np.ndarray, arithmetic: str, trace: bool = False) -> RunOutput:
    with graph as g:
        r = g.run(x, trace=trace)
        n_batches = -(-x.shape[0] // g.batch)
        steps = g.warmup_steps + n_batches * g.steps_per_batch
    spikes = tuple(r.spikes) if trace else None
    return RunOutput(r.y, tuple(r.counts), tuple(r.events), steps, arithmetic, spikes=spikes)


def _lava_cpu(net: LoadedNetwork, x: np.ndarray, options: dict) -> RunOutput:
    batch, connection, timeout_s, trace = _graph_options(options, "lava-cpu")
    inet = net.require_integer("lava-cpu")
    graph = build_int_graph(inet, batch, connection=connection, timeout_s=timeout_s)
    return _graph_output(graph, x, "fixed_pt", trace)


def _lava_cpu_float(net: LoadedNetwork, x: np.ndarray, options: dict) -> RunOutput:
    batch, connection, timeout_s, trace = _graph_options(options, "lava-cpu-float")
    snn = net.require_float("lava-cpu-float")
    graph = build_float_graph(
        snn.hidden, snn.output, snn.T, batch, connection=connection, timeout_s=timeout_s
    )
    return _graph_output(graph, x, "floating_pt", trace)


# ------------------------------------------------------------------------------- loihi2
LOIHI2_INSTEAD = (
    "use backend 'lava-cpu' (the same fixed_pt graph on Lava's CPU simulator, bit-exact with "
    "the integer model) or 'torch-twin' (the same numbers, faster)"
)


def loihi2_status() -> tuple[bool, str]:
    """``(ok, reason)`` for running on a Loihi 2 board.

    Needs (1) Lava, (2) Intel's lava-loihi extension, detected as Lava itself does with
    ``lava.utils.loihi.is_installed()`` (it looks for ``lava.utils.loihi2_profiler``), which
    brings the Loihi 2 compiler and the NeuroCore process models behind ``Loihi2HwCfg``, and
    (3) a board: an Oheo Gulch / Kapoho Point host named in ``NXSDKHOST`` (set by
    ``lava.utils.loihi.use_ethernet_host``) or a SLURM partition with Loihi boards
    (``lava.utils.loihi.use_slurm_host``; ``SLURM=1`` and ``sinfo`` answering).
    """
    ok, reason = _lava_status()
    if not ok:
        return False, f"{reason}; then {LOIHI2_INSTEAD}"
    from lava.utils import loihi

    if not loihi.is_installed():
        return False, (
            "Intel's lava-loihi extension (module lava.utils.loihi2_profiler, with the Loihi 2 "
            "compiler behind Loihi2HwCfg) is not installed; it is distributed to INRC members "
            f"only. {LOIHI2_INSTEAD}"
        )
    if os.environ.get("NXSDKHOST"):
        return True, f"lava-loihi installed, Loihi 2 host {os.environ['NXSDKHOST']}"
    if os.environ.get("SLURM") == "1":
        from lava.utils import slurm

        if slurm.is_available():
            return True, "lava-loihi installed, Loihi 2 boards through SLURM"
        return False, f"SLURM=1 is set but `sinfo` does not answer; {LOIHI2_INSTEAD}"
    return False, (
        "lava-loihi is installed but no Loihi 2 board is configured: call "
        "lava.utils.loihi.use_slurm_host(...) or use_ethernet_host(host) first (they set "
        f"SLURM / NXSDKHOST); until then {LOIHI2_INSTEAD}"
    )


def _loihi2(net: LoadedNetwork, x: np.ndarray, options: dict) -> RunOutput:  # pragma: no cover
    # Not exercised here: no lava-loihi and no board on the machines this project runs on.
    batch = _pos_int_option(options, "batch", 16)
    timeout_s = _timeout_option(options)
    options.pop("trace", None)  # Backend.run refuses trace=True here (traces=False)
    measure = bool(options.pop("measure_power", True))
    _no_more(options, "loihi2", ("batch", "timeout_s", "measure_power"))
    inet = net.require_integer("loihi2")
    custom = sorted({la.neuron for la in inet.hidden} - {"lif-hard"})
    if custom:
        raise BackendUnavailable(
            f"neuron model(s) {', '.join(custom)} are custom Lava processes: Loihi 2 runs them "
            "only with microcode from lava-loihi, which this project does not ship; export with "
            f"neuron 'lif-hard' (Loihi 2's built-in LIF) or {LOIHI2_INSTEAD}"
        )
    box: dict[str, RunOutput] = {}

    def run_on_board(pre: list, post: list) -> None:
        callbacks = []
        if pre or post:
            from lava.magma.core.callback_fx import IterableCallBack

            callbacks = [IterableCallBack(pre_run_fxs=pre, post_run_fxs=post)]
        graph = build_int_graph(inet, batch, connection="dense", timeout_s=timeout_s)
        box["out"] = _graph_output(_as_hardware_graph(graph, callbacks), x, "fixed_pt")

    if not measure:
        run_on_board([], [])
        return box["out"]
    steps = 1 + -(-x.shape[0] // batch) * (inet.T + inet.depth)
    measured = measure_loihi2(run_on_board, steps, n_samples=x.shape[0])
    out = box["out"]
    return RunOutput(out.y, out.counts, out.events, out.steps, out.arithmetic, measured)


def _as_hardware_graph(graph, callback_fxs: list):  # pragma: no cover - needs a board
    """The same graph, compiled with ``Loihi2HwCfg`` instead of ``Loihi2SimCfg``.

    :class:`exporters.runtime.LavaGraph` builds its run configuration inside ``open()``; the
    subclass swaps the configuration class for the duration of that call. Lava's LIF and Dense
    then get lava-loihi's NeuroCore models; the host-side helpers (bias gating, the readout
    Accumulator) keep their Python ``fixed_pt`` models. Untested: no board here.
    """

    class _HwGraph(LavaGraph):
        def open(self):
            from lava.magma.core import run_configs

            sim_cfg = run_configs.Loihi2SimCfg

            def hw_cfg(select_tag=None):
                return run_configs.Loihi2HwCfg(select_tag=select_tag, callback_fxs=callback_fxs)

            run_configs.Loihi2SimCfg = hw_cfg
            try:
                return super().open()
            finally:
                run_configs.Loihi2SimCfg = sim_cfg

    return _HwGraph(**{f.name: getattr(graph, f.name) for f in fields(graph) if f.init})


# ------------------------------------------------------------------------------- registry
BACKENDS: Registry[Backend] = Registry("backend")
for _b in (
    Backend(
        "torch-float",
        "float",
        "floating_pt",
        "float spiking network simulated in torch (lava_pinn's simulator)",
        (),
        lambda: (True, "torch"),
        _torch_float,
    ),
    Backend(
        "torch-twin",
        "integer",
        "fixed_pt",
        "vectorised torch twin of the Lava fixed_pt graph (bit-exact with lava-cpu)",
        ("chunk",),
        lambda: (True, "torch"),
        _torch_twin,
    ),
    Backend(
        "lava-cpu",
        "integer",
        "fixed_pt",
        "Lava CPU simulator, fixed_pt process models (Loihi 2 integer arithmetic)",
        _LAVA_OPTIONS,
        _lava_status,
        _lava_cpu,
    ),
    Backend(
        "lava-cpu-float",
        "float",
        "floating_pt",
        "Lava CPU simulator, floating_pt process models",
        _LAVA_OPTIONS,
        _lava_status,
        _lava_cpu_float,
    ),
    Backend(
        "loihi2",
        "integer",
        "fixed_pt",
        "Loihi 2 board through Loihi2HwCfg (Intel's lava-loihi extension and a board)",
        ("batch", "timeout_s", "measure_power"),
        loihi2_status,
        _loihi2,
        traces=False,
    ),
):
    BACKENDS.register(_b.name, _b)


def get_backend(name: str) -> Backend:
    """The backend called ``name``; :class:`~lava_pinn.registry.UnknownNameError` (a
    ``ValueError`` and ``KeyError``) lists the registered ones and which work here."""
    if isinstance(name, Backend):
        return name
    try:
        return BACKENDS.get(name)
    except UnknownNameError:
        here = [n for n, b in BACKENDS.items() if b.available()[0]]
        raise unknown_name(
            "backend", name, BACKENDS.available(), f" (working here: {', '.join(here) or 'none'})"
        ) from None


def available() -> dict[str, str | None]:
    """``{backend: None}`` where it works here, else ``{backend: reason}``."""
    out: dict[str, str | None] = {}
    for name, b in BACKENDS.items():
        ok, reason = b.available()
        out[name] = None if ok else reason
    return out
