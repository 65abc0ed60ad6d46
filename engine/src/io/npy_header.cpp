// The .npy header (format versions 1-3): magic, version, header length, then
// a Python dict literal such as {'descr': '<f4', 'fortran_order': False,
// 'shape': (70000, 784), }. Parsed by hand, in one pass with no recursion
// (std::regex recurses per character and overflows the stack on long headers).
#include <cctype>
#include <charconv>
#include <cstring>

#include "readers.hpp"

namespace prism::io {
namespace {

class HeaderParser {
 public:
  HeaderParser(const Source& s, size_t start, std::string_view h) : s_(s), start_(start), h_(h) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(cat(s_.name, " byte offset ", start_ + pos_, ": bad .npy header: ", what, " (header: ",
                         excerpt(), ")"));
  }
  void skip_space() {
    while (pos_ < h_.size() && (h_[pos_] == ' ' || h_[pos_] == '\t' || h_[pos_] == '\n' || h_[pos_] == '\r')) ++pos_;
  }
  bool take(char c) {
    skip_space();
    if (pos_ < h_.size() && h_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, const char* what) {
    if (!take(c)) fail(cat("expected ", what));
  }
  bool peek(char c) {
    skip_space();
    return pos_ < h_.size() && h_[pos_] == c;
  }
  std::string string() {
    skip_space();
    if (pos_ >= h_.size() || (h_[pos_] != '\'' && h_[pos_] != '"')) fail("expected a quoted string");
    const char q = h_[pos_++];
    const size_t end = h_.find(q, pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(h_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const size_t n = std::strlen(word);
      if (h_.substr(pos_, n) == word) {
        pos_ += n;
        return value;
      }
    }
    fail("expected True or False");
  }
  std::vector<int64_t> shape() {
    expect('(', "a shape tuple '('");
    std::vector<int64_t> dims;
    while (!take(')')) {
      skip_space();
      int64_t v = -1;
      const auto r = std::from_chars(h_.data() + pos_, h_.data() + h_.size(), v);
      if (r.ec != std::errc() || v < 0) fail("expected a non-negative integer in the shape");
      pos_ = static_cast<size_t>(r.ptr - h_.data());
      if (pos_ < h_.size() && h_[pos_] == 'L') ++pos_;  // Python 2's long literals
      dims.push_back(v);
      if (dims.size() > 32) fail("more than 32 dimensions");
      if (!take(',')) {
        expect(')', "',' or ')' in the shape");
        break;
      }
    }
    return dims;
  }
  size_t pos() const { return pos_; }

 private:
  std::string excerpt() const {
    std::string e;
    for (char c : h_.substr(0, 120)) e += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    return h_.size() > 120 ? e + "..." : e;
  }
  const Source& s_;
  size_t start_;
  std::string_view h_;
  size_t pos_ = 0;
};

}  // namespace

int64_t NpyHeader::count() const {
  int64_t c = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(c, d, &c)) return -1;
  return c;
}

std::string NpyHeader::dtype() const {
  const int64_t size = kind == 'U' || kind == 'S' ? chars : item_bytes;
  return cat(endian, kind, size);
}

NpyHeader parse_npy_header(const Source& s) {
  const char* d = s.data();
  const size_t size = s.size();
  PRISM_EXPECTS(size > 0, s.name, ": file is empty (expected a .npy array)");
  PRISM_EXPECTS(size >= 10 && std::memcmp(d, "\x93NUMPY", 6) == 0, s.name,
                " byte offset 0: not a .npy file (expected the magic \\x93NUMPY)");
  const int major = static_cast<unsigned char>(d[6]);
  PRISM_EXPECTS(major >= 1 && major <= 3, s.name, " byte offset 6: unsupported .npy version ", major,
                " (expected 1, 2 or 3)");
  size_t hlen, start;
  if (major == 1) {
    hlen = static_cast<unsigned char>(d[8]) | (static_cast<unsigned char>(d[9]) << 8);
    start = 10;
  } else {
    PRISM_EXPECTS(size >= 12, s.name, " byte offset 8: truncated .npy header length");
    uint32_t v;
    std::memcpy(&v, d + 8, 4);  // little-endian, as every platform Prism runs on
    hlen = v;
    start = 12;
  }
  PRISM_EXPECTS(hlen <= size - start, s.name, " byte offset ", start, ": header of ", hlen,
                " bytes runs past the end of the file (", size, " bytes): truncated file");
  HeaderParser p(s, start, std::string_view(d + start, hlen));
  NpyHeader out;
  out.data_offset = start + hlen;
  bool have_descr = false, have_shape = false;
  p.expect('{', "a dict '{'");
  while (!p.take('}')) {
    const std::string key = p.string();
    p.expect(':', "':' after the key");
    if (key == "descr") {
      if (p.peek('[')) p.fail("structured dtype (a list of fields); save one plain array per field");
      const std::string descr = p.string();
      size_t i = 0;
      if (i < descr.size() && std::strchr("<>|=", descr[i])) out.endian = descr[i++];
      if (i >= descr.size() || !std::isalpha(static_cast<unsigned char>(descr[i])))
        p.fail(cat("dtype '", descr, "' has no type letter"));
      out.kind = descr[i++];
      int64_t n = 0;
      const auto r = std::from_chars(descr.data() + i, descr.data() + descr.size(), n);
      if (out.kind == 'O') {
        n = 8;
      } else if (r.ec != std::errc() || r.ptr != descr.data() + descr.size() || n <= 0 || n > (1 << 20)) {
        p.fail(cat("dtype '", descr, "' is not supported (expected a number type such as '<f4', or '<U12')"));
      }
      out.chars = n;
      out.item_bytes = out.kind == 'U' ? 4 * n : n;
      have_descr = true;
    } else if (key == "fortran_order") {
      out.fortran = p.boolean();
    } else if (key == "shape") {
      out.shape = p.shape();
      have_shape = true;
    } else {
      p.fail(cat("unexpected key '", key, "' (expected descr, fortran_order, shape)"));
    }
    if (!p.take(',')) {
      p.expect('}', "',' or '}'");
      break;
    }
  }
  PRISM_EXPECTS(have_descr, s.name, " byte offset ", start, ": the .npy header has no dtype ('descr')");
  PRISM_EXPECTS(have_shape, s.name, " byte offset ", start, ": the .npy header has no 'shape'");
  return out;
}

}  // namespace prism::io
