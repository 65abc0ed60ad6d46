"""prism.UMAP, prism.TSNE and prism.PCA: umap-learn's and scikit-learn's
estimators on Prism's engine (CPU cores or CUDA), parameters from the table."""
from __future__ import annotations

import warnings
from typing import Any, List, NamedTuple, Optional, Tuple

import numpy as np

from . import _prism
from ._base import Estimator, Structural, build_estimator
from ._convert import as_matrix, check_int, check_str, resolve_seed, resolve_threads

__all__ = ["UMAP", "TSNE", "PCA", "CsrGraph"]

_BACKEND = Structural("auto", "str",
                      "Where the work runs: 'cpu' (all cores), 'cuda' (an NVIDIA GPU; ValueError when there is "
                      "none) or 'auto' (CUDA when Prism was built with it and a device is present). The one "
                      "chosen is in run_info_['backend']. Command line: --backend")
_VERBOSE = Structural(False, "bool", "Print each stage's time (and the optimiser's progress every few seconds) "
                                     "to stderr. Command line: -v")


def _seed_doc(extra: str = "") -> Structural:
    return Structural(None, "Optional[int]",
                      "Seed (an int, a numpy RandomState/Generator, or None for a fresh one per fit, kept in "
                      "run_info_['seed']). A seeded CPU run is reproducible at a fixed thread count." + extra +
                      " Command line: --seed")


def _threads_doc(default: Any, peer: str) -> Structural:
    return Structural(default, "Optional[int]",
                      f"Threads of Prism's parallel loops (OpenMP): None or -1 all cores, k > 0 that many, -2 all "
                      f"but one ({peer}). Environment: OMP_NUM_THREADS")


def _warn(messages: List[str]) -> None:
    for m in messages:
        warnings.warn(m, UserWarning, stacklevel=3)


class _Transformer(Estimator):
    _prefix = ""

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output column names for scikit-learn's set_output/ColumnTransformer ("umap0", "umap1", ...)."""
        n = getattr(self, "n_components_", None) or self.n_components
        return np.asarray([f"{self._prefix}{i}" for i in range(n)], dtype=object)


class CsrGraph(NamedTuple):
    """UMAP's fuzzy graph in CSR form, when scipy is not importable."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: Tuple[int, int]


def _csr(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n: int) -> Any:
    try:
        import scipy.sparse as sp
    except ImportError:
        return CsrGraph(data, indices, indptr, (n, n))
    return sp.csr_matrix((data, indices, indptr), shape=(n, n))


# ---- UMAP ------------------------------------------------------------------------------

@build_estimator
class UMAP(_Transformer):
    _method = "umap"
    _prefix = "umap"
    _peer = "umap-learn"
    _structural = {
        "n_components": Structural(2, "int", "Dimensions of the embedding (2 or 3 to look at it; any >= 1 works). "
                                             "Command line: --dims"),
        "random_state": _seed_doc(" Unlike umap-learn's, a seed does not make the optimiser single-threaded."),
        "n_jobs": _threads_doc(-1, "umap-learn's spelling"),
        "verbose": _VERBOSE,
        "backend": _BACKEND,
    }
    # umap-learn's positional order
    _positional = ("n_neighbors", "n_components", "metric")
    _head = ("n_epochs", "learning_rate", "init", "min_dist", "spread", "set_op_mix_ratio", "local_connectivity",
             "repulsion_strength", "negative_sample_rate", "random_state", "n_jobs", "verbose")
    _tail = ("backend",)
    _none_auto = frozenset({"n_epochs"})
    _foreign = {
        "metric_kwds": ((None,), "Prism's metrics, euclidean and cosine, take no parameters"),
        "output_metric": (("euclidean",), "Prism embeds into euclidean space"),
        "output_metric_kwds": ((None,), "Prism embeds into euclidean space"),
        "low_memory": ((True, False), "a hint for pynndescent; Prism's kNN graph has its own memory plan"),
        "transform_queue_size": ((4.0,), "pynndescent's search queue; Prism's transform searches exactly"),
        "a": ((None,), "the curve is fitted to min_dist and spread"),
        "b": ((None,), "the curve is fitted to min_dist and spread"),
        "angular_rp_forest": ((False,), "pynndescent's trees"),
        "target_n_neighbors": ((-1,), "Prism's UMAP is unsupervised"),
        "target_metric": (("categorical",), "Prism's UMAP is unsupervised"),
        "target_metric_kwds": ((None,), "Prism's UMAP is unsupervised"),
        "target_weight": ((0.5,), "Prism's UMAP is unsupervised"),
        "transform_seed": ((42,), "transform is seeded by random_state"),
        "transform_mode": (("embedding",), "transform embeds the new points"),
        "force_approximation_algorithm": ((False,), "use knn='approx'"),
        "tqdm_kwds": ((None,), "progress is shown with verbose=True"),
        "unique": ((False,), "duplicates are embedded as they are"),
        "densmap": ((False,), "no densMAP"),
        "dens_lambda": ((2.0,), "no densMAP"),
        "dens_frac": ((0.3,), "no densMAP"),
        "dens_var_shift": ((0.1,), "no densMAP"),
        "output_dens": ((False,), "no densMAP"),
        "disconnection_distance": ((None,), "every kNN edge is kept"),
        "precomputed_knn": (((None, None, None),), "Prism builds the kNN graph itself (prism.knn)"),
    }
    _intro = """
    UMAP (McInnes, Healy & Melville 2018) as umap-learn computes it, on all CPU
    cores or an NVIDIA GPU: umap-learn's names and defaults, so that code
    written for ``umap.UMAP`` changes only its import.

    The kNN graph is exact on small inputs and NN-descent on large ones
    (``knn``); the fuzzy simplicial set, the a/b curve, the spectral start and
    the epochs-per-sample SGD follow umap-learn 0.5. ``fit`` releases the GIL;
    Ctrl-C stops it within about a second (KeyboardInterrupt) and leaves the
    estimator unfitted.
    """
    _attributes = """
    embedding_ : ndarray of shape (n_samples, n_components), float32
        The embedding of the training data.
    graph_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        The fuzzy simplicial set (umap-learn's graph_); a CsrGraph named tuple
        when scipy is not importable.
    n_features_in_ : int
        Columns of the training data.
    run_info_ : dict
        What ran: backend, init (after a fallback), knn_k, knn_exact, n_epochs,
        learning_rate, seed, stage times in seconds, warnings.
    """
    _examples = """
    >>> import numpy as np, prism
    >>> X = np.random.default_rng(0).normal(size=(1000, 32)).astype(np.float32)
    >>> reducer = prism.UMAP(n_neighbors=15, min_dist=0.1, random_state=42)
    >>> Y = reducer.fit_transform(X)          # (1000, 2) float32
    >>> Y_new = reducer.transform(X[:10] + 0.01)
    """

    def fit(self, X: Any, y: Any = None) -> "UMAP":
        """Fits UMAP to X (n_samples x n_features, float32 used in place; other
        dtypes converted once). y is not used (Prism's UMAP is unsupervised)."""
        self._clear_fit()
        self._raw_data = None
        if y is not None:
            warnings.warn("prism.UMAP is unsupervised: y is not used (umap-learn would run supervised UMAP)",
                          UserWarning, stacklevel=2)
        x = as_matrix(X)
        dims = check_int("n_components", self.n_components)
        seed = resolve_seed(self.random_state)
        out = _prism.umap_fit(x, dims, seed, check_str("backend", self.backend), self._table_params(),
                              bool(self.verbose), resolve_threads(self.n_jobs))
        info = out["info"]
        _warn(info["warnings"])
        self.embedding_ = out["embedding"]
        self.graph_ = _csr(out["graph_indptr"], out["graph_indices"], out["graph_data"], x.shape[0])
        self.n_features_in_ = x.shape[1]
        self.run_info_ = info
        self._raw_data = x
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fits UMAP to X and returns the embedding (embedding_)."""
        return self.fit(X, y).embedding_

    def transform(self, X: Any) -> np.ndarray:
        """Embeds new points into the fitted embedding (umap-learn's transform):
        their kNN among the training points, memberships, a start at their
        neighbours' weighted mean, then SGD with the training points fixed.
        The training data itself returns embedding_."""
        self._check_fitted("embedding_")
        x = as_matrix(X)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features, but UMAP was fitted on {self.n_features_in_}")
        train = self._raw_data
        if x is train or (x.shape == train.shape and x.__array_interface__["data"][0] ==
                          train.__array_interface__["data"][0]):
            return self.embedding_.copy()
        return _prism.umap_transform(train, as_matrix(self.embedding_, "embedding_"), x,
                                     self.run_info_["seed"], self._table_params(), bool(self.verbose),
                                     resolve_threads(self.n_jobs))

    def _clear_fit(self) -> None:
        super()._clear_fit()
        self._raw_data = None


# ---- t-SNE -----------------------------------------------------------------------------

@build_estimator
class TSNE(_Transformer):
    _method = "tsne"
    _prefix = "tsne"
    _peer = "scikit-learn"
    _structural = {
        "n_components": Structural(2, "int", "Dimensions of the embedding: 2 (quadtree) or 3 (octree). "
                                             "Command line: --dims"),
        "random_state": _seed_doc(),
        "n_jobs": _threads_doc(None, "scikit-learn's None means one core; here it means all"),
        "verbose": _VERBOSE,
        "backend": _BACKEND,
    }
    _positional = ("n_components",)
    # scikit-learn's order
    _head = ("perplexity", "early_exaggeration", "learning_rate", "max_iter", "metric", "init", "verbose",
             "random_state", "angle", "n_jobs")
    _tail = ("backend",)
    _foreign = {
        "n_iter_without_progress": ((300,), "Prism runs max_iter iterations"),
        "min_grad_norm": ((1e-07,), "Prism runs max_iter iterations"),
        "metric_params": ((None,), "Prism's metrics, euclidean and cosine, take no parameters"),
        "method": (("barnes_hut",), "angle=0 gives exact Barnes-Hut repulsion; negative_gradient_method picks "
                                    "Barnes-Hut or FFT"),
    }
    _intro = """
    t-SNE in 2D or 3D, optimised as openTSNE and Kobak & Berens (2019) do, on
    all CPU cores or an NVIDIA GPU, with scikit-learn's names and defaults
    (``n_iter``, scikit-learn's older name for ``max_iter``, is accepted too).
    The repulsion is Barnes-Hut (van der Maaten 2014) or, in 2D on the CPU,
    FFT interpolation (Linderman et al. 2019): ``negative_gradient_method``,
    openTSNE's name.

    Inputs wider than 100 columns are first reduced to ``pca_dims`` with PCA;
    affinities use the exact kNN graph with k = 3 * perplexity. ``fit``
    releases the GIL; Ctrl-C stops it within about a second
    (KeyboardInterrupt) and leaves the estimator unfitted.
    """
    _attributes = """
    embedding_ : ndarray of shape (n_samples, n_components), float32
        The embedding.
    kl_divergence_ : float
        KL(P || Q) after the last iteration.
    n_iter_ : int
        Iterations run.
    learning_rate_ : float
        The learning rate used ('auto' resolved).
    n_features_in_ : int
        Columns of the data.
    run_info_ : dict
        What ran: backend, init, knn_k, pca_dims, seed, stage times, warnings.
    """
    _examples = """
    >>> import numpy as np, prism
    >>> X = np.random.default_rng(0).normal(size=(1000, 50)).astype(np.float32)
    >>> Y = prism.TSNE(n_components=2, perplexity=30, random_state=0).fit_transform(X)
    """

    def fit(self, X: Any, y: Any = None) -> "TSNE":
        """Computes the embedding of X (n_samples x n_features); y is not used."""
        self._clear_fit()
        x = as_matrix(X)
        dims = check_int("n_components", self.n_components)
        seed = resolve_seed(self.random_state)
        out = _prism.tsne_fit(x, dims, seed, check_str("backend", self.backend), self._table_params(),
                              bool(self.verbose), resolve_threads(self.n_jobs))
        info = out["info"]
        _warn(info["warnings"])
        self.embedding_ = out["embedding"]
        self.kl_divergence_ = float(out["kl_divergence"])
        self.n_iter_ = int(info["n_epochs"])
        self.learning_rate_ = float(info["learning_rate"])
        self.n_features_in_ = x.shape[1]
        self.run_info_ = info
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Computes the embedding of X and returns it (embedding_)."""
        return self.fit(X, y).embedding_


# ---- PCA -------------------------------------------------------------------------------

@build_estimator
class PCA(_Transformer):
    _method = "pca"
    _prefix = "pca"
    _peer = "scikit-learn"
    _structural = {
        "n_components": Structural(2, "Optional[int]", "Components kept, 1..n_features; None keeps "
                                                       "min(n_samples, n_features). Command line: --dims"),
        "random_state": Structural(None, "Optional[int]", "Seed of the randomized solver (an int, a numpy "
                                                          "RandomState/Generator, or None for a fresh one)"),
        "backend": _BACKEND,
    }
    _positional = ("n_components",)
    _head = ("whiten", "svd_solver", "iterated_power", "n_oversamples", "random_state")
    _tail = ("backend",)
    _foreign = {
        "copy": ((True, False), "Prism never writes to X"),
        "tol": ((0.0,), "scikit-learn's ARPACK solver"),
        "power_iteration_normalizer": (("auto",), "the randomized solver orthonormalises every iteration"),
    }
    _intro = """
    Principal component analysis with scikit-learn's names: centred, exact
    (covariance + LAPACK) or randomized (Halko et al.), optional whitening,
    on the CPU or an NVIDIA GPU. Computes in float32; transform returns
    float32.
    """
    _attributes = """
    components_ : ndarray of shape (n_components, n_features), float32
        Principal axes (unit rows), by decreasing explained variance.
    explained_variance_ : ndarray of shape (n_components,), float64
        Variance along each axis (divided by n_samples - 1).
    explained_variance_ratio_ : ndarray of shape (n_components,), float64
        Fraction of the total variance along each axis.
    singular_values_ : ndarray of shape (n_components,), float64
        sqrt(explained_variance_ * (n_samples - 1)).
    mean_ : ndarray of shape (n_features,), float32
        Per-feature mean of the training data.
    n_components_ : int
    n_features_in_ : int
    n_samples_ : int
    """
    _examples = """
    >>> import numpy as np, prism
    >>> X = np.random.default_rng(0).normal(size=(500, 20)).astype(np.float32)
    >>> pca = prism.PCA(n_components=3).fit(X)
    >>> Y = pca.transform(X); X_back = pca.inverse_transform(Y)
    """

    def _fit(self, X: Any, transform: bool) -> Optional[np.ndarray]:
        self._clear_fit()
        x = as_matrix(X)
        n, d = x.shape
        dims = min(n, d) if self.n_components is None else check_int("n_components", self.n_components)
        seed = resolve_seed(self.random_state)
        out = _prism.pca_fit(x, dims, seed, check_str("backend", self.backend), self._table_params(), transform,
                             False, 0)
        self.components_ = out["components"]
        self.explained_variance_ = out["explained_variance"]
        self.explained_variance_ratio_ = out["explained_variance_ratio"]
        self.singular_values_ = np.sqrt(np.maximum(self.explained_variance_, 0) * max(n - 1, 1))
        self.mean_ = out["mean"]
        self.n_components_ = dims
        self.n_features_in_ = d
        self.n_samples_ = n
        return out.get("embedding")

    def fit(self, X: Any, y: Any = None) -> "PCA":
        """Fits the components to X (n_samples x n_features); y is not used."""
        self._fit(X, False)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fits to X and returns X projected on the components."""
        return self._fit(X, True)

    def transform(self, X: Any) -> np.ndarray:
        """X (n_samples x n_features) projected on the components (whitened when whiten=True)."""
        self._check_fitted("components_")
        x = as_matrix(X)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features, but PCA was fitted on {self.n_features_in_}")
        return _prism.pca_transform(x, np.ascontiguousarray(self.mean_, np.float32),
                                    as_matrix(self.components_, "components_"),
                                    np.ascontiguousarray(self.explained_variance_, np.float64), bool(self.whiten), 0)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Maps projected points back to the input space (the inverse of transform)."""
        self._check_fitted("components_")
        y = as_matrix(X)
        if y.shape[1] != self.components_.shape[0]:
            raise ValueError(f"X has {y.shape[1]} columns, but PCA has {self.components_.shape[0]} components")
        if self.whiten:
            y = y * np.sqrt(self.explained_variance_).astype(np.float32)
        return (y @ self.components_ + self.mean_).astype(np.float32, copy=False)
