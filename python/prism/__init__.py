"""Prism: embedding projections on numpy arrays, on all CPU cores or an NVIDIA GPU.

Drop-in estimators with the names people already type:

- ``prism.UMAP``  umap-learn's UMAP (fit, fit_transform, transform, embedding_, graph_)
- ``prism.TSNE``  scikit-learn's TSNE (Barnes-Hut, 2D and 3D; embedding_, kl_divergence_)
- ``prism.PCA``   scikit-learn's PCA (components_, explained_variance_ratio_, transform, inverse_transform)

They are scikit-learn estimators (get_params/set_params, clone, Pipeline)
without needing scikit-learn at import. Their keyword arguments come from the
same parameter table as the `prism` command's flags. And functions:

- ``prism.knn(X, k)``               the kNN graph (indices, distances)
- ``prism.metrics(X, Y, labels)``    trustworthiness, kNN recall, kNN accuracy: `prism metrics`'s numbers
- ``prism.load(path, metadata)``     every format the command reads -> (X, metadata DataFrame)
- ``prism.render(Y, labels)``        an Image that shows inline in Jupyter, .save("fig.png")
- ``prism.view(X, projection)``      the native viewer (needs a display)
- ``prism.to_tensorboard(folder, Y, metadata)``  a TensorBoard projector bundle

Inputs: float32/float64, C or Fortran order, numpy memmaps, anything with
``__array__`` or DLPack (PyTorch CPU tensors). C-contiguous float32 is used
without a copy. The GIL is released while Prism computes; Ctrl-C raises
KeyboardInterrupt within about a second. Bad input raises ValueError with
Prism's message, runtime failures RuntimeError.

>>> import prism
>>> Y = prism.UMAP(n_neighbors=15, random_state=0).fit_transform(X)
>>> prism.metrics(X, Y, labels=y)
>>> prism.render(Y, labels=y)   # in Jupyter: the figure
"""
from __future__ import annotations

import atexit

from . import _prism
from ._estimators import PCA, TSNE, UMAP, CsrGraph
from ._functions import knn, load, metrics, to_tensorboard
from ._render import Image, Viewer, render, view

__version__: str = _prism.__version__

# An interrupted job may still be finishing its stage on a compute thread:
# let it end before the interpreter tears down.
atexit.register(_prism._shutdown)

__all__ = ["UMAP", "TSNE", "PCA", "knn", "metrics", "load", "render", "view", "to_tensorboard", "Image", "Viewer",
           "CsrGraph", "cuda_available", "cuda_device", "param_table", "__version__"]


def cuda_available() -> bool:
    """True when this Prism was built with CUDA and an NVIDIA GPU is present (backend='auto' then uses it)."""
    return bool(_prism.cuda_available())


def cuda_device() -> str:
    """The CUDA device ("NVIDIA H200 (132 SMs, 139 GiB)"), or why there is none."""
    return str(_prism.cuda_device())


def param_table() -> list:
    """The engine's parameter table (name, aliases, method, type, range,
    choices, default, help, CLI flag): where the estimators' keyword
    arguments, the command line's flags and batch-plan keys come from."""
    return [dict(r) for r in _prism.param_table()]
