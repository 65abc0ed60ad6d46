"""prism.knn, prism.metrics, prism.load and prism.to_tensorboard."""
from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _prism
from ._convert import as_matrix, as_strings, check_int, check_str, metadata_columns, resolve_seed, resolve_threads

__all__ = ["knn", "metrics", "load", "to_tensorboard"]

PathLike = Union[str, "os.PathLike[str]"]


def knn(X: Any, k: int = 15, metric: str = "euclidean", mode: str = "auto", backend: str = "auto", *,
        random_state: Optional[int] = None, verbose: bool = False,
        n_jobs: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """The k-nearest-neighbour graph of X's rows among themselves.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        float32 C-contiguous arrays are used in place; others are converted once.
    k : int, default=15
        Neighbours per point (1..1000, fewer than n_samples); a point is not its own neighbour.
    metric : {'euclidean', 'cosine'}, default='euclidean'
        L2 distance, or 1 - cosine similarity.
    mode : {'auto', 'exact', 'approx'}, default='auto'
        Exact search (FAISS on the CPU, tiled GEMM on the GPU), NN-descent, or
        auto: exact where it is the faster (few rows, or large k up to 50,000-100,000 rows), else NN-descent.
    backend : {'auto', 'cpu', 'cuda'}, default='auto'
    random_state : int or None, default=None
        Seeds the approximate method (None: 0, so that graphs are reproducible).
    verbose : bool, default=False
        Print the stage's time to stderr.
    n_jobs : int or None, default=None
        Threads: None or -1 all cores.

    Returns
    -------
    indices : ndarray of shape (n_samples, k), int32
        Row i's neighbours, nearest first.
    distances : ndarray of shape (n_samples, k), float32
        True distances (L2, not squared; or 1 - cos).

    Examples
    --------
    >>> idx, dist = prism.knn(X, k=10, metric="cosine")
    """
    x = as_matrix(X)
    seed = 0 if random_state is None else resolve_seed(random_state)
    return tuple(_prism.knn(x, check_int("k", k), check_str("metric", metric), check_str("mode", mode),
                            check_str("backend", backend), seed, bool(verbose), resolve_threads(n_jobs)))


def metrics(X: Any, Y: Any, labels: Any = None, k: int = 15, *, sample: int = 10000, classifier_k: int = 10,
            random_state: int = 0, metric: str = "euclidean", kl: bool = False, perplexity: float = 30.0,
            n_jobs: Optional[int] = None) -> Dict[str, Any]:
    """How faithful the embedding Y is to X: the numbers `prism metrics` prints.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The input vectors.
    Y : array of shape (n_samples, n_components)
        Their embedding.
    labels : array-like of shape (n_samples,), optional
        Class of each row (strings, integers, a pandas Series or Categorical):
        enables the k-NN classifier accuracy.
    k : int, default=15
        Neighbourhood size of trustworthiness and recall (--k).
    sample : int, default=10000
        Rows evaluated: a seeded sample, all rows when there are fewer (--sample).
    classifier_k : int, default=10
        k of the k-NN classifier in Y (--classifier-k).
    random_state : int, default=0
        Seed of the sample (--seed).
    metric : {'euclidean', 'cosine'}, default='euclidean'
        Distance in X (--metric).
    kl : bool, default=False
        Also compute the t-SNE KL divergence, P from X's exact kNN graph (--kl).
    perplexity : float, default=30.0
        Perplexity of P for kl (--perplexity).

    Returns
    -------
    dict with k, sample, trustworthiness (Venna & Kaski; scikit-learn's on all
    points), knn_recall (|kNN_X(i) ∩ kNN_Y(i)| / k), knn_accuracy (None
    without labels) and kl_divergence (with kl=True): `prism metrics --json`'s keys.
    """
    x = as_matrix(X, "X")
    y = as_matrix(Y, "Y")
    codes = None if labels is None else as_strings(labels, x.shape[0], "labels")
    return _prism.metrics(x, y, codes, check_int("k", k), check_int("sample", sample),
                          check_int("classifier_k", classifier_k), resolve_seed(random_state),
                          check_str("metric", metric), bool(kl), float(perplexity), resolve_threads(n_jobs))


def _frame(names, columns, label_column):
    try:
        import pandas as pd
    except ImportError:
        return {n: c for n, c in zip(names, columns)}
    data = {}
    for n, c in zip(names, columns):
        s = pd.Series(c, dtype=object)
        try:
            data[n] = pd.to_numeric(s) if len(s) and all(v != "" for v in c) else s.astype(str)
        except (ValueError, TypeError):
            data[n] = s.astype(str)
    df = pd.DataFrame(data)
    if label_column >= 0:
        df.attrs["label_column"] = names[label_column]
    return df


def load(path: PathLike, metadata: Optional[PathLike] = None, *, format: str = "auto",
         labels: Optional[PathLike] = None, label_column: Optional[str] = None,
         drop_invalid: bool = False) -> Tuple[np.ndarray, Any]:
    """Reads a data set with Prism's readers: every format the command reads.

    .npy (float32 is memory-mapped, read-only, without a copy; float64,
    float16 and integers are converted), .fvecs/.bvecs, word2vec .bin,
    GloVe/fastText/word2vec text, TensorBoard projector vectors.tsv, and
    MNIST-style IDX files or their folder (labels from the sibling file).
    Errors name the file, the line or byte offset and what was expected
    (ValueError).

    Parameters
    ----------
    path : str or path-like
        The vectors (or a folder of IDX files).
    metadata : str or path-like, optional
        A metadata file: TSV (TensorBoard's metadata.tsv), CSV with a header,
        a 1-D .npy or IDX labels.
    format : str, default='auto'
        auto (extension, then magic bytes), npy, fvecs, bvecs, word2vec, text, tsv or idx.
    labels : str or path-like, optional
        IDX labels file (default: the images file's sibling).
    label_column : str, optional
        The metadata column used as labels (default: "label", else the first).
    drop_invalid : bool, default=False
        Skip rows with NaN/Inf instead of failing.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
    metadata : pandas.DataFrame (numeric columns parsed; attrs["label_column"]
        names the label column), a dict of string columns when pandas is not
        importable, or None when there is no metadata.
    """
    out = _prism.read(os.fspath(path), "" if metadata is None else os.fspath(metadata), check_str("format", format),
                      "" if labels is None else os.fspath(labels), label_column or "", bool(drop_invalid))
    for note in out["notes"]:
        warnings.warn(note, UserWarning, stacklevel=2)
    if out["dropped_invalid"]:
        warnings.warn(f"{path}: skipped {out['dropped_invalid']} rows with NaN/Inf", UserWarning, stacklevel=2)
    meta = _frame(out["names"], out["columns"], out["label_column"]) if out["names"] else None
    return out["x"], meta


def to_tensorboard(folder: PathLike, Y: Any, metadata: Any = None, *, labels: Any = None,
                   name: str = "prism") -> str:
    """Writes a TensorBoard projector bundle, as `prism batch` does:
    tensor.tsv (Y), metadata.tsv (when there is metadata: one column without a
    header, several with one) and projector_config.pbtxt. Open it with
    ``tensorboard --logdir FOLDER`` (Projector tab). Files are written
    atomically; the folder is created. Returns the folder.

    Parameters
    ----------
    folder : str or path-like
    Y : array of shape (n_samples, n_components)
        The projection (or any vectors) to show.
    metadata : pandas DataFrame or Series, dict of columns, or 1-D array-like, optional
    labels : array-like or str, optional
        Labels (or the name of a metadata column used as labels).
    name : str, default='prism'
        The tensor's name in the projector.
    """
    y = as_matrix(Y, "Y")
    names, columns, label = metadata_columns(metadata, labels, y.shape[0])
    _prism.write_tensorboard(os.fspath(folder), y, check_str("name", name), names, columns, label)
    return os.fspath(folder)
