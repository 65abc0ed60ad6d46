"""prism.metrics equals `prism metrics`; prism.load reads every format the
command reads; prism.to_tensorboard writes the projector bundle."""
from __future__ import annotations

import json
import struct
import subprocess

import numpy as np
import pytest

import prism
from conftest import FMNIST, blobs, prism_command


def test_metrics_equal_the_command(tmp_path, fmnist):
    x, labels = fmnist
    x, labels = x[:3000], labels[:3000]
    y = prism.PCA(n_components=2).fit_transform(x)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "labels.tsv").write_text("".join(f"{v}\n" for v in labels))
    for extra, kwargs in (([], {}), (["--k", "10", "--sample", "1000", "--seed", "3", "--kl"],
                                     dict(k=10, sample=1000, random_state=3, kl=True))):
        out = subprocess.run([prism_command(), "metrics", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"),
                              "--labels", str(tmp_path / "labels.tsv"), "--json", *extra],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        expected = json.loads(out.stdout)
        got = prism.metrics(x, y, labels=labels, **kwargs)
        assert got == expected
    # without labels: accuracy is None, as the command's null
    out = subprocess.run([prism_command(), "metrics", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert prism.metrics(x, y) == json.loads(out.stdout)
    assert prism.metrics(x, y)["knn_accuracy"] is None


def test_load_npy_zero_copy_and_converted(tmp_path):
    x, _ = blobs(n=50, d=4)
    np.save(tmp_path / "a.npy", x)
    a, meta = prism.load(tmp_path / "a.npy")
    np.testing.assert_array_equal(a, x)
    assert meta is None and a.dtype == np.float32 and not a.flags.writeable  # memory-mapped
    prism.PCA(n_components=2).fit(a)  # a read-only mapping is fine as input
    np.save(tmp_path / "b.npy", x.astype(np.float64))
    b, _ = prism.load(str(tmp_path / "b.npy"))
    np.testing.assert_array_equal(b, x)


def test_load_text_formats_with_metadata(tmp_path):
    pd = pytest.importorskip("pandas")
    x = np.arange(12, dtype=np.float32).reshape(4, 3) / 4
    words = ["cat", "dog", "fish", "bird"]
    (tmp_path / "glove.txt").write_text("".join(f"{w} " + " ".join(map(str, r)) + "\n" for w, r in zip(words, x)))
    g, meta = prism.load(tmp_path / "glove.txt")
    np.testing.assert_allclose(g, x)
    assert isinstance(meta, pd.DataFrame) and list(meta.iloc[:, 0]) == words
    (tmp_path / "vectors.tsv").write_text("".join("\t".join(map(str, r)) + "\n" for r in x))
    (tmp_path / "meta.tsv").write_text("label\tsize\ncat\t4\ndog\t5\nfish\t1\nbird\t2\n")
    v, meta = prism.load(tmp_path / "vectors.tsv", metadata=tmp_path / "meta.tsv")
    np.testing.assert_allclose(v, x)
    assert list(meta["label"]) == words and meta["size"].tolist() == [4, 5, 1, 2]
    assert meta.attrs["label_column"] == "label"
    with open(tmp_path / "x.fvecs", "wb") as f:
        for r in x:
            f.write(struct.pack("<i", 3) + r.astype("<f4").tobytes())
    fv, _ = prism.load(tmp_path / "x.fvecs")
    np.testing.assert_array_equal(fv, x)


def test_load_fashion_mnist_folder():
    x, meta = prism.load(FMNIST)
    assert x.shape == (70000, 784) and x.dtype == np.float32
    assert x.max() == 255 and meta is not None and len(meta) == 70000
    assert x.flags.writeable  # converted from uint8: the array is the caller's


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="no_such.npy: no such file"):
        prism.load(tmp_path / "no_such.npy")
    np.save(tmp_path / "t.npy", np.zeros((100, 4), np.float32))
    data = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(data[:-100])
    with pytest.raises(ValueError, match="t.npy byte offset .*truncated"):
        prism.load(tmp_path / "t.npy")
    (tmp_path / "bad.txt").write_text("a 1 2 3\nb 1 2\n")
    with pytest.raises(ValueError, match="bad.txt line 2"):
        prism.load(tmp_path / "bad.txt")


def test_to_tensorboard(tmp_path):
    pd = pytest.importorskip("pandas")
    y = np.array([[0, 1], [2, 3], [4, 5]], dtype=np.float32)
    folder = prism.to_tensorboard(tmp_path / "tb", y, pd.DataFrame({"label": ["a", "b", "c"], "n": [1, 2, 3]}),
                                  name='my "run"')
    files = sorted(p.name for p in (tmp_path / "tb").iterdir())
    assert folder == str(tmp_path / "tb") and files == ["metadata.tsv", "projector_config.pbtxt", "tensor.tsv"]
    assert (tmp_path / "tb" / "tensor.tsv").read_text().splitlines()[1].split("\t") == ["2", "3"]
    assert (tmp_path / "tb" / "metadata.tsv").read_text() == "label\tn\na\t1\nb\t2\nc\t3\n"
    config = (tmp_path / "tb" / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "my \\"run\\""' in config and "tensor_shape: 3" in config
    assert 'metadata_path: "metadata.tsv"' in config
    prism.to_tensorboard(tmp_path / "tb1", y, labels=[1, 2, 3])
    assert (tmp_path / "tb1" / "metadata.tsv").read_text() == "1\n2\n3\n"  # one column: no header
    prism.to_tensorboard(tmp_path / "tb2", y)
    assert not (tmp_path / "tb2" / "metadata.tsv").exists()
