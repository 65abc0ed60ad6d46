// Tree build: Morton codes, radix sort, then cells split top-down over the
// sorted codes (each child is a sub-range found by binary search on its digit).
#include "tsne/tree.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "prism/error.hpp"

namespace prism::tsne {

namespace {

// Spreads the low 16 bits of v so that bit b lands at bit b * D.
template <int D>
uint64_t spread_bits(uint64_t v) {
  uint64_t r = 0;
  for (int b = 0; b < 16; ++b) r |= ((v >> b) & 1u) << (b * D);
  return r;
}

}  // namespace

template <int D>
void SpaceTree<D>::build(const double* y, int64_t n, int leaf_size) {
  PRISM_CHECK(n >= 1 && n <= std::numeric_limits<int32_t>::max(), "tree of ", n, " points");
  PRISM_CHECK(leaf_size >= 1, "leaf size ", leaf_size);
  leaf_size_ = leaf_size;

  double lo[D], hi[D];
  for (int d = 0; d < D; ++d) lo[d] = hi[d] = y[d];
  for (int64_t i = 1; i < n; ++i)
    for (int d = 0; d < D; ++d) {
      lo[d] = std::min(lo[d], y[i * D + d]);
      hi[d] = std::max(hi[d], y[i * D + d]);
    }
  // One square/cube root cell (the criterion needs a single width per cell).
  double side = 0;
  for (int d = 0; d < D; ++d) side = std::max(side, hi[d] - lo[d]);
  if (!(side > 0)) side = 1;  // all points coincide: one leaf holds them all
  PRISM_CHECK(std::isfinite(side), "embedding has non-finite coordinates");

  codes_.resize(n);
  order_.resize(n);
  const double scale = double(1u << kBits) / side;
  const double top = double((1u << kBits) - 1);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t code = 0;
    for (int d = 0; d < D; ++d) {
      const double q = std::min(std::floor((y[i * D + d] - lo[d]) * scale), top);
      // Dimension 0 takes the most significant bit of each digit.
      code |= spread_bits<D>(static_cast<uint64_t>(q)) << (D - 1 - d);
    }
    codes_[i] = code;
    order_[i] = static_cast<int32_t>(i);
  }

  // LSD radix sort, 8 bits a pass (stable: ties keep point order, so the
  // tree depends only on y).
  codes_tmp_.resize(n);
  order_tmp_.resize(n);
  constexpr int kPasses = (D * kBits + 7) / 8;
  for (int pass = 0; pass < kPasses; ++pass) {
    const int shift = pass * 8;
    int64_t hist[257] = {};
    for (int64_t i = 0; i < n; ++i) ++hist[((codes_[i] >> shift) & 0xff) + 1];
    for (int b = 0; b < 256; ++b) hist[b + 1] += hist[b];
    for (int64_t i = 0; i < n; ++i) {
      const int64_t at = hist[(codes_[i] >> shift) & 0xff]++;
      codes_tmp_[at] = codes_[i];
      order_tmp_[at] = order_[i];
    }
    codes_.swap(codes_tmp_);
    order_.swap(order_tmp_);
  }

  pos_.resize(n * D);
  for (int64_t s = 0; s < n; ++s)
    for (int d = 0; d < D; ++d) pos_[s * D + d] = y[static_cast<int64_t>(order_[s]) * D + d];

  nodes_.clear();
  build_node(0, static_cast<int32_t>(n), 0, side);

  // Centres of mass bottom-up: children follow their parent in the array.
  for (int64_t k = static_cast<int64_t>(nodes_.size()) - 1; k >= 0; --k) {
    Node& nd = nodes_[k];
    double c[D] = {};
    if (nd.skip == k + 1) {
      for (int32_t s = nd.begin; s < nd.end; ++s)
        for (int d = 0; d < D; ++d) c[d] += pos_[int64_t(s) * D + d];
    } else {
      for (int32_t ch = static_cast<int32_t>(k) + 1; ch < nd.skip; ch = nodes_[ch].skip) {
        const double m = nodes_[ch].end - nodes_[ch].begin;
        for (int d = 0; d < D; ++d) c[d] += nodes_[ch].com[d] * m;
      }
    }
    const double inv = 1.0 / (nd.end - nd.begin);
    for (int d = 0; d < D; ++d) nd.com[d] = c[d] * inv;
  }
}

template <int D>
void SpaceTree<D>::build_node(int32_t begin, int32_t end, int level, double width) {
  const auto idx = static_cast<int32_t>(nodes_.size());
  nodes_.push_back(Node{{}, width * width, begin, end, idx + 1});
  if (end - begin <= leaf_size_ || level == kBits) return;
  const int shift = (kBits - 1 - level) * D;
  constexpr uint64_t kMask = (1u << D) - 1;
  int32_t b = begin;
  for (uint64_t c = 0; c <= kMask && b < end; ++c) {
    // Codes in [begin, end) share the digits above `level`, so this digit is sorted.
    const auto* e = std::partition_point(codes_.data() + b, codes_.data() + end,
                                         [&](uint64_t code) { return ((code >> shift) & kMask) <= c; });
    const auto ei = static_cast<int32_t>(e - codes_.data());
    if (ei > b) build_node(b, ei, level + 1, width * 0.5);
    b = ei;
  }
  nodes_[idx].skip = static_cast<int32_t>(nodes_.size());
}

template class SpaceTree<2>;
template class SpaceTree<3>;

}  // namespace prism::tsne
