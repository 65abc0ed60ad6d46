// The `prism` command end to end: outputs, exit codes, error messages, help.
#include <gtest/gtest.h>

#include <filesystem>

#include "prism/io.hpp"
#include "test_util.hpp"

using namespace prism;
using prism::test::run_prism;
using prism::test::TempDir;
using prism::test::write_text;

namespace {

/// A small labelled data set written as .npy + metadata TSV.
struct Files {
  TempDir dir;
  std::string npy, meta;
  Files() {
    const auto b = prism::test::make_blobs(300, 12, 3, 42, 8.0f);
    npy = dir.file("x.npy");
    meta = dir.file("meta.tsv");
    write_matrix(npy, b.x.view());
    Metadata m;
    std::vector<std::string> labels, names;
    for (int64_t i = 0; i < 300; ++i) {
      labels.push_back("class" + std::to_string(b.labels[i]));
      names.push_back("row" + std::to_string(i));
    }
    m.add("name", names);
    m.add("label", labels, true);
    write_metadata_tsv(meta, m);
  }
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(Cli, HelpShowsExamplesForEveryCommand) {
  auto r = run_prism("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* cmd : {"info", "convert", "knn", "reduce", "metrics"}) {
    EXPECT_TRUE(contains(r.output, cmd)) << cmd;
    auto h = run_prism(std::string(cmd) + " --help");
    EXPECT_EQ(h.code, 0) << cmd;
    EXPECT_TRUE(contains(h.output, "Examples:")) << cmd << "\n" << h.output;
  }
  EXPECT_EQ(run_prism("").code, 2);
  EXPECT_EQ(run_prism("frobnicate").code, 2);
}

TEST(Cli, InfoReportsShapeAndColumns) {
  Files f;
  auto r = run_prism("info " + f.npy + " --metadata " + f.meta);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "300 rows x 12 dims"));
  EXPECT_TRUE(contains(r.output, "memory-mapped"));
  EXPECT_TRUE(contains(r.output, "label: 3 distinct values (label)"));
  auto j = run_prism("info " + f.npy + " --json");
  EXPECT_TRUE(contains(j.output, "\"rows\": 300"));
}

TEST(Cli, BadInputExitsTwoWithLocation) {
  TempDir t;
  write_text(t.file("ragged.txt"), "a 1 2\nb 3\n");
  auto r = run_prism("info " + t.file("ragged.txt"));
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "ragged.txt line 2: expected 2 values, found 1")) << r.output;
  write_text(t.file("empty.npy"), "");
  EXPECT_EQ(run_prism("info " + t.file("empty.npy")).code, 2);
  auto missing = run_prism("info " + t.file("missing.npy"));
  EXPECT_EQ(missing.code, 2);
  EXPECT_TRUE(contains(missing.output, "no such file"));
  EXPECT_EQ(run_prism("knn " + t.file("missing.npy") + " --out " + t.file("k.npy")).code, 2);
}

TEST(Cli, ConvertRoundTripsWithMetadata) {
  Files f;
  const std::string tsv = f.dir.file("out.tsv");
  auto r = run_prism("convert " + f.npy + " " + tsv + " --metadata " + f.meta);
  ASSERT_EQ(r.code, 0) << r.output;
  ASSERT_TRUE(std::filesystem::exists(f.dir.file("out.metadata.tsv")));
  ReadOptions o;
  o.metadata = f.dir.file("out.metadata.tsv");
  Dataset back = read_dataset(tsv, o);
  Dataset orig = read_dataset(f.npy);
  ASSERT_EQ(back.rows(), 300);
  for (int64_t i = 0; i < 300; i += 17)
    for (int64_t j = 0; j < 12; ++j) EXPECT_EQ(back.x(i, j), orig.x(i, j));
  EXPECT_EQ((*back.meta.labels())[5], "class2");
  ASSERT_EQ(run_prism("convert " + tsv + " " + f.dir.file("again.fvecs")).code, 0);
  EXPECT_EQ(read_dataset(f.dir.file("again.fvecs")).x(299, 11), orig.x(299, 11));
}

TEST(Cli, KnnWritesIndicesAndDistances) {
  Files f;
  const std::string idx = f.dir.file("knn.npy"), dist = f.dir.file("dist.npy");
  auto r = run_prism("knn " + f.npy + " --k 7 --mode exact --out " + idx + " --distances " + dist + " --backend cpu");
  ASSERT_EQ(r.code, 0) << r.output;
  Dataset d = read_dataset(dist);
  EXPECT_EQ(d.rows(), 300);
  EXPECT_EQ(d.cols(), 7);
  for (int64_t i = 0; i < 300; ++i)
    for (int j = 1; j < 7; ++j) EXPECT_LE(d.x(i, j - 1), d.x(i, j));
  EXPECT_EQ(run_prism("knn " + f.npy + " --k 0 --out " + idx).code, 2);
  EXPECT_EQ(run_prism("knn " + f.npy + " --k 5000 --out " + idx).code, 2);
}

TEST(Cli, ReducePcaToCsvAndSummary) {
  Files f;
  const std::string csv = f.dir.file("pca.csv"), summary = f.dir.file("s.json");
  auto r = run_prism("reduce " + f.npy + " --metadata " + f.meta + " --method pca --dims 3 --out " + csv +
                     " --summary " + summary + " --metrics --seed 1");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string text = prism::test::read_text(csv);
  EXPECT_EQ(text.substr(0, 18), "name,label,x,y,z\nr");
  const std::string js = prism::test::read_text(summary);
  EXPECT_TRUE(contains(js, "\"trustworthiness\""));
  EXPECT_TRUE(contains(js, "\"method\": \"pca\""));
}

TEST(Cli, FailedRunLeavesNoPartialOutput) {
  Files f;
  const std::string out = f.dir.file("never.npy");
  // --dims 50 > D = 12: fails after loading, before writing.
  auto r = run_prism("reduce " + f.npy + " --method pca --dims 50 --out " + out + " --seed 1");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "needs D >= 50")) << r.output;
  for (auto& e : std::filesystem::directory_iterator(f.dir.path()))
    EXPECT_FALSE(contains(e.path().filename().string(), "never")) << e.path();
  EXPECT_EQ(run_prism("reduce " + f.npy + " --method nope --out " + out).code, 2);
  EXPECT_EQ(run_prism("reduce " + f.npy + " --method pca --out " + f.dir.file("y.weird")).code, 2);
}

TEST(Cli, MetricsPrintsAllFigures) {
  Files f;
  const std::string y = f.dir.file("y.npy");
  ASSERT_EQ(run_prism("reduce " + f.npy + " --method pca --dims 2 --out " + y).code, 0);
  auto r = run_prism("metrics " + f.npy + " " + y + " --labels " + f.meta + " --labels-column label --k 10");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "trustworthiness@10"));
  EXPECT_TRUE(contains(r.output, "10-NN accuracy"));
  auto bad = run_prism("metrics " + f.npy + " " + f.meta);
  EXPECT_EQ(bad.code, 2);
}

TEST(Cli, SeededRunsAreReproducibleAndUnseededRunsPrintTheirSeed) {
  Files f;
  // A GloVe-style text copy: reduce works from every input format.
  const Dataset ds = read_dataset(f.npy);
  std::string text;
  for (int64_t i = 0; i < ds.rows(); ++i) {
    text += "w" + std::to_string(i);
    for (int64_t j = 0; j < ds.cols(); ++j) text += " " + std::to_string(ds.x(i, j));
    text += "\n";
  }
  write_text(f.dir.file("words.txt"), text);
  for (const std::string method : {"umap", "tsne"}) {
    const std::string a = f.dir.file(method + "a.npy"), b = f.dir.file(method + "b.npy");
    const std::string args = " --method " + method + " --dims 2 --seed 7 --iterations 250 --epochs 50 --backend cpu -q --out ";
    ASSERT_EQ(run_prism("reduce " + f.dir.file("words.txt") + args + a).code, 0);
    ASSERT_EQ(run_prism("reduce " + f.dir.file("words.txt") + args + b).code, 0);
    EXPECT_EQ(prism::test::read_text(a), prism::test::read_text(b)) << method;
  }
  auto r = run_prism("reduce " + f.npy + " --method umap --epochs 20 --out " + f.dir.file("c.tsv"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "pass --seed")) << r.output;
  // No metadata given: TSV coordinates with an x/y header.
  EXPECT_EQ(prism::test::read_text(f.dir.file("c.tsv")).substr(0, 4), "x\ty\n");
}
