"""``sigma-delta-relu`` networks in the integers netx gives Lava's ``SigmaDelta`` (``fixed_pt``).

netx builds every SDNN layer as ``SigmaDelta(vth = vThMant, bias = bias, state_exp = 6,
spike_exp = s)`` behind a ``Dense`` whose file weights go through ``optimize_weight_bits``
(one exponent per matrix: 8-bit signed mantissas, ``[-128, 127]`` here), the input layer as
``Delta`` and a ``sigma_output`` layer as ``Sigma``. Per neuron ``p`` (``S = s + 6``):

    sigma_p += sum_n W[p, n] m_n;   act_p = max(sigma_p + (b_p << S), 0)
    m_p = delta_p >> 6 where |delta_p| >= vth << S        (the low 6 bits are lost)

Every neuron ``n`` has its own real scale: ``act_n ~ A_n v_n`` (``v_n`` its float value), so
its messages carry ``M_n = A_n / 64`` per unit and ``W[p, n] = round(w[p, n] A_p / M_n)``;
ReLU is positively homogeneous, so any ``A_p > 0`` is exact. ``A_p`` is the largest scale that
keeps (on the calibration points, with headroom) the payload within 16 bits, ``sigma`` within
24 bits, the file bias within 16 bits and row ``p``'s weights within ``[-128, 127]``.
The input: ``x_q = round(x / in_scale 2**in_bits)``, ``M_in = 2**(in_bits + s)``.

**Hi/lo rows** (the ``pre`` structure of :mod:`lava_pinn.sigma_delta.relu_pieces`): a layer
whose only reader is a selector (each reading row one weight 1) is split in two: ``hi`` with
``W_hi = round(w A / M)`` and ``lo`` with ``W_lo = round(a (w A / M - W_hi))``, and each
reader takes ``a m_hi + m_lo`` (weights ``a``, 1; ``a = 64``): ``W_hi + W_lo / a`` is a
14-bit weight in two 8-bit rows. ``lo`` carries an offset that keeps it positive; readers'
biases cancel it.

**Coarse copies** (``lo_copies``): a pieces layer read by relays (rows over ``K`` pieces
with large coefficients of both signs) gets a copy of every piece at scale ``A / 64``
(reading ``hi`` with weight 1); the relay reads the piece with ``W_hi = round(r)`` and the
copy with ``W_lo = round(64 (r - W_hi))``, ``r = c A_relay / M``: a relay row with up to 6
more bits (how many of the hi row's 8 it uses depends on ``A_relay / A_pieces``). Netx holds
one threshold per layer, so that layer's is 1 (its messages reach one relay each).

**Refit** (``refit``): layer by layer, each ``pre``, relay, plain and readout layer is fitted
by least squares from the messages the integer layers before it send on the calibration
points to the float network's values there (:func:`refit_rows`), then rounded with the
rounding error spread over the row (:func:`round_rows`). It absorbs the linear part of the
errors before it: rounded rows and knots, the coarse copies (they read only ``hi``), the
dropped bits.

**Bus** (``bus``): no neuron has a bias. The encoder appends the constants
:data:`BUS_MSG` (``IntDeltaNetwork.bus``), every layer but the last passes them on through
three neurons (:data:`BUS_ROWS`), and a bias ``b`` (sigma units, even) is the 8-bit weights
``W0 8192 + W1 128 + W2 2`` on the previous layer's bus (:func:`bus_weights`). From netx's
zero start a held point then reaches layer ``l`` in one wave at step ``l``: every neuron sends
once, ``m = floor(act / 64)``, with no start-up burst of biases and no later corrections, and
the refit is calibrated through that floor. Thresholds are one message unit.

**Bias corrections** (biased neurons, ``bus=False``): every reader's bias takes
``(A w - W_int M) mean(h)`` (the calibration mean of what its rounded rows miss; this cancels
the offsets of relays and ``pre`` neurons with the rounding), then :func:`transmission_fix`
cancels the mean of what every sender's messages miss after settling (residues, and the bits
``>> 6`` drops: about half a payload unit per message, always downwards).

The readout is netx's ``Sigma`` (``acc += W_out m``, no bias), in two blocks of rows (hi, and
lo with the next 6 bits; ``IntDeltaNetwork.out_parts = 2``): ``y = acc_hi 2**-e +
acc_lo 2**-(e + 6) + out_bias``, ``out_bias`` applied on the host.
"""

from __future__ import annotations

import numpy as np
import torch

from exporters.sigma_delta.intnet import (
    BIAS_FILE_MAX,
    IntDeltaLayer,
    IntDeltaNetwork,
    Synapses,
)
from lava_pinn.sigma_delta.network import DeltaNetwork

STATE_EXP = 6  # netx hard-codes it
W_MAX = 127  # 8-bit signed file mantissa (netx doubles it to Lava's even [-256, 254])
MSG_BITS = 16
MSG_CAL = 1 << 13  # calibration messages stay 4x inside the 16-bit payload
# with the bus a message is the whole activation, sent once (no start-up swings): 2.7x inside
MSG_CAL_BUS = 3 << 12
SIGMA_CAL = 1 << 21  # calibration sigma stays 4x inside 24 bits
OUT_CAL = 1 << 21
READER_SPREAD = 4  # a reader's sum of |W m| ~ fan-in / 4 x its largest term (calibrated)
COPY_VTH = 1  # file threshold of a pieces layer with coarse copies (fan-out 1: cheap)
HILO = 64  # a: the lo row's weight is 1/a of the hi row's
BUS_MSG = (1 << 13, 1 << 7, 1 << 1)  # the bus's constant messages, 64x apart
BUS_ROWS = ((64, 0, 0), (1, 0, 0), (0, 1, 0))  # each layer's bus reads the previous one's
BUS_VTH_MAX = 2  # file threshold that still sends the smallest constant (2 << 6 = 128)
REFIT_RIDGE = 1e-6  # ridge of the least-squares refit, x the mean diagonal of X^T X
ROW_HEADROOM = 120  # refit rows larger than this shrink their neuron's scale
NEURON = "sigma-delta-relu"


def file_synapses(w_file: np.ndarray) -> Synapses:
    """What netx's ``optimize_weight_bits`` and Lava's ``Dense`` make of file weights
    ``w_file`` (integers in ``[-128, 127]``): one group ``(w_eff, weight_exp)``, exact."""
    from exporters.netx import netx_dense_weights

    w = np.asarray(w_file, dtype=np.int64)
    if w.size and (w.min() < -128 or w.max() > W_MAX):
        raise ValueError(f"file weights must be integers in [-128, {W_MAX}], got {w.min()}..")
    if not w.any():
        return Synapses(((np.zeros_like(w), 0),), lava_shift=True)
    w_eff, e, _nwb = netx_dense_weights(w)
    if not np.array_equal(w_eff, w << -e if e <= 0 else w >> e):
        raise ValueError("netx would change these file weights")  # pragma: no cover
    return Synapses(((w_eff, int(e)),), lava_shift=True)


def _scale_bounds(w, M_in, vmax, smax, bmax, S, msg_cal=MSG_CAL, bus=False):
    """Per-neuron ``A``: the largest that keeps message, sigma, bias and weights in range
    (the bias half of the file's 16 bits, or of what the bus carries)."""
    eps = 1e-30
    a_msg = 64.0 * msg_cal / np.maximum(vmax, eps)
    a_sig = SIGMA_CAL / np.maximum(smax, eps)
    top = W_MAX * BUS_MSG[0] if bus else BIAS_FILE_MAX * 2.0**S
    a_bias = top / 2 / np.maximum(bmax, eps)
    a_row = W_MAX / np.maximum((np.abs(w) / M_in[None]).max(1), eps)
    return np.minimum.reduce([a_msg, a_sig, a_bias, a_row])


def _lo_rows(resid: np.ndarray, m_cal: np.ndarray, S: int, name: str):
    """The lo rows of a split layer: the largest ``a <= HILO`` (a power of two) whose lo
    neurons (``W_lo = round(a resid)``, kept positive by their bias) stay in range."""
    a = HILO
    while a >= 2:
        wl = np.round(resid * a).astype(np.int64)
        s_lo = m_cal @ wl.T
        lo_min, lo_max = s_lo.min(0), s_lo.max(0)
        pad = 0.25 * np.maximum(lo_max - lo_min, 2.0**S)
        bias_lo = np.ceil((pad - lo_min) / 2.0**S).astype(np.int64)
        top = (lo_max + bias_lo * 2.0**S) / 64
        if bias_lo.max() <= BIAS_FILE_MAX // 2 and top.max() <= MSG_CAL:
            return wl, s_lo, bias_lo, a
        a //= 2
    raise ValueError(f"layer {name}: no lo rows fit the chip's ranges; use hilo=False")


def refit_rows(
    X: np.ndarray, target: np.ndarray, support: np.ndarray, ridge: float = REFIT_RIDGE
) -> tuple[np.ndarray, np.ndarray]:
    """Least squares per output ``r``: ``target[:, r] ~ X[:, S_r] beta_r + c_r`` over the points
    (rows of ``X`` ``(n, n_in)``, ``target`` ``(n, n_out)``), ``S_r`` the entries ``support[r]``
    allows, on centred data with a ridge of ``ridge`` x the mean diagonal of ``X_S^T X_S``.
    Returns ``(beta (n_out, n_in), c (n_out,))``; entries outside the support are zero."""
    xm, tm = X.mean(0), target.mean(0)
    Xc, Tc = X - xm, target - tm
    beta = np.zeros((target.shape[1], X.shape[1]))
    for r in range(target.shape[1]):
        S = np.flatnonzero(support[r])
        if S.size == 0:
            continue
        G = Xc[:, S].T @ Xc[:, S]
        G = G + ridge * (np.trace(G) / S.size + 1e-30) * np.eye(S.size)
        beta[r, S] = np.linalg.solve(G, Xc[:, S].T @ Tc[:, r])
    return beta, tm - beta @ xm


def round_rows(
    w: np.ndarray, X: np.ndarray, damp: float = 1e-4, support: np.ndarray | None = None
) -> np.ndarray:
    """Integer rows ``Q`` (in ``[-128, 127]``) for real rows ``w`` ``(n_out, n_in)`` that keep
    ``X Q^T`` close to ``X w^T`` on calibration inputs ``X`` ``(n_pts, n_in)``: each row's
    nonzeros are rounded one after another and the rounding error is spread over the row's
    remaining nonzeros (or the entries the boolean mask ``support`` allows, in column order) by
    least squares (``w_rest -= e H^-1[k, rest] / H^-1[k, k]``, then
    ``H^-1`` restricted to the rest;
    ``H = X_S^T X_S`` over the row's support ``S``; sequential rounding as in GPTQ). Zeros stay
    zero; without calibration signal it is plain rounding."""
    Q = np.zeros(w.shape, np.int64)
    for r in range(w.shape[0]):
        S = np.flatnonzero(w[r] if support is None else support[r])
        if S.size == 0:
            continue
        Xs = X[:, S]
        H = Xs.T @ Xs
        H = H + damp * (np.trace(H) / S.size + 1e-12) * np.eye(S.size)
        Hi = np.linalg.inv(H)
        wr = w[r, S].astype(np.float64).copy()
        for k in range(S.size):
            q = float(np.clip(np.round(wr[k]), -128, W_MAX))
            Q[r, S[k]] = int(q)
            if k + 1 < S.size:
                e = (wr[k] - q) / Hi[0, 0]  # Hi: the inverse over the not yet rounded ones
                wr[k + 1 :] -= e * Hi[0, 1:]
                Hi = Hi[1:, 1:] - np.outer(Hi[1:, 0], Hi[0, 1:]) / Hi[0, 0]
    return Q


def _bias_fix(w, w_int, A, M, h_mean) -> np.ndarray:
    """Bias correction for rounded rows: ``(A w - w_int M) h_mean`` (sigma units), the mean
    over the calibration inputs ``h`` of what the integer rows ``w_int`` (per message, the
    inputs carrying ``M`` messages per unit) deliver short of the real rows ``A w``. It also
    cancels, with the rounding error, the offsets the inputs carry (relays, ``pre`` neurons),
    so the rounding error left is zero-mean on the calibration points."""
    return (A[:, None] * w - w_int * M[None]) @ h_mean


def _msg_cal(net: DeltaNetwork, i: int, fine_reader: bool = False, cap: float = MSG_CAL) -> float:
    """Layer ``i``'s calibration message bound: ``cap`` when its reader carries a second 8-bit
    row per weight (``fine_reader``: hi/lo rows), else small enough that its widest reader
    keeps full 8-bit rows within ``SIGMA_CAL`` (``fan / READER_SPREAD`` terms of ``127 m``).
    Each message loses its low bits for good (``>> state_exp``), so the larger the messages
    the smaller that loss."""
    if fine_reader:
        return cap
    nxt = net.layers[i + 1].weight if i + 1 < len(net.layers) else None
    fan = int((nxt != 0).sum(1).max()) if nxt is not None else 1
    return min(cap, SIGMA_CAL / (W_MAX * max(fan / READER_SPREAD, 1)))


def _is_selector(w: torch.Tensor) -> bool:
    return bool(((w == 0) | (w == 1)).all() and ((w == 1).sum(1) == 1).all())


def _calibrate(net: DeltaNetwork, x: torch.Tensor):
    """Per layer ``(input h, values v, |h W^T| max, |b| max)`` on the calibration points."""
    out, h = [], x.to(torch.float64) / net.in_scale.double()
    with torch.no_grad():
        for la in net.layers:
            s = h @ la.weight.double().T
            v = (s + la.bias.double()).clamp(min=0)
            out.append((h, v, s.abs().amax(0).numpy(), la.bias.double().abs().numpy()))
            h = v
    return out, h


def bus_weights(bias: np.ndarray, name: str) -> np.ndarray:
    """Rows ``(n, 3)`` of 8-bit weights on the bus's constant messages :data:`BUS_MSG` that sum
    to ``bias`` (sigma units, even integers) exactly: ``W_0 8192 + W_1 128 + W_2 2``."""
    b = np.asarray(bias, np.int64)
    w0 = np.round(b / BUS_MSG[0]).astype(np.int64)
    r = b - w0 * BUS_MSG[0]
    w1 = np.round(r / BUS_MSG[1]).astype(np.int64)
    r = r - w1 * BUS_MSG[1]
    if (r % BUS_MSG[2]).any():
        raise ValueError(f"layer {name}: bus biases must be even (sigma units)")
    w = np.stack([w0, w1, r // BUS_MSG[2]], 1)
    if w.size and (w.min() < -128 or w.max() > W_MAX):
        raise ValueError(
            f"layer {name}: a bias of {int(np.abs(b).max())} (sigma units) is beyond what 8-bit "
            f"weights on the bus carry ({W_MAX * BUS_MSG[0]}); lower the layer's scale"
        )
    return w


def _with_bus(wf: np.ndarray, bias: np.ndarray, last: bool, name: str):
    """File rows of a layer that takes its biases from the previous layer's bus (its last
    three inputs; the encoder's constants for the first layer) and, unless ``last``, passes
    the bus on (:data:`BUS_ROWS`). Returns ``(rows, zero biases)``."""
    rows = np.concatenate([wf, bus_weights(bias, name)], 1)
    if not last:
        k = len(BUS_ROWS)
        bus = np.concatenate([np.zeros((k, wf.shape[1]), np.int64), np.array(BUS_ROWS)], 1)
        rows = np.concatenate([rows, bus])
    return rows, np.zeros(rows.shape[0], np.int64)


def _shrink_rows(beta: np.ndarray, *scaled: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows of integer-unit weights ``beta`` above :data:`ROW_HEADROOM` shrink, with every
    per-row array in ``scaled`` (their neuron's scale, its bias), by the same factor."""
    f = np.minimum(1.0, ROW_HEADROOM / np.maximum(np.abs(beta).max(1), 1e-30))
    return (beta * f[:, None], *(a * f for a in scaled))


def quantize_relu(
    net: DeltaNetwork,
    x: torch.Tensor,
    *,
    spike_exp: int = 0,
    vth: list[int] | None = None,
    hilo: bool = True,
    gptq: bool = True,
    lo_copies: bool = True,
    refit: bool = True,
    bus: bool = True,
    settle_fix: bool = True,
) -> IntDeltaNetwork:
    """Quantize a ``sigma-delta-relu`` :class:`DeltaNetwork` for netx (module docstring).

    ``x``: calibration points ``(n, in_features)``; ``spike_exp``: the ``spike_exp`` the netx
    ``Network`` is built with (0 keeps 13 input bits; netx's default 6 leaves 7);
    ``vth``: per-layer thresholds in file units (``vThMant``, ``>= 1``), default from the
    layers' float thresholds; ``hilo``: split layers read through selectors (14-bit weights);
    ``lo_copies``: selector readers (pieces) read by wide rows (relays) get coarse copies that
    carry those rows' next 6 bits (module docstring).

    ``refit``: quantize layer by layer, each weighted layer (``pre``, relay, plain, readout)
    refitted by least squares (:func:`refit_rows`) from what the integer layers before it
    send on the calibration points to the float network's values there, then rounded
    (:func:`round_rows` on those messages; a relay's rows over its pieces and their copies
    together), its bias matching the means. ``bus``: biases as weights on constant inputs,
    one wave per held point (module docstring); needs ``refit``, ``spike_exp <= 1`` and
    thresholds ``<= 2``. ``settle_fix``: with biased neurons, :func:`transmission_fix`.
    """
    if any(la.neuron != NEURON for la in net.layers):
        raise ValueError(f"quantize_relu takes a {NEURON!r} network, got {net.neuron!r} layers")
    if not 0 <= spike_exp <= 7:
        raise ValueError(f"spike_exp must be in [0, 7], got {spike_exp}")
    if vth is not None and len(vth) != len(net.layers):
        raise ValueError(f"vth needs one threshold per layer ({len(net.layers)}), got {len(vth)}")
    if bus and not refit:
        raise ValueError("bus=True is calibrated through the refit; pass refit=True or bus=False")
    if bus and spike_exp > 1:
        raise ValueError(
            f"bus=True needs spike_exp <= 1 (its smallest constant, 2**(1 - spike_exp) encoder "
            f"units, must be an integer), got spike_exp={spike_exp}; pass bus=False for a "
            "larger one"
        )
    if bus and vth is not None and max(vth) > BUS_VTH_MAX:
        raise ValueError(
            f"bus=True needs thresholds <= {BUS_VTH_MAX} (file units) so that the bus's "
            f"smallest constant ({BUS_MSG[-1] << STATE_EXP} in sigma) is sent, got {max(vth)}"
        )
    S = spike_exp + STATE_EXP
    in_bits = 13 - spike_exp
    cal, h_last = _calibrate(net, x)
    M = np.full(net.in_features, 2.0 ** (in_bits + spike_exp))  # messages per unit, per input
    m_cal = (cal[0][0].numpy() * M[None]) if cal else None
    # what the integer layers send on the calibration points (exact messages)
    m_act = np.round(cal[0][0].numpy() * 2.0**in_bits) * 2.0**spike_exp if cal else None
    layers: list[IntDeltaLayer] = []
    built: list[tuple] = []  # per layer: (file rows, bias in sigma units, threshold, name)
    scales: list[np.ndarray] = []

    def rnd(bias_var: np.ndarray) -> np.ndarray:
        """A bias on its grid, in sigma units: the bus's (2) or the file's (``2**S``)."""
        if bus:
            return (2 * np.round(bias_var / 2)).astype(np.int64)
        return np.round(bias_var / 2.0**S).astype(np.int64) << S

    split = None  # (A_hi, a, bias_hi_var, bias_lo_var) of a split layer, for its readers
    copies = None  # units of the previous layer that has coarse copies after them
    L = len(net.layers)
    for i, la in enumerate(net.layers):
        w = la.weight.double().numpy()
        b = la.bias.double().numpy()
        _h, v, smax, bmax = cal[i]
        vmax = v.amax(0).numpy()
        h_mean = _h.mean(0).numpy()
        name = la.name or f"layer{i + 1}"
        reads_split = split is not None
        copy_vth = None
        if refit:
            m_cal = m_act
        # the reader of this layer is split into hi/lo rows (and refitted from what it gets)
        fine = refit and hilo and i + 2 < L and _is_selector(net.layers[i + 2].weight)
        cap = MSG_CAL_BUS if bus else MSG_CAL
        if reads_split:  # a selector reading [hi; lo]
            A_hi, a, bias_hi, bias_lo, bias_exact = split
            sel = w.argmax(1)
            g = HILO // a  # reader row (a g, g): a g = HILO, so the reader's scale is A_hi
            A = A_hi[sel] * (a * g / 64)
            n_prev = A_hi.shape[0]
            wf = np.zeros((la.n_out, 2 * n_prev), np.int64)
            wf[np.arange(la.n_out), sel] = a * g
            wf[np.arange(la.n_out), n_prev + sel] = g
            # reader sigma = (a g / 64) (W_eff m + bias_hi + bias_lo / a); its bias swaps the
            # rounded hi/lo biases for the exact one (bias_exact, offsets cancelled)
            lo_off = (a * g / 64) * (bias_hi[sel] - bias_exact[sel] + bias_lo[sel] / a)
            bias_var = A * b - lo_off
            split = None
            if lo_copies and i + 1 < L and not _is_selector(net.layers[i + 1].weight):
                # coarse copies (scale A / 64, reading hi with weight 1) carry the next
                # layer's residual weights: W_hi m + W_lo m' = (W_hi + W_lo / 64) m
                cw = np.zeros((la.n_out, 2 * n_prev), np.int64)
                cw[np.arange(la.n_out), sel] = 1
                wf = np.concatenate([wf, cw])
                A_c = A_hi[sel] / 64
                bias_var = np.concatenate(
                    [bias_var, A_c * b - (bias_hi[sel] - bias_exact[sel]) / 64]
                )
                A = np.concatenate([A, A_c])
                v = torch.cat([v, v], 1)
                copy_vth = COPY_VTH  # the copies' values are 64x coarser: pass them often
        elif copies is not None:  # reads [pieces; coarse copies]: rows [W_hi, W_lo]
            n_p = copies
            A = _scale_bounds(w, M[:n_p], vmax, smax, bmax, S, _msg_cal(net, i, fine, cap), bus)
            if refit:  # the float relay from the pieces and copies as sent, rows over both
                on = np.concatenate([w != 0, w != 0], 1)
                target = (_h @ la.weight.double().T + la.bias.double()).numpy() * A[None]
                beta, c = refit_rows(m_act, target, on)
                beta, A, c = _shrink_rows(beta, A, c)
                wf = round_rows(beta, m_act - m_act.mean(0), support=on) if gptq else None
                wf = np.round(beta).astype(np.int64) if wf is None else wf
                bias_var = c + (beta - wf) @ m_act.mean(0)
            else:
                wr = w * A[:, None] / M[None, :n_p]
                whi = np.round(wr).astype(np.int64)
                rl = (wr - whi) * 64
                wlo = np.round(rl).astype(np.int64)
                wf = np.concatenate([whi, wlo], 1)
                bias_var = A * b + _bias_fix(w, whi + wlo / 64, A, M[:n_p], h_mean)
        else:
            if refit:  # the float pre-activations from the inputs as sent
                X = m_act / M[None]
                target = (_h @ la.weight.double().T + la.bias.double()).numpy()
                w, b = refit_rows(X, target, w != 0)
                h_mean = X.mean(0)
                smax = np.abs(X @ w.T).max(0)
                bmax = np.abs(b)
            # messages small enough that wide readers keep full 8-bit rows within SIGMA_CAL
            A = _scale_bounds(w, M, vmax, smax, bmax, S, _msg_cal(net, i, fine, cap), bus)
            wr = w * A[:, None] / M[None]
            plain = not gptq or (hilo and i + 1 < L and _is_selector(net.layers[i + 1].weight))
            wf = np.round(wr).astype(np.int64) if plain else round_rows(wr, m_cal)
            bias_var = A * b
        t = (
            int(vth[i])
            if vth is not None
            else max(1, round(la.vth * float(np.median(A[: la.n_out])) / 2**S))
        )
        t = t if vth is not None or copy_vth is None else copy_vth
        do_split = hilo and i + 1 < L and _is_selector(net.layers[i + 1].weight)
        if do_split:
            resid = w * A[:, None] / M[None] - wf
            wl, s_lo, bias_lo_file, a = _lo_rows(resid, m_cal, S, name)
            bias_var = bias_var + _bias_fix(w, wf + wl / a, A, M, h_mean)
            bias_int = np.concatenate([rnd(bias_var), bias_lo_file << S])
            wf = np.concatenate([wf, wl])
            split = (A, a, bias_int[: la.n_out] * 1.0, bias_lo_file * 2.0**S, bias_var)
            A_all = np.concatenate([A, np.full(la.n_out, 64.0)])  # lo: messages carry 1/unit
            v_next = np.concatenate([v.numpy() * A[None] / 64, (s_lo + bias_lo_file * 2.0**S) / 64])
        else:
            if not reads_split and copies is None:  # lo_off and the lo rows are exact already
                bias_var = bias_var + _bias_fix(w, wf, A, M, h_mean)
            bias_int = rnd(bias_var)
            A_all = A
            v_next = v.numpy() * A[None] / 64
        built.append((wf, bias_int, 1 if bus and vth is None else t, name))
        if m_act is not None:  # bus: each neuron sends once, its act's low bits dropped
            m_act = np.maximum(m_act @ wf.T + bias_int[None], 0) / 2.0**STATE_EXP
            m_act = np.floor(m_act) if bus else m_act
        copies = la.n_out if wf.shape[0] == 2 * la.n_out and reads_split else None
        M = A_all / 64.0
        scales.append(A_all)
        m_cal = v_next
    for k, (wf, bias_int, t, name) in enumerate(built):
        if bus:
            wf, bias_int = _with_bus(wf, bias_int, k == L - 1, name)
        n = wf.shape[0]
        layers.append(
            IntDeltaLayer(
                synapses=file_synapses(wf),
                bias=bias_int,
                vth=np.full(n, t << S, np.int64),
                lo=np.zeros(n, np.int64),
                shift=np.zeros(n, np.int64),
                table=np.array([0, 1]),
                payload_bits=MSG_BITS,
                act_bits=0,
                sigma_exp=np.zeros(n, np.int64),
                neuron=NEURON,
                name=name,
                state_exp=STATE_EXP,
                spike_exp=spike_exp,
            )
        )
    wo = net.out_weight.double().numpy()
    out_b = net.out_bias.double().numpy()
    h_out = h_last.mean(0).numpy()
    yr = (h_last @ net.out_weight.double().T).abs().amax(0).numpy()
    if refit and m_act is not None:  # the float outputs from the last layer as sent
        X = m_act / M[None]
        target = (h_last @ net.out_weight.double().T).numpy() + out_b
        wo, out_b = refit_rows(X, target, np.ones(wo.shape, bool))
        h_out = X.mean(0)
        yr = np.abs(X @ wo.T).max(0)
    a_out = np.minimum(
        OUT_CAL / np.maximum(yr, 1e-30), W_MAX / np.maximum((np.abs(wo) / M[None]).max(1), 1e-30)
    )
    out_exp = np.floor(np.log2(a_out)).astype(np.int64)
    rows = wo * 2.0 ** out_exp[:, None] / M[None]
    wof = np.round(rows).astype(np.int64)
    out_exp_all = out_exp
    parts = 1
    w_int = wof.astype(np.float64)
    if hilo:  # a second block of readout rows holds the next 6 bits (y = hi + lo / 64)
        wlo = np.clip(np.round((rows - wof) * HILO), -128, W_MAX).astype(np.int64)
        w_int = w_int + wlo / HILO
        wof = np.concatenate([wof, wlo])
        out_exp_all = np.concatenate([out_exp, out_exp + int(np.log2(HILO))])
        parts = 2
    out_bias = out_b + _bias_fix(
        wo, w_int * 2.0 ** -out_exp[:, None], np.ones(wo.shape[0]), M, h_out
    )
    inet = IntDeltaNetwork(
        layers=tuple(layers),
        output=file_synapses(wof),
        out_exp=out_exp_all,
        out_bias=out_bias,
        out_parts=parts,
        in_scale=net.in_scale.double().numpy(),
        in_bits=in_bits,
        bus=len(BUS_ROWS) if bus else 0,
        metadata={
            **net.metadata,
            "payload_bits": MSG_BITS,
            "spike_exp": spike_exp,
            "hilo": bool(hilo),
            "format": "netx-sdnn",
            "scales": [a.tolist() for a in scales],
        },
    )
    return transmission_fix(inet, x) if settle_fix and not bus else inet


def transmission_fix(inet: IntDeltaNetwork, x: torch.Tensor) -> IntDeltaNetwork:
    """Readers' biases corrected for what their senders' messages miss on average: settle the
    calibration points ``x`` in :func:`~exporters.sigma_delta.twin.pipeline_states` and, per
    sender ``l``, take ``e_l = mean(act_l / 2**state_exp - sent_l)`` (its residues and the
    bits ``>> state_exp`` drops, about half a payload unit per message, always downwards);
    readers add ``W e_l`` to their bias (rounded to the bias grid ``2**S``), the host readout
    ``W_out e_L`` to ``out_bias``. One pass: the mean error of every link is cancelled, the
    spread stays."""
    import dataclasses

    from exporters.sigma_delta.twin import pipeline_states

    _run, acts, sent = pipeline_states(inet, x.to(torch.float64)[None])
    layers = list(inet.layers)
    e = [
        (a.double() / 2.0**se - s.double()).mean(0)
        for a, s, se in zip(
            acts, sent, [inet.layers[0].state_exp] + [la.state_exp for la in layers], strict=True
        )
    ]
    e[0] = torch.zeros_like(e[0])  # the encoder: codes are exact, its residue is < 1 unit
    for i, la in enumerate(layers):
        sh = la.spike_exp + la.state_exp
        corr = _apply_real(la.synapses, e[i])
        bias = np.asarray(la.bias) + (np.round(corr / 2.0**sh).astype(np.int64) << sh)
        layers[i] = dataclasses.replace(la, bias=bias)
    acc = _apply_real(inet.output, e[-1])
    ex = 2.0 ** -np.asarray(inet.out_exp, np.float64) * acc
    fix = ex.reshape(inet.out_parts, -1).sum(0)
    return dataclasses.replace(
        inet,
        layers=tuple(layers),
        out_bias=np.asarray(inet.out_bias) + fix,
        rest=(),
        out_rest=np.zeros(0, np.int64),
    )


def _apply_real(syn: Synapses, v: torch.Tensor) -> np.ndarray:
    """``sum_g (W_g v) 2**e_g`` in float64 for a real vector ``v``."""
    vv = v.numpy()
    return sum((np.asarray(w, np.float64) @ vv) * 2.0**e for w, e in syn.groups)
