#!/usr/bin/env bash
# On the GPU machine (bare: driver, CUDA toolkit, python3 + PyTorch, no Debian
# -dev packages), from the repository root with .carry/ from prepare.sh:
# unpacks the bundled binaries and libraries, runs the gpu tests, the GPU
# benchmarks and the PyTorch kNN baseline, and prints a short table.
#
#   PRISM_GPU_STAGES   which of "tests bench torch" to run (default: all three)
#   PRISM_BENCH_FILTER Google Benchmark filter (default: all rows but the 10M one)
#   PRISM_BENCH_LARGE  1 to include the UMAP 10M x 128 row
# Logs and bench_gpu.json go to $OUT (or /tmp/prism-gpu-out).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-/tmp/prism-gpu-out}
mkdir -p "$out"
stages=${PRISM_GPU_STAGES:-"tests bench torch"}

if [ -d .gl ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
libs=/tmp/prism-devlibs
rm -rf "$libs" && mkdir -p "$libs"
tar -xJf .carry/devlibs.tar.xz -C "$libs" || { echo "run.sh: .carry/devlibs.tar.xz missing (run bench/gpu/prepare.sh)"; exit 2; }
export LD_LIBRARY_PATH=$libs:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# bench_data.hpp reads Fashion-MNIST from Debian's dataset folder.
if [ -d .carry/fashion-mnist ] && [ ! -d /usr/share/datasets/fashion-mnist ]; then
  mkdir -p /usr/share/datasets && cp -r .carry/fashion-mnist /usr/share/datasets/
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/device.txt"

declare -A result
if [[ " $stages " == *" tests "* ]]; then
  for t in "$libs"/bin/prism_test_gpu_*; do
    name=$(basename "$t")
    timeout 600 "$t" --gtest_brief=1 > "$out/$name.log" 2>&1
    rc=$?
    tail -n 30 "$out/$name.log"
    result[$name]=$([ $rc -eq 0 ] && echo PASS || echo "FAIL ($rc)")
  done
fi

if [[ " $stages " == *" bench "* ]]; then
  filter=${PRISM_BENCH_FILTER:-.}
  timeout 900 "$libs/bin/prism_bench_gpu" --benchmark_filter="$filter" \
    --benchmark_out="$out/bench_gpu.json" --benchmark_out_format=json 2>&1 | tee "$out/bench_gpu.txt"
fi

if [[ " $stages " == *" torch "* ]]; then
  large=""
  [ -n "${PRISM_TORCH_SMALL:-}" ] && large="--skip-large"
  timeout 600 python3 bench/gpu/torch_knn.py $large 2>&1 | tee "$out/torch_knn.txt"
fi

echo
echo "==== summary ($(cat "$out/device.txt" 2>/dev/null)) ===="
for name in "${!result[@]}"; do printf '%-32s %s\n' "$name" "${result[$name]}"; done
if [ -f "$out/bench_gpu.json" ]; then
  python3 - "$out/bench_gpu.json" <<'PY'
import json, sys
targets = {  # seconds, on an H200
    "knn_exact/fmnist70k#784": 0.10, "knn_exact/mixture/rows:1000000/cols:768": 6.0,
    "knn_approx/mixture/rows:1000000/cols:768": 2.0, "tsne/fmnist70k/dims:2": 1.5,
    "tsne/fmnist70k/dims:3": 2.5, "umap/fmnist70k": 0.5,
    "umap/mixture/rows:1000000/cols:128": 5.0, "umap/mixture/rows:10000000/cols:128": 90.0,
}
rows = json.load(open(sys.argv[1]))["benchmarks"]
print(f"{'benchmark':46s} {'seconds':>9s} {'target':>7s}  counters")
for b in rows:
    name = b["name"].split("/iterations")[0].replace("/manual_time", "")
    if b.get("error_occurred"):
        print(f"{name:46s} {'skipped':>9s}          {b.get('error_message', '')}")
        continue
    secs = b["real_time"] / {"ms": 1e3, "us": 1e6, "ns": 1e9, "s": 1}[b["time_unit"]]
    extra = "  ".join(f"{k}={b[k]:.4g}" for k in ("recall", "trust", "knn_acc") if k in b)
    t = targets.get(name)
    mark = "" if t is None else ("ok" if secs <= t else "SLOW")
    print(f"{name:46s} {secs:9.3f} {('' if t is None else t):>7} {mark:4s} {extra}")
PY
fi
grep -h "torch_knn" "$out/torch_knn.txt" 2>/dev/null
