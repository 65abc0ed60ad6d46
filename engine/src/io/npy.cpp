// NumPy .npy vectors: float32 C-order is memory-mapped without a copy;
// float64, float16, integer types and big-endian data are converted.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "prism/memory.hpp"
#include "readers.hpp"

namespace prism::io {
namespace {

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      uint32_t m = mant;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400) == 0);
      bits = sign | ((127 - 15 - e) << 23) | ((m & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// float16 as stored: 16 bits converted by half_to_float.
struct Half {
  uint16_t bits;
};

/// double -> float with IEEE semantics for values beyond float's range (the
/// cast itself is undefined there): they become +-Inf, which check_finite reports.
inline float to_float(double v) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (v > kMax) return std::numeric_limits<float>::infinity();
  if (v < -kMax) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(v);
}

template <class T>
void convert_rows(const char* src, Matrix& m, bool swap) {
  const int64_t count = m.rows() * m.cols();
  float* out = m.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, src + i * sizeof(T), sizeof(T));
    if (swap) std::reverse(b, b + sizeof(T));
    T v;
    std::memcpy(&v, b, sizeof(T));
    if constexpr (std::is_same_v<T, Half>)
      out[i] = half_to_float(v.bits);
    else if constexpr (std::is_same_v<T, double>)
      out[i] = to_float(v);
    else
      out[i] = static_cast<float>(v);
  }
}

}  // namespace

RawRead read_npy(const Source& s, const ReadOptions& o) {
  const std::string& path = s.name;
  const NpyHeader h = parse_npy_header(s);
  PRISM_EXPECTS(h.shape.size() != 1, path, ": a 1-D array of ", h.shape[0],
                " values (expected a 2-D array of N vectors x D values; a 1-D array holds labels: ",
                "pass it with --labels or --metadata, or save vectors as x.reshape(-1, 1))");
  PRISM_EXPECTS(h.shape.size() == 2, path, ": array has ", h.shape.size(),
                " dimensions (expected a 2-D array of N vectors x D values)");
  PRISM_EXPECTS(!h.fortran, path, ": array is in Fortran order (expected C order; ",
                "in NumPy: np.save(path, np.ascontiguousarray(x)))");
  const int64_t n = h.shape[0], d = h.shape[1];
  check_shape(path, n, d);
  const std::string code = cat(h.kind, h.item_bytes);
  static const char* const kSupported[] = {"f4", "f8", "f2", "u1", "i1", "i2", "i4", "i8", "u2", "u4", "u8"};
  PRISM_EXPECTS(std::find(std::begin(kSupported), std::end(kSupported), code) != std::end(kSupported), path,
                ": dtype '", h.dtype(), "' is not supported for vectors (expected float32, float64, float16 ",
                "or an integer type)");
  const bool little = h.endian == '<' || h.endian == '|' || h.endian == '=';
  const bool swap = !little && h.item_bytes > 1;
  const int64_t count = h.count();
  const size_t have = s.size() - h.data_offset;
  PRISM_EXPECTS(count >= 0 && count <= static_cast<int64_t>(have / h.item_bytes), path, " byte offset ",
                s.size(), ": truncated: the header promises ", n, " x ", d, " values of ", h.item_bytes,
                " bytes from offset ", h.data_offset, ", the file holds ", have, " bytes of data");

  RawRead r;
  Dataset& ds = r.ds;
  ds.format = "npy";
  const char* data = s.data() + h.data_offset;
  if (code == "f4" && !swap && reinterpret_cast<uintptr_t>(data) % alignof(float) == 0) {
    ds.dtype = "float32";
    ds.x = ConstView(reinterpret_cast<const float*>(data), n, d);
    ds.storage = s.owner;  // no copy: a memory map of the file, or the caller's buffer
    ds.mapped = s.mapped;
  } else {
    require_memory(checked_mul(count, 4), cat("converting ", path, " (", h.dtype(), ") to float32"),
                   "save it as float32 (x.astype(np.float32)) so that it is memory-mapped instead of copied");
    Matrix m(n, d);
    if (code == "f4") convert_rows<float>(data, m, swap), ds.dtype = "float32";
    else if (code == "f8") convert_rows<double>(data, m, swap), ds.dtype = "float64";
    else if (code == "f2") convert_rows<Half>(data, m, swap), ds.dtype = "float16";
    else if (code == "u1") convert_rows<uint8_t>(data, m, swap), ds.dtype = "uint8";
    else if (code == "i1") convert_rows<int8_t>(data, m, swap), ds.dtype = "int8";
    else if (code == "i2") convert_rows<int16_t>(data, m, swap), ds.dtype = "int16";
    else if (code == "u2") convert_rows<uint16_t>(data, m, swap), ds.dtype = "uint16";
    else if (code == "i4") convert_rows<int32_t>(data, m, swap), ds.dtype = "int32";
    else if (code == "u4") convert_rows<uint32_t>(data, m, swap), ds.dtype = "uint32";
    else if (code == "i8") convert_rows<int64_t>(data, m, swap), ds.dtype = "int64";
    else convert_rows<uint64_t>(data, m, swap), ds.dtype = "uint64";
    ds.adopt(std::move(m));
  }
  const size_t off = h.data_offset;
  const size_t row_bytes = static_cast<size_t>(d * h.item_bytes);
  r.where = [path, off, row_bytes](int64_t row) { return cat(path, " byte offset ", off + row * row_bytes); };
  return r;
}

}  // namespace prism::io
