// prism.load (every reader of the command) and prism.to_tensorboard.
#include <filesystem>

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "binding.hpp"
#include "prism/io.hpp"

namespace prism::py {
namespace {

namespace fs = std::filesystem;

nb::dict read(const std::string& path, const std::string& metadata, const std::string& format,
              const std::string& labels, const std::string& label_column, bool drop_invalid) {
  ReadOptions o;
  o.format = parse_format(format);
  o.metadata = metadata;
  o.labels = labels;
  o.label_column = label_column;
  o.drop_invalid = drop_invalid;
  Dataset ds = run_job(false, 0, [path, o](PyProgress&) { return read_dataset(path, o); });

  // The vectors stay where the reader put them (a float32 .npy stays
  // memory-mapped): the array owns a reference to the storage. A mapping is
  // read-only; every other reader's matrix is the array's alone.
  auto* owner = new std::shared_ptr<const void>(ds.storage);
  nb::capsule keep(owner, [](void* p) noexcept { delete static_cast<std::shared_ptr<const void>*>(p); });
  const size_t shape[2] = {static_cast<size_t>(ds.x.rows), static_cast<size_t>(ds.x.cols)};
  const int64_t strides[2] = {ds.x.stride, 1};
  nb::dict d;
  if (ds.format == "npy")
    d["x"] = nb::ndarray<nb::numpy, const float>(ds.x.data, 2, shape, keep, strides);
  else
    d["x"] = nb::ndarray<nb::numpy, float>(const_cast<float*>(ds.x.data), 2, shape, keep, strides);
  d["names"] = ds.meta.names;
  d["columns"] = std::move(ds.meta.columns);
  d["label_column"] = ds.meta.label_column;
  d["notes"] = ds.meta.notes;
  d["format"] = ds.format;
  d["dtype"] = ds.dtype;
  d["dropped_invalid"] = ds.dropped_invalid;
  return d;
}

/// The TensorBoard projector bundle `prism batch` writes (app/cmd_batch.cpp):
/// tensor.tsv, metadata.tsv when there is metadata, projector_config.pbtxt.
void write_tensorboard(const std::string& folder, InMatrix yin, const std::string& name,
                       const std::vector<std::string>& names, std::vector<std::vector<std::string>> columns,
                       int label_column) {
  const ConstView y = view_of(yin);
  check_finite(y, "Y");
  const Metadata meta = make_metadata(names, std::move(columns), label_column, y.rows);
  std::error_code ec;
  fs::create_directories(folder, ec);
  PRISM_EXPECTS(!ec && fs::is_directory(folder), folder, ": cannot create the folder (", ec.message(), ")");
  const fs::path dir(folder);
  write_vectors_tsv((dir / "tensor.tsv").string(), y);
  if (!meta.empty()) write_metadata_tsv((dir / "metadata.tsv").string(), meta);
  AtomicFile f((dir / "projector_config.pbtxt").string());
  std::string escaped;
  for (char c : name) escaped += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  f.write(cat("embeddings {\n  tensor_name: \"", escaped, "\"\n  tensor_shape: ", y.rows, "\n  tensor_shape: ", y.cols,
              "\n  tensor_path: \"tensor.tsv\"\n", meta.empty() ? "" : "  metadata_path: \"metadata.tsv\"\n", "}\n"));
  f.commit();
}

}  // namespace

void bind_io(nb::module_& m) {
  using namespace nb::literals;
  m.def("read", &read, "path"_a, "metadata"_a, "format"_a, "labels"_a, "label_column"_a, "drop_invalid"_a);
  m.def("write_tensorboard", &write_tensorboard, "folder"_a, "y"_a, "name"_a, "names"_a, "columns"_a,
        "label_column"_a);
}

}  // namespace prism::py
