// Picks the CPU or the CUDA implementation (one file per family, so a test
// linking one family does not pull the others).
#include "prism/pca.hpp"

#ifdef PRISM_HAVE_CUDA
#include "prism/cuda/api.hpp"
#endif

namespace prism {

PcaModel fit_pca(ConstView x, const PcaParams& p, Progress* progress) {
#ifdef PRISM_HAVE_CUDA
  if (resolve_backend(p.backend) == Backend::cuda) return cuda::fit_pca(x, p, progress);
#else
  resolve_backend(p.backend);
#endif
  return fit_pca_cpu(x, p, progress);
}

}  // namespace prism
