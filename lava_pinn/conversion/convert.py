"""``convert``: a trained MLP PINN (or SPINN) plus calibration points -> a spiking network.

Steps: read the model into ``Linear``/activation pairs (refusing anything else with the
module's path named), build a :class:`~lava_pinn.conversion.plan.Plan` with the chosen
representation (``pwl`` by default: several IF neurons per unit, error -> ANN's as ``T`` grows;
``direct``: the paper's one neuron per unit), calibrate it layer by layer against the ANN's
activations on the calibration points, compile it into a :class:`SpikingNetwork`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings

import torch
from torch import nn

from lava_pinn._warnings import outside
from lava_pinn.activations import frozen_copy, piecewise_linear
from lava_pinn.conversion.budget import PIECES
from lava_pinn.conversion.budget import search as budget_search
from lava_pinn.conversion.calibration import CALIBRATIONS, calibrate
from lava_pinn.conversion.network import SpikingNetwork, as_points
from lava_pinn.conversion.options import (  # noqa: F401  check_boundary, CALIBRATION_BOUNDARY: public here too
    CALIBRATION_BOUNDARY,
    ConversionOptions,
    ConvertOptions,
    check_boundary,
)
from lava_pinn.conversion.parse import parse_mlp, supported_modules
from lava_pinn.conversion.representations import REPRESENTATIONS, AnnLayer, ann_forward
from lava_pinn.conversion.spinn import SpikingSPINN
from lava_pinn.conversion.transfer import v0_fractions
from lava_pinn.metrics import rel_l2  # noqa: F401  public here: lava_pinn.conversion.rel_l2
from lava_pinn.models import SPINN
from lava_pinn.validation import check_T

log = logging.getLogger(__name__)


def _warn_few_points(x: torch.Tensor, calibration: str, rep, path: str) -> None:
    """Warn when ``x`` has fewer distinct points than the calibration method and the
    representation need."""
    need = max(CALIBRATIONS.get(calibration).min_points, rep.min_points)
    distinct = int(torch.unique(x, dim=0).shape[0])
    if distinct < need:
        dup = "" if distinct == x.shape[0] else f" ({distinct} distinct)"
        warnings.warn(
            f"{path}: {x.shape[0]} calibration points{dup}; calibration {calibration!r} with "
            f"representation {rep.name!r} needs at least {need} distinct points spread over the "
            "input domain to be reliable (pass more calibration_inputs, about 512-2048)",
            stacklevel=outside(),
        )


def _known_options() -> list[str]:
    """``convert``'s ``**options``: the fields of :class:`ConversionOptions` it does not name."""
    named = {"T", "neuron", "calibration", "threshold", "representation"}
    return sorted(f.name for f in dataclasses.fields(ConversionOptions) if f.name not in named)


def options_for(representation: str, calibration: str, **options: object) -> dict[str, object]:
    """The subset of ``options`` that ``representation`` and ``calibration`` read (``dtype``
    and ``threshold`` included when given): for sweeps that pass one set of options to every
    method, since :func:`convert` refuses an option the chosen method would ignore.

    >>> options_for("direct", "light", pieces=16, calibration_steps=50, threshold="max")
    {'threshold': 'max'}
    """
    _check_option_names({k: v for k, v in options.items() if k != "threshold"})
    reads = {"dtype"}
    reads.update(k for k, _ in REPRESENTATIONS.get(representation).options)
    reads.update(k for k, _ in CALIBRATIONS.get(calibration).options)
    return {k: v for k, v in options.items() if k in reads}


def _check_option_names(options: dict) -> None:
    """``TypeError`` naming every unknown keyword of ``convert``, with the closest known one."""
    import difflib

    known = _known_options()
    bad = [k for k in options if k not in known]
    if bad:
        hints = []
        for k in bad:
            close = difflib.get_close_matches(k, known, n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise TypeError(
            f"convert() got unexpected keyword argument(s) {', '.join(hints)}; its options are "
            f"{', '.join(known)}"
        )


OUTLIER_SPREADS = 10.0  # a point this many 1-99% spreads outside that range is an outlier


def _warn_outliers(x: torch.Tensor, path: str) -> None:
    """Warn about calibration points far outside the bulk of the others: each unit's range
    (``pwl``'s pieces, ``direct``'s thresholds) stretches to reach them, which coarsens the
    conversion everywhere else."""
    if x.shape[0] < 20:
        return
    lo, hi = torch.quantile(x, 0.01, dim=0), torch.quantile(x, 0.99, dim=0)
    spread = (hi - lo).clamp(min=1e-12)
    far = ((x < lo - OUTLIER_SPREADS * spread) | (x > hi + OUTLIER_SPREADS * spread)).any(1)
    rows = far.nonzero().flatten()
    if rows.numel():
        r = int(rows[0])
        warnings.warn(
            f"{path}: {rows.numel()} of {x.shape[0]} calibration points lie more than "
            f"{OUTLIER_SPREADS:g}x the spread of the others outside their range (first: row {r}, "
            f"{[round(float(v), 6) for v in x[r]]}); each unit's range stretches to reach them, "
            "which coarsens the conversion everywhere else: drop them or pass points from the "
            "input domain",
            stacklevel=outside(),
        )


def refuse_state_dict(model: object, call: str = "convert") -> None:
    """A ``state_dict`` (a mapping of names to tensors) where a model belongs: a TypeError
    saying how to rebuild the model from it."""
    from collections.abc import Mapping

    if isinstance(model, Mapping) and any(isinstance(v, torch.Tensor) for v in model.values()):
        raise TypeError(
            f"{call} got a state_dict ({len(model)} tensors), not a model: rebuild the network "
            f"with lava_pinn.models.mlp_from_state_dict(state, activation='tanh') (your "
            f"activation) and pass that"
        )


def _calibration_points(x: object, n_in: int) -> torch.Tensor:
    x = as_points(x, n_in, "calibration_inputs")  # a numpy array is as good as a tensor
    if not x.is_floating_point():
        x = x.to(torch.float64)
    if x.ndim == 1 and n_in == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != n_in or x.shape[0] < 2:
        raise ValueError(
            f"calibration_inputs must have shape (n >= 2, {n_in}), got {tuple(x.shape)}"
        )
    bad = (~torch.isfinite(x)).any(1).nonzero().flatten()
    if bad.numel():
        raise ValueError(
            f"calibration_inputs hold NaN or inf values ({bad.numel()} of {x.shape[0]} rows, "
            f"first: row {int(bad[0])}); pass finite points"
        )
    return x.detach()


def convert_mlp(
    model: nn.Module,
    calibration_inputs: torch.Tensor,
    *,
    metadata: dict | None = None,
    path: str = "model",
    **options: object,
) -> SpikingNetwork:
    """Convert an ``nn.Sequential`` MLP; ``options`` are the fields of
    :class:`~lava_pinn.conversion.options.ConversionOptions` (see :func:`lava_pinn.convert`;
    ``path`` names the model in error messages)."""
    o = ConversionOptions(**options)
    T, neuron, calibration, representation = o.T, o.neuron, o.calibration, o.representation
    dtype = o.dtype
    rep = REPRESENTATIONS.get(representation)
    opts = o.representation_options()
    copts = o.calibration_options()
    ft = o.finetune_config() if "finetune_iters" in copts else None
    t0 = time.perf_counter()
    hidden, last = parse_mlp(model, path)
    x = _calibration_points(calibration_inputs, hidden[0].weight.shape[1]).to(dtype)
    _warn_few_points(x, calibration, rep, path)
    _warn_outliers(x, path)
    ann = [
        AnnLayer(
            a.weight.to(dtype), a.bias.to(dtype), a.activation, a.path, frozen_copy(a.fn, dtype)
        )
        for a in hidden
    ]
    W_out = last.weight.detach().to(dtype)
    b_out = (last.bias if last.bias is not None else torch.zeros(last.out_features)).detach()
    b_out = b_out.to(dtype)
    with torch.no_grad():
        y_ann = _ann_output(ann, W_out, b_out, x)
    plan = rep.build(
        ann,
        W_out,
        b_out,
        x,
        T,
        neuron=neuron,
        threshold=opts.get("threshold"),
        per_neuron=opts.get("per_neuron_threshold"),
        threshold_options={"p": opts["percentile"]} if opts.get("percentile") else {},
        **{
            k: opts[k]
            for k in ("pieces", "placement", "pieces_tol", "fit", "exact", "allocation")
            if k in opts
        },
    )
    fractions = v0_fractions([la.v0 for la in plan.layers], [la.threshold for la in plan.layers])
    plan = calibrate(
        plan,
        x,
        y_ann,
        calibration,
        steps=copts.get("calibration_steps", 300),
        lr=copts.get("calibration_lr", 1e-3),
        finetune=ft,
    )
    hidden_layers, out = plan.compile()
    calib_log = plan.info.get("calibration_log", [])
    err_final = calib_log[-1]["after"] if calib_log else None
    meta = {
        "representation": representation,
        "pieces": opts.get("pieces", 1),
        "placement": opts.get("placement"),
        "pieces_tol": opts.get("pieces_tol"),
        "allocation": opts.get("allocation"),
        "fit": opts.get("fit"),
        "exact": opts.get("exact"),
        "neurons_per_unit": plan.info.get("neurons_per_unit", 1.0),
        "exact_units": plan.info.get("exact_units"),
        "neuron": neuron,
        "threshold": opts.get("threshold"),
        "percentile": opts.get("percentile"),
        "per_neuron_threshold": opts.get("per_neuron_threshold"),
        "calibration": calibration,
        "calibration_options": copts,
        "calibration_points": int(x.shape[0]),
        "quantization_points": _kept_points(x),
        "calibration_log": calib_log,
        "calibration_error_final": err_final,
        "calibrated_T": T,
        "v0_fraction": fractions,
        "T_specific": _tied_to_T(calibration),
        "activations": [a.activation for a in ann],
        "units": [int(a.weight.shape[0]) for a in ann],
        "convert_seconds": time.perf_counter() - t0,
        "encoding": "direct (analog x drives layer 1 every step)",
        "output": "non-spiking integrator, mean over T of W_out s_t + b_out",
        **(metadata or {}),
    }
    log.info("converted %s in %.1f s", representation, meta["convert_seconds"])
    return SpikingNetwork(hidden_layers, out, T, meta)


def _tied_to_T(calibration: str) -> str | None:
    """What of the conversion is fitted to its ``T`` (``None``: nothing that matters;
    :mod:`lava_pinn.conversion.transfer`)."""
    return CALIBRATIONS.get(calibration).tied_to_T


KEPT_POINTS = 4096


def _kept_points(x: torch.Tensor) -> torch.Tensor:
    """The calibration points the network keeps for quantization (all of them up to
    :data:`KEPT_POINTS`, else a seeded subset of that many), float64."""
    x = x.detach().to(torch.float64)
    if x.shape[0] > KEPT_POINTS:
        idx = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
        x = x[idx[:KEPT_POINTS].sort().values]
    return x.clone()


def _ann_output(ann: list[AnnLayer], W_out, b_out, x: torch.Tensor) -> torch.Tensor:
    _, hs = ann_forward(ann, x)
    return hs[-1] @ W_out.T + b_out


def checkpoint_metadata(ck) -> dict:
    """What a converted network records of the checkpoint it came from."""
    return {
        "problem": ck.problem,
        "problem_params": dict(ck.problem_params),
        "hard_bc": bool(ck.hard_bc),
        "source_checkpoint_sha256": ck.sha256,
        "model": ck.config.describe(),
    }


def default_calibration_points(
    problem_name: str, params: dict, n: int, seed: int = 0, boundary: float = 0.0
) -> torch.Tensor:
    """``n`` seeded points from the problem's domain, shape ``(n, dim)``, float64.

    ``round(boundary * n)`` of them lie on the boundary of the domain box: its ``2**dim``
    corners first (when they fit), the rest uniform over its faces; the others are uniform
    inside. A PINN's extreme pre-activations sit on the boundary (layer 1 is affine in ``x``,
    so its extremes are corners), and the ``pwl`` representation fits each unit over the range
    its calibration points reach: interior points alone leave the extremes of a grid outside
    that range. With few pieces the wider range coarsens the fit of the interior instead."""
    from lava_pinn.problems import get_problem

    check_boundary(boundary)
    domain = get_problem(problem_name, **params).domain
    gen = torch.Generator().manual_seed(seed)
    n_b = int(round(boundary * n))
    parts = [domain.sample(n - n_b, gen)]
    if n_b:
        corners = domain.corners()
        corners = corners[:n_b] if corners.shape[0] > n_b else corners
        rest = n_b - corners.shape[0]
        parts += [corners, domain.sample_boundary(rest, tuple(range(domain.dim)), gen)]
    return torch.cat(parts)


def convert_spinn(
    model: SPINN, calibration_inputs: torch.Tensor, metadata: dict, **kwargs: object
) -> SpikingSPINN:
    """Convert each axis MLP of ``model`` with the calibration points' coordinate on that axis."""
    cfg = model.config
    x = _calibration_points(calibration_inputs, cfg.axes)
    nets = []
    for i, sub in enumerate(model.axis_nets):
        nets.append(
            convert_mlp(
                sub, x[:, i : i + 1], metadata={"axis": i}, path=f"model.axis_nets.{i}", **kwargs
            )
        )
    meta = {
        **metadata,
        **{
            k: v
            for k, v in nets[0].metadata.items()
            if k not in ("calibration_log", "axis", "convert_seconds")
        },
    }
    meta["convert_seconds"] = sum(n.metadata["convert_seconds"] for n in nets)
    return SpikingSPINN(nets, cfg.rank, cfg.out_features, meta)


_D = ConvertOptions  # the defaults of convert's named parameters


def convert(
    model: object,
    calibration_inputs: torch.Tensor | None = None,
    T: int = _D.T,
    neuron: str = _D.neuron,
    calibration: str = _D.calibration,
    threshold: str | None = _D.threshold,
    representation: str = _D.representation,
    *,
    budget_points: torch.Tensor | None = None,
    **options: object,
):
    """Convert a trained PINN into a spiking network simulated for ``T`` steps.

    ``model``: a :class:`lava_pinn.checkpoint.Checkpoint` (MLP or SPINN), an ``nn.Sequential`` of
    ``Linear`` and elementwise activations known to :mod:`lava_pinn.activations`, or a
    :class:`lava_pinn.models.SPINN`. ``calibration_inputs``: points ``(n, in_features)`` from
    the PDE domain (about 512-2048), a quarter of them on its boundary, corners included: the
    ``pwl`` representation fits each unit over the range these points reach (for a checkpoint,
    ``None`` takes 1024 such points from its domain: :func:`default_calibration_points`).
    ``neuron``: a :data:`lava_pinn.neurons.NEURONS` key (``if``, ``signed-if``, ``graded-if``,
    ``lif-hard``).
    ``calibration``: ``none``, ``light``, ``potential``, ``weight``, ``decoder``, ``advanced``,
    ``finetune`` (``advanced`` then end-to-end fine-tuning of the whole spiking chain against
    the ANN outputs: :mod:`lava_pinn.conversion.finetune`).
    ``representation``: ``pwl`` (``pieces`` IF neurons per unit) or ``direct``.
    Options of ``pwl`` only: ``pieces=8``, ``placement=0.0`` (breakpoints: 0 by curvature, 1
    equal output steps, which narrows the weights' range for 8-bit deployment; 0.75 keeps
    most of the accuracy: ``docs/neurons-and-calibration.md``); each neuron's threshold is
    its piece's width; a piecewise-linear activation (ReLU, LeakyReLU, ReLU6, Hardtanh, PReLU)
    gets exactly its own pieces instead, ``pieces_tol`` (smooth activations) the fewest pieces
    per unit within that error. ``exact=True`` (``direct``, ``pwl``): refuse what cannot be
    represented exactly (a smooth activation; in ``direct`` a unit spanning two sloped pieces).
    Options of ``direct`` only: ``fit`` (``line``, the paper's least-squares line, or
    ``clipped``, the clipped line the neuron computes; piecewise-linear activations are exact
    either way), ``threshold`` (``mse`` default, ``max``,
    ``percentile``), ``percentile=99.9`` (with ``threshold="percentile"``),
    ``per_neuron_threshold=False``. An option the chosen representation would ignore is an
    error. Others: ``calibration_steps=300``, ``calibration_lr=1e-3``, ``finetune_iters=60``,
    ``finetune_lr=2e-4``, ``finetune_seconds=None`` (a time limit for fine-tuning),
    ``spike_budget=None`` (spikes per inference: ``T``, and ``pwl``'s pieces for a smooth
    activation, are chosen for the lowest error within it, ``T`` ignored;
    :mod:`lava_pinn.conversion.budget`; spikes and error measured on ``budget_points``,
    default the calibration points), ``allocation`` (``pwl``, smooth activations:
    ``uniform``, or ``sensitivity``: pieces per unit from its effect on the output,
    :mod:`lava_pinn.conversion.allocation`), ``dtype=torch.float64`` (or ``torch.float32``).

    The network records ``metadata["calibrated_T"]``; ``snn.run(x, T=...)`` or
    ``snn.at_T(T)`` runs it at another ``T`` (calibrated charges rescaled, a warning when far
    from the calibrated ``T`` where calibration is tied to it:
    :mod:`lava_pinn.conversion.transfer`).

    Returns a :class:`SpikingNetwork` (MLP) or :class:`SpikingSPINN`. Its outputs are the raw
    network outputs ``N(x)``; a checkpoint trained with hard constraints still needs
    ``problem.apply_hard_bc(x, N(x))`` (``metadata["hard_bc"]`` says so).
    """
    from lava_pinn.checkpoint import Checkpoint

    check_T(T)
    _check_option_names(options)
    refuse_state_dict(model)
    if budget_points is not None and options.get("spike_budget") is None:
        raise ValueError(
            "budget_points are where spike_budget's spikes are counted; pass spike_budget=N "
            "with them, or drop them"
        )
    meta: dict = {}
    net = model
    if isinstance(model, Checkpoint):
        meta = checkpoint_metadata(model)
        net = model.model
        if calibration_inputs is None:
            calibration_inputs = default_calibration_points(
                model.problem,
                model.problem_params,
                _D.calibration_points,
                _D.seed,
                _D.calibration_boundary,
            )
    if calibration_inputs is None:
        raise ValueError(
            "convert(model, calibration_inputs): give calibration points of shape "
            "(n, in_features) from the input domain (about 512-2048)"
        )
    kwargs = dict(
        T=T,
        neuron=neuron,
        calibration=calibration,
        threshold=threshold,
        representation=representation,
        **options,
    )
    if isinstance(net, nn.Module) and not isinstance(net, (nn.Sequential, SPINN)):
        raise TypeError(
            f"model ({type(net).__name__}) is not an nn.Sequential MLP or a SPINN; "
            f"{supported_modules()}"
        )
    if kwargs.get("spike_budget") is not None:
        return convert_within_budget(net, calibration_inputs, meta, budget_points, **kwargs)
    return _convert_once(net, calibration_inputs, meta, **kwargs)


def _convert_once(net: nn.Module, x: torch.Tensor, meta: dict, **kwargs: object):
    if isinstance(net, SPINN):
        return convert_spinn(net, x, meta, **kwargs)
    return convert_mlp(net, x, metadata=meta, **kwargs)


BUDGET_PLACEMENT = 0.5  # pwl's placement in a budget search unless given


def convert_within_budget(
    net: nn.Module,
    calibration_inputs: torch.Tensor,
    meta: dict,
    budget_points: torch.Tensor | None = None,
    **kwargs: object,
):
    """``convert(..., spike_budget=N)`` (:mod:`lava_pinn.conversion.budget`): ``T`` searched;
    for ``pwl`` on a smooth activation without ``pieces`` (or ``pieces_tol``) given, ``pieces``
    too, with ``allocation="sensitivity"`` and ``placement=0.5`` unless given (pieces where
    they change the output most, the most accurate per spike on the measured networks:
    ``docs/results/equal_cost.md``). Spikes and error are measured on ``budget_points``
    (default: the calibration points; points spread like the inputs the network will see
    count its spikes per inference better than a boundary-heavy calibration set)."""
    o = ConversionOptions(**kwargs)
    spinn = isinstance(net, SPINN)
    subnets = list(net.axis_nets) if spinn else [net]
    n_in = net.config.axes if spinn else parse_mlp(net)[0][0].weight.shape[1]
    x = _calibration_points(calibration_inputs, n_in).to(o.dtype)
    x_b = x if budget_points is None else _calibration_points(budget_points, n_in).to(o.dtype)
    hidden = [a for sub in subnets for a in parse_mlp(sub)[0]]
    smooth = any(piecewise_linear(a.fn) is None for a in hidden)
    choose = o.representation == "pwl" and smooth and o.pieces is None and o.pieces_tol is None
    given = {**kwargs, "spike_budget": None}
    if choose:
        given["allocation"] = o.allocation or "sensitivity"
        given["placement"] = BUDGET_PLACEMENT if o.placement is None else o.placement
    with torch.no_grad():
        y_ann = _model_output(net, x_b)
    calls = [0]

    def build(**kw: object):
        calls[0] += 1
        with warnings.catch_warnings():
            if calls[0] > 1:  # the first conversion warned about the points once
                warnings.simplefilter("ignore")
            return _convert_once(net, x, meta, **{**given, **kw})

    return budget_search(
        build, x_b, y_ann, o.spike_budget, PIECES if choose else (None,), o.calibration
    )


def _model_output(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The ANN's outputs at ``x`` in ``x``'s dtype (a copy of the model, never the model)."""
    import copy

    return copy.deepcopy(net).to(x.dtype).eval()(x)
