#!/usr/bin/env bash
# The Fashion-MNIST figures in bench/RESULTS.md: all 70,000 x 784 images,
# default parameters, end to end (load + kNN + reduce) on the CPU, with the
# peers run side by side on the same data and the same metrics.
#   bench/fmnist.sh            Prism UMAP 2D/3D, t-SNE 2D/3D, PCA 3D, plus umap-learn and openTSNE
#   PEERS=0 bench/fmnist.sh    Prism only
# Peers: pip install umap-learn openTSNE scikit-learn (scikit-learn's t-SNE
# takes ~8 minutes here; it runs with SKLEARN=1).
set -euo pipefail
cd "$(dirname "$0")/.."
PRISM=${PRISM:-build/prism}
DATA=/usr/share/datasets/fashion-mnist
OUT=${OUT:-out/bench}
mkdir -p "$OUT"
peers() { [ "${PEERS:-1}" = 1 ] && echo "--peers --peer-names $1"; }
tsne_peers=opentsne
[ "${SKLEARN:-0}" = 1 ] && tsne_peers=opentsne,sklearn-tsne
# UMAP 2D/3D beside umap-learn; t-SNE 2D beside openTSNE (and scikit-learn);
# t-SNE 3D (which openTSNE's FFT and tsne-cuda/cuML do not offer) and PCA.
$PRISM bench "$DATA" --methods umap --dims 2,3 --backends cpu $(peers umap-learn) --out "$OUT/fmnist-umap.md" --png "$OUT/fmnist-umap.png"
$PRISM bench "$DATA" --methods tsne --dims 2 --backends cpu $(peers $tsne_peers) --out "$OUT/fmnist-tsne2d.md" --png "$OUT/fmnist-tsne2d.png"
$PRISM bench "$DATA" --methods tsne,pca --dims 3 --backends cpu --out "$OUT/fmnist-3d.md" --png "$OUT/fmnist-3d.png"
# Whole commands, repeated (hyperfine from Debian): load + kNN + UMAP 2D.
if command -v hyperfine >/dev/null; then
  hyperfine --runs 3 --export-markdown "$OUT/fmnist-hyperfine.md" \
    "$PRISM -q reduce $DATA --method umap --dims 2 --seed 1 --out $OUT/u2.npy" \
    "$PRISM -q reduce $DATA --method tsne --dims 2 --seed 1 --out $OUT/t2.npy"
fi
