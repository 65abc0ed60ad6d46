#pragma once
// Internal interface between read_dataset() and the per-format readers.
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

/// Reads a whole gzip'd (or plain) file into memory through zlib.
std::string read_maybe_gzip(const std::string& path);

/// What a reader returns: the data (not yet checked for NaN/Inf) and how to
/// name a row's position in the file ("f.txt line 12", "f.npy byte offset 4096").
struct RawRead {
  Dataset ds;
  std::function<std::string(int64_t row)> where;
};

RawRead read_npy(const std::string& path, const ReadOptions& o);
RawRead read_vecs(const std::string& path, bool bytes, const ReadOptions& o);
RawRead read_word2vec_binary(const std::string& path, const ReadOptions& o);
/// word2vec text / GloVe / fastText (named rows) when `named`, TensorBoard TSV otherwise.
RawRead read_text_vectors(const std::string& path, bool named, const ReadOptions& o);
RawRead read_idx(const std::string& path, const ReadOptions& o);
/// A folder holding MNIST-style {train,t10k}-images-idx3-ubyte[.gz]: both splits, train first.
RawRead read_idx_folder(const std::string& dir, const ReadOptions& o);

/// Rows with NaN/Inf: throws naming the first one (`where(row)` describes its
/// position), or removes them (with their metadata rows) when o.drop_invalid.
void check_finite(Dataset& ds, const ReadOptions& o,
                  const std::function<std::string(int64_t row)>& where);

/// Shared checks: N >= 2, D >= 1.
void check_shape(const std::string& path, int64_t n, int64_t d);

/// Float parsing shared by the text readers (std::from_chars: exact, locale-free).
bool parse_float(const char*& p, const char* end, float& out);

}  // namespace prism::io
