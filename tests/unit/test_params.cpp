// The parameter table: every row bound to its field, defaults as the methods'
// own, names and aliases, values checked by type and range.
#include <gtest/gtest.h>

#include <set>

#include "prism/params.hpp"

namespace prism {
namespace {

TEST(ParamTable, EveryRowRoundTripsThroughItsField) {
  // Setting a value other than the default must change exactly that row's
  // value (a row bound to the wrong field, or to none, fails here).
  for (const ParamSpec& spec : param_table()) {
    ReduceParams p;
    const ParamValue before = get_param(p, spec);
    ParamValue other;
    switch (spec.type) {
      case ParamType::boolean: other = !std::get<bool>(before); break;
      case ParamType::integer: other = int64_t(std::min(spec.max, spec.min + 3)); break;
      case ParamType::real: other = std::min(spec.max, spec.min + 0.375); break;
      case ParamType::choice: {
        const std::string words(spec.choices);
        const std::string current = std::get<std::string>(before);
        other = current == words.substr(0, words.find(' ')) ? words.substr(words.rfind(' ') + 1)
                                                              : words.substr(0, words.find(' '));
        break;
      }
    }
    ASSERT_NE(to_string(other), to_string(before)) << spec.name;
    set_param(p, spec, other);
    EXPECT_EQ(to_string(get_param(p, spec)), to_string(other)) << spec.name;
    // Every other row of the same method keeps its default, unless it shares the field.
    for (const ParamSpec& s : param_table()) {
      if (&s == &spec || s.get == nullptr) continue;
      if (s.name == spec.name) continue;  // shared rows (metric, knn) bind one field
      EXPECT_EQ(to_string(get_param(p, s)), to_string(s.default_value())) << spec.name << " moved " << s.name;
    }
  }
}

TEST(ParamTable, DefaultsAreTheMethodsOwn) {
  const ReduceParams d;
  EXPECT_EQ(to_string(find_param(Method::tsne, "perplexity")->default_value()), "30");
  EXPECT_EQ(to_string(find_param(Method::tsne, "max_iter")->default_value()), "1000");
  EXPECT_EQ(to_string(find_param(Method::tsne, "learning_rate")->default_value()), "auto");
  EXPECT_EQ(to_string(find_param(Method::umap, "learning_rate")->default_value()), "1");
  EXPECT_EQ(to_string(find_param(Method::umap, "n_epochs")->default_value()), "auto");
  EXPECT_EQ(to_string(find_param(Method::umap, "init")->default_value()), "spectral");
  EXPECT_EQ(to_string(find_param(Method::tsne, "init")->default_value()), "pca");
  EXPECT_EQ(d.umap.n_neighbors, 15);
}

TEST(ParamTable, NamesAliasesAndFlags) {
  // umap-learn / scikit-learn names, the older flags as aliases.
  EXPECT_EQ(find_param(Method::umap, "neighbors"), find_param(Method::umap, "n_neighbors"));
  EXPECT_EQ(find_param(Method::umap, "n-neighbors"), find_param(Method::umap, "n_neighbors"));
  EXPECT_EQ(find_param(Method::umap, "epochs"), find_param(Method::umap, "n_epochs"));
  EXPECT_EQ(find_param(Method::tsne, "n_iter"), find_param(Method::tsne, "max_iter"));
  EXPECT_EQ(find_param(Method::tsne, "iterations"), find_param(Method::tsne, "max_iter"));
  EXPECT_EQ(find_param(Method::tsne, "theta"), find_param(Method::tsne, "angle"));
  // openTSNE's negative_gradient_method, --tsne-method for short; the value reaches TsneParams.
  const ParamSpec* ngm = find_param(Method::tsne, "negative_gradient_method");
  ASSERT_NE(ngm, nullptr);
  EXPECT_EQ(find_param(Method::tsne, "tsne-method"), ngm);
  EXPECT_EQ(to_string(ngm->default_value()), "auto");
  ReduceParams rp;
  rp.method = Method::tsne;
  set_param(rp, *ngm, ParamValue(std::string("fft")));
  EXPECT_EQ(rp.tsne.method, TsneMethod::fft);
  EXPECT_THROW(set_param(rp, *ngm, ParamValue(std::string("fmm"))), InputError);
  EXPECT_EQ(find_param(Method::umap, "perplexity"), nullptr);
  EXPECT_EQ(find_param(Method::umap, "n_neighbors")->flag(), "--n-neighbors");
  // One canonical name per method row.
  for (Method m : {Method::pca, Method::tsne, Method::umap}) {
    std::set<std::string_view> seen;
    for (const ParamSpec* s : params_of(m)) {
      EXPECT_TRUE(seen.insert(s->name).second) << s->name;
      EXPECT_FALSE(s->help.empty()) << s->name;
      for (auto n : s->names()) EXPECT_EQ(find_param(m, n), s) << n;
    }
  }
}

TEST(ParamTable, ValuesAreCheckedByTypeAndRange) {
  ReduceParams p;
  const ParamSpec& nn = *find_param(Method::umap, "n_neighbors");
  EXPECT_THROW(set_param(p, nn, int64_t{1}), InputError);
  EXPECT_THROW(set_param(p, nn, int64_t{1001}), InputError);
  EXPECT_THROW(set_param(p, nn, 15.5), InputError);
  EXPECT_THROW(set_param(p, nn, std::string("many")), InputError);
  set_param(p, nn, 30.0);  // an integral real (JSON 30.0, a Python float) is an integer
  EXPECT_EQ(p.umap.n_neighbors, 30);
  const ParamSpec& perp = *find_param(Method::tsne, "perplexity");
  EXPECT_THROW(set_param(p, perp, 0.0), InputError);  // open at 0
  set_param(p, perp, int64_t{50});
  EXPECT_EQ(p.tsne.perplexity, 50.0);
  const ParamSpec& init = *find_param(Method::tsne, "init");
  EXPECT_THROW(set_param(p, init, std::string("spectral")), InputError);  // UMAP's only
  const ParamSpec& epochs = *find_param(Method::umap, "n_epochs");
  set_param(p, epochs, int64_t{300});
  set_param(p, epochs, std::string("auto"));
  EXPECT_EQ(p.umap.n_epochs, 0);
  EXPECT_EQ(std::get<std::string>(get_param(p, epochs)), "auto");
  // Text as the command line gives it.
  EXPECT_EQ(std::get<int64_t>(parse_param(nn, "40")), 40);
  EXPECT_THROW(parse_param(nn, "40x"), InputError);
  EXPECT_EQ(std::get<bool>(parse_param(*find_param(Method::pca, "whiten"), "true")), true);
  try {
    set_param(p, nn, int64_t{0});
    FAIL();
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("n_neighbors"), std::string::npos) << what;
    EXPECT_NE(what.find("[2, 1000]"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace prism
