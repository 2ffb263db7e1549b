"""Elementwise activation functions a PINN may use, looked up by name or by module type.

Conversion needs to know that a module acts elementwise, with one scalar function for every unit
(``y_i = f(z_i)``), before it can replace it with spiking neurons; this registry is that list.
Users add their own with :func:`register_activation`.

A model's own activation *instance* is what conversion evaluates (:func:`frozen_copy`), so its
parameters count: ``Softplus(beta=5)``, ``LeakyReLU(0.2)``, ``GELU(approximate="tanh")`` or a
registered user class with a trained scalar parameter (an adaptive ``tanh(a z)``) are converted
as they compute. ``defaults`` only serve :meth:`Activation.module`, which builds the activation of
a model made from a config by name.

Piecewise-linear activations (ReLU, LeakyReLU, ReLU6, Hardtanh, PReLU with one slope) also
describe their pieces (:class:`PiecewiseLinear`, :func:`piecewise_linear`): their knots and
the slope of every piece, read from the instance, so conversion can represent them exactly
instead of approximating them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from lava_pinn.registry import Registry


class Sin(nn.Module):
    """``y = sin(x)``, the activation of SIREN-style PINNs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


def _one_prelu_slope(module: nn.Module) -> str | None:
    n = module.weight.numel()
    if n != 1:
        return (
            f"has {n} slopes (num_parameters={n}), one per unit; conversion needs one scalar "
            "function for every unit: use nn.PReLU() (a single slope)"
        )
    return None


@dataclass(frozen=True)
class PiecewiseLinear:
    """``f`` as linear pieces: ``knots`` ``k_1 < ... < k_m`` and ``slopes`` ``s_0 .. s_m``
    (``s_0`` left of ``k_1``, ``s_i`` on ``[k_i, k_{i+1}]``, ``s_m`` right of ``k_m``).
    The values come from ``f`` itself (``f(k_i)``); this records only where it bends."""

    knots: tuple[float, ...]
    slopes: tuple[float, ...]

    def __post_init__(self) -> None:
        knots = tuple(float(k) for k in self.knots)
        slopes = tuple(float(s) for s in self.slopes)
        if len(slopes) != len(knots) + 1:
            raise ValueError(
                f"PiecewiseLinear.slopes must hold len(knots) + 1 = {len(knots) + 1} values "
                f"(one per piece), got {len(slopes)}"
            )
        if any(b <= a for a, b in zip(knots, knots[1:], strict=False)):
            raise ValueError(f"PiecewiseLinear.knots must increase strictly, got {knots}")
        object.__setattr__(self, "knots", knots)
        object.__setattr__(self, "slopes", slopes)

    def pieces_on(self, lo: float, hi: float) -> list[tuple[float, float, float]]:
        """The pieces ``(a, b, slope)`` that ``[lo, hi]`` reaches, cut at the knots inside it,
        in increasing order."""
        inner = [k for k in self.knots if lo < k < hi]
        edges = [lo, *inner, hi]
        out = []
        for a, b in zip(edges, edges[1:], strict=False):
            mid = 0.5 * (a + b)
            i = sum(1 for k in self.knots if k <= mid)
            out.append((a, b, self.slopes[i]))
        return out


def _relu_pieces(module: nn.Module) -> PiecewiseLinear:
    return PiecewiseLinear((0.0,), (0.0, 1.0))


def _leaky_pieces(module: nn.Module) -> PiecewiseLinear:
    return PiecewiseLinear((0.0,), (float(module.negative_slope), 1.0))


def _prelu_pieces(module: nn.Module) -> PiecewiseLinear:
    return PiecewiseLinear((0.0,), (float(module.weight.detach().reshape(-1)[0]), 1.0))


def _relu6_pieces(module: nn.Module) -> PiecewiseLinear:
    return PiecewiseLinear((0.0, 6.0), (0.0, 1.0, 0.0))


def _hardtanh_pieces(module: nn.Module) -> PiecewiseLinear:
    return PiecewiseLinear((float(module.min_val), float(module.max_val)), (0.0, 1.0, 0.0))


@dataclass(frozen=True)
class Activation:
    """An elementwise activation: ``name``, the module class that computes it, its constructor
    arguments for :meth:`module`, an optional ``check(module) -> reason or None`` that
    refuses instances conversion cannot represent (a per-unit parameter, say), and for a
    piecewise-linear activation ``pieces(module) -> PiecewiseLinear`` (its knots and slopes)."""

    name: str
    module_type: type
    defaults: tuple[tuple[str, object], ...] = ()
    check: Callable[[nn.Module], str | None] | None = None
    pieces: Callable[[nn.Module], PiecewiseLinear] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.module_type, type) or not issubclass(self.module_type, nn.Module):
            raise TypeError(
                f"Activation.module_type must be an nn.Module subclass, got {self.module_type!r}"
            )
        if self.check is not None and not callable(self.check):
            raise TypeError(f"Activation.check must be callable or None, got {self.check!r}")
        if self.pieces is not None and not callable(self.pieces):
            raise TypeError(f"Activation.pieces must be callable or None, got {self.pieces!r}")

    def module(self) -> nn.Module:
        """A new instance, built with ``defaults`` as keyword arguments."""
        return self.module_type(**dict(self.defaults))

    def matches(self, module: nn.Module) -> bool:
        """Is ``module`` this activation with exactly its ``defaults``?"""
        if type(module) is not self.module_type:
            return False
        return all(getattr(module, k, v) == v for k, v in self.defaults)


ACTIVATIONS: Registry[Activation] = Registry("activation")


def register_activation(
    name: str,
    module_type: type,
    defaults: dict[str, object] | None = None,
    check: Callable[[nn.Module], str | None] | None = None,
    pieces: Callable[[nn.Module], PiecewiseLinear] | None = None,
) -> Activation:
    """Register an elementwise activation module class under ``name``.

    The class must compute one scalar function of each element, the same for every unit;
    scalar parameters (trained or not) are fine, they are read from the model's instance.
    ``defaults`` are the keyword arguments :meth:`Activation.module` builds it with;
    ``pieces(module)``, for a piecewise-linear activation, its :class:`PiecewiseLinear`."""
    act = Activation(name, module_type, tuple(sorted((defaults or {}).items())), check, pieces)
    ACTIVATIONS.register(name, act)
    return act


register_activation("tanh", nn.Tanh)
register_activation("sin", Sin)
register_activation("sigmoid", nn.Sigmoid)
register_activation("silu", nn.SiLU)
register_activation("gelu", nn.GELU, {"approximate": "none"})
register_activation("softplus", nn.Softplus, {"beta": 1.0, "threshold": 20.0})
register_activation("relu", nn.ReLU, pieces=_relu_pieces)
register_activation("leaky-relu", nn.LeakyReLU, {"negative_slope": 0.01}, pieces=_leaky_pieces)
register_activation("elu", nn.ELU, {"alpha": 1.0})
register_activation("celu", nn.CELU, {"alpha": 1.0})
register_activation("selu", nn.SELU)
register_activation("mish", nn.Mish)
register_activation(
    "hardtanh", nn.Hardtanh, {"min_val": -1.0, "max_val": 1.0}, pieces=_hardtanh_pieces
)
register_activation("relu6", nn.ReLU6, pieces=_relu6_pieces)
register_activation("hardswish", nn.Hardswish)
register_activation("hardsigmoid", nn.Hardsigmoid)
register_activation("softsign", nn.Softsign)
register_activation("tanhshrink", nn.Tanhshrink)
register_activation("logsigmoid", nn.LogSigmoid)
register_activation("prelu", nn.PReLU, check=_one_prelu_slope, pieces=_prelu_pieces)


def get_activation(name: str) -> Activation:
    """Return the activation registered as ``name`` (the error lists the available ones)."""
    return ACTIVATIONS.get(name)


def activation_of(module: nn.Module) -> tuple[str, Activation] | None:
    """The registry entry for ``module``'s class: the one whose ``defaults`` it has, else the
    first registered for that class; ``None`` if the class is not registered."""
    same_type = [(n, a) for n, a in ACTIVATIONS.items() if type(module) is a.module_type]
    for name, act in same_type:
        if act.matches(module):
            return name, act
    return same_type[0] if same_type else None


def activation_name_of(module: nn.Module) -> str | None:
    """The registry name of an activation module, or ``None`` if its class is not registered."""
    found = activation_of(module)
    return None if found is None else found[0]


def activation_label(module: nn.Module) -> str:
    """A name for metadata: the registry name, with the instance's settings when they are not
    the registered defaults and its scalar parameters (``softplus(beta=5.0, threshold=20.0)``,
    ``prelu(weight=0.3)``)."""
    found = activation_of(module)
    if found is None:
        return type(module).__name__
    name, act = found
    parts = [] if act.matches(module) or not module.extra_repr() else [module.extra_repr()]
    parts += [
        f"{n}={float(p.detach().reshape(())):.6g}"
        for n, p in module.named_parameters()
        if p.numel() == 1
    ]
    return f"{name}({', '.join(parts)})" if parts else name


def piecewise_linear(module: nn.Module) -> PiecewiseLinear | None:
    """The pieces of ``module`` if its registered activation is piecewise linear, else
    ``None`` (smooth, or not registered)."""
    found = activation_of(module)
    if found is None or found[1].pieces is None:
        return None
    return found[1].pieces(module)


def piecewise_activations() -> list[str]:
    """Names of the registered activations that describe their pieces."""
    return [n for n, a in ACTIVATIONS.items() if a.pieces is not None]


def require_piecewise_linear(module: nn.Module, what: str) -> PiecewiseLinear:
    """:func:`piecewise_linear` of ``module``, or a ``ValueError`` naming the activation and
    ``what`` needs it (an exact-only path)."""
    pl = piecewise_linear(module)
    if pl is None:
        raise ValueError(
            f"{what} represents piecewise-linear activations exactly, but "
            f"{activation_label(module)!r} is not piecewise linear (piecewise-linear: "
            f"{', '.join(piecewise_activations())}); use pieces=K (an integer) or "
            "pieces_tol=... to approximate it"
        )
    return pl


def frozen_copy(module: nn.Module, dtype: torch.dtype) -> nn.Module:
    """A detached copy of an activation instance in ``dtype``, in eval mode, that conversion
    evaluates as ``f`` (gradients off: the model's own parameters are never touched)."""
    out = copy.deepcopy(module).to(dtype).eval()
    for p in out.parameters():
        p.requires_grad_(False)
    return out


def available() -> list[str]:
    return ACTIVATIONS.available()
