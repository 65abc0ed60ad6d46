// The `prism` command against what users' machines do: label files as people
// keep them, writes that fail (disk full, a read-only folder, no permission,
// a file-size limit), a memory limit the job cannot fit in. Failures exit 3
// with a message naming the path or the figure, and leave no partial or
// temporary file; a batch that hits one resumes cleanly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "prism/io.hpp"
#include "test_util.hpp"

using namespace prism;
using prism::test::run;
using prism::test::run_prism;
using prism::test::TempDir;
using prism::test::write_text;

namespace {

// AddressSanitizer reserves terabytes of address space and adds its own
// resident memory: limits on either say nothing about Prism's use under it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string npy_labels_i4(const std::vector<int32_t>& v) {
  std::string h = "{'descr': '<i4', 'fortran_order': False, 'shape': (" + std::to_string(v.size()) + ",), }";
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + std::string(reinterpret_cast<const char*>(v.data()), 4 * v.size());
}

/// A 1-D numpy unicode array (<U8: UTF-32, NUL-padded) of `labels`.
std::string npy_labels_u8(const std::vector<std::u32string>& labels) {
  std::string h = "{'descr': '<U8', 'fortran_order': False, 'shape': (" + std::to_string(labels.size()) + ",), }";
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  out += h;
  for (std::u32string l : labels) {
    l.resize(8, U'\0');
    out.append(reinterpret_cast<const char*>(l.data()), 32);
  }
  return out;
}

/// 300 labelled points: x.npy, y.npy (a PCA of it), labels as .npy and as TSV with a header.
struct Files {
  TempDir dir;
  std::string x, y, labels_npy, labels_header;
  Files() {
    const auto b = prism::test::make_blobs(300, 12, 3, 42, 8.0f);
    x = dir.file("x.npy");
    write_matrix(x, b.x.view());
    y = dir.file("y.npy");
    Matrix y2(300, 2);
    for (int64_t i = 0; i < 300; ++i) y2(i, 0) = b.x(i, 0), y2(i, 1) = b.x(i, 1);
    write_matrix(y, y2.view());
    labels_npy = dir.file("labels.npy");
    write_text(labels_npy, npy_labels_i4(b.labels));
    labels_header = dir.file("labels.tsv");
    std::string t = "label\n";
    for (int32_t l : b.labels) t += "class" + std::to_string(l) + "\n";
    write_text(labels_header, t);
  }
};

/// Files in `dir` (recursively) whose name holds `part`.
int files_named(const std::filesystem::path& dir, const std::string& part) {
  int n = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    n += e.path().filename().string().find(part) != std::string::npos;
  return n;
}

/// True when this machine lets a test mount a private tmpfs (root, unshare).
bool can_mount_tmpfs() {
  static const bool ok = run("unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs /tmp && touch /tmp/x'").code == 0;
  return ok;
}

}  // namespace

TEST(Hostile, MetricsReadsNpyLabels) {
  Files f;
  auto r = run_prism("metrics " + f.x + " " + f.y + " --labels " + f.labels_npy + " --k 10");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "10-NN accuracy")) << r.output;
  EXPECT_FALSE(contains(r.output, "n/a")) << r.output;
  // The same labels through --metadata of every command that reads a data set.
  auto info = run_prism("info " + f.x + " --metadata " + f.labels_npy);
  ASSERT_EQ(info.code, 0) << info.output;
  EXPECT_TRUE(contains(info.output, "label: 3 distinct values (label)")) << info.output;
}

TEST(Hostile, OneColumnHeaderIsTakenWithANote) {
  Files f;
  auto r = run_prism("metrics " + f.x + " " + f.y + " --labels " + f.labels_header + " --k 10");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "line 1 'label' taken as the column's name")) << r.output;
  EXPECT_TRUE(contains(r.output, "10-NN accuracy")) << r.output;
}

TEST(Hostile, BinaryLabelsAreNamed) {
  Files f;
  auto r = run_prism("metrics " + f.x + " " + f.y + " --labels " + f.y.substr(0, f.y.size() - 4) + ".npy.bin");
  EXPECT_EQ(r.code, 2);
  write_text(f.dir.file("vectors.fvecs"), std::string("\x02\x00\x00\x00\x00\x00\x80\x3f", 8));
  auto b = run_prism("metrics " + f.x + " " + f.y + " --labels " + f.dir.file("vectors.fvecs"));
  EXPECT_EQ(b.code, 2);
  EXPECT_TRUE(contains(b.output, "vectors.fvecs byte offset 0: binary data")) << b.output;
}

TEST(Hostile, LabelsWithUtf8TabsAndEmptyStrings) {
  Files f;
  // Four classes: a UTF-8 name, one with a tab, an empty one, an emoji.
  const std::vector<std::u32string> names = {U"\u00e9t\u00e9", U"a\tb", U"", U"\U0001F600 x"};
  std::vector<std::u32string> labels;
  for (int i = 0; i < 300; ++i) labels.push_back(names[i % 4]);
  write_text(f.dir.file("u.npy"), npy_labels_u8(labels));
  const std::string csv = f.dir.file("y.csv"), tsv = f.dir.file("y.tsv");
  auto r = run_prism("reduce " + f.x + " --metadata " + f.dir.file("u.npy") + " --method pca --out " + csv);
  ASSERT_EQ(r.code, 0) << r.output;
  // The CSV keeps every label as it was (RFC 4180 quoting where needed).
  const Metadata back = read_metadata(csv, 300);
  ASSERT_EQ(back.names[0], "label");
  EXPECT_EQ(back.columns[0][0], "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(back.columns[0][1], "a\tb");
  EXPECT_EQ(back.columns[0][2], "");
  EXPECT_EQ(back.columns[0][3], "\xf0\x9f\x98\x80 x");
  // TSV cannot hold a tab inside a value: it becomes a space, and the file still reads back.
  ASSERT_EQ(run_prism("reduce " + f.x + " --metadata " + f.dir.file("u.npy") + " --method pca --out " + tsv).code, 0);
  const Metadata tb = read_metadata(tsv, 300);
  EXPECT_EQ(tb.columns[0][1], "a b");
  EXPECT_EQ(tb.columns[0][2], "");
  // Four distinct classes for the metrics, the empty one included.
  auto m = run_prism("metrics " + f.x + " " + f.y + " --labels " + f.dir.file("u.npy") + " --json");
  ASSERT_EQ(m.code, 0) << m.output;
  EXPECT_TRUE(contains(m.output, "\"knn_accuracy\": 0.")) << m.output;
}

TEST(Hostile, FileSizeLimitExitsThreeAndLeavesTheOldFile) {
  Files f;
  const std::string out = f.dir.file("out.csv");
  write_text(out, "old\n");
  auto r = run("bash -c 'ulimit -f 8; exec " + std::string(PRISM_EXE) + " convert " + f.x + " " + out + "'");
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_TRUE(contains(r.output, out)) << r.output;
  EXPECT_TRUE(contains(r.output, "file-size limit")) << r.output;
  EXPECT_EQ(prism::test::read_text(out), "old\n");
  EXPECT_EQ(files_named(f.dir.path(), ".tmp-"), 0);
}

TEST(Hostile, NoPermissionExitsThree) {
  Files f;
  // /sys refuses new files even to root.
  auto r = run_prism("convert " + f.x + " /sys/prism-test-out.npy");
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_TRUE(contains(r.output, "/sys/prism-test-out.npy")) << r.output;
  EXPECT_TRUE(contains(r.output, "no permission")) << r.output;
  // A folder that does not exist is a wrong path: exit 2.
  auto m = run_prism("convert " + f.x + " " + f.dir.file("nope/out.npy"));
  EXPECT_EQ(m.code, 2) << m.output;
  EXPECT_TRUE(contains(m.output, "does not exist")) << m.output;
}

TEST(Hostile, DiskFullAndReadOnlyFolder) {
  if (!can_mount_tmpfs()) GTEST_SKIP() << "cannot mount a private tmpfs here (needs root and unshare -m)";
  Files f;
  // A 64 KiB file system; the CSV of 300 x 12 floats is ~40 KB, written twice.
  const std::string exe = PRISM_EXE;
  auto full = run("unshare -m sh -c 'd=$(mktemp -d) && mount -t tmpfs -o size=48k tmpfs $d && " + exe + " convert " +
                  f.x + " $d/a.csv; echo rc=$?; " + exe + " convert " + f.x + " $d/b.csv; echo rc=$?; ls -a $d'");
  EXPECT_TRUE(contains(full.output, "rc=0")) << full.output;  // the first fits
  EXPECT_TRUE(contains(full.output, "rc=3")) << full.output;  // the second does not
  EXPECT_TRUE(contains(full.output, "disk full")) << full.output;
  EXPECT_TRUE(contains(full.output, "b.csv: write failed")) << full.output;
  EXPECT_FALSE(contains(full.output, ".tmp-")) << full.output;  // no temporary left
  EXPECT_FALSE(contains(full.output, "\nb.csv")) << full.output;  // no partial file
  auto ro = run("unshare -m sh -c 'd=$(mktemp -d) && mount -t tmpfs -o ro tmpfs $d && " + exe + " convert " + f.x +
                " $d/a.npy; echo rc=$?'");
  EXPECT_TRUE(contains(ro.output, "rc=3")) << ro.output;
  EXPECT_TRUE(contains(ro.output, "read-only file system")) << ro.output;
}

TEST(Hostile, BatchResumesAfterAFailedWrite) {
  TempDir t;
  const auto b = prism::test::make_blobs(3000, 12, 3, 5, 8.0f);
  write_matrix(t.file("x.npy"), b.x.view());
  write_text(t.file("labels.npy"), npy_labels_i4(b.labels));
  const std::string plan = t.file("plan.json");
  write_text(plan, R"({"output": "out", "inputs": [{"name": "x", "path": "x.npy", "metadata": "labels.npy"}],
    "runs": [{"method": "pca", "dims": 2}, {"method": "pca", "dims": 3}],
    "outputs": {"npy": true, "csv": true, "png": false, "tensorboard": true}})");
  // 80 KiB per file: the 2-d run's files (the CSV is ~70 KB) fit, the 3-d
  // run's CSV (~100 KB) does not; the manifest (4 KB) always does.
  const std::string exe = PRISM_EXE;
  auto limited = run("bash -c 'ulimit -f 80; exec " + exe + " batch " + plan + "'");
  EXPECT_EQ(limited.code, 3) << limited.output;
  EXPECT_TRUE(contains(limited.output, "embedding.csv: write failed")) << limited.output;
  EXPECT_TRUE(contains(limited.output, "file-size limit")) << limited.output;
  EXPECT_TRUE(contains(limited.output, "1 run, 0 already done, 1 failed")) << limited.output;
  EXPECT_EQ(files_named(t.path() / "out", ".tmp-"), 0);
  EXPECT_FALSE(std::filesystem::exists(t.path() / "out/x/pca-3d-seed0/embedding.csv"));
  // With room again, the batch redoes only the failed run.
  auto again = run_prism("batch " + plan);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_TRUE(contains(again.output, "1 run, 1 already done, 0 failed")) << again.output;
  EXPECT_EQ(read_dataset((t.path() / "out/x/pca-3d-seed0/embedding.npy").string()).rows(), 3000);
  auto third = run_prism("batch " + plan);
  EXPECT_TRUE(contains(third.output, "0 runs, 2 already done, 0 failed")) << third.output;
}

TEST(Hostile, MemoryLimitFailsAtOnceWithTheFigure) {
  if (kAddressSanitizer) GTEST_SKIP() << "ulimit -v and AddressSanitizer's shadow memory do not mix";
  TempDir t;
  // One million 2-d points: a k = 1000 graph needs 8 GB, more than a 4 GB address space.
  Matrix m(1000000, 2);
  for (int64_t i = 0; i < m.rows(); ++i) m(i, 0) = float(i % 1000), m(i, 1) = float(i / 1000);
  write_matrix(t.file("big.npy"), m.view());
  const std::string exe = PRISM_EXE;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run("bash -c 'ulimit -v 4000000; exec " + exe + " knn " + t.file("big.npy") + " --k 1000 --out " +
               t.file("k.npy") + "'");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 3) << r.output;
  for (const char* part : {"kNN graph of 1000000 x 2 vectors (k = 1000) needs about", "GiB", "ulimit -v", "--k"})
    EXPECT_TRUE(contains(r.output, part)) << r.output << "  (missing: " << part << ")";
  EXPECT_LT(secs, 20) << "should fail before any work";
  EXPECT_FALSE(std::filesystem::exists(t.file("k.npy")));
  // A reduction that cannot fit: t-SNE's graph of 3 x 300 neighbours.
  auto tsne = run("bash -c 'ulimit -v 4000000; exec " + exe + " reduce " + t.file("big.npy") +
                  " --method tsne --perplexity 300 --out " + t.file("y.npy") + " --seed 1'");
  EXPECT_EQ(tsne.code, 3) << tsne.output;
  EXPECT_TRUE(contains(tsne.output, "tsne of 1000000 x 2 vectors needs about")) << tsne.output;
  EXPECT_TRUE(contains(tsne.output, "--perplexity")) << tsne.output;
  // Within the same limit, what fits still runs.
  auto ok = run("bash -c 'ulimit -v 4000000; exec " + exe + " reduce " + t.file("big.npy") + " --method pca --out " +
                t.file("p.npy") + "'");
  EXPECT_EQ(ok.code, 0) << ok.output;
}

TEST(Hostile, MappedInputLargerThanTheBudgetIsStillReduced) {
  if (kAddressSanitizer) GTEST_SKIP() << "AddressSanitizer's own memory counts against the budget";
  // The float32 .npy (80 MB) is memory-mapped, not copied: a budget below its
  // size does not stop a PCA, which streams over it.
  TempDir t;
  const Matrix m = prism::test::random_matrix(400000, 50, 12);
  write_matrix(t.file("x.npy"), m.view());
  auto r = run("PRISM_MEMORY_LIMIT=40M " + std::string(PRISM_EXE) + " reduce " + t.file("x.npy") +
               " --method pca --dims 2 --out " + t.file("y.npy"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(read_dataset(t.file("y.npy")).rows(), 400000);
  // The same values as float64 must be converted (a copy of 80 MB): refused at once, with the way out.
  std::string h = "{'descr': '<f8', 'fortran_order': False, 'shape': (400000, 50), }";
  h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::string f64 = "\x93NUMPY\x01";
  f64 += '\0';
  f64 += static_cast<char>(h.size() & 0xff);
  f64 += static_cast<char>(h.size() >> 8);
  f64 += h;
  std::vector<double> values(m.storage().begin(), m.storage().end());
  f64.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
  write_text(t.file("x64.npy"), f64);
  auto c = run("PRISM_MEMORY_LIMIT=40M " + std::string(PRISM_EXE) + " reduce " + t.file("x64.npy") +
               " --method pca --dims 2 --out " + t.file("y64.npy"));
  EXPECT_EQ(c.code, 3) << c.output;
  EXPECT_TRUE(contains(c.output, "converting " + t.file("x64.npy") + " (<f8) to float32 needs 76 MiB")) << c.output;
  EXPECT_TRUE(contains(c.output, "astype(np.float32)")) << c.output;
}
