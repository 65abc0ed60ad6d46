#include "run_report.hpp"

#include <fstream>
#include <string>

#include "prism/io.hpp"

namespace prism::app {

Faithfulness measure(const Dataset& ds, ConstView y, Metric metric, uint64_t seed, int k, int64_t sample) {
  MetricsParams mp;
  mp.k = k;
  mp.sample = sample;
  mp.seed = seed;
  mp.metric = metric;
  const auto* labels = ds.meta.labels();
  LabelCodes codes;
  if (labels) codes = encode_labels(*labels);
  return evaluate_embedding(ds.x, y, labels ? &codes.codes : nullptr, mp);
}

nlohmann::json to_json(const Faithfulness& f) {
  return {{"k", f.k},
          {"sample", f.sample},
          {"trustworthiness", f.trustworthiness},
          {"knn_recall", f.knn_recall},
          {"knn_accuracy", number_or_null(f.knn_accuracy)}};
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  AtomicFile f(path);
  f.write(j.dump(2) + "\n");
  f.commit();
}

}  // namespace prism::app
