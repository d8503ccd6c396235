"""Training as a film: the latent flow and the loss cursor, one frame per snapshot.

The picture is the report's slider picture: on the left the latent flow (rank one:
``f(kappa) = -kappa + n . tanh(m kappa + b)`` with its fixed points (filled: stable, open:
unstable) and ghosts (diamonds), and the trial's latent trajectory as dots on the flow;
rank K >= 2: the phase portrait of
:func:`~ghostlearn.analysis.plotting.plot_phase_portrait`, one plane, window and colour
scale for every frame, K > 2 projected on the two leading directions); on the right the
loss and the gradient norm over training with a cursor at the frame's epoch and the
analysis' events (abrupt drop shaded, bifurcation dashed, ghost emergence dotted). Drawn
with matplotlib's Agg canvas, each frame once by blitting (what stays the same is rendered
a single time), and written by Pillow (GIF) and, when ``ffmpeg`` is on PATH, ``ffmpeg``
(MP4, H.264).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import _validate
from ..plotting import OKABE_ITO
from ..store import atomic_path
from .frames import (
    PlaneFrames,
    SnapshotFrames,
    has_latent_snapshots,
    model_settings,
    plane_frames,
    snapshot_frames,
)
from .payload import PORTRAIT_CMAP, analysis_events, event_epochs, format_epoch, metric_values
from .sources import analyze_networks

__all__ = ["Animation", "animate"]

_BLUE, _ORANGE, _GREEN, _VERM, _PURPLE = (
    OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple")
)


@dataclasses.dataclass(frozen=True)
class Animation:
    """What :func:`animate` wrote.

    Attributes:
        gif: the GIF.
        mp4: the MP4, or None (no ``ffmpeg`` on PATH, or not asked for).
        n_frames: frames (one per snapshot shown).
        epochs: ``[n_frames]`` the snapshot epoch of each frame.
    """

    gif: Path
    mp4: Path | None
    n_frames: int
    epochs: np.ndarray


def _write_gif(frames: list[np.ndarray], final: Path, fps: float) -> None:
    """The RGBA frames as a looping GIF (Pillow), written atomically."""
    from PIL import Image

    # Each frame gets its own palette (fast octree quantisation: a tenth of the time of
    # Pillow's default median cut, with no visible difference on these pictures).
    images = [
        Image.fromarray(f[..., :3]).quantize(256, method=Image.Quantize.FASTOCTREE) for f in frames
    ]
    with atomic_path(final) as tmp:
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=round(1000 / fps),
            loop=0,
        )


def _write_mp4(frames: list[np.ndarray], final: Path, fps: float, ffmpeg: str) -> None:
    """The RGBA frames piped to ``ffmpeg`` as H.264 (yuv420p, padded to even pixels),
    written atomically."""
    h, w = frames[0].shape[:2]
    with atomic_path(final) as tmp:
        named = tmp.with_name(tmp.name + final.suffix)  # the suffix tells ffmpeg the format
        command = [
            ffmpeg, "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-",
            "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "h264", "-pix_fmt", "yuv420p",
            str(named),
        ]  # fmt: skip
        try:
            with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
                assert proc.stdin is not None
                try:
                    for f in frames:
                        proc.stdin.write(np.ascontiguousarray(f).tobytes())
                except BrokenPipeError:  # ffmpeg stopped early: its message says why
                    pass
                _, err = proc.communicate()
            if proc.returncode:
                raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {err.decode().strip()}")
            os.replace(named, tmp)
        finally:
            if named.exists():
                named.unlink()


def _film_frames(
    ds: xr.Dataset,
    net: int,
    *,
    max_frames: int,
    n_kappa: int,
    analysis: dict[str, Any] | None,
) -> tuple[PlaneFrames | SnapshotFrames, list[dict[str, Any]]]:
    """``(frames, events)`` of network ``net``: the analysis given, else computed
    (:func:`~ghostlearn.report.sources.analyze_networks`), and the frames at about
    ``max_frames`` snapshots (those at the events kept)."""
    model = model_settings(ds)
    planar = model["model"] == "lowrank" and int(model["rank"]) >= 2 and "snap_M" in ds.variables
    found = None
    if analysis is None and has_latent_snapshots(ds) and 0 <= net < ds.sizes["net"]:
        done = analyze_networks(ds, [net])
        found, analysis = done.computed.get(net), done.dicts.get(net)
    events = analysis_events(analysis)
    reuse = {
        "points": None if found is None else found.points,
        "point_epochs": None if found is None else found.snapshot_epochs,
    }
    frames: PlaneFrames | SnapshotFrames
    if planar:
        frames = plane_frames(
            ds, net, max_snapshots=max_frames, keep_epochs=event_epochs(events), **reuse
        )
    else:
        frames = snapshot_frames(
            ds, net, max_snapshots=max_frames, n_kappa=n_kappa, keep_epochs=event_epochs(events)
        )
    if frames.epochs.size == 0:
        raise ValueError(f"network {net} has no finite snapshot to draw")
    return frames, events


def _title(ds: xr.Dataset, net: int) -> str:
    """``"network 3 (seed 3, lr 0.02, c 10)"``: what the run records of the network."""
    coord = {k: ds[k].values[net].item() for k in ("seed", "lr", "c") if k in ds.coords}
    # A coordinate that does not apply to this model (c of a matrix model) is NaN: left out.
    coord = {k: v for k, v in coord.items() if not (isinstance(v, float) and not np.isfinite(v))}
    who = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in coord.items())
    return f"network {net} ({who})" if who else f"network {net}"


def _curve_panels(
    ds: xr.Dataset, net: int, ax_l: Any, ax_g: Any, events: list[dict[str, Any]]
) -> list[Any]:
    """Loss and gradient norm over training with the events and a legend; returns the
    cursors (one vertical line per panel drawn)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    epochs = np.asarray(ds["epoch"].values, dtype=np.float64)
    cursors = []
    for ax, name, label, color in (
        (ax_l, "loss", "loss", _BLUE),
        (ax_g, "grad_norm", "gradient norm", _VERM),
    ):
        ax.set_ylabel(label)
        y = metric_values(ds, name, net)
        if y is None:
            continue
        ok = np.isfinite(y) & (y > 0)
        ax.plot(epochs[ok], y[ok], color=color, lw=1.1)
        if ok.any():
            ax.set_yscale("log")
        for ev in events:
            if ev["type"] == "drop":
                ax.axvspan(ev["start"], ev["end"], color=_VERM, alpha=0.2, lw=0)
            else:
                bif = ev["type"] == "bifurcation"
                ax.axvline(
                    ev["epoch"], color=_PURPLE if bif else _GREEN, lw=1.6, ls="--" if bif else ":"
                )
        cursors.append(ax.axvline(epochs[0], color="black", lw=1.3))
    ax_g.set_xlabel("epoch")
    # Epochs as whole numbers with thousands separators, never as an offset like "1e5".
    ax_g.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_epoch(v)))
    kinds = {e["type"] for e in events}
    handles: list[Any] = []
    if "drop" in kinds:
        handles.append(Patch(color=_VERM, alpha=0.2, label="abrupt drop"))
    if "bifurcation" in kinds:
        handles.append(Line2D([], [], color=_PURPLE, ls="--", label="bifurcation"))
    if "ghost" in kinds:
        handles.append(Line2D([], [], color=_GREEN, ls=":", label="ghost emerged"))
    handles.append(Line2D([], [], color="black", label="frame's epoch"))
    ax_l.legend(handles=handles, fontsize=7.5, loc="lower left")
    return cursors


def _render(
    fig: Any,
    draw: Callable[[int], list[Any]],
    n: int,
    progress: Callable[[int, int], None] | None,
) -> list[np.ndarray]:
    """The ``n`` frames as RGBA arrays, each drawn once by blitting.

    The figure is laid out on the first frame and frozen; what ``draw`` returns (the
    artists that change) is marked animated, the rest is rendered once as the background,
    and each frame restores the background and draws only its own artists.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas: Any = FigureCanvasAgg(fig)  # backend_agg has no type hints
    moving = draw(0)
    canvas.draw()
    fig.set_layout_engine("none")
    for a in moving:
        a.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    film = []
    if progress is not None:
        progress(0, n)
    for s in range(n):
        canvas.restore_region(background)
        for a in draw(s):
            fig.draw_artist(a)
        film.append(np.asarray(canvas.buffer_rgba()).copy())
        if progress is not None:
            progress(s + 1, n)
    return film


def animate(
    ds: xr.Dataset,
    net: int,
    out_path: str | os.PathLike[str],
    *,
    max_frames: int = 120,
    fps: float = 10.0,
    mp4: bool | None = None,
    analysis: dict[str, Any] | None = None,
    n_kappa: int = 200,
    dpi: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> Animation:
    """Write a GIF (and an MP4) of one network's latent flow over training.

    Args:
        ds: a training Dataset with snapshots: rank one (``snap_m``, ``snap_n``,
            ``snap_b``) or rank K >= 2 (``snap_M``, ``snap_Nmat``, ``snap_b``).
        net: position of the network along ``net``.
        out_path: the GIF to write (suffix ``.gif``); the MP4 goes beside it (``.mp4``).
        max_frames: at most about this many frames: snapshots evenly spaced (plus those
            at the events).
        fps: frames per second.
        mp4: also write an MP4: True (requires ``ffmpeg``), False, or None (when
            ``ffmpeg`` is on PATH).
        analysis: the network's ``RunAnalysis.to_dict()`` for the event markers (computed
            with :func:`ghostlearn.analysis.run.analyze_dataset` when None).
        n_kappa: points of kappa on which the flow is drawn (rank K: grid points per
            axis of the portrait, at most 60).
        dpi: resolution of the frames (the figure is 10 x 4.4 inches).
        progress: called as ``progress(done, total)`` in frames drawn: ``(0, total)``
            once the frames are computed, then per frame (the GIF and MP4 are written
            after the last).

    Returns:
        :class:`Animation`.

    Raises:
        ValueError: for a dataset without rank-one or rank-K snapshots, a bad ``net``,
            suffix or setting, or ``mp4=True`` without ``ffmpeg``.
    """
    from matplotlib.figure import Figure

    out = Path(out_path)
    if out.suffix.lower() != ".gif":
        raise ValueError(f"out_path must end in .gif, got {str(out)!r}")
    _validate.at_least("max_frames", max_frames, 2)
    _validate.positive("fps", fps)
    _validate.at_least("dpi", dpi, 10)
    ffmpeg = shutil.which("ffmpeg")
    if mp4 is True and ffmpeg is None:
        raise ValueError("mp4=True needs ffmpeg on PATH, and none was found")
    if isinstance(net, bool) or not isinstance(net, (int, np.integer)):
        raise ValueError(f"net must be an integer position, got {net!r}")
    net = int(net)
    frames, events = _film_frames(
        ds, net, max_frames=max_frames, n_kappa=n_kappa, analysis=analysis
    )

    fig = Figure(figsize=(10, 4.4), dpi=dpi, layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(1.1, 1))
    ax_f = fig.add_subplot(grid[:, 0])
    ax_l = fig.add_subplot(grid[0, 1])
    ax_g = fig.add_subplot(grid[1, 1], sharex=ax_l)
    fig.suptitle(_title(ds, net), fontsize=11)
    if isinstance(frames, PlaneFrames):
        draw_flow = _plane_drawer(fig, ax_f, frames, min(int(n_kappa), 60))
    else:
        draw_flow = _line_drawer(ax_f, frames, model_settings(ds))
    cursors = _curve_panels(ds, net, ax_l, ax_g, events)

    def draw(s: int) -> list[Any]:
        artists = draw_flow(s)
        for c in cursors:
            c.set_xdata([frames.epochs[s], frames.epochs[s]])
        return [*artists, *cursors]

    n = int(frames.epochs.size)
    want_mp4 = bool(ffmpeg) if mp4 is None else bool(mp4)
    film = _render(fig, draw, n, progress)
    _write_gif(film, out, fps)
    mp4_path = None
    if want_mp4:
        assert ffmpeg is not None
        mp4_path = out.with_suffix(".mp4")
        _write_mp4(film, mp4_path, fps, ffmpeg)
    return Animation(gif=out, mp4=mp4_path, n_frames=n, epochs=frames.epochs)


def _plane_drawer(fig: Any, ax: Any, pf: Any, n_grid: int) -> Callable[[int], list[Any]]:
    """Per frame: the phase portrait (one plane, window and colour scale), a fixed legend
    of every class of point that appears in the film, and one colour bar."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm

    from ..analysis.plotting import plot_phase_portrait, portrait_legend

    classes = sorted(set(pf.points.stability.ravel().tolist()) - {""})
    handles = portrait_legend(
        classes, trajectory=pf.trajectory is not None, boundary=pf.readout is not None,
        projected=pf.plane.projected,
    )  # fmt: skip
    label = "speed |F| on the plane" if pf.plane.projected else "speed |F|"
    fig.colorbar(ScalarMappable(norm=LogNorm(*pf.speed_range), cmap=PORTRAIT_CMAP), ax=ax,
                 label=label, pad=0.01)  # fmt: skip
    what = (
        f"\n(K = {pf.plane.rank}, projected on the two leading directions)"
        if pf.plane.projected
        else ""
    )

    shown: list[Any] = []  # the artists of the frame on screen

    def draw(s: int) -> list[Any]:
        # The window is the same in every frame: only the portrait's own artists are
        # replaced; the axes, ticks and labels stay (drawn once, in the background).
        for artist in shown:
            artist.remove()
        before = set(ax.get_children())
        plot_phase_portrait(
            pf.flow[s],
            points=pf.points.take([s]),
            trajectories=None if pf.trajectory is None else pf.trajectory[s][None],
            readout=pf.readout_at(s),
            plane=pf.plane,
            limits=pf.limits,
            n_grid=n_grid,
            streamlines=False,
            arrows=True,
            speed_range=pf.speed_range,
            colorbar=False,
            legend=False,
            title=f"phase portrait at epoch {format_epoch(pf.epochs[s])}{what}",
            ax=ax,
        )
        shown[:] = sorted(
            (a for a in ax.get_children() if a not in before), key=lambda a: a.get_zorder()
        )
        # Drawn over the portrait: the frame of the axes, the legend and the title.
        return [*shown, *ax.spines.values(), *([legend] if legend else []), ax.title]

    legend = (
        ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.85)
        if handles
        else None
    )
    return draw


def _line_drawer(ax_f: Any, fr: Any, model: dict[str, Any]) -> Callable[[int], list[Any]]:
    """Per frame: the rank-one flow, its points and the trial on it."""
    fmin, fmax = float(np.min(fr.flow)), float(np.max(fr.flow))
    padf = 0.05 * (fmax - fmin or 1.0)
    ax_f.set_xlim(fr.kappa[0], fr.kappa[-1])
    ax_f.set_ylim(fmin - padf, fmax + padf)
    ax_f.axhline(0, color="#444", lw=0.8)
    thr = float(model["kappa_thr"])
    ax_f.axvline(thr, color="#777", ls="--", lw=1, label=r"threshold $\kappa_{thr}$")
    ax_f.set_xlabel(r"latent variable $\kappa = n\cdot x$")
    ax_f.set_ylabel(r"$f(\kappa) = \tau\, d\kappa/dt$")
    (flow_line,) = ax_f.plot([], [], color=_BLUE, lw=2.2, label=r"flow $f(\kappa)$")
    traj = ax_f.scatter([], [], s=12, color=_VERM, zorder=3, label=r"trial $\kappa(t)$")
    stable = ax_f.scatter([], [], s=55, color="black", zorder=4, label="stable fixed point")
    unstable = ax_f.scatter(
        [], [], s=55, facecolor="white", edgecolor="black", lw=1.5, zorder=4, label="unstable"
    )
    half = ax_f.scatter([], [], s=55, facecolor="#999", edgecolor="black", zorder=4)
    ghost = ax_f.scatter(
        [], [], s=80, marker="D", facecolor=_ORANGE, edgecolor="black", zorder=5, label="ghost"
    )
    ax_f.legend(loc="lower left", fontsize=7.5, framealpha=0.9)
    title = ax_f.set_title("", fontsize=10)

    def interp(s: int, k: np.ndarray) -> np.ndarray:
        return np.interp(k, fr.kappa, fr.flow[s])

    def draw(s: int) -> list[Any]:
        flow_line.set_data(fr.kappa, fr.flow[s])
        k = fr.trajectory[s]
        k = k[(k >= fr.kappa[0]) & (k <= fr.kappa[-1])]
        traj.set_offsets(np.column_stack([k, interp(s, k)]) if k.size else np.zeros((0, 2)))
        codes = fr.fixed_stability[s]
        for art, code in ((stable, 1), (unstable, 2), (half, 3)):
            pts = fr.fixed_kappa[s][codes == code]
            art.set_offsets(
                np.column_stack([pts, np.zeros_like(pts)]) if pts.size else np.zeros((0, 2))
            )
        g = fr.ghost_kappa[s][np.isfinite(fr.ghost_kappa[s])]
        ghost.set_offsets(np.column_stack([g, interp(s, g)]) if g.size else np.zeros((0, 2)))
        title.set_text(f"latent flow at epoch {format_epoch(fr.epochs[s])}")
        return [flow_line, traj, stable, unstable, half, ghost, title]

    return draw
