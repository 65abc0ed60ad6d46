// Every option of the reduction commands with an effect a test can see: the
// parameter table's flags and aliases, input options, outputs, and the
// commands' own switches. Each check reads the output or the summary, so a
// flag that stops working fails here.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "prism/io.hpp"
#include "test_util.hpp"

using namespace prism;
using nlohmann::json;
using prism::test::read_text;
using prism::test::run_prism;
using prism::test::TempDir;
using prism::test::write_text;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// 300 x 12 blobs with labels (label, and a 'parity' column of random-ish
/// labels that carry no structure), and a 120-d copy for the pre-reduction.
struct Data {
  TempDir dir;
  std::string npy, wide, meta;
  Data() {
    const auto b = test::make_blobs(300, 12, 3, 42, 8.0f);
    const auto w = test::make_blobs(300, 120, 3, 42, 8.0f);
    npy = dir.file("x.npy");
    wide = dir.file("wide.npy");
    meta = dir.file("meta.tsv");
    write_matrix(npy, b.x.view());
    write_matrix(wide, w.x.view());
    Metadata m;
    std::vector<std::string> labels, parity;
    for (int64_t i = 0; i < 300; ++i) {
      labels.push_back("class" + std::to_string(b.labels[i]));
      parity.push_back(((uint64_t(i) * 2654435761u) >> 9) & 1 ? "odd" : "even");  // no structure
    }
    m.add("label", labels, true);
    m.add("parity", parity);
    write_metadata_tsv(meta, m);
  }
  json summary(const std::string& args) const {
    const std::string s = dir.file("summary.json");
    fs::remove(s);
    auto r = run_prism(args + " --summary " + s);
    EXPECT_EQ(r.code, 0) << args << "\n" << r.output;
    if (r.code != 0) return json::object();
    std::ifstream f(s);
    return json::parse(f);
  }
};

Matrix read_y(const std::string& path) { return to_matrix(read_dataset(path).x); }

const std::string kQuick = " --backend cpu --seed 3 -q ";

}  // namespace

TEST(CliFlags, ParameterTableFlagsAndAliases) {
  Data d;
  const std::string out = " --out " + d.dir.file("y.npy");
  // umap-learn's names and the older spellings reach the same fields.
  json s = d.summary("reduce " + d.npy + " --method umap --n-neighbors 7 --min-dist 0.3 --n-epochs 30" + kQuick + out);
  EXPECT_EQ(s["params"]["n_neighbors"], 7);
  EXPECT_EQ(s["params"]["min_dist"], 0.3);
  EXPECT_EQ(s["params"]["n_epochs"], 30);
  EXPECT_EQ(s["ran"]["knn"]["k"], 7);
  EXPECT_EQ(s["ran"]["n_epochs"], 30);
  s = d.summary("reduce " + d.npy + " --method umap --neighbors 9 --epochs 20" + kQuick + out);
  EXPECT_EQ(s["params"]["n_neighbors"], 9);
  EXPECT_EQ(s["params"]["n_epochs"], 20);
  s = d.summary("reduce " + d.npy + " --method tsne --perplexity 8 --max-iter 60 --early-exaggeration 6" +
                " --angle 0 --learning-rate 100" + kQuick + out);
  EXPECT_EQ(s["params"]["perplexity"], 8.0);
  EXPECT_EQ(s["params"]["max_iter"], 60);
  EXPECT_EQ(s["params"]["early_exaggeration"], 6.0);
  EXPECT_EQ(s["params"]["angle"], 0.0);
  EXPECT_EQ(s["ran"]["learning_rate"], 100.0);
  EXPECT_EQ(s["ran"]["knn"]["k"], 24);
  s = d.summary("reduce " + d.npy + " --method tsne --perplexity 8 --iterations 40 --theta 0.8" + kQuick + out);
  EXPECT_EQ(s["params"]["max_iter"], 40);
  EXPECT_EQ(s["params"]["angle"], 0.8);
  EXPECT_EQ(s["ran"]["learning_rate"], 50.0);  // auto: max(300 / 12, 50)
  // A parameter of another method is ignored, and said so.
  auto r = run_prism("reduce " + d.npy + " --method umap --perplexity 5 --n-epochs 10" +
                     std::string(" --backend cpu --seed 1 ") + out);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "--perplexity is a t-SNE parameter: ignored for UMAP")) << r.output;
  // Out of range: exit 2 naming the parameter and the range.
  r = run_prism("reduce " + d.npy + " --method umap --n-neighbors 1" + kQuick + out);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "n_neighbors")) << r.output;
  EXPECT_TRUE(contains(r.output, "[2, 1000]")) << r.output;
  // --help lists the canonical flags.
  r = run_prism("reduce --help");
  for (const char* flag : {"--n-neighbors", "--min-dist", "--n-epochs", "--perplexity", "--early-exaggeration",
                           "--max-iter", "--angle", "--negative-sample-rate", "--svd-solver"})
    EXPECT_TRUE(contains(r.output, flag)) << flag;
}

TEST(CliFlags, KnnInitMetricAndPreReduction) {
  Data d;
  const std::string out = " --out " + d.dir.file("y.npy");
  json s = d.summary("reduce " + d.npy + " --method umap --n-epochs 10 --knn approx" + kQuick + out);
  EXPECT_EQ(s["ran"]["knn"]["exact"], false);
  s = d.summary("reduce " + d.npy + " --method umap --n-epochs 10 --knn exact" + kQuick + out);
  EXPECT_EQ(s["ran"]["knn"]["exact"], true);
  s = d.summary("reduce " + d.npy + " --method umap --n-epochs 10 --init random" + kQuick + out);
  EXPECT_EQ(s["ran"]["init"], "random");
  const Matrix random = read_y(d.dir.file("y.npy"));
  s = d.summary("reduce " + d.npy + " --method umap --n-epochs 10 --init spectral" + kQuick + out);
  EXPECT_EQ(s["ran"]["init"], "spectral");
  EXPECT_NE(read_y(d.dir.file("y.npy")).storage(), random.storage());
  // --metric cosine: every row's length is irrelevant (the kNN of the directions).
  const auto b = test::make_blobs(300, 12, 3, 42, 8.0f);
  Matrix scaled = b.x;
  for (int64_t i = 0; i < 300; ++i)
    for (int64_t j = 0; j < 12; ++j) scaled(i, j) *= 1.0f + float(i % 5);
  write_matrix(d.dir.file("scaled.npy"), scaled.view());
  s = d.summary("reduce " + d.npy + " --method umap --n-epochs 20 --metric cosine" + kQuick + out);
  EXPECT_EQ(s["params"]["metric"], "cosine");
  auto same_graph = [&](const std::string& metric) {
    const std::string a = d.dir.file("ka.npy"), c = d.dir.file("kc.npy");
    EXPECT_EQ(run_prism("knn " + d.npy + " --k 10 --mode exact -q --metric " + metric + " --out " + a).code, 0);
    EXPECT_EQ(run_prism("knn " + d.dir.file("scaled.npy") + " --k 10 --mode exact -q --metric " + metric +
                        " --out " + c).code, 0);
    const Dataset ga = read_dataset(a), gc = read_dataset(c);
    int64_t same = 0;
    for (int64_t i = 0; i < 300; ++i)
      for (int j = 0; j < 10; ++j) same += ga.x(i, j) == gc.x(i, j);
    return same / 3000.0;
  };
  EXPECT_GT(same_graph("cosine"), 0.99);
  EXPECT_LT(same_graph("euclidean"), 0.9);
  // t-SNE on D > 100: PCA to --pca-dims first (50 by default, 0: never).
  s = d.summary("reduce " + d.wide + " --method tsne --perplexity 8 --max-iter 30" + kQuick + out);
  EXPECT_EQ(s["ran"]["pca_dims"], 50);
  s = d.summary("reduce " + d.wide + " --method tsne --perplexity 8 --max-iter 30 --pca-dims 20" + kQuick + out);
  EXPECT_EQ(s["ran"]["pca_dims"], 20);
  s = d.summary("reduce " + d.wide + " --method tsne --perplexity 8 --max-iter 30 --pca-dims 0" + kQuick + out);
  EXPECT_FALSE(s["ran"].contains("pca_dims"));
}

TEST(CliFlags, PcaWhitenAndUmapDeterministicFlag) {
  Data d;
  const std::string y = d.dir.file("y.npy");
  ASSERT_EQ(run_prism("reduce " + d.npy + " --method pca --dims 3 --whiten" + kQuick + " --out " + y).code, 0);
  const Matrix w = read_y(y);
  for (int c = 0; c < 3; ++c) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < 300; ++i) m += w(i, c) / 300.0;
    for (int64_t i = 0; i < 300; ++i) v += (w(i, c) - m) * (w(i, c) - m) / 299.0;
    EXPECT_NEAR(v, 1.0, 1e-3) << "component " << c;
  }
  json s = d.summary("reduce " + d.npy + " --method pca --dims 2 --svd-solver randomized" + kQuick + " --out " + y);
  EXPECT_EQ(s["params"]["svd_solver"], "randomized");
  s = d.summary("reduce " + d.npy + " --method umap --n-epochs 10 --deterministic" + kQuick + " --out " + y);
  EXPECT_EQ(s["params"]["deterministic"], true);
}

TEST(CliFlags, OutputsCsvPngAndTransform) {
  Data d;
  const std::string csv = d.dir.file("y.csv"), y = d.dir.file("y.npy");
  auto r = run_prism("reduce " + d.npy + " --metadata " + d.meta + " --method umap --n-epochs 10" + kQuick +
                     " --out " + y + " --csv " + csv
#ifdef PRISM_TEST_HAVE_VIEWER
                     + " --png " + d.dir.file("y.png")
#endif
  );
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string text = read_text(csv);
  EXPECT_EQ(text.substr(0, text.find('\n')), "label,parity,x,y");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 301);
#ifdef PRISM_TEST_HAVE_VIEWER
  const std::string png = read_text(d.dir.file("y.png"));
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
#endif
  // UMAP transform: new rows embedded into a fit, on the CPU (recorded).
  const auto b = test::make_blobs(300, 12, 3, 42, 8.0f);
  Matrix fresh(30, 12);
  for (int64_t i = 0; i < 30; ++i)
    for (int64_t j = 0; j < 12; ++j) fresh(i, j) = b.x(i * 10, j) + 0.01f;
  write_matrix(d.dir.file("new.npy"), fresh.view());
  const json s = d.summary("reduce --method umap --n-epochs 30 --fit " + d.npy + " --transform " +
                           d.dir.file("new.npy") + " --fit-out " + d.dir.file("train.npy") + kQuick + " --out " + y);
  EXPECT_EQ(s["transform"]["backend"], "cpu");
  EXPECT_EQ(s["transform"]["rows"], 30);
  const Matrix ny = read_y(y), ty = read_y(d.dir.file("train.npy"));
  ASSERT_EQ(ny.rows(), 30);
  ASSERT_EQ(ty.rows(), 300);
  // Each new point lands nearer its source row's cluster than the layout's spread.
  double spread = 0;
  for (int64_t i = 0; i < 300; ++i) spread = std::max(spread, double(std::hypot(ty(i, 0) - ty(0, 0), ty(i, 1) - ty(0, 1))));
  for (int64_t i = 0; i < 30; ++i)
    EXPECT_LT(std::hypot(ny(i, 0) - ty(i * 10, 0), ny(i, 1) - ty(i * 10, 1)), 0.25 * spread) << i;
}

TEST(CliFlags, InputOptions) {
  Data d;
  const std::string y = d.dir.file("y.npy");
  // --drop-invalid: a NaN row is refused, or skipped and counted.
  std::string text;
  for (int i = 0; i < 40; ++i) text += "w" + std::to_string(i) + " " + std::to_string(i % 5) + " " + std::to_string(i % 7) + " 1\n";
  text += "bad nan 1 1\n";
  write_text(d.dir.file("v.dat"), text);
  auto r = run_prism("reduce " + d.dir.file("v.dat") + " --format text --method pca --dims 2" + kQuick + " --out " + y);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "line 41")) << r.output;
  r = run_prism("reduce " + d.dir.file("v.dat") + " --format text --drop-invalid --method pca --dims 2 --backend cpu --seed 1 --out " + y);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "dropped 1 rows")) << r.output;
  EXPECT_EQ(read_y(y).rows(), 40);
  // --format: the extension says nothing, the flag decides.
  r = run_prism("info " + d.dir.file("v.dat") + " --format npy");
  EXPECT_EQ(r.code, 2) << r.output;
  // --label-column: the metrics' classifier follows the chosen column.
  ASSERT_EQ(run_prism("reduce " + d.npy + " --method umap --n-epochs 30" + kQuick + " --out " + y).code, 0);
  auto good = run_prism("metrics " + d.npy + " " + y + " --metadata " + d.meta + " --label-column label --json");
  auto noise = run_prism("metrics " + d.npy + " " + y + " --metadata " + d.meta + " --label-column parity --json");
  ASSERT_EQ(good.code, 0) << good.output;
  ASSERT_EQ(noise.code, 0) << noise.output;
  const double acc_good = json::parse(good.output.substr(good.output.find('{')))["knn_accuracy"];
  const double acc_noise = json::parse(noise.output.substr(noise.output.find('{')))["knn_accuracy"];
  EXPECT_GT(acc_good, 0.95);
  EXPECT_LT(acc_noise, 0.8);
  // metrics --kl: t-SNE's objective of any layout.
  auto kl = run_prism("metrics " + d.npy + " " + y + " --kl --json");
  ASSERT_EQ(kl.code, 0) << kl.output;
  EXPECT_TRUE(contains(kl.output, "kl")) << kl.output;
}

TEST(CliFlags, KnnModesAndLabelsFile) {
  Data d;
  const std::string exact = d.dir.file("e.npy"), approx = d.dir.file("a.npy");
  ASSERT_EQ(run_prism("knn " + d.npy + " --k 10 --mode exact -q --out " + exact).code, 0);
  auto r = run_prism("knn " + d.npy + " --k 10 --mode approx --seed 2 -q --out " + approx);
  ASSERT_EQ(r.code, 0) << r.output;
  const Dataset e = read_dataset(exact), a = read_dataset(approx);
  ASSERT_EQ(a.rows(), 300);
  ASSERT_EQ(a.cols(), 10);
  int64_t hits = 0;
  for (int64_t i = 0; i < 300; ++i)
    for (int x = 0; x < 10; ++x)
      for (int z = 0; z < 10; ++z) hits += a.x(i, x) == e.x(i, z);
  EXPECT_GT(hits / 3000.0, 0.9);  // recall of the approximate graph
  // --labels-file: IDX images with their labels named explicitly.
  std::string images("\0\0\x08\x03\0\0\0\x0c\0\0\0\x02\0\0\0\x02", 16), labels("\0\0\x08\x01\0\0\0\x0c", 8);
  for (int i = 0; i < 12; ++i) {
    for (int p = 0; p < 4; ++p) images += static_cast<char>((i % 3) * 80 + p);
    labels += static_cast<char>(i % 3);
  }
  write_text(d.dir.file("imgs.idx"), images);
  write_text(d.dir.file("labs.idx"), labels);
  r = run_prism("info " + d.dir.file("imgs.idx") + " --labels-file " + d.dir.file("labs.idx"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "12 rows x 4 dims")) << r.output;
  EXPECT_TRUE(contains(r.output, "3 distinct values")) << r.output;
}

TEST(CliFlags, BatchForceAndDryRun) {
  Data d;
  write_text(d.dir.file("plan.json"), R"({"output": "out", "inputs": [{"name": "x", "path": "x.npy"}],
    "runs": [{"method": "pca", "dims": 2}, {"method": "umap", "params": {"n_epochs": [5, 6]}}],
    "seeds": [1], "backend": "cpu", "outputs": {"png": false, "tensorboard": false}})");
  auto dry = run_prism("batch " + d.dir.file("plan.json") + " --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.output;
  EXPECT_TRUE(contains(dry.output, "x/umap-2d-n_epochs=5-seed1")) << dry.output;
  EXPECT_FALSE(fs::exists(d.dir.file("out"))) << "--dry-run wrote outputs";
  auto first = run_prism("batch " + d.dir.file("plan.json"));
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_TRUE(contains(first.output, "3 runs, 0 already done")) << first.output;
  auto again = run_prism("batch " + d.dir.file("plan.json"));
  EXPECT_TRUE(contains(again.output, "0 runs, 3 already done")) << again.output;
  auto forced = run_prism("batch " + d.dir.file("plan.json") + " --force");
  EXPECT_TRUE(contains(forced.output, "3 runs, 0 already done")) << forced.output;
}

TEST(CliFlags, BenchPeersAndPicture) {
  Data d;
  // A peer that is not installed is a failed row saying how to install it;
  // a peer that runs says how it ran. Neither stops the table.
  const std::string out = d.dir.file("bench.json");
  auto r = run_prism("bench " + d.npy + " --methods pca --dims 2 --backends cpu --peers --peer-names sklearn-pca -q --out " +
                     out
#ifdef PRISM_TEST_HAVE_VIEWER
                     + " --png " + d.dir.file("grid.png")
#endif
  );
  ASSERT_EQ(r.code, 0) << r.output;
  std::ifstream f(out);
  const json j = json::parse(f);
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["ok"], true);
  const json& peer = j["runs"][1];
  if (peer["ok"].get<bool>()) {
    EXPECT_TRUE(contains(peer["notes"].get<std::string>(), "unseeded")) << peer.dump();
  } else {
    EXPECT_TRUE(contains(peer["error"].get<std::string>(), "pip install")) << peer.dump();
  }
#ifdef PRISM_TEST_HAVE_VIEWER
  EXPECT_EQ(read_text(d.dir.file("grid.png")).substr(1, 3), "PNG");
#endif
}

TEST(CliFlags, BenchPeerSampleRunsPeersAndPrismOnTheSameSample) {
  Data d;
  // --peer-sample 120 of 300 rows: Prism on all rows, then Prism and the peer
  // on one seeded sample of 120 (labels sampled with them: the classifier
  // metric needs one label per embedded row).
  const std::string out = d.dir.file("bench.json");
  auto r = run_prism("bench " + d.npy + " --metadata " + d.meta +
                     " --methods pca --dims 2 --backends cpu --peers --peer-names sklearn-pca --peer-sample 120 -q "
                     "--out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  std::ifstream f(out);
  const json j = json::parse(f);
  ASSERT_EQ(j["runs"].size(), 3u) << j.dump();
  EXPECT_EQ(j["runs"][0]["input"], "x.npy");
  EXPECT_EQ(j["runs"][1]["input"], "x.npy (120-row sample)");
  EXPECT_EQ(j["runs"][2]["input"], "x.npy (120-row sample)");
  ASSERT_EQ(j["runs"][1]["ok"], true) << j["runs"][1].dump();
  const json& peer = j["runs"][2];
  if (peer["ok"].get<bool>()) {
    // Its 120 output rows were scored against the sample's rows and labels.
    EXPECT_TRUE(contains(peer["notes"].get<std::string>(), "unseeded")) << peer.dump();
  } else {
    EXPECT_TRUE(contains(peer["error"].get<std::string>(), "pip install")) << peer.dump();
  }
  // A sample as large as the input is no sample: the usual two rows.
  auto all = run_prism("bench " + d.npy + " --methods pca --dims 2 --backends cpu --peers --peer-names sklearn-pca "
                       "--peer-sample 300 -q --out " + out);
  ASSERT_EQ(all.code, 0) << all.output;
  std::ifstream g(out);
  EXPECT_EQ(json::parse(g)["runs"].size(), 2u);
}

TEST(CliFlags, EveryCommandHasHelpWithExamples) {
  std::vector<std::string> commands = {"info", "convert", "knn", "reduce", "metrics", "bench", "batch"};
#ifdef PRISM_TEST_HAVE_VIEWER
  commands.push_back("render");
  commands.push_back("view");
#endif
  const auto top = run_prism("--help");
  for (const auto& cmd : commands) {
    EXPECT_TRUE(contains(top.output, cmd)) << cmd;
    auto h = run_prism(cmd + " --help");
    EXPECT_EQ(h.code, 0) << cmd;
    EXPECT_TRUE(contains(h.output, "Examples:")) << cmd << "\n" << h.output;
  }
}

TEST(CliFlags, InfoSaysMemoryMappedOnlyWhenItIs) {
  TempDir t;
  // 2 x 1 big-endian float32: readable, but converted into a copy.
  std::string h = "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 1), }";
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::string be = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size()) + '\0' + h +
                   std::string("\x3f\x80\x00\x00\x40\x00\x00\x00", 8);
  write_text(t.file("be.npy"), be);
  auto r = run_prism("info " + t.file("be.npy") + " --json");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\"memory_mapped\": false")) << r.output;
  EXPECT_FALSE(contains(run_prism("info " + t.file("be.npy")).output, "memory-mapped"));
  Data d;
  EXPECT_TRUE(contains(run_prism("info " + d.npy + " --json").output, "\"memory_mapped\": true"));
}
