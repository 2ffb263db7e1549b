"""convert() on bad input: unconvertible modules, non-elementwise activations, NaN/inf, too few
calibration points, bad T or percentile. Each error names the bad value and the fix."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import lava_pinn
from lava_pinn.conversion import options_for
from lava_pinn.conversion.calibration import CALIBRATIONS
from lava_pinn.models import SPINNConfig


def _x(n: int = 64, d: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, d, generator=g, dtype=torch.float64) * 2 - 1


def _mlp(*middle: nn.Module) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(1, 4), *middle, nn.Linear(4, 1)).double()


class Residual(nn.Module):
    """``x + f(x)``: has its own forward(), cannot be read as a chain."""

    def __init__(self) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.Linear(4, 4), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.f(x)


class Swish2(nn.Module):
    """An activation object the registry does not know."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(2 * x)


SUPPORTED = "supported: Linear"


@pytest.mark.parametrize(
    ("module", "label"),
    [
        (nn.Conv1d(4, 4, 1), r"model\.1 \(Conv1d\)"),
        (nn.LayerNorm(4), r"model\.1 \(LayerNorm\)"),
        (nn.BatchNorm1d(4), r"model\.1 \(BatchNorm1d\)"),
        (Residual(), r"model\.1 \(Residual\)"),
        (Swish2(), r"model\.1 \(Swish2\)"),
        (nn.Threshold(0.1, 0.0), r"model\.1 \(Threshold\)"),
    ],
)
def test_unconvertible_module_names_path_and_lists_supported(module, label):
    with pytest.raises(ValueError, match=label) as info:
        lava_pinn.convert(_mlp(module), _x())
    assert SUPPORTED in str(info.value) and "tanh" in str(info.value)


def test_nested_path_is_named():
    net = nn.Sequential(nn.Sequential(nn.Linear(1, 4), nn.GroupNorm(2, 4)), nn.Linear(4, 1))
    with pytest.raises(ValueError, match=r"model\.0\.1 \(GroupNorm\)"):
        lava_pinn.convert(net, _x())


def test_residual_block_hint():
    with pytest.raises(ValueError, match="own forward"):
        lava_pinn.convert(_mlp(Residual()), _x())


class ResidualSequential(nn.Sequential):
    """A Sequential subclass whose forward() is not a chain."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + super().forward(x)


def test_sequential_subclass_with_own_forward_refused():
    block = ResidualSequential(nn.Linear(4, 4), nn.Tanh())
    net = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), block, nn.Linear(4, 1)).double()
    with pytest.raises(ValueError, match=r"model\.2 \(ResidualSequential\).*own forward"):
        lava_pinn.convert(net, _x())
    top = ResidualSequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1))
    with pytest.raises(TypeError, match="ResidualSequential.*overrides"):
        lava_pinn.convert(top, _x())


def test_per_unit_prelu_refused_single_slope_accepted():
    with pytest.raises(ValueError, match=r"model\.1 \(PReLU\) has 4 slopes.*nn\.PReLU\(\)"):
        lava_pinn.convert(_mlp(nn.PReLU(4)), _x())
    snn = lava_pinn.convert(_mlp(nn.PReLU(init=0.3)), _x(), T=4, calibration="none")
    assert snn.metadata["activations"] == ["prelu(weight=0.3)"]


def test_layer_sizes_that_cannot_chain_are_named():
    net = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(5, 1)).double()
    with pytest.raises(ValueError, match=r"model\.2 \(Linear\) takes 5 inputs.*model\.0.*gives 4"):
        lava_pinn.convert(net, _x())


@pytest.mark.parametrize("module", [nn.Softmax(-1), nn.LogSoftmax(-1), nn.Softmin(-1), nn.GLU()])
def test_non_elementwise_refused(module):
    net = nn.Sequential(
        nn.Linear(1, 4), module, nn.Linear(4 if not isinstance(module, nn.GLU) else 2, 1)
    )
    with pytest.raises(ValueError, match=r"model\.1 .*not an elementwise"):
        lava_pinn.convert(net.double(), _x())


def test_dropout_train_mode_refused_eval_mode_accepted():
    net = _mlp(nn.Tanh(), nn.Dropout(0.2))
    with pytest.raises(ValueError, match=r"model\.2 \(Dropout\).*model\.eval\(\)"):
        lava_pinn.convert(net, _x())
    snn = lava_pinn.convert(net.eval(), _x(), T=4, representation="direct", calibration="none")
    assert snn.neurons == 4


def test_top_level_custom_module_refused():
    with pytest.raises(TypeError, match="Residual.*nn.Sequential"):
        lava_pinn.convert(Residual(), _x(d=4))


def test_no_hidden_layer_or_bad_alternation():
    with pytest.raises(ValueError, match="at least one hidden layer"):
        lava_pinn.convert(nn.Sequential(nn.Linear(1, 1)), _x())
    net = nn.Sequential(nn.Linear(1, 4), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
    with pytest.raises(ValueError, match=r"model\.0 \(Linear\) is followed by model\.1"):
        lava_pinn.convert(net, _x())


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_and_bias(bad):
    net = _mlp(nn.Tanh())
    with torch.no_grad():
        net[2].weight[0, 1] = bad
    with pytest.raises(ValueError, match=r"model\.2 \(Linear\) weight.*NaN or inf"):
        lava_pinn.convert(net, _x())
    net = _mlp(nn.Tanh())
    with torch.no_grad():
        net[0].bias[3] = bad
    with pytest.raises(ValueError, match=r"model\.0 \(Linear\) bias.*NaN or inf"):
        lava_pinn.convert(net, _x())


@pytest.mark.filterwarnings("ignore:Lazy modules")
def test_uninitialised_lazy_linear():
    net = nn.Sequential(nn.LazyLinear(4), nn.Tanh(), nn.Linear(4, 1))
    with pytest.raises(ValueError, match=r"model\.0 \(LazyLinear\).*uninitiali[sz]ed"):
        lava_pinn.convert(net, _x())


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_calibration_inputs(bad):
    x = _x()
    x[5, 0] = bad
    with pytest.raises(ValueError, match="calibration_inputs.*NaN or inf.*row 5"):
        lava_pinn.convert(_mlp(nn.Tanh()), x)


def test_calibration_inputs_shape_and_type():
    net = _mlp(nn.Tanh())
    with pytest.raises(ValueError, match=r"\(n >= 2, 1\).*\(64, 3\)"):
        lava_pinn.convert(net, _x(d=3))
    with pytest.raises(TypeError, match=r"torch.Tensor or numpy array of numbers.*dtype <U"):
        lava_pinn.convert(net, [["0.0"], ["1.0"]])
    with pytest.raises(ValueError, match="calibration_inputs"):
        lava_pinn.convert(net, None)


@pytest.mark.parametrize("T", [0, -3, 2.5, "64", True])
def test_bad_T_named(T):
    with pytest.raises(ValueError, match=f"T .*{T!r}"):
        lava_pinn.convert(_mlp(nn.Tanh()), _x(), T=T)


def test_numpy_integer_T_accepted():
    snn = lava_pinn.convert(
        _mlp(nn.Tanh()), _x(), T=np.int64(4), representation="direct", calibration="none"
    )
    assert snn.T == 4 and type(snn.T) is int


@pytest.mark.parametrize("p", [-5, 0, 100.5])
def test_bad_percentile_named(p):
    with pytest.raises(ValueError, match=f"percentile.*{p!r}"):
        lava_pinn.convert(
            _mlp(nn.Tanh()), _x(), representation="direct", threshold="percentile", percentile=p
        )


def test_unknown_names_list_choices():
    net = _mlp(nn.Tanh())
    for kw, choice in [
        ({"neuron": "lif9"}, "signed-if"),
        ({"calibration": "magic"}, "advanced"),
        ({"threshold": "median", "representation": "direct"}, "percentile"),
        ({"representation": "fourier"}, "pwl"),
    ]:
        with pytest.raises(ValueError, match=f"unknown .*available: .*{choice}") as info:
            lava_pinn.convert(net, _x(), **kw)
        assert isinstance(info.value, KeyError)  # older callers catch KeyError
        assert not str(info.value).startswith('"')


def test_names_are_stored_in_their_registered_spelling():
    snn = lava_pinn.convert(_mlp(nn.Tanh()), _x(), T=4, neuron=" Graded-IF", calibration="None")
    assert (snn.metadata["neuron"], snn.metadata["calibration"]) == ("graded-if", "none")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"threshold": "max"}, r"threshold='max': representation 'pwl' does not use it.*'direct'"),
        ({"per_neuron_threshold": True}, "per_neuron_threshold=True: representation 'pwl'"),
        ({"percentile": 50}, "percentile=50: representation 'pwl'"),
        ({"representation": "direct", "pieces": 4}, "pieces=4: representation 'direct'.*'pwl'"),
        ({"representation": "direct", "placement": 0.5}, "placement=0.5: representation 'direct'"),
        (
            {"representation": "direct", "percentile": 50},
            "percentile=50 is read by threshold='percentile' only, got threshold='mse'",
        ),
    ],
)
def test_options_the_representation_would_ignore_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        lava_pinn.convert(_mlp(nn.Tanh()), _x(), T=4, calibration="none", **kw)


@pytest.mark.parametrize(
    ("kw", "error", "message"),
    [
        (
            {"calibration_steps": -5},
            ValueError,
            "calibration_steps must be an integer >= 1, got -5",
        ),
        ({"calibration_lr": float("nan")}, ValueError, "calibration_lr must be a finite number"),
        ({"calibration_lr": -1}, ValueError, "calibration_lr .* > 0, got -1"),
        (
            {"representation": "direct", "per_neuron_threshold": "yes"},
            TypeError,
            "per_neuron_threshold must be True or False, got 'yes'",
        ),
        ({"dtype": torch.float16}, TypeError, "dtype must be torch.float64 .* got torch.float16"),
        ({"dtype": "float32"}, TypeError, "dtype .* got 'float32'"),
    ],
)
def test_option_values_are_checked_and_named(kw, error, message):
    with pytest.raises(error, match=message):
        lava_pinn.convert(_mlp(nn.Tanh()), _x(), T=4, **kw)


def test_numpy_percentile_accepted_and_recorded():
    snn = lava_pinn.convert(
        _mlp(nn.Tanh()),
        _x(),
        T=4,
        representation="direct",
        threshold="percentile",
        percentile=np.float32(99.0),
        calibration="none",
    )
    assert snn.metadata["percentile"] == pytest.approx(99.0)
    assert snn.metadata["threshold"] == "percentile"


def test_pwl_without_calibration_warns_on_too_few_distinct_points():
    x = torch.full((300, 1), 0.25, dtype=torch.float64)
    with pytest.warns(
        UserWarning, match=r"300 calibration points \(1 distinct\).*at least 64"
    ) as rec:
        lava_pinn.convert(_mlp(nn.Tanh()), x, T=4, calibration="none")
    assert rec[0].filename == __file__  # points at the caller, not at lava_pinn


def test_spinn_error_names_the_axis():
    torch.manual_seed(0)
    model = SPINNConfig(axes=2, out_features=1, widths=(4,), rank=2).build().double()
    with torch.no_grad():
        model.axis_nets[1][0].weight[0, 0] = float("nan")
    with (
        warnings.catch_warnings(),
        pytest.raises(ValueError, match=r"model\.axis_nets\.1\.0 \(Linear\) weight.*NaN"),
    ):
        warnings.simplefilter("ignore")  # few calibration points, on purpose
        lava_pinn.convert(model, _x(d=2))


@pytest.mark.parametrize("method", [m for m in CALIBRATIONS.available() if m != "none"])
def test_too_few_calibration_points_warns_with_the_number_needed(method):
    need = CALIBRATIONS.get(method).min_points
    n = max(2, need // 4)
    with pytest.warns(UserWarning, match=f"{n} calibration points.*at least {need}"):
        lava_pinn.convert(
            _mlp(nn.Tanh()),
            _x(n),
            T=4,
            representation="direct",
            calibration=method,
            **options_for("direct", method, calibration_steps=2, finetune_iters=2),
        )


def test_enough_calibration_points_do_not_warn():
    need = max(CALIBRATIONS.get(m).min_points for m in ("light", "decoder"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lava_pinn.convert(
            _mlp(nn.Tanh()), _x(need), T=4, representation="direct", calibration="light"
        )


def test_spinn_bad_calibration_inputs():
    torch.manual_seed(0)
    model = SPINNConfig(axes=2, out_features=1, widths=(4,), rank=2).build().double()
    with pytest.raises(ValueError, match=r"\(n >= 2, 2\)"):
        lava_pinn.convert(model, _x(d=3))
    x = _x(d=2)
    x[0, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        lava_pinn.convert(model, x)


def _small_snn():
    return lava_pinn.convert(
        nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double(),
        _x(128, 2),
        T=8,
        calibration="none",
    )


def test_calling_with_integer_points_reads_them_as_floats():
    torch.manual_seed(0)
    snn = _small_snn()
    xi = torch.tensor([[0, 1], [1, 0], [-1, 1]])
    y = snn(xi)
    assert y.dtype == torch.float64
    assert torch.equal(y, snn(xi.double()))


def test_calling_checks_points_and_T():
    torch.manual_seed(0)
    snn = _small_snn()
    with pytest.raises(ValueError, match=r"points are empty \(shape \(0, 2\)\)"):
        snn(torch.empty(0, 2))
    with pytest.raises(TypeError, match=r"numpy array of numbers of shape \(n, 2\), got list"):
        snn([["a", "b"]])
    with pytest.raises(ValueError, match=r"T \(number of time steps\).*got 0"):
        snn(_x(4, 2), T=0)
    assert snn(_x(4, 2), T=np.int64(4)).shape == (4, 1)


def test_run_records_stats_like_a_call():
    torch.manual_seed(0)
    snn = _small_snn()
    y, counts = snn.run(_x(5, 2))
    assert snn.last_stats["points"] == 5 and len(counts) == 1


def test_save_to_a_directory_is_refused(tmp_path):
    torch.manual_seed(0)
    with pytest.raises(IsADirectoryError, match="is a directory; pass a file path"):
        _small_snn().save(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_spinn_points_and_grid_coordinates_are_checked():
    torch.manual_seed(0)
    model = SPINNConfig(axes=2, out_features=1, widths=(4,), rank=2).build().double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snn = lava_pinn.convert(model, _x(64, 2), T=4, calibration="none")
    assert torch.equal(snn(np.zeros((3, 2))), snn(torch.zeros(3, 2, dtype=torch.float64)))
    with pytest.raises(TypeError, match=r"shape \(n, 2\), got str"):
        snn("0, 1")
    with pytest.raises(ValueError, match=r"coords\[1\] must be a 1-D tensor.*\(2, 3\)"):
        snn.grid([torch.zeros(4, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64)])
    assert snn(torch.tensor([[0, 1]])).dtype == torch.float64


def test_unknown_keywords_are_named_with_the_closest_option():
    with pytest.raises(TypeError, match=r"'peices' \(did you mean 'pieces'\?\), 'metadata'"):
        lava_pinn.convert(_mlp(nn.Tanh()), _x(), peices=8, metadata="x")


def test_calibration_options_the_method_would_ignore_are_refused():
    with pytest.raises(ValueError, match="calibration_steps=7: calibration method 'none' does not"):
        lava_pinn.convert(_mlp(nn.Tanh()), _x(), calibration="none", calibration_steps=7)
    with pytest.raises(
        ValueError, match=r"finetune_iters=3: .* 'light' .* \(only 'finetune' does\)"
    ):
        lava_pinn.convert(_mlp(nn.Tanh()), _x(), calibration="light", finetune_iters=3)
    assert options_for("pwl", "light", pieces=4, calibration_steps=7) == {"pieces": 4}


def test_outlying_calibration_points_warn():
    x = _x(512, 1)
    x[3] = 1e6
    with pytest.warns(UserWarning, match=r"1 of 512 calibration points .* row 3"):
        lava_pinn.convert(_mlp(nn.Tanh()), x, T=4, calibration="none")


def test_name_arguments_of_the_wrong_type_name_their_kind():
    with pytest.raises(TypeError, match="neuron model name must be a non-empty string, got None"):
        lava_pinn.convert(_mlp(nn.Tanh()), _x(), neuron=None)


def test_numpy_integer_pieces_accepted():
    snn = lava_pinn.convert(_mlp(nn.Tanh()), _x(), T=4, calibration="none", pieces=np.int64(3))
    assert snn.metadata["pieces"] == 3


def test_every_unknown_name_is_one_error_type_with_a_suggestion():
    from hardware.backends import get_backend
    from hardware.energy import get_profile
    from lava_pinn.activations import get_activation
    from lava_pinn.models import config_from_dict
    from lava_pinn.problems import get_problem
    from lava_pinn.registry import UnknownNameError

    for lookup, name, close in (
        (get_backend, "lava-cpp", "lava-cpu"),
        (get_profile, "cmos45nm", "cmos-45nm"),
        (get_problem, "burgers", "burgers-1d"),
        (get_activation, "tahn", "tanh"),
        (lambda k: config_from_dict({"kind": k}), "spin", "spinn"),
    ):
        with pytest.raises(UnknownNameError, match=f"did you mean '{close}'.*available: ") as info:
            lookup(name)
        assert isinstance(info.value, ValueError) and isinstance(info.value, KeyError)


def test_numpy_points_are_accepted_wherever_points_are(tmp_path):
    """convert, the SNN's call and run, quantize/export, hardware.run (a plain vector too for
    one input), the sigma-delta path: numpy arrays (and lists) of points work as tensors do."""
    import exporters
    import hardware
    from exporters.sigma_delta import quantize_delta, run_static
    from exporters.sigma_delta.thresholds import choose_thresholds, static_evaluator
    from lava_pinn.sigma_delta import convert_sigma_delta

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    xt = _x(64, 1)
    xn = xt.numpy()
    kw = dict(T=8, pieces=2, calibration="light")
    ref = lava_pinn.convert(model, xt, **kw)
    for pts in (xn, xn.tolist(), xn[:, 0]):
        assert torch.equal(lava_pinn.convert(model, pts, **kw)(xt), ref(xt))
    assert lava_pinn.convert(model, xn.astype(np.float32), **kw).neurons == ref.neurons
    assert torch.equal(ref(xn), ref(xt)) and torch.equal(ref.run(xn)[0], ref.run(xt)[0])
    path = exporters.export(ref, tmp_path / "n.h5", calibration_inputs=xn)
    a = hardware.run(path, xn, backend="torch-twin")
    b = hardware.run(path, xn[:, 0], backend="torch-twin")  # a vector of 1-D points
    assert np.array_equal(a.y, b.y) and np.array_equal(a.y, hardware.run(path, xt, "torch-twin").y)
    net = convert_sigma_delta(model, xn)
    inet = quantize_delta(net)
    assert torch.equal(run_static(inet, xn).y, run_static(inet, xt).y)
    with torch.no_grad():
        ann = model(xt).numpy()
    choice = choose_thresholds(inet, static_evaluator(xn, ann, np.sin(xn), run_static), 2.0)
    assert choice.error > 0


def test_a_state_dict_given_as_the_model_names_mlp_from_state_dict():
    from lava_pinn.sigma_delta import convert_sigma_delta

    state = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).state_dict()
    for call in (lava_pinn.convert, convert_sigma_delta):
        with pytest.raises(TypeError, match=r"state_dict \(4 tensors\).*mlp_from_state_dict"):
            call(state, _x(16, 1))
