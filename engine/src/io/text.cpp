// Text vectors: word2vec text, GloVe and fastText ("word v1 v2 ...", with or
// without an "N D" header line) and TensorBoard's vectors.tsv (numbers only).
// The file is memory-mapped and cut into chunks at line boundaries that are
// parsed in parallel. Numbers: embedding files hold short decimals
// ("-0.41242", "0.013441"), for which Clinger's fast path is exact in float
// arithmetic (mantissa < 2^24, |exponent| <= 10: both operands exact, one
// correctly rounded operation). Everything else goes through fast_float
// (Debian's libfast-float-dev), exact like std::from_chars. Measured on one
// core here: libstdc++ 12's from_chars ~70 MB/s, fast_float ~155 MB/s, this
// fast path in front of it several times more.
#include <fast_float/fast_float.h>
#include <omp.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "prism/memory.hpp"
#include "readers.hpp"

namespace prism::io {

namespace {

constexpr float kPow10[] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f};

/// Clinger's fast path; false when the number is outside it (caller falls back).
/// Unchecked (the hot path for lines ending in '\n'), it reads up to the first
/// byte that cannot continue a number without testing `end`: the caller
/// guarantees such a byte (the newline) before the end of the mapping.
template <bool Checked>
inline bool parse_float_fast(const char*& p, const char* end, float& out) {
  const char* s = p;
  bool negative = false;
  if ((!Checked || s < end) && (*s == '-' || *s == '+')) negative = *s++ == '-';
  uint64_t m = 0;
  int digits = 0, exponent = 0;
  const char* start = s;
  while ((!Checked || s < end) && static_cast<unsigned>(*s - '0') < 10) m = m * 10 + static_cast<unsigned>(*s++ - '0'), ++digits;
  if ((!Checked || s < end) && *s == '.') {
    ++s;
    const char* frac = s;
    while ((!Checked || s < end) && static_cast<unsigned>(*s - '0') < 10) m = m * 10 + static_cast<unsigned>(*s++ - '0');
    digits += static_cast<int>(s - frac);
    exponent = -static_cast<int>(s - frac);
  }
  if (s == start || digits == 0 || digits > 18) return false;
  if ((!Checked || s < end) && (*s == 'e' || *s == 'E')) {
    ++s;
    bool eneg = false;
    if ((!Checked || s < end) && (*s == '-' || *s == '+')) eneg = *s++ == '-';
    int e = 0;
    const char* es = s;
    while ((!Checked || s < end) && static_cast<unsigned>(*s - '0') < 10 && s - es < 4) e = e * 10 + (*s++ - '0');
    if (s == es || ((!Checked || s < end) && static_cast<unsigned>(*s - '0') < 10)) return false;
    exponent += eneg ? -e : e;
  }
  if (m > (uint64_t{1} << 24) || exponent < -10 || exponent > 10) return false;
  const float v = static_cast<float>(m);
  out = exponent < 0 ? v / kPow10[-exponent] : v * kPow10[exponent];
  if (negative) out = -out;
  p = s;
  return true;
}

}  // namespace

bool parse_float(const char*& p, const char* end, float& out) {
  if (parse_float_fast<true>(p, end, out)) return true;
  const char* s = p;
  if (s < end && *s == '+') ++s;  // from_chars syntax has no leading '+'
  const auto r = fast_float::from_chars(s, end, out);
  if (r.ec != std::errc()) return false;
  p = r.ptr;
  return true;
}

namespace {

inline bool is_sep(char c) { return c == ' ' || c == '\t'; }

/// parse_float for a number on a line that ends in '\n' (a sentinel exists).
inline bool parse_float_line(const char*& p, const char* end, float& out) {
  if (parse_float_fast<false>(p, end, out)) return p <= end;
  return parse_float(p, end, out);
}

struct ChunkResult {
  float* rows = nullptr;  // where this chunk's rows go (its lines' share of the matrix)
  std::vector<std::string> names;
  std::vector<int64_t> row_offsets;  // byte offset of each row's line
  int64_t error_offset = -1;         // first error's line start
  std::string error;                 // message without the "file line L" prefix
};

/// Parses the lines in [begin, end) (each ends in '\n' or at `end`).
void parse_chunk(const char* base, const char* begin, const char* end, int64_t d, bool named,
                 ChunkResult& out) {
  const char* p = begin;
  while (p < end) {
    const char* line = p;
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', end - p));
    if (!eol) eol = end;
    const char* le = eol;
    while (le > line && (le[-1] == '\r' || is_sep(le[-1]))) --le;
    p = eol + 1;
    if (le == line) continue;  // blank line
    const char* q = line;
    if (named) {
      const char* ne = q;
      while (ne < le && !is_sep(*ne)) ++ne;
      out.names.emplace_back(q, ne);
      q = ne;
    }
    float* v = out.rows + out.row_offsets.size() * static_cast<size_t>(d);
    const bool sentinel = eol < end;  // the line ends in '\n': unchecked number parsing
    int64_t j = 0;
    for (;;) {
      while (q < le && is_sep(*q)) ++q;
      if (q >= le) break;
      if (j == d) {
        int64_t extra = 0;
        while (q < le) {
          ++extra;
          while (q < le && !is_sep(*q)) ++q;
          while (q < le && is_sep(*q)) ++q;
        }
        out.error_offset = line - base;
        out.error = cat("expected ", d, " values, found ", d + extra, " (ragged rows?)");
        return;
      }
      const char* tok = q;
      if (!(sentinel ? parse_float_line(q, le, v[j]) : parse_float(q, le, v[j])) || (q < le && !is_sep(*q))) {
        const char* te = tok;
        while (te < le && !is_sep(*te)) ++te;
        out.error_offset = line - base;
        out.error = cat("value ", j + 1, " '", std::string(tok, std::min<ptrdiff_t>(te - tok, 40)),
                        "' is not a number");
        return;
      }
      ++j;
    }
    if (j != d) {
      out.error_offset = line - base;
      out.error = cat("expected ", d, " values, found ", j, named && j == 0 ? " (only a name)" : "",
                      " (ragged rows or a truncated file?)");
      return;
    }
    out.row_offsets.push_back(line - base);
  }
}

int64_t line_number(const char* base, int64_t offset) {
  return 1 + std::count(base, base + offset, '\n');
}

/// Counts the values on one line (after the name when `named`).
int64_t count_values(const char* line, const char* eol, bool named) {
  const char* q = line;
  if (named)
    while (q < eol && !is_sep(*q)) ++q;
  int64_t n = 0;
  for (;;) {
    while (q < eol && (is_sep(*q) || *q == '\r')) ++q;
    if (q >= eol) break;
    ++n;
    while (q < eol && !is_sep(*q) && *q != '\r') ++q;
  }
  return n;
}

}  // namespace

RawRead read_text_vectors(const Source& f, bool named, const ReadOptions& o) {
  const std::string& path = f.name;
  const char* base = f.data();
  const char* end = base + f.size();
  PRISM_EXPECTS(f.size() > 0, path, ": file is empty (expected one vector per line)");
  // No text holds a NUL byte: say "binary" rather than "line 1: not a number".
  const void* nul = std::memchr(base, '\0', std::min<size_t>(f.size(), 1 << 16));
  PRISM_EXPECTS(nul == nullptr, path, " byte offset ", static_cast<const char*>(nul) - base,
                ": binary data, not text (expected one vector per line",
                named ? "; a word2vec binary file needs --format word2vec or the extension .bin)" : ")");

  // Optional "N D" header (word2vec text, fastText .vec).
  const char* p = base;
  int64_t header_n = -1, d = -1;
  if (named) {
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', f.size()));
    if (!eol) eol = end;
    int64_t a = -1, b = -1;
    const char* q = p;
    auto r1 = std::from_chars(q, eol, a);
    if (r1.ec == std::errc()) {
      q = r1.ptr;
      while (q < eol && is_sep(*q)) ++q;
      auto r2 = std::from_chars(q, eol, b);
      const char* t = r2.ptr;
      while (t < eol && (is_sep(*t) || *t == '\r')) ++t;
      if (r2.ec == std::errc() && t == eol) {
        header_n = a;
        d = b;
        p = eol < end ? eol + 1 : end;
      }
    }
  }
  // Without a header, D is the first data line's value count.
  if (d < 0) {
    const char* q = p;
    while (q < end) {
      const char* eol = static_cast<const char*>(std::memchr(q, '\n', end - q));
      if (!eol) eol = end;
      const int64_t c = count_values(q, eol, named);
      if (c > 0 || count_values(q, eol, false) > 0) {
        d = c;
        break;
      }
      q = eol + 1;
    }
    PRISM_EXPECTS(d >= 0, path, ": no vectors in the file (expected one vector per line)");
    PRISM_EXPECTS(d > 0, path, " line ", line_number(base, q - base),
                  ": no values after the name (expected D >= 1 numbers per line)");
  }
  PRISM_EXPECTS(d > 0, path, " line 1: header says D = ", d, " (expected D >= 1)");
  // D values take at least 2 D - 1 bytes: a header's D cannot exceed that.
  PRISM_EXPECTS(d <= (end - p + 1) / 2, path, " line 1: header says D = ", d, ", but only ", end - p,
                " bytes follow it (truncated file, or not a header?)");

  // Chunks at line boundaries, a few per thread for balance.
  const int threads = omp_get_max_threads();
  const int64_t body = end - p;
  const int nchunks = static_cast<int>(std::clamp<int64_t>(body / (4 << 20), 1, threads * 4));
  std::vector<const char*> cuts{p};
  for (int c = 1; c < nchunks; ++c) {
    const char* at = p + body * c / nchunks;
    at = std::max(at, cuts.back());
    const char* nl = static_cast<const char*>(std::memchr(at, '\n', end - at));
    cuts.push_back(nl ? nl + 1 : end);
  }
  cuts.push_back(end);
  // Each chunk parses straight into its share of the matrix: rows are at most
  // its lines (blank lines leave gaps, closed below), and at most one per 2 D
  // bytes (a value and a separator each), which bounds the allocation by the
  // file's size even when most lines are blank.
  std::vector<int64_t> first_row(nchunks + 1, 0);
  for (int c = 0; c < nchunks; ++c) {
    const int64_t lines = std::count(cuts[c], cuts[c + 1], '\n') +
                          (cuts[c + 1] > cuts[c] && cuts[c + 1][-1] != '\n' ? 1 : 0);
    const int64_t fit = (cuts[c + 1] - cuts[c]) / (2 * d) + 1;
    first_row[c + 1] = first_row[c] + std::min(lines, fit);
  }
  require_memory(checked_mul(checked_mul(first_row[nchunks], d), 4), cat("reading ", path),
                 "convert it once to float32 .npy (prism convert), which is memory-mapped instead of parsed");
  Matrix m(first_row[nchunks], d);
  std::vector<ChunkResult> parts(nchunks);
#pragma omp parallel for schedule(dynamic, 1)
  for (int c = 0; c < nchunks; ++c) {
    parts[c].rows = m.row(first_row[c]);
    parse_chunk(base, cuts[c], cuts[c + 1], d, named, parts[c]);
  }

  int64_t n = 0;
  for (int c = 0; c < nchunks; ++c) {
    const ChunkResult& part = parts[c];
    if (part.error_offset >= 0)
      throw InputError(cat(path, " line ", line_number(base, part.error_offset), ": ", part.error));
    const int64_t rows = static_cast<int64_t>(part.row_offsets.size());
    if (n != first_row[c]) std::memmove(m.row(n), m.row(first_row[c]), sizeof(float) * rows * d);
    n += rows;
  }
  if (header_n >= 0)
    PRISM_EXPECTS(header_n == n, path, " line 1: header says N = ", header_n, ", but the file has ",
                  n, " vectors (expected the header to match)");
  check_shape(path, n, d);

  m.resize_rows(n);
  std::vector<std::string> names;
  std::vector<int64_t> offsets;
  if (named) names.reserve(static_cast<size_t>(n));
  offsets.reserve(static_cast<size_t>(n));
  for (auto& part : parts) {
    offsets.insert(offsets.end(), part.row_offsets.begin(), part.row_offsets.end());
    for (auto& s : part.names) names.push_back(std::move(s));
    part = ChunkResult{};
  }
  RawRead r;
  r.ds.format = named ? "text" : "tsv";
  r.ds.dtype = "text";
  r.ds.adopt(std::move(m));
  if (named) r.ds.meta.add("word", std::move(names), true);
  // Line numbers are only needed for an error: count them then.
  r.where = [f, offsets](int64_t row) { return cat(f.name, " line ", line_number(f.data(), offsets[row])); };
  return r;
}

}  // namespace prism::io
