"""exporters.artifact: round trip, manifest, atomic writes and every kind of bad file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import exporters
from exporters.artifact import FORMAT, FORMAT_VERSION, ArtifactError, export, load, load_artifact
from exporters.intnet import random_network
from lava_pinn.conversion.network import OutputLayer, SpikingLayer, SpikingNetwork


def small_snn(neuron: str = "if", T: int = 16, seed: int = 0) -> SpikingNetwork:
    g = torch.Generator().manual_seed(seed)
    sizes = (2, 12, 10, 3)
    hidden = []
    for i in range(len(sizes) - 2):
        w = torch.randn(sizes[i + 1], sizes[i], generator=g, dtype=torch.float64)
        th = 0.5 + torch.rand(sizes[i + 1], generator=g, dtype=torch.float64)
        if neuron == "lif-hard":
            th = torch.ones(sizes[i + 1], dtype=torch.float64)
        b = 0.2 * torch.randn(sizes[i + 1], generator=g, dtype=torch.float64)
        hidden.append(SpikingLayer(w, b, neuron, th, 0.5 * th))
    out = OutputLayer(
        torch.randn(sizes[-1], sizes[-2], generator=g, dtype=torch.float64),
        torch.randn(sizes[-1], generator=g, dtype=torch.float64),
    )
    meta = {"problem": "", "note": "unit test", "log": [{"a": 1.5, "b": [1, 2]}]}
    return SpikingNetwork(hidden, out, T, meta)


def points(n: int = 64, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 2, generator=g, dtype=torch.float64) * 2 - 1


def assert_same_network(a, b) -> None:
    assert a.T == b.T and a.depth == b.depth
    assert np.array_equal(a.input_scale, b.input_scale)
    assert np.array_equal(a.output_scale, b.output_scale)
    for la, lb in zip(a.hidden, b.hidden, strict=True):
        assert (la.name, la.neuron, la.weight_exp) == (lb.name, lb.neuron, lb.weight_exp)
        for f in ("weight", "bias_mant", "bias_exp", "threshold", "v0"):
            assert np.array_equal(getattr(la, f), getattr(lb, f)), f
    assert a.readout.weight_exp == b.readout.weight_exp
    assert np.array_equal(a.readout.weight, b.readout.weight)
    assert np.array_equal(a.readout.bias, b.readout.bias)
    for la, lb in zip((*a.hidden, a.readout), (*b.hidden, b.readout), strict=True):
        assert la.fine_exp == lb.fine_exp
        assert (la.fine_weight is None) == (lb.fine_weight is None)
        if la.fine_weight is not None:
            assert np.array_equal(la.fine_weight, lb.fine_weight)


@pytest.fixture(scope="module")
def artifact_file(tmp_path_factory) -> tuple[Path, SpikingNetwork]:
    snn = small_snn()
    path = tmp_path_factory.mktemp("art") / "net.h5"
    export(snn, path, calibration_inputs=points())
    return path, snn


def test_round_trip_every_array_and_manifest_field(artifact_file, tmp_path):
    path, snn = artifact_file
    net, report = exporters.quantize(snn, points())
    art = load_artifact(path)
    assert_same_network(art.network, net)
    assert_same_network(load(path), net)
    assert art.report.to_dict() == report.to_dict()
    m = art.manifest
    # no fine weight group: written as version 1, which older readers still load
    assert m["format"] == FORMAT and m["format_version"] == 1
    assert m["neuron"] == "if" and m["T"] == snn.T and m["sizes"] == [2, 12, 10, 3]
    assert m["input_scale"] == list(net.input_scale)
    assert m["output_scale"] == list(net.output_scale)
    assert m["weight_exps"] == [la.weight_exp for la in net.hidden] + [net.readout.weight_exp]
    assert m["lava_pinn_version"] == __import__("lava_pinn").__version__
    assert m["metadata"] == {"problem": "", "note": "unit test", "log": [{"a": 1.5, "b": [1, 2]}]}
    assert m["source_sha256"] == "" and m["has_float_snn"] and m["has_report"]
    f = art.float_snn
    assert f.T == snn.T and f.metadata == m["metadata"]
    for la, lb in zip(f.hidden, snn.hidden, strict=True):
        assert la.neuron == lb.neuron
        for name in ("weight", "bias", "threshold", "v0"):
            assert torch.equal(getattr(la, name), getattr(lb, name))
    assert torch.equal(f.output.weight, snn.output.weight)
    assert torch.equal(f.output.bias, snn.output.bias)
    # the reloaded network runs bit-identically in the twin
    x = points(32, seed=5).numpy()
    assert np.array_equal(exporters.run_twin(art.network, x).acc, exporters.run_twin(net, x).acc)


def test_source_checkpoint_hash_and_integer_network(tmp_path):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"checkpoint bytes")
    rng = np.random.default_rng(3)
    net = random_network(rng, [2, 8, 6, 2], "signed-if", 12)
    out = export(net, tmp_path / "int.h5", source=ckpt)
    art = load_artifact(out)
    assert_same_network(art.network, net)
    assert art.report is None and art.float_snn is None
    import hashlib

    assert art.manifest["source_sha256"] == hashlib.sha256(b"checkpoint bytes").hexdigest()
    assert art.manifest["neuron"] == "signed-if"
    with pytest.raises(ValueError, match="does not exist"):
        export(net, tmp_path / "x.h5", source=tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="written as it is"):
        export(net, tmp_path / "x.h5", calibration_inputs=points())


def test_fine_weight_groups_round_trip_as_version_2(tmp_path):
    net = random_network(np.random.default_rng(4), [2, 8, 6, 2], "graded-if", 12, weight_groups=2)
    assert all(la.fine_weight is not None for la in (*net.hidden[1:], net.readout))
    art = load_artifact(export(net, tmp_path / "fine.h5"))
    assert_same_network(art.network, net)
    assert art.manifest["format_version"] == FORMAT_VERSION == 2
    x = points(16, seed=2).numpy()
    assert np.array_equal(exporters.run_twin(art.network, x).acc, exporters.run_twin(net, x).acc)


def test_lazy_public_api():
    for name in ("export", "load", "load_artifact", "quantize", "IntegerNetwork", "run_twin"):
        assert callable(getattr(exporters, name))
    assert issubclass(exporters.ArtifactError, ValueError)
    assert exporters.QuantizationReport.__name__ == "QuantizationReport"
    with pytest.raises(AttributeError):
        exporters.nope  # noqa: B018


def test_missing_and_non_hdf5(tmp_path):
    with pytest.raises(ArtifactError, match="no such file"):
        load(tmp_path / "none.h5")
    bad = tmp_path / "text.h5"
    bad.write_text("hello, not HDF5")
    with pytest.raises(ArtifactError, match=r"text\.h5.*not an HDF5 file"):
        load(bad)


def test_truncated(artifact_file, tmp_path):
    path, _ = artifact_file
    data = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match=r"cut\.h5"):
        load(cut)


def test_corrupt_byte_is_detected(artifact_file, tmp_path):
    path, snn = artifact_file
    with h5py.File(path, "r") as f:
        offset = f["network/hidden/1/weight"].id.get_offset()
    data = bytearray(path.read_bytes())
    data[offset + 3] ^= 0x01
    bad = tmp_path / "flip.h5"
    bad.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"flip\.h5.*checksum"):
        load(bad)


def _copy_with_attr(src: Path, dst: Path, key: str, value) -> Path:
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "r+") as f:
        f.attrs[key] = value
    return dst


def test_newer_version_and_wrong_format(artifact_file, tmp_path):
    path, _ = artifact_file
    newer = _copy_with_attr(path, tmp_path / "newer.h5", "format_version", FORMAT_VERSION + 1)
    with pytest.raises(ArtifactError, match=rf"newer\.h5.*version {FORMAT_VERSION + 1} is newer"):
        load(newer)
    other = _copy_with_attr(path, tmp_path / "other.h5", "format", "something-else")
    with pytest.raises(ArtifactError, match=r"other\.h5.*not a lava-pinn artifact"):
        load(other)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ArtifactError, match="not a lava-pinn artifact"):
        load(plain)


def test_invalid_network_in_a_consistent_file(artifact_file, tmp_path):
    """A file whose checksum matches but whose integers break the bit widths is refused."""
    from exporters.artifact import _HASH_ATTR, _content_hash

    bad = tmp_path / "bad.h5"
    bad.write_bytes(artifact_file[0].read_bytes())
    with h5py.File(bad, "r+") as f:
        w = f["network/hidden/1/weight"]
        arr = w[()]
        arr[0, 0] = 1001
        w[...] = arr
        f.attrs[_HASH_ATTR] = _content_hash(f)
    with pytest.raises(ArtifactError, match=r"bad\.h5.*weight"):
        load(bad)


def test_atomic_write_leaves_no_partial_file(artifact_file, tmp_path, monkeypatch):
    path, snn = artifact_file
    target = tmp_path / "atomic.h5"
    target.write_bytes(path.read_bytes())
    before = target.read_bytes()

    import exporters.artifact as art

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(art, "_write_float", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        export(snn, target, calibration_inputs=points())
    assert target.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.h5"]  # no temp file left
    # a quantization refusal also writes nothing
    monkeypatch.undo()
    with pytest.raises(TypeError):
        export(object(), tmp_path / "never.h5")
    assert not (tmp_path / "never.h5").exists()


def test_report_json_is_plain(artifact_file):
    path, _ = artifact_file
    with h5py.File(path, "r") as f:
        d = json.loads(f["report"].attrs["json"])
    assert d["T"] == 16 and len(d["layers"]) == 2
    assert os.path.getsize(path) > 0


def test_import_exporters_is_light():
    import subprocess
    import sys

    code = (
        "import sys, exporters; "
        "heavy = [m for m in ('torch', 'h5py', 'lava', 'exporters.quantizer') "
        "if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_export_under_a_file_or_onto_a_directory_says_so_and_writes_nothing(tmp_path):
    net = random_network(np.random.default_rng(3), [2, 8, 2], "signed-if", 12)
    (tmp_path / "some_file.txt").write_text("not a directory")
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ArtifactError, match=r"some_file\.txt is a file, not a directory"):
        export(net, tmp_path / "some_file.txt" / "sub" / "net.h5")
    with pytest.raises(ArtifactError, match="is a directory"):
        export(net, tmp_path)
    assert sorted(tmp_path.rglob("*")) == before


def test_export_of_a_plain_sequential_needs_no_calibration_points_again(tmp_path):
    """convert() keeps its calibration points; export(snn, path) quantizes with them, giving the
    same integers as passing them again, and the points survive the artifact round trip."""
    import warnings

    from torch import nn

    import exporters
    import lava_pinn

    torch.manual_seed(5)
    ann = nn.Sequential(nn.Linear(2, 12), nn.Tanh(), nn.Linear(12, 1)).double()
    x = torch.rand(200, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snn = lava_pinn.convert(ann, x, T=16, calibration="none", representation="direct")
        art = exporters.load_artifact(exporters.export(snn, tmp_path / "net.h5", search=False))
        again, _ = exporters.quantize(snn, x, search=False)
    assert torch.equal(snn.metadata["quantization_points"], x)
    for a, b in zip(art.network.hidden, again.hidden, strict=True):
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.threshold, b.threshold)
    assert torch.equal(art.float_snn.metadata["quantization_points"], x)
