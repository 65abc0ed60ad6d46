// word2vec binary: a text header "N D\n", then per row the word, a space and
// D little-endian float32 values, optionally followed by '\n'.
#include <charconv>
#include <cstring>

#include "prism/memory.hpp"
#include "readers.hpp"

namespace prism::io {

RawRead read_word2vec_binary(const Source& f, const ReadOptions& o) {
  const std::string& path = f.name;
  const char* p = f.data();
  const char* end = p + f.size();
  PRISM_EXPECTS(f.size() > 0, path, ": file is empty (expected a word2vec header \"N D\")");
  const char* eol = static_cast<const char*>(std::memchr(p, '\n', f.size()));
  PRISM_EXPECTS(eol != nullptr, path, " byte offset 0: no header line (expected \"N D\")");
  int64_t n = -1, d = -1;
  const char* q = p;
  auto r1 = std::from_chars(q, eol, n);
  q = r1.ptr;
  while (q < eol && *q == ' ') ++q;
  auto r2 = std::from_chars(q, eol, d);
  PRISM_EXPECTS(r1.ec == std::errc() && r2.ec == std::errc() && n >= 0 && d >= 0, path,
                " byte offset 0: bad header '", excerpt(std::string_view(p, eol - p)), "' (expected \"N D\")");
  check_shape(path, n, d);
  // Each row takes at least a space and 4 D bytes: check the promise before allocating.
  const size_t body = static_cast<size_t>(end - (eol + 1));
  PRISM_EXPECTS(static_cast<uint64_t>(d) <= body / 4 && static_cast<uint64_t>(n) <= body / (4 * static_cast<uint64_t>(d) + 1),
                path, " byte offset ", eol + 1 - f.data(), ": truncated: the header promises ", n, " rows of ", d,
                " float32 values, but only ", body, " bytes follow the header");
  require_memory(checked_mul(checked_mul(n, d), 4), cat("reading ", path), "");
  Matrix m(n, d);
  std::vector<std::string> words;
  words.reserve(static_cast<size_t>(n));
  std::vector<int64_t> offsets(static_cast<size_t>(n));
  p = eol + 1;
  for (int64_t i = 0; i < n; ++i) {
    while (p < end && (*p == '\n' || *p == '\r')) ++p;
    PRISM_EXPECTS(p < end, path, " byte offset ", p - f.data(), ": truncated: the header promises ", n,
                  " rows, the file ends after ", i);
    const char* sp = static_cast<const char*>(std::memchr(p, ' ', end - p));
    PRISM_EXPECTS(sp != nullptr, path, " byte offset ", p - f.data(), ": row ", i + 1,
                  ": no space after the word (truncated file?)");
    words.emplace_back(p, sp);
    p = sp + 1;
    offsets[i] = p - f.data();
    PRISM_EXPECTS(end - p >= static_cast<ptrdiff_t>(sizeof(float) * d), path, " byte offset ",
                  p - f.data(), ": truncated: row ", i + 1, " needs ", sizeof(float) * d,
                  " bytes of vector, ", end - p, " remain (header said N = ", n, ", D = ", d, ")");
    std::memcpy(m.row(i), p, sizeof(float) * d);
    p += sizeof(float) * d;
  }
  while (p < end && (*p == '\n' || *p == '\r' || *p == ' ')) ++p;
  PRISM_EXPECTS(p == end, path, " byte offset ", p - f.data(), ": ", end - p,
                " bytes after the ", n, " rows the header announced (expected N = ", n, ")");
  RawRead r;
  r.ds.format = "word2vec";
  r.ds.dtype = "float32";
  r.ds.adopt(std::move(m));
  r.ds.meta.add("word", std::move(words), true);
  r.where = [path, offsets](int64_t row) { return cat(path, " byte offset ", offsets[row]); };
  return r;
}

}  // namespace prism::io
