"""One figure style for all plots: paper widths, readable fonts, PNG + vector, overlap check.

A figure is drawn for one :class:`FigStyle`: ``width = "column"`` (3.5 in, one column of a
two-column paper) or ``"full"`` (7.1 in, the text width), fonts sized for that width at 100 %
scale (column: 8 pt text, 7 pt ticks; full: 9 pt text, 8 pt ticks), and a vector format (``pdf``
or ``svg``) written beside the PNG by :func:`save`. :func:`overlapping_texts` lists the texts of
a drawn figure whose bounding boxes overlap (tick labels, axis labels, titles, annotations,
legends, colorbar labels), legends that cover a data line, and texts cut by the figure's edge.

matplotlib is imported inside the functions (Agg backend, no display needed).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lava_pinn.checkpoint import atomic_write_bytes

WIDTHS_IN: dict[str, float] = {"column": 3.5, "full": 7.1}
VECTOR_FORMATS: tuple[str, ...] = ("pdf", "svg")
PNG_DPI = 300
# no creation dates in vector files: the same figure gives the same bytes
_STABLE_METADATA = {"pdf": {"CreationDate": None}, "svg": {"Date": None}, "png": None}


@dataclass(frozen=True)
class FigStyle:
    """Width class (``column`` / ``full``) and vector format (``pdf`` / ``svg``) of a figure."""

    width: str = "column"
    vector: str = "pdf"

    def __post_init__(self) -> None:
        if self.width not in WIDTHS_IN:
            raise ValueError(
                f"FigStyle.width must be one of {sorted(WIDTHS_IN)}, got {self.width!r}"
            )
        if self.vector not in VECTOR_FORMATS:
            raise ValueError(
                f"FigStyle.vector must be one of {list(VECTOR_FORMATS)}, got {self.vector!r}"
            )

    @property
    def inches(self) -> float:
        """Figure width in inches."""
        return WIDTHS_IN[self.width]

    @property
    def font(self) -> float:
        """Base font size (pt): axis labels, legends."""
        return 8.0 if self.width == "column" else 9.0

    @property
    def small(self) -> float:
        """Tick-label and annotation font size (pt)."""
        return self.font - 1.0

    def rc(self) -> dict:
        """matplotlib rcParams of this style."""
        return {
            "font.size": self.font,
            "axes.labelsize": self.font,
            "axes.titlesize": self.font,
            "legend.fontsize": self.small,
            "xtick.labelsize": self.small,
            "ytick.labelsize": self.small,
            "figure.titlesize": self.font,
            "lines.linewidth": 1.2,
            "lines.markersize": 4.0,
            "axes.linewidth": 0.6,
            "grid.linewidth": 0.4,
            "legend.frameon": False,
            "savefig.dpi": PNG_DPI,
            "pdf.fonttype": 42,  # TrueType in the PDF: text stays text for journals
            "svg.fonttype": "none",
        }


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, or an ImportError saying how to install it."""
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "figures need matplotlib: pip install 'lava-pinn[plot]' (or matplotlib>=3.7)"
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def figure(style: FigStyle, height_in: float, nrows: int = 1, ncols: int = 1, **kw):
    """``(fig, axes)`` of ``style.inches x height_in`` with constrained layout and the style's
    fonts (set on the figure's artists as they are created: call inside :func:`rc`)."""
    plt = pyplot()
    return plt.subplots(nrows, ncols, figsize=(style.inches, height_in), layout="constrained", **kw)


def rc(style: FigStyle):
    """Context manager applying ``style.rc()`` while a figure is built."""
    import matplotlib

    pyplot()
    return matplotlib.rc_context(style.rc())


def save(fig, path_stem: str | Path, style: FigStyle) -> list[Path]:
    """Write ``<stem>.png`` (300 dpi) and ``<stem>.<style.vector>``; returns both paths.

    Both are rendered in memory first and each replaces its file atomically, so a failure
    leaves the previous figures intact and never a half-written one.
    """
    stem = Path(path_stem)
    if stem.suffix in (".png", ".pdf", ".svg"):
        stem = stem.with_suffix("")
    plt = pyplot()
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "lava-pinn"  # stable SVG ids: equal runs, equal bytes
    blobs = {}
    if _CHECKS:
        _CHECKS[-1][stem.name] = overlapping_texts(fig)
    if _RECORDS:
        _RECORDS[-1][stem.name] = fig
    try:
        for fmt in ("png", style.vector):
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=PNG_DPI, metadata=_STABLE_METADATA.get(fmt))
            blobs[fmt] = buf.getvalue()
    finally:
        plt.close(fig)
    return [atomic_write_bytes(stem.with_name(f"{stem.name}.{fmt}"), b) for fmt, b in blobs.items()]


# ------------------------------------------------------------------------------ overlap check
_CHECKS: list[dict[str, list[tuple[str, str]]]] = []


@contextmanager
def checking_overlaps():
    """Within the block, :func:`save` records :func:`overlapping_texts` of every figure it
    writes; yields ``{stem name: pairs}`` (an empty list per figure is clean)."""
    found: dict[str, list[tuple[str, str]]] = {}
    _CHECKS.append(found)
    try:
        yield found
    finally:
        _CHECKS.remove(found)


_RECORDS: list[dict[str, object]] = []


@contextmanager
def recording_figures():
    """Within the block, :func:`save` keeps every figure it writes; yields ``{stem name:
    matplotlib Figure}`` (closed for pyplot, still drawable: for checks of what was drawn)."""
    found: dict[str, object] = {}
    _RECORDS.append(found)
    try:
        yield found
    finally:
        _RECORDS.remove(found)


def _texts(fig) -> list[tuple[str, object]]:
    """``(description, Text)`` for every visible, non-empty text drawn in ``fig``."""
    out: list[tuple[str, object]] = []
    seen: set[int] = set()

    def add(desc, t):
        if t is not None and id(t) not in seen and t.get_visible() and t.get_text().strip():
            seen.add(id(t))
            out.append((desc, t))

    for i, ax in enumerate(fig.axes):
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if not axis.get_visible():
                continue
            try:
                ticks = axis._update_ticks()  # the ticks matplotlib draws (inside the view)
            except AttributeError:  # pragma: no cover - older/newer matplotlib
                ticks = axis.get_major_ticks()
            for tk in ticks:
                for lab in (tk.label1, tk.label2):
                    if lab.get_visible():
                        add(f"axes {i} {which} tick {lab.get_text()!r}", lab)
            add(f"axes {i} {which} label", axis.label)
            add(f"axes {i} {which} offset", axis.get_offset_text())
        for name in ("title", "_left_title", "_right_title"):
            add(f"axes {i} title", getattr(ax, name, None))
        for t in ax.texts:
            add(f"axes {i} text {t.get_text()!r}", t)
        leg = ax.get_legend()
        if leg is not None:
            out.append((f"axes {i} legend", leg))
    for t in fig.texts:
        add(f"figure text {t.get_text()!r}", t)
    for leg in fig.legends:
        out.append(("figure legend", leg))
    if getattr(fig, "_suptitle", None) is not None:
        add("suptitle", fig._suptitle)
    return out


def _lines_through(leg, ax, renderer) -> list[str]:
    """Data lines of ``ax`` with a drawn vertex or segment inside the legend's box."""
    import numpy as np

    box = leg.get_window_extent(renderer)
    hits = []
    for ln in ax.get_lines():
        if not ln.get_visible() or ln.get_label().startswith("_"):
            continue
        xy = ln.get_xydata()
        if len(xy) == 0:
            continue
        pts = ln.get_transform().transform(np.asarray(xy, float))
        if len(pts) > 1 and ln.get_linestyle() not in ("None", "none", " ", ""):
            s = np.linspace(0, 1, 20)[:, None]
            pts = np.concatenate([a + s * (b - a) for a, b in zip(pts[:-1], pts[1:], strict=True)])
        inside = (
            (pts[:, 0] > box.x0)
            & (pts[:, 0] < box.x1)
            & (pts[:, 1] > box.y0)
            & (pts[:, 1] < box.y1)
        )
        if inside.any():
            hits.append(ln.get_label())
    return hits


def overlapping_texts(fig, pad_px: float = 0.5) -> list[tuple[str, str]]:
    """Pairs ``(a, b)`` of texts of the drawn ``fig`` whose boxes overlap by more than
    ``pad_px`` pixels on both axes; ``(legend, line)`` where a legend inside an axes covers a data
    line; ``(text, "figure edge")`` where a text reaches outside the figure, ``(text, "axes
    frame")`` where a text of an axes (a point's label) crosses its frame. ``[]`` is clean."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    items = [(d, t, t.get_window_extent(renderer)) for d, t in _texts(fig)]
    fb = fig.bbox
    pairs: list[tuple[str, str]] = []
    for k, (da, _, ba) in enumerate(items):
        if ba.x0 < fb.x0 - 1 or ba.y0 < fb.y0 - 1 or ba.x1 > fb.x1 + 1 or ba.y1 > fb.y1 + 1:
            pairs.append((da, "figure edge"))
        for db, _, bb in items[k + 1 :]:
            w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
            h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
            if w > pad_px and h > pad_px:
                pairs.append((da, db))
    for i, ax in enumerate(fig.axes):
        leg = ax.get_legend()
        if leg is not None:
            pairs += [("legend", f"line {n!r}") for n in _lines_through(leg, ax, renderer)]
        ab = ax.bbox
        for t in ax.texts:  # a label of a data point crossing the axes' frame
            if not (t.get_visible() and t.get_text().strip()):
                continue
            b = t.get_window_extent(renderer)
            if not _within(b, ab, _FRAME_PX):
                pairs.append((f"axes {i} text {t.get_text()!r}", "axes frame"))
    return pairs


_FRAME_PX = 1.0  # a label inside an axes keeps this far from its frame (the spine's width)


def _within(b, frame, margin: float) -> bool:
    """The box ``b`` lies inside ``frame`` at least ``margin`` pixels from its edges."""
    return (
        b.x0 >= frame.x0 + margin
        and b.y0 >= frame.y0 + margin
        and b.x1 <= frame.x1 - margin
        and b.y1 <= frame.y1 - margin
    )


def thin_annotations(fig, texts: Sequence, offsets: Sequence[tuple[float, float]]) -> int:
    """Place each annotation of ``texts`` at the first of ``offsets`` (points) where it overlaps
    nothing already placed; remove those that fit nowhere. Returns how many were removed."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    fixed = [t.get_window_extent(renderer) for _, t in _texts(fig) if t not in texts]
    placed, removed = [], 0
    for t in texts:
        ok = False
        ax = t.axes
        frame = ax.bbox if ax is not None else fig.bbox  # a point's label stays in its axes
        for off in offsets:
            t.set_position(off)
            b = t.get_window_extent(renderer)
            inside = _within(b, frame, _FRAME_PX if ax is not None else 0.0)
            if inside and not any(b.overlaps(o) for o in (*fixed, *placed)):
                placed.append(b)
                ok = True
                break
        if not ok:
            t.remove()
            removed += 1
    return removed


__all__ = [
    "VECTOR_FORMATS",
    "checking_overlaps",
    "WIDTHS_IN",
    "FigStyle",
    "figure",
    "overlapping_texts",
    "pyplot",
    "rc",
    "recording_figures",
    "save",
    "thin_annotations",
]
