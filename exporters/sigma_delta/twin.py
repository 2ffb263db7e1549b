"""The integer twin of a deployed sigma-delta network: what Lava's ``fixed_pt`` graph computes,
value for value, in vectorised torch (int64; Dense products in float64, exact).

No synaptic delay is simulated: a Lava graph delays each Dense by one step, which shifts every
layer's sequence of messages in time without changing it, so after the last frame has
propagated (``depth + 1`` more steps) the Lava graph holds the same sums, counts and outputs.

:func:`run_static`: every point from the rest state, held until settled (one step here,
``depth + 1`` on the pipelined chip). :func:`run_stream`: a sequence of frames over lanes
without reset; a frame that changes no input message is skipped, exactly (with no incoming
message a neuron's activation, hence its grid point, is unchanged), and so is the rest of a
step after a layer that sends nothing.

:func:`run_pipeline`: the netx SDNN graph of a ``sigma-delta-relu`` network step for step, from
netx's zero start (the biases' start-up burst included), each frame held a number of steps;
:func:`exporters.sigma_delta.netx.run_netx` returns the same :class:`DeltaRun` (``==``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from exporters.sigma_delta.intnet import GROUP_SHIFT, IntDeltaNetwork
from lava_pinn.neurons import get_neuron


@dataclass(frozen=True)
class DeltaRun:
    """Outputs and activity of a twin run.

    ``y``: decoded outputs ``(n, n_out)`` (static) or ``(K_rec, n, n_out)`` at the recorded
    frames; ``messages[l]``: messages per lane sent by the input encoder (``l = 0``) and each
    layer, ``(n, n_l)``; ``payload_abs[l]``: summed ``|payload|``; ``synops[l]``: synaptic ops
    the messages of ``l`` caused in the next synapses (over all groups) per lane;
    ``steps``: the steps simulated (skipped frames excluded) and ``frames`` the frames run.
    """

    y: torch.Tensor
    acc: torch.Tensor
    messages: list[torch.Tensor]
    payload_abs: list[torch.Tensor]
    synops: list[torch.Tensor]
    frames: int
    steps: int

    @property
    def lanes(self) -> int:
        return int(self.messages[0].shape[0])

    def messages_per_point(self) -> float:
        return float(sum(m.sum() for m in self.messages)) / self.lanes

    def synops_per_point(self) -> float:
        return float(sum(s.sum() for s in self.synops)) / self.lanes


def _syn_list(net: IntDeltaNetwork):
    return [la.synapses for la in net.layers] + [net.output]


def _state0(rest: tuple, layer, n: int) -> tuple:
    """``(sigma, act, residue = 0[, rem])`` of ``n`` lanes at rest, as the model's state."""
    sigma, act, rem = (torch.from_numpy(np.array(v)).expand(n, -1).clone() for v in rest)
    zero = torch.zeros(n, layer.n_out, dtype=torch.int64)
    full = (sigma, act, zero, rem)
    return full[: len(get_neuron(layer.neuron).state_vars)]


def _run(net: IntDeltaNetwork, codes, record: list[int] | None, prev=None):
    """``codes`` ``(K, n, n_in)`` int64 encoder values, or an iterable of such chunks (run
    one after the other, state carried over); returns a :class:`DeltaRun`."""
    chunks = [codes] if isinstance(codes, torch.Tensor) else codes
    it = iter(chunks)
    first = next(it)
    n = first.shape[1]
    steps = [get_neuron(la.neuron).int_step for la in net.layers]
    params = [la.params(r[1]) for la, r in zip(net.layers, net.rest, strict=True)]
    state = [_state0(r, la, n) for r, la in zip(net.rest, net.layers, strict=True)]
    acc = torch.from_numpy(np.array(net.out_rest)).expand(n, -1).clone()
    sizes = [net.in_width] + [la.n_out for la in net.layers]
    msgs = [torch.zeros(n, m, dtype=torch.int64) for m in sizes]
    pay = [torch.zeros(n, m, dtype=torch.int64) for m in sizes]
    fan = [torch.from_numpy(np.array(s.fan_out())) for s in _syn_list(net)]
    prev = torch.zeros(n, net.in_width, dtype=torch.int64) if prev is None else prev
    rec = None if record is None else set(record)
    outs = []
    done = 0
    k = -1
    for frame in _frames(first, it):
        k += 1
        e = frame - prev
        prev = frame
        if bool(e.any()):
            done += 1
            s = e
            msgs[0] += s != 0
            pay[0] += s.abs()
            for i, la in enumerate(net.layers):
                if not bool(s.any()):
                    break  # no message into layer i: it and every later layer stay quiet
                a = la.synapses.apply(s)
                a = a[0] if la.synapses.lava_shift else a  # a Lava Dense: no fine group
                s, state[i] = steps[i](state[i], a, params[i])
                msgs[i + 1] += s != 0
                pay[i + 1] += s.abs()
            else:
                a, fine = net.output.apply(s)
                acc = acc + (a if net.output.lava_shift else (a << GROUP_SHIFT) + fine)
        if rec is None or k in rec:
            outs.append(net.decode(acc))
    syn = [(m * f).sum(1) for m, f in zip(msgs, fan, strict=True)]
    y = torch.stack(outs) if outs else torch.zeros(0, n, net.out_features, dtype=torch.float64)
    return DeltaRun(y, acc, msgs, pay, syn, k + 1, done)


def _frames(first: torch.Tensor, rest):
    yield from first
    for chunk in rest:
        yield from chunk


def run_static(net: IntDeltaNetwork, x: torch.Tensor, *, chunk: int = 8192) -> DeltaRun:
    """Every point of ``x`` ``(n, n_in)`` from the rest state until settled."""
    x = _points(net, x)
    parts = [
        _run(net, net.encode(x[lo : lo + chunk])[None], None) for lo in range(0, x.shape[0], chunk)
    ]
    return DeltaRun(
        torch.cat([p.y[0] for p in parts]),
        torch.cat([p.acc for p in parts]),
        [torch.cat([p.messages[i] for p in parts]) for i in range(len(parts[0].messages))],
        [torch.cat([p.payload_abs[i] for p in parts]) for i in range(len(parts[0].messages))],
        [torch.cat([p.synops[i] for p in parts]) for i in range(len(parts[0].messages))],
        1,
        max(p.steps for p in parts),
    )


STREAMING_NEURONS_HINT = "sigma-delta, sigma-delta-relu"


def run_stream(
    net: IntDeltaNetwork, frames: torch.Tensor, *, record: list[int] | None = None
) -> DeltaRun:
    """``frames`` ``(K, lanes, n_in)`` run in order without reset (only changes travel);
    outputs kept at the frames in ``record`` (default: every frame, when that fits 2**26
    values)."""
    _check_frames(net, frames)
    K, n, m = frames.shape
    if record is None:
        if K * n * net.out_features > 2**26:
            raise ValueError(
                f"{K} frames x {n} lanes of outputs is too much to keep; pass record=[frame "
                "indices] to keep outputs at some frames"
            )
        record = list(range(K))
    bad_rec = [r for r in record if not 0 <= int(r) < K]
    if bad_rec:
        raise ValueError(f"record holds frame indices outside [0, {K - 1}]: {bad_rec[:5]}")
    return _run(net, net.encode(frames), [int(r) for r in record])


def _check_frames(net: IntDeltaNetwork, frames: object) -> None:
    if not isinstance(frames, torch.Tensor) or frames.ndim != 3:
        raise ValueError(
            f"frames must be a (frames, lanes, {net.in_features}) tensor, got "
            f"{getattr(frames, 'shape', type(frames).__name__)}"
        )
    if frames.shape[2] != net.in_features:
        raise ValueError(
            f"frames must have {net.in_features} input components in their last axis, got "
            f"shape {tuple(frames.shape)}"
        )
    if frames.shape[0] == 0 or frames.shape[1] == 0:
        raise ValueError(f"frames are empty (shape {tuple(frames.shape)})")
    bad = ~torch.isfinite(frames)
    if bool(bad.any()):
        k = int(bad.any(2).any(1).nonzero()[0])
        raise ValueError(f"frame {k} holds NaN or inf values; pass finite frames")


def run_stream_chunks(net: IntDeltaNetwork, chunks, *, record: list[int] | None = None) -> DeltaRun:
    """:func:`run_stream` over frames given as an iterable of ``(k, lanes, n_in)`` chunks (made
    lazily, so a long sweep never holds all its frames), outputs kept at ``record`` (global
    frame indices; default none)."""

    def codes():
        for c in chunks:
            _check_frames(net, c)
            yield net.encode(c)

    return _run(net, codes(), [] if record is None else [int(r) for r in record])


def _points(net: IntDeltaNetwork, x: object) -> torch.Tensor:
    from lava_pinn.conversion.network import check_points

    x, _ = check_points(x, net.in_features, torch.float64)
    return x


# ---------------------------------------------------------------------------- netx graph
class DeltaRangeError(ValueError):
    """A deployed value left what the chip holds (24-bit state, 16-bit payload)."""


def settle_steps(net: IntDeltaNetwork) -> int:
    """Steps a held point needs in netx's pipelined graph: the input layer, one step per Dense
    (``L`` hidden + the readout) and the readout's own step."""
    return len(net.layers) + 2


def _check_range(name: str, what: str, v: torch.Tensor, limit: int) -> None:
    if bool((v.abs() > limit).any()):
        raise DeltaRangeError(
            f"layer {name}: {what} reached {int(v.abs().max())}, beyond the chip's {limit}; "
            "quantize with more headroom (a lower scale) or keep inputs inside the calibration "
            "range"
        )


def run_pipeline(
    net: IntDeltaNetwork, frames: torch.Tensor, *, hold: int | None = None
) -> DeltaRun:
    """See :func:`pipeline_states` (this is its :class:`DeltaRun`)."""
    return pipeline_states(net, frames, hold=hold)[0]


def pipeline_states(
    net: IntDeltaNetwork, frames: torch.Tensor, *, hold: int | None = None
) -> tuple[DeltaRun, list[torch.Tensor], list[torch.Tensor]]:
    """The netx SDNN graph step for step, from its zero start state (``sigma-delta-relu``
    layers only): ``frames`` ``(K, lanes, n_in)``, each held for ``hold`` steps
    (default :func:`settle_steps`), lanes independent. Per step ``t``: the input ``Delta``
    encodes ``x_q(t)``; every ``Dense`` delivers at ``t`` what it received at ``t - 1``; each
    ``SigmaDelta`` is :func:`~lava_pinn.neurons.sigma_delta.relu_int_step`; the readout
    ``Sigma`` accumulates. ``y[k]``: decoded at the last step of frame ``k``. Messages count
    payloads ``!= 0`` over all steps (the start-up burst of the biases included).

    Also returns, per sender (the input encoder first), its final ``act`` and the sum of the
    payloads it sent ``(lanes, n_l)``: ``act / 2**state_exp - sent`` is what its readers miss
    (residues and the bits ``>> state_exp`` dropped)."""
    from lava_pinn.neurons.model import V_LIMIT
    from lava_pinn.neurons.sigma_delta import delta_int_step, relu_int_step

    if any(not la.relu for la in net.layers):
        raise ValueError("run_pipeline runs sigma-delta-relu networks (netx SDNN) only")
    hold = settle_steps(net) if hold is None else int(hold)
    if hold < 1:
        raise ValueError(f"hold must be >= 1 step, got {hold}")
    codes = net.encode(frames)
    K, n, n_in = codes.shape
    la0 = net.layers[0]
    sh = la0.spike_exp + la0.state_exp
    vth_in = torch.tensor(1 << sh, dtype=torch.int64)
    _check_range("input", "x_q << (spike_exp + state_exp)", codes << sh, V_LIMIT)
    params = [la.params() for la in net.layers]
    z = torch.zeros
    st_in = (z(n, n_in, dtype=torch.int64), z(n, n_in, dtype=torch.int64))
    state = [(z(n, la.n_out, dtype=torch.int64),) * 3 for la in net.layers]
    syn = [la.synapses for la in net.layers] + [net.output]
    buf = [z(n, s.n_out, dtype=torch.int64) for s in syn]
    acc = z(n, net.readout_rows, dtype=torch.int64)
    sizes = [n_in] + [la.n_out for la in net.layers]
    msgs = [z(n, m, dtype=torch.int64) for m in sizes]
    pay = [z(n, m, dtype=torch.int64) for m in sizes]
    pmax = (1 << (MSG_PAYLOAD_BITS - 1)) - 1
    names = ["input"] + [la.name for la in net.layers]
    sent = [z(n, m, dtype=torch.int64) for m in sizes]
    outs = []
    for k in range(K):
        for _ in range(hold):
            s, st_in = delta_int_step(st_in, codes[k], vth_in, sh)
            s = s >> la0.state_exp
            out = [s]
            for i, la in enumerate(net.layers):
                s, state[i] = relu_int_step(state[i], buf[i], params[i])
                _check_range(la.name, "sigma", state[i][0], V_LIMIT)
                out.append(s)
            acc = acc + buf[-1]
            _check_range("readout", "Sigma accumulator", acc, V_LIMIT)
            for i, s in enumerate(out):
                _check_range(names[i], "payload", s, pmax)
                msgs[i] += s != 0
                pay[i] += s.abs()
                sent[i] += s
                buf[i] = syn[i].apply(s)[0]  # lava_shift: no fine part
        outs.append(net.decode(acc))
    fan = [torch.from_numpy(np.array(s.fan_out())) for s in syn]
    sy = [(m * f).sum(1) for m, f in zip(msgs, fan, strict=True)]
    acts = [st_in[0]] + [st[1] for st in state]
    return DeltaRun(torch.stack(outs), acc, msgs, pay, sy, K, K * hold), acts, sent


MSG_PAYLOAD_BITS = 16  # netx's default num_message_bits for SDNN layers
