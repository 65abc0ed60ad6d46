// Repulsive forces by Barnes-Hut (van der Maaten 2014, "Accelerating t-SNE
// using tree-based algorithms"): a cell far enough away (width / distance <
// theta, as openTSNE's quad_tree.pyx) acts as its point count at its centre of
// mass; otherwise its children, or its points when it is a leaf, are visited.
//
// The walk is done once per *group* of nearby points (a maximal cell of at most
// kGroupSize points, Barnes 1990 "A modified tree code"), with the distance
// taken to the group's bounding box so the criterion holds for every member.
// The walk yields one interaction list; every member then sums over it in a
// branch-free loop the compiler vectorises. A per-point walk spends most of its
// time in mispredicted branches and dependent divisions instead.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tsne/stages.hpp"
#include "tsne/tree.hpp"

namespace prism::tsne {

namespace {

// Points per leaf: a few points summed exactly are cheaper than more nodes.
constexpr int kLeafSize = 8;
// Points per group sharing one walk and one interaction list. On Fashion-MNIST
// (70k, 2D, one core) 16 / 32 / 64 / 128 / 512 took 43 / 33 / 27 / 19 / 23 ms
// per repulsion pass: the longer lists cost less than the walks they save.
constexpr int kGroupSize = 128;

// One thread's interaction list, structure of arrays, coordinates relative to
// the group's centre (floats near the group keep their precision).
template <int D>
struct InteractionList {
  std::vector<float> c[D];
  std::vector<float> mass;
  void clear() {
    for (auto& v : c) v.clear();
    mass.clear();
  }
  void push(const double* at, const double* origin, float m) {
    for (int d = 0; d < D; ++d) c[d].push_back(static_cast<float>(at[d] - origin[d]));
    mass.push_back(m);
  }
  size_t size() const { return mass.size(); }
};

template <int D>
struct Workspace {
  SpaceTree<D> tree;
  std::vector<int32_t> groups;
  std::vector<double> z_point;
};

template <int D>
RepulsionStats repulsive_forces_d(const double* y, int64_t n, double theta, double* rep) {
  // Buffers are reused across calls of the same calling thread: no allocation
  // (and no page faults on fresh memory) per iteration. Bound to references
  // here, outside the parallel region, so that the workers share them.
  thread_local Workspace<D> workspace;
  Workspace<D>& ws = workspace;
  SpaceTree<D>& tree = ws.tree;
  std::vector<int32_t>& groups = ws.groups;
  std::vector<double>& z_point = ws.z_point;
  tree.build(y, n, kLeafSize);
  const auto& nodes = tree.nodes();
  const auto& order = tree.order();
  const double* pos = tree.positions().data();
  const auto n_nodes = static_cast<int32_t>(nodes.size());
  const double theta2 = theta * theta;

  // Groups: maximal cells with at most kGroupSize points, in tree order.
  groups.clear();
  for (int32_t k = 0; k < n_nodes;) {
    if (nodes[k].end - nodes[k].begin <= kGroupSize) {
      groups.push_back(k);
      k = nodes[k].skip;
    } else {
      ++k;
    }
  }
  z_point.resize(n);

#pragma omp parallel if (n >= kParallelMinPoints)
  {
    thread_local InteractionList<D> list;  // each worker's own
#pragma omp for schedule(dynamic, 4)
    for (size_t g = 0; g < groups.size(); ++g) {
      const auto& gn = nodes[groups[g]];
      const int32_t gb = gn.begin, ge = gn.end;
      double lo[D], hi[D], origin[D];
      for (int d = 0; d < D; ++d) lo[d] = hi[d] = pos[int64_t(gb) * D + d];
      for (int32_t s = gb + 1; s < ge; ++s)
        for (int d = 0; d < D; ++d) {
          lo[d] = std::min(lo[d], pos[int64_t(s) * D + d]);
          hi[d] = std::max(hi[d], pos[int64_t(s) * D + d]);
        }
      for (int d = 0; d < D; ++d) origin[d] = 0.5 * (lo[d] + hi[d]);

      list.clear();
      for (int32_t k = 0; k < n_nodes;) {
        const auto& nd = nodes[k];
        double dd = 0;  // squared distance from the centre of mass to the group's box
        for (int d = 0; d < D; ++d) {
          const double out = std::max({lo[d] - nd.com[d], nd.com[d] - hi[d], 0.0});
          dd += out * out;
        }
        // A cell holding group members is never summarised (no self-interaction).
        const bool overlaps = nd.begin < ge && gb < nd.end;
        if (!overlaps && nd.width2 < theta2 * dd) {
          list.push(nd.com, origin, static_cast<float>(nd.end - nd.begin));
          k = nd.skip;
        } else if (nd.skip == k + 1) {
          for (int32_t t = nd.begin; t < nd.end; ++t) list.push(pos + int64_t(t) * D, origin, 1.0f);
          k = nd.skip;
        } else {
          ++k;  // descend: the first child follows its parent
        }
      }

      const int64_t len = static_cast<int64_t>(list.size());
      const float* cx[D];
      for (int d = 0; d < D; ++d) cx[d] = list.c[d].data();
      const float* mass = list.mass.data();
      for (int32_t s = gb; s < ge; ++s) {
        float yi[D];
        for (int d = 0; d < D; ++d) yi[d] = static_cast<float>(pos[int64_t(s) * D + d] - origin[d]);
        float z = 0, f0 = 0, f1 = 0, f2 = 0;
        // Every member meets itself once in the list (its own leaf): d = 0,
        // w = 1, no force; the 1 is taken off Z below.
#pragma omp simd reduction(+ : z, f0, f1, f2)
        for (int64_t t = 0; t < len; ++t) {
          const float d0 = yi[0] - cx[0][t];
          const float d1 = yi[1] - cx[1][t];
          float d2 = d0 * d0 + d1 * d1;
          float dz = 0;
          if constexpr (D == 3) {
            dz = yi[D - 1] - cx[D - 1][t];
            d2 += dz * dz;
          }
          const float w = 1.0f / (1.0f + d2);
          const float mw = mass[t] * w;
          const float mw2 = mw * w;
          z += mw;
          f0 += mw2 * d0;
          f1 += mw2 * d1;
          f2 += mw2 * dz;
        }
        z_point[s] = double(z) - 1.0;
        if (rep) {
          double* r = rep + int64_t(order[s]) * D;
          r[0] = f0;
          r[1] = f1;
          if constexpr (D == 3) r[2] = f2;
        }
      }
    }
  }
  // Fixed order (sorted points, one thread): same Z for any thread count.
  RepulsionStats st;
  for (int64_t s = 0; s < n; ++s) st.z += z_point[s];
  return st;
}

template <int D>
RepulsionStats repulsive_forces_exact_d(const double* y, int64_t n, double* rep) {
  std::vector<double> z_point(n);
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < n; ++i) {
    double f[D] = {};
    double z = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double diff[D];
      double d2 = 0;
      for (int d = 0; d < D; ++d) {
        diff[d] = y[i * D + d] - y[j * D + d];
        d2 += diff[d] * diff[d];
      }
      const double w = 1.0 / (1.0 + d2);
      z += w;
      for (int d = 0; d < D; ++d) f[d] += w * w * diff[d];
    }
    z_point[i] = z;
    if (rep)
      for (int d = 0; d < D; ++d) rep[i * D + d] = f[d];
  }
  RepulsionStats st;
  for (int64_t i = 0; i < n; ++i) st.z += z_point[i];
  return st;
}

}  // namespace

RepulsionStats repulsive_forces(const double* y, int64_t n, int dims, double theta, double* rep) {
  PRISM_CHECK(dims == 2 || dims == 3, "dims ", dims);
  PRISM_CHECK(theta >= 0, "theta ", theta);
  return dims == 2 ? repulsive_forces_d<2>(y, n, theta, rep) : repulsive_forces_d<3>(y, n, theta, rep);
}

RepulsionStats repulsive_forces_exact(const double* y, int64_t n, int dims, double* rep) {
  PRISM_CHECK(dims == 2 || dims == 3, "dims ", dims);
  return dims == 2 ? repulsive_forces_exact_d<2>(y, n, rep) : repulsive_forces_exact_d<3>(y, n, rep);
}

Repulsion::Repulsion(TsneMethod method, int dims, double theta) : method_(method), dims_(dims), theta_(theta) {
  PRISM_CHECK(method == TsneMethod::barnes_hut || method == TsneMethod::fft, "unresolved t-SNE method");
  PRISM_CHECK(method != TsneMethod::fft || dims == 2, "the FFT repulsion is 2D only, dims ", dims);
  if (method == TsneMethod::fft) fft_ = std::make_unique<FftRepulsion>();
}

RepulsionStats Repulsion::operator()(const double* y, int64_t n, double* rep) {
  return fft_ ? (*fft_)(y, n, rep) : repulsive_forces(y, n, dims_, theta_, rep);
}

}  // namespace prism::tsne
