"""While Prism computes: the GIL is released, Ctrl-C raises KeyboardInterrupt
within a second and leaves the estimator unfitted, verbose shows progress,
warnings reach Python's warnings."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import prism
from conftest import blobs

CHILD = textwrap.dedent("""
    import sys, time, numpy as np, prism
    what = sys.argv[1]
    x = np.random.default_rng(0).normal(size=(int(sys.argv[2]), int(sys.argv[3]))).astype(np.float32)
    est = {"tsne": lambda: prism.TSNE(max_iter=10**6, random_state=0),
           "umap": lambda: prism.UMAP(n_epochs=10**6, random_state=0),
           "umap-knn": lambda: prism.UMAP(knn="exact", random_state=0)}[what]()
    # a quick fit first: the interrupted one must not leave it in place
    quick = {"tsne": {"max_iter": 250}, "umap": {"n_epochs": 20}, "umap-knn": {}}[what]
    slow = {k: getattr(est, k) for k in quick}
    est.set_params(**quick).fit(x[:300])
    assert hasattr(est, "embedding_")
    est.set_params(**slow)
    print("started", flush=True)
    t0 = time.monotonic()
    try:
        est.fit(x)
    except KeyboardInterrupt:
        print("caught at", time.monotonic(), flush=True)
        print("fitted" if hasattr(est, "embedding_") else "unfitted", flush=True)
        print(prism.PCA(n_components=2).fit_transform(x[:100]).shape, flush=True)  # still usable
        sys.exit(0)
    print("finished", flush=True)
    sys.exit(1)
""")


def interrupt(what: str, n: int, d: int, after: float):
    p = subprocess.Popen([sys.executable, "-c", CHILD, what, str(n), str(d)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "started"
    time.sleep(after)
    assert p.poll() is None, p.communicate()
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    exited = time.monotonic() - sent
    caught = [float(line.split()[-1]) for line in out.splitlines() if line.startswith("caught at")]
    latency = caught[0] - sent if caught else float("inf")  # CLOCK_MONOTONIC is system-wide
    # The work itself stopped too (at its next progress report): the process
    # exits at once, not after the 30 s the exit handler waits for a job left running.
    assert exited < 10, f"the interrupted process took {exited:.1f} s to exit"
    return p.returncode, out, err, latency


@pytest.mark.parametrize("what,n,d,after", [("tsne", 3000, 20, 3.0), ("umap", 3000, 20, 3.0),
                                            ("umap", 3000, 20, 0.8)])
def test_ctrl_c(what, n, d, after):
    """In the optimiser, and (0.8 s) in UMAP's spectral start, a stage without reports."""
    code, out, err, latency = interrupt(what, n, d, after=after)
    assert code == 0, (out, err)
    assert "unfitted" in out and "(100, 2)" in out, out
    assert latency < 1.0, f"KeyboardInterrupt took {latency:.2f} s"


def test_ctrl_c_in_the_knn_stage():
    # 30,000 x 256 exact search runs for many seconds here; the interrupt lands in it
    code, out, err, latency = interrupt("umap-knn", 30000, 256, after=1.0)
    assert code == 0, (out, err)
    assert "unfitted" in out, out
    assert latency < 1.0, f"KeyboardInterrupt took {latency:.2f} s"


def test_the_gil_is_released():
    x, _ = blobs(n=3000, d=20)
    done = threading.Event()
    ticks = 0

    def work():
        prism.TSNE(max_iter=400, random_state=0).fit(x)
        done.set()

    t = threading.Thread(target=work)
    start = time.monotonic()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.monotonic() - start
    # with the GIL held by fit, the main thread would not run until it returned
    assert elapsed > 0.2 and ticks > 50, (ticks, elapsed)


def test_verbose_shows_progress(capfd):
    x, _ = blobs(n=400, d=10)
    prism.UMAP(verbose=True, random_state=0).fit(x)
    err = capfd.readouterr().err
    for stage in ("knn", "optimise"):
        assert re.search(rf"\[prism\] {stage} done in [0-9.]+ s", err), err
    prism.UMAP(verbose=False, random_state=0).fit(x)
    assert "[prism]" not in capfd.readouterr().err


def test_threads_and_reproducibility():
    x, _ = blobs(n=500, d=10)
    a = prism.UMAP(random_state=11, n_jobs=1).fit_transform(x)
    b = prism.UMAP(random_state=11, n_jobs=1).fit_transform(x)
    np.testing.assert_array_equal(a, b)
    u = prism.UMAP(n_epochs=30).fit(x)
    assert isinstance(u.run_info_["seed"], int)
    assert prism.UMAP(random_state=np.random.RandomState(0), n_epochs=30).fit(x).run_info_["seed"] >= 0

