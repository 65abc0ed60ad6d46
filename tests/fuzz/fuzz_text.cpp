// Fuzz target: the word2vec text / GloVe / fastText reader, with and without the "N D" header line.
#include <string_view>

#include "fuzz_common.hpp"
#include "prism/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  prism::ReadOptions o;
  o.drop_invalid = size % 2 == 1;  // both ways of handling NaN/Inf rows
  prism::fuzz::input_errors_only([&] { prism::fuzz::check_dataset(prism::read_dataset_bytes(bytes, "fuzz.txt", o)); });
  return 0;
}
