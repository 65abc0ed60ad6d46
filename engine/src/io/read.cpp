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

std::string join_names(const Metadata& m) {
  std::string s;
  for (const auto& n : m.names) s += (s.empty() ? "" : ", ") + n;
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
  return io::detect_format(io::Source::file(path));
}

namespace io {

Format detect_format(const Source& s) {
  const std::string& path = s.name;
  const std::string name = lower(fs::path(path).filename().string());
  if (ends_with(name, ".npy")) return Format::npy;
  if (ends_with(name, ".fvecs")) return Format::fvecs;
  if (ends_with(name, ".bvecs")) return Format::bvecs;
  if (ends_with(name, ".bin")) return Format::word2vec;
  if (ends_with(name, ".txt") || ends_with(name, ".vec")) return Format::text;
  if (ends_with(name, ".tsv")) return Format::tsv;
  if (is_idx_name(name)) return Format::idx;

  // No telling extension: look at the magic bytes.
  const auto* magic = reinterpret_cast<const unsigned char*>(s.data());
  const size_t got = s.size();
  PRISM_EXPECTS(got > 0, path, ": file is empty (expected embedding vectors)");
  if (got >= 6 && std::memcmp(magic, "\x93NUMPY", 6) == 0) return Format::npy;
  if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return Format::idx;  // gzip'd IDX
  if (got >= 4 && magic[0] == 0 && magic[1] == 0 && magic[2] == 0x08 && (magic[3] == 3 || magic[3] == 1))
    return Format::idx;
  throw InputError(cat(path, ": unknown format (expected .npy, .fvecs, .bvecs, word2vec .bin, ",
                       "GloVe/fastText .txt/.vec, TensorBoard .tsv or MNIST IDX); use --format to say which"));
}

std::string excerpt(std::string_view s, size_t max) {
  std::string e;
  for (char c : s.substr(0, max)) e += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return s.size() > max ? e + "..." : e;
}

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

namespace {

/// Shared by every reader: shape checks, --metadata, NaN/Inf, the label column.
Dataset finish_read(io::RawRead raw, const std::string& path, const ReadOptions& o) {
  Dataset& ds = raw.ds;
  ds.source = path;
  io::check_shape(path, ds.rows(), ds.cols());
  int label = ds.meta.label_column;
  if (!o.metadata.empty()) {
    Metadata extra = read_metadata(o.metadata, ds.rows());
    label = -1;
    for (size_t c = 0; c < extra.columns.size(); ++c) {
      // Metadata columns replace same-named ones (e.g. the word column of a GloVe file).
      int at = ds.meta.find(extra.names[c]);
      if (at >= 0) {
        ds.meta.columns[at] = std::move(extra.columns[c]);
      } else {
        ds.meta.add(extra.names[c], std::move(extra.columns[c]));
        at = static_cast<int>(ds.meta.columns.size()) - 1;
      }
      if (static_cast<int>(c) == extra.label_column) label = at;
    }
    for (auto& n : extra.notes) ds.meta.notes.push_back(std::move(n));
  }
  if (o.check_values || o.drop_invalid) io::check_finite(ds, o, raw.where);
  if (!ds.meta.empty()) {
    if (!o.label_column.empty()) {
      label = ds.meta.find(o.label_column);
      PRISM_EXPECTS(label >= 0, "--label-column '", o.label_column, "' is not a metadata column of ", path,
                    " (columns: ", join_names(ds.meta), ")");
    } else if (label < 0) {
      label = std::max(ds.meta.find("label"), 0);
    }
    ds.meta.label_column = label;
  }
  return std::move(raw.ds);
}

Dataset read_source(const io::Source& src, const ReadOptions& o) {
  const Format f = o.format == Format::automatic ? io::detect_format(src) : o.format;
  io::RawRead raw;
  switch (f) {
    case Format::npy: raw = io::read_npy(src, o); break;
    case Format::fvecs: raw = io::read_vecs(src, false, o); break;
    case Format::bvecs: raw = io::read_vecs(src, true, o); break;
    case Format::word2vec: raw = io::read_word2vec_binary(src, o); break;
    case Format::text: raw = io::read_text_vectors(src, true, o); break;
    case Format::tsv: raw = io::read_text_vectors(src, false, o); break;
    case Format::idx: raw = io::read_idx(src, o); break;
    case Format::automatic: break;
  }
  return finish_read(std::move(raw), src.name, o);
}

}  // namespace

Dataset read_dataset(const std::string& path, const ReadOptions& o) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    PRISM_EXPECTS(o.format == Format::automatic || o.format == Format::idx, path,
                  ": is a folder (only a folder of MNIST-style IDX files can be read as a data set)");
    return finish_read(io::read_idx_folder(path, o), path, o);
  }
  PRISM_EXPECTS(fs::exists(path, ec), path, ": no such file");
  const Format f = o.format == Format::automatic ? detect_format(path) : o.format;
  // Text is parsed whole: pre-fault its pages. Binary formats map in O(1).
  const bool text = f == Format::text || f == Format::tsv;
  ReadOptions with_format = o;
  with_format.format = f;
  return read_source(io::Source::file(path, text), with_format);
}

Dataset read_dataset_bytes(std::string_view bytes, const std::string& name, const ReadOptions& o) {
  return read_source(io::Source::memory(name, bytes), o);
}

}  // namespace prism
