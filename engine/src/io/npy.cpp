// NumPy .npy (format versions 1-3): float32 C-order is memory-mapped without
// a copy; float64, float16, integer types and big-endian data are converted.
#include <cstring>
#include <regex>

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

struct NpyHeader {
  char endian = '<';
  char kind = 'f';
  int bytes = 4;
  bool fortran = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};

NpyHeader parse_header(const MappedFile& f) {
  const std::string& path = f.path();
  const char* d = f.data();
  const size_t size = f.size();
  PRISM_EXPECTS(size > 0, path, ": file is empty (expected a .npy array)");
  PRISM_EXPECTS(size >= 10 && std::memcmp(d, "\x93NUMPY", 6) == 0, path,
                " byte offset 0: not a .npy file (expected the magic \\x93NUMPY)");
  const int major = static_cast<unsigned char>(d[6]);
  PRISM_EXPECTS(major >= 1 && major <= 3, path, " byte offset 6: unsupported .npy version ", major);
  size_t hlen, start;
  if (major == 1) {
    hlen = static_cast<unsigned char>(d[8]) | (static_cast<unsigned char>(d[9]) << 8);
    start = 10;
  } else {
    PRISM_EXPECTS(size >= 12, path, ": truncated .npy header");
    uint32_t v;
    std::memcpy(&v, d + 8, 4);
    hlen = v;
    start = 12;
  }
  PRISM_EXPECTS(start + hlen <= size, path, " byte offset ", start, ": header of ", hlen,
                " bytes runs past the end of the file (", size, " bytes): truncated file");
  const std::string h(d + start, hlen);
  NpyHeader out;
  out.data_offset = start + hlen;

  static const std::regex descr(R"('descr'\s*:\s*'([<>|=])([a-zA-Z])(\d+)')");
  static const std::regex fortran(R"('fortran_order'\s*:\s*True)");
  static const std::regex shape(R"('shape'\s*:\s*\(([^)]*)\))");
  std::smatch m;
  PRISM_EXPECTS(std::regex_search(h, m, descr),
                path, " byte offset ", start, ": header has no dtype ('descr'): ", h);
  out.endian = m[1].str()[0];
  out.kind = m[2].str()[0];
  out.bytes = std::stoi(m[3].str());
  out.fortran = std::regex_search(h, fortran);
  PRISM_EXPECTS(std::regex_search(h, m, shape), path,
                " byte offset ", start, ": header has no shape: ", h);
  const std::string dims = m[1].str();
  static const std::regex number(R"(\d+)");
  std::sregex_iterator it(dims.begin(), dims.end(), number), end;
  for (; it != end; ++it) out.shape.push_back(std::stoll(it->str()));
  return out;
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
    if constexpr (std::is_same_v<T, uint16_t>)
      out[i] = half_to_float(v);
    else
      out[i] = static_cast<float>(v);
  }
}

}  // namespace

RawRead read_npy(const std::string& path, const ReadOptions& o) {
  auto file = std::make_shared<MappedFile>(path);
  const NpyHeader h = parse_header(*file);
  PRISM_EXPECTS(h.shape.size() == 2, path, ": array has ", h.shape.size(),
                " dimensions (expected a 2-D array of N vectors x D values)");
  PRISM_EXPECTS(!h.fortran, path, ": array is in Fortran order (expected C order; ",
                "in NumPy: np.save(path, np.ascontiguousarray(x)))");
  const int64_t n = h.shape[0], d = h.shape[1];
  check_shape(path, n, d);
  const bool little = h.endian == '<' || h.endian == '|' || h.endian == '=';
  const bool swap = !little && h.bytes > 1;
  const int64_t need = checked_mul(checked_mul(n, d), h.bytes);
  PRISM_EXPECTS(static_cast<int64_t>(file->size() - h.data_offset) >= need, path, " byte offset ",
                file->size(), ": truncated: the header promises ", n, " x ", d, " values (", need,
                " bytes of data from offset ", h.data_offset, "), the file ends after ",
                file->size() - h.data_offset);

  RawRead r;
  Dataset& ds = r.ds;
  ds.format = "npy";
  const char* data = file->data() + h.data_offset;
  const std::string code = std::string(1, h.kind) + std::to_string(h.bytes);
  if (code == "f4" && !swap && reinterpret_cast<uintptr_t>(data) % alignof(float) == 0) {
    ds.dtype = "float32";
    ds.x = ConstView(reinterpret_cast<const float*>(data), n, d);
    ds.storage = file;  // memory-mapped: no copy
  } else {
    Matrix m(n, d);
    if (code == "f4") convert_rows<float>(data, m, swap), ds.dtype = "float32";
    else if (code == "f8") convert_rows<double>(data, m, swap), ds.dtype = "float64";
    else if (code == "f2") convert_rows<uint16_t>(data, m, swap), ds.dtype = "float16";
    else if (code == "u1") convert_rows<uint8_t>(data, m, swap), ds.dtype = "uint8";
    else if (code == "i1") convert_rows<int8_t>(data, m, swap), ds.dtype = "int8";
    else if (code == "i2") convert_rows<int16_t>(data, m, swap), ds.dtype = "int16";
    else if (code == "i4") convert_rows<int32_t>(data, m, swap), ds.dtype = "int32";
    else if (code == "i8") convert_rows<int64_t>(data, m, swap), ds.dtype = "int64";
    else
      throw InputError(cat(path, ": dtype '", h.endian, code, "' is not supported (expected ",
                           "float32, float64, float16 or an integer type)"));
    ds.adopt(std::move(m));
  }
  const size_t off = h.data_offset;
  const size_t row_bytes = static_cast<size_t>(d) * h.bytes;
  r.where = [path, off, row_bytes](int64_t row) {
    return cat(path, " byte offset ", off + row * row_bytes);
  };
  return r;
}

}  // namespace prism::io
