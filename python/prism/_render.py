"""prism.render (offscreen figures that show inline in Jupyter) and prism.view
(the native viewer, `prism view`, in its own process)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import _prism
from ._convert import as_matrix, metadata_columns

__all__ = ["Image", "render", "view", "Viewer"]


class Image:
    """An RGBA image: ``pixels`` is a (height, width, 4) uint8 array (row 0 at
    the top). Shows inline in Jupyter (PNG), converts with ``np.asarray(img)``
    and writes with ``save(path)``."""

    def __init__(self, pixels: np.ndarray):
        pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
        if pixels.ndim != 3 or pixels.shape[2] != 4:
            raise ValueError(f"pixels must have shape (height, width, 4), got {pixels.shape}")
        self.pixels = pixels

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def size(self) -> Tuple[int, int]:
        """(width, height), as PIL and prism.render's size spell it."""
        return self.width, self.height

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray:
        a = self.pixels
        if dtype is not None and np.dtype(dtype) != a.dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def to_png(self) -> bytes:
        """The image as PNG bytes."""
        return _prism.encode_png(self.pixels)

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes a PNG (atomically: a temporary file in the same folder, then renamed)."""
        _prism.save_png(os.fspath(path), self.pixels)

    def __repr__(self) -> str:
        return f"<prism.Image {self.width}x{self.height}>"


_COLORS = {"white": (255, 255, 255, 255), "black": (0, 0, 0, 255), "transparent": (0, 0, 0, 0)}


def _check_size(size: Any) -> Tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
    except Exception:
        raise ValueError(f"size must be (width, height) in pixels, got {size!r}") from None
    return w, h


def render(Y: Any, labels: Any = None, color_by: Any = None, size: Tuple[int, int] = (1280, 800), *,
           metadata: Any = None, title: str = "", view: str = "auto", azimuth: float = 30.0,
           elevation: float = 20.0, zoom: float = 1.0, point_size: float = 0.0, alpha: float = 0.0,
           legend: bool = True, class_labels: bool = True,
           background: Union[str, Sequence[int]] = "white", rasterizer: str = "sprites") -> Image:
    """Draws a projection as `prism render` does (offscreen, Vulkan) and returns the Image.

    Parameters
    ----------
    Y : array of shape (n_samples, 2) or (n_samples, 3)
        The projection (3 columns: a 3D view from azimuth/elevation).
    labels : array-like of shape (n_samples,) or str, optional
        Classes (strings, integers, pandas Series/Categorical) that colour the
        points, with a legend and class names at their centroids; or the name
        of a metadata column.
    color_by : str or array-like, optional
        A metadata column, or one value per point, that colours the points
        instead: categorical values get a palette, numbers a colour bar.
    size : (int, int), default=(1280, 800)
        (width, height) in pixels.
    metadata : pandas DataFrame, dict of columns or 1-D array-like, optional
    title : str, default=''
    view : {'auto', '2d', '3d'}, default='auto'
        2d on 3 columns looks down the z axis.
    azimuth, elevation : float, default=30, 20
        Degrees (3D only).
    zoom : float, default=1.0
        > 1 magnifies about the data's centre.
    point_size : float, default=0
        Pixels; 0 picks one from the point count and the size.
    alpha : float, default=0
        Opacity; 0 picks one from the point count.
    legend, class_labels : bool, default=True
    background : 'white', 'black', 'transparent' or (r, g, b, a), default='white'
    rasterizer : {'sprites', 'compute'}, default='sprites'
        compute: the 64-bit atomic path, faster for millions of points.

    Returns
    -------
    Image
        ``size`` pixels; ``np.asarray(img)`` is (height, width, 4) uint8.

    Raises RuntimeError when no Vulkan device is present (Mesa's lavapipe,
    package mesa-vulkan-drivers, renders on the CPU).
    """
    if not _prism.has_renderer:
        raise RuntimeError("this prism was built without the renderer (PRISM_WITH_VIEWER=OFF)")
    y = as_matrix(Y, "Y")
    n = y.shape[0]
    names, columns, label = metadata_columns(metadata, labels, n)
    column = ""
    if isinstance(color_by, str):
        column = color_by
        if column not in names:
            raise ValueError(f"color_by={column!r} is not a metadata column (columns: {', '.join(names) or 'none'})")
    elif color_by is not None:
        from ._convert import as_strings

        names.append("color_by" if "color_by" not in names else "color_by_values")
        columns.append(as_strings(color_by, n, "color_by"))
        column = names[-1]
        if label < 0:
            label = len(names) - 1
    bg = _COLORS.get(background) if isinstance(background, str) else tuple(int(c) for c in background)
    if bg is None or len(bg) not in (3, 4):
        raise ValueError(f"background must be 'white', 'black', 'transparent' or (r, g, b[, a]), got {background!r}")
    if len(bg) == 3:
        bg = (*bg, 255)
    w, h = _check_size(size)
    pixels = _prism.render(y, names, columns, label, w, h, view, float(azimuth), float(elevation), float(zoom),
                           float(point_size), float(alpha), column, bool(legend), bool(class_labels), str(title),
                           list(bg), rasterizer)
    return Image(pixels)


# ---- the viewer ----------------------------------------------------------------------

def _command() -> str:
    """The `prism` command installed with this package (or the first on PATH)."""
    here = os.path.join(sysconfig.get_path("scripts"), "prism")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("prism")
    if found:
        return found
    raise RuntimeError("prism.view runs the `prism` command, which was not found: it is installed with the "
                       "package (pip install .), or put the one from scripts/build (build/prism) on PATH")


def _display_problem() -> Optional[str]:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ("there is no display: neither DISPLAY nor WAYLAND_DISPLAY is set (a headless machine or an SSH "
                "session without -X). Draw a PNG with prism.render(...) instead, or run under a virtual display "
                "(xvfb-run -a python ...)")
    return None


def _write_tsv(path: str, names, columns) -> None:
    clean = lambda s: s.replace("\t", " ").replace("\n", " ").replace("\r", " ")  # noqa: E731
    with open(path, "w", encoding="utf-8") as f:
        f.write("\t".join(clean(n) for n in names) + "\n")
        for row in zip(*columns):
            f.write("\t".join(clean(v) for v in row) + "\n")


class Viewer:
    """The viewer's process; ``wait()`` blocks until its window is closed."""

    def __init__(self, process: subprocess.Popen, folder: str):
        self.process = process
        self._folder = folder
        threading.Thread(target=self._cleanup, daemon=True).start()

    def _cleanup(self) -> None:
        self.process.wait()
        shutil.rmtree(self._folder, ignore_errors=True)

    def wait(self, timeout: Optional[float] = None) -> int:
        """Waits for the window to close; returns the exit code (0: closed normally)."""
        return self.process.wait(timeout)

    def close(self) -> None:
        """Closes the window."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait()

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def view(X: Any, projection: Any = None, metadata: Any = None, *, labels: Any = None, method: str = "umap",
         color_by: Optional[str] = None, window: Tuple[int, int] = (1280, 800), wait: bool = False,
         script: Optional[Union[str, "os.PathLike[str]"]] = None) -> Viewer:
    """Opens the native viewer (`prism view`) on X: rotate, zoom, search,
    select, colour by a column, look up nearest neighbours in X's space.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The vectors.
    projection : array of shape (n_samples, 2 or 3), optional
        A projection to show; without one the viewer runs `method` live.
    metadata : pandas DataFrame, dict of columns or 1-D array-like, optional
    labels : array-like or str, optional
        Classes (or a metadata column's name) for colours and names.
    method : {'umap', 'tsne', 'pca'}, default='umap'
        The reduction the viewer runs when there is no projection (its Run button).
    color_by : str, optional
        The metadata column that colours the points.
    window : (int, int), default=(1280, 800)
    wait : bool, default=False
        Block until the window is closed.
    script : path, optional
        Replay viewer actions from a file, then exit (see `prism view --help`).

    Returns
    -------
    Viewer
        The running viewer (its own process: the interpreter stays free).

    Raises RuntimeError, saying why, when there is no display.
    """
    problem = _display_problem()
    if problem:
        raise RuntimeError(f"prism.view cannot open a window: {problem}")
    x = as_matrix(X, "X")
    n = x.shape[0]
    folder = tempfile.mkdtemp(prefix="prism-view-")
    try:
        args = [_command(), "view", os.path.join(folder, "x.npy"), "--method", method,
                "--window", f"{int(window[0])}x{int(window[1])}"]
        np.save(args[2], x)
        if projection is not None:
            y = as_matrix(projection, "projection")
            if y.shape[0] != n or y.shape[1] not in (2, 3):
                raise ValueError(f"projection must have shape ({n}, 2) or ({n}, 3), got {y.shape}")
            np.save(os.path.join(folder, "projection.npy"), y)
            args += ["--projection", os.path.join(folder, "projection.npy")]
        names, columns, label = metadata_columns(metadata, labels, n)
        if names:
            if label > 0:  # the label column first: the reader takes "label", else the first
                names.insert(0, names.pop(label))
                columns.insert(0, columns.pop(label))
            _write_tsv(os.path.join(folder, "metadata.tsv"), names, columns)
            args += ["--metadata", os.path.join(folder, "metadata.tsv"), "--label-column", names[0]]
        if color_by:
            args += ["--color-by", color_by]
        if script is not None:
            args += ["--script", os.fspath(script)]
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    viewer = Viewer(process, folder)
    if wait:
        viewer.wait()
    return viewer
