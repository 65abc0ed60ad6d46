// Fuzz target: the metadata reader (TSV with and without a header, CSV with
// quotes, 1-D .npy labels, IDX labels, gzip'd or not). The first three bytes
// are not part of the file: bytes 0-1 are the row count the vectors would
// have (little-endian, plus 1), byte 2 picks the name (.tsv, .csv, .npy, none).
#include <string_view>

#include "fuzz_common.hpp"
#include "prism/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int64_t rows = 1 + (data[0] | (data[1] << 8));
  static const char* const names[] = {"meta.tsv", "meta.csv", "labels.npy", "labels"};
  const char* name = names[data[2] % 4];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 3), size - 3);
  prism::fuzz::input_errors_only(
      [&] { prism::fuzz::check_metadata(prism::read_metadata_bytes(bytes, name, rows), rows); });
  return 0;
}
