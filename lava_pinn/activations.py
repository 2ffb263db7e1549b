"""Elementwise activation functions a PINN may use, looked up by name or by module type.

Conversion needs to know that a module acts elementwise, with one scalar function for every unit
(``y_i = f(z_i)``), before it can replace it with spiking neurons; this registry is that list.
Users add their own with :func:`register_activation`.

A model's own activation *instance* is what conversion evaluates (:func:`frozen_copy`), so its
parameters count: ``Softplus(beta=5)``, ``LeakyReLU(0.2)``, ``GELU(approximate="tanh")`` or a
registered user class with a trained scalar parameter (an adaptive ``tanh(a z)``) are converted
as they compute. ``defaults`` only serve :meth:`Activation.module`, which builds the activation of
a model made from a config by name.
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
class Activation:
    """An elementwise activation: ``name``, the module class that computes it, its constructor
    arguments for :meth:`module`, and an optional ``check(module) -> reason or None`` that
    refuses instances conversion cannot represent (a per-unit parameter, say)."""

    name: str
    module_type: type
    defaults: tuple[tuple[str, object], ...] = ()
    check: Callable[[nn.Module], str | None] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.module_type, type) or not issubclass(self.module_type, nn.Module):
            raise TypeError(
                f"Activation.module_type must be an nn.Module subclass, got {self.module_type!r}"
            )
        if self.check is not None and not callable(self.check):
            raise TypeError(f"Activation.check must be callable or None, got {self.check!r}")

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
) -> Activation:
    """Register an elementwise activation module class under ``name``.

    The class must compute one scalar function of each element, the same for every unit;
    scalar parameters (trained or not) are fine, they are read from the model's instance.
    ``defaults`` are the keyword arguments :meth:`Activation.module` builds it with."""
    act = Activation(name, module_type, tuple(sorted((defaults or {}).items())), check)
    ACTIVATIONS.register(name, act)
    return act


register_activation("tanh", nn.Tanh)
register_activation("sin", Sin)
register_activation("sigmoid", nn.Sigmoid)
register_activation("silu", nn.SiLU)
register_activation("gelu", nn.GELU, {"approximate": "none"})
register_activation("softplus", nn.Softplus, {"beta": 1.0, "threshold": 20.0})
register_activation("relu", nn.ReLU)
register_activation("leaky-relu", nn.LeakyReLU, {"negative_slope": 0.01})
register_activation("elu", nn.ELU, {"alpha": 1.0})
register_activation("celu", nn.CELU, {"alpha": 1.0})
register_activation("selu", nn.SELU)
register_activation("mish", nn.Mish)
register_activation("hardtanh", nn.Hardtanh, {"min_val": -1.0, "max_val": 1.0})
register_activation("relu6", nn.ReLU6)
register_activation("hardswish", nn.Hardswish)
register_activation("hardsigmoid", nn.Hardsigmoid)
register_activation("softsign", nn.Softsign)
register_activation("tanhshrink", nn.Tanhshrink)
register_activation("logsigmoid", nn.LogSigmoid)
register_activation("prelu", nn.PReLU, check=_one_prelu_slope)


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


def frozen_copy(module: nn.Module, dtype: torch.dtype) -> nn.Module:
    """A detached copy of an activation instance in ``dtype``, in eval mode, that conversion
    evaluates as ``f`` (gradients off: the model's own parameters are never touched)."""
    out = copy.deepcopy(module).to(dtype).eval()
    for p in out.parameters():
        p.requires_grad_(False)
    return out


def available() -> list[str]:
    return ACTIVATIONS.available()
