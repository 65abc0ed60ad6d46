#!/usr/bin/env python3
"""Tables for bench/gpu/run.sh (runs on the GPU machine or here on fetched files).

  report.py bench BENCH.json
      Prism's rows with the H200 target beside each figure.
  report.py peers PEERS.json TORCH_KNN.txt [PRISM_BENCH.json ...]
      TorchDR's embeddings (scored by Prism's metrics) and PyTorch's brute-force
      kNN beside Prism's rows, as ratios (peer seconds / Prism seconds: above 1,
      Prism is faster). Missing inputs are reported, never fatal.

Google Benchmark's JSON may be cut short when a stage hits its time limit: the
rows written so far are still read.
"""
import json
import re
import sys

# Seconds on an H200 (and a quality floor where one is part of the target).
TARGETS = {
    "knn_exact/fmnist70k#784": (0.10, None),
    "knn_exact/mixture/rows:1000000/cols:768": (6.0, None),
    "knn_approx/mixture/rows:1000000/cols:768": (2.0, ("recall", 0.95)),
    "pca/mixture/rows:1000000/cols:768/dims:50": (0.1, None),
    "tsne/fmnist70k/dims:2": (1.5, None),
    "tsne/fmnist70k/dims:3": (2.5, None),
    "umap/fmnist70k/dims:2": (0.5, None),
    "umap/fmnist70k/dims:3": (0.5, None),
    "umap/mixture/rows:1000000/cols:128": (5.0, None),
    "umap/mixture/rows:10000000/cols:128": (90.0, None),
}
PEERS = {  # peer row -> Prism row
    "peer/torchdr_umap2": "umap/fmnist70k/dims:2",
    "peer/torchdr_umap3": "umap/fmnist70k/dims:3",
    "peer/torchdr_tsne2": "tsne/fmnist70k/dims:2",
    "peer/torchdr_tsne3": "tsne/fmnist70k/dims:3",
}
TORCH = {  # torch_knn case -> Prism row
    "70000x784": "knn_exact/fmnist70k#784",
    "1000000x768": "knn_exact/mixture/rows:1000000/cols:768",
}
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def load_rows(path):
    """name -> row dict, from a (possibly truncated) Google Benchmark JSON."""
    try:
        text = open(path).read()
    except OSError:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        cut = text.rfind("}")
        data = None
        while cut > 0 and data is None:
            try:
                data = json.loads(text[: cut + 1] + "]}")
            except ValueError:
                cut = text.rfind("}", 0, cut)
        if data is None:
            return {}
    rows = {}
    for b in data.get("benchmarks", []):
        name = re.sub(r"/(iterations:\d+|manual_time|real_time)", "", b["name"])
        rows[name] = b
    return rows


def seconds(b):
    return b["real_time"] * UNIT[b.get("time_unit", "ns")]


def metrics(b):
    return "  ".join(f"{k}={b[k]:.4f}" for k in ("recall", "trust", "knn_acc") if k in b)


def bench_table(path):
    rows = load_rows(path)
    if rows is None:
        print(f"report: {path} missing (the stage did not run its benchmark)")
        return 1
    print(f"{'benchmark':46s} {'seconds':>9s} {'target':>7s}       counters")
    bad = 0
    for name, b in rows.items():
        if b.get("error_occurred"):
            print(f"{name:46s} {'skipped':>9s}              {b.get('error_message', '')}")
            continue
        secs = seconds(b)
        target, floor = TARGETS.get(name, (None, None))
        mark = ""
        if target is not None:
            misses = [] if secs <= target else ["SLOW"]
            if floor and b.get(floor[0], 0) < floor[1]:
                misses.append(f"{floor[0]}<{floor[1]}")
            mark = " ".join(misses) or "ok"
            bad += 1 if misses else 0
        extra = metrics(b)
        if "knn_s" in b:
            extra += f"  (+ its GPU kNN {b['knn_s']:.3f} s)"
        print(f"{name:46s} {secs:9.3f} {'' if target is None else f'{target:7.2f}'} {mark:12s} {extra}")
    if not rows:
        print("report: no rows (the benchmark was cut short before its first row)")
        return 1
    return 0


def peers_table(peers_json, torch_txt, prism_jsons):
    prism = {}
    for p in prism_jsons:
        prism.update(load_rows(p) or {})
    if not prism:
        print("report: no Prism bench rows on this machine yet (run the bench stages first): peers alone")
    rows = load_rows(peers_json) or {}
    print("TorchDR 0.5 on Fashion-MNIST 70k (its time includes its kNN; Prism's row excludes"
          " its kNN, shown after '+')")
    print(f"{'case':22s} {'peer s':>8s} {'Prism s':>14s} {'ratio':>7s}   peer metrics | Prism metrics")
    for peer, mine in PEERS.items():
        b = rows.get(peer)
        if b is None or b.get("error_occurred"):
            print(f"{peer:22s} {'missing':>8s}   {b.get('error_message', '') if b else ''}")
            continue
        p = prism.get(mine)
        ps = seconds(b)
        if p and not p.get("error_occurred"):
            total = seconds(p) + p.get("knn_s", 0.0)
            mine_s = f"{seconds(p):.3f}+{p.get('knn_s', 0.0):.3f}"
            print(f"{peer:22s} {ps:8.3f} {mine_s:>14s} {ps / total:7.2f}   {metrics(b)} | {metrics(p)}")
        else:
            print(f"{peer:22s} {ps:8.3f} {'(no row)':>14s} {'':7s}   {metrics(b)}")
    print()
    print("PyTorch brute-force kNN, k = 15 (random data of the same shape; data on the device)")
    try:
        lines = [l for l in open(torch_txt) if l.startswith("torch_knn ")]
    except OSError:
        lines = []
    if not lines:
        print("  no torch_knn results")
    for l in lines:
        m = re.match(r"torch_knn (\d+x\d+) k=\d+ (\w+): ([\d.]+) s", l)
        if not m:
            continue
        case, prec, secs = m.group(1), m.group(2), float(m.group(3))
        p = prism.get(TORCH.get(case, ""))
        if p and not p.get("error_occurred"):
            print(f"  {case:12s} {prec}: torch {secs:8.3f} s, Prism {seconds(p):8.3f} s, ratio {secs / seconds(p):6.2f}")
        else:
            print(f"  {case:12s} {prec}: torch {secs:8.3f} s, Prism (no row)")
    return 0 if rows else 1


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "bench":
        sys.exit(bench_table(sys.argv[2]))
    if len(sys.argv) >= 4 and sys.argv[1] == "peers":
        sys.exit(peers_table(sys.argv[2], sys.argv[3], sys.argv[4:]))
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
