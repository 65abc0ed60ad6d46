// Tree build: Morton codes, radix sort, then cells split top-down over the
// sorted codes (each child is a sub-range found by binary search on its digit).
#include "tsne/tree.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <omp.h>

#include "prism/error.hpp"

namespace prism::tsne {

namespace {

// Spreads the low 16 bits of v so that bit b lands at bit b * D (magic-number
// interleaving; no BMI2, whose pdep is microcoded on older AMD cores).
template <int D>
uint64_t spread_bits(uint64_t v) {
  v &= 0xffffu;
  if constexpr (D == 2) {
    v = (v | (v << 8)) & 0x00ff00ffu;
    v = (v | (v << 4)) & 0x0f0f0f0fu;
    v = (v | (v << 2)) & 0x33333333u;
    v = (v | (v << 1)) & 0x55555555u;
  } else {
    v = (v | (v << 16)) & 0x0000ff0000ffull;
    v = (v | (v << 8)) & 0x00f00f00f00full;
    v = (v | (v << 4)) & 0x0c30c30c30c3ull;
    v = (v | (v << 2)) & 0x249249249249ull;
  }
  return v;
}

// Trees of fewer points are built on one thread.
constexpr int64_t kParallelTreePoints = 16384;
// Buckets of the first (top-digit) pass at most this long are finished by
// insertion sort instead of radix passes.
constexpr int64_t kInsertionSortMax = 48;

/// Stable sort of (codes, ids)[lo, hi) by the code bits below `bits`,
/// ping-ponging with the scratch arrays; the result ends in (codes, ids).
void sort_bucket(uint64_t* codes, int32_t* ids, uint64_t* codes2, int32_t* ids2, int64_t lo,
                 int64_t hi, int bits) {
  const int64_t m = hi - lo;
  if (m <= 1) return;
  if (m <= kInsertionSortMax) {
    for (int64_t i = lo + 1; i < hi; ++i) {
      const uint64_t c = codes[i];
      const int32_t id = ids[i];
      int64_t j = i;
      for (; j > lo && codes[j - 1] > c; --j) {  // strict: equal codes keep their order
        codes[j] = codes[j - 1];
        ids[j] = ids[j - 1];
      }
      codes[j] = c;
      ids[j] = id;
    }
    return;
  }
  uint64_t* src = codes + lo;
  int32_t* src_id = ids + lo;
  uint64_t* dst = codes2 + lo;
  int32_t* dst_id = ids2 + lo;
  for (int shift = 0; shift < bits; shift += 8) {
    int32_t hist[256] = {};
    for (int64_t i = 0; i < m; ++i) ++hist[(src[i] >> shift) & 0xff];
    if (hist[(src[0] >> shift) & 0xff] == m) continue;  // one digit: the pass would copy
    int32_t at[256];
    int32_t sum = 0;
    for (int b = 0; b < 256; ++b) {
      at[b] = sum;
      sum += hist[b];
    }
    for (int64_t i = 0; i < m; ++i) {
      const int32_t to = at[(src[i] >> shift) & 0xff]++;
      dst[to] = src[i];
      dst_id[to] = src_id[i];
    }
    std::swap(src, dst);
    std::swap(src_id, dst_id);
  }
  if (src != codes + lo) {
    std::copy(src, src + m, codes + lo);
    std::copy(src_id, src_id + m, ids + lo);
  }
}

}  // namespace

template <int D>
void SpaceTree<D>::build(const double* y, int64_t n, int leaf_size) {
  PRISM_CHECK(n >= 1 && n <= std::numeric_limits<int32_t>::max(), "tree of ", n, " points");
  PRISM_CHECK(leaf_size >= 1, "leaf size ", leaf_size);
  leaf_size_ = leaf_size;
  const int threads = n >= kParallelTreePoints ? std::max(1, omp_get_max_threads()) : 1;

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

  // Stable sort of the points by Morton code (ties keep point order, so the
  // tree depends only on y, not on the thread count): one pass on the top 8
  // bits (each thread counts, then scatters, its own contiguous share), then
  // each of the 256 buckets sorted on its own by the remaining bits.
  codes_.resize(n);
  order_.resize(n);
  codes_tmp_.resize(n);
  order_tmp_.resize(n);
  constexpr int kCodeBits = D * kBits;
  constexpr int kTopShift = kCodeBits - 8;
  const double scale = double(1u << kBits) / side;
  const double top = double((1u << kBits) - 1);
  std::vector<int64_t> counts(static_cast<size_t>(threads) * 256, 0);
  std::vector<int64_t> bucket(257, 0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int64_t begin = n * t / threads, end = n * (t + 1) / threads;
    int64_t* count = counts.data() + t * 256;
    for (int64_t i = begin; i < end; ++i) {
      uint64_t code = 0;
      for (int d = 0; d < D; ++d) {
        const double q = std::min(std::floor((y[i * D + d] - lo[d]) * scale), top);
        // Dimension 0 takes the most significant bit of each digit.
        code |= spread_bits<D>(static_cast<uint64_t>(q)) << (D - 1 - d);
      }
      codes_[i] = code;
      ++count[code >> kTopShift];
    }
#pragma omp barrier
#pragma omp single
    {
      // Offsets: bucket by bucket, and within a bucket thread by thread.
      int64_t sum = 0;
      for (int b = 0; b < 256; ++b) {
        bucket[b] = sum;
        for (int u = 0; u < threads; ++u) {
          const int64_t c = counts[u * 256 + b];
          counts[u * 256 + b] = sum;
          sum += c;
        }
      }
      bucket[256] = sum;
    }  // implied barrier
    for (int64_t i = begin; i < end; ++i) {
      const int64_t to = count[codes_[i] >> kTopShift]++;
      codes_tmp_[to] = codes_[i];
      order_tmp_[to] = static_cast<int32_t>(i);
    }
#pragma omp barrier
#pragma omp for schedule(dynamic, 4)
    for (int b = 0; b < 256; ++b)
      sort_bucket(codes_tmp_.data(), order_tmp_.data(), codes_.data(), order_.data(), bucket[b],
                  bucket[b + 1], kTopShift);
  }
  codes_.swap(codes_tmp_);
  order_.swap(order_tmp_);

  pos_.resize(n * D);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t s = 0; s < n; ++s)
    for (int d = 0; d < D; ++d) pos_[s * D + d] = y[static_cast<int64_t>(order_[s]) * D + d];

  // Cells: the levels above kSplitLevel here, the subtrees below them in
  // parallel (each into its own array, centres of mass included), then copied
  // into one array in depth-first order.
  tasks_.clear();
  top_cells(0, static_cast<int32_t>(n), 0, side, false);
  subtrees_.resize(tasks_.size());
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (size_t t = 0; t < tasks_.size(); ++t) {
    const Task& task = tasks_[t];
    subtrees_[t].clear();
    build_node(subtrees_[t], task.begin, task.end, task.level, task.width);
    centres(subtrees_[t]);
  }
  nodes_.clear();
  top_.clear();
  next_task_ = 0;
  top_cells(0, static_cast<int32_t>(n), 0, side, true);
  // The top cells' centres from their children's, deepest first.
  for (auto it = top_.rbegin(); it != top_.rend(); ++it) centre_from_children(nodes_, *it);
}

template <int D>
template <class F>
void SpaceTree<D>::for_children(int32_t begin, int32_t end, int level, F&& f) const {
  const int shift = (kBits - 1 - level) * D;
  constexpr uint64_t kMask = (1u << D) - 1;
  int32_t b = begin;
  for (uint64_t c = 0; c <= kMask && b < end; ++c) {
    // Codes in [begin, end) share the digits above `level`, so this digit is sorted.
    const auto* e = std::partition_point(codes_.data() + b, codes_.data() + end,
                                         [&](uint64_t code) { return ((code >> shift) & kMask) <= c; });
    const auto ei = static_cast<int32_t>(e - codes_.data());
    if (ei > b) f(b, ei);
    b = ei;
  }
}

template <int D>
void SpaceTree<D>::top_cells(int32_t begin, int32_t end, int level, double width, bool emit) {
  if (level == kSplitLevel || end - begin <= leaf_size_ || level == kBits) {
    if (!emit) {
      tasks_.push_back(Task{begin, end, level, width});
      return;
    }
    const auto offset = static_cast<int32_t>(nodes_.size());
    for (Node nd : subtrees_[next_task_++]) {
      nd.skip += offset;
      nodes_.push_back(nd);
    }
    return;
  }
  const auto idx = static_cast<int32_t>(nodes_.size());
  if (emit) {
    nodes_.push_back(Node{{}, width * width, begin, end, idx + 1});
    top_.push_back(idx);
  }
  for_children(begin, end, level, [&](int32_t b, int32_t e) { top_cells(b, e, level + 1, width * 0.5, emit); });
  if (emit) nodes_[idx].skip = static_cast<int32_t>(nodes_.size());
}

template <int D>
void SpaceTree<D>::build_node(std::vector<Node>& out, int32_t begin, int32_t end, int level,
                              double width) const {
  const auto idx = static_cast<int32_t>(out.size());
  out.push_back(Node{{}, width * width, begin, end, idx + 1});
  if (end - begin <= leaf_size_ || level == kBits) return;
  for_children(begin, end, level, [&](int32_t b, int32_t e) { build_node(out, b, e, level + 1, width * 0.5); });
  out[idx].skip = static_cast<int32_t>(out.size());
}

template <int D>
void SpaceTree<D>::centre_from_children(std::vector<Node>& nodes, int64_t k) const {
  Node& nd = nodes[k];
  double c[D] = {};
  if (nd.skip == k + 1) {
    for (int32_t s = nd.begin; s < nd.end; ++s)
      for (int d = 0; d < D; ++d) c[d] += pos_[int64_t(s) * D + d];
  } else {
    for (int32_t ch = static_cast<int32_t>(k) + 1; ch < nd.skip; ch = nodes[ch].skip) {
      const double m = nodes[ch].end - nodes[ch].begin;
      for (int d = 0; d < D; ++d) c[d] += nodes[ch].com[d] * m;
    }
  }
  const double inv = 1.0 / (nd.end - nd.begin);
  for (int d = 0; d < D; ++d) nd.com[d] = c[d] * inv;
}

template <int D>
void SpaceTree<D>::centres(std::vector<Node>& nodes) const {
  // Bottom-up: children follow their parent in the array.
  for (int64_t k = static_cast<int64_t>(nodes.size()) - 1; k >= 0; --k) centre_from_children(nodes, k);
}

template class SpaceTree<2>;
template class SpaceTree<3>;

}  // namespace prism::tsne
