"""``sigma-delta``: a sigma-delta neuron that applies the ANN's own activation (graded spikes,
one neuron per ANN unit). ``sigma-delta-relu``: Lava's own ``lava.proc.sdn.SigmaDelta`` (ReLU),
the neuron Loihi 2 runs without custom microcode, mirrored exactly.

Both send the *change* of their activation as one graded message. Per step, with state
``(sigma, act, residue)`` (all zero-initialised, or set to a rest state):

    sigma   <- sigma + a                     (integrate the incoming weighted changes)
    act_new  = f(sigma + bias)                (the activation)
    delta    = act_new - act + residue
    s        = delta  where |delta| >= vth else 0
    residue <- delta - s;   act <- act_new

so ``residue = act - (sum of sent s)`` after every step: what was sent tracks the activation
within one threshold. Held constant, a feed-forward chain settles after one message per
neuron whose activation moved by at least ``vth``; over a slowly changing input only the
changes travel.

Float (``step``): ``f`` is the ANN's activation itself, all quantities in the ANN unit.

Integer, ``sigma-delta`` (:func:`int_step`): ``sigma``, ``act``, ``residue`` and the payload are
integers; ``sigma`` is saturated to 24 bits. The input is ``a`` or a pair ``(a, a_fine)``:
``a_fine``, the raw sum of a second, finer weight group (weights ``2**-8`` of the first's
unit), enters exactly: ``t = rem + a_fine``, ``sigma += a + (t >> 8)``, ``rem = t mod 256``
(an 8-bit remainder register), so no rounding error accumulates over a stream. ``f`` is a
per-layer table ``tab`` of ``N + 1`` activation values at ``N`` equal segments, read with
linear interpolation (:func:`table_act`): ``d = u - lo``, ``i = clip(d >> sh, 0, N - 1)``,
``r = d - (i << sh)``, ``f(u) = tab[i] + ((tab[i + 1] - tab[i]) r) >> sh``, per neuron
``lo`` and ``sh`` (so every neuron may have its own input scale, a power of two); beyond the
table it extrapolates the end segments linearly. The payload ``s`` is the full ``delta``.

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
FINE_SHIFT = 8  # a fine weight group's sums enter sigma >> FINE_SHIFT, the remainder kept


@dataclass(frozen=True)
class DeltaParams:
    """The per-layer parameters of a sigma-delta step (arrays broadcast over neurons).

    ``bias``, ``vth``: in the neuron's own unit (float: the ANN unit; integer: ``sigma``'s and
    the payload's integer units). ``activation``: the float model's ``f`` (a callable on
    tensors). ``lo``, ``shift``, ``table``: the integer ``sigma-delta`` activation table
    (:func:`table_act`). ``state_exp``: ``sigma-delta-relu``'s message shift.
    """

    bias: Any
    vth: Any
    activation: Any = None
    lo: Any = None
    shift: Any = None
    table: Any = None
    state_exp: int = 0


def _delta(state: tuple, act_new: Array, vth: Array) -> tuple[Array, tuple]:
    sigma, act, residue = state
    delta = act_new - act + residue
    send = abs(delta) >= vth
    s = delta * send
    return s, (sigma, act_new, delta - s)


def step(state: tuple, a: Array, p: DeltaParams) -> tuple[Array, tuple]:
    """Float step: ``(s, (sigma, act, residue))`` with ``f = p.activation``."""
    sigma = state[0] + a
    return _delta((sigma, state[1], state[2]), p.activation(sigma + p.bias), p.vth)


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
    if isinstance(a, tuple):
        a, a_fine = a
        t = rem + a_fine
        carry = t >> FINE_SHIFT
        rem = t - (carry << FINE_SHIFT)
        a = a + carry
    sigma = saturate(sigma + a)
    act_new = table_act(sigma + p.bias, p.lo, p.shift, p.table)
    s, (sigma, act, residue) = _delta((sigma, act, residue), act_new, p.vth)
    return s, (sigma, act, residue, rem)


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
        "with linear interpolation); sends the change of its activation as one graded "
        "message when it reaches the threshold, keeping the remainder"
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
