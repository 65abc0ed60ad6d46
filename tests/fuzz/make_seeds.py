#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target (tests/fuzz/corpus/<target>/).

Small valid and nearly valid files of each format, so that libFuzzer starts
from inputs that reach deep into the readers. Deterministic: re-running it
rewrites the same bytes. Uses only the standard library.
    python3 tests/fuzz/make_seeds.py
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(descr, shape, payload, version=1, fortran=False):
    shape_text = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", shape_text)
    pre = 10 if version == 1 else 12
    h += " " * ((64 - (pre + len(h) + 1) % 64) % 64) + "\n"
    out = b"\x93NUMPY" + bytes([version, 0])
    out += struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return out + h.encode("latin-1") + payload


def floats(vals, fmt="<f"):
    return b"".join(struct.pack(fmt, v) for v in vals)


def idx_images(n, r, c, pixels):
    return struct.pack(">IIII", 0x803, n, r, c) + bytes(pixels)


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


# ---- npy
put("npy", "f4_3x4.npy", npy("<f4", (3, 4), floats([i * 0.5 for i in range(12)])))
put("npy", "f8_2x2.npy", npy("<f8", (2, 2), floats([1.5, -2, 3.25, 4], "<d")))
put("npy", "f2_2x2.npy", npy("<f2", (2, 2), struct.pack("<4H", 0x3C00, 0xC000, 0x3800, 0x0001)))
put("npy", "be_f4_2x1.npy", npy(">f4", (2, 1), floats([1, 2], ">f")))
put("npy", "u1_v2_2x3.npy", npy("|u1", (2, 3), bytes(range(6)), version=2))
put("npy", "i8_v3_2x2.npy", npy("<i8", (2, 2), struct.pack("<4q", -1, 2, 3, 1 << 40), version=3))
put("npy", "nan_3x2.npy", npy("<f4", (3, 2), floats([1, 2, float("nan"), 4, 5, 6])))
put("npy", "fortran.npy", npy("<f4", (2, 2), floats([1, 2, 3, 4]), fortran=True))
put("npy", "labels_1d.npy", npy("<i4", (3,), struct.pack("<3i", 1, 2, 3)))
put("npy", "truncated.npy", npy("<f4", (4, 4), floats([1, 2, 3])))

# ---- fvecs / bvecs
put("vecs", "a.fvecs", b"".join(struct.pack("<i", 3) + floats([i, i + 1, i + 2]) for i in range(3)))
put("vecs", "b.bvecs", b"".join(struct.pack("<i", 4) + bytes([i, 2 * i, 3 * i, 255]) for i in range(3)))
put("vecs", "ragged.fvecs", struct.pack("<i", 2) + floats([1, 2]) + struct.pack("<i", 3) + floats([1, 2]))

# ---- word2vec binary
w2v = b"3 4\n" + b"".join(w + b" " + floats([i, -i, 0.5, 2]) + b"\n" for i, w in enumerate([b"the", b"of", b"\xc3\xa9t\xc3\xa9"]))
put("word2vec", "three.bin", w2v)
put("word2vec", "no_newlines.bin", b"2 2\n" + b"a " + floats([1, 2]) + b"b " + floats([3, 4]))
put("word2vec", "truncated.bin", w2v[:-7])

# ---- word2vec text / GloVe / fastText
put("text", "glove.txt", "the 0.418 0.24968 -0.41242\n, 0.013441 0.23682 -0.16899\nking 1e-3 +2.5 -3.0E2\n")
put("text", "fasttext.vec", "2 3\r\nhello 1 2 3 \r\nworld 4 5 6 \r\n")
put("text", "w2v_text.txt", "3 2\na 1 2\nb 3 4\nc 5 6\n\n")
put("text", "odd_numbers.txt", "x nan inf\ny 1.00000000000000000001 -0\nz 3.4e38 1e-45\n")
put("text", "tabs_utf8.txt", "\xe4\xb8\xad\t1\t2\nw\t-1.5\t0.25\n")

# ---- TensorBoard vectors.tsv
put("tsv", "vectors.tsv", "1\t2\t3\n4\t5\t6\n7\t8\t9\n")
put("tsv", "spaces_crlf.tsv", "0.5 1.5\r\n-2 3e-2\r\n\r\n4 5")
put("tsv", "ragged.tsv", "1\t2\n3\n")

# ---- IDX images, plain and gzip'd
img = idx_images(3, 2, 2, range(12))
put("idx", "train-images-idx3-ubyte", img)
put("idx", "train-images-idx3-ubyte.gz", gzip.compress(img, mtime=0))
put("idx", "two_members.gz", gzip.compress(img[:10], mtime=0) + gzip.compress(img[10:], mtime=0))
put("idx", "truncated.gz", gzip.compress(img, mtime=0)[:-6])
put("idx", "labels-idx1-ubyte", idx_labels([0, 9, 3]))

# ---- metadata: 3-byte prefix (rows - 1 as uint16 LE, then the name: 0 tsv, 1 csv, 2 npy, 3 none)
def meta(rows, kind, data):
    if isinstance(data, str):
        data = data.encode()
    return struct.pack("<H", rows - 1) + bytes([kind]) + data


put("metadata", "one_column.tsv", meta(3, 0, "cat\ndog\ncat\n"))
put("metadata", "one_column_header.tsv", meta(4, 0, "label\na\nb\na\nb\n"))
put("metadata", "header_numbers.tsv", meta(3, 0, "digit\n1\n2\n3\n"))
put("metadata", "columns.tsv", meta(3, 0, "name\tkind\na\tx\nb\ty\nc\tx\n"))
put("metadata", "no_header_columns.tsv", meta(2, 0, "a\tx\nb\ty\n"))
put("metadata", "empty_values.tsv", meta(3, 0, "\n\nz\n\n"))
put("metadata", "quoted.csv", meta(3, 1, '\xef\xbb\xbfword,count\r\n"a,b",1\r\n"say ""hi""",2\r\n"two\nlines",3\r\n'))
put("metadata", "labels_i4.npy", meta(3, 2, npy("<i4", (3,), struct.pack("<3i", 7, -1, 7))))
put("metadata", "labels_u.npy", meta(2, 2, npy("<U3", (2,), "ab\0\0\u00e9\u4e2d\U0001F600".encode("utf-32-le"))))
put("metadata", "labels_f8_col.npy", meta(2, 2, npy(">f8", (2, 1), floats([0.5, 3], ">d"))))
put("metadata", "labels_bool.npy", meta(2, 2, npy("|b1", (2,), b"\x00\x01")))
put("metadata", "labels_s.npy", meta(2, 2, npy("|S4", (2,), b"ab\0\0abcd")))
put("metadata", "idx_labels", meta(3, 3, idx_labels([0, 9, 3])))
put("metadata", "gzip.tsv", meta(2, 0, gzip.compress(b"x\ny\n", mtime=0)))
put("metadata", "binary", meta(2, 3, b"\x00\x01\x02\x03abc"))
