"""Training PINNs on zoo problems: Adam with a learning-rate schedule, then optional L-BFGS.

The loss is

    L = w_pde * sum_eq mean(r_eq(x_c)^2) + sum_cond w_kind * mean((N(x_b)[fields] - g_b)^2),

with residuals ``r_eq`` from :meth:`Problem.residual` at collocation points ``x_c`` and the soft
conditions of :meth:`Problem.conditions` (``kind`` = bc / ic / data selects the weight). With
``hard_bc=True`` the output is ``u = g(x) + d(x) N(x)`` and the conditions it satisfies exactly are
dropped from the loss. Everything is seeded by ``TrainConfig.seed``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from torch import nn

from lava_pinn.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from lava_pinn.metrics import field_errors
from lava_pinn.models import SPINN, ModelConfig
from lava_pinn.problems import Problem, get_problem
from lava_pinn.validation import check_count, check_real

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float64": torch.float64}
SCHEDULES = ("exponential", "cosine", "constant")


class TrainingError(RuntimeError):
    """Training diverged (non-finite loss); the message names the step and the loss terms."""


def _check_int(cfg: TrainConfig, name: str, minimum: int) -> None:
    object.__setattr__(cfg, name, check_count(getattr(cfg, name), f"TrainConfig.{name}", minimum))


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of :func:`train` (validated; every field is named in its error).

    ``lr`` is Adam's initial learning rate; ``lr_schedule`` decays it to ``lr * lr_final`` at the
    last Adam step (``exponential`` or ``cosine``) or keeps it (``constant``). ``lbfgs_steps`` is
    the number of L-BFGS iterations after Adam (0 = none). ``resample_every`` redraws the
    collocation points every that many Adam steps (0 = fixed points).
    """

    adam_steps: int = 2000
    lr: float = 1e-3
    lr_schedule: str = "exponential"
    lr_final: float = 0.1
    lbfgs_steps: int = 0
    n_collocation: int = 2000
    n_boundary: int = 400
    pde_weight: float = 1.0
    bc_weight: float = 1.0
    ic_weight: float = 1.0
    data_weight: float = 1.0
    hard_bc: bool = False
    dtype: str = "float32"
    seed: int = 0
    resample_every: int = 0
    log_every: int = 100

    def __post_init__(self) -> None:
        _check_int(self, "adam_steps", 0)
        _check_int(self, "lbfgs_steps", 0)
        if self.adam_steps + self.lbfgs_steps == 0:
            raise ValueError("TrainConfig: adam_steps and lbfgs_steps are both 0; set one > 0")
        check_real(self.lr, "TrainConfig.lr", low=0.0, high=10.0, low_open=True)
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(
                f"TrainConfig.lr_schedule {self.lr_schedule!r} is unknown; use one of {SCHEDULES}"
            )
        check_real(self.lr_final, "TrainConfig.lr_final", low=0.0, high=1.0, low_open=True)
        _check_int(self, "n_collocation", 1)
        _check_int(self, "n_boundary", 1)
        for name in ("pde_weight", "bc_weight", "ic_weight", "data_weight"):
            check_real(getattr(self, name), f"TrainConfig.{name}", low=0.0)
        if not isinstance(self.hard_bc, bool):
            raise TypeError(f"TrainConfig.hard_bc must be True or False, got {self.hard_bc!r}")
        if self.dtype not in DTYPES:
            raise ValueError(
                f"TrainConfig.dtype {self.dtype!r} is unknown; use one of {sorted(DTYPES)}"
            )
        _check_int(self, "seed", 0)
        _check_int(self, "resample_every", 0)
        _check_int(self, "log_every", 1)

    @classmethod
    def for_problem(cls, problem: Problem | str, **overrides: object) -> TrainConfig:
        """The problem's default hyper-parameters, with ``overrides`` on top."""
        problem = get_problem(problem) if isinstance(problem, str) else problem
        known = {f.name for f in fields(cls)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise ValueError(f"TrainConfig has no field(s) {bad}; fields: {sorted(known)}")
        return cls(**{**problem.default_training(), **overrides})

    def to_dict(self) -> dict:
        return asdict(self)

    def weight(self, kind: str) -> float:
        return {"bc": self.bc_weight, "ic": self.ic_weight, "data": self.data_weight}[kind]


@dataclass
class TrainResult:
    """A trained model with its problem, configs, final metrics and loss history."""

    model: nn.Module
    model_config: ModelConfig
    problem: Problem
    config: TrainConfig
    metrics: dict
    history: list[dict] = field(default_factory=list)

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint (:func:`lava_pinn.checkpoint.save_checkpoint`)."""
        return save_checkpoint(
            path,
            self.model,
            self.model_config,
            problem=self.problem.name,
            problem_params=dict(self.problem.param_values),
            training=self.config.to_dict(),
            metrics=self.metrics,
            hard_bc=self.config.hard_bc,
        )


def pinn_forward(
    model: nn.Module, problem: Problem, x: torch.Tensor, hard_bc: bool = False
) -> torch.Tensor:
    """The PINN's output at ``x``: ``N(x)``, or ``g(x) + d(x) N(x)`` when trained with hard BCs."""
    out = model(x)
    return problem.apply_hard_bc(x, out) if hard_bc else out


def _check_model(problem: Problem, config: ModelConfig) -> None:
    n_in = config.axes if config.kind == "spinn" else config.in_features
    if n_in != problem.in_features or config.out_features != problem.out_features:
        raise ValueError(
            f"model {config.describe()} maps {n_in} -> {config.out_features} features but problem "
            f"{problem.name!r} maps {problem.inputs} -> {problem.outputs}; fix in/out features"
        )


class _Loss:
    """Loss terms of one problem at fixed points (collocation can be redrawn)."""

    def __init__(self, problem: Problem, config: TrainConfig, generator: torch.Generator):
        self.problem, self.config, self.gen = problem, config, generator
        self.dtype = DTYPES[config.dtype]
        self.conditions = [
            c.to(self.dtype)
            for c in problem.conditions(config.n_boundary, generator)
            if not (config.hard_bc and c.hard)
        ]
        self.resample()

    def resample(self) -> None:
        if self.problem.has_pde:
            xc = self.problem.sample_collocation(self.config.n_collocation, self.gen)
            self.xc = xc.to(self.dtype).requires_grad_(True)

    def terms(self, model: nn.Module) -> dict[str, torch.Tensor]:
        hard = self.config.hard_bc
        out: dict[str, torch.Tensor] = {}
        if self.problem.has_pde and self.config.pde_weight > 0:
            u = pinn_forward(model, self.problem, self.xc, hard)
            for name, r in self.problem.residual(self.xc, u).items():
                out[f"pde:{name}"] = self.config.pde_weight * r.pow(2).mean()
        for c in self.conditions:
            w = self.config.weight(c.kind)
            if w > 0:
                pred = pinn_forward(model, self.problem, c.points, hard)[:, list(c.fields)]
                out[f"{c.kind}:{c.name}"] = w * (pred - c.targets).pow(2).mean()
        if not out:
            raise ValueError("every loss term has weight 0; set a positive pde/bc/ic/data weight")
        return out


def _fmt(terms: dict[str, torch.Tensor | float]) -> str:
    return ", ".join(f"{k}={float(v):.3e}" for k, v in terms.items())


def _lr_factor(config: TrainConfig):
    n = max(config.adam_steps, 1)
    if config.lr_schedule == "constant":
        return lambda s: 1.0
    if config.lr_schedule == "cosine":
        lo = config.lr_final
        return lambda s: lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * min(s, n) / n))
    return lambda s: config.lr_final ** (min(s, n) / n)


def train(
    problem: Problem | str,
    model_config: ModelConfig | None = None,
    config: TrainConfig | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a PINN for ``problem`` (defaults: the problem's model and hyper-parameters).

    Raises ``ValueError`` for a model that does not fit the problem or ``hard_bc`` on a problem
    without a hard-constraint transform, and :class:`TrainingError` on a non-finite loss.
    """
    from tqdm.auto import tqdm

    problem = get_problem(problem) if isinstance(problem, str) else problem
    model_config = model_config or problem.default_model()
    config = config or TrainConfig.for_problem(problem)
    _check_model(problem, model_config)
    if config.hard_bc and not problem.has_hard_bc:
        raise ValueError(
            f"problem {problem.name!r} has no hard-constraint transform; train with hard_bc=False"
        )
    dtype = DTYPES[config.dtype]
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = model_config.build().to(dtype)
    loss_fn = _Loss(problem, config, gen)
    history: list[dict] = []
    start = time.perf_counter()
    bar = tqdm(
        total=config.adam_steps + config.lbfgs_steps,
        desc=f"train {problem.name}",
        disable=None if progress else True,  # None: off when stderr is not a terminal
        leave=False,
    )

    def check(total: torch.Tensor, terms: dict, step: int, phase: str) -> None:
        if not torch.isfinite(total):
            bar.close()
            raise TrainingError(
                f"training {problem.name!r} stopped: loss is {float(total)} at {phase} step "
                f"{step} (terms: {_fmt(terms)}); lower the learning rate (now {config.lr}), "
                f"use dtype='float64', or change the loss weights"
            )

    def record(step: int, phase: str, total: torch.Tensor, terms: dict) -> None:
        history.append(
            {"step": step, "phase": phase, "loss": float(total)}
            | {k: float(v) for k, v in terms.items()}
        )

    # ---------------------------------------------------------------- Adam
    if config.adam_steps:
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_factor(config))
        for step in range(1, config.adam_steps + 1):
            if config.resample_every and step % config.resample_every == 0:
                loss_fn.resample()
            opt.zero_grad(set_to_none=True)
            terms = loss_fn.terms(model)
            total = sum(terms.values())
            check(total, terms, step, "adam")
            total.backward()
            opt.step()
            sched.step()
            if step % config.log_every == 0 or step == 1:
                record(step, "adam", total, terms)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{float(total):.3e}", refresh=False)
            bar.update(1)

    # ---------------------------------------------------------------- L-BFGS
    lbfgs_done = 0
    if config.lbfgs_steps:
        chunk = 50
        opt2 = torch.optim.LBFGS(
            model.parameters(),
            lr=1.0,
            max_iter=chunk,
            history_size=50,
            tolerance_grad=1e-10,
            tolerance_change=1e-14,
            line_search_fn="strong_wolfe",
        )
        last: dict = {}

        def closure() -> torch.Tensor:
            opt2.zero_grad(set_to_none=True)
            terms = loss_fn.terms(model)
            total = sum(terms.values())
            check(total, terms, config.adam_steps + lbfgs_done, "lbfgs")
            total.backward()
            last["total"], last["terms"] = total.detach(), {k: v.detach() for k, v in terms.items()}
            return total

        while lbfgs_done < config.lbfgs_steps:
            n = min(chunk, config.lbfgs_steps - lbfgs_done)
            opt2.param_groups[0]["max_iter"] = n
            before = opt2.state[opt2._params[0]].get("n_iter", 0)
            opt2.step(closure)
            after = opt2.state[opt2._params[0]].get("n_iter", 0)
            done = max(after - before, 1)
            lbfgs_done += done
            bar.update(min(done, n))
            bar.set_postfix(loss=f"{float(last['total']):.3e}", refresh=False)
            record(config.adam_steps + lbfgs_done, "lbfgs", last["total"], last["terms"])
            if after - before < n:  # converged (tolerances met)
                log.info("L-BFGS converged after %d iterations", lbfgs_done)
                break
    bar.close()
    wall = time.perf_counter() - start

    model.eval()
    terms = loss_fn.terms(model)
    total = sum(terms.values())
    check(total, terms, config.adam_steps + lbfgs_done, "final")
    metrics = {
        "loss": float(total),
        "loss_terms": {k: float(v) for k, v in terms.items()},
        "rel_l2": evaluate(model, problem, hard_bc=config.hard_bc),
        "wall_time_s": wall,
        "adam_steps": config.adam_steps,
        "lbfgs_iterations": lbfgs_done,
        "threads": torch.get_num_threads(),
    }
    log.info("trained %s in %.1f s: %s", problem.name, wall, metrics["rel_l2"])
    return TrainResult(model, model_config, problem, config, metrics, history)


def predict(
    model: nn.Module,
    problem: Problem,
    points: torch.Tensor,
    hard_bc: bool = False,
    axes: tuple[torch.Tensor, ...] = (),
) -> torch.Tensor:
    """Outputs ``(N, k)`` at ``points`` (float64), in chunks, without gradients.

    A SPINN evaluated on a tensor grid (``axes`` given, ``points`` = that grid in ``ij`` order)
    uses ``SPINN.grid`` (``d * N`` sub-network evaluations instead of ``N^d``).
    """
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        if isinstance(model, SPINN) and axes:
            raw = model.grid([a.to(dtype) for a in axes]).reshape(points.shape[0], -1)
        else:
            raw = torch.cat([model(p.to(dtype)) for p in points.split(16384)])
        out = problem.apply_hard_bc(points.to(dtype), raw) if hard_bc else raw
    return out.to(torch.float64)


def evaluate(
    model: nn.Module | Checkpoint | str | os.PathLike,
    problem: Problem | str | None = None,
    hard_bc: bool | None = None,
) -> dict[str, float]:
    """Relative L2 error ``||pred - ref|| / ||ref||`` per output field on ``problem.reference()``.

    ``model`` is a network, a loaded :class:`Checkpoint` or a checkpoint path; for checkpoints the
    problem (with its parameters) and ``hard_bc`` default to the stored ones. Fields listed in
    ``problem.gauge_fields`` are compared after removing their mean.
    """
    if isinstance(model, str | os.PathLike):
        model = load_checkpoint(model)
    if isinstance(model, Checkpoint):
        ck = model
        problem = problem or get_problem(ck.problem, **ck.problem_params)
        hard_bc = ck.hard_bc if hard_bc is None else hard_bc
        model = ck.model
    if problem is None:
        raise ValueError("evaluate(model, problem): give the problem for a bare network")
    problem = get_problem(problem) if isinstance(problem, str) else problem
    ref = problem.reference()
    pred = predict(model, problem, ref.points, bool(hard_bc), ref.axes)
    return field_errors(pred, ref.values, problem.outputs, problem.gauge_fields, finite_only=False)


__all__ = [
    "DTYPES",
    "TrainConfig",
    "TrainResult",
    "TrainingError",
    "evaluate",
    "pinn_forward",
    "predict",
    "train",
]
