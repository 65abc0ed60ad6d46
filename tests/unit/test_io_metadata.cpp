// Metadata as people keep it: .npy label arrays, CSV with a header, TSV with
// or without one (TensorBoard's rule and the detected header), IDX labels;
// binary files and mismatched counts give an error naming the file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "prism/io.hpp"
#include "test_util.hpp"

using namespace prism;
using namespace std::string_literals;
using prism::test::TempDir;
using prism::test::write_text;

namespace {

std::string npy_bytes(const std::string& descr, const std::string& shape, const std::string& data) {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
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

template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
  return s;
}

std::string utf32(const std::u32string& s) { return std::string(reinterpret_cast<const char*>(s.data()), 4 * s.size()); }

/// Expects read_metadata to throw an InputError whose message holds every part.
void expect_error(const std::string& path, int64_t rows, std::initializer_list<std::string> parts) {
  try {
    read_metadata(path, rows);
    FAIL() << "no error for " << path;
  } catch (const InputError& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "  (missing: " << p << ")";
  }
}

const std::vector<std::string>& labels_of(const Metadata& m) {
  EXPECT_NE(m.labels(), nullptr);
  static const std::vector<std::string> none;
  return m.labels() ? *m.labels() : none;
}

}  // namespace

TEST(MetadataNpy, IntegerFloatBoolAndStringLabels) {
  TempDir t;
  write_text(t.file("i.npy"), npy_bytes("<i8", "(4,)", raw<int64_t>({3, -1, 3, 1LL << 40})));
  EXPECT_EQ(labels_of(read_metadata(t.file("i.npy"), 4)),
            (std::vector<std::string>{"3", "-1", "3", "1099511627776"}));
  write_text(t.file("u1.npy"), npy_bytes("|u1", "(3,)", std::string("\x00\x09\xff", 3)));
  EXPECT_EQ(labels_of(read_metadata(t.file("u1.npy"), 3)), (std::vector<std::string>{"0", "9", "255"}));
  write_text(t.file("i2be.npy"), npy_bytes(">i2", "(2,)", std::string("\xff\xfe\x01\x00", 4)));
  EXPECT_EQ(labels_of(read_metadata(t.file("i2be.npy"), 2)), (std::vector<std::string>{"-2", "256"}));
  // Floats print the shortest text that reads back: class ids stored as float stay "3".
  write_text(t.file("f.npy"), npy_bytes("<f4", "(3,)", raw<float>({3.0f, 0.1f, -2.5f})));
  EXPECT_EQ(labels_of(read_metadata(t.file("f.npy"), 3)), (std::vector<std::string>{"3", "0.1", "-2.5"}));
  write_text(t.file("d.npy"), npy_bytes("<f8", "(2, 1)", raw<double>({1e100, 0.5})));  // an N x 1 column too
  EXPECT_EQ(labels_of(read_metadata(t.file("d.npy"), 2)), (std::vector<std::string>{"1e+100", "0.5"}));
  write_text(t.file("b.npy"), npy_bytes("|b1", "(2,)", std::string("\x01\x00", 2)));
  EXPECT_EQ(labels_of(read_metadata(t.file("b.npy"), 2)), (std::vector<std::string>{"True", "False"}));
  // numpy's unicode arrays: UTF-32, padded with NULs; any character, tabs and empty strings included.
  write_text(t.file("u.npy"), npy_bytes("<U4", "(4,)",
                                        utf32(U"cat\0" U"\u00e9t\u00e9\0" U"a\tb\0" U"\0\0\0\0"s)));
  EXPECT_EQ(labels_of(read_metadata(t.file("u.npy"), 4)),
            (std::vector<std::string>{"cat", "\xc3\xa9t\xc3\xa9", "a\tb", ""}));
  write_text(t.file("emoji.npy"), npy_bytes(">U1", "(2,)", std::string("\x00\x01\xf6\x00\x00\x00\x4e\x2d", 8)));
  EXPECT_EQ(labels_of(read_metadata(t.file("emoji.npy"), 2)), (std::vector<std::string>{"\xf0\x9f\x98\x80", "\xe4\xb8\xad"}));
  write_text(t.file("s.npy"), npy_bytes("|S3", "(2,)", std::string("ab\0xyz", 6)));
  EXPECT_EQ(labels_of(read_metadata(t.file("s.npy"), 2)), (std::vector<std::string>{"ab", "xyz"}));
}

TEST(MetadataNpy, Errors) {
  TempDir t;
  write_text(t.file("i.npy"), npy_bytes("<i4", "(3,)", raw<int32_t>({1, 2, 3})));
  expect_error(t.file("i.npy"), 4, {"i.npy", "3 labels", "4 rows"});
  write_text(t.file("2d.npy"), npy_bytes("<i4", "(2, 2)", raw<int32_t>({1, 2, 3, 4})));
  expect_error(t.file("2d.npy"), 2, {"2d.npy", "shape (2, 2)", "1-D"});
  write_text(t.file("o.npy"), npy_bytes("|O", "(2,)", std::string(16, '\0')));
  expect_error(t.file("o.npy"), 2, {"o.npy", "object array", "dtype=str"});
  write_text(t.file("short.npy"), npy_bytes("<i4", "(3,)", raw<int32_t>({1, 2})));
  expect_error(t.file("short.npy"), 3, {"short.npy", "byte offset", "truncated"});
  write_text(t.file("c.npy"), npy_bytes("<c8", "(2,)", std::string(16, '\0')));
  expect_error(t.file("c.npy"), 2, {"c.npy", "'<c8'", "cannot be labels"});
  write_text(t.file("fake.npy"), "cat\ndog\n");
  expect_error(t.file("fake.npy"), 2, {"fake.npy", "not a .npy file"});
}

TEST(MetadataText, OneColumnHeaderIsDetectedAndNoted) {
  TempDir t;
  // TensorBoard's rule: one column, no header. N lines for N vectors: all values.
  write_text(t.file("plain.tsv"), "label\ncat\ndog\n");
  Metadata plain = read_metadata(t.file("plain.tsv"), 3);
  EXPECT_EQ(labels_of(plain), (std::vector<std::string>{"label", "cat", "dog"}));
  EXPECT_TRUE(plain.notes.empty());
  // N + 1 lines, line 1 a usual column name: a header, and a note says so.
  write_text(t.file("named.tsv"), "Label\ncat\ndog\nbird\n");
  Metadata named = read_metadata(t.file("named.tsv"), 3);
  EXPECT_EQ(named.names[0], "Label");
  EXPECT_EQ(labels_of(named), (std::vector<std::string>{"cat", "dog", "bird"}));
  ASSERT_EQ(named.notes.size(), 1u);
  EXPECT_NE(named.notes[0].find("line 1 'Label' taken as the column's name"), std::string::npos) << named.notes[0];
  // An unknown name, but unlike the values: numbers below a word, or classes below a name.
  write_text(t.file("digits.tsv"), "digit_id\n1\n7\n1\n");
  EXPECT_EQ(labels_of(read_metadata(t.file("digits.tsv"), 3)), (std::vector<std::string>{"1", "7", "1"}));
  write_text(t.file("animals.tsv"), "animal\ncat\ndog\ncat\ndog\n");
  EXPECT_EQ(read_metadata(t.file("animals.tsv"), 4).names[0], "animal");
  // Line 1 like the rest: the error says why and what to do.
  write_text(t.file("words.tsv"), "alpha\nbeta\ngamma\ndelta\n");
  expect_error(t.file("words.tsv"), 3,
               {"words.tsv", "4 lines for 3 vectors", "one-column metadata file takes no header", "'alpha'"});
  // A trailing blank line is not a row; blank lines inside are empty labels.
  write_text(t.file("blank.tsv"), "a\n\nb\n\n");
  EXPECT_EQ(labels_of(read_metadata(t.file("blank.tsv"), 3)), (std::vector<std::string>{"a", "", "b"}));
  write_text(t.file("crlf_utf8.tsv"), "\xe4\xb8\xad\xe6\x96\x87\r\n\r\nx\r\n");
  EXPECT_EQ(labels_of(read_metadata(t.file("crlf_utf8.tsv"), 3)),
            (std::vector<std::string>{"\xe4\xb8\xad\xe6\x96\x87", "", "x"}));
}

TEST(MetadataText, SeveralColumnsWithOrWithoutHeader) {
  TempDir t;
  write_text(t.file("h.tsv"), "name\tkind\na\tx\nb\ty\nc\tx\n");
  Metadata h = read_metadata(t.file("h.tsv"), 3);
  EXPECT_EQ(h.names, (std::vector<std::string>{"name", "kind"}));
  EXPECT_EQ(h.columns[1][2], "x");
  EXPECT_TRUE(h.notes.empty());
  write_text(t.file("nh.tsv"), "a\tx\nb\ty\nc\tx\n");
  Metadata nh = read_metadata(t.file("nh.tsv"), 3);
  EXPECT_EQ(nh.names, (std::vector<std::string>{"column1", "column2"}));
  EXPECT_EQ(nh.columns[0][0], "a");
  ASSERT_EQ(nh.notes.size(), 1u);
  // N lines, but line 1 is a header: one data row is missing.
  write_text(t.file("missing.tsv"), "word\tcount\na\t1\nb\t2\n");
  expect_error(t.file("missing.tsv"), 3, {"missing.tsv", "line 1 looks like a header", "2 rows after it for 3"});
  write_text(t.file("ragged.tsv"), "name\tkind\na\tx\nb\nc\tx\n");
  expect_error(t.file("ragged.tsv"), 3, {"ragged.tsv line 3", "expected 2 tab-separated columns", "found 1"});
  write_text(t.file("hole.tsv"), "name\tkind\na\tx\n\nc\tx\n");
  expect_error(t.file("hole.tsv"), 3, {"hole.tsv line 3", "empty line"});
  write_text(t.file("label_col.tsv"), "word\tlabel\na\tx\nb\ty\n");
  EXPECT_EQ(read_metadata(t.file("label_col.tsv"), 2).label_column, 1);
}

TEST(MetadataText, CsvWithQuotesAndByteOrderMark) {
  TempDir t;
  write_text(t.file("m.csv"), "\xef\xbb\xbfword,label\r\n\"a,b\",x\r\n\"say \"\"hi\"\"\",y\r\n\"two\nlines\",x\r\nplain,\r\n");
  Metadata m = read_metadata(t.file("m.csv"), 4);
  EXPECT_EQ(m.names, (std::vector<std::string>{"word", "label"}));
  EXPECT_EQ(m.columns[0], (std::vector<std::string>{"a,b", "say \"hi\"", "two\nlines", "plain"}));
  EXPECT_EQ(labels_of(m), (std::vector<std::string>{"x", "y", "x", ""}));
  write_text(t.file("open.csv"), "w,l\n\"never closed,x\n");
  expect_error(t.file("open.csv"), 1, {"open.csv line 2", "never closed"});
  write_text(t.file("count.csv"), "w,l\na,x\n");
  expect_error(t.file("count.csv"), 3, {"count.csv", "1 metadata rows after the header", "3 rows", "CSV"});
}

TEST(MetadataText, BinaryFilesAreNamed) {
  TempDir t;
  write_text(t.file("labels.bin"), std::string("ab\ncd\x00\x01\x02", 8));
  expect_error(t.file("labels.bin"), 2, {"labels.bin byte offset 5", "binary data", "not text"});
  // The vectors passed as labels by mistake.
  std::string fv;
  for (int i = 0; i < 2; ++i) fv += raw<int32_t>({2}) + raw<float>({1.0f, 2.0f});
  write_text(t.file("x.fvecs"), fv);
  expect_error(t.file("x.fvecs"), 2, {"x.fvecs byte offset", "binary data"});
  auto be = [](uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
    return s;
  };
  write_text(t.file("img-idx3-ubyte"), be(0x803) + be(2) + be(1) + be(1) + std::string(2, '\0'));
  expect_error(t.file("img-idx3-ubyte"), 2, {"IDX images file", "not labels"});
  write_text(t.file("empty.tsv"), "");
  expect_error(t.file("empty.tsv"), 2, {"empty.tsv", "empty"});
  expect_error(t.file("nope.tsv"), 2, {"nope.tsv", "no such file"});
}

TEST(MetadataIdx, LabelsFileAsLabels) {
  TempDir t;
  std::string lbl = std::string("\x00\x00\x08\x01\x00\x00\x00\x03", 8) + std::string("\x00\x09\x03", 3);
  write_text(t.file("fashion-labels-idx1-ubyte"), lbl);
  EXPECT_EQ(labels_of(read_metadata(t.file("fashion-labels-idx1-ubyte"), 3)),
            (std::vector<std::string>{"T-shirt/top", "Ankle boot", "Dress"}));
}

TEST(MetadataRead, ServesReadDatasetAndReplacesColumns) {
  TempDir t;
  write_text(t.file("g.txt"), "the 1 2\nof 3 4\nand 5 6\n");
  write_text(t.file("l.npy"), npy_bytes("<i4", "(3,)", raw<int32_t>({0, 1, 0})));
  ReadOptions o;
  o.metadata = t.file("l.npy");
  Dataset ds = read_dataset(t.file("g.txt"), o);
  ASSERT_EQ(ds.meta.names, (std::vector<std::string>{"word", "label"}));
  EXPECT_EQ(ds.meta.label_column, 1);  // the metadata's labels, not the words
  EXPECT_EQ((*ds.meta.labels())[1], "1");
  // A header-detected file: its column is the label column, and the note travels with the data set.
  write_text(t.file("h.tsv"), "category\nx\ny\nx\n");
  o.metadata = t.file("h.tsv");
  Dataset dh = read_dataset(t.file("g.txt"), o);
  EXPECT_EQ(dh.meta.names[dh.meta.label_column], "category");
  EXPECT_EQ(dh.meta.notes.size(), 1u);
  // --drop-invalid keeps the metadata rows in step with the vectors.
  write_text(t.file("nan.txt"), "a 1 2\nb nan 4\nc 5 6\n");
  o.drop_invalid = true;
  Dataset dn = read_dataset(t.file("nan.txt"), o);
  EXPECT_EQ((*dn.meta.labels()), (std::vector<std::string>{"x", "x"}));
}

TEST(MetadataRead, BytesApiMatchesFiles) {
  Metadata m = read_metadata_bytes("w,l\na,1\nb,2\n", "in-memory.csv", 2);
  EXPECT_EQ(m.columns[1], (std::vector<std::string>{"1", "2"}));
  try {
    read_metadata_bytes("a\nb\nc\nd\n", "mem.tsv", 2);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("mem.tsv: 4 metadata rows"), std::string::npos) << e.what();
  }
}
