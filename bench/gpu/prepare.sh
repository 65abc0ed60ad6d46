#!/usr/bin/env bash
# On the development machine: builds the GPU tests and benchmark for sm_90 in
# build-cuda/, bundles them with the non-system libraries they need into
# .carry/devlibs.tar.xz (see ../shared/device/README.md) and copies the
# Fashion-MNIST files into .carry/fashion-mnist. Then run bench/gpu/run.sh on
# the GPU machine with `.carry` carried along.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${PRISM_CUDA_BUILD:-build-cuda}
export PATH=/usr/local/cuda/bin:$PATH
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPRISM_WITH_CUDA=ON -DPRISM_WITH_VIEWER=OFF \
        -DPRISM_CUDA_ARCHITECTURES=90
fi
targets=(prism_test_gpu_backend prism_test_gpu_kernels prism_bench_gpu)
nice cmake --build "$build" --target "${targets[@]}" -j1
exes=("$build/tests/prism_test_gpu_backend" "$build/tests/prism_test_gpu_kernels" "$build/bench/prism_bench_gpu")
../shared/device/bundle-libs -o .devlibs --exes --tar "${exes[@]}"
mkdir -p .carry
mv .devlibs.tar.xz .carry/devlibs.tar.xz
rm -rf .carry/fashion-mnist
cp -r /usr/share/datasets/fashion-mnist .carry/fashion-mnist
du -sh .carry/*
echo "prepare.sh: carry '.carry' and run: bash bench/gpu/run.sh"
