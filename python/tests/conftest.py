"""Shared data for the Python tests: a fixed Fashion-MNIST subset (read here
with gzip + numpy, independently of Prism's readers) and small synthetic sets."""
from __future__ import annotations

import gzip
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

FMNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: pathlib.Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    if magic == 0x803:
        n, r, c = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, r * c)
    assert magic == 0x801, hex(magic)
    return np.frombuffer(data, np.uint8, offset=8)


@pytest.fixture(scope="session")
def fmnist_all():
    if not FMNIST.is_dir():
        pytest.fail(f"{FMNIST} is missing: scripts/install-deps installs dataset-fashion-mnist")
    x = read_idx(FMNIST / "train-images-idx3-ubyte.gz")
    y = read_idx(FMNIST / "train-labels-idx1-ubyte.gz")
    return x, y


@pytest.fixture(scope="session")
def fmnist(fmnist_all):
    """5,000 training images (float32, raw 0..255 as Prism reads IDX) and their labels, a fixed sample."""
    x, y = fmnist_all
    rows = np.sort(np.random.default_rng(14).choice(len(x), 5000, replace=False))
    return x[rows].astype(np.float32), y[rows].astype(np.int64)


def blobs(n: int = 600, d: int = 16, k: int = 3, seed: int = 0, spread: float = 8.0):
    """k well-separated Gaussian clusters: (X float32, labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=spread, size=(k, d))
    labels = rng.integers(0, k, size=n)
    x = centres[labels] + rng.normal(size=(n, d))
    return x.astype(np.float32), labels


@pytest.fixture
def small():
    return blobs()


def prism_command() -> str:
    """The `prism` command the wheel installed beside this interpreter (or $PRISM_BINARY)."""
    exe = os.environ.get("PRISM_BINARY") or os.path.join(sysconfig.get_path("scripts"), "prism")
    if not os.access(exe, os.X_OK):
        pytest.fail(f"the prism command is not installed at {exe} (the wheel installs it)")
    return exe


def run_python(code: str, timeout: float = 120, env=None, **kw) -> subprocess.CompletedProcess:
    """Runs code in a fresh interpreter (the one running the tests)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          env=env, **kw)


def have_xvfb() -> bool:
    return shutil.which("xvfb-run") is not None
