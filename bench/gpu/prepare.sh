#!/usr/bin/env bash
# On the development machine: builds every gpu test and the GPU benchmark for
# sm_90 twice, a Release build in build-cuda/ and a sync-debug one
# (-DPRISM_CUDA_SYNC_DEBUG=ON: every launch waits and checks) in
# build-cuda-sync/, bundles them with the non-system libraries they need
# (../shared/device/README.md) into .carry/devlibs.tar.xz, the sync-debug
# tests named <test>-sync, and puts Fashion-MNIST and the TorchDR 0.5 wheel
# (pure Python; installed there with --no-deps) into .carry/. Then, on the GPU
# machine, with `.carry` carried: bash bench/gpu/run.sh STAGE (kernels/README.md).
#
#   PRISM_BUILD_JOBS   parallel build jobs (default 2)
#   PRISM_NO_SYNC=1    skip the sync-debug build (run.sh then tests the Release one)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export PATH=/usr/local/cuda/bin:$PATH
jobs=${PRISM_BUILD_JOBS:-2}
tests=()
for f in tests/gpu/test_gpu_*.cpp tests/gpu/test_gpu_*.cu; do
  [ -e "$f" ] && tests+=("prism_$(basename "${f%.*}")")
done

build() {  # dir, targets..., then cmake options after --
  local dir=$1; shift
  local targets=() opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do targets+=("$1"); shift; done
  [ $# -gt 0 ] && shift && opts=("$@")
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DPRISM_WITH_CUDA=ON -DPRISM_WITH_VIEWER=OFF \
        -DPRISM_CUDA_ARCHITECTURES=90 "${opts[@]}" > "$dir.configure.log"
  nice cmake --build "$dir" --target "${targets[@]}" -j"$jobs"
}

build build-cuda "${tests[@]}" prism_bench_gpu -- -DPRISM_CUDA_SYNC_DEBUG=OFF
exes=()
for t in "${tests[@]}"; do exes+=("build-cuda/tests/$t"); done
exes+=(build-cuda/bench/prism_bench_gpu)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
if [ -z "${PRISM_NO_SYNC:-}" ]; then
  build build-cuda-sync "${tests[@]}" -- -DPRISM_CUDA_SYNC_DEBUG=ON
  for t in "${tests[@]}"; do
    cp "build-cuda-sync/tests/$t" "$stage/$t-sync"
    exes+=("$stage/$t-sync")
  done
fi
# Symbols are not needed there; stripped copies keep the carry small.
for i in "${!exes[@]}"; do
  [[ "${exes[$i]}" == "$stage/"* ]] || { cp "${exes[$i]}" "$stage/"; exes[$i]=$stage/$(basename "${exes[$i]}"); }
  strip --strip-unneeded "${exes[$i]}"
done
../shared/device/bundle-libs -o .devlibs --exes --tar "${exes[@]}"
mkdir -p .carry
mv .devlibs.tar.xz .carry/devlibs.tar.xz
rm -rf .carry/fashion-mnist
cp -r /usr/share/datasets/fashion-mnist .carry/fashion-mnist
if ! ls .carry/torchdr-0.5-*.whl >/dev/null 2>&1; then
  python3 -m pip download -q torchdr==0.5 --no-deps -d .carry
fi
{
  echo "commit $(git rev-parse --short HEAD)$(git diff --quiet -- kernels tests bench || echo ' + local changes')"
  echo "built $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -m) for sm_90; sync-debug: ${PRISM_NO_SYNC:+not }built"
  printf '%s\n' "${exes[@]##*/}"
} > .carry/MANIFEST.txt
du -sh .carry/*
total=$(du -sm .carry | cut -f1)
[ "$total" -le 64 ] || echo "prepare.sh: WARNING: .carry is ${total} MiB, above the 64 MiB a run carries" >&2
echo "prepare.sh: carry '.carry' and run on the GPU machine: bash bench/gpu/run.sh smoke (then tests, bench-knn, bench-reducers, peers)"
