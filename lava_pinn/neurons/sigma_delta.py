"""``sigma-delta``: a sigma-delta neuron that applies the ANN's own activation (graded spikes,
one neuron per ANN unit). ``sigma-delta-relu``: Lava's own ``lava.proc.sdn.SigmaDelta`` (ReLU),
the neuron Loihi 2 runs without custom microcode, mirrored exactly.

Both send the *change* of their activation as one graded message. ``sigma-delta`` keeps, per
neuron, state ``(sigma, act, residue)`` (``residue = act - sent``, ``sent`` the sum of its
messages) and a fixed *origin* ``o`` (its rest activation); per step:

    sigma   <- sigma + a                          (integrate the incoming weighted changes)
    act_new  = f(sigma + bias)                     (the activation)
    target   = o + vth * round((act_new - o) / vth)   (the nearest point of the send grid)
    s        = target - (act - residue)            (0 unless the grid point changed)
    residue <- act_new - target;   act <- act_new

so what was sent is always the activation rounded to the grid ``o + vth Z``: within half a
threshold of it, with no lag in the direction of change, and a function of the activation alone.
A feed-forward chain of such neurons is therefore memoryless: held constant, it settles after
one message per neuron whose rounded activation moved, to the same state whatever came before;
over a stream, frame ``k``'s output equals the static output for frame ``k``, and a neuron sends
once per grid line its activation crosses, so the cost follows the change of the solution, not
the frame rate. ``vth = 1`` payload unit sends every change in full. At rest (``act = o``)
nothing is sent.

``sigma-delta-relu`` (Lava's ``SigmaDelta``) sends the whole accumulated change instead, once it
reaches the threshold: ``delta = act_new - act + residue``, ``s = delta`` where
``|delta| >= vth`` else 0, ``residue <- delta - s`` (what was sent lags the activation by less
than one threshold).

Float (``step``): ``f`` is the ANN's activation itself, all quantities in the ANN unit.

Integer, ``sigma-delta`` (:func:`int_step`): ``sigma``, ``act``, ``residue`` and the payload are
integers; ``sigma`` is saturated to 24 bits. The input is ``a`` or a pair ``(a, a_fine)``:
``a``, the sum of the first weight group, in units of ``2**8`` fine units; ``a_fine``, the
raw sum of a second, finer group (weights ``2**-8`` of the first's unit). Both enter exactly
through a remainder register of ``K`` bits (``K = p.sum_shift`` per neuron, default 8):
``t = rem + (a << 8) + a_fine``, ``sigma += t >> K``, ``rem = t mod 2**K``, so no rounding
error accumulates over a stream, and ``sigma``'s unit is ``2**(K - 8)`` of the first group's
product unit: the 24 bits of ``sigma`` need only hold the pre-activation's range, while the
payloads and weights keep all their fraction bits (``K = 8``: ``sigma += a + ((rem + a_fine)
>> 8)``). ``f`` is a
per-layer table ``tab`` of ``N + 1`` activation values at ``N`` equal segments, read with
linear interpolation (:func:`table_act`): ``d = u - lo``, ``i = clip(d >> sh, 0, N - 1)``,
``r = d - (i << sh)``, ``f(u) = tab[i] + ((tab[i + 1] - tab[i]) r) >> sh``, per neuron
``lo`` and ``sh`` (so every neuron may have its own input scale, a power of two); beyond the
table it extrapolates the end segments linearly. Rounding is half up:
``target = o + ((act_new - o + vth // 2) // vth) * vth``.

Integer, ``sigma-delta-relu`` (:func:`relu_int_step`): lava-nc 0.10.0's
``PySigmaDeltaModelFixed``, ``f(u) = max(u, 0)``, and the message is ``s >> state_exp``:
the low ``state_exp`` bits of every message are dropped for good (``act`` keeps the full
value, ``residue`` is zero after a send), as the pinned release does. :func:`delta_int_step`
is the input encoder (``PyDeltaModelFixed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lava_pinn.neurons.model import V_LIMIT, Array, NeuronModel, saturate

STATE_VARS = ("sigma", "act", "residue", "rem")
FINE_SHIFT = 8  # a fine weight group's weights are 2**-8 of the first's; default remainder bits


@dataclass(frozen=True)
class DeltaParams:
    """The per-layer parameters of a sigma-delta step (arrays broadcast over neurons).

    ``bias``, ``vth``: in the neuron's own unit (float: the ANN unit; integer: ``sigma``'s and
    the payload's integer units). ``activation``: the float model's ``f`` (a callable on
    tensors). ``lo``, ``shift``, ``table``: the integer ``sigma-delta`` activation table
    (:func:`table_act`). ``state_exp``: ``sigma-delta-relu``'s message shift. ``origin``:
    ``sigma-delta``'s send-grid origin per neuron (its rest activation; ``None``: 0).
    ``sum_shift``: ``sigma-delta``'s remainder bits ``K`` per neuron (``None``:
    :data:`FINE_SHIFT`; see :func:`int_step`).
    """

    bias: Any
    vth: Any
    activation: Any = None
    lo: Any = None
    shift: Any = None
    table: Any = None
    state_exp: int = 0
    origin: Any = None
    sum_shift: Any = None


def _delta(state: tuple, act_new: Array, vth: Array) -> tuple[Array, tuple]:
    sigma, act, residue = state
    delta = act_new - act + residue
    send = abs(delta) >= vth
    s = delta * send
    return s, (sigma, act_new, delta - s)


def _grid_send(act: Array, residue: Array, act_new: Array, target: Array) -> tuple:
    """``(s, residue)`` of a neuron whose sent sum moves from ``act - residue`` to ``target``."""
    return target - (act - residue), act_new - target


def step(state: tuple, a: Array, p: DeltaParams) -> tuple[Array, tuple]:
    """Float step: ``(s, (sigma, act, residue))`` with ``f = p.activation``; the grid rounds
    to nearest (``vth <= 0``: every change is sent)."""
    sigma, act, residue = state
    sigma = sigma + a
    act_new = p.activation(sigma + p.bias)
    o = 0.0 if p.origin is None else p.origin
    vth = p.vth
    if isinstance(vth, (int, float)) and vth <= 0:
        target = act_new
    else:
        target = o + (((act_new - o) / vth) + 0.5).floor() * vth
    s, residue = _grid_send(act, residue, act_new, target)
    return s, (sigma, act_new, residue)


def table_act(u: Array, lo: Array, sh: Array, table: Array) -> Array:
    """Integer activation by table with linear interpolation (see the module docstring).
    ``table``: 1-D, ``N + 1 >= 2`` entries, in the payload unit; ``lo``, ``sh``: per neuron (or
    scalars), ``sh >= 0``. Exact integer arithmetic (numpy int64 / torch int64)."""
    n = table.shape[0] - 1
    d = u - lo
    i = (d >> sh).clip(0, n - 1)
    r = d - (i << sh)
    t0 = table[i]
    return t0 + (((table[i + 1] - t0) * r) >> sh)


def int_step(state: tuple, a, p: DeltaParams) -> tuple[Array, tuple]:
    """Integer ``sigma-delta`` step: ``(s, (sigma, act, residue, rem))``; ``a``: the incoming
    sum, or ``(a, a_fine)`` (see the module docstring)."""
    sigma, act, residue, rem = state
    a, a_fine = a if isinstance(a, tuple) else (a, 0)
    k = FINE_SHIFT if p.sum_shift is None else p.sum_shift
    t = rem + (a << FINE_SHIFT) + a_fine
    carry = t >> k
    rem = t - (carry << k)
    sigma = saturate(sigma + carry)
    act_new = table_act(sigma + p.bias, p.lo, p.shift, p.table)
    o = 0 if p.origin is None else p.origin
    target = o + ((act_new - o + (p.vth >> 1)) // p.vth) * p.vth
    s, residue = _grid_send(act, residue, act_new, target)
    return s, (sigma, act_new, residue, rem)


def relu_int_step(state: tuple, a: Array, p: DeltaParams) -> tuple[Array, tuple]:
    """Integer ``sigma-delta-relu`` step, lava-nc 0.10.0 ``PySigmaDeltaModelFixed`` exactly:
    ``p.bias`` and ``p.vth`` as that model holds them (already ``<< (spike_exp + state_exp)``);
    returns ``(s >> state_exp, state)``."""
    sigma = state[0] + a
    s, state = _delta((sigma, state[1], state[2]), (sigma + p.bias).clip(min=0), p.vth)
    return s >> p.state_exp, state


def relu_float_step(state: tuple, a: Array, p: DeltaParams) -> tuple[Array, tuple]:
    """Float ``sigma-delta-relu`` step (``f = ReLU``)."""
    sigma = state[0] + a
    return _delta((sigma, state[1], state[2]), (sigma + p.bias).clip(min=0), p.vth)


def delta_int_step(state: tuple, x: Array, vth: Array, shift: int) -> tuple[Array, tuple]:
    """The input encoder, lava-nc 0.10.0 ``PyDeltaModelFixed``: ``x << shift`` is the value to
    encode (``shift = spike_exp + state_exp``), messages ``>> state_exp`` are the caller's."""
    act, residue = state
    xs = x << shift
    delta = xs - act + residue
    s = delta * (abs(delta) >= vth)
    return s, (xs, delta - s)


MODEL = NeuronModel(
    name="sigma-delta",
    description=(
        "sigma-delta neuron applying the ANN's own activation (integer: a per-layer table "
        "with linear interpolation); sends the change of its activation, rounded to a grid "
        "of threshold spacing, as one graded message (memoryless: streams cost the change)"
    ),
    step=step,
    int_step=int_step,
    signed=True,
    levels=V_LIMIT,
    reset="soft",
    state_vars=STATE_VARS,
    exact_on_floats=False,
    loihi_native=False,
    coding="delta",
)

RELU_STATE_VARS = ("sigma", "act", "residue")

RELU_MODEL = NeuronModel(
    name="sigma-delta-relu",
    description=(
        "Lava's SigmaDelta (ReLU), as lava-nc 0.10.0's fixed_pt model computes it (messages "
        ">> state_exp, the dropped bits lost); Loihi 2 runs it without custom microcode; "
        "other activations become sums of ReLU pieces"
    ),
    step=relu_float_step,
    int_step=relu_int_step,
    signed=True,
    levels=V_LIMIT,
    reset="soft",
    exact_on_floats=False,
    loihi_native=True,
    coding="delta",
    state_vars=RELU_STATE_VARS,
)
