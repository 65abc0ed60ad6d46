// Fuzz target: the .fvecs and .bvecs readers (a per-row int32 dimension, then the values).
#include <string_view>

#include "fuzz_common.hpp"
#include "prism/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  prism::ReadOptions o;
  o.drop_invalid = size % 2 == 1;  // both ways of handling NaN/Inf rows
  for (const char* name : {"fuzz.fvecs", "fuzz.bvecs"})
    prism::fuzz::input_errors_only([&] { prism::fuzz::check_dataset(prism::read_dataset_bytes(bytes, name, o)); });
  return 0;
}
