"""Inputs: dtypes and orders, memmaps, __array__ and DLPack objects, pandas;
zero-copy for C-contiguous float32; every error case with its message."""
from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest

import prism
from prism._convert import as_matrix
from conftest import blobs, run_python


class ArrayLike:
    """Only __array__ (as xarray, dask and friends offer)."""

    def __init__(self, a):
        self._a = a

    def __array__(self, dtype=None, copy=None):
        return self._a if dtype is None else self._a.astype(dtype)


class DLPackOnly:
    """Only the DLPack protocol (as JAX, CuPy on the host, or PyTorch offer)."""

    def __init__(self, a, device=(1, 0)):
        self._a, self._device = a, device

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._device


def pca_y(x):
    return prism.PCA(n_components=2, svd_solver="full").fit_transform(x)


def test_c_contiguous_float32_is_used_in_place(tmp_path):
    x, _ = blobs(n=200, d=8)
    assert as_matrix(x) is x
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=x.shape)
    mm[:] = x
    assert np.shares_memory(as_matrix(mm), mm)
    assert np.shares_memory(as_matrix(DLPackOnly(x)), x)
    assert np.shares_memory(as_matrix(ArrayLike(x)), x)
    ro = x.copy()
    ro.setflags(write=False)
    assert as_matrix(ro) is ro
    np.testing.assert_array_equal(pca_y(mm), pca_y(x))


def test_no_second_copy_of_a_large_array():
    """A 1 GiB float32 array goes through fit without a second 1 GiB in peak memory
    (a float64 one is converted once: one float32 copy, on purpose)."""
    code = textwrap.dedent("""
        import resource, numpy as np, prism
        n, d = 16 * 1024 * 1024, 16            # 2^28 floats: 1 GiB
        x = np.ones((n, d), dtype=np.float32)  # touched: resident
        x[::7, 3] = 2.0
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        pca = prism.PCA(n_components=2, svd_solver="full").fit(x)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((peak - base) // 1024)
    """)
    r = run_python(code, timeout=300)
    assert r.returncode == 0, r.stderr
    extra_mib = int(r.stdout.split()[-1])
    assert extra_mib < 300, f"fit added {extra_mib} MiB to the peak on a 1 GiB input"


@pytest.mark.parametrize("convert", [
    lambda x: x.astype(np.float64),
    lambda x: np.asfortranarray(x),
    lambda x: np.asfortranarray(x.astype(np.float64)),
    lambda x: np.repeat(x, 2, axis=1)[:, ::2],   # strided view
    lambda x: x.astype(np.float16),
    lambda x: ArrayLike(x.astype(np.float64)),
    lambda x: DLPackOnly(np.ascontiguousarray(x)),
    lambda x: x.tolist(),
], ids=["float64", "fortran", "fortran64", "strided", "float16", "__array__", "dlpack", "list"])
def test_conversions_give_the_same_result(convert):
    x, _ = blobs(n=200, d=8)
    x = np.round(x * 8) / 8  # exactly representable in float16 too
    x = x.astype(np.float32)
    expected = prism.UMAP(random_state=7, n_epochs=60).fit_transform(x)
    got = prism.UMAP(random_state=7, n_epochs=60).fit_transform(convert(x))
    np.testing.assert_array_equal(got, expected)


def test_integer_and_pandas_inputs():
    pd = pytest.importorskip("pandas")
    x = np.random.default_rng(0).integers(0, 255, size=(150, 6))
    y_int = pca_y(x)
    np.testing.assert_array_equal(y_int, pca_y(x.astype(np.float32)))
    df = pd.DataFrame(x.astype(np.float64), columns=list("abcdef"))
    np.testing.assert_array_equal(pca_y(df), y_int)


def test_torch_tensors_if_installed():
    torch = pytest.importorskip("torch")
    x, _ = blobs(n=200, d=8)
    t = torch.from_numpy(x)
    assert np.shares_memory(as_matrix(t), x)
    np.testing.assert_array_equal(pca_y(t), pca_y(x))
    np.testing.assert_array_equal(pca_y(t.double()), pca_y(x))


def test_labels_and_metadata_types():
    pd = pytest.importorskip("pandas")
    x, labels = blobs(n=300, d=8)
    y = prism.PCA(n_components=2).fit_transform(x)
    names = np.array(["a", "b", "c"])[labels]
    expected = prism.metrics(x, y, labels=labels)["knn_accuracy"]
    for form in (labels, labels.tolist(), names, names.tolist(), pd.Series(names), pd.Categorical(names),
                 pd.Series(labels).astype("category"), labels.astype(np.float64), names.astype(object)):
        assert prism.metrics(x, y, labels=form)["knn_accuracy"] == expected


def test_bad_input_raises_value_error_with_prisms_message():
    x, _ = blobs(n=100, d=5)
    cases = [
        (lambda: prism.UMAP().fit(x[0]), "must be a 2-D array.*1-D array of shape \\(5,\\).*reshape"),
        (lambda: prism.UMAP().fit(x[None]), "3-D array"),
        (lambda: prism.TSNE().fit(np.array([["a", "b"], ["c", "d"]])), "must hold numbers"),
        (lambda: prism.UMAP().fit(x[:1]), "need at least 2 rows"),
        (lambda: prism.knn(x, k=100), "k = 100 needs more than 100 rows, got 100"),
        (lambda: prism.knn(x, k=0), "k must be at least 1"),
        (lambda: prism.knn(x, metric="manhattan"), "unknown metric 'manhattan' \\(expected one of: euclidean, cosine\\)"),
        (lambda: prism.UMAP(metric="manhattan").fit(x),
         "umap parameter metric: got 'manhattan', expected one of: euclidean, cosine"),
        (lambda: prism.UMAP(n_neighbors=1).fit(x), "umap parameter n_neighbors: got 1, expected an integer in \\[2, 1000\\]"),
        (lambda: prism.UMAP(n_neighbors="many").fit(x), "n_neighbors: got 'many', expected an integer"),
        (lambda: prism.UMAP(min_dist=2.0).fit(x), "min_dist \\(2\\) must not exceed spread"),
        (lambda: prism.TSNE(perplexity=-1).fit(x), "tsne parameter perplexity: got -1, expected a number > 0"),
        (lambda: prism.TSNE(learning_rate="fast").fit(x), "learning_rate: got 'fast'"),
        (lambda: prism.PCA(n_components=9).fit(x), "PCA to 9 dimensions needs D >= 9, got D = 5"),
        (lambda: prism.PCA(n_components=2.5).fit(x), "n_components must be an integer, got 2.5"),
        (lambda: prism.UMAP(random_state=-3).fit(x), "random_state must be in"),
        (lambda: prism.UMAP(backend="tpu").fit(x), "unknown backend 'tpu'"),
        (lambda: prism.UMAP(n_jobs=0).fit(x), "n_jobs must be a non-zero integer"),
        (lambda: prism.metrics(x, x[:50, :2]), "Y has 50 rows, but X has 100"),
        (lambda: prism.metrics(x, x[:, :2], labels=[1, 2]), "labels has 2 values, but there are 100 rows"),
        (lambda: prism.UMAP(random_state=0, n_epochs=20).fit(x).transform(x[:, :3]),
         "X has 3 features, but UMAP was fitted on 5"),
    ]
    if not prism.cuda_available():
        cases.append((lambda: prism.UMAP(backend="cuda").fit(x), "cuda"))
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("value,word", [(np.nan, "NaN"), (np.inf, "Inf"), (-np.inf, "Inf")])
def test_nan_and_inf_name_the_row(value, word):
    x, _ = blobs(n=100, d=5)
    x[37, 2] = value
    x[80, 0] = value
    for call in (lambda: prism.UMAP().fit(x), lambda: prism.TSNE().fit(x), lambda: prism.PCA().fit(x),
                 lambda: prism.knn(x), lambda: prism.metrics(x, x[:, :2] * 0)):
        with pytest.raises(ValueError, match=re.escape(f"X[37, 2] is {word} (2 rows have NaN/Inf")):
            call()


def test_a_failed_fit_leaves_the_estimator_unfitted():
    x, _ = blobs(n=100, d=5)
    bad = x.copy()
    bad[3, 1] = np.nan
    for est, attribute in ((prism.UMAP(n_epochs=20, random_state=0), "embedding_"),
                           (prism.TSNE(max_iter=250, perplexity=10.0, random_state=0), "kl_divergence_"),
                           (prism.PCA(n_components=2), "components_")):
        est.fit(x)
        assert hasattr(est, attribute)
        with pytest.raises(ValueError, match="NaN"):
            est.fit(bad)
        assert not hasattr(est, attribute), type(est).__name__


def test_type_errors():
    x, _ = blobs(n=100, d=5)
    with pytest.raises(TypeError, match="is None"):
        prism.UMAP().fit(None)
    with pytest.raises(TypeError, match="in device memory"):
        as_matrix(DLPackOnly(x, device=(2, 0)))
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse matrix.*toarray"):
        prism.UMAP().fit(sparse.csr_matrix(x))


def test_not_fitted():
    x, _ = blobs(n=50, d=5)
    for est, method in ((prism.UMAP(), "transform"), (prism.PCA(), "transform"), (prism.PCA(), "inverse_transform")):
        with pytest.raises((AttributeError, ValueError), match="not fitted yet"):
            getattr(est, method)(x)


def test_runtime_failures_raise_runtime_error():
    """A job that does not fit the memory budget fails at once with RuntimeError
    (the engine's check), and the interpreter lives on."""
    code = textwrap.dedent("""
        import numpy as np, prism
        x = np.random.default_rng(0).normal(size=(20000, 64)).astype(np.float32)
        try:
            prism.TSNE().fit(x)
        except RuntimeError as e:
            print("RuntimeError:", e)
        u = prism.UMAP()
        print("alive", hasattr(u, "embedding_"))
    """)
    import os
    r = run_python(code, env={**os.environ, "PRISM_MEMORY_LIMIT": "1M"})
    assert r.returncode == 0, r.stderr
    assert "RuntimeError:" in r.stdout and "PRISM_MEMORY_LIMIT" in r.stdout, r.stdout
    assert "alive False" in r.stdout
