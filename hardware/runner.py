"""``hardware.run``: one way to run any exported network on any backend.

    import hardware
    res = hardware.run("runs/ns/network.h5", x, backend="lava-cpu", batch=16)
    res.y                  # (n_points, n_out) decoded outputs
    res.events[l]          # (n_points, n_l) spikes per neuron of hidden layer l over T steps
    res.activity()         # hardware.activity.SNNActivity -> hardware.energy.estimate_energy
    hardware.available()   # {"lava-cpu": None, "loihi2": "lava-loihi is not installed ...", ...}

``network_or_path`` is an :class:`~exporters.intnet.IntegerNetwork`, an exporter artifact
(``network.h5`` path or the object :func:`exporters.artifact.load_artifact` returns), a run
directory (its ``network.h5``, or ``snn.pt`` for the float backends), a float
:class:`~lava_pinn.conversion.network.SpikingNetwork` or its ``snn.pt`` file. Integer backends
(``torch-twin``, ``lava-cpu``, ``loihi2``) need the integer network; float backends
(``torch-float``, ``lava-cpu-float``) the float one; an artifact that embeds both serves all.

Before an integer network runs, :func:`resource_check` maps it onto Loihi 2
(:func:`hardware.resources.check_network`) and warns (``LoihiResourceWarning``) about anything
the chip cannot take; the report travels in :attr:`RunResult.resources`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exporters.artifact import load_artifact
from exporters.intnet import IntegerNetwork
from hardware.activity import OUTPUT, ANNSpec, LayerSpec, SNNActivity
from hardware.backends import DEFAULT_BACKEND, LoadedNetwork, RunOutput, get_backend
from hardware.resources import ResourceReport, check_network
from lava_pinn._version import __version__
from lava_pinn.conversion.network import SpikingNetwork
from lava_pinn.neurons import available as available_neurons

log = logging.getLogger(__name__)

HOST_LAYER_NOTE = (
    "the first layer's weights (16-bit) run on the host: its current W_0 x + b_0 reaches the "
    "chip as a per-neuron bias, so only its neurons, not its synapses, occupy the chip"
)


def versions() -> dict[str, str]:
    """Versions of what produced a result: python, numpy, torch, lava-nc, lava-dl, lava-pinn."""
    out = {"python": platform.python_version(), "numpy": np.__version__, "lava-pinn": __version__}
    for dist in ("torch", "lava-nc", "lava-dl"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


# ------------------------------------------------------------------------------ the network
def _is_integer(obj: object) -> bool:
    return isinstance(obj, IntegerNetwork)


def _is_float(obj: object) -> bool:
    return isinstance(obj, SpikingNetwork)


def _meta_from(float_snn: Any, manifest: Any) -> dict:
    meta: dict = {}
    if isinstance(manifest, dict):
        for key in ("snn_metadata", "metadata", "float_metadata"):
            if isinstance(manifest.get(key), dict):
                meta.update(manifest[key])
        for k in ("problem", "hard_bc", "units"):
            if manifest.get(k) and k not in meta:
                meta[k] = manifest[k]
    if float_snn is not None:
        meta.update(getattr(float_snn, "metadata", {}) or {})
    return meta


def _from_artifact(art: Any, source: str) -> LoadedNetwork:
    net = getattr(art, "network", None)
    snn = getattr(art, "float_snn", None)
    if net is not None and not _is_integer(net):
        raise TypeError(f"{source}: artifact.network is not an IntegerNetwork")
    manifest = getattr(art, "manifest", None)
    return LoadedNetwork(net, snn, source, _meta_from(snn, manifest))


def _load_h5(path: Path) -> LoadedNetwork:
    return _from_artifact(load_artifact(path), str(path))


def _load_pt(path: Path) -> LoadedNetwork:
    snn = SpikingNetwork.load(path)
    return LoadedNetwork(None, snn, str(path), dict(snn.metadata))


def load_network(network_or_path: Any, backend: str | None = None) -> LoadedNetwork:
    """Resolve what :func:`run` accepts into a :class:`LoadedNetwork` (see module docstring).

    For a run directory, ``backend`` picks the file: ``snn.pt`` for float backends, else
    ``network.h5``.
    """
    obj = network_or_path
    if isinstance(obj, LoadedNetwork):
        return obj
    if _is_integer(obj):
        return LoadedNetwork(obj, None, "<IntegerNetwork>")
    if _is_float(obj):
        return LoadedNetwork(None, obj, "<SpikingNetwork>", dict(obj.metadata))
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if path.is_dir():
            needs = get_backend(backend).needs if backend else "integer"
            name = "snn.pt" if needs == "float" else "network.h5"
            if not (path / name).is_file():
                cmd = "convert" if name == "snn.pt" else "export"
                raise FileNotFoundError(
                    f"{path} has no {name}; create it with `lava-pinn {cmd} {path}`"
                )
            path = path / name
        if not path.is_file():
            raise FileNotFoundError(f"network file {path} does not exist")
        if path.suffix in (".h5", ".hdf5"):
            return _load_h5(path)
        if path.suffix == ".pt":
            return _load_pt(path)
        raise ValueError(
            f"{path}: unknown network file type {path.suffix!r}; pass network.h5 (exported "
            "integer network) or snn.pt (float spiking network)"
        )
    if hasattr(obj, "network") and hasattr(obj, "manifest"):
        return _from_artifact(obj, str(getattr(obj, "path", "<artifact>")))
    raise TypeError(
        "network_or_path must be an IntegerNetwork, a SpikingNetwork, an exporter Artifact, or "
        f"a path to network.h5 / snn.pt / a run directory; got {type(obj).__name__}"
    )


# ------------------------------------------------------------------------------ layers, resources
def layer_specs(net: LoadedNetwork, needs: str) -> tuple[LayerSpec, ...]:
    """Static layer descriptions of the form of ``net`` a backend runs (for activity records).

    Weight matrices are those the backend uses: integer weights (fan-out = nonzeros per column)
    for integer backends, float weights for float backends. Layer 1 takes the analog point.
    """
    if needs == "integer":
        inet = net.integer
        ws = _int_weights(inet)
        names = [la.name for la in inet.hidden] + [inet.readout.name]
        neurons = [la.neuron for la in inet.hidden] + [OUTPUT]
        bits: list[int | None] = [16] + [8] * len(inet.hidden)
    else:
        snn = net.float_snn
        ws = [la.weight for la in snn.hidden] + [snn.output.weight]
        names = [f"layer{k}" for k in range(len(snn.hidden))] + ["readout"]
        neurons = [la.neuron for la in snn.hidden] + [OUTPUT]
        bits = [None] * len(ws)
    return tuple(
        LayerSpec.from_weight(names[k], w, neurons[k], "analog" if k == 0 else "spikes", bits[k])
        for k, w in enumerate(ws)
    )


def _int_weights(inet: Any) -> list[tuple[np.ndarray, ...]]:
    """Each synapse's weight groups (two Dense groups count their synapses twice)."""
    return [tuple(w for w, _ in la.groups) for la in (*inet.hidden, inet.readout)]


def resource_check(inet: Any) -> ResourceReport:
    """Map an :class:`~exporters.intnet.IntegerNetwork` onto Loihi 2 and warn what cannot fit.

    Synapses into hidden layers and the readout are 8-bit Dense weights; the first layer is
    checked with 8 bits as well because its 16-bit weights stay on the host (see
    :data:`HOST_LAYER_NOTE`).
    """
    ws = _int_weights(inet)
    neurons = [la.neuron for la in inet.hidden] + [OUTPUT]
    names = [la.name for la in inet.hidden] + [inet.readout.name]
    return check_network(ws, 8, neurons, names=names, analog_input=True)


# ------------------------------------------------------------------------------ result
@dataclass(frozen=True, eq=False)
class RunResult:
    """One run of one network on one backend, for ``n_points`` points.

    ``counts[l]`` / ``events[l]``: ``(n_points, n_l)`` net spike counts / spike events of hidden
    layer ``l`` over the ``T`` steps of the window (see :mod:`hardware.backends`). ``steps``:
    simulator steps executed in total (Lava: ``T + L`` per batch, plus one warm-up step for
    graphs with Lava's LIF, which are driven through ``Var.set``).
    ``wall_s``: seconds for the whole call (Lava: compile, run and stop).
    """

    backend: str
    arithmetic: str
    y: np.ndarray
    counts: tuple[np.ndarray, ...]
    events: tuple[np.ndarray, ...]
    T: int
    steps: int
    wall_s: float
    layers: tuple[LayerSpec, ...]
    versions: dict
    source: str = "<memory>"
    metadata: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    resources: ResourceReport | None = None
    measured: Any = None  # hardware.energy.MeasuredEnergy (loihi2 with lava-loihi's profiler)

    @property
    def n_points(self) -> int:
        return int(self.y.shape[0])

    @property
    def neuron_counts(self) -> list[np.ndarray]:
        """Spike events per neuron of each hidden layer, summed over points: ``(n_l,)``."""
        return [e.sum(axis=0) for e in self.events]

    @property
    def layer_spikes(self) -> np.ndarray:
        """Spike events per hidden layer, summed over points and steps: ``(L,)``."""
        return np.array([int(e.sum()) for e in self.events], dtype=np.int64)

    @property
    def messages_per_point(self) -> float:
        """Messages (steps on which a neuron sent anything) per point, over hidden layers."""
        return float(self.layer_spikes.sum()) / self.n_points

    def synops_per_point(self) -> dict[str, float]:
        """Synaptic ops per point, split by what drives them: ``binary`` (1-bit spikes: an add),
        ``graded`` (payload spikes of graded or signed neurons: a multiply-add) and ``analog``
        (the first layer's analog input, MACs)."""
        from hardware.energy.counts import count_operations
        from lava_pinn.neurons import NEURONS

        ops = count_operations(self.activity())
        out = {"binary": 0.0, "graded": 0.0, "analog": 0.0}
        for k, la in enumerate(ops.layers):
            out["analog"] += la.effective_macs
            if k == 0:
                continue
            src = self.layers[k - 1].neuron
            graded = src in NEURONS and NEURONS.get(src).graded
            out["graded" if graded else "binary"] += la.effective_acs
        return out

    def activity(self) -> SNNActivity:
        """The measured activity (NeuroBench counts come from it), ``source`` = the backend."""
        counts: list[np.ndarray | None] = [*self.neuron_counts, None]
        return SNNActivity(self.layers, tuple(counts), self.n_points, self.T, self.backend)

    def summary(self) -> dict:
        """JSON-ready description of the run (no arrays)."""
        return {
            "backend": self.backend,
            "arithmetic": self.arithmetic,
            "n_points": self.n_points,
            "T": self.T,
            "steps": self.steps,
            "wall_s": self.wall_s,
            "source": self.source,
            "options": dict(self.options),
            "versions": dict(self.versions),
            "layer_spikes": self.layer_spikes.tolist(),
            "messages_per_point": self.messages_per_point,
            "synops_per_point": self.synops_per_point(),
            "resources_fit": None if self.resources is None else self.resources.fits,
        }


def _points(inputs: Any, n_in: int) -> np.ndarray:
    if hasattr(inputs, "detach"):
        inputs = inputs.detach().cpu().numpy()
    try:
        x = np.asarray(inputs, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"inputs must be an array of points (n, {n_in}), got {type(inputs).__name__}"
        ) from None
    if x.ndim == 1 and n_in == 1:  # one input: a plain vector of points, as convert takes
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != n_in or x.shape[0] < 1:
        raise ValueError(f"inputs must have shape (n_points >= 1, {n_in}), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("inputs hold NaN or inf values")
    return x


def run(
    network_or_path: Any,
    inputs: Any,
    backend: str = DEFAULT_BACKEND,
    *,
    check_resources: bool = True,
    **options: Any,
) -> RunResult:
    """Run a network on ``inputs`` ``(n_points, n_in)`` on ``backend``; see the module docstring.

    A sigma-delta network (:class:`~exporters.sigma_delta.IntDeltaNetwork`) runs on
    ``torch-twin`` or ``lava-cpu`` through :func:`hardware.delta.run_delta`; ``stream=True``
    takes ``inputs`` as frames ``(K, lanes, n_in)`` run without reset (only changes travel).
    ``options`` go to the backend (``lava-cpu``: ``batch=16``, ``connection="batched"``,
    ``timeout_s=600``; ``torch-twin``: ``chunk``). Unknown backend: ``KeyError`` listing them;
    a backend that cannot run here: :class:`~hardware.backends.BackendUnavailable` with the
    reason and what to use instead.
    """
    from exporters.sigma_delta import IntDeltaNetwork

    if isinstance(network_or_path, IntDeltaNetwork):
        from hardware.delta import run_delta

        return run_delta(network_or_path, inputs, backend, **options)
    if options.get("stream"):
        raise ValueError(
            "stream=True needs a sigma-delta network (exporters.sigma_delta.IntDeltaNetwork): "
            "rate-coded neurons (if, graded-if, lif-hard, ...) integrate over a window and "
            "cannot stream; the neuron models that stream are "
            f"{', '.join(available_neurons('delta'))}"
        )
    options.pop("stream", None)
    b = get_backend(backend)
    net = load_network(network_or_path, b.name)
    x = _points(inputs, net.in_features)
    resources = None
    if b.needs == "integer":
        inet = net.require_integer(b.name)
        if check_resources:
            resources = resource_check(inet)
    else:
        net.require_float(b.name)
    t0 = time.perf_counter()
    out: RunOutput = b.run(net, x, **options)
    wall = time.perf_counter() - t0
    log.info("%s: %d points in %.2f s", b.name, x.shape[0], wall)
    return RunResult(
        backend=b.name,
        arithmetic=out.arithmetic,
        y=np.asarray(out.y, dtype=np.float64),
        counts=tuple(np.asarray(c) for c in out.counts),
        events=tuple(np.asarray(e) for e in out.events),
        T=net.T,
        steps=int(out.steps),
        wall_s=wall,
        layers=layer_specs(net, b.needs),
        versions=versions(),
        source=net.source,
        metadata=dict(net.metadata),
        options={k: v for k, v in options.items()},
        resources=resources,
        measured=out.measured,
    )


def ann_spec(net: LoadedNetwork | RunResult, activation: str | None = None) -> ANNSpec:
    """The ANN baseline of a converted network: ``(n_in, *units, n_out)`` from the conversion
    metadata (``units`` = the ANN's hidden widths; a piecewise-linear SNN has several neurons
    per unit, so its own sizes would overstate the ANN); the SNN's sizes where unknown."""
    meta = net.metadata
    layers = (
        net.layers
        if isinstance(net, RunResult)
        else layer_specs(net, "integer" if net.integer is not None else "float")
    )
    acts = meta.get("activations") or []
    act = activation or (acts[0] if acts else "tanh")
    units = meta.get("units")
    if units:
        return ANNSpec((layers[0].n_in, *(int(u) for u in units), layers[-1].n_out), act)
    return ANNSpec((layers[0].n_in, *(la.n_out for la in layers)), act)
