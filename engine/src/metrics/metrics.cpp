// Faithfulness metrics. The high-dimensional side is exact: distances from
// each sampled point to all N points by blocked SGEMM, so trustworthiness
// ranks and recall neighbours are true ones (no approximate kNN in a metric).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <random>

#include "prism/metrics.hpp"

namespace prism {
namespace {

constexpr int64_t kQueryBlock = 256;

/// Row norms squared; for cosine, also a normalised copy of x.
struct Prepared {
  ConstView x;
  Matrix normalised;
  std::vector<float> sq_norm;
};

Prepared prepare(ConstView x, Metric metric) {
  Prepared p;
  if (metric == Metric::cosine) {
    p.normalised = normalised_rows(x);
    p.x = p.normalised.view();
  } else {
    p.x = x;
  }
  p.sq_norm.resize(x.rows);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < x.rows; ++i) {
    float s = 0;
    const float* r = p.x.row(i);
    for (int64_t j = 0; j < x.cols; ++j) s += r[j] * r[j];
    p.sq_norm[i] = s;
  }
  return p;
}

/// dist[b * n + j] = squared L2 (or 2 - 2cos) between rows[q0 + b] and every row j.
void distances_block(const Prepared& p, const std::vector<int64_t>& rows, int64_t q0, int64_t qb,
                     std::vector<float>& dist, Matrix& qbuf) {
  const int64_t n = p.x.rows, d = p.x.cols;
  for (int64_t b = 0; b < qb; ++b) std::copy(p.x.row(rows[q0 + b]), p.x.row(rows[q0 + b]) + d, qbuf.row(b));
  dist.resize(static_cast<size_t>(qb * n));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(qb), static_cast<int>(n),
              static_cast<int>(d), -2.0f, qbuf.data(), static_cast<int>(d), p.x.data,
              static_cast<int>(p.x.stride), 0.0f, dist.data(), static_cast<int>(n));
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < qb; ++b) {
    const float qn = p.sq_norm[rows[q0 + b]];
    float* dr = dist.data() + b * n;
    for (int64_t j = 0; j < n; ++j) dr[j] = std::max(0.0f, dr[j] + qn + p.sq_norm[j]);
  }
}

/// The k smallest (distance, id) among candidates accepted by `keep`, ascending.
template <class Dist, class Keep>
std::vector<int64_t> k_smallest(int64_t n, int k, Dist dist, Keep keep) {
  using Item = std::pair<float, int64_t>;
  std::priority_queue<Item> heap;  // max-heap of the best k
  for (int64_t j = 0; j < n; ++j) {
    if (!keep(j)) continue;
    const float dj = dist(j);
    if (static_cast<int>(heap.size()) < k) {
      heap.emplace(dj, j);
    } else if (Item(dj, j) < heap.top()) {
      heap.pop();
      heap.emplace(dj, j);
    }
  }
  std::vector<int64_t> out(heap.size());
  for (size_t i = out.size(); i-- > 0;) {
    out[i] = heap.top().second;
    heap.pop();
  }
  return out;
}

float y_dist(ConstView y, int64_t a, int64_t b) {
  float s = 0;
  for (int64_t c = 0; c < y.cols; ++c) {
    const float t = y(a, c) - y(b, c);
    s += t * t;
  }
  return s;
}

struct PerPoint {
  double trust_penalty = 0;  // sum over Y-neighbours outside the X-neighbourhood of (rank - k)
  int overlap = 0;           // |kNN_X ∩ kNN_Y|
  int correct = -1;          // classifier hit (1/0), -1 without labels
};

}  // namespace

std::vector<int64_t> sample_rows(int64_t n, int64_t count, uint64_t seed) {
  std::vector<int64_t> ids(static_cast<size_t>(n));
  std::iota(ids.begin(), ids.end(), 0);
  if (count >= n) return ids;
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < count; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(ids[i], ids[pick(rng)]);
  }
  ids.resize(static_cast<size_t>(count));
  std::sort(ids.begin(), ids.end());
  return ids;
}

namespace {

std::vector<PerPoint> evaluate_points(ConstView x, ConstView y, const std::vector<int32_t>* labels,
                                      const std::vector<int64_t>& rows, int k, int ck, Metric metric) {
  const int64_t n = x.rows, m = static_cast<int64_t>(rows.size());
  PRISM_EXPECTS(y.rows == n, "the embedding has ", y.rows, " rows, the data ", n);
  PRISM_EXPECTS(k >= 1 && k < n - 1, "metrics k = ", k, " needs more than ", k + 1, " points");
  std::vector<char> in_sample(static_cast<size_t>(n), 0);
  for (int64_t r : rows) in_sample[r] = 1;
  const bool leave_one_out = m == n;  // no held-out training set: classify by all others
  const Prepared p = prepare(x, metric);
  std::vector<PerPoint> out(static_cast<size_t>(m));
  std::vector<float> dist;
  Matrix qbuf(std::min(kQueryBlock, m), x.cols);
  for (int64_t q0 = 0; q0 < m; q0 += kQueryBlock) {
    const int64_t qb = std::min(kQueryBlock, m - q0);
    distances_block(p, rows, q0, qb, dist, qbuf);
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t b = 0; b < qb; ++b) {
      const int64_t i = rows[q0 + b];
      const float* dx = dist.data() + b * n;
      const auto not_self = [i](int64_t j) { return j != i; };
      const auto ny = k_smallest(n, k, [&](int64_t j) { return y_dist(y, i, j); }, not_self);
      PerPoint& pp = out[q0 + b];
      // X-ranks of the Y-neighbours: rank = 1 + #{l != i : d(i,l) < d(i,j)} (ties by id).
      for (int64_t j : ny) {
        const float dj = dx[j];
        int64_t rank = 1;
        for (int64_t l = 0; l < n; ++l)
          rank += (l != i) & ((dx[l] < dj) | ((dx[l] == dj) & (l < j)));
        if (rank > k) pp.trust_penalty += static_cast<double>(rank - k);
        else ++pp.overlap;
      }
      if (labels) {
        const auto keep = [&](int64_t j) { return j != i && (leave_one_out || !in_sample[j]); };
        const auto nc = k_smallest(n, ck, [&](int64_t j) { return y_dist(y, i, j); }, keep);
        // Majority vote; ties go to the class of the nearest voter among the tied.
        std::vector<std::pair<int, int>> votes;  // (label, count)
        for (int64_t j : nc) {
          auto it = std::find_if(votes.begin(), votes.end(), [&](auto& v) { return v.first == (*labels)[j]; });
          if (it == votes.end()) votes.emplace_back((*labels)[j], 1);
          else ++it->second;
        }
        int best = -1, best_count = 0;
        for (auto& [lab, c] : votes)  // votes are in nearest-first order of first appearance
          if (c > best_count) best = lab, best_count = c;
        pp.correct = best == (*labels)[i] ? 1 : 0;
      }
    }
  }
  return out;
}

}  // namespace

double trustworthiness(ConstView x, ConstView y, int k, Metric metric, const std::vector<int64_t>& rows_in) {
  const int64_t n = x.rows;
  std::vector<int64_t> rows = rows_in;
  if (rows.empty()) rows = sample_rows(n, n, 0);
  const auto pts = evaluate_points(x, y, nullptr, rows, k, 1, metric);
  double penalty = 0;
  for (const auto& p : pts) penalty += p.trust_penalty;
  const double m = static_cast<double>(rows.size());
  return 1.0 - 2.0 / (m * k * (2.0 * n - 3.0 * k - 1.0)) * penalty;
}

Faithfulness evaluate_embedding(ConstView x, ConstView y, const std::vector<int32_t>* labels,
                                const MetricsParams& params) {
  const int64_t n = x.rows;
  PRISM_EXPECTS(!labels || static_cast<int64_t>(labels->size()) == n, "labels: ", labels ? labels->size() : 0,
                " values for ", n, " rows");
  const auto rows = sample_rows(n, params.sample, params.seed);
  const auto pts = evaluate_points(x, y, labels, rows, params.k, params.classifier_k, params.metric);
  Faithfulness f;
  f.k = params.k;
  f.sample = static_cast<int64_t>(rows.size());
  double penalty = 0, overlap = 0, correct = 0;
  for (const auto& p : pts) {
    penalty += p.trust_penalty;
    overlap += p.overlap;
    correct += p.correct;
  }
  const double m = static_cast<double>(rows.size()), k = params.k;
  f.trustworthiness = 1.0 - 2.0 / (m * k * (2.0 * n - 3.0 * k - 1.0)) * penalty;
  f.knn_recall = overlap / (m * k);
  if (labels) f.knn_accuracy = correct / m;
  return f;
}

}  // namespace prism
