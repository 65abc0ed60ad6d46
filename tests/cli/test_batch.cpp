// prism batch and prism bench end to end: outputs, manifest, resume after a
// clean finish and after a kill, TensorBoard bundles, plan errors, the bench table.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "prism/backend.hpp"
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

constexpr int64_t kRows = 600;
#ifdef PRISM_TEST_HAVE_VIEWER
constexpr bool kPictures = true;
#else
constexpr bool kPictures = false;  // built without the renderer: no PNGs
#endif

void write_data(const TempDir& t) {
  const auto b = prism::test::make_blobs(kRows, 16, 4, 9, 8.0f);
  write_matrix(t.file("x.npy"), b.x.view());
  Metadata m;
  std::vector<std::string> labels;
  for (int32_t l : b.labels) labels.push_back("c" + std::to_string(l));
  m.add("label", labels, true);
  write_metadata_tsv(t.file("meta.tsv"), m);
}

std::string plan_text(int epochs, bool png) {
  return R"({
  "output": "out",
  "inputs": [{"name": "blobs", "path": "x.npy", "metadata": "meta.tsv"}],
  "runs": [
    {"method": "umap", "dims": [2, 3], "params": {"n_neighbors": [10, 15], "n_epochs": )" +
         std::to_string(epochs) + R"(}},
    {"method": "tsne", "dims": 2, "params": {"perplexity": 20, "iterations": 300}},
    {"method": "pca", "dims": 3}
  ],
  "seeds": [3],
  "backend": "cpu",
  "outputs": {"npy": true, "csv": true, "png": )" +
         (png ? "true" : "false") + R"(, "tensorboard": true, "png_size": "320x240", "views": [[30, 20], [120, 40]]}
})";
}

json manifest(const TempDir& t) {
  std::ifstream f(t.file("out/manifest.json"));
  return json::parse(f);
}

/// Every output recorded in the manifest exists and has the recorded hash.
void expect_manifest_consistent(const TempDir& t, size_t runs) {
  const json m = manifest(t);
  EXPECT_EQ(m["prism_version"], PRISM_VERSION);
  EXPECT_EQ(m["inputs"]["blobs"]["sha256"], sha256_file(t.file("x.npy")));
  ASSERT_EQ(m["runs"].size(), runs);
  for (auto& [id, r] : m["runs"].items()) {
    EXPECT_EQ(r["status"], "ok") << id;
    for (const char* key : {"params", "seed", "backend", "device", "times", "metrics", "outputs", "all_params"})
      EXPECT_TRUE(r.contains(key)) << id << " lacks " << key;
    EXPECT_GT(r["metrics"]["trustworthiness"].get<double>(), 0.8) << id;
    for (auto& [rel, hash] : r["outputs"].items()) {
      ASSERT_TRUE(fs::exists(t.file("out/" + rel))) << rel;
      EXPECT_EQ(sha256_file(t.file("out/" + rel)), hash.get<std::string>()) << rel;
    }
  }
  for (const auto& e : fs::recursive_directory_iterator(t.file("out")))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

}  // namespace

TEST(Batch, RunsPlanWritesOutputsAndResumesWithoutWork) {
  TempDir t;
  write_data(t);
  write_text(t.file("plan.json"), plan_text(60, kPictures));
  auto r = run_prism("batch " + t.file("plan.json") + " -q");
  ASSERT_EQ(r.code, 0) << r.output;
  expect_manifest_consistent(t, 6);  // umap 2 dims x 2 grid points + tsne + pca
  const std::string run = t.file("out/blobs/umap-3d-n_epochs=60-n_neighbors=10-seed3/");
  EXPECT_EQ(read_dataset(run + "embedding.npy").cols(), 3);
  if (kPictures) {
    EXPECT_TRUE(fs::exists(run + "render-az30-el20.png"));
    EXPECT_TRUE(fs::exists(run + "render-az120-el40.png"));
    EXPECT_TRUE(fs::exists(t.file("out/blobs/tsne-2d-iterations=300-perplexity=20-seed3/render.png")));
  }
  // The TensorBoard bundle: tensor rows = metadata rows, config names both files.
  const std::string tb = run + "tensorboard/";
  const std::string tensor = read_text(tb + "tensor.tsv"), meta = read_text(tb + "metadata.tsv");
  EXPECT_EQ(std::count(tensor.begin(), tensor.end(), '\n'), kRows);
  EXPECT_EQ(std::count(meta.begin(), meta.end(), '\n'), kRows);  // one column: no header
  const std::string first_row = tensor.substr(0, tensor.find('\n'));
  EXPECT_EQ(std::count(first_row.begin(), first_row.end(), '\t'), 2);  // x, y, z
  const std::string cfg = read_text(tb + "projector_config.pbtxt");
  EXPECT_NE(cfg.find("tensor_path: \"tensor.tsv\""), std::string::npos);
  EXPECT_NE(cfg.find("metadata_path: \"metadata.tsv\""), std::string::npos);
  EXPECT_NE(cfg.find("tensor_shape: 600"), std::string::npos);

  const auto before = fs::last_write_time(run + "embedding.npy");
  auto again = run_prism("batch " + t.file("plan.json"));
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("0 runs, 6 already done"), std::string::npos) << again.output;
  EXPECT_EQ(fs::last_write_time(run + "embedding.npy"), before);
  // A damaged output is noticed and its run redone.
  write_text(run + "embedding.csv", "tampered");
  auto repair = run_prism("batch " + t.file("plan.json"));
  EXPECT_NE(repair.output.find("1 run, 5 already done"), std::string::npos) << repair.output;
  expect_manifest_consistent(t, 6);
}

TEST(Batch, KilledBatchResumesAndCompletes) {
  TempDir t;
  write_data(t);
  write_text(t.file("plan.json"), plan_text(400, false));
  // Killed at a known point: SIGKILL right after the manifest records the
  // first run (the batch's test hook), as a machine losing power would.
  const std::string cmd =
      "PRISM_BATCH_KILL_AFTER=1 " + std::string(PRISM_EXE) + " batch " + t.file("plan.json") + " -q";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec env " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  const json partial = manifest(t);
  EXPECT_EQ(partial["runs"].size(), 1u);
  auto r = run_prism("batch " + t.file("plan.json") + " -q");
  ASSERT_EQ(r.code, 0) << r.output;
  expect_manifest_consistent(t, 6);
}

TEST(Batch, BadPlansFailBeforeAnyWork) {
  TempDir t;
  write_data(t);
  const std::string good = plan_text(10, false);
  auto check = [&](const std::string& text, const std::string& expected) {
    write_text(t.file("bad.json"), text);
    auto r = run_prism("batch " + t.file("bad.json"));
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(t.file("out"))) << "work started for: " << expected;
  };
  auto replace = [&](std::string s, const std::string& from, const std::string& to) {
    return s.replace(s.find(from), from.size(), to);
  };
  check(replace(good, "\"n_neighbors\"", "\"n_neighbours\""), "bad.json line 5: unknown umap parameter 'n_neighbours'");
  check(replace(good, "\"pca\", \"dims\"", "\"pcb\", \"dims\""), "bad.json line 7: unknown method 'pcb'");
  check(replace(good, "x.npy", "missing.npy"), "bad.json line 3: input 'missing.npy' does not exist");
  check(replace(good, "\"perplexity\": 20", "\"perplexity\": \"high\""), "line 6: tsne parameter perplexity: got 'high', expected a number > 0");
  check(replace(good, "\"seeds\": [3],", "\"seeds\": [3]"), "bad.json line 10: not valid JSON");
  check(replace(good, "\"dims\": 2,", "\"dims\": 4,"), "line 6: dims must be 2 or 3");
}

TEST(Bench, TableHasEveryColumnAndFailedRowsStayRows) {
  TempDir t;
  write_data(t);
  const std::string report = t.file("report.csv");
  auto r = run_prism("bench " + t.file("x.npy") + " --metadata " + t.file("meta.tsv") +
                     " --methods pca,umap,tsne --dims 2,3 --seeds 2 --backends cpu,cuda --epochs 30 --iterations 200 -q --out " + report);
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* col : {"load s", "kNN s", "init s", "optimise s", "total s", "peak MiB", "trust@15", "recall@15",
                          "10-NN acc", "KL", "status"})
    EXPECT_NE(r.output.find(col), std::string::npos) << col;
  const std::string csv = read_text(report);
  // 3 methods x 2 dims x 2 backends, plus the header.
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 13) << csv;
  EXPECT_NE(csv.find("2/2"), std::string::npos);  // two seeds aggregated
  EXPECT_NE(csv.find("±"), std::string::npos);    // with their spread
  if (!cuda_available()) {  // the cuda rows fail with the reason; the cpu rows still ran
    EXPECT_NE(csv.find("failed: --backend cuda needs an NVIDIA GPU"), std::string::npos) << csv;
  } else {
    EXPECT_EQ(csv.find("failed"), std::string::npos) << csv;
  }
  auto md = run_prism("bench " + t.file("x.npy") + " --methods pca --dims 2 -q --out " + t.file("r.md"));
  ASSERT_EQ(md.code, 0) << md.output;
  EXPECT_EQ(read_text(t.file("r.md")).substr(0, 17), "| input | method ");
  EXPECT_EQ(run_prism("bench " + t.file("x.npy") + " --methods nope").code, 2);
}
