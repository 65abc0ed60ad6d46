// .fvecs / .bvecs (FAISS, ANN-benchmarks): each row is int32 d, then d
// float32 (fvecs) or d uint8 (bvecs) values.
#include <cstring>

#include "prism/memory.hpp"
#include "readers.hpp"

namespace prism::io {

RawRead read_vecs(const Source& f, bool bytes, const ReadOptions& o) {
  const std::string& path = f.name;
  const char* ext = bytes ? ".bvecs" : ".fvecs";
  PRISM_EXPECTS(f.size() > 0, path, ": file is empty (expected ", ext, " rows)");
  PRISM_EXPECTS(f.size() >= 4, path, " byte offset 0: truncated (expected a 4-byte dimension)");
  int32_t d;
  std::memcpy(&d, f.data(), 4);
  PRISM_EXPECTS(d > 0 && d < (1 << 24), path, " byte offset 0: dimension ", d,
                " (expected a positive int32; is this really a ", ext, " file?)");
  const size_t elem = bytes ? 1 : 4;
  const size_t row_bytes = 4 + static_cast<size_t>(d) * elem;
  const int64_t n = static_cast<int64_t>(f.size() / row_bytes);
  require_memory(checked_mul(checked_mul(n, d), 4), cat("reading ", path), "");
  PRISM_EXPECTS(f.size() % row_bytes == 0, path, " byte offset ", n * row_bytes,
                ": truncated: the file holds ", n, " whole rows of ", row_bytes,
                " bytes (d = ", d, ") and ", f.size() % row_bytes, " more bytes");
  Matrix m(n, d);
  int64_t bad_row = -1;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const char* row = f.data() + i * row_bytes;
    int32_t di;
    std::memcpy(&di, row, 4);
    if (di != d) {
#pragma omp critical
      if (bad_row < 0 || i < bad_row) bad_row = i;
      continue;
    }
    if (bytes) {
      const auto* b = reinterpret_cast<const uint8_t*>(row + 4);
      for (int32_t j = 0; j < d; ++j) m(i, j) = b[j];
    } else {
      std::memcpy(m.row(i), row + 4, sizeof(float) * d);
    }
  }
  if (bad_row >= 0) {
    int32_t di;
    std::memcpy(&di, f.data() + bad_row * row_bytes, 4);
    throw InputError(cat(path, " byte offset ", bad_row * row_bytes, ": row ", bad_row + 1,
                         " has dimension ", di, " (expected ", d, " as in the first row)"));
  }
  RawRead r;
  r.ds.format = bytes ? "bvecs" : "fvecs";
  r.ds.dtype = bytes ? "uint8" : "float32";
  r.ds.adopt(std::move(m));
  r.where = [path, row_bytes](int64_t row) { return cat(path, " byte offset ", row * row_bytes + 4); };
  return r;
}

}  // namespace prism::io
