// SHA-256 for batch manifests, through OpenSSL's libcrypto (EVP digests).
#include <openssl/evp.h>

#include <cstdio>
#include <memory>

#include "readers.hpp"

namespace prism {
namespace {

/// Incremental SHA-256: the file is hashed in pieces so that a large mapped
/// file is read once, sequentially.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    PRISM_CHECK(ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1, "EVP SHA-256 init failed");
  }
  void update(std::string_view bytes) {
    PRISM_CHECK(EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) == 1, "EVP SHA-256 update failed");
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    PRISM_CHECK(EVP_DigestFinal_ex(ctx_.get(), md, &len) == 1, "EVP SHA-256 final failed");
    std::string out(2 * len, '0');
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
      out[2 * i] = digits[md[i] >> 4];
      out[2 * i + 1] = digits[md[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

}  // namespace

std::string sha256_bytes(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

std::string sha256_file(const std::string& path) {
  const io::MappedFile f(path);
  Sha256 h;
  constexpr size_t kPiece = size_t{64} << 20;
  for (size_t at = 0; at < f.size(); at += kPiece) h.update(f.view().substr(at, kPiece));
  return h.hex();
}

}  // namespace prism
