#!/usr/bin/env python3
"""prism.UMAP beside umap.UMAP and prism.TSNE beside openTSNE.TSNE on all of
Fashion-MNIST (70,000 x 784), in one process, scored by the same metrics.

Usage: bench/python/run [--methods umap,tsne] [--dims 2,3] [--tsne-dims 2] [--json out.json]
       (the script sets up the venv; this file runs inside it)

Peers at their best, as bench/peers/prism_peers.py runs them:
- umap-learn unseeded (random_state=None: a seeded umap-learn runs its SGD on
  one thread) with n_jobs=-1; numba compiles on first use, so the same fit
  runs first on a 5,000-row slice (NN-descent forced so that path compiles
  too) and that warm-up is reported apart, not in the time.
- openTSNE with its FFT gradient (2D; Barnes-Hut in 3D), n_jobs=-1, after
  scikit-learn's PCA to 50 dimensions, as its documentation recommends and as
  Prism does (that PCA is in the time). openTSNE runs its defaults: 250
  early-exaggeration + 500 iterations; Prism 1,000 in all.
- Prism with its defaults, unseeded too; it gets the same 5,000-row warm-up.
Times are wall seconds of the whole fit, kNN graph included. Metrics:
prism.metrics (`prism metrics`: trustworthiness@15, kNN recall@15, 10-NN
accuracy over a seeded 10,000-point sample) for every row.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

import numpy as np

import prism

FMNIST = "/usr/share/datasets/fashion-mnist"
WARMUP_ROWS = 5000


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fit, x, warm):
    w = 0.0
    if warm:
        t0 = time.perf_counter()
        fit(np.ascontiguousarray(x[:WARMUP_ROWS]), True)
        w = time.perf_counter() - t0
    t0 = time.perf_counter()
    y = np.asarray(fit(x, False), dtype=np.float32)
    return y, time.perf_counter() - t0, w


def prism_umap(dims):
    return lambda x, warm: prism.UMAP(n_components=dims).fit_transform(x)


def umap_learn(dims):
    import umap

    return lambda x, warm: umap.UMAP(n_components=dims, random_state=None, n_jobs=-1,
                                     force_approximation_algorithm=warm).fit_transform(x)


def prism_tsne(dims):
    return lambda x, warm: prism.TSNE(n_components=dims).fit_transform(x)


def open_tsne(dims):
    from openTSNE import TSNE
    from sklearn.decomposition import PCA

    def fit(x, warm):
        xr = PCA(n_components=50).fit_transform(x).astype(np.float32)
        return TSNE(n_components=dims, perplexity=30, n_jobs=-1,
                    negative_gradient_method="fft" if dims == 2 else "bh").fit(xr)
    return fit


def version(module: str) -> str:
    try:
        return __import__(module).__version__
    except Exception as e:  # noqa: BLE001
        return f"missing ({e.__class__.__name__})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default="umap,tsne")
    p.add_argument("--dims", default="2,3", help="UMAP's dimensions")
    p.add_argument("--tsne-dims", default="2", help="t-SNE's dimensions (openTSNE 3D is Barnes-Hut: slow)")
    p.add_argument("--json", help="write the rows as JSON here")
    args = p.parse_args()

    x, meta = prism.load(FMNIST)
    x = np.ascontiguousarray(x)
    labels = meta["label"].to_numpy()
    rows = []
    load_start = os.getloadavg()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load_start[0]:.1f} "
          f"{load_start[1]:.1f} {load_start[2]:.1f} at the start", flush=True)
    peers = {"umap": [("Prism " + prism.__version__, prism_umap), ("umap-learn " + version("umap"), umap_learn)],
             "tsne": [("Prism " + prism.__version__, prism_tsne), ("openTSNE " + version("openTSNE"), open_tsne)]}
    for method in args.methods.split(","):
        for dims in (int(d) for d in (args.dims if method == "umap" else args.tsne_dims).split(",")):
            for name, make in peers[method]:
                y, seconds, warm = timed(make(dims), x, warm=True)
                m = prism.metrics(x, y, labels=labels)
                row = {"method": f"{'UMAP' if method == 'umap' else 't-SNE'} {dims}D", "impl": name,
                       "seconds": seconds, "warmup_seconds": warm, "peak_mib_so_far": peak_mib(),
                       "trustworthiness": m["trustworthiness"], "knn_recall": m["knn_recall"],
                       "knn_accuracy": m["knn_accuracy"], "load_average": os.getloadavg()[0]}
                rows.append(row)
                print(json.dumps(row), flush=True)

    print(f"\nFashion-MNIST 70,000 x 784, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}, "
          f"numpy {np.__version__}, Prism backend {'cuda' if prism.cuda_available() else 'cpu'}\n")
    print("| method | implementation | seconds | warm-up s | trust@15 | recall@15 | 10-NN acc | load after |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['impl']} | {r['seconds']:.2f} | {r['warmup_seconds']:.2f} | "
              f"{r['trustworthiness']:.4f} | {r['knn_recall']:.4f} | {r['knn_accuracy']:.4f} | "
              f"{r['load_average']:.1f} |")
    print()
    for i in range(0, len(rows) - 1, 2):
        a, b = rows[i], rows[i + 1]
        print(f"{a['method']}: {a['impl']} {b['seconds'] / a['seconds']:.1f}x faster than {b['impl']} "
              f"(trust {a['trustworthiness'] - b['trustworthiness']:+.4f}, recall "
              f"{a['knn_recall'] - b['knn_recall']:+.4f}, accuracy {a['knn_accuracy'] - b['knn_accuracy']:+.4f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
