#include "reduce_options.hpp"

#include <set>

namespace prism::app {
namespace {

const char* group_of(Method m) {
  switch (m) {
    case Method::pca: return "PCA";
    case Method::tsne: return "t-SNE";
    case Method::umap: return "UMAP";
  }
  return "";
}

const char* method_label(Method m) { return m == Method::tsne ? "t-SNE" : m == Method::umap ? "UMAP" : "PCA"; }

}  // namespace

void ReduceOptions::add_to(CLI::App& app, bool with_method, const std::vector<Method>& methods) {
  if (with_method) {
    app.add_option("-m,--method", method, "pca | tsne | umap")->capture_default_str();
    app.add_option("-d,--dims,--n-components", dims, "Output dimensions (2 or 3; PCA: any <= D)")
        ->capture_default_str();
    app.add_option("--backend", backend, "auto | cpu | cuda (auto: CUDA when a GPU is present)")
        ->capture_default_str();
  }
  // One option per name; a name several methods share (metric, init,
  // learning_rate) is one flag whose help lists each method's default.
  std::set<std::string_view> done;
  for (const ParamSpec& spec : param_table()) {
    if (std::find(methods.begin(), methods.end(), spec.method) == methods.end()) continue;
    if (!done.insert(spec.name).second) continue;
    std::set<std::string> flags;
    std::string help, defaults, group;
    int owners = 0;
    for (const ParamSpec& other : param_table()) {
      if (other.name != spec.name ||
          std::find(methods.begin(), methods.end(), other.method) == methods.end())
        continue;
      for (auto n : other.names()) {
        std::string f = "--" + std::string(n);
        std::replace(f.begin(), f.end(), '_', '-');
        flags.insert(f);
      }
      ++owners;
      defaults += cat(defaults.empty() ? "" : ", ", method_label(other.method), " ",
                      to_string(other.default_value()));
      if (help.empty()) help = std::string(other.help);
      group = group_of(other.method);
    }
    if (spec.type == ParamType::choice) help += cat(" (", spec.choices, ")");
    help += cat(" [default: ", defaults, "]");
    std::string names;
    // The canonical flag first, so --help shows it.
    names = spec.flag();
    for (const auto& f : flags)
      if (f != spec.flag()) names += "," + f;
    const std::string key(spec.name);
    if (owners > 1) group = "Shared by the methods";
    if (spec.type == ParamType::boolean) {
      app.add_flag_callback(names, [this, key] { given[key] = "true"; }, help)->group(group);
    } else {
      app.add_option_function<std::string>(names, [this, key](const std::string& v) { given[key] = v; }, help)
          ->type_name(spec.type == ParamType::choice ? "WORD" : spec.type == ParamType::integer ? "INT" : "NUMBER")
          ->group(group);
    }
  }
}

ReduceParams ReduceOptions::resolve_for(Method m, uint64_t seed) const {
  ReduceParams p;
  p.method = m;
  p.dims = dims;
  p.backend = parse_backend(backend);
  p.seed = seed;
  for (const auto& [name, text] : given)
    if (const ParamSpec* spec = find_param(m, name)) set_param(p, *spec, parse_param(*spec, text));
  PRISM_EXPECTS(p.method == Method::pca || p.dims == 2 || p.dims == 3, "--dims ", p.dims,
                ": t-SNE and UMAP embed in 2 or 3 dimensions");
  PRISM_EXPECTS(p.dims >= 1, "--dims must be at least 1, got ", p.dims);
  return p;
}

std::vector<std::string> ReduceOptions::ignored_for(Method m) const {
  std::vector<std::string> out;
  for (const auto& [name, text] : given) {
    if (find_param(m, name)) continue;
    std::string owners;
    for (const ParamSpec& s : param_table())
      if (s.matches(name) && owners.find(method_label(s.method)) == std::string::npos)
        owners += cat(owners.empty() ? "" : " and ", method_label(s.method));
    std::string flag = "--" + name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    out.push_back(cat(flag, " is a ", owners, " parameter: ignored for ", method_label(m)));
  }
  return out;
}

ReduceParams ReduceOptions::resolve(uint64_t seed) const { return resolve_for(parse_method(method), seed); }

nlohmann::json to_json(const ParamValue& v) {
  return std::visit([](const auto& x) { return nlohmann::json(x); }, v);
}

ParamValue param_value_from_json(const std::string& key, const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  throw InputError(cat("parameter '", key, "' must be a number, true/false or a string, got ", v.dump()));
}

nlohmann::json params_json(const ReduceParams& p) {
  nlohmann::json j = {{"method", to_string(p.method)}, {"dims", p.dims}, {"backend", to_string(p.backend)},
                      {"seed", p.seed}};
  for (const ParamSpec* s : params_of(p.method)) j[std::string(s->name)] = to_json(get_param(p, *s));
  return j;
}

nlohmann::json record_json(const RunRecord& r) {
  nlohmann::json j = {{"backend", to_string(r.backend)}, {"warnings", r.warnings}};
  if (r.knn_k > 0) {
    j["init"] = to_string(r.init);
    j["knn"] = {{"k", r.knn_k}, {"exact", r.knn_exact}};
    j["n_epochs"] = r.n_epochs;
    j["learning_rate"] = r.learning_rate;
    if (!r.tsne_method.empty()) j["negative_gradient_method"] = r.tsne_method;
  }
  if (r.pca_dims > 0) j["pca_dims"] = r.pca_dims;
  if (r.normalised) j["normalised"] = true;
  return j;
}

nlohmann::json times_json(const StageTimes& t) {
  return {{"preprocess_s", t.preprocess}, {"knn_s", t.knn}, {"init_s", t.init}, {"optimise_s", t.optimise},
          {"total_s", t.total()}};
}

}  // namespace prism::app
