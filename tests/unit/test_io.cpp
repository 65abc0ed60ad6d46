// Readers and writers: round trips for every format, and every kind of bad
// input gives an InputError naming the file and the line or byte offset.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <zlib.h>

#include "prism/io.hpp"
#include "test_util.hpp"

using namespace prism;
using prism::test::TempDir;
using prism::test::write_text;

namespace {

std::string bytes_of(const void* p, size_t n) { return std::string(static_cast<const char*>(p), n); }

std::string npy_bytes(const std::string& descr, const std::string& shape, const std::string& data,
                      bool fortran = false) {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                  ", 'shape': " + shape + ", }";
  const size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

/// Expects read_dataset to throw an InputError whose message holds every `parts`.
void expect_error(const std::string& path, std::initializer_list<std::string> parts, ReadOptions o = {}) {
  try {
    read_dataset(path, o);
    FAIL() << "no error for " << path;
  } catch (const InputError& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "  (missing: " << p << ")";
  }
}

Matrix sample_matrix() {
  Matrix m(3, 4);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) m(i, j) = static_cast<float>(i * 10 + j) + 0.25f;
  return m;
}

void expect_equal(ConstView a, ConstView b) {
  ASSERT_EQ(a.rows, b.rows);
  ASSERT_EQ(a.cols, b.cols);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < a.cols; ++j) EXPECT_EQ(a(i, j), b(i, j)) << i << "," << j;
}

}  // namespace

TEST(Npy, RoundTripFloat32IsMemoryMapped) {
  TempDir t;
  const Matrix m = sample_matrix();
  write_matrix(t.file("a.npy"), m.view());
  Dataset ds = read_dataset(t.file("a.npy"));
  EXPECT_EQ(ds.format, "npy");
  EXPECT_EQ(ds.dtype, "float32");
  expect_equal(ds.x, m.view());
}

TEST(Npy, ConvertsFloat64Float16AndBigEndian) {
  TempDir t;
  double d[4] = {1.5, -2.0, 3.25, 4.0};
  write_text(t.file("d.npy"), npy_bytes("<f8", "(2, 2)", bytes_of(d, sizeof d)));
  Dataset a = read_dataset(t.file("d.npy"));
  EXPECT_EQ(a.dtype, "float64");
  EXPECT_FLOAT_EQ(a.x(1, 0), 3.25f);
  const uint16_t h[4] = {0x3c00, 0xc000, 0x3800, 0x0001};  // 1, -2, 0.5, smallest subnormal
  write_text(t.file("h.npy"), npy_bytes("<f2", "(2, 2)", bytes_of(h, sizeof h)));
  Dataset b = read_dataset(t.file("h.npy"));
  EXPECT_FLOAT_EQ(b.x(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(b.x(0, 1), -2.0f);
  EXPECT_FLOAT_EQ(b.x(1, 0), 0.5f);
  EXPECT_FLOAT_EQ(b.x(1, 1), std::ldexp(1.0f, -24));
  const unsigned char be[8] = {0x3f, 0x80, 0, 0, 0x40, 0, 0, 0};  // 1.0f, 2.0f big-endian
  write_text(t.file("be.npy"), npy_bytes(">f4", "(2, 1)", bytes_of(be, sizeof be)));
  Dataset c = read_dataset(t.file("be.npy"));
  EXPECT_FLOAT_EQ(c.x(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(c.x(1, 0), 2.0f);
}

/// A .npy of any format version whose data start `misalign` bytes past a
/// multiple of 64 (0: the alignment numpy writes).
std::string npy_versioned(const std::string& descr, const std::string& shape, const std::string& data, int version,
                          int misalign = 0) {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t prefix = version == 1 ? 10 : 12;
  h.append((64 - (prefix + h.size() + 1) % 64) % 64 + static_cast<size_t>(misalign), ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((h.size() >> (8 * i)) & 0xff);
  return out + h + data;
}

/// The path of the file mapping that holds address p in this process, "" if none.
std::string mapping_of(const void* p) {
  std::ifstream maps("/proc/self/maps");
  const auto a = reinterpret_cast<uintptr_t>(p);
  for (std::string line; std::getline(maps, line);) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2 || a < lo || a >= hi) continue;
    const size_t slash = line.find('/');
    return slash == std::string::npos ? std::string() : line.substr(slash);
  }
  return {};
}

TEST(Npy, Float32IsReallyMappedInEveryHeaderVersion) {
  TempDir t;
  const float v[6] = {1, -2, 3.5f, 4, 5, 6e-3f};
  for (int version : {1, 2, 3}) {
    const std::string path = t.file("v" + std::to_string(version) + ".npy");
    write_text(path, npy_versioned("<f4", "(3, 2)", bytes_of(v, sizeof v), version));
    Dataset ds = read_dataset(path);
    ASSERT_EQ(ds.rows(), 3) << version;
    EXPECT_EQ(ds.x(2, 1), 6e-3f) << version;
    EXPECT_TRUE(ds.mapped) << version;
    // The rows live in a mapping of this very file, not in a heap copy.
    EXPECT_EQ(mapping_of(ds.x.data), std::filesystem::canonical(path).string()) << version;
  }
}

TEST(Npy, CopiedWhenTheBytesCannotBeUsedAsTheyAre) {
  TempDir t;
  const float v[4] = {1.5f, -2, 3, 4};
  // Data 2 bytes past an aligned offset: floats cannot be read in place.
  write_text(t.file("odd.npy"), npy_versioned("<f4", "(2, 2)", bytes_of(v, sizeof v), 1, 2));
  Dataset odd = read_dataset(t.file("odd.npy"));
  EXPECT_FALSE(odd.mapped);
  EXPECT_EQ(mapping_of(odd.x.data), "");
  EXPECT_EQ(odd.x(0, 0), 1.5f);
  EXPECT_EQ(odd.x(1, 1), 4.0f);
  const unsigned char be[8] = {0x3f, 0x80, 0, 0, 0x40, 0, 0, 0};  // 1.0f, 2.0f big-endian
  write_text(t.file("be.npy"), npy_versioned(">f4", "(2, 1)", bytes_of(be, sizeof be), 1));
  Dataset big = read_dataset(t.file("be.npy"));
  EXPECT_FALSE(big.mapped);  // `prism info` once said "memory-mapped" for these
  EXPECT_EQ(big.x(1, 0), 2.0f);
  // Bytes in memory are never "mapped", even when used without a copy.
  EXPECT_FALSE(read_dataset_bytes(npy_versioned("<f4", "(2, 2)", bytes_of(v, sizeof v), 1), "m.npy").mapped);
}

TEST(Npy, IntegerDtypesConvertExactly) {
  TempDir t;
  auto check = [&](const std::string& descr, const std::string& data, std::vector<float> want) {
    const std::string path = t.file("i" + std::to_string(want.size()) + descr.substr(1) + ".npy");
    write_text(path, npy_versioned(descr, "(" + std::to_string(want.size()) + ", 1)", data, 1));
    Dataset ds = read_dataset(path);
    EXPECT_FALSE(ds.mapped) << descr;
    ASSERT_EQ(ds.rows() * ds.cols(), static_cast<int64_t>(want.size())) << descr;
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(ds.x.data[i], want[i]) << descr << " value " << i;
  };
  const uint8_t u1[4] = {0, 1, 200, 255};
  check("|u1", bytes_of(u1, 4), {0, 1, 200, 255});
  const int8_t i1[2] = {-128, 127};
  check("|i1", bytes_of(i1, 2), {-128, 127});
  const int16_t i2[2] = {-32768, 32767};
  check("<i2", bytes_of(i2, 4), {-32768, 32767});
  const uint16_t u2[2] = {65535, 7};
  check("<u2", bytes_of(u2, 4), {65535, 7});
  const int32_t i4[4] = {-5, 16777216, 0, 42};
  check("<i4", bytes_of(i4, 16), {-5, 16777216, 0, 42});
  const uint32_t u4[2] = {4000000000u, 3};
  check("<u4", bytes_of(u4, 8), {4e9f, 3});
  const int64_t i8[2] = {-(int64_t(1) << 40), 9};
  check("<i8", bytes_of(i8, 16), {-1099511627776.0f, 9});
  const uint64_t u8[2] = {uint64_t(1) << 63, 1};
  check("<u8", bytes_of(u8, 16), {9223372036854775808.0f, 1});
  const unsigned char be_i4[8] = {0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0};  // -2, 256 big-endian
  check(">i4", bytes_of(be_i4, 8), {-2, 256});
}

TEST(Npy, RejectsBadInput) {
  TempDir t;
  float f[6] = {1, 2, 3, 4, 5, 6};
  write_text(t.file("3d.npy"), npy_bytes("<f4", "(1, 2, 3)", bytes_of(f, sizeof f)));
  expect_error(t.file("3d.npy"), {"3d.npy", "3 dimensions", "2-D"});
  write_text(t.file("fortran.npy"), npy_bytes("<f4", "(2, 3)", bytes_of(f, sizeof f), true));
  expect_error(t.file("fortran.npy"), {"Fortran order"});
  write_text(t.file("short.npy"), npy_bytes("<f4", "(3, 3)", bytes_of(f, sizeof f)));
  expect_error(t.file("short.npy"), {"short.npy", "byte offset", "truncated"});
  write_text(t.file("empty.npy"), "");
  expect_error(t.file("empty.npy"), {"empty"});
  write_text(t.file("zero.npy"), npy_bytes("<f4", "(3, 0)", ""));
  expect_error(t.file("zero.npy"), {"dimension 0"});
  write_text(t.file("one.npy"), npy_bytes("<f4", "(1, 6)", bytes_of(f, sizeof f)));
  expect_error(t.file("one.npy"), {"1 row", "at least 2"});
  write_text(t.file("str.npy"), npy_bytes("<U8", "(2, 1)", std::string(64, 'a')));
  expect_error(t.file("str.npy"), {"not supported"});
  write_text(t.file("notnpy.npy"), "hello world, not numpy");
  expect_error(t.file("notnpy.npy"), {"byte offset 0", "magic"});
}

TEST(Validation, NanRowsRejectedOrDropped) {
  TempDir t;
  Matrix m = sample_matrix();
  m(1, 2) = std::nanf("");
  write_matrix(t.file("nan.npy"), m.view());
  expect_error(t.file("nan.npy"), {"nan.npy", "byte offset", "NaN", "--drop-invalid"});
  ReadOptions o;
  o.drop_invalid = true;
  Dataset ds = read_dataset(t.file("nan.npy"), o);
  EXPECT_EQ(ds.rows(), 2);
  EXPECT_EQ(ds.dropped_invalid, 1);
  EXPECT_EQ(ds.x(1, 0), m(2, 0));
  write_text(t.file("inf.txt"), "a 1 2\nb 3 inf\nc 5 6\n");
  expect_error(t.file("inf.txt"), {"inf.txt line 2", "Inf"});
}

TEST(Vecs, RoundTripAndErrors) {
  TempDir t;
  const Matrix m = sample_matrix();
  write_matrix(t.file("a.fvecs"), m.view());
  expect_equal(read_dataset(t.file("a.fvecs")).x, m.view());
  std::string bv;
  for (int i = 0; i < 3; ++i) {
    int32_t d = 2;
    bv += bytes_of(&d, 4);
    bv += static_cast<char>(i);
    bv += static_cast<char>(200);
  }
  write_text(t.file("b.bvecs"), bv);
  Dataset b = read_dataset(t.file("b.bvecs"));
  EXPECT_EQ(b.rows(), 3);
  EXPECT_EQ(b.x(2, 1), 200.0f);
  const std::string full = prism::test::read_text(t.file("a.fvecs"));
  write_text(t.file("trunc.fvecs"), full.substr(0, full.size() - 3));
  expect_error(t.file("trunc.fvecs"), {"trunc.fvecs", "byte offset 40", "truncated"});
  std::string ragged = full;
  const int32_t five = 5;
  std::memcpy(ragged.data() + 20, &five, 4);  // second row claims d = 5
  write_text(t.file("ragged.fvecs"), ragged);
  expect_error(t.file("ragged.fvecs"), {"byte offset 20", "dimension 5", "expected 4"});
  write_text(t.file("empty.fvecs"), "");
  expect_error(t.file("empty.fvecs"), {"empty"});
}

TEST(Text, GloveWithoutHeader) {
  TempDir t;
  write_text(t.file("g.txt"), "the 0.418 0.24968 -0.41242\n, 0.013441 0.23682 -0.16899\nking 1e-3 +2.5 -3.0E2\n");
  Dataset ds = read_dataset(t.file("g.txt"));
  ASSERT_EQ(ds.rows(), 3);
  ASSERT_EQ(ds.cols(), 3);
  EXPECT_FLOAT_EQ(ds.x(0, 1), 0.24968f);
  EXPECT_FLOAT_EQ(ds.x(2, 0), 0.001f);
  EXPECT_FLOAT_EQ(ds.x(2, 1), 2.5f);
  EXPECT_FLOAT_EQ(ds.x(2, 2), -300.0f);
  ASSERT_NE(ds.meta.labels(), nullptr);
  EXPECT_EQ((*ds.meta.labels())[1], ",");
  EXPECT_EQ((*ds.meta.labels())[2], "king");
}

TEST(Text, FastTextHeaderCrlfAndTrailingSpaces) {
  TempDir t;
  write_text(t.file("f.vec"), "2 3\r\nhello 1 2 3 \r\nworld 4 5 6 \r\n");
  Dataset ds = read_dataset(t.file("f.vec"));
  ASSERT_EQ(ds.rows(), 2);
  EXPECT_EQ(ds.x(1, 2), 6.0f);
  EXPECT_EQ((*ds.meta.labels())[0], "hello");
}

TEST(Text, Errors) {
  TempDir t;
  write_text(t.file("ragged.txt"), "a 1 2 3\nb 1 2 3\nc 1 2\n");
  expect_error(t.file("ragged.txt"), {"ragged.txt line 3", "expected 3 values, found 2"});
  write_text(t.file("long.txt"), "a 1 2\nb 1 2 3\n");
  expect_error(t.file("long.txt"), {"long.txt line 2", "expected 2 values, found 3"});
  write_text(t.file("word.txt"), "a 1 2\nb 1 x2\n");
  expect_error(t.file("word.txt"), {"word.txt line 2", "value 2 'x2' is not a number"});
  write_text(t.file("liar.vec"), "5 2\na 1 2\nb 3 4\n");
  expect_error(t.file("liar.vec"), {"liar.vec line 1", "N = 5", "2 vectors"});
  write_text(t.file("liard.vec"), "2 3\na 1 2\nb 3 4\n");
  expect_error(t.file("liard.vec"), {"liard.vec line 2", "expected 3 values, found 2"});
  write_text(t.file("empty.txt"), "");
  expect_error(t.file("empty.txt"), {"empty.txt", "empty"});
  write_text(t.file("blank.txt"), "\n\n");
  expect_error(t.file("blank.txt"), {"no vectors"});
  write_text(t.file("names.txt"), "a\nb\n");
  expect_error(t.file("names.txt"), {"line 1", "no values"});
  write_text(t.file("single.txt"), "a 1 2\n");
  expect_error(t.file("single.txt"), {"1 row", "at least 2"});
}

TEST(Text, ManyChunksKeepOrderAndLineNumbers) {
  TempDir t;
  std::string s;
  const int n = 300000;
  for (int i = 0; i < n; ++i) s += "w" + std::to_string(i) + " " + std::to_string(i) + " 0.5\n";
  write_text(t.file("big.txt"), s);
  Dataset ds = read_dataset(t.file("big.txt"));
  ASSERT_EQ(ds.rows(), n);
  for (int i = 0; i < n; i += 997) EXPECT_EQ(ds.x(i, 0), static_cast<float>(i));
  EXPECT_EQ((*ds.meta.labels())[n - 1], "w" + std::to_string(n - 1));
  s += "bad 1\n";
  write_text(t.file("bad.txt"), s);
  expect_error(t.file("bad.txt"), {"bad.txt line " + std::to_string(n + 1)});
}

TEST(Tsv, TensorBoardVectorsWithMetadata) {
  TempDir t;
  write_text(t.file("vectors.tsv"), "1\t2\n3\t4\n5\t6\n");
  write_text(t.file("one.tsv"), "cat\ndog\ncat\n");
  ReadOptions o;
  o.metadata = t.file("one.tsv");
  Dataset a = read_dataset(t.file("vectors.tsv"), o);
  ASSERT_EQ(a.rows(), 3);
  EXPECT_EQ((*a.meta.labels())[1], "dog");
  write_text(t.file("multi.tsv"), "name\tkind\na\tx\nb\ty\nc\tx\n");
  o.metadata = t.file("multi.tsv");
  o.label_column = "kind";
  Dataset b = read_dataset(t.file("vectors.tsv"), o);
  ASSERT_EQ(b.meta.names.size(), 2u);
  EXPECT_EQ((*b.meta.labels())[2], "x");
  write_text(t.file("short.tsv"), "a\tx\nb\ty\n");
  o.metadata = t.file("short.tsv");
  o.label_column.clear();
  expect_error(t.file("vectors.tsv"), {"short.tsv", "1 metadata rows after the header", "3 rows"}, o);
  write_text(t.file("ragged_meta.tsv"), "name\tkind\na\tx\nb\nc\tx\n");
  o.metadata = t.file("ragged_meta.tsv");
  expect_error(t.file("vectors.tsv"), {"ragged_meta.tsv line 3", "expected 2"}, o);
  o.metadata = t.file("multi.tsv");
  o.label_column = "nope";
  expect_error(t.file("vectors.tsv"), {"--label-column 'nope'"}, o);
}

TEST(Word2vec, BinaryRoundTripAndTruncation) {
  TempDir t;
  std::string s = "2 3\n";
  const float a[3] = {1, 2, 3}, b[3] = {4, 5, 6};
  s += "alpha " + bytes_of(a, 12) + "\n" + "beta " + bytes_of(b, 12) + "\n";
  write_text(t.file("w.bin"), s);
  Dataset ds = read_dataset(t.file("w.bin"));
  ASSERT_EQ(ds.rows(), 2);
  EXPECT_EQ(ds.x(1, 2), 6.0f);
  EXPECT_EQ((*ds.meta.labels())[1], "beta");
  write_text(t.file("t.bin"), s.substr(0, s.size() - 6));
  expect_error(t.file("t.bin"), {"t.bin", "byte offset", "truncated"});
  write_text(t.file("liar.bin"), "3 3\n" + s.substr(4));
  expect_error(t.file("liar.bin"), {"liar.bin", "header promises 3 rows"});
}

TEST(Idx, ImagesWithSiblingLabels) {
  TempDir t;
  auto be = [](uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
    return s;
  };
  std::string img = be(0x803) + be(3) + be(2) + be(2) + std::string("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\xff", 12);
  std::string lbl = be(0x801) + be(3) + std::string("\x00\x09\x03", 3);
  const auto dir = t.path() / "fashion";
  std::filesystem::create_directories(dir);
  write_text((dir / "train-images-idx3-ubyte").string(), img);
  write_text((dir / "train-labels-idx1-ubyte").string(), lbl);
  Dataset ds = read_dataset((dir / "train-images-idx3-ubyte").string());
  ASSERT_EQ(ds.rows(), 3);
  ASSERT_EQ(ds.cols(), 4);
  EXPECT_EQ(ds.x(2, 3), 255.0f);
  EXPECT_EQ((*ds.meta.labels())[1], "Ankle boot");
  Dataset folder = read_dataset(dir.string());
  EXPECT_EQ(folder.rows(), 3);
  write_text((dir / "t10k-images-idx3-ubyte").string(), img.substr(0, 20));
  expect_error(dir.string(), {"t10k-images-idx3-ubyte", "truncated"});
  write_text(t.file("x-images-idx3-ubyte"), be(0x803) + be(3) + be(2) + be(2) + std::string(12, '\0'));
  write_text(t.file("x-labels-idx1-ubyte"), be(0x801) + be(4) + std::string(4, '\0'));
  expect_error(t.file("x-images-idx3-ubyte"), {"x-labels-idx1-ubyte", "4 labels", "3 images"});
}

TEST(Idx, GzippedImagesWithGzippedSiblingLabels) {
  // The demo's own input: Debian's dataset-fashion-mnist ships *-idx?-ubyte.gz.
  TempDir t;
  auto be = [](uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
    return s;
  };
  std::filesystem::create_directories(t.path() / "fashion-mnist");
  auto at = [&](const std::string& name) { return (t.path() / "fashion-mnist" / name).string(); };
  auto gz = [&](const std::string& name, const std::string& bytes) {
    gzFile f = gzopen(at(name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
    gzclose(f);
  };
  std::string pixels;
  for (int i = 0; i < 3 * 6; ++i) pixels += static_cast<char>(i * 14);
  gz("train-images-idx3-ubyte.gz", be(0x803) + be(3) + be(2) + be(3) + pixels);
  gz("train-labels-idx1-ubyte.gz", be(0x801) + be(3) + std::string("\x07\x00\x09", 3));
  Dataset ds = read_dataset(at("train-images-idx3-ubyte.gz"));
  EXPECT_EQ(ds.format, "idx");
  EXPECT_FALSE(ds.mapped);
  ASSERT_EQ(ds.rows(), 3);
  ASSERT_EQ(ds.cols(), 6);
  EXPECT_EQ(ds.x(2, 5), 17.0f * 14);
  ASSERT_NE(ds.meta.labels(), nullptr);
  EXPECT_EQ((*ds.meta.labels())[0], "Sneaker");
  EXPECT_EQ((*ds.meta.labels())[2], "Ankle boot");
  // A gzip stream cut short names the file.
  const std::string whole = prism::test::read_text(at("train-images-idx3-ubyte.gz"));
  write_text(t.file("cut-images-idx3-ubyte.gz"), whole.substr(0, whole.size() - 12));
  expect_error(t.file("cut-images-idx3-ubyte.gz"), {"cut-images-idx3-ubyte.gz", "gzip"});
}

TEST(Detect, UnknownFormatAndMissingFile) {
  TempDir t;
  write_text(t.file("mystery.dat"), "just some words");
  expect_error(t.file("mystery.dat"), {"mystery.dat", "unknown format", "--format"});
  expect_error(t.file("nope.npy"), {"nope.npy", "no such file"});
  ReadOptions o;
  o.format = Format::tsv;
  write_text(t.file("forced.dat"), "1\t2\n3\t4\n");
  EXPECT_EQ(read_dataset(t.file("forced.dat"), o).rows(), 2);
}

TEST(Write, CsvTsvWithMetadataAndAtomicity) {
  TempDir t;
  const Matrix m = sample_matrix();
  Metadata meta;
  meta.add("label", {"a,b", "plain", "q\"uote"}, true);
  Matrix y(3, 2);
  y(0, 0) = 0.1f;
  y(2, 1) = -1.5f;
  write_matrix(t.file("y.csv"), y.view(), &meta);
  const std::string csv = prism::test::read_text(t.file("y.csv"));
  EXPECT_EQ(csv, "label,x,y\n\"a,b\",0.1,0\nplain,0,0\n\"q\"\"uote\",0,-1.5\n");
  write_matrix(t.file("y.tsv"), y.view(), &meta);
  EXPECT_EQ(prism::test::read_text(t.file("y.tsv")).substr(0, 12), "label\tx\ty\na,");
  EXPECT_THROW(write_matrix(t.file("y.xyz"), y.view()), InputError);
  {
    AtomicFile f(t.file("never.npy"));
    f.write("partial");
  }  // not committed: neither the file nor the temporary remain
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(t.path())) files += e.path().filename().string().find("never") != std::string::npos;
  EXPECT_EQ(files, 0u);
  write_metadata_tsv(t.file("meta.tsv"), meta);
  Metadata back = read_metadata_tsv(t.file("meta.tsv"), 3);
  EXPECT_EQ(back.columns[0][1], "plain");
}

TEST(Sha256, KnownVectors) {
  TempDir t;
  write_text(t.file("abc"), "abc");
  EXPECT_EQ(sha256_file(t.file("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  write_text(t.file("empty"), "");
  EXPECT_EQ(sha256_file(t.file("empty")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  write_text(t.file("long"), std::string(1000, 'a'));
  EXPECT_EQ(sha256_file(t.file("long")), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}
