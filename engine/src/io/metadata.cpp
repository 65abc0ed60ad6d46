// Metadata: the labels and columns that go with the vectors, from the files
// people keep them in: TensorBoard's metadata TSV (with or without a header),
// CSV with a header, a 1-D .npy (integer, float, bool or string labels) and
// IDX labels. One reader for --metadata, --labels and every command.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <unordered_set>

#include "prism/memory.hpp"
#include "readers.hpp"

namespace prism {
namespace {
namespace fs = std::filesystem;
using io::Source;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ---- .npy labels -----------------------------------------------------------

void append_utf8(std::string& out, uint32_t c) {
  if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;  // not a character: U+FFFD
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

/// The element at `p` (item_bytes long), byte order fixed, as an unsigned integer.
uint64_t load_uint(const char* p, int64_t bytes, bool swap) {
  uint64_t v = 0;
  for (int64_t i = 0; i < bytes && i < 8; ++i) {
    const uint64_t byte = static_cast<unsigned char>(p[swap ? bytes - 1 - i : i]);
    v |= byte << (8 * i);
  }
  return v;
}

float half_bits_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float f;
  if (exp == 0) {
    f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  uint32_t bits = exp == 31 ? (sign | 0x7f800000u | (mant << 13)) : (sign | ((exp + 112) << 23) | (mant << 13));
  std::memcpy(&f, &bits, 4);
  return f;
}

template <class T>
std::string number_text(T v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

Metadata read_npy_labels(const Source& s, int64_t rows) {
  const io::NpyHeader h = io::parse_npy_header(s);
  const bool column = h.shape.size() == 2 && h.shape[1] == 1;
  PRISM_EXPECTS(h.shape.size() == 1 || column, s.name, ": array of shape (", [&] {
    std::string t;
    for (size_t i = 0; i < h.shape.size(); ++i) t += cat(i ? ", " : "", h.shape[i]);
    return t;
  }(), ") (expected a 1-D array of labels, one per vector)");
  PRISM_EXPECTS(h.kind != 'O', s.name, ": an object array (NumPy pickles those; Prism does not unpickle): ",
                "save the labels as strings or numbers, e.g. np.save(path, np.asarray(labels, dtype=str))");
  const std::string code = cat(h.kind, h.item_bytes);
  const bool number = h.kind == 'i' || h.kind == 'u' || h.kind == 'b' ||
                      (h.kind == 'f' && (h.item_bytes == 2 || h.item_bytes == 4 || h.item_bytes == 8));
  PRISM_EXPECTS((number && h.item_bytes <= 8) || h.kind == 'U' || h.kind == 'S', s.name, ": dtype '", h.dtype(),
                "' cannot be labels (expected integers, floats, booleans or strings)");
  const int64_t n = h.shape[0];
  PRISM_EXPECTS(n == rows, s.name, ": ", n, " labels, but the vectors have ", rows,
                " rows (expected one label per vector)");
  const size_t have = s.size() - h.data_offset;
  PRISM_EXPECTS(h.item_bytes > 0 && static_cast<uint64_t>(n) <= have / static_cast<uint64_t>(h.item_bytes), s.name,
                " byte offset ", s.size(), ": truncated: the header promises ", n, " labels of ", h.item_bytes,
                " bytes from offset ", h.data_offset, ", the file holds ", have);
  require_memory(checked_mul(n, 40 + (h.kind == 'U' ? h.chars * 2 : h.kind == 'S' ? h.chars : 8)),
                 cat("reading the labels ", s.name), "");
  const bool swap = h.endian == '>' && h.item_bytes > 1;
  const char* data = s.data() + h.data_offset;
  std::vector<std::string> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const char* p = data + i * h.item_bytes;
    std::string& out = values[i];
    if (h.kind == 'U') {
      const bool swap4 = h.endian == '>';
      for (int64_t c = 0; c < h.chars; ++c) {
        const uint32_t cp = static_cast<uint32_t>(load_uint(p + 4 * c, 4, swap4));
        if (cp == 0) break;  // numpy pads with NULs
        append_utf8(out, cp);
      }
    } else if (h.kind == 'S') {
      out.assign(p, strnlen(p, static_cast<size_t>(h.chars)));
    } else if (h.kind == 'b') {
      out = p[0] ? "True" : "False";
    } else if (h.kind == 'u') {
      out = std::to_string(load_uint(p, h.item_bytes, swap));
    } else if (h.kind == 'i') {
      const uint64_t u = load_uint(p, h.item_bytes, swap);
      const int shift = 64 - 8 * static_cast<int>(h.item_bytes);
      out = std::to_string(static_cast<int64_t>(u << shift) >> shift);  // sign-extend
    } else if (code == "f2") {
      out = number_text(half_bits_to_float(static_cast<uint16_t>(load_uint(p, 2, swap))));
    } else if (code == "f4") {
      const uint32_t u = static_cast<uint32_t>(load_uint(p, 4, swap));
      float f;
      std::memcpy(&f, &u, 4);
      out = number_text(f);
    } else {
      const uint64_t u = load_uint(p, 8, swap);
      double f;
      std::memcpy(&f, &u, 8);
      out = number_text(f);
    }
  }
  Metadata m;
  m.add("label", std::move(values), true);
  return m;
}

// ---- TSV / CSV ---------------------------------------------------------------

/// Names that mark a first line as a header in a one-column file.
bool known_column_name(std::string_view v) {
  static const std::unordered_set<std::string> names = {
      "label", "labels", "class", "classes", "class_name", "category", "categories", "name", "names",
      "word", "words", "token", "tokens", "target", "y", "tag", "tags", "id", "ids", "text", "title",
      "cluster", "group", "type", "genre", "species", "digit", "kind", "caption", "sentence"};
  return names.count(lower(v)) > 0;
}

bool is_number(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  if (v.empty()) return false;
  double d;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), d);
  return r.ec == std::errc() && r.ptr == v.data() + v.size();
}

/// Does row 0 of `col` stand apart from rows 1.. (a header)? Yes when the
/// others are all numbers and it is not, or when the others repeat (classes)
/// and it is not one of them.
bool unlike_the_others(const std::vector<std::string>& col) {
  if (col.size() < 3) return false;
  bool others_numeric = true;
  for (size_t i = 1; i < col.size() && others_numeric; ++i) others_numeric = is_number(col[i]);
  if (others_numeric) return !is_number(col[0]);
  std::unordered_set<std::string_view> distinct;
  for (size_t i = 1; i < col.size(); ++i) distinct.insert(col[i]);
  return distinct.size() * 2 <= col.size() - 1 && !distinct.count(col[0]);
}

struct Table {
  std::vector<std::vector<std::string>> columns;  // columns[c][record]
  std::vector<int64_t> lines;                     // line number of each record
};

/// Splits TSV (no quoting, as TensorBoard) or CSV (RFC 4180 quotes) into
/// records of the first record's width. Blank lines in a multi-column file are
/// skipped at the end and an error elsewhere; in a one-column file they are
/// empty values.
Table split_table(const Source& s, std::string_view text, char sep) {
  Table t;
  size_t pos = 0;
  int64_t line = 1;
  std::vector<std::string> fields;
  int64_t pending_blank = 0;  // first blank line not yet followed by a record (multi-column)
  while (pos < text.size()) {
    const int64_t record_line = line;
    fields.clear();
    // One record.
    for (;;) {
      std::string f;
      if (sep == ',' && pos < text.size() && text[pos] == '"') {
        ++pos;
        for (;;) {
          const size_t q = text.find('"', pos);
          PRISM_EXPECTS(q != std::string_view::npos, s.name, " line ", record_line,
                        ": a quoted field is never closed (expected a closing '\"')");
          line += std::count(text.begin() + pos, text.begin() + q, '\n');
          f.append(text.substr(pos, q - pos));
          pos = q + 1;
          if (pos < text.size() && text[pos] == '"') {
            f += '"';
            ++pos;
            continue;
          }
          break;
        }
        // Anything up to the separator after the closing quote is kept verbatim.
        while (pos < text.size() && text[pos] != sep && text[pos] != '\n') f += text[pos++];
      } else {
        size_t e = pos;
        while (e < text.size() && text[e] != sep && text[e] != '\n') ++e;
        f.assign(text.substr(pos, e - pos));
        pos = e;
      }
      if (!f.empty() && f.back() == '\r' && (pos >= text.size() || text[pos] == '\n')) f.pop_back();
      fields.push_back(std::move(f));
      if (pos < text.size() && text[pos] == sep) {
        ++pos;
        continue;
      }
      if (pos < text.size()) ++pos, ++line;  // the newline
      break;
    }
    if (t.columns.empty()) t.columns.resize(fields.size());
    const size_t ncol = t.columns.size();
    const bool blank = fields.size() == 1 && fields[0].empty();
    if (ncol > 1 && blank) {
      if (pending_blank == 0) pending_blank = record_line;
      continue;
    }
    PRISM_EXPECTS(pending_blank == 0, s.name, " line ", pending_blank, ": an empty line among the records (expected ",
                  ncol, sep == ',' ? " comma" : " tab", "-separated columns)");
    PRISM_EXPECTS(fields.size() == ncol, s.name, " line ", record_line, ": expected ", ncol,
                  sep == ',' ? " comma" : " tab", "-separated column", ncol == 1 ? "" : "s", " as on line ",
                  t.lines.empty() ? 1 : t.lines[0], ", found ", fields.size(),
                  sep == '\t' && ncol == 1 ? " (a label with a tab in it? TSV values cannot hold tabs)" : "");
    for (size_t c = 0; c < ncol; ++c) t.columns[c].push_back(std::move(fields[c]));
    t.lines.push_back(record_line);
  }
  return t;
}

/// Offset of the first byte that no text file holds (NUL and other C0
/// controls except tab, newline, carriage return, form feed, escape), or npos.
size_t first_binary_byte(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b) return i;
  }
  return std::string_view::npos;
}

Metadata read_text_table(const Source& s, int64_t rows) {
  std::string_view text = s.bytes;
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);  // UTF-8 byte-order mark (Excel)
  const size_t bad = first_binary_byte(text);
  PRISM_EXPECTS(bad == std::string_view::npos, s.name, " byte offset ", bad + (s.size() - text.size()),
                ": binary data (byte 0x", std::hex, static_cast<int>(static_cast<unsigned char>(text[bad])), std::dec,
                "), not text (expected metadata as a TSV or CSV text file, or a 1-D .npy array)");
  const std::string name = lower(fs::path(s.name).filename().string());
  const bool csv = ends_with(name, ".csv") || ends_with(name, ".csv.gz");
  const char sep = csv ? ',' : '\t';
  const char* kind = csv ? "CSV" : "TSV";
  require_memory(checked_mul(static_cast<int64_t>(s.size()), 3), cat("reading the metadata ", s.name), "");
  Table t = split_table(s, text, sep);
  PRISM_EXPECTS(!t.columns.empty(), s.name, ": no metadata rows (expected ", rows, ")");
  auto records = [&] { return static_cast<int64_t>(t.lines.size()); };
  const size_t ncol = t.columns.size();
  // A trailing empty line (file ending in "\n\n") is not a row, but a single
  // empty line can be a legitimate empty label in a one-column file.
  while (ncol == 1 && records() > rows && t.columns[0].back().empty()) {
    t.columns[0].pop_back();
    t.lines.pop_back();
  }

  Metadata m;
  bool header = false;
  if (records() == rows + 1) {
    if (ncol > 1) {
      header = true;  // TensorBoard's rule: several columns have a header row
    } else {
      const std::string& first = t.columns[0][0];
      PRISM_EXPECTS(known_column_name(first) || unlike_the_others(t.columns[0]), s.name, ": ", records(),
                    " lines for ", rows, " vectors. A one-column metadata file takes no header (TensorBoard's ",
                    "format), and line 1 '", io::excerpt(first), "' looks like the values below it: remove it if ",
                    "it is a header, or check that the file belongs to these vectors");
      header = true;
      m.notes.push_back(cat(s.name, ": line 1 '", io::excerpt(first), "' taken as the column's name (",
                            records(), " lines for ", rows, " vectors; TensorBoard's one-column files have no header)"));
    }
  } else if (records() == rows && ncol > 1) {
    // As many records as vectors: no header. Line 1 should then not look like one.
    bool looks_like_header = false;
    for (size_t c = 0; c < ncol && !looks_like_header; ++c)
      looks_like_header = unlike_the_others(t.columns[c]) && !is_number(t.columns[c][0]);
    PRISM_EXPECTS(!looks_like_header, s.name, ": line 1 looks like a header (", io::excerpt(t.columns[0][0]),
                  ", ...), but then there are ", rows - 1, " rows after it for ", rows,
                  " vectors (expected one row per vector)");
    m.notes.push_back(cat(s.name, ": no header line (", rows, " lines for ", rows, " vectors): columns named ",
                          "column1 .. column", ncol));
  } else if (records() != rows) {
    const int64_t data_rows = records() - (ncol > 1 ? 1 : 0);
    throw InputError(cat(s.name, ": ", data_rows, " metadata rows", ncol > 1 ? " after the header" : "",
                         ", but the vectors have ", rows, " rows (expected one ", kind, " row per vector",
                         ncol > 1 ? ", after a header line naming the columns" : "", ")"));
  }
  for (size_t c = 0; c < ncol; ++c) {
    std::vector<std::string>& col = t.columns[c];
    std::string col_name = ncol == 1 ? "label" : cat("column", c + 1);
    if (header) {
      col_name = std::move(col[0]);
      col.erase(col.begin());
      if (col_name.empty()) col_name = cat("column", c + 1);
    }
    // Two columns of the same name: keep both, the second renamed.
    if (m.find(col_name) >= 0) col_name = cat(col_name, "_", c + 1);
    m.add(std::move(col_name), std::move(col));
  }
  const int label = m.find("label");
  m.label_column = label >= 0 ? label : 0;
  return m;
}

Metadata read_metadata_source(const Source& raw, int64_t rows) {
  PRISM_EXPECTS(raw.size() > 0, raw.name, ": metadata file is empty (expected ", rows, " rows)");
  const Source s = io::maybe_gunzip(raw);
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  if (n >= 6 && std::memcmp(b, "\x93NUMPY", 6) == 0) return read_npy_labels(s, rows);
  if (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0x08 && b[3] == 0x01) {
    Metadata m;
    const std::string name = lower(s.name);
    m.add("label", io::read_idx_labels(s, rows, name.find("fashion") != std::string::npos), true);
    return m;
  }
  PRISM_EXPECTS(!(n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0x08 && b[3] == 0x03), s.name,
                ": an IDX images file (vectors), not labels (expected the labels-idx1 file)");
  PRISM_EXPECTS(!ends_with(lower(s.name), ".npy"), s.name,
                " byte offset 0: not a .npy file (expected the magic \\x93NUMPY)");
  return read_text_table(s, rows);
}

}  // namespace

Metadata read_metadata(const std::string& path, int64_t rows) {
  std::error_code ec;
  PRISM_EXPECTS(fs::exists(path, ec), path, ": no such file (expected metadata: TSV, CSV or a 1-D .npy)");
  return read_metadata_source(Source::file(path, true), rows);
}

Metadata read_metadata_bytes(std::string_view bytes, const std::string& name, int64_t rows) {
  return read_metadata_source(Source::memory(name, bytes), rows);
}

}  // namespace prism
