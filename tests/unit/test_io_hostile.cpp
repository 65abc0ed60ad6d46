// Input nobody meant: sizes in headers that the file cannot hold, headers
// built to exhaust a parser, corrupt compression, writes that fail half-way.
// Each reader must answer with an InputError naming the file and the offset,
// without allocating what the header promises; each failed write leaves
// neither the file nor its temporary behind.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <optional>

#include "prism/io.hpp"
#include "prism/memory.hpp"
#include "test_util.hpp"

using namespace prism;
using prism::test::TempDir;
using prism::test::write_text;

namespace {

template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
  return s;
}

std::string be32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
  return s;
}

std::string npy_with_header(const std::string& header, const std::string& data = "", int version = 1) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  if (version == 1) {
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>((header.size() >> 8) & 0xff);
  } else {
    out += raw<uint32_t>({static_cast<uint32_t>(header.size())});
  }
  return out + header + data;
}

std::string gzip(const std::string& s) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, s.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = static_cast<uInt>(s.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

/// Expects an InputError holding every part, from reading `bytes` as `name`.
void expect_error(const std::string& bytes, const std::string& name, std::initializer_list<std::string> parts,
                  ReadOptions o = {}) {
  try {
    read_dataset_bytes(bytes, name, o);
    FAIL() << "no error for " << name;
  } catch (const InputError& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "  (missing: " << p << ")";
  }
}

/// Sets PRISM_MEMORY_LIMIT for one scope.
struct MemoryLimit {
  explicit MemoryLimit(const char* v) { setenv("PRISM_MEMORY_LIMIT", v, 1); }
  ~MemoryLimit() { unsetenv("PRISM_MEMORY_LIMIT"); }
};

/// Files in `dir` whose name holds `part`.
int files_named(const std::filesystem::path& dir, const std::string& part) {
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) n += e.path().filename().string().find(part) != std::string::npos;
  return n;
}

}  // namespace

TEST(Hostile, HeadersPromisingMoreThanTheFileHolds) {
  // Each would allocate gigabytes (or overflow) if the reader trusted its header.
  expect_error("1000000000 1000000000\nw " + std::string(8, 'x'), "huge.bin",
               {"huge.bin byte offset 22", "header promises 1000000000 rows", "only 10 bytes"});
  expect_error("3 2000000000\nw 1 2\n", "wide.vec", {"wide.vec line 1", "D = 2000000000", "only"});
  expect_error(be32(0x803) + be32(0xffffffff) + be32(0xffffffff) + be32(0xffffffff) + "abcd", "x-images-idx3-ubyte",
               {"x-images-idx3-ubyte", "truncated", "4294967295 images"});
  expect_error(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"),
               "big.npy", {"big.npy", "truncated"});
  expect_error(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 4), }"),
               "overflow.npy", {"overflow.npy byte offset", "non-negative integer"});
  expect_error(raw<int32_t>({1 << 23}) + "abc", "a.fvecs", {"a.fvecs byte offset 0", "truncated"});
}

TEST(Hostile, TextWithManyBlankLinesStaysBoundedByItsSize) {
  // A first line with 1000 values, then a million blank lines: the reader's
  // buffer is bounded by the bytes, not by lines x D (4 GB here, which the
  // memory limit refuses).
  const MemoryLimit limit("1G");
  std::string s = "w";
  for (int i = 0; i < 1000; ++i) s += " 1";
  s += "\n" + std::string(1000000, '\n') + "v";
  for (int i = 0; i < 1000; ++i) s += " 2";
  s += "\n";
  Dataset ds = read_dataset_bytes(s, "sparse.txt");
  EXPECT_EQ(ds.rows(), 2);
  EXPECT_EQ(ds.x(1, 999), 2.0f);
}

TEST(Hostile, NpyHeaderParser) {
  // A long run of spaces once overflowed std::regex's recursion.
  const std::string spaces(60000, ' ');
  Dataset ok = read_dataset_bytes(
      npy_with_header("{'descr':" + spaces + "'<f4', 'fortran_order': False, 'shape': (2, 1), }\n",
                      raw<float>({1.0f, 2.0f}), 2),
      "spaces.npy");
  EXPECT_EQ(ok.x(1, 0), 2.0f);
  expect_error(npy_with_header("{'descr': [('a', '<f4')], 'shape': (2,), }"), "s.npy", {"s.npy byte offset 20", "structured"});
  expect_error(npy_with_header("{'descr': '<f4', 'shape': (2, 1), 'extra': 1}"), "k.npy", {"unexpected key 'extra'"});
  expect_error(npy_with_header("{'descr': '<f4', 'shape': (2, 1"), "open.npy", {"open.npy byte offset", "bad .npy header"});
  expect_error(npy_with_header("{'shape': (2, 1), }"), "nodescr.npy", {"no dtype"});
  expect_error(npy_with_header("{'descr': '<f4', 'shape': (3,), }", raw<float>({1, 2, 3})), "one_d.npy",
               {"1-D array of 3 values", "--labels"});
  expect_error(npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }", raw<double>({1e300, 1})),
               "toobig.npy", {"toobig.npy byte offset", "Inf"});
  // Python 2's long literals and a version 3 header.
  Dataset py2 = read_dataset_bytes(npy_with_header("{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 1L), }",
                                                   raw<int16_t>({-7, 9}), 3),
                                   "py2.npy");
  EXPECT_EQ(py2.x(0, 0), -7.0f);
}

TEST(Hostile, GzipCorruptTruncatedAndConcatenated) {
  const std::string img = be32(0x803) + be32(2) + be32(1) + be32(2) + std::string("\x01\x02\x03\x04", 4);
  const std::string gz = gzip(img);
  EXPECT_EQ(read_dataset_bytes(gz, "a-images-idx3-ubyte.gz").x(1, 1), 4.0f);
  // Two members, as `cat a.gz b.gz` gives: gzip -d reads both.
  EXPECT_EQ(read_dataset_bytes(gzip(img.substr(0, 10)) + gzip(img.substr(10)), "b-images-idx3-ubyte.gz").x(1, 0), 3.0f);
  expect_error(gz.substr(0, gz.size() - 9), "t-images-idx3-ubyte.gz", {"t-images-idx3-ubyte.gz byte offset", "truncated"});
  std::string bad = gz;
  bad[12] ^= 0x55;
  expect_error(bad, "c-images-idx3-ubyte.gz", {"c-images-idx3-ubyte.gz", "corrupt"});
}

TEST(Hostile, BinaryFileGivenAsText) {
  expect_error(std::string("\x7f" "ELF\x02\x01\x01\x00\x00\x00", 10) + std::string(100, '\0'), "tool.txt",
               {"tool.txt byte offset 7", "binary data", "--format word2vec"});
  expect_error(std::string(64, '\0'), "zeros.tsv", {"zeros.tsv byte offset 0", "binary data"});
}

TEST(Hostile, LongLinesAreShortenedInMessages) {
  std::string line = "w " + std::string(100000, 'x');
  try {
    read_dataset_bytes(line + "\nv 1\n", "long.txt");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_LT(std::strlen(e.what()), 300u) << e.what();
  }
}

TEST(AtomicWrite, FailuresNameThePathAndLeaveNothing) {
  TempDir t;
  Matrix m(4, 3, 1.0f);
  // A folder that is not there: a wrong path (exit 2).
  try {
    write_matrix(t.file("missing/y.npy"), m.view());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing/y.npy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  // A file where a folder should be.
  write_text(t.file("plain"), "x");
  EXPECT_THROW(write_matrix(t.file("plain/y.npy"), m.view()), InputError);
  // The target is a folder: rename fails after the data was written; the temporary goes.
  std::filesystem::create_directories(t.path() / "dir.npy");
  try {
    write_matrix(t.file("dir.npy"), m.view());
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("dir.npy"), std::string::npos) << e.what();
  }
  EXPECT_EQ(files_named(t.path(), ".tmp-"), 0);
}

TEST(AtomicWrite, FileSizeLimitGivesRuntimeErrorAndNoPartialFile) {
  // In a child process: RLIMIT_FSIZE is per process, and SIGXFSZ would kill it.
  TempDir t;
  write_text(t.file("old.csv"), "previous content\n");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit r{4096, 4096};
    setrlimit(RLIMIT_FSIZE, &r);
    Matrix big(10000, 8, 0.5f);  // ~300 KB of CSV
    int code = 10;
    try {
      write_matrix(t.file("old.csv"), big.view());
    } catch (const RuntimeError& e) {
      const std::string w = e.what();
      code = w.find("old.csv") != std::string::npos && w.find("file-size limit") != std::string::npos ? 0 : 11;
    } catch (...) {
      code = 12;
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(prism::test::read_text(t.file("old.csv")), "previous content\n");  // untouched
  EXPECT_EQ(files_named(t.path(), ".tmp-"), 0);
}

TEST(Sha256, BytesAndFilesAgree) {
  EXPECT_EQ(sha256_bytes(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_bytes("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // FIPS 180-2's two-block message.
  EXPECT_EQ(sha256_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  TempDir t;
  std::string million(1000000, 'a');
  write_text(t.file("m"), million);
  EXPECT_EQ(sha256_file(t.file("m")), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(sha256_bytes(million), sha256_file(t.file("m")));
}

TEST(Memory, BudgetAndRequire) {
  const MemoryBudget b = memory_budget();
  EXPECT_GT(b.bytes, int64_t{16} << 20);
  EXPECT_FALSE(b.limited_by.empty());
  std::optional<MemoryLimit> limit(std::in_place, "1G");
  const MemoryBudget limited = memory_budget();
  EXPECT_LE(limited.bytes, int64_t{1} << 30);
  EXPECT_EQ(limited.limited_by, "PRISM_MEMORY_LIMIT");
  MemoryEstimate e;
  e.add("kNN graph", int64_t{3} << 30);
  e.add("input copy", int64_t{1} << 30);
  try {
    require_memory(e, "reducing x.npy", "try --knn approx");
    FAIL();
  } catch (const RuntimeError& err) {
    const std::string w = err.what();
    for (const char* part : {"reducing x.npy needs about 4.0 GiB", "kNN graph 3.0 GiB", "input copy 1.0 GiB",
                             "PRISM_MEMORY_LIMIT", "try --knn approx"})
      EXPECT_NE(w.find(part), std::string::npos) << w << "  (missing: " << part << ")";
  }
  EXPECT_NO_THROW(require_memory(int64_t{64} << 20, "a little", ""));
  // A text file larger than the budget is refused before parsing.
  limit.emplace("40M");
  std::string big;
  for (int i = 0; i < 700000; ++i) big += "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
  try {
    read_dataset_bytes(big, "big.tsv");
    FAIL();
  } catch (const RuntimeError& err) {
    EXPECT_NE(std::string(err.what()).find("reading big.tsv needs"), std::string::npos) << err.what();
  }
  limit.emplace("lots");
  EXPECT_THROW(memory_budget(), InputError);
}
