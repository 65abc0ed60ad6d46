// NN-descent, following pynndescent's structure (rp_trees.py, pynndescent_.py):
//   1. a forest of random-projection trees gives every point a first list from
//      the points sharing its leaves;
//   2. each iteration samples up to max_candidates "new" (not yet joined) and
//      "old" neighbours and reverse neighbours per point, then joins them
//      pairwise (new x new, new x old): a neighbour's neighbour close enough to
//      enter either list is an update;
//   3. it stops when an iteration changes fewer than delta * n * k entries.
//
// Reproducibility: the join runs in blocks of points. Within a block, the
// distance work is spread over threads but only *proposes* updates, reading
// lists that nobody writes; the proposals are then applied by owner threads
// (each owns a fixed range of points) in the order of the proposing point.
// Every list therefore sees the same pushes in the same order however many
// threads run, and candidate sampling uses a hash of (seed, iteration, pair)
// instead of a shared generator, so the result does not depend on the
// schedule or on the thread count.
#include "prism/random.hpp"
#include "knn/nndescent.hpp"

#include <cblas.h>
#include <omp.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <limits>
#include <numeric>

#include "knn/distance.hpp"

namespace prism::knn_detail {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// Points per join block: smaller blocks see fresher admission thresholds (fewer
// useless proposals) but synchronise more often.
constexpr int64_t kJoinBlock = 8192;


// A small deterministic generator for per-tree and per-point streams.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(splitmix64(seed)) {}
  uint64_t next() { return s = splitmix64(s); }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
};

// Row views of the lists.
struct Row {
  int32_t* idx;
  float* dist;
  uint8_t* fresh;
  int k;
};

Row row(NeighborLists& g, int64_t i) {
  const int64_t o = i * g.k;
  return {g.idx.data() + o, g.dist.data() + o, g.fresh.data() + o, g.k};
}

// Pushes j at squared distance d into the row's max-heap when it is closer than
// the farthest entry and not already present. Returns whether the row changed.
bool push(Row r, int32_t j, float d, uint8_t fresh) {
  if (!(d < r.dist[0])) return false;
  for (int s = 0; s < r.k; ++s)
    if (r.idx[s] == j) return false;
  int pos = 0;
  for (;;) {
    const int l = 2 * pos + 1;
    if (l >= r.k) break;
    const int c = (l + 1 < r.k && r.dist[l + 1] > r.dist[l]) ? l + 1 : l;
    if (!(r.dist[c] > d)) break;
    r.idx[pos] = r.idx[c];
    r.dist[pos] = r.dist[c];
    r.fresh[pos] = r.fresh[c];
    pos = c;
  }
  r.idx[pos] = j;
  r.dist[pos] = d;
  r.fresh[pos] = fresh;
  return true;
}

// push() for an id known not to be in the row: no duplicate scan (k2 = 90
// with ~900 candidates would spend more time scanning than measuring).
void push_new(Row r, int32_t j, float d) {
  int pos = 0;
  for (;;) {
    const int l = 2 * pos + 1;
    if (l >= r.k) break;
    const int c = (l + 1 < r.k && r.dist[l + 1] > r.dist[l]) ? l + 1 : l;
    if (!(r.dist[c] > d)) break;
    r.idx[pos] = r.idx[c];
    r.dist[pos] = r.dist[c];
    r.fresh[pos] = r.fresh[c];
    pos = c;
  }
  r.idx[pos] = j;
  r.dist[pos] = d;
  r.fresh[pos] = 1;
}

// Whether j is among the k ids at r (AVX2: eight at a time, the tail masked).
inline bool contains(const int32_t* r, int k, int32_t j) {
#if defined(__AVX2__)
  const __m256i v = _mm256_set1_epi32(j);
  int s = 0;
  __m256i hit = _mm256_setzero_si256();
  for (; s + 8 <= k; s += 8)
    hit = _mm256_or_si256(hit, _mm256_cmpeq_epi32(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + s))));
  if (s < k) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(k - s), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    hit = _mm256_or_si256(hit, _mm256_and_si256(mask, _mm256_cmpeq_epi32(v, _mm256_maskload_epi32(r + s, mask))));
  }
  return !_mm256_testz_si256(hit, hit);
#else
  bool found = false;
  for (int s = 0; s < k; ++s) found |= r[s] == j;
  return found;
#endif
}

// Restores the max-heap order of a row (after entries were placed directly).
void heapify(Row r) {
  std::vector<int> order(r.k);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return r.dist[a] != r.dist[b] ? r.dist[a] > r.dist[b] : r.idx[a] < r.idx[b];
  });
  // Descending order is a valid max-heap.
  std::vector<int32_t> idx(r.k);
  std::vector<float> dist(r.k);
  std::vector<uint8_t> fresh(r.k);
  for (int s = 0; s < r.k; ++s) {
    idx[s] = r.idx[order[s]];
    dist[s] = r.dist[order[s]];
    fresh[s] = r.fresh[order[s]];
  }
  std::copy(idx.begin(), idx.end(), r.idx);
  std::copy(dist.begin(), dist.end(), r.dist);
  std::copy(fresh.begin(), fresh.end(), r.fresh);
}

// ---- 1. random-projection forest ------------------------------------------

struct RpTree {
  std::vector<int32_t> perm;        // points, grouped leaf by leaf
  std::vector<int32_t> leaf_of;     // point -> leaf
  std::vector<int64_t> leaf_begin;  // leaf -> [begin, end) in perm
  std::vector<int64_t> leaf_end;
};

// Splits by the hyperplane halfway between two random points of the node (the
// Euclidean split of pynndescent's make_euclidean_tree); points on the plane,
// and nodes whose points all fall on one side (duplicates), split at random.
RpTree build_tree(const Points& x, int leaf_size, uint64_t seed, int cols) {
  const int64_t n = x.rows(), d = cols > 0 ? std::min<int64_t>(cols, x.dims()) : x.dims();
  RpTree t;
  t.perm.resize(n);
  std::iota(t.perm.begin(), t.perm.end(), 0);
  t.leaf_of.assign(n, -1);
  Rng rng(seed);
  std::vector<float> normal(d), xa(d), xc(d);
  std::vector<uint8_t> left(n);  // by point id
  std::vector<std::pair<int64_t, int64_t>> stack{{0, n}};
  while (!stack.empty()) {
    const auto [b, e] = stack.back();
    stack.pop_back();
    const int64_t size = e - b;
    if (size <= leaf_size) {
      const auto leaf = static_cast<int32_t>(t.leaf_begin.size());
      t.leaf_begin.push_back(b);
      t.leaf_end.push_back(e);
      for (int64_t s = b; s < e; ++s) t.leaf_of[t.perm[s]] = leaf;
      continue;
    }
    const int64_t ia = rng.below(size);
    int64_t ic = rng.below(size - 1);
    ic += ic >= ia;
    x.decode(t.perm[b + ia], xa.data(), d);
    x.decode(t.perm[b + ic], xc.data(), d);
    float offset = 0.0f;
    for (int64_t j = 0; j < d; ++j) {
      normal[j] = xa[j] - xc[j];
      offset += normal[j] * 0.5f * (xa[j] + xc[j]);
    }
    int64_t n_left = 0;
    for (int64_t s = b; s < e; ++s) {
      const float m = x.proj(normal.data(), t.perm[s], d) - offset;
      const int32_t q = t.perm[s];
      left[q] = m > 0.0f || (m == 0.0f && (rng.next() & 1));
      n_left += left[q];
    }
    int64_t mid;
    if (n_left == 0 || n_left == size) {
      mid = b + size / 2;  // degenerate: all points on one side
    } else {
      std::stable_partition(t.perm.begin() + b, t.perm.begin() + e,
                            [&](int32_t q) { return left[q] != 0; });
      mid = b + n_left;
    }
    stack.push_back({mid, e});
    stack.push_back({b, mid});
  }
  return t;
}

// Fills every list from the points sharing its leaves, then at random where
// the leaves were too small.
//
// Leaf by leaf, as pynndescent's init_rp_tree does: all pairs of a leaf are
// measured while its rows sit in cache, and each pair updates both lists.
// Point by point instead (each point against its leaf-mates in every tree)
// fetched the scattered leaves of the other trees for every point: 350 KB of
// rows per point at D = 384, two thirds of the whole kNN time on 74k text
// vectors. Leaves of one tree are disjoint, so a tree's leaves run in
// parallel without conflicts, and every list sees the same pushes in the
// same order whatever the thread count.
void init_from_forest(const Points& x, const NndParams& p, NeighborLists& g) {
  const int64_t n = x.rows();
  std::vector<RpTree> forest(p.n_trees);
#pragma omp parallel for schedule(dynamic, 1)
  for (int t = 0; t < p.n_trees; ++t)
    forest[t] = build_tree(x, p.leaf_size, p.seed * 0x632BE59BD9B4E019ULL + 1000003ULL * t + 17, p.tree_columns);

  std::fill(g.idx.begin(), g.idx.end(), -1);
  std::fill(g.dist.begin(), g.dist.end(), kInf);
  std::fill(g.fresh.begin(), g.fresh.end(), uint8_t{1});
  for (const RpTree& t : forest) {
    const auto leaves = static_cast<int64_t>(t.leaf_begin.size());
#pragma omp parallel
    {
#pragma omp for schedule(dynamic, 16)
      for (int64_t l = 0; l < leaves; ++l) {
        const int64_t b = t.leaf_begin[l], m = t.leaf_end[l] - b;
        const int32_t* pts = t.perm.data() + b;
        for (int64_t u = 0; u < m; ++u) x.prefetch(pts[u]);
        // Once the lists are full (after the first tree), a pair only needs
        // measuring up to the larger of the two lists' thresholds.
        for (int64_t u = 0; u < m; ++u) {
          Row ru = row(g, pts[u]);
          for (int64_t v = u + 1; v < m; ++v) {
            Row rv = row(g, pts[v]);
            const float bound = std::max(ru.dist[0], rv.dist[0]);
            const float d = x.dist_below(pts[u], pts[v], bound);
            if (d < ru.dist[0]) push(ru, pts[v], d, 1);
            if (d < rv.dist[0]) push(rv, pts[u], d, 1);
          }
        }
      }
    }
  }

#pragma omp parallel
  {
    std::vector<int64_t> seen(n, -1);  // seen[q] == i: q already tried for point i
#pragma omp for schedule(dynamic, 256)
    for (int64_t i = 0; i < n; ++i) {
      Row r = row(g, i);
      if (r.dist[0] < kInf) continue;  // full: the root is the farthest entry
      seen[i] = i;
      for (int s = 0; s < r.k; ++s)
        if (r.idx[s] >= 0) seen[r.idx[s]] = i;
      Rng rng(p.seed ^ splitmix64(static_cast<uint64_t>(i) + 0x51ED2701ULL));
      for (int tries = 0; tries < 4 * r.k && r.dist[0] == kInf; ++tries) {
        const auto q = static_cast<int32_t>(rng.below(n));
        if (seen[q] == i) continue;
        seen[q] = i;
        push(r, q, x.dist(i, q), 1);
      }
      // Non-finite distances never enter a heap; place any points in the gaps.
      bool placed = false;
      for (int64_t q = 0, s = 0; s < r.k && q < n; ++s) {
        if (r.idx[s] >= 0) continue;
        while (q < n && (q == i || std::find(r.idx, r.idx + r.k, q) != r.idx + r.k)) ++q;
        if (q < n) {
          r.idx[s] = static_cast<int32_t>(q);
          r.dist[s] = x.dist(i, q);
          placed = true;
        }
      }
      if (placed) heapify(r);
    }
  }
}

// ---- 2. candidate sampling ------------------------------------------------

// Per-point bounded max-heaps of keys (priority << 32 | point id): keeping the
// max_candidates smallest keys samples neighbours uniformly, and the result is
// the same whatever order the keys arrive in.
struct Candidates {
  int mc = 0;
  std::vector<uint64_t> keys;
  std::vector<int32_t> ids;  // the low halves of keys, for vectorised membership tests
  std::vector<int32_t> count;

  void reset(int64_t n, int m) {
    mc = m;
    keys.resize(static_cast<size_t>(n) * m);
    ids.resize(static_cast<size_t>(n) * m);
    count.assign(n, 0);
  }
  void add(int64_t i, uint64_t key) {
    uint64_t* h = keys.data() + i * mc;
    int32_t* hi = ids.data() + i * mc;
    int& c = count[i];
    if (c == mc && key >= h[0]) return;
    const auto id = static_cast<int32_t>(static_cast<uint32_t>(key));
    if (knn_detail::contains(hi, c, id)) return;
    if (c < mc) {  // sift up
      int pos = c++;
      while (pos > 0) {
        const int parent = (pos - 1) / 2;
        if (!(h[parent] < key)) break;
        h[pos] = h[parent];
        hi[pos] = hi[parent];
        pos = parent;
      }
      h[pos] = key;
      hi[pos] = id;
    } else {  // replace the root, sift down
      int pos = 0;
      for (;;) {
        const int l = 2 * pos + 1;
        if (l >= mc) break;
        const int ch = (l + 1 < mc && h[l + 1] > h[l]) ? l + 1 : l;
        if (!(h[ch] > key)) break;
        h[pos] = h[ch];
        hi[pos] = hi[ch];
        pos = ch;
      }
      h[pos] = key;
      hi[pos] = id;
    }
  }
  int32_t id(int64_t i, int s) const { return ids[i * mc + s]; }
  bool contains(int64_t i, int32_t j) const { return knn_detail::contains(ids.data() + i * mc, count[i], j); }
};

// Whether point j belongs to thread t of nt inside a parallel region: stripes
// of 64 points dealt round-robin. The points are in a locality order, so a
// join block's updates go to points near the block; contiguous halves would
// hand nearly all of them to one thread.
inline bool owns(int64_t j, int t, int nt) {
  return static_cast<uint32_t>(j >> 6) % static_cast<uint32_t>(nt) == static_cast<uint32_t>(t);
}

void sample_candidates(NeighborLists& g, uint64_t seed, int iteration, Candidates& fresh,
                       Candidates& old) {
  const int64_t n = g.n;
  const int k = g.k;
  const uint64_t salt = splitmix64(seed ^ (0xA24BAED4963EE407ULL * (iteration + 1)));
  // New candidates first, then old ones for the points that got a new one:
  // the join pairs a point's new candidates with each other and with its old
  // ones, so a point without new candidates needs no old ones (most points,
  // once the graph has nearly converged; pynndescent's active set).
  for (int phase = 0; phase < 2; ++phase) {
    const uint8_t want = phase == 0 ? 1 : 0;
    Candidates& c = phase == 0 ? fresh : old;
#pragma omp parallel
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      for (int64_t i = 0; i < n; ++i) {
        const bool mine_i = owns(i, t, nt);
        for (int s = 0; s < k; ++s) {
          const int32_t j = g.idx[i * k + s];
          if (j < 0 || g.fresh[i * k + s] != want) continue;
          const bool add_i = mine_i && (want || fresh.count[i] > 0);
          const bool add_j = owns(j, t, nt) && (want || fresh.count[j] > 0);
          if (!add_i && !add_j) continue;
          // The same priority both ways, so a pair is sampled for i and j alike.
          const uint64_t a = std::min<int64_t>(i, j), b = std::max<int64_t>(i, j);
          const uint64_t prio = splitmix64(salt ^ (a * 0x9E3779B97F4A7C15ULL + b)) >> 32;
          if (add_i) c.add(i, prio << 32 | static_cast<uint32_t>(j));
          if (add_j) c.add(j, prio << 32 | static_cast<uint32_t>(i));
        }
      }
    }
  }
  // Entries sampled as new are joined this iteration: they become old.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    for (int s = 0; s < k; ++s)
      if (g.fresh[i * k + s] && fresh.contains(i, g.idx[i * k + s])) g.fresh[i * k + s] = 0;
}

// ---- 3. local join ----------------------------------------------------------

// b may enter a's list (to_a) and/or a may enter b's list (to_b), judged by
// the lists' admission thresholds at the start of the block.
struct Proposal {
  int32_t a, b;
  float d;
  bool to_a, to_b;
};

// The proposals of one join block: each thread appends to its own buffer;
// `at` remembers where each point's run starts, so that they can be applied
// in point order (streaming through a few buffers, not chasing one heap
// allocation per point, which cost 40% of the descent).
struct ProposalBlock {
  std::vector<std::vector<Proposal>> by_thread;
  std::vector<int32_t> thread, begin, count;  // per point of the block
  explicit ProposalBlock(int64_t points)
      : by_thread(omp_get_max_threads()), thread(points), begin(points), count(points) {}
};

int64_t local_join(const Points& x, NeighborLists& g, const Candidates& fresh, const Candidates& old,
                   ProposalBlock& pb, const ProgressScope* stop) {
  const int64_t n = g.n;
  const int k = g.k;
  int64_t changed = 0;
  for (int64_t b0 = 0; b0 < n; b0 += kJoinBlock) {
    if (stop) stop->check();  // Ctrl-C within a block of points, outside the parallel region
    const int64_t b1 = std::min(n, b0 + kJoinBlock);
#pragma omp parallel
    {
      const int tid = omp_get_thread_num();
      std::vector<Proposal>& out = pb.by_thread[tid];
      out.clear();
#pragma omp for schedule(dynamic, 32)
      for (int64_t i = b0; i < b1; ++i) {
        const auto start = static_cast<int32_t>(out.size());
        const int nn = fresh.count[i], no = old.count[i];
        // The next point's candidates are fetched while this one's are
        // joined: their rows' leading columns and their lists.
        if (i + 1 < b1) {
          auto ahead = [&](int32_t q) {
            x.prefetch_head(q);
            __builtin_prefetch(g.idx.data() + int64_t{q} * k);
            __builtin_prefetch(g.dist.data() + int64_t{q} * k);
          };
          for (int s = 0; s < fresh.count[i + 1]; ++s) ahead(fresh.id(i + 1, s));
          for (int s = 0; s < old.count[i + 1]; ++s) ahead(old.id(i + 1, s));
        }
        // Pairs already in each other's lists are what most joins find once
        // the graph is close: proposing them anyway (the list would reject
        // them) made the update pass the most expensive part of the descent.
        auto listed = [&](int32_t a, int32_t b) { return contains(g.idx.data() + int64_t{a} * k, k, b); };
        auto join = [&](int32_t p, float tp, int32_t q) {
          const bool in_p = listed(p, q), in_q = listed(q, p);
          if (in_p && in_q) return;
          const float tq = g.dist[q * k];
          const float dd = x.dist_below(p, q, in_p ? tq : in_q ? tp : std::max(tp, tq));
          const bool to_p = !in_p && dd < tp, to_q = !in_q && dd < tq;
          if (to_p || to_q) out.push_back({p, q, dd, to_p, to_q});
        };
        for (int s = 0; s < nn; ++s) {
          const int32_t p = fresh.id(i, s);
          const float tp = g.dist[p * k];
          for (int t = s + 1; t < nn; ++t) join(p, tp, fresh.id(i, t));
          for (int t = 0; t < no; ++t)
            if (old.id(i, t) != p) join(p, tp, old.id(i, t));
        }
        pb.thread[i - b0] = tid;
        pb.begin[i - b0] = start;
        pb.count[i - b0] = static_cast<int32_t>(out.size()) - start;
      }
    }
#pragma omp parallel reduction(+ : changed)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      for (int64_t i = b0; i < b1; ++i) {
        const Proposal* u = pb.by_thread[pb.thread[i - b0]].data() + pb.begin[i - b0];
        for (int c = 0; c < pb.count[i - b0]; ++c, ++u) {
          if (u->to_a && owns(u->a, t, nt)) changed += push(row(g, u->a), u->b, u->d, 1);
          if (u->to_b && owns(u->b, t, nt)) changed += push(row(g, u->b), u->a, u->d, 1);
        }
      }
    }
  }
  return changed;
}

}  // namespace

namespace {
float inv_norm_of(const float* r, int64_t d) {
  double s = 0;
  for (int64_t j = 0; j < d; ++j) s += double(r[j]) * r[j];
  return s > 0 ? static_cast<float>(1.0 / std::sqrt(s)) : 0.0f;
}
}  // namespace

HalfFit half_fit(ConstView x, bool unit) {
  const int64_t n = x.rows, d = x.cols;
  HalfFit f;
  std::vector<double> sum(d, 0.0);
#pragma omp parallel
  {
    std::vector<double> part(d, 0.0);
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < n; ++i) {
      const float* r = x.row(i);
      const double s = unit ? inv_norm_of(r, d) : 1.0;
      for (int64_t j = 0; j < d; ++j) part[j] += r[j] * s;
    }
#pragma omp critical(prism_half_fit)
    for (int64_t j = 0; j < d; ++j) sum[j] += part[j];
  }
  f.mean.resize(d);
  for (int64_t j = 0; j < d; ++j) f.mean[j] = static_cast<float>(sum[j] / std::max<int64_t>(n, 1));
  float vmax = 0, nmax = 0;
  double sq = 0;
#pragma omp parallel for schedule(static) reduction(max : vmax, nmax) reduction(+ : sq)
  for (int64_t i = 0; i < n; ++i) {
    const float* r = x.row(i);
    const float s = unit ? inv_norm_of(r, d) : 1.0f;
    double row_sq = 0;
    for (int64_t j = 0; j < d; ++j) {
      const float v = r[j] * s - f.mean[j];
      vmax = std::max(vmax, std::abs(v));
      row_sq += double(v) * v;
    }
    sq += row_sq;
    nmax = std::max(nmax, static_cast<float>(std::sqrt(row_sq)));
  }
  f.max_abs = vmax;
  f.max_norm = nmax;
  f.rms = std::sqrt(sq / std::max<double>(1.0, double(n) * d));
  return f;
}

HalfRows to_half(ConstView x, const std::vector<int32_t>& order, bool unit, const HalfFit& fit,
                 const float* rotation) {
  const int64_t n = order.empty() ? x.rows : static_cast<int64_t>(order.size());
  const int64_t d = x.cols;
  HalfRows h;
  h.n = n;
  h.d = (d + 7) / 8 * 8;
  h.h.resize(static_cast<size_t>(checked_mul(n, h.d)));
  // A rotated component is at most the row's centred norm.
  const float top = rotation ? fit.max_norm : fit.max_abs;
  h.scale = top > 0 ? std::ldexp(1.0f, 13 - std::ilogb(top)) : 1.0f;
  auto convert = [&](int64_t i, const float* r, float s) {
    uint16_t* o = h.h.data() + i * h.d;
    for (int64_t j = 0; j < d; ++j) o[j] = float_to_half(r[j] * s);
    for (int64_t j = d; j < h.d; ++j) o[j] = 0;
  };
  auto source = [&](int64_t i) { return x.row(order.empty() ? i : order[i]); };
  if (!rotation) {
#pragma omp parallel
    {
      std::vector<float> c(d);
#pragma omp for schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        const float* r = source(i);
        const float s = unit ? inv_norm_of(r, d) : 1.0f;
        for (int64_t j = 0; j < d; ++j) c[j] = r[j] * s - fit.mean[j];
        convert(i, c.data(), h.scale);
      }
    }
    return h;
  }
  // Blocks of rows: gathered and centred in parallel, rotated by one
  // (multi-threaded) GEMM each, converted in parallel.
  const int64_t block = std::max<int64_t>(256, (int64_t{4} << 20) / std::max<int64_t>(d, 1));
  std::vector<float> in(static_cast<size_t>(std::min(n, block) * d)), out(in.size());
  for (int64_t b = 0; b < n; b += block) {
    const int64_t e = std::min(n, b + block);
#pragma omp parallel for schedule(static)
    for (int64_t i = b; i < e; ++i) {
      const float* r = source(i);
      const float s = unit ? inv_norm_of(r, d) : 1.0f;
      float* c = in.data() + (i - b) * d;
      for (int64_t j = 0; j < d; ++j) c[j] = r[j] * s - fit.mean[j];
    }
    // out = in R^T: column c of a row is its coordinate on axis c.
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(e - b), static_cast<int>(d),
                static_cast<int>(d), 1.0f, in.data(), static_cast<int>(d), rotation, static_cast<int>(d),
                0.0f, out.data(), static_cast<int>(d));
#pragma omp parallel for schedule(static)
    for (int64_t i = b; i < e; ++i) convert(i, out.data() + (i - b) * d, h.scale);
  }
  return h;
}

void permute_in_place(HalfRows& h, const std::vector<int32_t>& order) {
  PRISM_CHECK(static_cast<int64_t>(order.size()) == h.n, "permute_in_place: bad order");
  // Row i becomes old row order[i], cycle by cycle, with one row of scratch.
  std::vector<uint8_t> done(h.n, 0);
  std::vector<uint16_t> tmp(h.d);
  uint16_t* base = h.h.data();
  for (int64_t i = 0; i < h.n; ++i) {
    if (done[i]) continue;
    std::copy(base + i * h.d, base + (i + 1) * h.d, tmp.data());
    int64_t j = i;
    for (;;) {
      done[j] = 1;
      const int64_t from = order[j];
      if (from == i) {
        std::copy(tmp.begin(), tmp.end(), base + j * h.d);
        break;
      }
      std::copy(base + from * h.d, base + (from + 1) * h.d, base + j * h.d);
      j = from;
    }
  }
}

std::vector<int32_t> locality_order(const Points& x, int leaf_size, uint64_t seed, int columns) {
  return build_tree(x, leaf_size, seed ^ 0x2545F4914F6CDD1DULL, columns).perm;
}

NeighborLists forest_init(const Points& x, const NndParams& p) {
  PRISM_CHECK(x.rows() > p.k + 1, "NN-descent needs more than k + 1 rows");
  PRISM_CHECK(x.rows() <= std::numeric_limits<int32_t>::max(), "too many rows");
  NeighborLists g;
  g.n = x.rows();
  g.k = p.k;
  const size_t total = static_cast<size_t>(checked_mul(g.n, g.k));
  g.idx.resize(total);
  g.dist.resize(total);
  g.fresh.resize(total);
  init_from_forest(x, p, g);
  return g;
}

int descend(const Points& x, NeighborLists& g, const NndParams& p, ProgressScope* progress,
            int64_t progress_base) {
  PRISM_CHECK(x.rows() == g.n, "lists and data disagree on the row count");
  Candidates fresh, old;
  ProposalBlock proposals(std::min<int64_t>(g.n, kJoinBlock));
  const int mc = std::min(p.max_candidates, g.k);
  int it = 0;
  while (it < p.max_iters) {
    fresh.reset(g.n, mc);
    old.reset(g.n, mc);
    sample_candidates(g, p.seed, it, fresh, old);
    const int64_t changed = local_join(x, g, fresh, old, proposals, progress);
    ++it;
    if (progress) progress->update(progress_base + it);
    if (static_cast<double>(changed) <= p.delta * static_cast<double>(g.n) * g.k) break;
  }
  return it;
}

NeighborLists expand_lists(const Points& x, const NeighborLists& g, int k2, int reverse) {
  PRISM_CHECK(x.rows() == g.n && k2 >= 1 && k2 < g.n && reverse >= 0, "expand_lists: bad sizes");
  const int64_t n = g.n;
  const int k = g.k;
  // Reverse lists, at most `reverse` per point (the first listers by number),
  // in CSR form: rev[roff[q] .. roff[q + 1]) list q.
  std::vector<int64_t> roff;
  std::vector<int32_t> rev;
  if (reverse > 0) {
    std::vector<int32_t> count(n, 0);
    for (const int32_t q : g.idx)
      if (q >= 0 && count[q] < reverse) ++count[q];
    roff.assign(n + 1, 0);
    for (int64_t q = 0; q < n; ++q) roff[q + 1] = roff[q] + count[q];
    rev.resize(static_cast<size_t>(roff[n]));
    std::fill(count.begin(), count.end(), 0);
    for (int64_t i = 0; i < n; ++i)
      for (int s = 0; s < k; ++s) {
        const int32_t q = g.idx[i * k + s];
        if (q >= 0 && count[q] < reverse) rev[roff[q] + count[q]++] = static_cast<int32_t>(i);
      }
  }
  NeighborLists out;
  out.n = n;
  out.k = k2;
  const size_t total = static_cast<size_t>(checked_mul(n, k2));
  out.idx.resize(total);
  out.dist.resize(total);
  out.fresh.assign(total, 1);
#pragma omp parallel
  {
    std::vector<int64_t> seen(n, -1);  // seen[q] == i: q already measured for point i
    std::vector<int32_t> cand;
#pragma omp for schedule(dynamic, 256)
    for (int64_t i = 0; i < n; ++i) {
      Row r = row(out, i);
      std::fill(r.idx, r.idx + k2, -1);
      std::fill(r.dist, r.dist + k2, kInf);
      seen[i] = i;
      cand.clear();
      auto hop = [&](int32_t j) {
        if (j < 0) return;
        if (seen[j] != i) seen[j] = i, cand.push_back(j);
        const int32_t* nj = g.idx.data() + int64_t{j} * k;
        for (int t = 0; t < k; ++t) {
          const int32_t q = nj[t];
          if (q >= 0 && seen[q] != i) seen[q] = i, cand.push_back(q);
        }
      };
      const int32_t* ni = g.idx.data() + i * k;
      for (int s = 0; s < k; ++s) hop(ni[s]);
      if (reverse > 0)
        for (int64_t e = roff[i]; e < roff[i + 1]; ++e) hop(rev[e]);
      constexpr size_t kAhead = 8;  // rows prefetched ahead of the distance loop
      for (size_t c = 0; c < std::min(kAhead, cand.size()); ++c) x.prefetch(cand[c]);
      for (size_t c = 0; c < cand.size(); ++c) {
        if (c + kAhead < cand.size()) x.prefetch(cand[c + kAhead]);
        const float dd = x.dist(i, cand[c]);
        if (dd < r.dist[0]) push_new(r, cand[c], dd);
      }
      // Too few distinct candidates (tiny components): fill from random points.
      if (r.dist[0] == kInf) {
        Rng rng(splitmix64(static_cast<uint64_t>(i) ^ 0x7F4A7C15ULL));
        for (int tries = 0; tries < 8 * k2 && r.dist[0] == kInf; ++tries) {
          const auto q = static_cast<int32_t>(rng.below(n));
          if (seen[q] == i) continue;
          seen[q] = i;
          push_new(r, q, x.dist(i, q));
        }
        for (int64_t q = 0, s = 0; s < k2; ++s) {
          if (r.idx[s] >= 0) continue;
          while (q < n && (q == i || seen[q] == i)) ++q;
          if (q < n) seen[q] = i, r.idx[s] = static_cast<int32_t>(q), r.dist[s] = x.dist(i, q);
        }
        heapify(r);
      }
    }
  }
  return out;
}

}  // namespace prism::knn_detail
