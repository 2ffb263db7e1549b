"""Every command shown in README.md and docs/*.md runs.

A fenced ``bash`` or ``python`` block in the docs carries a marker comment on the line above it:

* ``<!-- test: run -->``: run it. Python blocks are executed in order in one namespace per page;
  each line of a bash block is a command: ``lava-pinn ...`` runs through
  :func:`hardware.app.cli.main` in this process (exit status 0 required), anything else through
  ``bash``. Pages run one after the other in one shared working directory, so a page may use a
  run directory an earlier page made (the order is :data:`PAGES`).
* ``<!-- test: file NAME -->``: the block's text is written to ``NAME`` (config files the
  commands then use).
* ``<!-- test: run as-is -->`` on a bash block: its ``lava-pinn`` commands run exactly as
  written, without the :data:`FAST` flags (a section short enough to run as the reader does,
  whose stated numbers are then checked).
* ``<!-- test: output rel=0.03 -->`` on a ``text`` block: what the block before it printed
  (a python block's output; a bash block's last ``lava-pinn`` command's standard output),
  checked number by number (same count; each within ``rel`` of the stated value, 3% by
  default; wall-clock times, a number followed by `` s``, are left out), so a page's stated
  results are the results it gets.
* ``<!-- test: make -->``: a ``make TARGET`` line; the Makefile recipe of ``demo`` is run as a
  ``lava-pinn`` command, ``test`` is checked to be the CI command (running the suite from inside
  the suite would recurse).

Unmarked ``bash``/``python`` blocks are an error, so a new page cannot slip through untested.
To keep CI fast, :data:`FAST` flags are appended to the ``lava-pinn`` commands (argparse keeps
the last value of a repeated option): small ``T``, one-neuron-per-unit conversion with light
calibration, few evaluation points, and Lava on 16 points only (the pipeline's Lava stages are
tested further in ``tests/test_pipeline.py``). The commands themselves are the docs' own.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import REPO

import hardware.app.export_cli  # noqa: F401  registers `export`
import hardware.app.pipeline_cli  # noqa: F401  registers `pipeline`, `report`, `demo`
import hardware.app.run_cli  # noqa: F401  registers `run`, `energy`
from hardware.app.cli import main

pytestmark = pytest.mark.lava

PAGES = (
    "docs/quickstart.md",
    "docs/tutorial-navier-stokes-loihi.md",
    "docs/neurons-and-calibration.md",
    "docs/energy.md",
    "docs/loihi2.md",
    "docs/byo-pinn.md",
    "docs/sigma-delta.md",
    "docs/api.md",
    "README.md",
)

_CONVERT = ["--T", "8", "--representation", "pwl", "--pieces", "2", "--calibration", "light"]
_CONVERT += ["--calibration-points", "128"]
FAST: dict[str, list[str]] = {
    "pipeline": [
        *_CONVERT,
        *["--scoring-points", "32", "--lava-points", "16", "--lava-batch", "16"],
        *["--grid-points", "2048", "--field-grid", "6", "--sweep-T", "4,8"],
        *["--sweep-points", "32", "--field-times", "0,1"],
        *[
            "--backend",
            "torch-twin",
            "--backend",
            "lava-cpu",
        ],  # Lava on 16 points; more in test_pipeline.py
    ],
    "demo": [],  # filled below: same as pipeline
    "convert": _CONVERT,
    "export": ["--scoring-points", "32"],
    "run": ["--points", "16"],
    "sigma-delta": ["--points", "256", "--lava-points", "8", "--stream-grid", "5"]
    + ["--stream-frames", "11,21"],
}
FAST["demo"] = FAST["pipeline"]

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?:e[+-]?\d+)?")
SECONDS = re.compile(r"(?<![\w.])\d+(?:\.\d+)? s\b")  # a wall-clock time: not a result


def _numbers(text: str) -> list[float]:
    return [float(m.replace(",", "")) for m in NUMBER.findall(SECONDS.sub(" ", text))]


def check_output(printed: str, stated: str, rel: float, where: str) -> None:
    """Every number ``stated`` equals the one ``printed`` at its place, within ``rel``."""
    got, want = _numbers(printed), _numbers(stated)
    assert len(got) == len(want), (
        f"{where}: the block printed {len(got)} numbers, the page states {len(want)}:\n"
        f"printed:\n{printed}\nstated:\n{stated}"
    )
    bad = [(g, w) for g, w in zip(got, want, strict=True) if abs(g - w) > rel * abs(w) + 1e-12]
    assert not bad, f"{where}: (printed, stated) differ by more than {rel:.0%}: {bad}\n{printed}"


MARK = re.compile(r"<!--\s*test:\s*(\w+)\s*(.*?)\s*-->")
FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(text: str) -> list[tuple[str, str, str, str, int]]:
    """``(marker, argument, language, body, line)`` of every fenced block (marker '' if none)."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m and m.group(1):
            lang, start = m.group(1), i
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            prev = lines[start - 1] if start > 0 else ""
            mk = MARK.search(prev)
            out.append(
                (
                    mk.group(1) if mk else "",
                    mk.group(2) if mk else "",
                    lang,
                    "\n".join(lines[start + 1 : j]),
                    start + 1,
                )
            )
            i = j + 1
        else:
            i += 1
    return out


def _commands(body: str) -> list[str]:
    cmds = []
    for line in body.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            cmds.append(line)
    return cmds


def _lava_pinn(argv: list[str], where: str, *, fast: bool = True) -> str:
    """Run ``lava-pinn ARGV`` in this process (with :data:`FAST` unless ``fast=False``);
    returns what it printed."""
    name = argv[0] if argv else ""
    if fast and name == "train" and "--pretrained" not in argv:
        argv = [*argv, "--adam-steps", "30", "--lbfgs-steps", "0"]
    if fast:
        argv = [*argv, *FAST.get(name, [])]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    print(buf.getvalue(), end="")
    assert rc == 0, f"{where}: `lava-pinn {' '.join(argv)}` failed"
    return buf.getvalue()


def _run_bash(body: str, where: str, *, fast: bool = True) -> str:
    """Run each command of a bash block; returns the last ``lava-pinn`` command's output."""
    printed = ""
    for cmd in _commands(body):
        argv = shlex.split(cmd, comments=True)
        if argv and argv[0] == "lava-pinn":
            printed = _lava_pinn(argv[1:], f"{where}: {cmd}", fast=fast)
        else:
            r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, f"{where}: `{cmd}` failed: {r.stderr[-2000:]}"
    return printed


def _make_target(target: str) -> list[str]:
    text = (REPO / "Makefile").read_text()
    m = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.M)
    assert m, f"Makefile has no target {target!r}"
    return [ln.strip() for ln in m.group(1).splitlines()]


def _run_make(body: str, where: str) -> None:
    for cmd in _commands(body):
        argv = shlex.split(cmd, comments=True)
        assert argv[:1] == ["make"] and len(argv) == 2, f"{where}: not a make call: {cmd}"
        recipe = _make_target(argv[1])
        if argv[1] == "test":
            assert any("pytest" in r and '"not slow"' in r for r in recipe), recipe
            continue
        lines = [r for r in recipe if "hardware.app.cli" in r]
        assert lines, f"{where}: make {argv[1]} runs no lava-pinn command: {recipe}"
        for r in lines:
            args = shlex.split(r.replace("$(PY)", "python").replace("$(RUN_DIR)", "runs/demo"))
            args = [str(REPO / a) if a.endswith(".toml") else a for a in args]  # repo files
            k = args.index("hardware.app.cli")
            _lava_pinn(args[k + 1 :], f"{where}: make {argv[1]}")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("docs")
    old = Path.cwd()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    os.chdir(d)
    yield d
    os.chdir(old)
    torch.set_num_threads(threads)


def test_every_shell_and_python_block_is_marked():
    unmarked = []
    for page in [*PAGES, *sorted(p.relative_to(REPO).as_posix() for p in REPO.glob("docs/*.md"))]:
        for marker, _, lang, _, line in blocks((REPO / page).read_text()):
            if lang in ("bash", "sh", "python") and not marker:
                unmarked.append(f"{page}:{line}")
    assert not unmarked, f"blocks without a <!-- test: ... --> marker: {unmarked}"
    listed = {p for p in PAGES if p.startswith("docs/")}
    on_disk = {p.relative_to(REPO).as_posix() for p in REPO.glob("docs/*.md")}
    assert on_disk - {"docs/theory.md"} <= listed, on_disk - listed


@pytest.mark.parametrize("page", PAGES)
def test_page_runs(page, workdir):
    path = REPO / page
    if not path.is_file():
        pytest.fail(f"{page} is missing")
    namespace: dict = {"__name__": f"docs:{page}"}
    printed = ""
    for marker, arg, lang, body, line in blocks(path.read_text()):
        where = f"{page}:{line}"
        if marker == "file":
            (workdir / arg).parent.mkdir(parents=True, exist_ok=True)
            (workdir / arg).write_text(body + "\n")
        elif marker == "run" and lang == "python":
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(body, where, "exec"), namespace)
            printed = buf.getvalue()
            print(printed, end="")
        elif marker == "output":
            m = re.fullmatch(r"(?:rel=([0-9.]+))?", arg)
            assert m, f"{where}: output marker takes 'rel=NUMBER', got {arg!r}"
            check_output(printed, body, float(m.group(1) or 0.03), where)
        elif marker == "run" and lang in ("bash", "sh"):
            assert arg in ("", "as-is"), f"{where}: run marker takes nothing or 'as-is'"
            printed = _run_bash(body, where, fast=arg != "as-is")
        elif marker == "make":
            _run_make(body, where)


def _anchors(text: str) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces -> '-'."""
    out = set()
    for line in text.splitlines():
        m = re.match(r"#+\s+(.*)", line)
        if m:
            out.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return out


def test_every_link_between_pages_resolves():
    """Relative links of README.md and docs/ (results included) name existing files, and
    their #anchors existing headings: a renamed section breaks no page that points at it."""
    bad = []
    pages = [REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("docs/results/*.md")]
    for page in pages:
        for link in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", link):
                continue
            path, _, frag = link.partition("#")
            target = (page.parent / path) if path else page
            if not target.exists():
                bad.append(f"{page.relative_to(REPO)}: {link} (no such file)")
            elif frag and target.suffix == ".md" and frag not in _anchors(target.read_text()):
                bad.append(f"{page.relative_to(REPO)}: {link} (no such heading)")
    assert not bad, bad
