"""``sigma-delta-relu`` networks as lava-dl netx SDNN files, and running them in netx.

File (``layer/{i}``, datasets): ``0``: ``type = input``, ``shape = [n_in]``,
``neuron = {type: SDNN, vThMant: 1}`` (netx builds a ``Delta``); ``1..L``: ``type = dense``,
``weight`` (file mantissas in ``[-128, 127]``), ``bias = b >> S`` (``S = spike_exp + 6``),
``neuron = {type: SDNN, vThMant: vth >> S}`` (``SigmaDelta``, ReLU); ``L + 1``: the readout,
``dense`` with ``neuron = {type: SDNN, sigma_output: 1}`` (``Sigma``, no bias). The group
``lava_pinn`` holds what the host needs: ``in_scale``, ``out_exp``, ``out_bias`` and the
attributes ``in_bits``, ``out_parts``, ``spike_exp`` (build the netx ``Network`` with it: its
default is 6).

:func:`run_netx` loads a file with ``lava.lib.dl.netx.hdf5.Network`` and runs frames one after
another, each held ``hold`` steps, from netx's zero start (``Loihi2SimCfg(select_tag=
"fixed_pt")``): the same :class:`~exporters.sigma_delta.twin.DeltaRun` as
:func:`~exporters.sigma_delta.twin.run_pipeline` of the network on the same frames, one lane.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from exporters.sigma_delta.intnet import IntDeltaNetwork, Synapses
from exporters.sigma_delta.twin import DeltaRun, settle_steps
from lava_pinn.checkpoint import atomic_write_bytes

SDNN_FORMAT = "lava-pinn-netx-sdnn"
SDNN_FORMAT_VERSION = 1


def _file_weights(syn: Synapses, where: str) -> np.ndarray:
    """The file mantissas of one-group synapses: ``W_eff << e`` (what netx makes back of them,
    :func:`exporters.sigma_delta.relu_quant.file_synapses`)."""
    if len(syn.groups) != 1:
        raise ValueError(f"{where}: a netx dense layer holds one weight matrix, got {syn.groups}")
    w, e = syn.groups[0]
    wf = w << e if e >= 0 else w >> -e
    if wf.size and (wf.min() < -128 or wf.max() > 127):
        raise ValueError(
            f"{where}: file weights reach [{int(wf.min())}, {int(wf.max())}], beyond 8 bits "
            "[-128, 127]; quantize with exporters.sigma_delta.quantize_relu"
        )
    return wf


def sdnn_layers(net: IntDeltaNetwork) -> list[dict]:
    """The ``layer/{i}`` contents of ``net`` (``sigma-delta-relu`` layers only)."""
    if not isinstance(net, IntDeltaNetwork):
        raise TypeError(f"net must be an IntDeltaNetwork, got {type(net).__name__}")
    bad = [la.name for la in net.layers if not la.relu]
    if bad:
        raise ValueError(
            f"layer {bad[0]}: netx SDNN layers are Lava's ReLU SigmaDelta; quantize a "
            "neuron='sigma-delta-relu' network with quantize_relu"
        )
    sdnn = np.bytes_(b"SDNN")
    out = [
        {
            "type": np.bytes_(b"input"),
            "shape": np.array([net.in_width]),
            "neuron": {"type": sdnn, "vThMant": np.int64(1)},
        }
    ]
    for la in net.layers:
        sh = la.spike_exp + la.state_exp
        out.append(
            {
                "type": np.bytes_(b"dense"),
                "shape": np.array([la.n_out]),
                "weight": _file_weights(la.synapses, f"layer {la.name}"),
                "bias": np.asarray(la.bias) >> sh,
                "neuron": {"type": sdnn, "vThMant": np.int64(int(la.vth[0]) >> sh)},
            }
        )
    out.append(
        {
            "type": np.bytes_(b"dense"),
            "shape": np.array([net.readout_rows]),
            "weight": _file_weights(net.output, "readout"),
            "neuron": {"type": sdnn, "sigma_output": np.int64(1)},
        }
    )
    return out


def _write_group(g, d: dict) -> None:
    for key, value in d.items():
        if isinstance(value, dict):
            _write_group(g.create_group(key), value)
        else:
            g.create_dataset(key, data=value)


def export_sdnn(net: IntDeltaNetwork, path: str | os.PathLike) -> Path:
    """Write ``net`` as a netx SDNN ``.net`` file (module docstring); atomic (temporary file +
    ``os.replace``)."""
    import h5py

    layers = sdnn_layers(net)
    spike = {la.spike_exp for la in net.layers}
    if len(spike) != 1:
        raise ValueError(f"netx builds every layer with one spike_exp, got {sorted(spike)}")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        lg = f.create_group("layer")
        for i, d in enumerate(layers):
            _write_group(lg.create_group(str(i)), d)
        ext = f.create_group("lava_pinn")
        ext.attrs.update(
            format=SDNN_FORMAT,
            format_version=SDNN_FORMAT_VERSION,
            in_bits=int(net.in_bits),
            out_parts=int(net.out_parts),
            spike_exp=int(spike.pop()),
            bus=int(net.bus),
        )
        ext.create_dataset("in_scale", data=np.asarray(net.in_scale))
        ext.create_dataset("out_exp", data=np.asarray(net.out_exp))
        ext.create_dataset("out_bias", data=np.asarray(net.out_bias))
    return atomic_write_bytes(path, buf.getvalue())


def _host(path: Path) -> dict:
    import h5py

    if not path.is_file():
        raise FileNotFoundError(f"netx file {path} does not exist; write it with export_sdnn")
    with h5py.File(path, "r") as f:
        if "lava_pinn" not in f or f["lava_pinn"].attrs.get("format") != SDNN_FORMAT:
            raise ValueError(f"{path} is not a {SDNN_FORMAT} file (write it with export_sdnn)")
        g = f["lava_pinn"]
        fan = [
            (np.asarray(f[f"layer/{i}/weight"][()]) != 0).sum(0) for i in range(1, len(f["layer"]))
        ]
        return {
            "in_scale": np.asarray(g["in_scale"][()], np.float64),
            "out_exp": np.asarray(g["out_exp"][()], np.int64),
            "out_bias": np.asarray(g["out_bias"][()], np.float64),
            "in_bits": int(g.attrs["in_bits"]),
            "out_parts": int(g.attrs["out_parts"]),
            "spike_exp": int(g.attrs["spike_exp"]),
            "bus": int(g.attrs.get("bus", 0)),
            "fan": fan,
        }


def run_netx(path: str | os.PathLike, frames: torch.Tensor, *, hold: int | None = None) -> DeltaRun:
    """Run the netx SDNN file ``path`` on ``frames`` (``(K, n_in)`` points or ``(K, 1, n_in)``),
    one after another, each held ``hold`` steps (default: until settled, ``L + 2``), from the
    zero start. Returns what :func:`~exporters.sigma_delta.twin.run_pipeline` returns for the
    same frames in one lane (``y[k]``: the readout at the last step of frame ``k``; messages
    and payloads over all steps). Imports lava-dl; the Lava workers are always stopped."""
    from exporters.netx import import_netx

    path = Path(path)
    h = _host(path)
    x = torch.as_tensor(frames, dtype=torch.float64)
    if x.ndim == 3:
        if x.shape[1] != 1:
            raise ValueError(f"run_netx runs one lane, got frames of shape {tuple(x.shape)}")
        x = x[:, 0]
    if x.ndim != 2 or x.shape[1] != h["in_scale"].shape[0] or x.shape[0] == 0:
        raise ValueError(
            f"frames must be (K, {h['in_scale'].shape[0]}) points, got shape {tuple(x.shape)}"
        )
    if not bool(torch.isfinite(x).all()):
        raise ValueError("frames hold NaN or inf values; pass finite points")
    codes = torch.round(x / torch.from_numpy(h["in_scale"]) * 2.0 ** h["in_bits"])
    bus = [1 << (h["in_bits"] - 6 * k) for k in range(h["bus"])]
    codes = torch.cat([codes, torch.tensor(bus, dtype=codes.dtype).expand(len(codes), -1)], 1)
    codes = codes.to(torch.int64).numpy()
    hdf5 = import_netx()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    network = hdf5.Network(net_config=str(path), spike_exp=h["spike_exp"])
    blocks = list(network.layers)
    n_layers = len(blocks) - 2
    hold = n_layers + 2 if hold is None else int(hold)
    if hold < 1:
        raise ValueError(f"hold must be >= 1 step, got {hold}")
    K = codes.shape[0]
    steps = K * hold
    src = RingBuffer(data=np.repeat(codes.T, hold, axis=1).astype(np.int32))
    src.s_out.connect(blocks[0].neuron.a_in)
    mons = []
    for b in blocks[:-1]:
        m = Monitor()
        m.probe(b.neuron.s_out, steps)
        mons.append(m)
    m_out = Monitor()
    m_out.probe(blocks[-1].neuron.sigma, steps)
    try:
        network.run(
            condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt")
        )
        sent = [
            np.asarray(m.get_data()[b.neuron.name]["s_out"], np.int64)
            for m, b in zip(mons, blocks[:-1], strict=True)
        ]
        acc_t = np.asarray(m_out.get_data()[blocks[-1].neuron.name]["sigma"], np.int64)
    finally:
        network.stop()
    t = torch.from_numpy
    msgs = [t((s != 0).sum(0))[None] for s in sent]
    pay = [t(np.abs(s).sum(0))[None] for s in sent]
    syn = [(m * t(f)).sum(1) for m, f in zip(msgs, h["fan"], strict=True)]
    acc_k = t(acc_t[hold - 1 :: hold])  # (K, readout rows)
    e = t(h["out_exp"]).to(torch.float64)
    v = (acc_k.to(torch.float64) * 2.0**-e).reshape(K, h["out_parts"], -1).sum(1)
    y = (v + t(h["out_bias"]))[:, None]
    return DeltaRun(y, acc_k[-1][None], msgs, pay, syn, K, steps)


__all__ = ["export_sdnn", "run_netx", "sdnn_layers", "settle_steps"]
