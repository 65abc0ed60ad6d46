#pragma once
// Internal interface between read_dataset() and the per-format readers. Every
// reader works on a Source: the bytes of a file (memory-mapped) or of a buffer,
// and the name its messages use. Readers never trust a size read from the
// data: anything they allocate is bounded by the bytes that are really there.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "prism/dataset.hpp"
#include "prism/io.hpp"

namespace prism::io {

/// A read-only memory map of a whole file (empty files map to an empty span).
class MappedFile {
 public:
  /// `populate`: pre-fault every page (text parsing); off, opening is O(1) (.npy).
  explicit MappedFile(const std::string& path, bool populate = false);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view view() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

/// The bytes a reader parses and the name that its errors start with.
/// `owner` keeps the bytes alive (a MappedFile or a std::string).
struct Source {
  std::string name;
  std::string_view bytes;
  std::shared_ptr<const void> owner;
  bool is_file = false;  ///< `name` is a path on disk (sibling files may be looked up)
  bool mapped = false;   ///< `bytes` are a memory map of that file (not a copy, not decompressed)

  const char* data() const { return bytes.data(); }
  size_t size() const { return bytes.size(); }
  /// Memory-maps a file (see MappedFile for `populate`).
  static Source file(const std::string& path, bool populate = false);
  /// Copies `bytes` into a buffer the Source owns.
  static Source memory(std::string name, std::string_view bytes);
};

/// The source itself when it is not gzip'd, else its decompressed bytes
/// (several gzip members are concatenated, as gzip -d does).
Source maybe_gunzip(const Source& s);
/// The format of a source by its name's extension, then its first bytes.
Format detect_format(const Source& s);

/// What a reader returns: the data (not yet checked for NaN/Inf) and how to
/// name a row's position in the input ("f.txt line 12", "f.npy byte offset 4096").
struct RawRead {
  Dataset ds;
  std::function<std::string(int64_t row)> where;
};

RawRead read_npy(const Source& s, const ReadOptions& o);
RawRead read_vecs(const Source& s, bool bytes, const ReadOptions& o);
RawRead read_word2vec_binary(const Source& s, const ReadOptions& o);
/// word2vec text / GloVe / fastText (named rows) when `named`, TensorBoard TSV otherwise.
RawRead read_text_vectors(const Source& s, bool named, const ReadOptions& o);
/// IDX images (gzip'd or not); the labels come from o.labels, else (files only) the sibling.
RawRead read_idx(const Source& s, const ReadOptions& o);
/// A folder holding MNIST-style {train,t10k}-images-idx3-ubyte[.gz]: both splits, train first.
RawRead read_idx_folder(const std::string& dir, const ReadOptions& o);
/// IDX labels (magic 0x801), `n` of them, as strings (Fashion-MNIST's class names when `fashion`).
std::vector<std::string> read_idx_labels(const Source& s, int64_t n, bool fashion);

/// Rows with NaN/Inf: throws naming the first one (`where(row)` describes its
/// position), or removes them (with their metadata rows) when o.drop_invalid.
void check_finite(Dataset& ds, const ReadOptions& o,
                  const std::function<std::string(int64_t row)>& where);

/// Shared checks: N >= 2, D >= 1.
void check_shape(const std::string& name, int64_t n, int64_t d);

/// At most `max` bytes of `s` for an error message, control bytes shown as '?'.
std::string excerpt(std::string_view s, size_t max = 40);

/// Float parsing shared by the text readers (exact, locale-free).
bool parse_float(const char*& p, const char* end, float& out);

/// A parsed .npy header (format versions 1-3).
struct NpyHeader {
  char endian = '<';          ///< '<', '>', '|' or '='
  char kind = 'f';            ///< numpy kind: f, i, u, b, U, S, O, ...
  int64_t item_bytes = 4;     ///< bytes per element (U: 4 per character)
  int64_t chars = 0;          ///< U and S: characters per element
  bool fortran = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;     ///< where the data starts
  int64_t count() const;      ///< product of the shape (checked)
  /// "<f4", "|u1", "<U12": the dtype as numpy writes it.
  std::string dtype() const;
};
/// Parses the header; errors name the byte offset. Does not look at the data.
NpyHeader parse_npy_header(const Source& s);

}  // namespace prism::io
