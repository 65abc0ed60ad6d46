// String forms of the public enums, shared by the CLI, plans and reports.
#include "prism/io.hpp"
#include "prism/knn.hpp"
#include "prism/pca.hpp"
#include "prism/reducer.hpp"

namespace prism {
namespace {

template <class E, size_t N>
E parse_enum(const std::string& s, const std::pair<const char*, E> (&table)[N], const char* what) {
  std::string options;
  for (const auto& [name, value] : table) {
    if (s == name) return value;
    options += options.empty() ? "" : ", ";
    options += name;
  }
  throw InputError(cat("unknown ", what, " '", s, "' (expected one of: ", options, ")"));
}

template <class E, size_t N>
const char* enum_name(E e, const std::pair<const char*, E> (&table)[N]) {
  for (const auto& [name, value] : table)
    if (value == e) return name;
  return "?";
}

const std::pair<const char*, Backend> kBackends[] = {
    {"auto", Backend::automatic}, {"cpu", Backend::cpu}, {"cuda", Backend::cuda}};
const std::pair<const char*, Metric> kMetrics[] = {{"euclidean", Metric::euclidean},
                                                   {"cosine", Metric::cosine}};
const std::pair<const char*, KnnMode> kKnnModes[] = {
    {"auto", KnnMode::automatic}, {"exact", KnnMode::exact}, {"approx", KnnMode::approx}};
const std::pair<const char*, Method> kMethods[] = {
    {"pca", Method::pca}, {"tsne", Method::tsne}, {"umap", Method::umap}};
const std::pair<const char*, Init> kInits[] = {
    {"pca", Init::pca}, {"random", Init::random}, {"spectral", Init::spectral}};
const std::pair<const char*, PcaSolver> kPcaSolvers[] = {
    {"auto", PcaSolver::automatic}, {"full", PcaSolver::full}, {"randomized", PcaSolver::randomized}};
const std::pair<const char*, Format> kFormats[] = {
    {"auto", Format::automatic}, {"npy", Format::npy},     {"fvecs", Format::fvecs},
    {"bvecs", Format::bvecs},    {"word2vec", Format::word2vec}, {"text", Format::text},
    {"tsv", Format::tsv},        {"idx", Format::idx}};

}  // namespace

Backend parse_backend(const std::string& s) { return parse_enum(s, kBackends, "backend"); }
const char* to_string(Backend b) { return enum_name(b, kBackends); }
Metric parse_metric(const std::string& s) { return parse_enum(s, kMetrics, "metric"); }
const char* to_string(Metric m) { return enum_name(m, kMetrics); }
KnnMode parse_knn_mode(const std::string& s) { return parse_enum(s, kKnnModes, "kNN mode"); }
const char* to_string(KnnMode m) { return enum_name(m, kKnnModes); }
Method parse_method(const std::string& s) { return parse_enum(s, kMethods, "method"); }
const char* to_string(Method m) { return enum_name(m, kMethods); }
Init parse_init(const std::string& s) { return parse_enum(s, kInits, "init"); }
const char* to_string(Init i) { return enum_name(i, kInits); }
PcaSolver parse_pca_solver(const std::string& s) { return parse_enum(s, kPcaSolvers, "PCA solver"); }
const char* to_string(PcaSolver s) { return enum_name(s, kPcaSolvers); }
Format parse_format(const std::string& s) { return parse_enum(s, kFormats, "format"); }
const char* to_string(Format f) { return enum_name(f, kFormats); }

}  // namespace prism
