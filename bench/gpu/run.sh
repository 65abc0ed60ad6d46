#!/usr/bin/env bash
# On the GPU machine (bare: driver, CUDA toolkit, python3 + PyTorch, no Debian
# -dev packages), from the repository root with .carry/ from prepare.sh:
#
#   bash bench/gpu/run.sh [STAGE ...]      (no stage: smoke tests bench-knn bench-reducers peers)
#
# Stages, each a separate command of at most ~4 minutes that prints its own
# table; a failed stage never hides another's results:
#   smoke           device, memory pools, one kernel, one cuBLAS call, a small exact
#                   kNN against the CPU (under a minute)
#   tests           every gpu test; the sync-debug build (kernel faults reported at
#                   their launch) unless PRISM_GPU_SYNC_DEBUG=0
#   bench-knn       exact / approximate kNN and PCA rows with their H200 targets
#   bench-reducers  t-SNE and UMAP rows (Fashion-MNIST, 1M x 128) with their targets
#   bench           both bench stages (two stages' time: prefer two commands)
#   large           UMAP 10M x 128 (<= 90 s target; minutes of host-side set-up)
#   peers           PyTorch brute-force kNN and TorchDR 0.5 UMAP / t-SNE on
#                   Fashion-MNIST, scored by Prism's metrics, ratios to the bench rows
#
# Results: $OUT/<stage>/ (OUT defaults to /tmp/prism-gpu-out) and a copy in
# /tmp/prism-gpu-results/<stage>/ that later commands on the same machine read
# (peers reports ratios to the bench rows from there). Environment:
#   PRISM_STAGE_SECONDS  wall limit of one stage (default 230)
#   PRISM_GPU_DRY_RUN=1  run the stages without a GPU (they skip or fail; for
#                        checking the script itself on the development machine)
# Exit status: the number of failed stages (0: all passed).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-/tmp/prism-gpu-out}
keep=/tmp/prism-gpu-results
libs=/tmp/prism-devlibs
limit=${PRISM_STAGE_SECONDS:-230}
mkdir -p "$out" "$keep"

die() { echo "run.sh: $*" >&2; exit 3; }

# ---- set-up shared by every stage (idempotent, seconds) ----------------------
setup() {
  if [ -z "${PRISM_GPU_DRY_RUN:-}" ]; then
    command -v nvidia-smi >/dev/null || die "no NVIDIA driver here (nvidia-smi not found): this script runs on the GPU machine (see kernels/README.md)"
    nvidia-smi -L >/dev/null 2>&1 || die "nvidia-smi sees no GPU: $(nvidia-smi -L 2>&1 | head -1)"
  fi
  [ -f .carry/devlibs.tar.xz ] || die ".carry/devlibs.tar.xz missing: run bench/gpu/prepare.sh on the development machine and carry .carry"
  local stamp
  stamp=$(cksum < .carry/devlibs.tar.xz)
  if [ "$(cat "$libs/.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$libs" && mkdir -p "$libs"
    tar -xJf .carry/devlibs.tar.xz -C "$libs" || die "cannot unpack .carry/devlibs.tar.xz"
    echo "$stamp" > "$libs/.stamp"
  fi
  export LD_LIBRARY_PATH=$libs:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # bench_data.hpp reads Fashion-MNIST from Debian's dataset folder.
  if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -d .carry/fashion-mnist ]; then
    mkdir -p /usr/share/datasets 2>/dev/null && cp -r .carry/fashion-mnist /usr/share/datasets/ 2>/dev/null ||
      echo "run.sh: cannot copy Fashion-MNIST to /usr/share/datasets: its rows will be skipped" >&2
  fi
  if [ -z "${PRISM_GPU_DRY_RUN:-}" ]; then
    export PRISM_REQUIRE_GPU=1  # a gpu test that would skip fails instead
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$out/device.txt" 2>&1
  else
    echo "dry run: no GPU" > "$out/device.txt"
  fi
}

# Seconds left for the current stage.
left() { echo $(( stage_end - $(date +%s) )); }

# Runs "$@" with what is left of the stage (less $reserve seconds kept for
# later steps), at most $1 seconds.
reserve=0
within() {
  local cap=$1; shift
  local t; t=$(( $(left) - reserve ))
  [ "$t" -gt "$cap" ] && t=$cap
  if [ "$t" -le 5 ]; then echo "run.sh: no time left for: $*" >&2; return 124; fi
  timeout --kill-after=10 "$t" "$@"
}

# Google Test binary -> one table row (passed / failed / skipped from its JSON).
gtest_row() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
path, name, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    suites = json.load(open(path))["testsuites"]
except Exception:
    print(f"{name:34s} {'no report':>8s} (exit {rc}{', timed out' if rc in (124, 137) else ''})")
    sys.exit()
p = f = s = 0
failed = []
for suite in suites:
    for t in suite["testsuite"]:
        if t.get("result") == "SKIPPED" or t.get("status") == "NOTRUN":
            s += 1
        elif t.get("failures"):
            f += 1
            failed.append(suite["name"] + "." + t["name"])
        else:
            p += 1
print(f"{name:34s} {p:6d} {f:6d} {s:7d}   exit {rc}")
for t in failed:
    print(f"    FAILED {t}")
PY
}

# ---- stages -------------------------------------------------------------------

stage_smoke() {
  local d=$1
  within 60 "$libs/bin/prism_test_gpu_smoke" --gtest_brief=1 --gtest_output="json:$d/smoke.json" > "$d/smoke.log" 2>&1
  local rc=$?
  echo "device: $(cat "$out/device.txt")"
  grep '^smoke:' "$d/smoke.log" || tail -n 20 "$d/smoke.log"
  echo "tests   passed failed skipped"
  gtest_row "$d/smoke.json" prism_test_gpu_smoke $rc
  return $rc
}

stage_tests() {
  local d=$1 bin=$libs/bin suffix=-sync variant="sync-debug"
  if [ "${PRISM_GPU_SYNC_DEBUG:-1}" = 0 ] || ! ls "$bin"/prism_test_gpu_*-sync >/dev/null 2>&1; then
    suffix="" variant="release"
  fi
  echo "gpu tests, $variant build (one line per executable)"
  printf '%-34s %6s %6s %7s\n' executable passed failed skipped
  local failed=0 t name rc
  for t in "$bin"/prism_test_gpu_*"$suffix"; do
    [ -n "$suffix" ] || [[ "$t" != *-sync ]] || continue
    name=$(basename "$t")
    within 600 "$t" --gtest_brief=1 --gtest_output="json:$d/$name.json" > "$d/$name.log" 2>&1
    rc=$?
    gtest_row "$d/$name.json" "$name" $rc | tee -a "$d/table.txt"
    [ $rc -eq 0 ] || failed=$((failed + 1))
  done
  [ $failed -eq 0 ]
}

run_bench() {  # dir name filter [env...]
  local d=$1 name=$2 filter=$3; shift 3
  within 600 env "$@" "$libs/bin/prism_bench_gpu" --benchmark_filter="$filter" \
    --benchmark_out="$d/$name.json" --benchmark_out_format=json > "$d/$name.txt" 2>&1
  local rc=$?
  python3 bench/gpu/report.py bench "$d/$name.json" || tail -n 30 "$d/$name.txt"
  return $rc
}

stage_bench_knn() { run_bench "$1" bench_knn '^(knn_exact|knn_approx|pca)/'; }
stage_bench_reducers() { run_bench "$1" bench_reducers '^(tsne|umap/fmnist|umap/mixture/rows:1000000/)'; }
stage_large() { run_bench "$1" bench_large '^umap/mixture/rows:10000000/' PRISM_BENCH_LARGE=1; }

stage_peers() {
  local d=$1 rc=0 data=/usr/share/datasets/fashion-mnist
  [ -d "$data" ] || data=.carry/fashion-mnist
  reserve=50  # the scoring at the end
  # PyTorch brute-force kNN: 70k x 784 in fp32 and tf32, 1M x 768 in tf32.
  within 50 python3 bench/gpu/torch_knn.py --large-precisions tf32 2>&1 | tee "$d/torch_knn.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
  # TorchDR 0.5 from the carried wheel, without its dependencies (torch is there).
  local py=/tmp/prism-torchdr
  if ! PYTHONPATH=$py python3 -c 'import torchdr' 2>/dev/null; then
    local whl
    whl=$(ls .carry/torchdr-*.whl 2>/dev/null | head -1)
    [ -n "$whl" ] && python3 -m pip install -q --no-deps --no-index --target "$py" "$whl" > "$d/pip.log" 2>&1
  fi
  mkdir -p "$d/embeddings"
  local case
  for case in umap2 tsne2 umap3 tsne3; do
    PYTHONPATH=$py within 40 python3 bench/gpu/torchdr_peers.py --data "$data" --out "$d/embeddings" \
      --cases "$case" 2>&1 | tee -a "$d/torchdr.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
  done
  reserve=0
  # The same metrics code as Prism's rows.
  within 120 env PRISM_PEER_DIR="$d/embeddings" "$libs/bin/prism_bench_gpu" --benchmark_filter='^peer/' \
    --benchmark_out="$d/peers.json" --benchmark_out_format=json > "$d/peers_bench.txt" 2>&1 || rc=1
  python3 bench/gpu/report.py peers "$d/peers.json" "$d/torch_knn.txt" \
    "$keep/bench-knn/bench_knn.json" "$keep/bench-reducers/bench_reducers.json" || rc=1
  return $rc
}

# ---- driver -------------------------------------------------------------------
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(smoke tests bench-knn bench-reducers peers)
expanded=()
for s in "${stages[@]}"; do
  case $s in
    bench) expanded+=(bench-knn bench-reducers) ;;
    all) expanded+=(smoke tests bench-knn bench-reducers peers large) ;;
    smoke|tests|bench-knn|bench-reducers|large|peers) expanded+=("$s") ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) die "unknown stage '$s' (smoke, tests, bench-knn, bench-reducers, bench, large, peers, all)" ;;
  esac
done
setup

declare -a summary
failures=0
for s in "${expanded[@]}"; do
  d=$out/$s
  rm -rf "$d" && mkdir -p "$d"
  echo
  echo "==== $s ($(cat "$out/device.txt")) ===="
  start=$(date +%s)
  stage_end=$((start + limit))
  "stage_${s//-/_}" "$d" 2>&1 | tee "$d/summary.txt"
  rc=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  status=$([ "$rc" -eq 0 ] && echo PASS || echo "FAIL (exit $rc)")
  echo "stage $s: $status in ${secs} s" | tee -a "$d/summary.txt"
  summary+=("$(printf '%-16s %-16s %5d s' "$s" "$status" "$secs")")
  [ "$rc" -eq 0 ] || failures=$((failures + 1))
  rm -rf "${keep:?}/$s" && cp -r "$d" "$keep/$s"
done
echo
echo "==== stages ===="
printf '%s\n' "${summary[@]}"
exit $failures
