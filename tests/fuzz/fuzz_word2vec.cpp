// Fuzz target: the word2vec binary reader (a text header "N D", then word, space and D float32 per row).
#include <string_view>

#include "fuzz_common.hpp"
#include "prism/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  prism::ReadOptions o;
  o.drop_invalid = size % 2 == 1;  // both ways of handling NaN/Inf rows
  prism::fuzz::input_errors_only([&] { prism::fuzz::check_dataset(prism::read_dataset_bytes(bytes, "fuzz.bin", o)); });
  return 0;
}
