"""lava-dl netx export of the hardware-native subset (every hidden layer ``"lif-hard"``).

Writes a ``.net`` HDF5 file that ``lava.lib.dl.netx.hdf5.Network(net_config=path)`` (lava-dl
0.6.0) loads and runs on Lava's CPU simulator (``fixed_pt``), and runs it so that its outputs
and spike counts equal the torch twin's and the lava-pinn graph's (``==``).

File layout (what netx reads; datasets, not attributes; ``shape`` in netx's reversed order):

* ``layer/0``: ``type = "input"``, ``shape = [n_0]``, ``neuron``: hidden layer 0. netx's input
  block is a neuron whose *bias* carries the input; the host writes each point's current
  ``I_0 = ((W_0 x_q) << e_0 << 6) + b_0`` (see :meth:`IntegerNetwork.encode_input`) into its
  ``bias_mant`` / ``bias_exp`` before the point runs.
* ``layer/i`` (``i = 1..L-1``): ``type = "dense"``, ``shape = [n_i]``, ``weight`` ``(n_i,
  n_{i-1})``, ``bias`` ``(n_i,)``, ``neuron``: hidden layer ``i``.
* ``layer/L``: the readout, ``type = "dense"`` with a non-spiking integrating neuron
  (``iDecay = 4096``: u is this step's input; ``vDecay = 0``: v sums it; ``vThMant = 2**17-1``).
* ``neuron`` = ``{type: "CUBA", iDecay, vDecay, vThMant, refDelay, gradedSpike}``; netx maps it
  to Lava's ``LIF(du = iDecay - 1, dv = vDecay, vth = vThMant, bias_exp = 6)``. ``"lif-hard"``
  is ``du = 4095, dv = 0`` (u = the new input alone, v non-leaky), so ``iDecay = 4096, vDecay = 0``.
* ``lava_pinn/``: an extension netx ignores: the whole :class:`IntegerNetwork` (host input
  layer ``W_0``, initial potentials ``v0``, scales, ``T``), so :func:`read_netx` gives back the
  network and :func:`build_netx_graph` can encode inputs and decode outputs.

What netx cannot express, and how it is handled exactly:

* **Weight exponents.** netx has no weight exponent of its own: it derives one from the weights
  (``optimize_weight_bits``) so that a Dense computes ``a = W_file @ s`` exactly. A layer's
  ``a = (W @ s) << e`` is therefore written as ``W_file = W << e`` (``e >= 0``) or ``W >> -e``
  (``e < 0``, only when every weight is a multiple of ``2**-e``: the per-step floor of a right
  shift has no netx form). The readout applies ``e > 0`` on the host instead (``acc = (v >> 6)
  << e``), which keeps the 8-bit weights. :func:`netx_dense_weights` reproduces what lava-dl and
  Lava's Dense make of the file weights; a layer they would change is refused.
* **Bias.** netx fixes ``bias_exp = 6``: the bias of layers ``i >= 1`` must be a multiple of 64
  with ``bias >> 6`` in the signed 13-bit range.
* **Initial potentials and the pipeline window** are not part of the netx format (netx starts
  every neuron at ``v = 0`` with its bias on from step 1). :func:`build_netx_graph` sets ``v0``,
  switches the bias of layer ``i`` on at step ``i + 1`` and counts spikes only inside each
  layer's window, as :func:`exporters.lava_graph.build_int_graph` does. A network with
  ``v0 = 0`` and no bias in layers ``i >= 1`` runs in plain netx with the same outputs.
* **Readout range.** The integrating neuron holds ``|sum_t W_file @ s_t| << 6`` in 24 bits
  (``|sum| <= 2**17 - 1``); a run that leaves this range raises :class:`NetxRangeError` instead
  of returning a saturated value.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from exporters import fixed_point as fp
from exporters._lava import require_lava
from exporters.intnet import IntegerNetwork, IntLayer, IntReadout
from exporters.runtime import LavaGraph, LavaRunError, NeuronSlot
from lava_pinn import __version__
from lava_pinn.checkpoint import atomic_write_bytes
from lava_pinn.neurons import get_neuron

log = logging.getLogger(__name__)

NETX_FORMAT = "lava-pinn-netx"
NETX_FORMAT_VERSION = 1
NATIVE_NEURON = "lif-hard"
NETX_BIAS_EXP = 6  # lava-dl netx: LIF(bias_exp=6) for CUBA neurons
NETX_BIAS_MANT_RANGE = (fp.LIF_BIAS_MANT_MIN, fp.LIF_BIAS_MANT_MAX)
READOUT_VTH = fp.LIF_VTH_MAX  # non-spiking integrator: v may reach (2**17 - 1) << 6
READOUT_SUM_MAX = READOUT_VTH  # |sum_t W_file @ s_t| that the readout neuron holds exactly


class NetxExportError(ValueError):
    """The network cannot be written as a netx file with identical semantics."""


class NetxFileError(ValueError):
    """A netx file is missing, corrupt, from a newer format or inconsistent with itself."""


class NetxRangeError(LavaRunError):
    """The netx readout neuron left its exact range during a run (its result would be wrong)."""


# ---------------------------------------------------------------------------- weights
def netx_dense_weights(w_file: np.ndarray) -> tuple[np.ndarray, int, int]:
    """What lava-dl 0.6.0 netx and Lava's bit-accurate Dense make of file weights ``w_file``.

    Mirrors ``lava.lib.dl.netx.utils.optimize_weight_bits`` (``W' = W << sb`` with
    ``sb = floor(log2(scale)) + [mixed]``, ``weight_exp = -sb``,
    ``num_weight_bits = 8 - sb - n``) followed by ``clip_weights`` and ``truncate_weights``
    of ``lava.utils.weightutils``. Returns ``(w_eff, weight_exp, num_weight_bits)``: the Dense
    computes ``(w_eff @ s) >> -weight_exp``. Pure numpy; the tests check it against lava-dl.
    Raises ``ValueError`` for an all-zero matrix (netx divides by its maximum).
    """
    w = np.asarray(w_file, dtype=np.int64)
    wmax, wmin = int(w.max()), int(w.min())
    if wmax == 0 and wmin == 0:
        raise ValueError("an all-zero weight matrix has no netx form (lava-dl divides by max|W|)")
    if wmax > 254 and wmin < 0 or wmin < -256 and wmax > 0:
        w = np.clip(w, -256, 254)  # netx clips (and prints a warning)
        wmax, wmin = int(w.max()), int(w.min())
    if wmax < 0:
        mode, signed, scale = "inhibitory", 0, -256 / wmin
    elif wmin >= 0:
        mode, signed, scale = "excitatory", 0, 255 / wmax
    else:
        # netx: max <= 0 with min < 0 is "mixed"; 127 / 0 is inf in numpy
        mode, signed = "mixed", 1
        scale = min(127 / wmax if wmax > 0 else np.inf, -128 / wmin)
    sb = int(np.floor(np.log2(scale))) + signed
    n = 8
    while n > 0 and (w % (1 << n)).any():
        n -= 1
    n -= signed
    nwb = 8 - sb - n
    shifted = w << sb if sb >= 0 else w >> -sb
    # Lava Dense (bit-accurate): clip to 8 bits for the sign mode, then drop low bits.
    lavamode = fp.dense_sign_mode(shifted)
    neg = lavamode == "inhibitory"
    x = -shifted if neg else shifted
    lo = -256 if lavamode == "mixed" else 0
    x = np.clip(x, lo, 255)
    t = 8 - nwb + (lavamode == "mixed")
    x = (x >> t) << t if t > 0 else x
    del mode
    return (-x if neg else x), -sb, nwb


def _file_weights(
    weight: np.ndarray, weight_exp: int, where: str, *, host_shift: bool = False
) -> tuple[np.ndarray, int]:
    """File weights for ``a = (W_eff @ s) << weight_exp``; returns ``(W_file, host_exp)`` where
    ``host_exp`` (readout only) is a left shift the host applies to the decoded sum."""
    we = fp.dense_effective_weights(weight)
    e = int(weight_exp)
    if e >= 0 and host_shift:
        wf, host = we, e
    elif e >= 0:
        wf, host = we << e, 0
    else:
        if (we % (1 << -e)).any():
            raise NetxExportError(
                f"{where}: weight_exp = {e} floors (W @ s) / 2**{-e} every step, which netx "
                f"cannot express (it derives its own exponent from the weights); re-quantize "
                f"this layer with weight_exp >= 0 or weights that are multiples of {1 << -e}"
            )
        wf, host = we >> -e, 0
    try:
        eff, exp, _ = netx_dense_weights(wf)
    except ValueError as err:
        raise NetxExportError(f"{where}: {err}") from None
    if not np.array_equal(eff, wf << -exp):
        bad = np.argwhere(eff != wf << -exp)[0]
        raise NetxExportError(
            f"{where}: lava-dl netx would change weight {tuple(int(i) for i in bad)} "
            f"({int(wf[tuple(bad)])} in the file; range after weight_exp {e}: "
            f"[{int(wf.min())}, {int(wf.max())}]); keep the file weights within 8 bits "
            f"(mixed sign: [-256, 254]) by lowering weight_exp"
        )
    return wf, host


def _neuron_group(vth: int, i_decay: int, v_decay: int) -> dict[str, Any]:
    return {
        "type": np.bytes_(b"CUBA"),
        "iDecay": np.int64(i_decay),
        "vDecay": np.int64(v_decay),
        "vThMant": np.int64(vth),
        "refDelay": np.int64(1),
        "gradedSpike": np.bool_(False),
    }


def _lif_hard_neuron(layer: IntLayer) -> dict[str, Any]:
    return _neuron_group(int(layer.threshold[0]), fp.LIF_HARD_DU + 1, fp.LIF_HARD_DV)


def check_netx_native(net: IntegerNetwork) -> None:
    """Raise :class:`NetxExportError` naming the first layer that is not ``"lif-hard"``."""
    for i, la in enumerate(net.hidden):
        if la.neuron != NATIVE_NEURON:
            desc = get_neuron(la.neuron).description
            raise NetxExportError(
                f"hidden[{i}] ({la.name}) uses neuron model {la.neuron!r} ({desc}), which Loihi 2 "
                f"runs only with custom microcode; netx export needs every hidden layer to be "
                f"{NATIVE_NEURON!r} (Lava CUBA LIF, hard reset). Convert with neuron="
                f"{NATIVE_NEURON!r}, or run this network with exporters.lava_graph.build_int_graph"
            )


def netx_layers(net: IntegerNetwork) -> tuple[list[dict[str, Any]], int]:
    """The netx ``layer/{i}`` contents of ``net`` and the readout's host shift.

    Raises :class:`NetxExportError` naming the layer when something has no exact netx form.
    """
    check_netx_native(net)
    if net.readout.fine_weight is not None:
        raise NetxExportError(
            f"readout ({net.readout.name}) has a second weight group (fine_weight); a netx "
            "dense layer holds one 8-bit weight matrix. Quantize with weight_groups=1 for netx"
        )
    first = net.hidden[0]
    layers: list[dict[str, Any]] = [
        {"type": np.bytes_(b"input"), "shape": np.array([first.n_out]), "neuron": None}
    ]
    layers[0]["neuron"] = _lif_hard_neuron(first)
    for i in range(1, net.depth):
        la = net.hidden[i]
        where = f"hidden[{i}] ({la.name})"
        wf, _ = _file_weights(la.weight, la.weight_exp, where)
        bias = la.bias
        if (bias % (1 << NETX_BIAS_EXP)).any():
            j = int(np.flatnonzero(bias % (1 << NETX_BIAS_EXP))[0])
            raise NetxExportError(
                f"{where}: bias[{j}] = {int(bias[j])} is not a multiple of 64; netx fixes "
                f"bias_exp = {NETX_BIAS_EXP}, so only multiples of 64 are exact"
            )
        b_file = bias >> NETX_BIAS_EXP
        lo, hi = NETX_BIAS_MANT_RANGE
        if b_file.size and (b_file.min() < lo or b_file.max() > hi):
            raise NetxExportError(
                f"{where}: bias / 64 reaches [{int(b_file.min())}, {int(b_file.max())}], beyond "
                f"the signed 13-bit bias mantissa [{lo}, {hi}]"
            )
        layers.append(
            {
                "type": np.bytes_(b"dense"),
                "shape": np.array([la.n_out]),
                "weight": wf,
                "bias": b_file,
                "neuron": _lif_hard_neuron(la),
            }
        )
    ro = net.readout
    wf, host = _file_weights(ro.weight, ro.weight_exp, f"readout ({ro.name})", host_shift=True)
    layers.append(
        {
            "type": np.bytes_(b"dense"),
            "shape": np.array([net.out_features]),
            "weight": wf,
            "neuron": _neuron_group(READOUT_VTH, fp.DECAY_UNITY, 0),
        }
    )
    return layers, host


# ---------------------------------------------------------------------------- writing / reading
def _network_of(obj: Any) -> IntegerNetwork:
    if isinstance(obj, IntegerNetwork):
        return obj
    inner = getattr(obj, "network", None)
    if isinstance(inner, IntegerNetwork):
        return inner
    raise TypeError(
        f"export_netx needs an IntegerNetwork (exporters.quantize / exporters.load) or an "
        f"Artifact, got {type(obj).__name__}"
    )


def _write_group(g, d: dict[str, Any]) -> None:
    for key, value in d.items():
        if isinstance(value, dict):
            _write_group(g.create_group(key), value)
        else:
            g.create_dataset(key, data=value)


def export_netx(net: IntegerNetwork | Any, path: str | os.PathLike) -> Path:
    """Write ``net`` (all hidden layers ``"lif-hard"``) as a lava-dl netx ``.net`` file.

    Atomic (temporary file + ``os.replace``). Raises :class:`NetxExportError` naming the layer
    for a non-native neuron model or anything netx cannot express exactly (module docstring).
    """
    import h5py

    net = _network_of(net)
    layers, host_exp = netx_layers(net)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        lg = f.create_group("layer")
        for i, d in enumerate(layers):
            _write_group(lg.create_group(str(i)), d)
        ext = f.create_group("lava_pinn")
        ext.attrs.update(
            format=NETX_FORMAT,
            format_version=NETX_FORMAT_VERSION,
            lava_pinn_version=__version__,
            T=net.T,
            readout_host_exp=host_exp,
        )
        ext.create_dataset("input_scale", data=net.input_scale)
        ext.create_dataset("output_scale", data=net.output_scale)
        for i, la in enumerate(net.hidden):
            g = ext.create_group(f"hidden/{i}")
            g.attrs.update(name=la.name, neuron=la.neuron, weight_exp=la.weight_exp)
            for key in ("weight", "bias_mant", "bias_exp", "threshold", "v0"):
                g.create_dataset(key, data=getattr(la, key))
        g = ext.create_group("readout")
        g.attrs.update(name=net.readout.name, weight_exp=net.readout.weight_exp)
        g.create_dataset("weight", data=net.readout.weight)
        g.create_dataset("bias", data=net.readout.bias)
    out = atomic_write_bytes(path, buf.getvalue())
    log.info("wrote netx file %s (%d layers)", out, len(layers))
    return out


def read_netx(path: str | os.PathLike) -> IntegerNetwork:
    """The :class:`IntegerNetwork` stored in a netx file written by :func:`export_netx`.

    Checks that the file's netx layers are exactly what the stored network exports to, so an
    edited or truncated file is refused (:class:`NetxFileError` naming the file and the problem).
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise NetxFileError(f"netx file {path}: no such file")
    try:
        with h5py.File(path, "r") as f:
            if "lava_pinn" not in f or "layer" not in f:
                raise NetxFileError(
                    f"netx file {path}: no 'lava_pinn' group (not written by "
                    f"exporters.netx.export_netx) or no 'layer' group"
                )
            ext = f["lava_pinn"]
            if ext.attrs.get("format") != NETX_FORMAT:
                raise NetxFileError(f"netx file {path}: format tag is not {NETX_FORMAT!r}")
            version = int(ext.attrs.get("format_version", 0))
            if version > NETX_FORMAT_VERSION:
                raise NetxFileError(
                    f"netx file {path}: format version {version} is newer than this lava-pinn "
                    f"reads (<= {NETX_FORMAT_VERSION}); upgrade lava-pinn"
                )
            hidden = []
            for i in range(len(ext["hidden"])):
                g = ext[f"hidden/{i}"]
                hidden.append(
                    IntLayer(
                        g["weight"][()],
                        int(g.attrs["weight_exp"]),
                        g["bias_mant"][()],
                        g["bias_exp"][()],
                        g["threshold"][()],
                        g["v0"][()],
                        str(g.attrs["neuron"]),
                        name=str(g.attrs["name"]),
                    )
                )
            g = ext["readout"]
            readout = IntReadout(
                g["weight"][()],
                int(g.attrs["weight_exp"]),
                g["bias"][()],
                name=str(g.attrs["name"]),
            )
            net = IntegerNetwork(
                tuple(hidden),
                readout,
                ext["input_scale"][()],
                ext["output_scale"][()],
                int(ext.attrs["T"]),
            )
            stored = [_read_group(f["layer"][str(i)]) for i in range(len(f["layer"]))]
    except NetxFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise NetxFileError(
            f"netx file {path}: unreadable or incomplete ({type(err).__name__}: {err})"
        ) from None
    expected, _ = netx_layers(net)
    if len(stored) != len(expected):
        raise NetxFileError(
            f"netx file {path}: {len(stored)} netx layers, but its network exports to "
            f"{len(expected)}; the file was edited or truncated"
        )
    for i, (got, want) in enumerate(zip(stored, expected, strict=True)):
        if not _same(got, want):
            raise NetxFileError(
                f"netx file {path}: layer/{i} differs from what its stored network exports "
                f"to; the file was edited"
            )
    return net


def _read_group(g) -> dict[str, Any]:
    import h5py

    return {k: (_read_group(v) if isinstance(v, h5py.Group) else v[()]) for k, v in g.items()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_same(a[k], b[k]) for k in a)
        )
    return np.array_equal(np.asarray(a), np.asarray(b))


# ---------------------------------------------------------------------------- running
@dataclass
class NetxGraph(LavaGraph):
    """A netx ``Network`` loaded from a file plus what the host adds (inputs, ``v0``, windows,
    spike counters, readout decoding); one point per run. Same API as
    :class:`~exporters.runtime.LavaGraph`: ``with build_netx_graph(path) as g: g.run(x)``."""

    network: Any = None  # the lava.lib.dl.netx.hdf5.Network process
    out_neuron: Any = None  # the readout's integrating LIF
    host_exp: int = 0

    def _windowed(self) -> list[Any]:
        return [s.counter for s in self.slots] + [self.readout]

    def _read_acc(self) -> np.ndarray:
        overflow = self._get(self.readout.acc, "readout overflow count")
        v = self._get(self.out_neuron.v, "readout v").astype(np.int64)
        limit = READOUT_VTH << fp.VTH_SHIFT
        if overflow.any() or (v < -limit).any():
            raise NetxRangeError(
                f"the netx readout integrator left its exact range (|sum_t W @ s| <= "
                f"{READOUT_SUM_MAX}); this network's output is too large for a netx readout"
            )
        return (v >> fp.ACT_SHIFT) << self.host_exp

    def _reset_lif(self) -> None:
        super()._reset_lif()
        zero = np.zeros(self.out_neuron.v.shape, dtype=np.int64)
        self._set(self.out_neuron.v, zero, "readout v")
        self._set(self.out_neuron.u, zero, "readout u")


def import_netx():
    """Import ``lava.lib.dl.netx.hdf5``; its import-time notices (no CUDA, no Prophesee
    toolbox) go to the debug log instead of the terminal."""
    if "lava.lib.dl.netx.hdf5" in sys.modules:
        return sys.modules["lava.lib.dl.netx.hdf5"]
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        mod = require_lava("lava.lib.dl.netx.hdf5")
    if sink.getvalue().strip():
        log.debug("lava-dl import said: %s", sink.getvalue().strip())
    return mod


def build_netx_graph(path: str | os.PathLike, *, timeout_s: float = 120.0) -> NetxGraph:
    """Load ``path`` with ``lava.lib.dl.netx.hdf5.Network`` and wrap it for exact runs.

    ``graph.run(x)`` returns a :class:`~lava_pinn.runs.SpikeRun` equal (``==``) to
    :func:`exporters.twin.run_twin` of :func:`read_netx` ``(path)``. Imports lava-dl (which
    prints a CUDA notice); remember ``graph.close()`` (or use ``with``).
    """
    net = read_netx(path)
    _, host_exp = netx_layers(net)
    hdf5 = import_netx()
    procs = require_lava("exporters.lava_procs")
    network = hdf5.Network(net_config=str(path))
    blocks = list(network.layers)
    L, T = net.depth, net.T
    if len(blocks) != L + 1:
        raise NetxFileError(f"netx file {path}: netx built {len(blocks)} blocks, expected {L + 1}")
    period = T + L
    slots, conns = [], []
    for i, (la, block) in enumerate(zip(net.hidden, blocks[:L], strict=True)):
        counter = procs.Accumulator(
            shape=(la.n_out,), t_start=i + 1, t_end=i + T, period=period, name=f"count{i}"
        )
        block.neuron.s_out.connect(counter.a_in)
        bias_file = np.zeros(la.n_out, dtype=np.int64) if i == 0 else la.bias >> NETX_BIAS_EXP
        slots.append(
            NeuronSlot(block.neuron, "lif", la.n_out, la.v0, bias_file, None, counter, gated=i > 0)
        )
        if i > 0:
            conns.append(block.synapse)
    out_block = blocks[L]
    conns.append(out_block.synapse)
    overflow = procs.Accumulator(
        shape=(net.out_features,), t_start=1, t_end=period, period=period, name="readout_overflow"
    )
    out_block.neuron.s_out.connect(overflow.a_in)

    def encode(x: np.ndarray):
        return net.encode_input(x)

    return NetxGraph(
        slots,
        conns,
        overflow,
        T,
        1,
        "fixed_pt",
        encode,
        net.decode,
        net.out_features,
        timeout_s,
        network=network,
        out_neuron=out_block.neuron,
        host_exp=host_exp,
    )
