// read_dataset: format detection, shared validation, metadata attachment.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "readers.hpp"

namespace prism {
namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_idx_name(const std::string& name) {
  return name.find("-ubyte") != std::string::npos || ends_with(name, ".idx") ||
         name.find("idx3") != std::string::npos;
}

}  // namespace

Format detect_format(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Format::idx;
  PRISM_EXPECTS(fs::exists(path, ec), path, ": no such file");
  const std::string name = lower(fs::path(path).filename().string());
  if (ends_with(name, ".npy")) return Format::npy;
  if (ends_with(name, ".fvecs")) return Format::fvecs;
  if (ends_with(name, ".bvecs")) return Format::bvecs;
  if (ends_with(name, ".bin")) return Format::word2vec;
  if (ends_with(name, ".txt") || ends_with(name, ".vec")) return Format::text;
  if (ends_with(name, ".tsv")) return Format::tsv;
  if (is_idx_name(name)) return Format::idx;

  // No telling extension: look at the magic bytes.
  unsigned char magic[6] = {};
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char*>(magic), sizeof magic);
  const auto got = f.gcount();
  PRISM_EXPECTS(got > 0, path, ": file is empty (expected embedding vectors)");
  if (got >= 6 && std::memcmp(magic, "\x93NUMPY", 6) == 0) return Format::npy;
  if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return Format::idx;  // gzip'd IDX
  if (got >= 4 && magic[0] == 0 && magic[1] == 0 && magic[2] == 0x08 && (magic[3] == 3 || magic[3] == 1))
    return Format::idx;
  throw InputError(cat(path, ": unknown format (expected .npy, .fvecs, .bvecs, word2vec .bin, ",
                       "GloVe/fastText .txt/.vec, TensorBoard .tsv or MNIST IDX); use --format to say which"));
}

namespace io {

void check_shape(const std::string& path, int64_t n, int64_t d) {
  PRISM_EXPECTS(d >= 1, path, ": vectors have dimension 0 (expected D >= 1)");
  PRISM_EXPECTS(n >= 2, path, ": ", n, " row", n == 1 ? "" : "s",
                " (expected at least 2 vectors to project)");
}

void check_finite(Dataset& ds, const ReadOptions& o, const std::function<std::string(int64_t)>& where) {
  const int64_t n = ds.rows(), d = ds.cols();
  std::vector<char> bad(static_cast<size_t>(n), 0);
  int64_t n_bad = 0;
#pragma omp parallel for reduction(+ : n_bad) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* r = ds.x.row(i);
    bool ok = true;
    for (int64_t j = 0; j < d; ++j) ok &= std::isfinite(r[j]);
    if (!ok) {
      bad[i] = 1;
      ++n_bad;
    }
  }
  if (n_bad == 0) return;
  int64_t first = 0;
  while (!bad[first]) ++first;
  if (!o.drop_invalid) {
    int64_t col = 0;
    while (std::isfinite(ds.x(first, col))) ++col;
    throw InputError(cat(where(first), ": value ", col + 1, " of row ", first + 1, " is ",
                         std::isnan(ds.x(first, col)) ? "NaN" : "Inf", " (", n_bad,
                         " rows have NaN/Inf; use --drop-invalid to skip them)"));
  }
  std::vector<int64_t> keep;
  keep.reserve(static_cast<size_t>(n - n_bad));
  for (int64_t i = 0; i < n; ++i)
    if (!bad[i]) keep.push_back(i);
  check_shape(ds.source, static_cast<int64_t>(keep.size()), d);
  Matrix m(static_cast<int64_t>(keep.size()), d);
  for (size_t r = 0; r < keep.size(); ++r) std::memcpy(m.row(r), ds.x.row(keep[r]), sizeof(float) * d);
  ds.adopt(std::move(m));
  ds.meta.select_rows(keep);
  ds.dropped_invalid = n_bad;
}

}  // namespace io

Metadata read_metadata_tsv(const std::string& path, int64_t rows) {
  io::MappedFile f(path);
  std::string_view s = f.view();
  PRISM_EXPECTS(!s.empty(), path, ": metadata file is empty (expected ", rows, " rows)");
  std::vector<std::vector<std::string>> lines;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t eol = s.find('\n', pos);
    if (eol == std::string_view::npos) eol = s.size();
    std::string_view line = s.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    std::vector<std::string> fields;
    size_t a = 0;
    for (;;) {
      size_t t = line.find('\t', a);
      fields.emplace_back(line.substr(a, t == std::string_view::npos ? line.size() - a : t - a));
      if (t == std::string_view::npos) break;
      a = t + 1;
    }
    lines.push_back(std::move(fields));
  }
  // A trailing empty line (file ending in "\n\n") is not a row; a single empty
  // line can still be a legitimate empty label in a one-column file.
  while (!lines.empty() && lines.back().size() == 1 && lines.back()[0].empty() &&
         static_cast<int64_t>(lines.size()) > rows)
    lines.pop_back();

  Metadata m;
  const size_t ncol = lines[0].size();
  // TensorBoard's convention: one column has no header; several have a header row.
  const bool header = ncol > 1;
  const int64_t data_rows = static_cast<int64_t>(lines.size()) - (header ? 1 : 0);
  PRISM_EXPECTS(data_rows == rows, path, ": ", data_rows, " metadata rows",
                header ? " after the header" : "", ", but the vectors have ", rows,
                " rows (expected one metadata row per vector)");
  std::vector<std::vector<std::string>> cols(ncol);
  for (auto& c : cols) c.reserve(static_cast<size_t>(rows));
  for (size_t l = header ? 1 : 0; l < lines.size(); ++l) {
    PRISM_EXPECTS(lines[l].size() == ncol, path, " line ", l + 1, ": expected ", ncol,
                  " tab-separated columns, found ", lines[l].size());
    for (size_t c = 0; c < ncol; ++c) cols[c].push_back(std::move(lines[l][c]));
  }
  for (size_t c = 0; c < ncol; ++c)
    m.add(header ? lines[0][c] : std::string("label"), std::move(cols[c]));
  return m;
}

Dataset read_dataset(const std::string& path, const ReadOptions& o) {
  const Format f = o.format == Format::automatic ? detect_format(path) : o.format;
  io::RawRead raw;
  switch (f) {
    case Format::npy: raw = io::read_npy(path, o); break;
    case Format::fvecs: raw = io::read_vecs(path, false, o); break;
    case Format::bvecs: raw = io::read_vecs(path, true, o); break;
    case Format::word2vec: raw = io::read_word2vec_binary(path, o); break;
    case Format::text: raw = io::read_text_vectors(path, true, o); break;
    case Format::tsv: raw = io::read_text_vectors(path, false, o); break;
    case Format::idx: {
      std::error_code ec;
      raw = fs::is_directory(path, ec) ? io::read_idx_folder(path, o) : io::read_idx(path, o);
      break;
    }
    case Format::automatic: break;
  }
  Dataset& ds = raw.ds;
  ds.source = path;
  io::check_shape(path, ds.rows(), ds.cols());
  if (!o.metadata.empty()) {
    Metadata extra = read_metadata_tsv(o.metadata, ds.rows());
    for (size_t c = 0; c < extra.columns.size(); ++c) {
      // Metadata columns replace same-named ones (e.g. the word column of a GloVe file).
      const int existing = ds.meta.find(extra.names[c]);
      if (existing >= 0) {
        ds.meta.columns[existing] = std::move(extra.columns[c]);
      } else {
        ds.meta.add(extra.names[c], std::move(extra.columns[c]));
      }
    }
    ds.meta.label_column = -1;
  }
  if (o.check_values || o.drop_invalid) io::check_finite(ds, o, raw.where);
  if (!ds.meta.empty()) {
    if (!o.label_column.empty()) {
      const int c = ds.meta.find(o.label_column);
      PRISM_EXPECTS(c >= 0, "--label-column '", o.label_column, "' is not a metadata column of ", path);
      ds.meta.label_column = c;
    } else if (ds.meta.label_column < 0) {
      const int c = ds.meta.find("label");
      ds.meta.label_column = c >= 0 ? c : 0;
    }
  }
  return std::move(raw.ds);
}

}  // namespace prism
