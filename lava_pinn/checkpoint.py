"""PINN checkpoints: weights plus everything needed to rebuild the model and its problem.

A checkpoint is a plain ``dict`` of tensors, numbers, strings, lists and dicts written with
``torch.save`` and read back with ``torch.load(weights_only=True)``, so loading never unpickles
code. Files are written atomically (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from lava_pinn._version import __version__
from lava_pinn.models import ModelConfig, config_from_dict

FORMAT = "lava-pinn-checkpoint"
FORMAT_VERSION = 1
_REQUIRED = ("format", "format_version", "model", "state_dict", "problem")


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, from a newer format, or does not fit its model."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (in eval mode) and its metadata."""

    model: nn.Module
    config: ModelConfig
    problem: str
    problem_params: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    hard_bc: bool = False
    versions: dict = field(default_factory=dict)
    dtype: str = "float32"
    path: Path | None = None
    sha256: str = ""


def versions() -> dict[str, str]:
    return {
        "lava_pinn": __version__,
        "torch": str(torch.__version__),
        "python": platform.python_version(),
    }


def _file_mode() -> int:
    """``0o666`` minus the process umask (what ``open(path, "w")`` would give)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace`` (no half-written file)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{path} is a directory; pass a file path inside it, e.g. {path / 'snn.pt'}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())  # mkstemp creates 0600; give the usual umask-based mode
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename is None:
            err.filename = str(path)  # "File too large: 'DIR/network.h5'", not a bare errno
        raise
    return path


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    config: ModelConfig,
    *,
    problem: str,
    problem_params: dict | None = None,
    training: dict | None = None,
    metrics: dict | None = None,
    hard_bc: bool = False,
) -> Path:
    """Write ``model`` and its metadata to ``path`` atomically; returns the path."""
    import io

    dtype = str(next(model.parameters()).dtype).replace("torch.", "")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": {"kind": config.kind, **config.to_dict()},
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "problem": {"name": problem, "params": dict(problem_params or {})},
        "training": dict(training or {}),
        "metrics": dict(metrics or {}),
        "hard_bc": bool(hard_bc),
        "dtype": dtype,
        "versions": versions(),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and validate a checkpoint; errors name the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    raw = path.read_bytes()
    try:
        import io

        payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a corrupt zip/pickle
        raise CheckpointError(
            f"checkpoint {path}: not a readable lava-pinn checkpoint ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else 'corrupt file'})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path}: not a lava-pinn checkpoint (no '{FORMAT}' tag)")
    missing = [k for k in _REQUIRED if k not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path}: missing fields {missing}")
    if int(payload["format_version"]) > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path}: format version {payload['format_version']} is newer than this "
            f"lava-pinn ({__version__}) reads (<= {FORMAT_VERSION}); upgrade lava-pinn"
        )
    try:
        config = config_from_dict(payload["model"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path}: invalid model description: {err}") from None
    dtype = getattr(torch, str(payload.get("dtype", "float32")), torch.float32)
    model = config.build().to(dtype)
    _load_state(model, payload["state_dict"], path, config)
    model.eval()
    prob = payload["problem"]
    return Checkpoint(
        model=model,
        config=config,
        problem=str(prob.get("name", "")),
        problem_params=dict(prob.get("params", {})),
        training=dict(payload.get("training", {})),
        metrics=dict(payload.get("metrics", {})),
        hard_bc=bool(payload.get("hard_bc", False)),
        versions=dict(payload.get("versions", {})),
        dtype=str(dtype).replace("torch.", ""),
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def _load_state(model: nn.Module, state: dict, path: Path, config: ModelConfig) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint {path}: weights do not fit the architecture {config.describe()} "
            f"(missing {missing[:4]}, unexpected {unexpected[:4]})"
        )
    for name, tensor in expected.items():
        got = state[name]
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(tensor.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise CheckpointError(
                f"checkpoint {path}: {name} has shape {shape}, architecture "
                f"{config.describe()} needs {tuple(tensor.shape)}"
            )
    model.load_state_dict(state)


def pretrained_dir() -> Path:
    return Path(__file__).parent / "pretrained"


def pretrained_path(problem: str) -> Path:
    """Path of the committed pretrained checkpoint for a zoo problem."""
    return pretrained_dir() / f"{problem}.pt"


def load_pretrained(problem: str) -> Checkpoint:
    path = pretrained_path(problem)
    if not path.is_file():
        have = sorted(p.stem for p in pretrained_dir().glob("*.pt"))
        raise CheckpointError(
            f"no pretrained checkpoint for {problem!r} ({path}); available: {', '.join(have)}; "
            f"train one with `lava-pinn train {problem} --out DIR`"
        )
    return load_checkpoint(path)
