// MNIST / Fashion-MNIST IDX files (gzip'd or not). Images (magic 0x00000803:
// count, rows, cols, then uint8 pixels) become count x (rows*cols) floats in
// [0, 255]; the labels file (magic 0x00000801) next to it becomes the label
// column, with Fashion-MNIST's class names when the path says "fashion".
#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>

#include "prism/memory.hpp"
#include "readers.hpp"

namespace prism::io {
namespace fs = std::filesystem;
namespace {

const char* const kFashionClasses[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

uint32_t be32(std::string_view s, size_t off) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data() + off);
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
}

std::string labels_sibling(const std::string& images) {
  fs::path p(images);
  std::string name = p.filename().string();
  for (const char* from : {"images-idx3", "images.idx3", "images"}) {
    const size_t at = name.find(from);
    if (at != std::string::npos) {
      const std::string to = std::string(from) == "images" ? "labels" : (from[6] == '-' ? "labels-idx1" : "labels.idx1");
      name.replace(at, std::strlen(from), to);
      return (p.parent_path() / name).string();
    }
  }
  return {};
}

}  // namespace

std::vector<std::string> read_idx_labels(const Source& src, int64_t n, bool fashion) {
  const Source u = maybe_gunzip(src);
  const std::string& path = u.name;
  const std::string_view s = u.bytes;
  PRISM_EXPECTS(s.size() >= 8, path, " byte offset 0: truncated IDX labels header (expected 8 bytes)");
  PRISM_EXPECTS(be32(s, 0) == 0x00000801, path, " byte offset 0: magic 0x", std::hex, be32(s, 0),
                " (expected 0x00000801 for an IDX labels file)");
  const int64_t count = be32(s, 4);
  PRISM_EXPECTS(count == n, path, " byte offset 4: ", count, " labels, but the images file has ", n,
                " images (expected one label per image)");
  PRISM_EXPECTS(static_cast<int64_t>(s.size()) >= 8 + n, path, " byte offset ", s.size(),
                ": truncated: expected ", n, " label bytes after the header");
  std::vector<std::string> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int v = static_cast<unsigned char>(s[8 + i]);
    out[i] = fashion && v < 10 ? kFashionClasses[v] : std::to_string(v);
  }
  return out;
}

RawRead read_idx(const Source& src, const ReadOptions& o) {
  const Source u = maybe_gunzip(src);
  const std::string& path = src.name;
  const std::string_view s = u.bytes;
  PRISM_EXPECTS(!s.empty(), path, ": file is empty (expected an IDX images file)");
  PRISM_EXPECTS(s.size() >= 16, path, " byte offset ", s.size(),
                ": truncated IDX header (expected 16 bytes: magic, count, rows, cols)");
  const uint32_t magic = be32(s, 0);
  PRISM_EXPECTS(magic != 0x00000801, path, ": this is an IDX labels file; pass the images file ",
                "(the labels are found next to it, or with --labels-file)");
  PRISM_EXPECTS(magic == 0x00000803, path, " byte offset 0: magic 0x", std::hex, magic,
                " (expected 0x00000803: IDX uint8 images)");
  const uint64_t n = be32(s, 4), rows = be32(s, 8), cols = be32(s, 12);
  const uint64_t d = rows * cols;  // < 2^64: two 32-bit factors
  check_shape(path, static_cast<int64_t>(n), static_cast<int64_t>(std::min<uint64_t>(d, INT64_MAX)));
  const uint64_t have = s.size() - 16;
  PRISM_EXPECTS(d <= have && n <= have / d, path, " byte offset ", s.size(),
                ": truncated: the header promises ", n, " images of ", rows, "x", cols, ", the file holds ",
                have, " bytes of pixels");
  require_memory(checked_mul(static_cast<int64_t>(n * d), 4), cat("reading ", path), "");
  Matrix m(static_cast<int64_t>(n), static_cast<int64_t>(d));
  const auto* px = reinterpret_cast<const unsigned char*>(s.data() + 16);
  const int64_t count = static_cast<int64_t>(n * d);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) m.data()[i] = px[i];

  RawRead r;
  r.ds.format = "idx";
  r.ds.dtype = "uint8";
  r.ds.adopt(std::move(m));
  std::string lbl = o.labels.empty() && src.is_file ? labels_sibling(path) : o.labels;
  std::error_code ec;
  if (!lbl.empty() && !fs::exists(lbl, ec) && o.labels.empty()) {
    // Try the other compression: images .gz with plain labels, or the reverse.
    const std::string alt = lbl.size() > 3 && lbl.ends_with(".gz") ? lbl.substr(0, lbl.size() - 3) : lbl + ".gz";
    lbl = fs::exists(alt, ec) ? alt : std::string();
  }
  if (!lbl.empty()) {
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    const bool fashion = lower.find("fashion") != std::string::npos;
    r.ds.meta.add("label", read_idx_labels(Source::file(lbl), static_cast<int64_t>(n), fashion), true);
  }
  r.where = [path, d](int64_t row) { return cat(path, " byte offset ", 16 + row * d); };
  return r;
}

RawRead read_idx_folder(const std::string& dir, const ReadOptions& o) {
  std::vector<RawRead> parts;
  for (const char* split : {"train", "t10k"}) {
    for (const char* suffix : {"-images-idx3-ubyte.gz", "-images-idx3-ubyte"}) {
      const fs::path p = fs::path(dir) / (std::string(split) + suffix);
      std::error_code ec;
      if (fs::exists(p, ec)) {
        parts.push_back(read_idx(Source::file(p.string()), o));
        break;
      }
    }
  }
  PRISM_EXPECTS(!parts.empty(), dir, ": a folder, but without MNIST-style train-images-idx3-ubyte[.gz] ",
                "or t10k-images-idx3-ubyte[.gz] (expected a data file or such a folder)");
  if (parts.size() == 1) return std::move(parts[0]);
  const int64_t d = parts[0].ds.cols();
  int64_t n = 0;
  for (auto& p : parts) {
    PRISM_EXPECTS(p.ds.cols() == d, dir, ": the splits have different image sizes");
    n += p.ds.rows();
  }
  Matrix m(n, d);
  std::vector<std::string> labels;
  const bool with_labels = std::all_of(parts.begin(), parts.end(), [](auto& p) { return !p.ds.meta.empty(); });
  int64_t row = 0;
  for (auto& p : parts) {
    std::memcpy(m.row(row), p.ds.x.data, sizeof(float) * p.ds.rows() * d);
    row += p.ds.rows();
    if (with_labels) labels.insert(labels.end(), p.ds.meta.columns[0].begin(), p.ds.meta.columns[0].end());
  }
  RawRead r;
  r.ds.format = "idx";
  r.ds.dtype = "uint8";
  r.ds.adopt(std::move(m));
  if (with_labels) r.ds.meta.add("label", std::move(labels), true);
  const int64_t n0 = parts[0].ds.rows();
  r.where = [dir, n0, d](int64_t row) {
    return row < n0 ? cat(dir, "/train-images byte offset ", 16 + row * d)
                    : cat(dir, "/t10k-images byte offset ", 16 + (row - n0) * d);
  };
  return r;
}

}  // namespace prism::io
