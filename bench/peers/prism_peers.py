#!/usr/bin/env python3
"""Runs a peer implementation on the same data as Prism, for `prism bench --peers`.

Usage: prism_peers.py --impl NAME --x X.npy --dims 2 --seed 1 --out Y.npy --report R.json
       [--perplexity 30] [--n-neighbors 15] [--min-dist 0.1] [--pca-dims 50] [--metric euclidean]
       [--seeded] [--no-warmup]
       prism_peers.py --list    (which peers are importable here, as JSON)

Peers: umap-learn (umap), opentsne (openTSNE), sklearn-tsne and sklearn-pca (scikit-learn).
t-SNE peers reduce D > 100 to --pca-dims with scikit-learn's PCA first, as their
documentation recommends and as Prism does; that time is included.

Peers run at their best unless asked otherwise:
- Unseeded and on all cores by default. --seed is only passed on as
  random_state with --seeded: a seeded umap-learn runs its SGD on one thread
  (its documented trade of speed for reproducibility), which made earlier
  ratios meaningless.
- umap-learn compiles its numba functions on first use (10-20 s). The same fit
  runs first on a 5,000-row slice (NN-descent forced, so that path compiles
  too) and that warm-up is excluded from "seconds" and reported as
  "warmup_seconds". openTSNE and scikit-learn have no JIT: their warm-up is 0.
  --no-warmup times a cold start instead.

The report (JSON): impl, version, seconds (wall time of the whole fit, kNN
included, warm-up excluded), warmup_seconds, seeded (true/false), threads
(threads of the main optimisation: 1 for a seeded umap-learn), peak_mib. A
missing package exits with code 4 and says how to install it: it never crashes
the benchmark that called it.
"""
import argparse
import importlib
import json
import os
import sys
import time

try:
    import numpy as np
except ImportError:  # the peers need numpy; say how to get it instead of a traceback
    print(f"numpy is not installed for {sys.executable} (pip install numpy umap-learn openTSNE scikit-learn)",
          file=sys.stderr)
    sys.exit(4)

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


def cpu_threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def pre_pca(x, dims, seed):
    if dims and x.shape[1] > 100 and dims < x.shape[1]:
        from sklearn.decomposition import PCA
        return PCA(n_components=dims, random_state=seed).fit_transform(x).astype(np.float32)
    return x


def fit(args, x, warmup=False):
    """One fit of the chosen peer; returns the embedding."""
    seed = args.seed if args.seeded else None
    if args.impl == "umap-learn":
        import umap
        # The warm-up slice is small; forcing NN-descent makes it compile the
        # same kNN code as the full run (below 4,096 rows umap-learn goes exact).
        return umap.UMAP(n_components=args.dims, n_neighbors=args.n_neighbors, min_dist=args.min_dist,
                         metric=args.metric, random_state=seed, n_jobs=1 if args.seeded else -1,
                         force_approximation_algorithm=warmup).fit_transform(x)
    if args.impl == "opentsne":
        from openTSNE import TSNE
        xr = pre_pca(x, args.pca_dims, seed)
        # openTSNE's negative-gradient method "auto" is FFT (2D only); 3D needs Barnes-Hut.
        method = "fft" if args.dims == 2 else "bh"
        return np.asarray(TSNE(n_components=args.dims, perplexity=args.perplexity, metric=args.metric,
                               negative_gradient_method=method, random_state=seed, n_jobs=-1).fit(xr))
    if args.impl == "sklearn-tsne":
        from sklearn.manifold import TSNE
        xr = pre_pca(x, args.pca_dims, seed)
        return TSNE(n_components=args.dims, perplexity=args.perplexity, init="pca", learning_rate="auto",
                    metric=args.metric, random_state=seed, n_jobs=-1).fit_transform(xr)
    if args.impl == "sklearn-pca":
        from sklearn.decomposition import PCA
        return PCA(n_components=args.dims, random_state=seed).fit_transform(x)
    raise SystemExit(f"unknown peer '{args.impl}' (expected one of {', '.join(PEERS)})")


# Peers whose first call compiles code (numba): only they get a warm-up run.
JIT_PEERS = {"umap-learn"}
WARMUP_ROWS = 5000


def run(args):
    x = np.load(args.x, mmap_mode="r").astype(np.float32)
    warmup = 0.0
    if args.impl in JIT_PEERS and not args.no_warmup:
        t0 = time.perf_counter()
        fit(args, np.ascontiguousarray(x[:min(len(x), WARMUP_ROWS)]), warmup=True)
        warmup = time.perf_counter() - t0
    t0 = time.perf_counter()
    y = fit(args, x)
    seconds = time.perf_counter() - t0
    np.save(args.out, np.ascontiguousarray(y, dtype=np.float32))
    threads = 1 if (args.impl == "umap-learn" and args.seeded) else cpu_threads()
    with open(args.report, "w") as f:
        import resource
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        json.dump({"impl": args.impl, "version": version(PEERS[args.impl][0]), "seconds": seconds,
                   "warmup_seconds": warmup, "seeded": bool(args.seeded), "threads": threads,
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
    p.add_argument("--seeded", action="store_true",
                   help="pass --seed as random_state (reproducible; umap-learn's SGD then runs on one thread)")
    p.add_argument("--no-warmup", action="store_true", help="time a cold start (JIT compile included)")
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
