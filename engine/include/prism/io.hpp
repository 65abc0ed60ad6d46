#pragma once
// Readers and writers. Every reader error names the file, the line (text) or
// byte offset (binary) and what was expected, as an InputError.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
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
  std::string metadata;       ///< metadata file (see read_metadata)
  std::string labels;         ///< IDX labels file (default: the images file's sibling)
  std::string label_column;   ///< metadata column used as labels (default: "label", else the first)
  bool drop_invalid = false;  ///< skip rows with NaN/Inf instead of failing
  /// Scan the values for NaN/Inf (O(N*D)). Off, a float32 .npy opens in O(1)
  /// (memory-mapped); `prism info` uses that.
  bool check_values = true;
};

/// Reads a data set, choosing the reader by extension and magic bytes.
/// Sizes read from a file are checked against the file's length before anything
/// is allocated, and allocations beyond the memory budget (prism/memory.hpp)
/// fail at once with a RuntimeError that names the figure.
Dataset read_dataset(const std::string& path, const ReadOptions& options = {});
/// The same for bytes in memory (copied). `name` stands for the path: its
/// extension picks the reader (unless options.format does) and messages start
/// with it. IDX labels are not looked up next to it (options.labels still works).
Dataset read_dataset_bytes(std::string_view bytes, const std::string& name, const ReadOptions& options = {});
/// Guesses a file's format (throws InputError for unknown ones).
Format detect_format(const std::string& path);

/// Reads the metadata of `rows` vectors, whatever the file holds:
/// - a 1-D .npy (or N x 1): integer, float, bool, unicode or bytes labels -> column "label";
/// - IDX labels (magic 0x801, gzip'd or not) -> column "label";
/// - CSV (by extension .csv; RFC 4180 quotes) or TSV (anything else; no quoting):
///   with rows + 1 lines the first is a header. TensorBoard gives one-column files
///   no header: one is accepted when line 1 is a usual name (label, class, word,
///   ...) or unlike the values below it, with a note in Metadata::notes; with
///   rows lines there is no header (several columns are named column1, ...).
/// Files may be gzip'd. Binary data that is none of these is an InputError
/// naming the byte offset; so is a row count that does not match.
/// label_column is the column named "label", else the first.
Metadata read_metadata(const std::string& path, int64_t rows);
/// The same for bytes in memory; `name` stands for the path (its extension says CSV).
Metadata read_metadata_bytes(std::string_view bytes, const std::string& name, int64_t rows);
/// Former name of read_metadata (it reads every metadata format, not only TSV).
inline Metadata read_metadata_tsv(const std::string& path, int64_t rows) { return read_metadata(path, rows); }

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

/// One field of a CSV (sep ',': quoted as RFC 4180 when it holds a comma, a
/// quote or a line break) or TSV (sep '\t': tabs and line breaks become
/// spaces, as TensorBoard's files have no quoting) line.
std::string delimited_field(const std::string& s, char sep);

/// Writes a file atomically: content goes to PATH.tmp-PID-XXXXXXXX in the same
/// folder, then rename(). A folder that does not exist is an InputError (exit 2,
/// a wrong path); every other failure (no permission, a read-only file system,
/// disk full, a file-size limit) a RuntimeError (exit 3). Both name PATH and the
/// reason and remove the temporary file; so does the destructor when commit()
/// was never called. PATH itself is the old file or the complete new one,
/// never a partial file.
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
  /// Flushes, syncs and renames into place.
  void commit();

 private:
  void abandon() noexcept;  ///< closes and removes the temporary file
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

/// Hex SHA-256 of a file's content (manifests), through OpenSSL's libcrypto.
std::string sha256_file(const std::string& path);
/// Hex SHA-256 of bytes in memory.
std::string sha256_bytes(std::string_view bytes);

}  // namespace prism
