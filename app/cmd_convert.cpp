// prism convert INPUT OUTPUT: any readable format to .npy / .tsv / .csv / .fvecs.
#include <filesystem>

#include "command.hpp"
#include "common.hpp"

namespace prism::app {
namespace {

CommandSetup setup = [](CLI::App& sub) {
  struct State {
    InputOptions in;
    std::string out;
  };
  auto s = std::make_shared<State>();
  s->in.add_to(sub);
  sub.add_option("output", s->out, "Output: .npy, .fvecs, .tsv (TensorBoard vectors) or .csv")->required();
  sub.footer(
      "Metadata (labels, words, columns) is written alongside as OUTPUT-stem.metadata.tsv for\n"
      ".npy/.fvecs/.tsv (TensorBoard's format), and as leading columns in .csv.\n\n"
      "Examples:\n"
      "  prism convert glove.6B.100d.txt glove100.npy     (+ glove100.metadata.tsv with the words)\n"
      "  prism convert vectors.npy vectors.tsv --metadata labels.tsv\n"
      "  prism convert /usr/share/datasets/fashion-mnist fmnist.npy");
  return [s]() {
    const Dataset ds = s->in.read();
    namespace fs = std::filesystem;
    fs::path out(s->out);
    std::string ext = out.extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".tsv") write_vectors_tsv(s->out, ds.x);
    else write_matrix(s->out, ds.x, ext == ".csv" ? &ds.meta : nullptr);
    std::string meta_path;
    if (!ds.meta.empty() && ext != ".csv") {
      meta_path = (out.parent_path() / (out.stem().string() + ".metadata.tsv")).string();
      try {
        write_metadata_tsv(meta_path, ds.meta);
      } catch (const Error&) {
        std::error_code ec;
        fs::remove(out, ec);  // all or nothing: vectors without their metadata would mislead
        throw;
      }
    }
    note(cat("wrote ", s->out, " (", ds.rows(), " x ", ds.cols(), ")",
             meta_path.empty() ? "" : cat(" and ", meta_path)));
    return 0;
  };
};

PRISM_COMMAND("convert", "Convert vectors (and metadata) to .npy, .tsv, .csv or .fvecs", 20, setup);

}  // namespace
}  // namespace prism::app
