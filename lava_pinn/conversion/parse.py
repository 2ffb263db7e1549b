"""Reading a trained MLP into ``Linear``/activation pairs: :func:`parse_mlp` refuses anything
else with the module's path named."""

from __future__ import annotations

import torch
from torch import nn

from lava_pinn.activations import activation_label, activation_of, frozen_copy
from lava_pinn.activations import available as available_activations
from lava_pinn.conversion.representations import AnnLayer

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
