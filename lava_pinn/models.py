"""PINN architectures: plain MLPs (``nn.Sequential`` of ``Linear`` and an activation) and SPINNs.

An MLP maps points ``x`` of shape ``(n, in_features)`` to ``(n, out_features)``. A separable PINN
(SPINN, Cho et al. 2023) has one MLP per coordinate axis, each mapping a scalar coordinate to
``rank * out_features`` features, combined as

    u_k(x_1, ..., x_d) = sum_r prod_i f_i(x_i)[r, k],

so a full ``N^d`` grid costs ``d * N`` network evaluations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from lava_pinn.activations import available as available_activations
from lava_pinn.activations import get_activation
from lava_pinn.registry import unknown_name
from lava_pinn.validation import check_count


def _check_widths(widths: tuple[int, ...], owner: str) -> tuple[int, ...]:
    if isinstance(widths, int) or not hasattr(widths, "__iter__"):
        raise TypeError(f"{owner}.widths must be a sequence of positive ints, got {widths!r}")
    widths = tuple(widths)
    if not widths:
        raise ValueError(f"{owner}.widths must hold at least one hidden layer width, got ()")
    return tuple(check_count(w, f"{owner}.widths {widths}: each width") for w in widths)


@dataclass(frozen=True)
class MLPConfig:
    """Fully connected PINN: ``in_features -> widths... -> out_features`` with one activation."""

    in_features: int
    out_features: int
    widths: tuple[int, ...] = (64, 64, 64, 64)
    activation: str = "tanh"

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "in_features", check_count(self.in_features, "MLPConfig.in_features")
        )
        object.__setattr__(
            self, "out_features", check_count(self.out_features, "MLPConfig.out_features")
        )
        object.__setattr__(self, "widths", _check_widths(self.widths, "MLPConfig"))
        try:
            get_activation(self.activation)
        except (KeyError, TypeError) as err:
            raise ValueError(f"MLPConfig.activation: {err.args[0]}") from None

    @property
    def kind(self) -> str:
        return "mlp"

    def describe(self) -> str:
        dims = [self.in_features, *self.widths, self.out_features]
        return "-".join(map(str, dims)) + f" {self.activation}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    def build(self) -> nn.Sequential:
        return build_mlp(self)


def build_mlp(config: MLPConfig) -> nn.Sequential:
    """``Linear, act, Linear, act, ..., Linear`` with Xavier-normal weights and zero biases."""
    act = get_activation(config.activation)
    dims = [config.in_features, *config.widths, config.out_features]
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        lin = nn.Linear(dims[i], dims[i + 1])
        nn.init.xavier_normal_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(dims) - 2:
            layers.append(act.module())
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class SPINNConfig:
    """Separable PINN: ``axes`` scalar-input MLPs of ``widths``, each with ``rank*out`` outputs."""

    axes: int
    out_features: int
    widths: tuple[int, ...] = (32, 32, 32)
    rank: int = 16
    activation: str = "tanh"

    def __post_init__(self) -> None:
        object.__setattr__(self, "axes", check_count(self.axes, "SPINNConfig.axes"))
        object.__setattr__(
            self, "out_features", check_count(self.out_features, "SPINNConfig.out_features")
        )
        object.__setattr__(self, "rank", check_count(self.rank, "SPINNConfig.rank"))
        object.__setattr__(self, "widths", _check_widths(self.widths, "SPINNConfig"))
        try:
            get_activation(self.activation)
        except (KeyError, TypeError) as err:
            raise ValueError(f"SPINNConfig.activation: {err.args[0]}") from None

    @property
    def kind(self) -> str:
        return "spinn"

    def describe(self) -> str:
        body = "-".join(map(str, [1, *self.widths, self.rank * self.out_features]))
        return f"{self.axes} x ({body}) {self.activation}, rank {self.rank}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    def build(self) -> SPINN:
        return SPINN(self)


class SPINN(nn.Module):
    """Separable PINN: ``forward`` takes points ``(n, axes)``; ``grid`` takes one 1-D array per
    axis."""

    def __init__(self, config: SPINNConfig) -> None:
        super().__init__()
        self.config = config
        sub = MLPConfig(1, config.rank * config.out_features, config.widths, config.activation)
        self.axis_nets = nn.ModuleList([build_mlp(sub) for _ in range(config.axes)])

    def axis_features(self, axis: int, coords: torch.Tensor) -> torch.Tensor:
        """Features of one axis network: ``(N,) -> (N, rank, out_features)``."""
        f = self.axis_nets[axis](coords.reshape(-1, 1))
        return f.reshape(-1, self.config.rank, self.config.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.config.axes:
            raise ValueError(
                f"SPINN expects points of shape (n, {self.config.axes}), got {tuple(x.shape)}"
            )
        feats = [self.axis_features(i, x[:, i]) for i in range(self.config.axes)]
        return combine_pointwise(feats)

    def grid(self, coords: list[torch.Tensor]) -> torch.Tensor:
        """Outputs on the tensor grid ``coords[0] x coords[1] x ...``: shape
        ``(N_1, ..., N_d, out)``."""
        if len(coords) != self.config.axes:
            raise ValueError(
                f"SPINN.grid needs {self.config.axes} coordinate arrays, got {len(coords)}"
            )
        return combine_grid([self.axis_features(i, c) for i, c in enumerate(coords)])


def combine_pointwise(features: list[torch.Tensor]) -> torch.Tensor:
    """``u[n, k] = sum_r prod_i f_i[n, r, k]`` for per-axis features of shape ``(n, rank, out)``."""
    prod = features[0]
    for f in features[1:]:
        prod = prod * f
    return prod.sum(dim=1)


def combine_grid(features: list[torch.Tensor]) -> torch.Tensor:
    """``u[n_1..n_d, k] = sum_r prod_i f_i[n_i, r, k]``: the SPINN product-sum on a tensor grid."""
    d = len(features)
    letters = "abcdefghij"[:d]
    spec = ",".join(f"{c}rk" for c in letters) + f"->{letters}k"
    return torch.einsum(spec, *features)


ModelConfig = MLPConfig | SPINNConfig


def config_from_dict(d: dict) -> ModelConfig:
    """Rebuild a model config from :meth:`to_dict` output plus its ``kind``."""
    d = dict(d)
    kind = d.pop("kind", "mlp")
    if "widths" in d:
        d["widths"] = tuple(d["widths"])
    if kind == "mlp":
        return MLPConfig(**d)
    if kind == "spinn":
        return SPINNConfig(**d)
    raise unknown_name("model kind", kind, ("mlp", "spinn"))


def mlp_from_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    activation: str = "tanh",
    widths: Sequence[int] | None = None,
) -> nn.Sequential:
    """Rebuild a plain MLP ``Linear, act, Linear, act, ..., Linear`` from its ``state_dict``.

    For networks trained outside lava-pinn: the ``Linear`` layers are the 2-D ``*.weight``
    tensors (shape ``(n_out, n_in)``), taken in the order of the ``state_dict`` (the order
    the modules were created in, which ``model.state_dict()`` keeps; reorder the mapping if
    your forward pass uses them differently), each with an optional 1-D ``*.bias``
    (``(n_out,)``; a missing bias is zero). The hidden widths are read from the weights;
    ``widths``, if given, must match them. ``activation`` is a name of
    :mod:`lava_pinn.activations` (``tanh``, ``sin``, ...) applied after every layer but the last.

    Keys that are not a ``Linear`` weight or bias (batch-norm statistics, embeddings, ...) and
    shapes that do not chain (``n_in`` of layer ``k+1`` != ``n_out`` of layer ``k``) are refused
    with the key names and shapes in the message. The returned module is in eval mode, in the
    weights' dtype, and can go straight into :func:`lava_pinn.convert`.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"state_dict must be a mapping of parameter names to tensors (model.state_dict()), "
            f"got {type(state_dict).__name__}"
        )
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be a registered activation name, got {activation!r}; "
            f"available: {', '.join(available_activations())}"
        )
    try:
        get_activation(activation)
    except (KeyError, TypeError) as err:
        raise ValueError(f"activation: {err.args[0]}") from None
    weights: dict[str, torch.Tensor] = {}
    biases: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"state_dict[{key!r}] is a {type(value).__name__}, not a tensor")
        prefix, _, leaf = str(key).rpartition(".")
        if leaf == "weight" and value.ndim == 2:
            weights[prefix] = value
        elif leaf == "bias" and value.ndim == 1:
            biases[prefix] = value
        else:
            raise ValueError(
                f"state_dict[{key!r}] (shape {tuple(value.shape)}) is not the weight (2-D) or "
                f"bias (1-D) of a Linear layer; only plain Linear + activation MLPs can be "
                f"rebuilt (drop other entries, or build the nn.Sequential yourself)"
            )
    orphans = sorted(set(biases) - set(weights))
    if orphans:
        raise ValueError(f"state_dict has biases without weights: {[f'{p}.bias' for p in orphans]}")
    if len(weights) < 2:
        raise ValueError(
            f"state_dict holds {len(weights)} Linear weight(s) ({sorted(weights)}); an MLP "
            f"needs at least 2 (one hidden layer)"
        )
    order = list(weights)
    for a, b in zip(order, order[1:], strict=False):
        n_out, n_in = weights[a].shape[0], weights[b].shape[1]
        if n_in != n_out:
            raise ValueError(
                f"{b}.weight has shape {tuple(weights[b].shape)}: it takes {n_in} inputs, but "
                f"the layer before it ({a}.weight, {tuple(weights[a].shape)}) has {n_out} "
                f"outputs; layers are taken in state_dict order {order}"
            )
    for p in order:
        if p in biases and biases[p].shape[0] != weights[p].shape[0]:
            raise ValueError(
                f"{p}.bias has {biases[p].shape[0]} entries but {p}.weight has "
                f"{weights[p].shape[0]} rows"
            )
    found = tuple(int(weights[p].shape[0]) for p in order[:-1])
    if widths is not None and tuple(widths) != found:
        raise ValueError(
            f"widths {tuple(widths)} do not match the state_dict's hidden layers {found} "
            f"(read from {[f'{p}.weight' for p in order]})"
        )
    config = MLPConfig(
        int(weights[order[0]].shape[1]), int(weights[order[-1]].shape[0]), found, activation
    )
    dtype = weights[order[0]].dtype
    model = build_mlp(config).to(dtype)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for lin, p in zip(linears, order, strict=True):
            lin.weight.copy_(weights[p].detach())
            if p in biases:
                lin.bias.copy_(biases[p].detach())
            else:
                lin.bias.zero_()
    return model.eval()


__all__ = [
    "MLPConfig",
    "SPINNConfig",
    "SPINN",
    "build_mlp",
    "combine_grid",
    "combine_pointwise",
    "config_from_dict",
    "mlp_from_state_dict",
]
