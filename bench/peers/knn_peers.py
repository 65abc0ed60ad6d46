#!/usr/bin/env python3
"""kNN graphs side by side: `prism knn` and pynndescent on the same data, in one run.

Usage: knn_peers.py --x X.npy [--metric cosine] [--k 15] [--prism build/prism]
                    [--repeat 3] [--sample 10000] [--truth CACHE.npy] [--report R.json]
                    [--impl prism,pynndescent] [--seeded] [--mode approx]

Both get k neighbours per point, the point itself excluded (pynndescent is asked
for k + 1 and its self entry dropped, as umap-learn does). Recall@k is counted
the same way for both: against exact neighbours of an evenly spaced sample of
--sample rows (numpy, cached in --truth), as Prism's knn_recall does.

The peer runs at its best: pynndescent's numba JIT is warmed on a 2,000-row
slice first (reported as warmup_s, excluded from seconds), unseeded and on all
cores unless --seeded. Prism's time is the kNN stage that `prism knn` reports
(loading the .npy excluded: it is memory-mapped); wall_s is its whole process.
Runs alternate (prism, peer, prism, peer, ...) so that a change in the
machine's load hits both; the table shows each run and the best of each.

Example (real sentence vectors from bench/data/make_text_vectors.py):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE data/venv/bin/python bench/peers/knn_peers.py \\
      --x data/text/words-minilm.npy --metric cosine --prism build/prism --repeat 3
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np


def sample_rows(n, m):
    m = min(n, m)
    return np.array([i * n // m for i in range(m)], dtype=np.int64)


def exact_neighbors(x, rows, k, metric):
    """Exact k nearest (self excluded) of x[rows] among all rows, nearest first."""
    x = np.asarray(x, dtype=np.float32)
    if metric == "cosine":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
    sq = (x.astype(np.float64) ** 2).sum(1)
    out = np.empty((len(rows), k), np.int64)
    for b in range(0, len(rows), 1024):
        r = rows[b:b + 1024]
        q = x[r]
        if metric == "cosine":
            d = -(q @ x.T).astype(np.float64)
        else:
            d = sq[r, None] + sq[None, :] - 2.0 * (q @ x.T).astype(np.float64)
        d[np.arange(len(r)), r] = np.inf
        part = np.argpartition(d, k, axis=1)[:, :k + 1]
        # Re-rank the candidates by exact distances (the GEMM form cancels small ones).
        for i, ri in enumerate(r):
            c = part[i][part[i] != ri]
            diff = x[c] - x[ri]
            dd = (diff.astype(np.float64) ** 2).sum(1)
            out[b + i] = c[np.argsort(dd, kind="stable")][:k]
    return out


def load_truth(args, x):
    rows = sample_rows(len(x), args.sample)
    path = args.truth or f"{os.path.splitext(args.x)[0]}.truth-{args.metric}-k{args.k}-s{len(rows)}.npy"
    if os.path.exists(path):
        t = np.load(path)
        if t.shape == (len(rows), args.k):
            return rows, t, path, 0.0
    t0 = time.perf_counter()
    t = exact_neighbors(x, rows, args.k, args.metric)
    secs = time.perf_counter() - t0
    np.save(path, t)
    return rows, t, path, secs


def recall(graph, rows, truth):
    hits = sum(len(np.intersect1d(graph[r], truth[i])) for i, r in enumerate(rows))
    return hits / truth.size


def drop_self(ind, k):
    out = np.empty((len(ind), k), np.int64)
    for i, row in enumerate(ind):
        row = row[row != i]
        out[i] = row[:k]
    return out


def run_prism(args, tmp, run):
    out = os.path.join(tmp, "prism-knn.npy")
    cmd = [args.prism, "knn", args.x, "--k", str(args.k), "--metric", args.metric, "--mode", args.mode,
           "--out", out]
    if args.seeded:
        cmd += ["--seed", str(args.seed + run)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"prism knn failed ({p.returncode}): {p.stderr.strip()}")
    m = re.search(r"k = \d+ in ([0-9.eE+-]+) s", p.stderr)
    return np.load(out), (float(m.group(1)) if m else wall), wall


_WARM = {}


def run_pynndescent(args, x, run):
    import pynndescent
    seed = args.seed + run if args.seeded else None
    warm = 0.0
    if "pynndescent" not in _WARM:
        # Compiles every numba function the full run uses (same metric, same k).
        t0 = time.perf_counter()
        small = np.ascontiguousarray(x[:2000])
        pynndescent.NNDescent(small, metric=args.metric, n_neighbors=args.k + 1, random_state=seed,
                              n_jobs=-1).neighbor_graph
        warm = _WARM["pynndescent"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = pynndescent.NNDescent(x, metric=args.metric, n_neighbors=args.k + 1, random_state=seed,
                                  n_jobs=1 if args.seeded else -1)
    ind, _ = index.neighbor_graph
    secs = time.perf_counter() - t0
    return drop_self(ind, args.k), secs, warm, pynndescent.__version__


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--x", required=True, help="N x D float32 .npy")
    p.add_argument("--metric", default="euclidean", choices=["euclidean", "cosine"])
    p.add_argument("--k", type=int, default=15)
    p.add_argument("--prism", default="prism", help="the prism executable (e.g. build/prism)")
    p.add_argument("--mode", default="approx", help="prism knn --mode (approx, auto, exact)")
    p.add_argument("--impl", default="prism,pynndescent")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--sample", type=int, default=10000)
    p.add_argument("--truth", help="cache of the sample's exact neighbours (default beside --x)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seeded", action="store_true", help="seed both (pynndescent then runs on one thread)")
    p.add_argument("--report", help="write the results as JSON")
    args = p.parse_args()
    impls = args.impl.split(",")

    x = np.load(args.x, mmap_mode="r")
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, truth, truth_path, truth_s = load_truth(args, x)
    print(f"{args.x}: {x.shape[0]} x {x.shape[1]}, {args.metric}, k = {args.k}; exact neighbours of "
          f"{len(rows)} rows {'computed in %.1f s' % truth_s if truth_s else 'from'} {truth_path}", file=sys.stderr)
    load = os.getloadavg()[0]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            for impl in impls:
                if impl == "prism":
                    g, secs, wall = run_prism(args, tmp, r)
                    runs.append({"impl": "prism", "run": r, "seconds": secs, "wall_s": wall,
                                 "recall": recall(g, rows, truth)})
                elif impl == "pynndescent":
                    g, secs, warm, ver = run_pynndescent(args, x, r)
                    runs.append({"impl": f"pynndescent {ver}", "run": r, "seconds": secs, "warmup_s": warm,
                                 "recall": recall(g, rows, truth)})
                else:
                    raise SystemExit(f"unknown implementation '{impl}' (prism, pynndescent)")
                e = runs[-1]
                print(f"  run {r}: {e['impl']:<20} {e['seconds']:8.2f} s  recall@{args.k} {e['recall']:.4f}"
                      + (f"  (JIT warm-up {e['warmup_s']:.1f} s, excluded)" if e.get("warmup_s") else ""),
                      file=sys.stderr)
    best = {}
    for e in runs:
        if e["impl"] not in best or e["seconds"] < best[e["impl"]]["seconds"]:
            best[e["impl"]] = e
    print(f"\nbest of {args.repeat} (load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end, {len(os.sched_getaffinity(0))} threads):")
    print(f"| implementation | seconds | recall@{args.k} | time vs prism |")
    print("|---|---|---|---|")
    ref = best.get("prism")
    for name, e in best.items():
        ratio = f"{e['seconds'] / ref['seconds']:.2f}x" if ref else ""
        print(f"| {name} | {e['seconds']:.2f} | {e['recall']:.4f} | {ratio} |")
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"x": args.x, "n": int(x.shape[0]), "d": int(x.shape[1]), "metric": args.metric,
                       "k": args.k, "sample": int(len(rows)), "seeded": args.seeded,
                       "threads": len(os.sched_getaffinity(0)), "load_start": load,
                       "load_end": os.getloadavg()[0], "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
