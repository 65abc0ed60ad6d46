// Sources: memory-mapped files, owned buffers, gzip'd data.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "prism/memory.hpp"
#include "readers.hpp"

namespace prism::io {

MappedFile::MappedFile(const std::string& path, bool populate) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  PRISM_EXPECTS(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool dir = S_ISDIR(st.st_mode);
    ::close(fd);
    throw InputError(cat(path, dir ? ": is a folder" : ": not a regular file (pipes and devices cannot be read)",
                         " (expected a data file)"));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    // MAP_POPULATE maps the (usually cached) pages in one go instead of one
    // fault per page, for readers that touch the whole file anyway.
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw RuntimeError(cat(path, ": cannot memory-map ", human_bytes(static_cast<double>(size_)), ": ",
                             std::strerror(err),
                             err == ENOMEM ? " (an address-space limit, ulimit -v, is below the file's size?)" : ""));
    }
    ::madvise(p, size_, MADV_SEQUENTIAL);
    data_ = static_cast<const char*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<char*>(data_), size_);
}

Source Source::file(const std::string& path, bool populate) {
  auto f = std::make_shared<MappedFile>(path, populate);
  Source s;
  s.name = path;
  s.bytes = f->view();
  s.owner = f;
  s.is_file = true;
  s.mapped = true;
  return s;
}

Source Source::memory(std::string name, std::string_view bytes) {
  auto buf = std::make_shared<std::string>(bytes);
  Source s;
  s.name = std::move(name);
  s.bytes = *buf;
  s.owner = buf;
  return s;
}

Source maybe_gunzip(const Source& s) {
  if (s.size() < 2 || static_cast<unsigned char>(s.data()[0]) != 0x1f ||
      static_cast<unsigned char>(s.data()[1]) != 0x8b)
    return s;
  z_stream z{};
  // 16 + MAX_WBITS: a gzip wrapper (not raw deflate, not zlib).
  PRISM_CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, "inflateInit2 failed");
  auto out = std::make_shared<std::string>();
  size_t in_pos = 0, used = 0;
  std::string error;
  for (;;) {
    if (used == out->size()) {
      const size_t grow = std::max<size_t>(used, size_t{1} << 16);
      require_memory(static_cast<int64_t>(used + grow), cat("decompressing ", s.name),
                     "decompress it first (gunzip) so that it can be memory-mapped");
      out->resize(used + grow);
    }
    const size_t in_chunk = std::min<size_t>(s.size() - in_pos, size_t{1} << 30);
    const size_t out_chunk = std::min<size_t>(out->size() - used, size_t{1} << 30);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data() + in_pos));
    z.avail_in = static_cast<uInt>(in_chunk);
    z.next_out = reinterpret_cast<Bytef*>(out->data() + used);
    z.avail_out = static_cast<uInt>(out_chunk);
    const int rc = inflate(&z, Z_NO_FLUSH);
    in_pos += in_chunk - z.avail_in;
    used += out_chunk - z.avail_out;
    if (rc == Z_STREAM_END) {
      // Another member may follow (gzip'd files concatenated); trailing zeros are padding.
      while (in_pos < s.size() && s.data()[in_pos] == 0) ++in_pos;
      if (in_pos >= s.size()) break;
      PRISM_CHECK(inflateReset(&z) == Z_OK, "inflateReset failed");
    } else if (rc == Z_BUF_ERROR && in_pos >= s.size()) {
      error = "the stream ends early (truncated file?)";
      break;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      error = z.msg ? z.msg : cat("zlib error ", rc);
      break;
    }
  }
  inflateEnd(&z);
  if (!error.empty())
    throw InputError(cat(s.name, " byte offset ", in_pos, ": corrupt or truncated gzip data after ", used,
                         " decompressed bytes: ", error));
  out->resize(used);
  out->shrink_to_fit();
  Source d;
  d.name = s.name;
  d.bytes = *out;
  d.owner = out;
  d.is_file = s.is_file;
  return d;
}

}  // namespace prism::io
