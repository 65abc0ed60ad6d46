"""Faithfulness on real data (a fixed 5,000-image Fashion-MNIST subset)
against fixed thresholds that a broken optimiser, a random layout or plain
PCA would miss (PCA 2D here: trustworthiness 0.91, recall@15 0.10, 10-NN
accuracy 0.53; a random layout 0.50, 0.003, 0.11)."""
from __future__ import annotations

import numpy as np
import pytest

import prism


def faithfulness(x, y, labels):
    return prism.metrics(x, y, labels=labels, k=15)


def test_umap_quality_and_graph(fmnist):
    x, labels = fmnist
    reducer = prism.UMAP(n_neighbors=15, min_dist=0.1, random_state=1)
    y = reducer.fit_transform(x)
    assert y.shape == (5000, 2) and y.dtype == np.float32 and np.isfinite(y).all()
    m = faithfulness(x, y, labels)
    # measured 0.980 / 0.361 / 0.754 (PCA 2D: 0.912 / 0.104 / 0.528, random: 0.50 / 0.003 / 0.11)
    assert passes(m, UMAP_BAR), m
    info = reducer.run_info_
    assert info["knn_k"] == 15 and info["init"] == "spectral" and info["n_epochs"] == 500
    # graph_: umap-learn's fuzzy simplicial set, symmetric, weights in (0, 1]
    sparse = pytest.importorskip("scipy.sparse")
    g = reducer.graph_
    assert sparse.issparse(g) and g.shape == (5000, 5000)
    assert abs(g - g.T).max() < 1e-6
    assert g.data.min() > 0 and g.data.max() <= 1.0 + 1e-6
    assert g.nnz >= 5000 * 15  # every kNN edge, both directions merged


UMAP_BAR = {"trustworthiness": 0.97, "knn_recall": 0.30, "knn_accuracy": 0.70}
TSNE_BAR = {"trustworthiness": 0.98, "knn_recall": 0.38, "knn_accuracy": 0.75}


def passes(m, bar):
    return all(m[k] > v for k, v in bar.items())


@pytest.mark.parametrize("broken", [dict(learning_rate=1e-6), dict(repulsion_strength=0.0), dict(n_epochs=5)],
                         ids=["no-steps", "no-repulsion", "5-epochs"])
def test_umap_bar_fails_a_crippled_optimiser(fmnist, broken):
    """The thresholds above are not loose: an optimiser that barely moves from
    the spectral start (0.89 / 0.07 / 0.62 measured), one without repulsion
    (0.85 / 0.09 / 0.58) or one stopped after 5 epochs (0.86 / 0.11 / 0.57)
    misses them on every metric."""
    x, labels = fmnist
    m = faithfulness(x, prism.UMAP(random_state=1, **broken).fit_transform(x), labels)
    assert not any(m[k] > v for k, v in UMAP_BAR.items()), m


def test_umap_3d_and_cosine(fmnist):
    x, labels = fmnist
    y = prism.UMAP(n_components=3, metric="cosine", random_state=2, n_epochs=200).fit_transform(x[:3000])
    assert y.shape == (3000, 3)
    m = prism.metrics(x[:3000], y, labels=labels[:3000], metric="cosine")
    # measured 0.963 / 0.406 / 0.766
    assert m["trustworthiness"] > 0.95 and m["knn_recall"] > 0.33 and m["knn_accuracy"] > 0.72, m


def test_umap_transform_lands_near_the_neighbours(fmnist):
    x, labels = fmnist
    train, test = x[:4500], x[4500:]
    reducer = prism.UMAP(random_state=3).fit(train)
    new = reducer.transform(test)
    assert new.shape == (500, 2) and np.isfinite(new).all()
    # each held-out point lands near where its 10 nearest training images are
    t64, r64 = test.astype(np.float64), train.astype(np.float64)
    d = (t64**2).sum(1)[:, None] + (r64**2).sum(1)[None, :] - 2 * t64 @ r64.T
    nn = np.argpartition(d, 10, axis=1)[:, :10]  # 10 nearest training images, by numpy
    emb = reducer.embedding_
    centres = np.median(emb[nn], axis=1)
    scale = np.median(np.linalg.norm(emb - np.median(emb, axis=0), axis=1))
    dist = np.linalg.norm(new - centres, axis=1)
    assert np.median(dist) < 0.15 * scale, (np.median(dist), scale)
    # and its label agrees with the nearest training points in the embedding
    d2 = ((new[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    votes = labels[:4500][np.argsort(d2, axis=1)[:, :10]]
    pred = np.array([np.bincount(v, minlength=10).argmax() for v in votes])
    assert (pred == labels[4500:]).mean() > 0.7
    # the training data itself gives the fitted embedding back
    np.testing.assert_array_equal(reducer.transform(train), reducer.embedding_)


def test_tsne_quality_2d(fmnist):
    x, labels = fmnist
    tsne = prism.TSNE(n_components=2, perplexity=30.0, random_state=4)
    y = tsne.fit_transform(x)
    assert y.shape == (5000, 2) and np.isfinite(y).all()
    m = faithfulness(x, y, labels)
    assert passes(m, TSNE_BAR), m  # measured 0.988 / 0.438 / 0.798
    assert 0.5 < tsne.kl_divergence_ < 2.5  # 1.19
    assert tsne.n_iter_ == 1000 and tsne.learning_rate_ == pytest.approx(5000 / 12)
    assert tsne.run_info_["pca_dims"] == 50  # 784 columns: PCA to 50 first


@pytest.mark.parametrize("broken", [dict(learning_rate=1e-3), dict(max_iter=250)], ids=["no-steps", "no-phase-2"])
def test_tsne_bar_fails_a_crippled_optimiser(fmnist, broken):
    """An optimiser that barely moves from the PCA start (0.914 / 0.109 / 0.534
    measured) or stops after the early-exaggeration phase (0.968 / 0.251 /
    0.725) misses the t-SNE thresholds on every metric."""
    x, labels = fmnist
    m = faithfulness(x, prism.TSNE(random_state=4, **broken).fit_transform(x), labels)
    assert not any(m[k] > v for k, v in TSNE_BAR.items()), m


def test_tsne_3d(fmnist):
    x, labels = fmnist
    tsne = prism.TSNE(n_components=3, random_state=5, max_iter=500)
    y = tsne.fit_transform(x[:2000])
    assert y.shape == (2000, 3) and np.isfinite(y).all()
    m = prism.metrics(x[:2000], y, labels=labels[:2000])
    # measured 0.987 / 0.527 / 0.773
    assert m["trustworthiness"] > 0.975 and m["knn_recall"] > 0.45 and m["knn_accuracy"] > 0.72, m


def test_pca_against_numpy(fmnist):
    x, labels = fmnist
    x64 = x.astype(np.float64)
    centred = x64 - x64.mean(axis=0)
    w, v = np.linalg.eigh(centred.T @ centred / (len(x) - 1))
    variance, vt = w[::-1], v[:, ::-1].T  # by decreasing variance
    for solver in ("full", "randomized"):
        pca = prism.PCA(n_components=5, svd_solver=solver, random_state=0).fit(x)
        np.testing.assert_allclose(pca.explained_variance_, variance[:5], rtol=2e-3)
        np.testing.assert_allclose(pca.explained_variance_ratio_, variance[:5] / variance.sum(), rtol=2e-3)
        np.testing.assert_allclose(pca.mean_, x64.mean(axis=0), rtol=1e-4, atol=1e-3)
        # the same axes up to sign
        cos = np.abs((pca.components_.astype(np.float64) * vt[:5]).sum(axis=1))
        assert (cos > 0.999).all(), cos
        y = pca.transform(x)
        np.testing.assert_allclose(np.abs(y), np.abs(centred @ vt[:5].T), rtol=1e-3, atol=0.5)
    pca = prism.PCA(n_components=2, random_state=0)
    y = pca.fit_transform(x)
    np.testing.assert_allclose(y, pca.transform(x), rtol=1e-5, atol=1e-3)
    m = faithfulness(x, y, labels)
    assert 0.85 < m["trustworthiness"] and m["knn_accuracy"] > 0.45, m


def test_pca_whiten_and_inverse(fmnist):
    x, _ = fmnist
    full = prism.PCA(n_components=None).fit(x[:1000, :64])
    assert full.n_components_ == 64
    back = full.inverse_transform(full.transform(x[:1000, :64]))
    np.testing.assert_allclose(back, x[:1000, :64], atol=0.05)
    w = prism.PCA(n_components=4, whiten=True).fit(x)
    yw = w.transform(x)
    np.testing.assert_allclose(yw.std(axis=0, ddof=1), 1.0, rtol=1e-3)
    back = w.inverse_transform(yw)
    plain = prism.PCA(n_components=4).fit(x)
    np.testing.assert_allclose(back, plain.inverse_transform(plain.transform(x)), rtol=1e-3, atol=0.05)
