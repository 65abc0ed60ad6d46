#!/usr/bin/env python3
"""Writes the scikit-learn reference that tests/unit/test_metrics.cpp checks
Prism's trustworthiness against: a seeded X (80 x 6), a noisy 2-D Y, and
sklearn.manifold.trustworthiness for k = 1..10 (euclidean and cosine).
Run from this folder: python3 make_metric_reference.py"""
import json

import numpy as np
from sklearn.manifold import trustworthiness

rng = np.random.default_rng(20261127)
x = rng.normal(size=(80, 6)).astype(np.float32)
y = (x[:, :2] + 0.6 * rng.normal(size=(80, 2))).astype(np.float32)
np.save("metric_x.npy", x)
np.save("metric_y.npy", y)
ref = {
    "euclidean": [trustworthiness(x, y, n_neighbors=k) for k in range(1, 11)],
    "cosine": [trustworthiness(x, y, n_neighbors=k, metric="cosine") for k in range(1, 11)],
    "sklearn": __import__("sklearn").__version__,
}
with open("metric_reference.json", "w") as f:
    json.dump(ref, f, indent=1)
