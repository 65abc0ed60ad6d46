// Backend selection and the dispatch from the engine's public functions to
// the CUDA kernels (kernels/, only when built with PRISM_WITH_CUDA).
#include "prism/backend.hpp"

#include "prism/error.hpp"

#ifdef PRISM_HAVE_CUDA
#include "prism/cuda/api.hpp"
#endif

namespace prism {

bool cuda_available() {
#ifdef PRISM_HAVE_CUDA
  return cuda::device_available();
#else
  return false;
#endif
}

std::string cuda_device_description() {
#ifdef PRISM_HAVE_CUDA
  return cuda::device_description();
#else
  return "built without CUDA (configure with -DPRISM_WITH_CUDA=ON where nvcc exists)";
#endif
}

Backend resolve_backend(Backend requested) {
  switch (requested) {
    case Backend::cpu:
      return Backend::cpu;
    case Backend::cuda:
      PRISM_EXPECTS(cuda_available(), "--backend cuda needs an NVIDIA GPU with a working driver: ",
                    cuda_device_description(), "; use --backend cpu or auto");
      return Backend::cuda;
    case Backend::automatic:
      break;
  }
  return cuda_available() ? Backend::cuda : Backend::cpu;
}

}  // namespace prism
