#!/usr/bin/env python3
"""GPU peer for Prism's reducers: TorchDR 0.5 (pure Python on PyTorch) UMAP and
t-SNE on all 70,000 Fashion-MNIST images, on the same GPU in the same run.

For each case it writes OUT/<name>.npy (the embedding, float32 n x dims) and
OUT/<name>.seconds (CUDA-synchronised wall time of fit_transform, data already
on the device) and prints one line. prism_bench_gpu scores the embeddings with
Prism's own metrics code (rows peer/<name>, PRISM_PEER_DIR=OUT), so both sides
get the same trustworthiness / kNN recall / 10-NN accuracy.

Inputs as Prism's bench rows use them: UMAP on the 784 raw pixels (n_neighbors
15, 2D and 3D), t-SNE on the 50-d PCA of the pixels (perplexity 30, 1000
iterations of which 250 early exaggeration, 2D and 3D). TorchDR's kNN backend
is faiss when importable, else plain torch (backend=None).

  python3 bench/gpu/torchdr_peers.py --data DIR --out DIR [--cases umap2,tsne2,...]
"""
import argparse
import gzip
import os
import sys
import time


def load_fashion_mnist(folder):
    import numpy as np

    parts = []
    for split in ("train", "t10k"):
        with gzip.open(os.path.join(folder, f"{split}-images-idx3-ubyte.gz")) as f:
            raw = f.read()
        # IDX: magic 0x00000803, count, 28, 28 (big-endian), then uint8 pixels.
        count = int.from_bytes(raw[4:8], "big")
        parts.append(np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 784))
    return np.concatenate(parts).astype(np.float32)


def install_sklearn_shim(folder):
    """TorchDR imports sklearn.base.BaseEstimator (a base class, nothing else on
    the paths used here) and sklearn.metrics.adjusted_rand_score (k-means
    evaluation only). Where scikit-learn is absent, a minimal stand-in."""
    try:
        import sklearn.base  # noqa: F401
        return False
    except ImportError:
        pass
    pkg = os.path.join(folder, "sklearn")
    os.makedirs(pkg, exist_ok=True)
    with open(os.path.join(pkg, "__init__.py"), "w") as f:
        f.write("# minimal stand-in written by bench/gpu/torchdr_peers.py\n")
    with open(os.path.join(pkg, "base.py"), "w") as f:
        f.write(
            "import inspect\n"
            "class BaseEstimator:\n"
            "    def get_params(self, deep=True):\n"
            "        names = [p for p in inspect.signature(type(self).__init__).parameters if p != 'self']\n"
            "        return {n: getattr(self, n, None) for n in names}\n"
            "    def set_params(self, **params):\n"
            "        for k, v in params.items():\n"
            "            setattr(self, k, v)\n"
            "        return self\n"
        )
    with open(os.path.join(pkg, "metrics.py"), "w") as f:
        f.write("def adjusted_rand_score(*args, **kwargs):\n"
                "    raise NotImplementedError('scikit-learn is not installed')\n")
    sys.path.insert(0, folder)
    return True


def pca50(x):
    import torch

    xc = x - x.mean(0, keepdim=True)
    cov = (xc.T.double() @ xc.double()) / (x.shape[0] - 1)
    _, vecs = torch.linalg.eigh(cov)
    return (xc.double() @ vecs[:, -50:].flip(1)).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder with the Fashion-MNIST IDX .gz files")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", default="umap2,tsne2,umap3,tsne3")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    shim = install_sklearn_shim(os.path.join(args.out, "_shim"))

    import numpy as np
    import torch
    import torchdr

    try:
        import faiss  # noqa: F401
        backend = "faiss"
    except ImportError:
        backend = None
    print(f"torchdr {torchdr.__version__}, torch {torch.__version__} on {torch.cuda.get_device_name(0)}; "
          f"kNN backend {backend or 'torch'}{'; scikit-learn shim' if shim else ''}", flush=True)

    x = torch.from_numpy(load_fashion_mnist(args.data)).cuda()
    x50 = pca50(x)
    torch.cuda.synchronize()
    for case in [c for c in args.cases.split(",") if c]:
        method, dims = case[:-1], int(case[-1])
        if method == "umap":
            model = torchdr.UMAP(n_components=dims, n_neighbors=15, device="cuda", backend=backend,
                                 random_state=args.seed, verbose=False)
            data = x
        elif method == "tsne":
            model = torchdr.TSNE(n_components=dims, perplexity=30, max_iter=1000, device="cuda",
                                 backend=backend, random_state=args.seed, verbose=False)
            data = x50
        else:
            sys.exit(f"unknown case {case!r} (umap2, umap3, tsne2, tsne3)")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        y = model.fit_transform(data)
        torch.cuda.synchronize()
        secs = time.perf_counter() - t0
        y = y.detach().cpu().numpy() if torch.is_tensor(y) else np.asarray(y)
        name = f"torchdr_{case}"
        np.save(os.path.join(args.out, name + ".npy"), y.astype(np.float32))
        with open(os.path.join(args.out, name + ".seconds"), "w") as f:
            f.write(f"{secs:.6f}\n")
        print(f"torchdr {case}: {secs:.3f} s", flush=True)


if __name__ == "__main__":
    main()
