"""prism.render returns an image of the requested size with the points drawn;
prism.view opens the viewer or says why it cannot; the wheel's contents."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import zlib
from importlib import metadata as importlib_metadata

import numpy as np
import pytest

import prism
from conftest import have_xvfb, prism_command

WHITE = np.array([255, 255, 255, 255], np.uint8)


def two_clusters(n=400):
    rng = np.random.default_rng(0)
    y = np.vstack([rng.normal((-5, 0), 0.3, (n // 2, 2)), rng.normal((5, 0), 0.3, (n // 2, 2))]).astype(np.float32)
    labels = np.array(["left"] * (n // 2) + ["right"] * (n // 2))
    return y, labels


def png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def decode_png(data: bytes) -> np.ndarray:
    """A minimal PNG reader (8-bit RGBA, filters 0-4), independent of Prism."""
    w, h = png_size(data)
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    out = np.zeros((h, w * 4), np.int32)
    stride = w * 4
    for r in range(h):
        f = raw[r * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, r * (stride + 1) + 1).astype(np.int32)
        prev = out[r - 1] if r else np.zeros(stride, np.int32)
        cur = np.zeros(stride, np.int32)
        for i in range(stride):
            a = cur[i - 4] if i >= 4 else 0
            b = prev[i]
            c = prev[i - 4] if i >= 4 else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[i] = (line[i] + p) & 255
        out[r] = cur
    return out.reshape(h, w, 4).astype(np.uint8)


needs_renderer = pytest.mark.skipif(not prism._prism.has_renderer, reason="built without the renderer")


@needs_renderer
def test_render_size_points_and_colours(tmp_path):
    y, labels = two_clusters()
    img = prism.render(y, labels=labels, size=(320, 200), legend=False, class_labels=False)
    assert isinstance(img, prism.Image) and img.size == (320, 200)
    a = np.asarray(img)
    assert a.shape == (200, 320, 4) and a.dtype == np.uint8
    drawn = (a != WHITE).any(axis=2)
    left, right = drawn[:, :160], drawn[:, 160:]
    assert left.sum() > 100 and right.sum() > 100, (left.sum(), right.sum())
    assert not drawn[:, 150:170].any()  # nothing between the clusters
    # the two classes get different colours
    lc = a[:, :160][left][:, :3].mean(axis=0)
    rc = a[:, 160:][right][:, :3].mean(axis=0)
    assert np.abs(lc - rc).max() > 40, (lc, rc)
    # no labels: one colour for all
    plain = np.asarray(prism.render(y, size=(320, 200), legend=False))
    pd_ = (plain != WHITE).any(axis=2)
    cols = {tuple(c) for c in plain[pd_][:, :3][::50]}
    assert len(cols) < len({tuple(c) for c in a[drawn][:, :3][::50]}) or len(cols) <= 3
    # PNG for Jupyter, and save()
    png = img._repr_png_()
    assert png_size(png) == (320, 200)
    small = prism.render(y, labels=labels, size=(64, 40))
    np.testing.assert_array_equal(decode_png(small.to_png()), np.asarray(small))
    img.save(tmp_path / "fig.png")
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_renderer
def test_render_3d_metadata_and_colour_by():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    y3 = rng.normal(size=(500, 3)).astype(np.float32)
    meta = pd.DataFrame({"kind": pd.Categorical(rng.choice(["x", "y"], 500)), "score": rng.random(500)})
    img = prism.render(y3, metadata=meta, color_by="score", size=(200, 150), title="3D")
    assert img.size == (200, 150) and (np.asarray(img) != WHITE).any(axis=2).sum() > 200
    img = prism.render(y3, color_by=rng.random(500), size=(200, 150))
    assert img.size == (200, 150)
    with pytest.raises(ValueError, match="2 or 3"):
        prism.render(rng.normal(size=(10, 4)))
    with pytest.raises(ValueError, match="not a metadata column"):
        prism.render(y3, metadata=meta, color_by="nope")
    with pytest.raises(ValueError, match="Y\\[3, 1\\] is NaN"):
        bad = y3.copy()
        bad[3, 1] = np.nan
        prism.render(bad)


def test_view_without_a_display_says_why(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(RuntimeError, match="no display: neither DISPLAY nor WAYLAND_DISPLAY is set.*prism.render"):
        prism.view(np.zeros((10, 3), np.float32))


@pytest.mark.skipif(not have_xvfb(), reason="xvfb-run is not installed (scripts/install-deps installs it)")
@needs_renderer
def test_view_opens_the_viewer_under_xvfb(tmp_path):
    script = tmp_path / "actions.txt"
    shot = tmp_path / "shot.png"
    script.write_text(f"wait 2\nscreenshot {shot}\nquit\n")
    code = textwrap.dedent(f"""
        import numpy as np, prism
        rng = np.random.default_rng(0)
        x = rng.normal(size=(300, 8)).astype(np.float32)
        y = x[:, :2] * 3
        v = prism.view(x, projection=y, labels=(x[:, 0] > 0).astype(int), script={str(script)!r}, window=(400, 300))
        print("exit", v.wait(120))
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    r = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, "-c", code],
                       capture_output=True, text=True, timeout=180, env=env)
    assert r.returncode == 0 and "exit 0" in r.stdout, (r.stdout, r.stderr)
    assert png_size(shot.read_bytes())[0] > 0


def test_the_wheel_carries_no_system_library():
    files = [str(f) for f in importlib_metadata.files("prism")]
    libraries = [f for f in files if ".so" in os.path.basename(f)]
    assert len(libraries) == 1 and os.path.basename(libraries[0]).startswith("_prism."), libraries
    assert any(f.endswith("/prism") or f.endswith("bin/prism") for f in files), "the prism command"
    ext = prism._prism.__file__
    needed = subprocess.run(["ldd", ext], capture_output=True, text=True).stdout
    assert "not found" not in needed, needed
    site = os.path.dirname(os.path.dirname(ext))
    for line in needed.splitlines():
        if "=>" in line:
            path = line.split("=>")[1].split("(")[0].strip()
            assert not path.startswith(site), f"{path} comes from the wheel"
    assert subprocess.run([prism_command(), "--version"], capture_output=True).returncode == 0
