#pragma once
// Readers and writers. Every reader error names the file, the line (text) or
// byte offset (binary) and what was expected, as an InputError.
#include <cstdint>
#include <string>
#include <vector>

#include "prism/dataset.hpp"
#include "prism/knn.hpp"

namespace prism {

enum class Format {
  automatic,  ///< by extension, then magic bytes
  npy,        ///< NumPy .npy, 2-D, float32 (memory-mapped), float64/float16 (converted)
  fvecs,      ///< FAISS/ANN-benchmarks: int32 d then d float32, per row
  bvecs,      ///< int32 d then d uint8, per row
  word2vec,   ///< word2vec binary: "N D\n" then "word " + D float32 per row
  text,       ///< word2vec text / GloVe / fastText: "word v1 v2 ..." (optional "N D" header)
  tsv,        ///< TensorBoard projector vectors.tsv (tab-separated numbers, no names)
  idx,        ///< MNIST / Fashion-MNIST IDX (gzip or not), labels from the sibling file
};

Format parse_format(const std::string& s);
const char* to_string(Format f);

struct ReadOptions {
  Format format = Format::automatic;
  std::string metadata;       ///< TensorBoard metadata TSV (one column, or a header row)
  std::string labels;         ///< IDX labels file (default: the images file's sibling)
  std::string label_column;   ///< metadata column used as labels (default: "label", else the first)
  bool drop_invalid = false;  ///< skip rows with NaN/Inf instead of failing
  /// Scan the values for NaN/Inf (O(N*D)). Off, a float32 .npy opens in O(1)
  /// (memory-mapped); `prism info` uses that.
  bool check_values = true;
};

/// Reads a data set, choosing the reader by extension and magic bytes.
Dataset read_dataset(const std::string& path, const ReadOptions& options = {});
/// Guesses a file's format (throws InputError for unknown ones).
Format detect_format(const std::string& path);
/// Reads a metadata TSV expecting `rows` rows.
Metadata read_metadata_tsv(const std::string& path, int64_t rows);

/// Output kinds, chosen by extension: .npy, .csv, .tsv, .fvecs.
/// CSV/TSV carry a header (x, y[, z] or dim names) and, when meta has columns,
/// those columns first. The file is written to a temporary name and renamed.
void write_matrix(const std::string& path, ConstView m, const Metadata* meta = nullptr);
/// Writes an int32 or float32 2-D .npy atomically.
void write_npy(const std::string& path, const float* data, int64_t rows, int64_t cols);
void write_npy(const std::string& path, const int32_t* data, int64_t rows, int64_t cols);
/// Writes TensorBoard projector vectors: tab-separated numbers, no header, no names.
void write_vectors_tsv(const std::string& path, ConstView m);
/// Writes a metadata TSV (header row when more than one column) atomically.
void write_metadata_tsv(const std::string& path, const Metadata& meta);

/// Writes a file atomically: content goes to PATH.tmp-XXXX, then rename().
/// If commit() is never called the temporary file is removed.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  std::FILE* file() { return f_; }
  const std::string& temp_path() const { return tmp_; }
  void write(const void* data, size_t bytes);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

/// Hex SHA-256 of a file (manifests).
std::string sha256_file(const std::string& path);

}  // namespace prism
