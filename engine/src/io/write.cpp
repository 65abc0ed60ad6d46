// Writers. Every file goes through AtomicFile: a temporary name in the same
// folder, then rename(), so a failed or killed run never leaves half a file.
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "prism/io.hpp"

namespace prism {
namespace fs = std::filesystem;

namespace {

/// "cannot write out/x.npy: No space left on device (disk full)".
std::string write_error(const std::string& path, int err, const char* doing) {
  std::string hint;
  const fs::path dir = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
  switch (err) {
    case ENOENT: hint = cat(" (folder ", dir.string(), " does not exist)"); break;
    case EACCES:
    case EPERM: hint = cat(" (no permission to write in ", dir.string(), ")"); break;
    case EROFS: hint = " (a read-only file system)"; break;
    case ENOSPC:
    case EDQUOT: hint = " (disk full or over quota)"; break;
    case EFBIG: hint = " (over the file-size limit, ulimit -f)"; break;
    default: break;
  }
  return cat(path, ": ", doing, ": ", std::strerror(err), hint, "; nothing was written");
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  std::random_device rd;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".tmp-%d-%08x", static_cast<int>(getpid()), rd());
  tmp_ = path_ + suffix;
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) {
    const int err = errno;
    // A folder that is not there is a wrong path (the user's input); anything
    // else (permissions, a read-only or full disk) fails at run time.
    if (err == ENOENT || err == ENOTDIR) throw InputError(write_error(path_, err, "cannot write"));
    throw RuntimeError(write_error(path_, err, "cannot write"));
  }
  std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
}

AtomicFile::~AtomicFile() { abandon(); }

void AtomicFile::abandon() noexcept {
  if (f_) std::fclose(f_);
  f_ = nullptr;
  if (!committed_ && !tmp_.empty()) std::remove(tmp_.c_str());
  tmp_.clear();
}

void AtomicFile::write(const void* data, size_t bytes) {
  PRISM_CHECK(f_ != nullptr, "write to ", path_, " after it failed or was committed");
  if (bytes == 0) return;
  if (std::fwrite(data, 1, bytes, f_) != bytes) {
    const int err = errno;
    abandon();
    throw RuntimeError(write_error(path_, err, "write failed"));
  }
}

void AtomicFile::commit() {
  PRISM_CHECK(f_ != nullptr, "commit of ", path_, " after it failed or was committed");
  // The data must be on disk before the rename makes it the file: a crash
  // then leaves the old file or the whole new one.
  int err = 0;
  if (std::fflush(f_) != 0 || fsync(fileno(f_)) != 0) err = errno;
  if (std::fclose(f_) != 0 && err == 0) err = errno;
  f_ = nullptr;
  if (err != 0) {
    abandon();
    throw RuntimeError(write_error(path_, err, "write failed"));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    err = errno;
    abandon();
    throw RuntimeError(write_error(path_, err, "cannot move the finished file into place"));
  }
  committed_ = true;
}

namespace {

void write_npy_raw(const std::string& path, const void* data, const char* descr, int64_t rows,
                   int64_t cols, size_t elem) {
  std::string header = cat("{'descr': '", descr, "', 'fortran_order': False, 'shape': (", rows, ", ",
                           cols, "), }");
  // Version 1.0: magic(6) + version(2) + len(2) + header, padded with spaces to
  // a multiple of 64 and ending in '\n'.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  AtomicFile f(path);
  const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                 static_cast<unsigned char>(header.size() & 0xff),
                                 static_cast<unsigned char>(header.size() >> 8)};
  f.write(pre, sizeof pre);
  f.write(header);
  f.write(data, static_cast<size_t>(rows * cols) * elem);
  f.commit();
}

std::string lower_ext(const std::string& path) {
  std::string e = fs::path(path).extension().string();
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

}  // namespace

std::string delimited_field(const std::string& s, char sep) {
  if (sep == '\t') {
    std::string t = s;
    for (auto& c : t)
      if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    return t;
  }
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + '"';
}

namespace {

void write_delimited(const std::string& path, ConstView m, const Metadata* meta, char sep) {
  AtomicFile f(path);
  std::string line;
  const char* axes[] = {"x", "y", "z"};
  if (meta)
    for (size_t c = 0; c < meta->names.size(); ++c) line += delimited_field(meta->names[c], sep) + sep;
  for (int64_t j = 0; j < m.cols; ++j) {
    line += m.cols <= 3 ? std::string(axes[j]) : cat("d", j);
    line += j + 1 < m.cols ? sep : '\n';
  }
  f.write(line);
  char buf[32];
  for (int64_t i = 0; i < m.rows; ++i) {
    line.clear();
    if (meta)
      for (size_t c = 0; c < meta->columns.size(); ++c) line += delimited_field(meta->columns[c][i], sep) + sep;
    for (int64_t j = 0; j < m.cols; ++j) {
      // Shortest representation that reads back to the same float.
      auto r = std::to_chars(buf, buf + sizeof buf, m(i, j));
      line.append(buf, r.ptr);
      line += j + 1 < m.cols ? sep : '\n';
    }
    f.write(line);
  }
  f.commit();
}

}  // namespace

void write_npy(const std::string& path, const float* data, int64_t rows, int64_t cols) {
  write_npy_raw(path, data, "<f4", rows, cols, sizeof(float));
}

void write_npy(const std::string& path, const int32_t* data, int64_t rows, int64_t cols) {
  write_npy_raw(path, data, "<i4", rows, cols, sizeof(int32_t));
}

void write_matrix(const std::string& path, ConstView m, const Metadata* meta) {
  const std::string ext = lower_ext(path);
  if (meta && meta->empty()) meta = nullptr;
  if (ext == ".npy") {
    if (m.contiguous()) {
      write_npy(path, m.data, m.rows, m.cols);
    } else {
      Matrix c = to_matrix(m);
      write_npy(path, c.data(), c.rows(), c.cols());
    }
  } else if (ext == ".csv") {
    write_delimited(path, m, meta, ',');
  } else if (ext == ".tsv") {
    write_delimited(path, m, meta, '\t');
  } else if (ext == ".fvecs") {
    AtomicFile f(path);
    const int32_t d = checked_cast<int32_t>(m.cols);
    for (int64_t i = 0; i < m.rows; ++i) {
      f.write(&d, 4);
      f.write(m.row(i), sizeof(float) * m.cols);
    }
    f.commit();
  } else {
    throw InputError(cat(path, ": unknown output format '", ext, "' (expected .npy, .csv, .tsv or .fvecs)"));
  }
}

void write_vectors_tsv(const std::string& path, ConstView m) {
  AtomicFile f(path);
  std::string line;
  char buf[32];
  for (int64_t i = 0; i < m.rows; ++i) {
    line.clear();
    for (int64_t j = 0; j < m.cols; ++j) {
      auto r = std::to_chars(buf, buf + sizeof buf, m(i, j));
      line.append(buf, r.ptr);
      line += j + 1 < m.cols ? '\t' : '\n';
    }
    f.write(line);
  }
  f.commit();
}

void write_metadata_tsv(const std::string& path, const Metadata& meta) {
  AtomicFile f(path);
  std::string line;
  const bool header = meta.columns.size() > 1;
  if (header) {
    for (size_t c = 0; c < meta.names.size(); ++c)
      line += delimited_field(meta.names[c], '\t') + (c + 1 < meta.names.size() ? "\t" : "\n");
    f.write(line);
  }
  for (int64_t i = 0; i < meta.rows(); ++i) {
    line.clear();
    for (size_t c = 0; c < meta.columns.size(); ++c)
      line += delimited_field(meta.columns[c][i], '\t') + (c + 1 < meta.columns.size() ? "\t" : "\n");
    f.write(line);
  }
  f.commit();
}

}  // namespace prism
