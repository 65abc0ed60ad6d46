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

#include <omp.h>

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
RpTree build_tree(ConstView x, int leaf_size, uint64_t seed) {
  const int64_t n = x.rows, d = x.cols;
  RpTree t;
  t.perm.resize(n);
  std::iota(t.perm.begin(), t.perm.end(), 0);
  t.leaf_of.assign(n, -1);
  Rng rng(seed);
  std::vector<float> normal(d);
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
    const float* xa = x.row(t.perm[b + ia]);
    const float* xc = x.row(t.perm[b + ic]);
    float offset = 0.0f;
    for (int64_t j = 0; j < d; ++j) {
      normal[j] = xa[j] - xc[j];
      offset += normal[j] * 0.5f * (xa[j] + xc[j]);
    }
    int64_t n_left = 0;
    for (int64_t s = b; s < e; ++s) {
      const float m = dot(normal.data(), x.row(t.perm[s]), d) - offset;
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
void init_from_forest(ConstView x, const NndParams& p, NeighborLists& g) {
  const int64_t n = x.rows, d = x.cols;
  std::vector<RpTree> forest(p.n_trees);
#pragma omp parallel for schedule(dynamic, 1)
  for (int t = 0; t < p.n_trees; ++t)
    forest[t] = build_tree(x, p.leaf_size, p.seed * 0x632BE59BD9B4E019ULL + 1000003ULL * t + 17);

#pragma omp parallel
  {
    std::vector<int64_t> seen(n, -1);  // seen[q] == i: q already tried for point i
    // In the first tree's leaf order: consecutive points share that leaf's rows in cache.
#pragma omp for schedule(dynamic, 256)
    for (int64_t pos = 0; pos < n; ++pos) {
      const int64_t i = forest[0].perm[pos];
      Row r = row(g, i);
      std::fill(r.idx, r.idx + r.k, -1);
      std::fill(r.dist, r.dist + r.k, kInf);
      std::fill(r.fresh, r.fresh + r.k, uint8_t{1});
      seen[i] = i;
      const float* xi = x.row(i);
      for (const RpTree& t : forest) {
        const int32_t leaf = t.leaf_of[i];
        for (int64_t s = t.leaf_begin[leaf]; s < t.leaf_end[leaf]; ++s)
          prefetch_row(x.row(t.perm[s]), d);
        for (int64_t s = t.leaf_begin[leaf]; s < t.leaf_end[leaf]; ++s) {
          const int32_t q = t.perm[s];
          if (seen[q] == i) continue;
          seen[q] = i;
          push(r, q, sq_l2(xi, x.row(q), d), 1);
        }
      }
      if (r.dist[0] < kInf) continue;  // full: the root is the farthest entry
      Rng rng(p.seed ^ splitmix64(static_cast<uint64_t>(i) + 0x51ED2701ULL));
      for (int tries = 0; tries < 4 * r.k && r.dist[0] == kInf; ++tries) {
        const auto q = static_cast<int32_t>(rng.below(n));
        if (seen[q] == i) continue;
        seen[q] = i;
        push(r, q, sq_l2(xi, x.row(q), d), 1);
      }
      // Non-finite distances never enter a heap; place any points in the gaps.
      bool placed = false;
      for (int64_t q = 0, s = 0; s < r.k && q < n; ++s) {
        if (r.idx[s] >= 0) continue;
        while (q < n && (q == i || std::find(r.idx, r.idx + r.k, q) != r.idx + r.k)) ++q;
        if (q < n) {
          r.idx[s] = static_cast<int32_t>(q);
          r.dist[s] = sq_l2(xi, x.row(q), d);
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
  std::vector<int32_t> count;

  void reset(int64_t n, int m) {
    mc = m;
    keys.resize(static_cast<size_t>(n) * m);
    count.assign(n, 0);
  }
  void add(int64_t i, uint64_t key) {
    uint64_t* h = keys.data() + i * mc;
    int& c = count[i];
    if (c == mc && key >= h[0]) return;
    const uint32_t id = static_cast<uint32_t>(key);
    for (int s = 0; s < c; ++s)
      if (static_cast<uint32_t>(h[s]) == id) return;
    if (c < mc) {  // sift up
      int pos = c++;
      while (pos > 0) {
        const int parent = (pos - 1) / 2;
        if (!(h[parent] < key)) break;
        h[pos] = h[parent];
        pos = parent;
      }
      h[pos] = key;
    } else {  // replace the root, sift down
      int pos = 0;
      for (;;) {
        const int l = 2 * pos + 1;
        if (l >= mc) break;
        const int ch = (l + 1 < mc && h[l + 1] > h[l]) ? l + 1 : l;
        if (!(h[ch] > key)) break;
        h[pos] = h[ch];
        pos = ch;
      }
      h[pos] = key;
    }
  }
  int32_t id(int64_t i, int s) const {
    return static_cast<int32_t>(static_cast<uint32_t>(keys[i * mc + s]));
  }
  bool contains(int64_t i, int32_t j) const {
    for (int s = 0; s < count[i]; ++s)
      if (id(i, s) == j) return true;
    return false;
  }
};

// The points [lo, hi) owned by the calling thread inside a parallel region.
std::pair<int64_t, int64_t> owned_range(int64_t n) {
  const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
  return {n * t / nt, n * (t + 1) / nt};
}

void sample_candidates(NeighborLists& g, uint64_t seed, int iteration, Candidates& fresh,
                       Candidates& old) {
  const int64_t n = g.n;
  const int k = g.k;
  const uint64_t salt = splitmix64(seed ^ (0xA24BAED4963EE407ULL * (iteration + 1)));
#pragma omp parallel
  {
    const auto [lo, hi] = owned_range(n);
    for (int64_t i = 0; i < n; ++i) {
      for (int s = 0; s < k; ++s) {
        const int32_t j = g.idx[i * k + s];
        if (j < 0) continue;
        const bool mine_i = i >= lo && i < hi, mine_j = j >= lo && j < hi;
        if (!mine_i && !mine_j) continue;
        // The same priority both ways, so a pair is sampled for i and j alike.
        const uint64_t a = std::min<int64_t>(i, j), b = std::max<int64_t>(i, j);
        const uint64_t prio = splitmix64(salt ^ (a * 0x9E3779B97F4A7C15ULL + b)) >> 32;
        Candidates& c = g.fresh[i * k + s] ? fresh : old;
        if (mine_i) c.add(i, prio << 32 | static_cast<uint32_t>(j));
        if (mine_j) c.add(j, prio << 32 | static_cast<uint32_t>(i));
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

int64_t local_join(ConstView x, NeighborLists& g, const Candidates& fresh, const Candidates& old,
                   std::vector<std::vector<Proposal>>& proposals) {
  const int64_t n = g.n, d = x.cols;
  const int k = g.k;
  int64_t changed = 0;
  for (int64_t b0 = 0; b0 < n; b0 += kJoinBlock) {
    const int64_t b1 = std::min(n, b0 + kJoinBlock);
#pragma omp parallel for schedule(dynamic, 32)
    for (int64_t i = b0; i < b1; ++i) {
      std::vector<Proposal>& out = proposals[i - b0];
      out.clear();
      const int nn = fresh.count[i], no = old.count[i];
      for (int s = 0; s < nn; ++s) prefetch_row(x.row(fresh.id(i, s)), d);
      for (int s = 0; s < no; ++s) prefetch_row(x.row(old.id(i, s)), d);
      for (int s = 0; s < nn; ++s) {
        const int32_t p = fresh.id(i, s);
        const float* xp = x.row(p);
        const float tp = g.dist[p * k];
        for (int t = s + 1; t < nn; ++t) {
          const int32_t q = fresh.id(i, t);
          const float dd = sq_l2(xp, x.row(q), d);
          const bool to_p = dd < tp, to_q = dd < g.dist[q * k];
          if (to_p || to_q) out.push_back({p, q, dd, to_p, to_q});
        }
        for (int t = 0; t < no; ++t) {
          const int32_t q = old.id(i, t);
          if (q == p) continue;
          const float dd = sq_l2(xp, x.row(q), d);
          const bool to_p = dd < tp, to_q = dd < g.dist[q * k];
          if (to_p || to_q) out.push_back({p, q, dd, to_p, to_q});
        }
      }
    }
#pragma omp parallel reduction(+ : changed)
    {
      const auto [lo, hi] = owned_range(n);
      for (int64_t i = b0; i < b1; ++i)
        for (const Proposal& u : proposals[i - b0]) {
          if (u.to_a && u.a >= lo && u.a < hi) changed += push(row(g, u.a), u.b, u.d, 1);
          if (u.to_b && u.b >= lo && u.b < hi) changed += push(row(g, u.b), u.a, u.d, 1);
        }
    }
  }
  return changed;
}

}  // namespace

std::vector<int32_t> locality_order(ConstView x, int leaf_size, uint64_t seed) {
  return build_tree(x, leaf_size, seed ^ 0x2545F4914F6CDD1DULL).perm;
}

NeighborLists forest_init(ConstView x, const NndParams& p) {
  PRISM_CHECK(x.rows > p.k + 1, "NN-descent needs more than k + 1 rows");
  PRISM_CHECK(x.rows <= std::numeric_limits<int32_t>::max(), "too many rows");
  NeighborLists g;
  g.n = x.rows;
  g.k = p.k;
  const size_t total = static_cast<size_t>(checked_mul(g.n, g.k));
  g.idx.resize(total);
  g.dist.resize(total);
  g.fresh.resize(total);
  init_from_forest(x, p, g);
  return g;
}

int descend(ConstView x, NeighborLists& g, const NndParams& p, ProgressScope* progress,
            int64_t progress_base) {
  PRISM_CHECK(x.rows == g.n, "lists and data disagree on the row count");
  Candidates fresh, old;
  std::vector<std::vector<Proposal>> proposals(std::min<int64_t>(g.n, kJoinBlock));
  const int mc = std::min(p.max_candidates, g.k);
  int it = 0;
  while (it < p.max_iters) {
    fresh.reset(g.n, mc);
    old.reset(g.n, mc);
    sample_candidates(g, p.seed, it, fresh, old);
    const int64_t changed = local_join(x, g, fresh, old, proposals);
    ++it;
    if (progress) progress->update(progress_base + it);
    if (static_cast<double>(changed) <= p.delta * static_cast<double>(g.n) * g.k) break;
  }
  return it;
}

}  // namespace prism::knn_detail
