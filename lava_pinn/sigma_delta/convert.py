"""``convert_sigma_delta``: a trained MLP PINN -> a :class:`DeltaNetwork` (one sigma-delta neuron
per ANN unit, the ANN's own activation in the neuron; or, for ``sigma-delta-relu``, ReLU pieces
with a relay neuron per unit: :mod:`lava_pinn.sigma_delta.relu_pieces`).

Nothing is fitted for ``sigma-delta``: the network computes the ANN exactly when thresholds go
to 0. What conversion measures on the calibration points is the input scale (each input
component encoded in ``[-1, 1]``) and each layer's pre-activation range, which sizes the
integer activation table of the exporter; thresholds start at ``vth`` (a fraction of each
layer's activation range) and are chosen against an error budget at export
(:func:`exporters.sigma_delta.choose_thresholds`).
"""

from __future__ import annotations

import torch
from torch import nn

from lava_pinn.neurons import NEURONS, get_neuron
from lava_pinn.registry import unknown_name
from lava_pinn.sigma_delta.network import DeltaLayer, DeltaNetwork, _activation
from lava_pinn.validation import check_real

DEFAULT_VTH = 1e-3  # x each layer's largest |activation| on the calibration points
Z_MARGIN = 0.1  # the activation table spans the calibration range widened by 10% each side


def table_range(z: torch.Tensor) -> tuple[float, float]:
    """The span of a layer's activation table: the range of its pre-activations ``z`` widened
    by :data:`Z_MARGIN` of its width on each side."""
    lo, hi = float(z.min()), float(z.max())
    pad = Z_MARGIN * max(hi - lo, 1e-6)
    return lo - pad, hi + pad


def delta_neurons() -> list[str]:
    """The registered delta-coded neuron models."""
    return [n for n in NEURONS.available() if NEURONS.get(n).coding == "delta"]


def _model_and_points(model: object, x: object) -> tuple[nn.Module, torch.Tensor | None, dict]:
    from lava_pinn.checkpoint import Checkpoint
    from lava_pinn.conversion.convert import (
        _calibration_points,
        checkpoint_metadata,
        default_calibration_points,
        refuse_state_dict,
    )
    from lava_pinn.conversion.options import ConvertOptions
    from lava_pinn.models import SPINN

    refuse_state_dict(model, "convert_sigma_delta")
    meta: dict = {}
    net = model
    if isinstance(model, Checkpoint):
        meta = checkpoint_metadata(model)
        net = model.model
        if x is None:
            d = ConvertOptions
            x = default_calibration_points(
                model.problem,
                model.problem_params,
                d.calibration_points,
                d.seed,
                d.calibration_boundary,
            )
    if isinstance(net, SPINN):
        raise TypeError(
            "sigma-delta conversion takes an MLP; convert a SPINN axis by axis: "
            "convert_sigma_delta(spinn.axis_nets[i], points[:, i:i+1]) for each axis i, and "
            "combine the axis features on the host (lava_pinn.models.combine_grid; "
            "docs/sigma-delta.md, 'SPINNs'); or convert it rate-coded with lava_pinn.convert"
        )
    if x is None:
        raise ValueError(
            "convert_sigma_delta(model, calibration_inputs): give calibration points of shape "
            "(n, in_features) from the input domain (about 512-2048)"
        )
    n_in = net[0].in_features if isinstance(net, nn.Sequential) and len(net) else None
    pts = _calibration_points(x, n_in) if n_in is not None else x
    return net, pts, meta


def convert_sigma_delta(
    model: object,
    calibration_inputs: torch.Tensor | None = None,
    *,
    neuron: str = "sigma-delta",
    vth: float = DEFAULT_VTH,
    pieces: int | None = None,
    structure: str = "pre",
    dtype: torch.dtype = torch.float64,
) -> DeltaNetwork:
    """Convert ``model`` (a :class:`~lava_pinn.checkpoint.Checkpoint` or an ``nn.Sequential`` of
    ``Linear`` and elementwise activations) into a :class:`DeltaNetwork`.

    ``neuron``: ``sigma-delta`` (any activation, in the neuron) or ``sigma-delta-relu``
    (Lava's ReLU SigmaDelta; non-ReLU activations become ``pieces`` ReLU neurons per unit plus
    a relay; ``structure``: ``"pre"`` or ``"rows"``, see
    :mod:`lava_pinn.sigma_delta.relu_pieces`). ``vth``:
    each layer's starting threshold as a fraction of its largest activation magnitude on the
    calibration points (``> 0``). The outputs are the raw network outputs ``N(x)``
    (``metadata["hard_bc"]``: apply ``problem.apply_hard_bc``).
    """
    from lava_pinn.conversion.convert import parse_mlp

    if neuron not in NEURONS:
        raise unknown_name(NEURONS.kind, neuron, NEURONS.available(), " (neuron)")
    if get_neuron(neuron).coding != "delta":
        raise ValueError(
            f"neuron {neuron!r} is rate-coded; convert_sigma_delta takes {delta_neurons()} "
            "(rate-coded neurons: lava_pinn.conversion.convert)"
        )
    vth = check_real(vth, "vth")
    if not 0 < vth < 1:
        raise ValueError(
            f"vth must be a fraction in (0, 1) of a layer's activation range, got {vth}"
        )
    net, x, meta = _model_and_points(model, calibration_inputs)
    hidden, last = parse_mlp(net)
    x = x.to(dtype)
    in_scale = x.abs().amax(0).clamp(min=1e-12)
    layers: list[DeltaLayer] = []
    if neuron == "sigma-delta-relu":
        from lava_pinn.sigma_delta.relu_pieces import relu_layers

        layers = relu_layers(
            hidden, x, in_scale, vth=vth, pieces=pieces, structure=structure, dtype=dtype
        )
    else:
        if pieces is not None:
            raise ValueError("pieces is an option of neuron='sigma-delta-relu' only")
        h = x / in_scale
        for i, la in enumerate(hidden):
            w = la.weight.to(dtype)
            if i == 0:
                w = w * in_scale
            z = h @ w.T + la.bias.to(dtype)
            f = _activation(la, dtype)
            with torch.no_grad():
                h = f(z)
            amax = max(float(h.abs().max()), 1e-6)
            layers.append(
                DeltaLayer(
                    weight=w,
                    bias=la.bias.to(dtype),
                    activation=f,
                    vth=vth * amax,
                    neuron=neuron,
                    z_range=table_range(z),
                    name=la.path,
                )
            )
    b_out = last.bias if last.bias is not None else torch.zeros(last.out_features)
    b_out = b_out.detach().to(dtype)
    if layers[-1].offset is not None:  # the readout absorbs the last relay's offset
        b_out = b_out - last.weight.detach().to(dtype) @ layers[-1].offset
    meta.update({"neuron": neuron, "vth_fraction": vth, "calibration_points": int(x.shape[0])})
    return DeltaNetwork(
        tuple(layers),
        last.weight.detach().to(dtype),
        b_out,
        in_scale,
        metadata=meta,
    )
