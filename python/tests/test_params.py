"""The estimators' parameters come from the engine's table; umap-learn's and
scikit-learn's call signatures run unchanged; the scikit-learn protocol."""
from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

import prism
from conftest import blobs

ESTIMATORS = {"umap": prism.UMAP, "tsne": prism.TSNE, "pca": prism.PCA}
STRUCTURAL = {"n_components", "random_state", "backend", "verbose", "n_jobs"}

# umap-learn 0.5.12's UMAP.__init__ (lmcinnes/umap:umap/umap_.py), every argument at its default.
UMAP_LEARN_DEFAULTS = dict(
    n_neighbors=15, n_components=2, metric="euclidean", metric_kwds=None, output_metric="euclidean",
    output_metric_kwds=None, n_epochs=None, learning_rate=1.0, init="spectral", min_dist=0.1, spread=1.0,
    low_memory=True, n_jobs=-1, set_op_mix_ratio=1.0, local_connectivity=1.0, repulsion_strength=1.0,
    negative_sample_rate=5, transform_queue_size=4.0, a=None, b=None, random_state=None, angular_rp_forest=False,
    target_n_neighbors=-1, target_metric="categorical", target_metric_kwds=None, target_weight=0.5,
    transform_seed=42, transform_mode="embedding", force_approximation_algorithm=False, verbose=False,
    tqdm_kwds=None, unique=False, densmap=False, dens_lambda=2.0, dens_frac=0.3, dens_var_shift=0.1,
    output_dens=False, disconnection_distance=None, precomputed_knn=(None, None, None))


def rows(method):
    return [r for r in prism.param_table() if r["method"] == method]


def signature_defaults(cls):
    return {n: p.default for n, p in inspect.signature(cls).parameters.items() if p.kind != p.VAR_KEYWORD}


def a_valid_other_value(row):
    """A value of the row other than its default, inside its range."""
    t, d = row["type"], row["default"]
    if t == "boolean":
        return not d
    if t == "choice":
        return next(c for c in row["choices"] if c != d)
    if row["automatic"] is not None and d == row["automatic"]:
        return 7 if t == "integer" else 3.5
    lo, hi = row["min"], row["max"]
    v = d * 0.9 if t == "real" else d - 1
    if v < lo or (row["min_open"] and v == lo) or v > hi:
        v = d * 1.1 if t == "real" else d + 1
    return v


@pytest.mark.parametrize("method", ["umap", "tsne", "pca"])
def test_every_table_row_is_a_keyword_with_the_tables_default(method):
    cls = ESTIMATORS[method]
    defaults = signature_defaults(cls)
    table = rows(method)
    assert table, "the table has no rows for " + method
    for r in table:
        assert r["name"] in defaults, f"{cls.__name__} lacks the table's {r['name']}"
        expected = r["default"]
        if r["automatic"] is not None and expected == r["automatic"] and r["name"] == "n_epochs":
            expected = None  # umap-learn's spelling of automatic
        assert defaults[r["name"]] == expected, (r["name"], defaults[r["name"]], expected)
        assert r["help"].rstrip(".") in " ".join(cls.__doc__.split()), f"{r['name']}'s help is not in the docstring"
    # nothing but the table and the structural parameters
    assert set(defaults) == {r["name"] for r in table} | (STRUCTURAL & set(defaults))


@pytest.mark.parametrize("method", ["umap", "tsne", "pca"])
def test_every_table_row_reaches_the_engine(method):
    """Each row set to another valid value fits; set outside its range it is
    refused with the engine's message naming it."""
    cls = ESTIMATORS[method]
    x, _ = blobs(n=120, d=8)
    fast = {"umap": {"n_epochs": 20}, "tsne": {"max_iter": 30, "perplexity": 10.0}, "pca": {}}[method]
    for r in rows(method):
        value = a_valid_other_value(r)
        kwargs = {**fast, r["name"]: value}
        if r["name"] == "min_dist":
            kwargs["spread"] = 1.0
        if r["name"] == "svd_solver" and value == "full":
            pass
        est = cls(random_state=0, backend="cpu", **kwargs)
        est.fit(x)
        assert est.get_params()[r["name"]] == value
        if r["type"] in ("integer", "real") and r["max"] != float("inf"):
            bad = cls(random_state=0, **{r["name"]: r["max"] + 1})
            with pytest.raises(ValueError, match=f"{method} parameter {r['name']}: got"):
                bad.fit(x)
        if r["type"] == "choice":
            with pytest.raises(ValueError, match=f"{method} parameter {r['name']}: got 'nonsense', expected one of"):
                cls(**{r["name"]: "nonsense"}).fit(x)


def test_aliases_from_the_table():
    assert prism.TSNE(n_iter=500).max_iter == 500          # scikit-learn's older name
    assert prism.TSNE(theta=0.3).angle == 0.3
    assert prism.UMAP(epochs=50).n_epochs == 50
    assert prism.PCA(solver="full").svd_solver == "full"
    t = prism.TSNE().set_params(n_iter=250)
    assert t.max_iter == 250 and "n_iter" not in t.get_params()
    with pytest.raises(TypeError, match="both max_iter=300 and its alias n_iter=500"):
        prism.TSNE(max_iter=300, n_iter=500)


def test_umap_learn_signature_runs_unchanged():
    x, _ = blobs(n=300, d=10)
    params = dict(UMAP_LEARN_DEFAULTS, random_state=42)
    emb = prism.UMAP(**params).fit_transform(x)
    assert emb.shape == (300, 2)
    # umap-learn's positional order: n_neighbors, n_components, metric
    r = prism.UMAP(10, 3, "cosine")
    assert (r.n_neighbors, r.n_components, r.metric) == (10, 3, "cosine")
    # the usual call of umap-learn's documentation
    reducer = prism.UMAP(n_neighbors=15, min_dist=0.1, n_components=2, metric="euclidean")
    assert reducer.fit(x).embedding_.shape == (300, 2)
    # every parameter both have has umap-learn's default
    ours = signature_defaults(prism.UMAP)
    for name, value in UMAP_LEARN_DEFAULTS.items():
        if name in ours:
            assert ours[name] == value, name
    try:
        import umap
    except ImportError:
        return
    theirs = {n: p.default for n, p in inspect.signature(umap.UMAP).parameters.items()}
    assert theirs == UMAP_LEARN_DEFAULTS or set(UMAP_LEARN_DEFAULTS) <= set(theirs)


def test_umap_learn_options_prism_lacks_are_refused():
    with pytest.raises(TypeError, match="umap-learn's option densmap=True is not available in Prism"):
        prism.UMAP(densmap=True)
    with pytest.raises(TypeError, match="output_metric='hyperboloid'"):
        prism.UMAP(output_metric="hyperboloid")
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_neigbors'"):
        prism.UMAP(n_neigbors=5)
    with pytest.raises(TypeError):
        prism.UMAP(15, 2, "euclidean", None)  # metric_kwds by position: umap-learn's 4th argument


def test_scikit_learn_tsne_signature_runs_unchanged():
    sklearn_manifold = pytest.importorskip("sklearn.manifold")
    theirs = signature_defaults(sklearn_manifold.TSNE)
    x, _ = blobs(n=200, d=10)
    emb = prism.TSNE(**dict(theirs, max_iter=300, random_state=0)).fit_transform(x)
    assert emb.shape == (200, 2)
    ours = signature_defaults(prism.TSNE)
    for name, value in theirs.items():
        if name in ours and name != "n_jobs":  # None: one core there, all cores here (documented)
            assert ours[name] == value, name
    # scikit-learn's documentation example, on its 4 x 3 input
    X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    assert prism.TSNE(n_components=2, learning_rate="auto", init="random", perplexity=1).fit_transform(X).shape \
        == (4, 2)
    with pytest.raises(TypeError, match="method='exact' is not available"):
        prism.TSNE(method="exact")


def test_scikit_learn_pca_signature():
    decomposition = pytest.importorskip("sklearn.decomposition")
    theirs = signature_defaults(decomposition.PCA)
    ours = signature_defaults(prism.PCA)
    for name in ("whiten", "svd_solver", "n_oversamples", "random_state"):
        assert ours[name] == theirs[name], name
    x, _ = blobs(n=100, d=6)
    assert prism.PCA(n_components=None, copy=True, tol=0.0).fit(x).components_.shape == (6, 6)


def test_get_params_set_params_clone_pickle():
    base = pytest.importorskip("sklearn.base")
    u = prism.UMAP(n_neighbors=7, min_dist=0.2, random_state=3, n_epochs=40)
    p = u.get_params()
    assert p["n_neighbors"] == 7 and p["min_dist"] == 0.2 and p["n_epochs"] == 40
    c = base.clone(u)
    assert c is not u and c.get_params() == p
    assert repr(u) == "UMAP(n_neighbors=7, n_epochs=40, min_dist=0.2, random_state=3)"
    u.set_params(n_neighbors=9)
    assert u.n_neighbors == 9
    with pytest.raises(ValueError, match="Invalid parameter 'n_neigbors'"):
        u.set_params(n_neigbors=3)
    for est in (prism.TSNE(perplexity=12.0), prism.PCA(n_components=3, whiten=True)):
        assert base.clone(est).get_params() == est.get_params()
    x, _ = blobs(n=150, d=8)
    fitted = prism.PCA(n_components=3).fit(x)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.transform(x), fitted.transform(x))


def test_pipeline_and_tags():
    pipeline = pytest.importorskip("sklearn.pipeline")
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    neighbors = pytest.importorskip("sklearn.neighbors")
    from sklearn.utils.validation import check_is_fitted

    x, y = blobs(n=300, d=12)
    pipe = pipeline.make_pipeline(preprocessing.StandardScaler(), prism.PCA(n_components=5),
                                  prism.UMAP(n_epochs=50, random_state=0), neighbors.KNeighborsClassifier(5))
    with pytest.warns(UserWarning, match="y is not used"):
        pipe.fit(x, y)
    assert pipe.score(x, y) > 0.9
    check_is_fitted(pipe[1])
    t = pipeline.make_pipeline(prism.PCA(n_components=8), prism.TSNE(max_iter=250, perplexity=20.0))
    assert t.fit_transform(x).shape == (300, 2)
    assert list(prism.PCA(n_components=2).fit(x).get_feature_names_out()) == ["pca0", "pca1"]


def test_help_is_useful():
    doc = prism.UMAP.__doc__
    for text in ("n_neighbors : int, default=15", "min_dist : float, default=0.1", "n_epochs : Optional[int], default=None",
                 "Command line: --n-neighbors", "embedding_", "graph_", "random_state", "backend"):
        assert text in doc, text
    assert "max_iter : int, default=1000" in prism.TSNE.__doc__
    assert "Also accepted as n_iter" in prism.TSNE.__doc__
    assert "learning_rate : Union[float, str], default='auto'" in prism.TSNE.__doc__
    for name in prism.__all__:
        obj = getattr(prism, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__) > 40, name
    sig = inspect.signature(prism.knn)
    assert sig.parameters["k"].default == 15 and sig.return_annotation
