#pragma once
// The CUDA backend's entry points, as the engine sees them. This header builds
// with any C++ compiler: no CUDA types here (the Context is held by pointer in
// the implementation files). Each function throws prism::InputError /
// prism::RuntimeError (CUDA errors carry the failing call and its site).
#include <memory>
#include <string>

#include "prism/knn.hpp"
#include "prism/pca.hpp"
#include "prism/reducer.hpp"
#include "prism/tsne.hpp"
#include "prism/umap.hpp"

namespace prism::cuda {

/// True when a CUDA device can be used.
bool device_available();
/// "NVIDIA H200 (132 SMs, 139.8 GiB)" or the reason there is none.
std::string device_description();

/// Exact kNN by tiled distances (cuBLAS) + fused top-k; never writes N x N.
KnnGraph knn_exact(ConstView x, int k, Metric metric, Progress* progress);
/// Approximate kNN for millions of points (see kernels/knn for the method).
KnnGraph knn_approx(ConstView x, int k, Metric metric, uint64_t seed, Progress* progress);
/// PCA: covariance by cuBLAS SYRK, eigenvectors by cuSOLVER syevd.
PcaModel fit_pca(ConstView x, const PcaParams& params, Progress* progress);
/// GPU reducers: they execute the engine's plans (prism/tsne.hpp, prism/umap.hpp),
/// the same policy as the CPU reducers.
std::unique_ptr<Reducer> make_tsne(const KnnGraph& graph, const TsnePlan& plan);
std::unique_ptr<Reducer> make_umap(UmapPlan plan);
/// UMAP's spectral initialisation on the GPU (block subspace iteration): a
/// SpectralSolver for make_umap_plan; false when it did not converge.
bool umap_spectral_layout(const FuzzyGraph& graph, int dims, uint64_t seed, Matrix& out);

}  // namespace prism::cuda
