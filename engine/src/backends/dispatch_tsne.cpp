// Picks the CPU or the CUDA implementation (one file per family, so a test
// linking one family does not pull the others).
#include "prism/tsne.hpp"

#ifdef PRISM_HAVE_CUDA
#include "prism/cuda/api.hpp"
#endif

namespace prism {

std::unique_ptr<Reducer> make_tsne(const KnnGraph& g, const Matrix* initial, const TsneParams& p) {
#ifdef PRISM_HAVE_CUDA
  if (resolve_backend(p.backend) == Backend::cuda) return cuda::make_tsne(g, initial, p);
#else
  resolve_backend(p.backend);
#endif
  return make_tsne_cpu(g, initial, p);
}

}  // namespace prism
