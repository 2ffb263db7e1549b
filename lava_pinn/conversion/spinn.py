"""Spiking separable PINNs: one spiking network per axis, rank-r combination on the host.

A SPINN computes ``u_k(x_1..x_d) = sum_r prod_i f_i(x_i)[r, k]``. Each axis MLP ``f_i`` is
converted on its own (calibrated on the calibration points' ``i``-th coordinate); the
product-sum stays on the host (it is not a spiking operation). :meth:`SpikingSPINN.grid`
evaluates an ``N_1 x ... x N_d`` grid from ``N_1 + ... + N_d`` spiking evaluations.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch

from lava_pinn.conversion.network import (
    FORMAT_VERSION,
    SNNFileError,
    SpikingNetwork,
    check_points,
)
from lava_pinn.models import combine_grid, combine_pointwise
from lava_pinn.validation import check_count

FORMAT = "lava-pinn-spiking-spinn"


class SpikingSPINN:
    """``d`` spiking axis networks (each ``1 -> rank * out``) and the host-side combination."""

    def __init__(
        self,
        axis_nets: list[SpikingNetwork],
        rank: int,
        out_features: int,
        metadata: dict | None = None,
    ) -> None:
        if not axis_nets:
            raise ValueError("SpikingSPINN.axis_nets must hold one SpikingNetwork per axis")
        rank = check_count(rank, "SpikingSPINN.rank")
        for i, net in enumerate(axis_nets):
            if not isinstance(net, SpikingNetwork):
                raise TypeError(f"SpikingSPINN.axis_nets[{i}] must be a SpikingNetwork")
            if net.in_features != 1 or net.out_features != rank * out_features:
                raise ValueError(
                    f"SpikingSPINN.axis_nets[{i}] maps {net.in_features} -> {net.out_features}; "
                    f"needs 1 -> rank*out = {rank * out_features}"
                )
        self.axis_nets = list(axis_nets)
        self.rank = rank
        self.out_features = out_features
        self.metadata = dict(metadata or {})
        self.last_stats: dict | None = None

    @property
    def axes(self) -> int:
        return len(self.axis_nets)

    @property
    def T(self) -> int:
        return self.axis_nets[0].T

    @property
    def neurons(self) -> int:
        return sum(n.neurons for n in self.axis_nets)

    @property
    def synapses(self) -> int:
        return sum(n.synapses for n in self.axis_nets)

    def at_T(self, T: int) -> SpikingSPINN:
        """The same SPINN for ``T`` time steps (:meth:`SpikingNetwork.at_T` of every axis)."""
        nets = [net.at_T(T) for net in self.axis_nets]
        return SpikingSPINN(nets, self.rank, self.out_features, self.metadata)

    def axis_features(self, axis: int, coords: torch.Tensor) -> torch.Tensor:
        """Spiking features of one axis: ``(N,) -> (N, rank, out)``; stats in ``last_stats``."""
        f = self.axis_nets[axis](coords.reshape(-1, 1))
        return f.reshape(-1, self.rank, self.out_features)

    def _collect(self, stats: list[dict]) -> None:
        spikes = sum(s["spikes"] for s in stats)
        points = sum(s["points"] for s in stats)
        neuron_steps = sum(
            s["points"] * s["T"] * sum(la["neurons"] for la in s["layers"]) for s in stats
        )
        self.last_stats = {
            "T": self.T,
            "spikes": spikes,
            "evaluations": points,
            "rate": spikes / neuron_steps,
            "axes": stats,
        }

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Pointwise outputs ``(n, out)`` at ``(n, axes)`` points (``d * n`` spiking runs)."""
        x, _ = check_points(x, self.axes, self.axis_nets[0].hidden[0].weight.dtype)
        feats, stats = [], []
        for i in range(self.axes):
            feats.append(self.axis_features(i, x[:, i]))
            stats.append(self.axis_nets[i].last_stats)
        self._collect(stats)
        return combine_pointwise(feats)

    def grid(self, coords: list[torch.Tensor]) -> torch.Tensor:
        """Outputs on ``coords[0] x coords[1] x ...``: ``(N_1, ..., N_d, out)`` from
        ``sum_i N_i`` spiking evaluations."""
        if len(coords) != self.axes:
            raise ValueError(f"grid needs {self.axes} coordinate arrays, got {len(coords)}")
        for i, c in enumerate(coords):
            if not isinstance(c, torch.Tensor) or c.ndim != 1:
                shape = tuple(c.shape) if isinstance(c, torch.Tensor) else type(c).__name__
                raise ValueError(
                    f"grid coords[{i}] must be a 1-D tensor of that axis's coordinates, got "
                    f"{shape}; a grid is the product of one coordinate array per axis"
                )
        feats, stats = [], []
        for i, c in enumerate(coords):
            feats.append(self.axis_features(i, c))
            stats.append(self.axis_nets[i].last_stats)
        self._collect(stats)
        return combine_grid(feats)

    def save(self, path: str | os.PathLike) -> Path:
        from lava_pinn.checkpoint import atomic_write_bytes
        from lava_pinn.conversion.network import _plain

        d = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "rank": self.rank,
            "out_features": self.out_features,
            "axis_nets": [n.to_dict() for n in self.axis_nets],
            "metadata": _plain(self.metadata),
        }
        buf = io.BytesIO()
        torch.save(d, buf)
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> SpikingSPINN:
        path = Path(path)
        src = f"spiking SPINN {path}"
        if not path.is_file():
            raise SNNFileError(f"{src}: no such file")
        try:
            d = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises many types on a corrupt zip/pickle
            raise SNNFileError(f"{src}: not a readable file ({type(err).__name__})") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise SNNFileError(f"{src}: not a lava-pinn spiking SPINN (no '{FORMAT}' tag)")
        try:
            nets = [
                SpikingNetwork.from_dict(n, source=f"{src} axis {i}")
                for i, n in enumerate(d["axis_nets"])
            ]
            return cls(nets, int(d["rank"]), int(d["out_features"]), d.get("metadata", {}))
        except (KeyError, TypeError, ValueError) as err:
            raise SNNFileError(f"{src}: invalid spiking SPINN ({err})") from None
