// prism metrics X Y [--labels L] --k 15: faithfulness of an embedding.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "common.hpp"
#include "prism/memory_estimate.hpp"
#include "prism/metrics.hpp"
#include "prism/tsne.hpp"

namespace prism::app {
namespace {

CommandSetup setup = [](CLI::App& sub) {
  struct State {
    InputOptions x;
    std::string y, labels, label_column, metric = "euclidean";
    MetricsParams p;
    bool json = false, kl = false;
    double perplexity = 30;
  };
  auto s = std::make_shared<State>();
  s->x.add_to(sub);
  sub.add_option("embedding", s->y, "The low-dimensional embedding Y (same rows as the input)")->required();
  sub.add_option("--labels", s->labels,
                 "Labels: a 1-D .npy, a TSV (one per row, or a header and columns) or a CSV with a header; "
                 "default: the input's own labels");
  sub.add_option("--labels-column", s->label_column, "Column of --labels to use");
  sub.add_option("-k,--k", s->p.k, "Neighbourhood size for trustworthiness and recall")->capture_default_str();
  sub.add_option("--sample", s->p.sample, "Points evaluated (seeded sample; all when N is smaller)")->capture_default_str();
  sub.add_option("--classifier-k", s->p.classifier_k, "k of the k-NN classifier in Y")->capture_default_str();
  sub.add_option("--seed", s->p.seed, "Sample seed")->capture_default_str();
  sub.add_option("--metric", s->metric, "Distance in the input space: euclidean | cosine")->capture_default_str();
  sub.add_flag("--kl", s->kl, "Also compute the t-SNE KL divergence (P from the input's exact kNN graph)");
  sub.add_option("--perplexity", s->perplexity, "Perplexity of P for --kl")->capture_default_str();
  sub.add_flag("--json", s->json, "Print JSON");
  sub.footer(
      "trustworthiness@k (Venna & Kaski; equals scikit-learn's on all points), kNN recall@k (how many\n"
      "of each point's k nearest input neighbours stay among its k nearest in Y), and the accuracy\n"
      "of a k-NN classifier in Y (sampled points classified by the points outside the sample).\n\n"
      "Examples:\n"
      "  prism metrics fmnist.npy umap.npy --labels fmnist.metadata.tsv\n"
      "  prism metrics /usr/share/datasets/fashion-mnist tsne.npy --k 15 --json --kl");
  return [s]() {
    const Dataset x = s->x.read();
    ReadOptions yo;
    const Dataset y = read_dataset(s->y, yo);
    PRISM_EXPECTS(y.rows() == x.rows(), s->y, ": ", y.rows(), " rows, but the input has ", x.rows(),
                  " (expected one embedding row per input vector)");
    s->p.metric = parse_metric(s->metric);
    Metadata meta = x.meta;
    if (!s->labels.empty()) {
      meta = read_metadata(s->labels, x.rows());
      for (const auto& n : meta.notes) note(n);
      if (!s->label_column.empty()) meta.label_column = meta.find(s->label_column);
      PRISM_EXPECTS(meta.label_column >= 0, "--labels-column '", s->label_column, "' is not in ", s->labels);
    }
    LabelCodes codes;
    if (meta.labels()) codes = encode_labels(*meta.labels());
    const Faithfulness f = evaluate_embedding(x.x, y.x, meta.labels() ? &codes.codes : nullptr, s->p);
    double kl = std::nan("");
    if (s->kl) {
      KnnParams kp;
      kp.k = static_cast<int>(std::min<double>(x.rows() - 1, std::ceil(3 * s->perplexity)));
      kp.mode = KnnMode::exact;
      kp.metric = s->p.metric;
      check_knn_memory(x.rows(), x.cols(), kp);
      kl = tsne_kl_divergence(tsne_affinities(build_knn(x.x, kp), s->perplexity), y.x);
    }
    if (s->json) {
      nlohmann::json j = {{"k", f.k}, {"sample", f.sample}, {"trustworthiness", f.trustworthiness},
                          {"knn_recall", f.knn_recall}};
      j["knn_accuracy"] = std::isnan(f.knn_accuracy) ? nlohmann::json(nullptr) : nlohmann::json(f.knn_accuracy);
      if (s->kl) j["kl_divergence"] = kl;
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("points evaluated      %lld of %lld\n", static_cast<long long>(f.sample), static_cast<long long>(x.rows()));
      std::printf("trustworthiness@%-4d  %.4f\n", f.k, f.trustworthiness);
      std::printf("kNN recall@%-4d       %.4f\n", f.k, f.knn_recall);
      if (std::isnan(f.knn_accuracy)) std::printf("%d-NN accuracy        n/a (no labels)\n", s->p.classifier_k);
      else std::printf("%d-NN accuracy        %.4f\n", s->p.classifier_k, f.knn_accuracy);
      if (s->kl) std::printf("KL divergence         %.4f (perplexity %g)\n", kl, s->perplexity);
    }
    return 0;
  };
};

PRISM_COMMAND("metrics", "Faithfulness of an embedding: trustworthiness, kNN recall, kNN accuracy, KL", 50, setup);

}  // namespace
}  // namespace prism::app
