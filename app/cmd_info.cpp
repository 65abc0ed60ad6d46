// prism info INPUT: what a data set holds.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "common.hpp"
#include "prism/memory.hpp"

namespace prism::app {
namespace {

CommandSetup setup = [](CLI::App& sub) {
  struct State {
    InputOptions in;
    bool json = false;
  };
  auto s = std::make_shared<State>();
  s->in.add_to(sub);
  sub.add_flag("--json", s->json, "Print JSON instead of text");
  sub.footer(
      "Examples:\n"
      "  prism info vectors.npy\n"
      "  prism info glove.6B.300d.txt --json\n"
      "  prism info /usr/share/datasets/fashion-mnist      (a folder of IDX files)\n"
      "  prism info vectors.tsv --metadata metadata.tsv");
  return [s]() {
    const Dataset ds = s->in.read(false);  // shape and columns only: a .npy opens in O(1)
    nlohmann::json j;
    j["path"] = ds.source;
    j["format"] = ds.format;
    j["dtype"] = ds.dtype;
    j["rows"] = ds.rows();
    j["dims"] = ds.cols();
    j["float32_bytes"] = ds.rows() * ds.cols() * 4;
    j["memory_mapped"] = ds.mapped;
    j["dropped_invalid"] = ds.dropped_invalid;
    nlohmann::json cols = nlohmann::json::array();
    for (size_t c = 0; c < ds.meta.columns.size(); ++c) {
      std::map<std::string, int64_t> counts;
      for (const auto& v : ds.meta.columns[c]) ++counts[v];
      cols.push_back({{"name", ds.meta.names[c]},
                      {"distinct", counts.size()},
                      {"label", static_cast<int>(c) == ds.meta.label_column}});
    }
    j["columns"] = cols;
    if (s->json) {
      std::printf("%s\n", j.dump(2).c_str());
      return 0;
    }
    std::printf("%s\n", ds.source.c_str());
    std::printf("  format   %s (%s)\n", ds.format.c_str(), ds.dtype.c_str());
    std::printf("  shape    %lld rows x %lld dims\n", static_cast<long long>(ds.rows()),
                static_cast<long long>(ds.cols()));
    std::printf("  memory   %s as float32%s\n", human_bytes(double(ds.rows()) * ds.cols() * 4).c_str(),
                j["memory_mapped"].get<bool>() ? " (memory-mapped)" : "");
    if (ds.meta.empty()) std::printf("  columns  none (no labels)\n");
    for (const auto& c : cols)
      std::printf("  column   %s: %lld distinct values%s\n", c["name"].get<std::string>().c_str(),
                  static_cast<long long>(c["distinct"].get<int64_t>()), c["label"].get<bool>() ? " (label)" : "");
    return 0;
  };
};

PRISM_COMMAND("info", "Show a data set's size, type and metadata columns", 10, setup);

}  // namespace
}  // namespace prism::app
