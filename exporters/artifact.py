"""The deployable artifact: one versioned HDF5 file holding the integer network, its
quantization report and the float SNN it came from.

Layout (format ``lava-pinn-artifact``, version :data:`FORMAT_VERSION`)::

    /                 attrs: format, format_version, neuron, T, calibrated_T, depth, sizes,
                             lava_pinn_version, problem, source_sha256, input_scale,
                             output_scale, weight_exps, metadata_json, content_sha256
    /network          attrs: T;  datasets input_scale (n_in,), output_scale (n_out,) float64
    /network/hidden/<i>   attrs: name, neuron, weight_exp[, fine_exp];  datasets weight,
                          bias_mant, bias_exp, threshold, v0[, fine_weight] (integers, stored
                          in the smallest dtype that holds them, read back as int64; large
                          ones gzip-compressed)
    /network/readout      attrs: name, weight_exp[, fine_exp];  datasets weight, bias
                          [, fine_weight] (integers)
    /report           attrs: json (QuantizationReport.to_dict(), absent for a network exported
                      without its float source)
    /float_snn        attrs: T, metadata_json;  /float_snn/hidden/<i>: weight, bias, threshold,
                      v0 (float), attrs neuron;  /float_snn/output: weight, bias

Version 2 adds the optional second weight group (``fine_weight``, ``fine_exp``); a network
without one is written as version 1, which older readers load unchanged (a version-1 reader
would ignore a fine group, so files that have one say version 2 and such readers refuse them).

``calibrated_T`` is the ``T`` the float network was calibrated for (its
``metadata["calibrated_T"]``; ``T`` itself where that is absent): a network run at another ``T``
(``SpikingNetwork.at_T`` before export) keeps it, so the file says what it was tuned for.

``content_sha256`` hashes every dataset (path, dtype, shape, bytes) and the other root
attributes, so a flipped byte anywhere is reported as corruption. The file is built in memory
and written to a temporary name in the target folder, then moved into place with
``os.replace``. It holds no time stamp or wall time: the same network gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from exporters.intnet import IntegerNetwork, IntLayer, IntReadout
from exporters.quant_report import QuantizationReport
from exporters.quantizer import quantize
from lava_pinn._version import __version__
from lava_pinn.checkpoint import atomic_write_bytes
from lava_pinn.conversion.network import OutputLayer, SpikingLayer, SpikingNetwork

FORMAT = "lava-pinn-artifact"
FORMAT_VERSION = 2
_HASH_ATTR = "content_sha256"


class ArtifactError(ValueError):
    """An artifact file is missing, not HDF5, corrupt, truncated, or of another format/version."""


@dataclass(frozen=True)
class Artifact:
    """A loaded artifact: the integer network, the float SNN (``None`` when the network was
    exported on its own), the manifest (root attributes, decoded), the report and the path."""

    network: IntegerNetwork
    float_snn: object | None
    manifest: dict
    report: QuantizationReport | None
    path: Path

    def __post_init__(self) -> None:
        if not isinstance(self.network, IntegerNetwork):
            raise TypeError("Artifact.network must be an IntegerNetwork")
        if self.report is not None and not isinstance(self.report, QuantizationReport):
            raise TypeError("Artifact.report must be a QuantizationReport or None")
        if not isinstance(self.manifest, dict):
            raise TypeError("Artifact.manifest must be a dict")
        object.__setattr__(self, "path", Path(self.path))


# --------------------------------------------------------------------------- helpers
def _jsonable(obj: object) -> object:
    """Metadata as JSON: tensors and arrays become lists, unknown objects their ``str``."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (bool, str)) or obj is None:
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if np.isfinite(f) else str(f)
    if hasattr(obj, "detach"):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return str(obj)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _source_sha(source: object, snn: object) -> str:
    if source is None:
        meta = getattr(snn, "metadata", None) or {}
        return str(meta.get("source_checkpoint_sha256", ""))
    sha = getattr(source, "sha256", None)  # a loaded lava_pinn Checkpoint
    if isinstance(sha, str):
        return sha
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if not p.is_file():
            raise ValueError(f"export(source=...): checkpoint {p} does not exist")
        return _sha256_file(p)
    raise TypeError(
        f"export(source=...) must be a checkpoint path or a loaded Checkpoint, got "
        f"{type(source).__name__}"
    )


def _attr(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _content_hash(f) -> str:
    """sha256 over every dataset (path, dtype, shape, bytes) and every attribute but the hash."""
    h = hashlib.sha256()

    def attrs(name: str, obj) -> None:
        for k in sorted(obj.attrs):
            if name == "/" and k == _HASH_ATTR:
                continue
            h.update(f"{name}@{k}={_attr(obj.attrs[k])!r};".encode())

    attrs("/", f)

    def visit(name: str, obj) -> None:
        attrs(name, obj)
        if hasattr(obj, "dtype"):
            arr = np.ascontiguousarray(obj[()])
            h.update(f"{name}:{arr.dtype.str}:{arr.shape};".encode())
            h.update(arr.tobytes())

    names: list[str] = []
    f.visit(names.append)
    for name in sorted(names):
        visit(name, f[name])
    return h.hexdigest()


# --------------------------------------------------------------------------- writing
def _dataset(g, name: str, arr: np.ndarray) -> None:
    """Integers in the smallest dtype that holds them (read back as int64), gzip when large."""
    arr = np.asarray(arr)
    if arr.dtype.kind in "iu":
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        for dt in (np.int8, np.int16, np.int32, np.int64):
            if np.iinfo(dt).min <= lo and hi <= np.iinfo(dt).max:
                arr = arr.astype(dt)
                break
    kw = {"compression": "gzip", "compression_opts": 4} if arr.size > 4096 else {}
    g.create_dataset(name, data=arr, **kw)


def _write_network(g, net: IntegerNetwork) -> None:
    g.attrs["T"] = net.T
    g.create_dataset("input_scale", data=np.asarray(net.input_scale, dtype=np.float64))
    g.create_dataset("output_scale", data=np.asarray(net.output_scale, dtype=np.float64))
    for i, la in enumerate(net.hidden):
        h = g.create_group(f"hidden/{i}")
        h.attrs["name"], h.attrs["neuron"] = la.name, la.neuron
        h.attrs["weight_exp"] = la.weight_exp
        for f in ("weight", "bias_mant", "bias_exp", "threshold", "v0"):
            _dataset(h, f, np.asarray(getattr(la, f), dtype=np.int64))
        _write_fine(h, la)
    r = g.create_group("readout")
    r.attrs["name"], r.attrs["weight_exp"] = net.readout.name, net.readout.weight_exp
    _dataset(r, "weight", np.asarray(net.readout.weight, dtype=np.int64))
    _dataset(r, "bias", np.asarray(net.readout.bias, dtype=np.int64))
    _write_fine(r, net.readout)


def _write_fine(g, layer) -> None:
    if layer.fine_weight is not None:
        g.attrs["fine_exp"] = layer.fine_exp
        _dataset(g, "fine_weight", np.asarray(layer.fine_weight, dtype=np.int64))


def _file_version(net: IntegerNetwork) -> int:
    """1 unless a synapse has a second weight group (what version 2 adds)."""
    fine = any(la.fine_weight is not None for la in net.hidden)
    return 2 if fine or net.readout.fine_weight is not None else 1


POINTS_KEY = "quantization_points"  # the converted network's kept calibration points


def _plain_meta(meta: dict) -> dict:
    """Metadata for JSON: the kept calibration points (an array, stored as a dataset of the
    float network) left out."""
    return {k: v for k, v in meta.items() if k != POINTS_KEY}


def _write_float(g, snn) -> None:
    g.attrs["T"] = int(snn.T)
    g.attrs["metadata_json"] = json.dumps(_jsonable(_plain_meta(snn.metadata)))
    points = snn.metadata.get(POINTS_KEY)
    if points is not None:
        _dataset(g, POINTS_KEY, np.asarray(points.detach().cpu().numpy(), dtype=np.float64))
    for i, la in enumerate(snn.hidden):
        h = g.create_group(f"hidden/{i}")
        h.attrs["neuron"] = la.neuron
        for f in ("weight", "bias", "threshold", "v0"):
            _dataset(h, f, getattr(la, f).detach().cpu().numpy())
    o = g.create_group("output")
    _dataset(o, "weight", snn.output.weight.detach().cpu().numpy())
    _dataset(o, "bias", snn.output.bias.detach().cpu().numpy())


def _manifest(net: IntegerNetwork, snn, report, source_sha: str) -> dict:

    meta = dict(getattr(snn, "metadata", None) or {})
    neurons = sorted({la.neuron for la in net.hidden})
    return {
        "format": FORMAT,
        "format_version": _file_version(net),
        "neuron": neurons[0] if len(neurons) == 1 else ",".join(neurons),
        "T": net.T,
        # the T the float network was calibrated for (lava_pinn.conversion.transfer)
        "calibrated_T": int(meta.get("calibrated_T", net.T)),
        "depth": net.depth,
        "sizes": list(net.sizes),
        "lava_pinn_version": __version__,
        "problem": str(meta.get("problem", "")),
        "source_sha256": source_sha,
        "input_scale": [float(v) for v in net.input_scale],
        "output_scale": [float(v) for v in net.output_scale],
        "weight_exps": [la.weight_exp for la in net.hidden] + [net.readout.weight_exp],
        "has_float_snn": snn is not None,
        "has_report": report is not None,
        "metadata_json": json.dumps(_jsonable(_plain_meta(meta))),
    }


def _target(path: Path) -> Path:
    """``path`` if an artifact can be written there: not a directory, and every existing
    ancestor a directory. Checked before anything is computed or written."""
    if path.is_dir():
        raise ArtifactError(
            f"export: {path} is a directory; give a file path such as {path / 'network.h5'}"
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ArtifactError(
                    f"export: cannot write {path}: {parent} is a file, not a directory; "
                    "choose another path or move that file away"
                )
            break
    return path


def export(
    snn,
    path: str | os.PathLike,
    *,
    calibration_inputs=None,
    source: object = None,
    **quantize_options,
) -> Path:
    """Quantize ``snn`` (a float :class:`~lava_pinn.conversion.network.SpikingNetwork`, or an
    already quantized :class:`IntegerNetwork`) and write one artifact file atomically.

    ``calibration_inputs`` and ``quantize_options`` go to :func:`exporters.quantize`.
    ``source``: the checkpoint path (or loaded ``Checkpoint``) the SNN was converted from; its
    sha256 goes into the manifest (default: ``snn.metadata["source_checkpoint_sha256"]``).
    Returns the path written.
    """
    import h5py

    path = _target(Path(path))
    if isinstance(snn, IntegerNetwork):
        if calibration_inputs is not None or quantize_options:
            raise ValueError(
                "export: calibration_inputs and quantize options apply to a float SNN; an "
                "IntegerNetwork is written as it is"
            )
        net, report, float_snn = snn, None, None
    else:
        net, report = quantize(snn, calibration_inputs, **quantize_options)
        float_snn = snn
    manifest = _manifest(net, float_snn, report, _source_sha(source, float_snn))
    # Built in memory, then written in one go: a full disk or a file-size limit then fails in
    # a plain write (OSError, the temporary file removed, the previous artifact untouched)
    # and never inside the HDF5 library, which can crash on a failed write.
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for k, v in manifest.items():
            f.attrs[k] = v
        _write_network(f.create_group("network"), net)
        if report is not None:
            f.create_group("report").attrs["json"] = json.dumps(report.to_dict())
        if float_snn is not None:
            _write_float(f.create_group("float_snn"), float_snn)
        f.attrs[_HASH_ATTR] = _content_hash(f)
    try:
        return atomic_write_bytes(path, buf.getvalue())
    except OSError as err:
        raise ArtifactError(
            f"export: could not write {path} ({err.strerror or err}); the previous file, if "
            f"any, is unchanged"
        ) from err


# --------------------------------------------------------------------------- reading
def _open(path: Path):
    import h5py

    if not path.is_file():
        raise ArtifactError(f"artifact {path}: no such file")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head != b"\x89HDF\r\n\x1a\n":
        raise ArtifactError(f"artifact {path}: not an HDF5 file (no HDF5 signature)")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise ArtifactError(
            f"artifact {path}: unreadable HDF5 (truncated or corrupt: {err})"
        ) from None


def _read_manifest(f, path: Path) -> dict:
    fmt = _attr(f.attrs.get("format", ""))
    if fmt != FORMAT:
        raise ArtifactError(f"artifact {path}: not a lava-pinn artifact (format {fmt!r})")
    version = _attr(f.attrs.get("format_version", 0))
    if not isinstance(version, int) or version < 1:
        raise ArtifactError(f"artifact {path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ArtifactError(
            f"artifact {path}: format version {version} is newer than this lava-pinn reads "
            f"(<= {FORMAT_VERSION}); upgrade lava-pinn"
        )
    manifest = {k: _attr(f.attrs[k]) for k in f.attrs}
    stored = manifest.get(_HASH_ATTR)
    actual = _content_hash(f)
    if stored != actual:
        raise ArtifactError(
            f"artifact {path}: content checksum mismatch (stored {stored!s:.12}, computed "
            f"{actual:.12}): the file is corrupt"
        )
    manifest["metadata"] = json.loads(manifest.pop("metadata_json", "{}"))
    return manifest


def _read_network(g) -> IntegerNetwork:
    def i64(ds) -> np.ndarray:
        arr = np.asarray(ds[()])
        if arr.dtype.kind not in "iu":
            raise ValueError(f"{ds.name} holds {arr.dtype} values, not integers")
        return arr.astype(np.int64)

    def fine(h) -> dict:
        if "fine_weight" not in h:
            return {}
        return {"fine_weight": i64(h["fine_weight"]), "fine_exp": int(h.attrs["fine_exp"])}

    hidden = []
    for i in range(len(g["hidden"])):
        h = g[f"hidden/{i}"]
        hidden.append(
            IntLayer(
                i64(h["weight"]),
                int(h.attrs["weight_exp"]),
                i64(h["bias_mant"]),
                i64(h["bias_exp"]),
                i64(h["threshold"]),
                i64(h["v0"]),
                _attr(h.attrs["neuron"]),
                name=_attr(h.attrs["name"]),
                **fine(h),
            )
        )
    r = g["readout"]
    ro = IntReadout(
        i64(r["weight"]),
        int(r.attrs["weight_exp"]),
        i64(r["bias"]),
        name=_attr(r.attrs["name"]),
        **fine(r),
    )
    return IntegerNetwork(
        tuple(hidden), ro, g["input_scale"][()], g["output_scale"][()], int(g.attrs["T"])
    )


def _read_float(g):

    def t(ds):
        return torch.from_numpy(np.array(ds[()]))

    hidden = []
    for i in range(len(g["hidden"])):
        h = g[f"hidden/{i}"]
        hidden.append(
            SpikingLayer(
                t(h["weight"]),
                t(h["bias"]),
                _attr(h.attrs["neuron"]),
                t(h["threshold"]),
                t(h["v0"]),
            )
        )
    out = OutputLayer(t(g["output/weight"]), t(g["output/bias"]))
    meta = json.loads(_attr(g.attrs.get("metadata_json", "{}")))
    if POINTS_KEY in g:
        meta[POINTS_KEY] = t(g[POINTS_KEY])
    return SpikingNetwork(hidden, out, int(g.attrs["T"]), meta)


def load_artifact(path: str | os.PathLike) -> Artifact:
    """Read and validate an artifact; every failure is an :class:`ArtifactError` naming the
    file and what is wrong."""
    path = Path(path)
    f = _open(path)
    try:
        manifest = _read_manifest(f, path)
        net = _read_network(f["network"])
        report = (
            QuantizationReport.from_dict(json.loads(_attr(f["report"].attrs["json"])))
            if "report" in f
            else None
        )
        float_snn = _read_float(f["float_snn"]) if "float_snn" in f else None
    except ArtifactError:
        raise
    except (KeyError, TypeError, ValueError, OSError, RuntimeError) as err:
        raise ArtifactError(f"artifact {path}: invalid or corrupt content ({err})") from None
    finally:
        f.close()
    return Artifact(net, float_snn, manifest, report, path)


def load(path: str | os.PathLike) -> IntegerNetwork:
    """The validated :class:`IntegerNetwork` of an artifact file."""
    return load_artifact(path).network
