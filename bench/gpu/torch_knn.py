#!/usr/bin/env python3
"""PyTorch brute-force kNN baseline for the CUDA backend's exact kNN rows.

Chunked q @ X.T on the GPU plus topk (k + 1, self dropped), fp32 and tf32, on
random data of the Fashion-MNIST shape (70k x 784) and 1M x 768. Prints one
line per case: shape, precision, seconds (CUDA-synchronised wall time of the
whole graph, data already on the device), as a baseline for bench_gpu's rows.
"""
import argparse
import time

import torch


def knn_graph(x, k, chunk):
    n = x.shape[0]
    norms = (x * x).sum(1)
    out_d = torch.empty(n, k, device=x.device)
    out_i = torch.empty(n, k, dtype=torch.int64, device=x.device)
    for s in range(0, n, chunk):
        q = x[s:s + chunk]
        d = norms[s:s + chunk, None] + norms[None, :] - 2.0 * (q @ x.T)
        d[torch.arange(q.shape[0], device=x.device), torch.arange(s, s + q.shape[0], device=x.device)] = float("inf")
        v, i = torch.topk(d, k, dim=1, largest=False)
        out_d[s:s + chunk] = v.clamp_min_(0).sqrt_()
        out_i[s:s + chunk] = i
    return out_d, out_i


def run(n, d, k, tf32, chunk):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(n, d, device="cuda", generator=g)
    knn_graph(x[: min(n, 4 * chunk)], k, chunk)  # warm-up
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    knn_graph(x, k, chunk)
    torch.cuda.synchronize()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=15)
    ap.add_argument("--skip-large", action="store_true", help="only the 70k x 784 case")
    ap.add_argument("--large-precisions", default="fp32,tf32",
                    help="precisions of the 1M x 768 case (fp32 takes ~50 s on an H200)")
    args = ap.parse_args()
    cases = [(70000, 784, 8192, ("fp32", "tf32"))]
    if not args.skip_large:
        cases.append((1000000, 768, 4096, tuple(args.large_precisions.split(","))))
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")
    for n, d, chunk, precisions in cases:
        for tf32 in [p == "tf32" for p in precisions]:
            secs = run(n, d, args.k, tf32, chunk)
            print(f"torch_knn {n}x{d} k={args.k} {'tf32' if tf32 else 'fp32'}: {secs:.3f} s", flush=True)


if __name__ == "__main__":
    main()
