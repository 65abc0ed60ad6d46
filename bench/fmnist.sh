#!/usr/bin/env bash
# The Fashion-MNIST figures in bench/RESULTS.md: all 70,000 x 784 images,
# default parameters, end to end (load + kNN + reduce) on the CPU, with the
# peers run side by side on the same data and the same metrics.
#   bench/fmnist.sh            Prism UMAP/t-SNE 2D/3D, PCA, plus umap-learn and openTSNE
#   PEERS=0 bench/fmnist.sh    Prism only
# Peers: pip install umap-learn openTSNE scikit-learn (scikit-learn's t-SNE
# takes ~8 minutes here; it runs with SKLEARN=1).
set -euo pipefail
cd "$(dirname "$0")/.."
PRISM=${PRISM:-build/prism}
DATA=/usr/share/datasets/fashion-mnist
OUT=${OUT:-out/bench}
mkdir -p "$OUT"
PEERS_ARGS=()
if [ "${PEERS:-1}" = 1 ]; then
  names=umap-learn,opentsne
  [ "${SKLEARN:-0}" = 1 ] && names=$names,sklearn-tsne
  PEERS_ARGS=(--peers --peer-names "$names")
fi
$PRISM bench "$DATA" --methods umap,tsne --dims 2,3 --backends cpu --first-seed 1 "${PEERS_ARGS[@]}" \
  --out "$OUT/fmnist.md" --png "$OUT/fmnist.png"
# Whole commands, repeated (hyperfine from Debian): load + kNN + UMAP 2D.
if command -v hyperfine >/dev/null; then
  hyperfine --runs 3 --export-markdown "$OUT/fmnist-hyperfine.md" \
    "$PRISM -q reduce $DATA --method umap --dims 2 --seed 1 --out $OUT/u2.npy" \
    "$PRISM -q reduce $DATA --method tsne --dims 2 --seed 1 --out $OUT/t2.npy"
fi
