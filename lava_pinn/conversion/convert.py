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
import sys
import time
import warnings

import torch
from torch import nn

from lava_pinn.activations import activation_label, activation_of, frozen_copy, piecewise_linear
from lava_pinn.activations import available as available_activations
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
from lava_pinn.conversion.representations import REPRESENTATIONS, AnnLayer, ann_forward
from lava_pinn.conversion.spinn import SpikingSPINN
from lava_pinn.metrics import rel_l2  # noqa: F401  public here: lava_pinn.conversion.rel_l2
from lava_pinn.models import SPINN
from lava_pinn.validation import check_T

log = logging.getLogger(__name__)

_NOT_ELEMENTWISE = (nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.Softmax2d, nn.GLU)


def supported_modules() -> str:
    return (
        "supported: Linear, Identity, Dropout (eval mode) and the elementwise activations "
        f"{', '.join(available_activations())} (register others with "
        "lava_pinn.activations.register_activation)"
    )


def _plain_sequential(module: nn.Module) -> bool:
    """An ``nn.Sequential`` (or subclass) whose ``forward`` is Sequential's own: a chain."""
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def _flatten(module: nn.Module, path: str) -> list[tuple[str, nn.Module]]:
    if _plain_sequential(module):
        out = []
        # _modules, not named_children(): forward() runs a module listed twice twice
        for name, child in module._modules.items():
            if child is not None:
                out.extend(_flatten(child, f"{path}.{name}"))
        return out
    return [(path, module)]


def _check_finite(t: torch.Tensor, what: str) -> None:
    if isinstance(t, nn.parameter.UninitializedParameter):
        raise ValueError(
            f"{what} is uninitialized (a lazy module); run one forward pass on a batch of "
            "points before converting"
        )
    if not torch.isfinite(t).all():
        raise ValueError(f"{what} holds NaN or inf values; convert a finite, trained model")


def _unsupported(label: str, mod: nn.Module) -> str:
    """Why ``mod`` cannot be converted, with the fix."""
    if isinstance(mod, nn.Sequential) or any(True for _ in mod.children()):
        return (
            f"{label} has its own forward() over sub-modules (a residual block or other custom "
            f"container) and cannot be read as a chain of layers; write the model as an "
            f"nn.Sequential; {supported_modules()}"
        )
    return f"{label} cannot be converted; {supported_modules()}"


def parse_mlp(model: nn.Module, name: str = "model") -> tuple[list[AnnLayer], nn.Linear]:
    """Split ``model`` into hidden ``AnnLayer`` s and the final ``Linear``; refuse the rest."""
    if not _plain_sequential(model):
        raise TypeError(
            f"{name} ({type(model).__name__}) is not an nn.Sequential MLP (residual blocks and "
            f"custom forward(), including an nn.Sequential subclass that overrides it, cannot be "
            f"read); {supported_modules()}"
        )
    items: list[tuple[str, str, nn.Module]] = []  # (kind, path, module)
    for path, mod in _flatten(model, name):
        label = f"{path} ({type(mod).__name__})"
        if isinstance(mod, nn.Linear):
            _check_finite(mod.weight, f"{label} weight")
            if mod.bias is not None:
                _check_finite(mod.bias, f"{label} bias")
            items.append(("linear", path, mod))
        elif isinstance(mod, nn.Identity):
            continue
        elif isinstance(mod, nn.modules.dropout._DropoutNd):
            if mod.training and mod.p > 0:
                raise ValueError(
                    f"{label} is in training mode (random); call model.eval() before converting"
                )
            continue
        elif isinstance(mod, _NOT_ELEMENTWISE):
            raise ValueError(
                f"{label} is not an elementwise activation (it mixes units) and cannot be "
                f"converted to spiking neurons; {supported_modules()}"
            )
        elif (found := activation_of(mod)) is not None:
            reason = found[1].check(mod) if found[1].check is not None else None
            if reason:
                raise ValueError(f"{label} {reason}")
            items.append(("act", path, mod))
        else:
            raise ValueError(_unsupported(label, mod))
    kinds = [k for k, _, _ in items]
    if not kinds or kinds[0] != "linear" or kinds[-1] != "linear" or len(kinds) < 3:
        raise ValueError(
            f"{name} must be Linear, activation, Linear[, activation, Linear ...] with at least "
            f"one hidden layer; got {[f'{p} ({type(m).__name__})' for _, p, m in items]}"
        )
    for (k1, p1, m1), (k2, p2, m2) in zip(items, items[1:], strict=False):
        if k1 == k2:
            raise ValueError(
                f"{p1} ({type(m1).__name__}) is followed by {p2} ({type(m2).__name__}): layers "
                "must alternate Linear and activation; merge consecutive Linear layers first"
            )
    linears = [(p, m) for k, p, m in items if k == "linear"]
    for (p1, m1), (p2, m2) in zip(linears, linears[1:], strict=False):
        if m2.in_features != m1.out_features:
            raise ValueError(
                f"{p2} (Linear) takes {m2.in_features} inputs but {p1} (Linear) gives "
                f"{m1.out_features}; the model cannot run as written, fix its layer sizes"
            )
    hidden = []
    for i in range(0, len(items) - 1, 2):
        lin, act = items[i][2], items[i + 1][2]
        bias = lin.bias if lin.bias is not None else torch.zeros(lin.out_features)
        hidden.append(
            AnnLayer(
                lin.weight.detach(),
                bias.detach(),
                activation_label(act),
                items[i][1],
                frozen_copy(act, lin.weight.dtype),
            )
        )
    last = items[-1][2]
    return hidden, last


def _user_stacklevel() -> int:
    """``warnings.warn``'s stacklevel of the first caller outside ``lava_pinn`` (the user's
    line, not this package's)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("lava_pinn"):
        frame, level = frame.f_back, level + 1
    return level


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
            stacklevel=_user_stacklevel(),
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
            stacklevel=_user_stacklevel(),
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
    if o.spike_budget is not None:
        smooth = any(piecewise_linear(a.fn) is None for a in ann)
        choose_pieces = representation == "pwl" and smooth and o.pieces is None
        choose_pieces = choose_pieces and o.pieces_tol is None

        def build(**kw: object) -> SpikingNetwork:
            given = {**options, "spike_budget": None, **kw}
            return convert_mlp(model, x, metadata=metadata, path=path, **given)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the checks above already warned once
            return budget_search(
                build, x, y_ann, o.spike_budget, PIECES if choose_pieces else (None,)
            )
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
        **{k: opts[k] for k in ("pieces", "placement", "pieces_tol", "fit", "exact") if k in opts},
    )
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
        "activations": [a.activation for a in ann],
        "units": [int(a.weight.shape[0]) for a in ann],
        "convert_seconds": time.perf_counter() - t0,
        "encoding": "direct (analog x drives layer 1 every step)",
        "output": "non-spiking integrator, mean over T of W_out s_t + b_out",
        **(metadata or {}),
    }
    log.info("converted %s in %.1f s", representation, meta["convert_seconds"])
    return SpikingNetwork(hidden_layers, out, T, meta)


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
    if kwargs.get("spike_budget") is not None:
        raise ValueError(
            "spike_budget is for MLPs; a SPINN's axis networks fire separately: convert it with "
            "a T instead (or convert each of model.axis_nets with its own budget)"
        )
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
    activation, are chosen for the lowest calibration-set error within it, ``T`` ignored;
    :mod:`lava_pinn.conversion.budget`),
    ``dtype=torch.float64`` (or ``torch.float32``).

    Returns a :class:`SpikingNetwork` (MLP) or :class:`SpikingSPINN`. Its outputs are the raw
    network outputs ``N(x)``; a checkpoint trained with hard constraints still needs
    ``problem.apply_hard_bc(x, N(x))`` (``metadata["hard_bc"]`` says so).
    """
    from lava_pinn.checkpoint import Checkpoint

    check_T(T)
    _check_option_names(options)
    refuse_state_dict(model)
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
    if isinstance(net, SPINN):
        snn: SpikingNetwork | SpikingSPINN = convert_spinn(net, calibration_inputs, meta, **kwargs)
    else:
        if isinstance(net, nn.Module) and not isinstance(net, nn.Sequential):
            raise TypeError(
                f"model ({type(net).__name__}) is not an nn.Sequential MLP or a SPINN; "
                f"{supported_modules()}"
            )
        snn = convert_mlp(net, calibration_inputs, metadata=meta, **kwargs)
    return snn
