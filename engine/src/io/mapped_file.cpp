#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "readers.hpp"

namespace prism::io {

MappedFile::MappedFile(const std::string& path, bool populate) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  PRISM_EXPECTS(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw InputError(cat(path, ": not a regular file"));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    // MAP_POPULATE maps the (usually cached) pages in one go instead of one
    // fault per page, for readers that touch the whole file anyway.
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw RuntimeError(cat(path, ": mmap failed: ", std::strerror(errno)));
    }
    ::madvise(p, size_, MADV_SEQUENTIAL);
    data_ = static_cast<const char*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<char*>(data_), size_);
}

std::string read_maybe_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  PRISM_EXPECTS(f != nullptr, path, ": cannot open: ", std::strerror(errno));
  gzbuffer(f, 1 << 20);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int got = gzread(f, buf, sizeof buf);
    if (got < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      throw InputError(cat(path, ": corrupt or truncated gzip data after ", out.size(),
                           " decompressed bytes: ", msg));
    }
    if (got == 0) break;
    out.append(buf, static_cast<size_t>(got));
  }
  gzclose(f);
  return out;
}

}  // namespace prism::io
