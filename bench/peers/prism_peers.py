#!/usr/bin/env python3
"""Runs a peer implementation on the same data as Prism, for `prism bench --peers`.

Usage: prism_peers.py --impl NAME --x X.npy --dims 2 --seed 1 --out Y.npy --report R.json
       [--perplexity 30] [--n-neighbors 15] [--min-dist 0.1] [--pca-dims 50] [--metric euclidean]
       prism_peers.py --list    (which peers are importable here, as JSON)

Peers: umap-learn (umap), opentsne (openTSNE), sklearn-tsne and sklearn-pca (scikit-learn).
t-SNE peers reduce D > 100 to --pca-dims with scikit-learn's PCA first, as their
documentation recommends and as Prism does; that time is included. The report
has the wall time of the whole fit (kNN included) and the peer's version. A
missing package exits with code 4 and says how to install it: it never crashes
the benchmark that called it.
"""
import argparse
import importlib
import json
import sys
import time

import numpy as np

PEERS = {
    "umap-learn": ("umap", "pip install umap-learn"),
    "opentsne": ("openTSNE", "pip install openTSNE"),
    "sklearn-tsne": ("sklearn", "pip install scikit-learn"),
    "sklearn-pca": ("sklearn", "pip install scikit-learn"),
}


def version(module):
    try:
        return importlib.import_module(module).__version__
    except Exception:
        return None


def pre_pca(x, dims, seed):
    if dims and x.shape[1] > 100 and dims < x.shape[1]:
        from sklearn.decomposition import PCA
        return PCA(n_components=dims, random_state=seed).fit_transform(x).astype(np.float32)
    return x


def run(args):
    x = np.load(args.x, mmap_mode="r").astype(np.float32)
    t0 = time.perf_counter()
    if args.impl == "umap-learn":
        import umap
        y = umap.UMAP(n_components=args.dims, n_neighbors=args.n_neighbors, min_dist=args.min_dist,
                      metric=args.metric, random_state=args.seed).fit_transform(x)
    elif args.impl == "opentsne":
        from openTSNE import TSNE
        xr = pre_pca(x, args.pca_dims, args.seed)
        # openTSNE's negative-gradient method "auto" is FFT (2D only); 3D needs Barnes-Hut.
        method = "fft" if args.dims == 2 else "bh"
        y = np.asarray(TSNE(n_components=args.dims, perplexity=args.perplexity, metric=args.metric,
                            negative_gradient_method=method, random_state=args.seed,
                            n_jobs=-1).fit(xr))
    elif args.impl == "sklearn-tsne":
        from sklearn.manifold import TSNE
        xr = pre_pca(x, args.pca_dims, args.seed)
        y = TSNE(n_components=args.dims, perplexity=args.perplexity, init="pca", learning_rate="auto",
                 metric=args.metric, random_state=args.seed, n_jobs=-1).fit_transform(xr)
    elif args.impl == "sklearn-pca":
        from sklearn.decomposition import PCA
        y = PCA(n_components=args.dims, random_state=args.seed).fit_transform(x)
    else:
        raise SystemExit(f"unknown peer '{args.impl}' (expected one of {', '.join(PEERS)})")
    seconds = time.perf_counter() - t0
    np.save(args.out, np.ascontiguousarray(y, dtype=np.float32))
    with open(args.report, "w") as f:
        import resource
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        json.dump({"impl": args.impl, "version": version(PEERS[args.impl][0]), "seconds": seconds,
                   "peak_mib": peak_mib}, f)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--list", action="store_true")
    p.add_argument("--impl")
    p.add_argument("--x")
    p.add_argument("--dims", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out")
    p.add_argument("--report")
    p.add_argument("--perplexity", type=float, default=30.0)
    p.add_argument("--n-neighbors", type=int, default=15)
    p.add_argument("--min-dist", type=float, default=0.1)
    p.add_argument("--pca-dims", type=int, default=50)
    p.add_argument("--metric", default="euclidean")
    args = p.parse_args()
    if args.list:
        print(json.dumps({name: version(mod) for name, (mod, _) in PEERS.items()}))
        return
    if args.impl not in PEERS:
        print(f"unknown peer '{args.impl}' (expected one of {', '.join(PEERS)})", file=sys.stderr)
        sys.exit(2)
    module, how = PEERS[args.impl]
    try:
        importlib.import_module(module)
    except ImportError:
        print(f"{args.impl} is not installed ({how})", file=sys.stderr)
        sys.exit(4)
    run(args)


if __name__ == "__main__":
    main()
