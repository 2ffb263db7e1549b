"""``lif-hard``: Lava's built-in LIF with ``du = 1`` (the current is this step's input) and
``dv = 0`` (no leak): hard reset, strict threshold, runs on Loihi 2 without microcode.

Float: ``v <- v + I;  s = [v > V_th];  v <- 0 where s``. The residue above threshold is lost at
each spike, so the rate is biased low.

Integer (lava-nc 0.10.0 ``PyLifModelBitAcc``): ``u, v`` 24-bit, ``du, dv`` 12-bit;
``u <- wrap24(sign(u (4096 - (du + 1))) (|u (4096 - (du + 1))| >> 12) + (a << 6))`` with Lava's
one-sided wrap (``x > 2**23 -> x - 2**24``; ``x <= -2**23 -> x + 2**24``);
``v <- clip(sign(v (4096 - dv)) (|v (4096 - dv)| >> 12) + u + (bias_mant << bias_exp),
-(2**23 - 1), 2**23 - 1)``; ``s = v > (vth << 6)``; ``v <- 0`` where ``s`` (``u`` is kept).
``du = 4095`` makes ``u`` the new input alone each step. Fields: ``bias_mant`` signed 13-bit,
``bias_exp`` 0..7, ``vth`` 17-bit, one threshold per layer.
"""

from __future__ import annotations

from lava_pinn.neurons.intops import trunc_shift_right, where, wrap
from lava_pinn.neurons.model import V24, V_LIMIT, Array, NeuronModel

UV_MAX = 2**23  # Lava's max_uv_val
DECAY_SHIFT = 12
DECAY_UNITY = 2**DECAY_SHIFT
ACT_SHIFT = 6  # synaptic input << 6
VTH_SHIFT = 6  # threshold << 6
VTH_MAX = 2**17 - 1
BIAS_MANT_RANGE = (-(2**12), 2**12 - 1)  # signed 13-bit
BIAS_EXP_RANGE = (0, 7)  # unsigned 3-bit
DU = 4095
DV = 0


def step(v: Array, current: Array, threshold: Array) -> tuple[Array, Array]:
    """Float step; returns ``(s (bool), v)``."""
    v = v + current
    s = v > threshold
    return s, v * (~s)


def lif_step_int(
    u: Array, v: Array, a_in: Array, bias: Array, vth: int, du: int = DU, dv: int = DV
) -> tuple[Array, Array, Array]:
    """One step of Lava's bit-accurate LIF for any ``du, dv``; returns ``(s, u, v)``.

    ``a_in``: Dense output (int32 range); ``bias = bias_mant << bias_exp``; ``vth``: the 17-bit
    threshold mantissa (the comparison uses ``vth << 6``). ``s`` is int 0/1.
    """
    # the decays with their factor at 0 (du = 4095) or unity (dv = 0) are exact shortcuts of
    # the general expressions: the same integers, without the sign/shift work per element
    syn = wrap(a_in << ACT_SHIFT, 32)
    if du + 1 == DECAY_UNITY:
        cur = syn  # sign(0) (0 >> 12) = 0: u is this step's input alone
    else:
        decayed_u = wrap(trunc_shift_right(u * (DECAY_UNITY - (du + 1)), DECAY_SHIFT), 32)
        cur = wrap(decayed_u + syn, 32)
    # Lava's wrap (not a true modulo): both tests look at the unwrapped value.
    w1 = where(cur > UV_MAX, cur - 2 * UV_MAX, cur)
    u = where(w1 <= -UV_MAX, cur + 2 * UV_MAX, w1)
    if dv == 0:
        decayed_v = wrap(v, 32)  # sign(4096 v) (|4096 v| >> 12) = v
    else:
        decayed_v = wrap(trunc_shift_right(v * (DECAY_UNITY - dv), DECAY_SHIFT), 32)
    v = (decayed_v + u + bias).clip(-V_LIMIT, V_LIMIT)
    s = (v > (int(vth) << VTH_SHIFT)) * 1
    return s, u, v * (1 - s)


def int_step(state: tuple, a: Array, bias: Array, threshold: Array) -> tuple[Array, tuple]:
    """Integer step on ``state = (u, v)``; ``threshold`` is the layer's ``vth`` mantissa."""
    u, v = state
    s, u, v = lif_step_int(u, v, a, bias, int(threshold), DU, DV)
    return s, (u, v)


MODEL = NeuronModel(
    name="lif-hard",
    description="Lava LIF (du=1, dv=0), hard reset",
    step=step,
    int_step=int_step,
    reset="hard",
    state_vars=("u", "v"),
    act_shift=ACT_SHIFT,
    bias_mant_range=BIAS_MANT_RANGE,
    bias_exp_range=BIAS_EXP_RANGE,
    threshold_range=(0, VTH_MAX),
    v_range=V24,
    uniform_threshold=True,
    threshold_unit=1 << VTH_SHIFT,
    exact_on_floats=False,
    loihi_native=True,
    lava="lif",
    lif_decay=(DU, DV),
)
