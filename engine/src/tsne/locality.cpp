// Memory layout: the optimiser renumbers the points so that P's neighbours sit
// close in memory (breadth-first order over P, the Cuthill-McKee idea without
// the degree sort). The attractive pass then reads y_j mostly from cache
// instead of from all over an array larger than L2.
#include <algorithm>

#include "tsne/stages.hpp"

namespace prism::tsne {

std::vector<int32_t> locality_order(const SparseP& p) {
  const int64_t n = p.n;
  std::vector<int32_t> order;
  order.reserve(n);
  std::vector<char> seen(n, 0);
  for (int64_t root = 0; root < n; ++root) {
    if (seen[root]) continue;
    seen[root] = 1;
    order.push_back(static_cast<int32_t>(root));
    for (size_t head = order.size() - 1; head < order.size(); ++head) {
      const int32_t i = order[head];
      for (int64_t e = p.row_ptr[i]; e < p.row_ptr[i + 1]; ++e) {
        const int32_t j = p.col[e];
        if (!seen[j]) {
          seen[j] = 1;
          order.push_back(j);
        }
      }
    }
  }
  return order;
}

SparseP permute(const SparseP& p, const std::vector<int32_t>& order) {
  const int64_t n = p.n;
  PRISM_CHECK(static_cast<int64_t>(order.size()) == n, "order of ", order.size(), " for ", n, " points");
  std::vector<int32_t> rank(n);
  for (int64_t r = 0; r < n; ++r) rank[order[r]] = static_cast<int32_t>(r);
  SparseP q;
  q.n = n;
  q.row_ptr.assign(n + 1, 0);
  for (int64_t r = 0; r < n; ++r) q.row_ptr[r + 1] = q.row_ptr[r] + (p.row_ptr[order[r] + 1] - p.row_ptr[order[r]]);
  q.col.resize(p.col.size());
  q.val.resize(p.val.size());
#pragma omp parallel
  {
    std::vector<std::pair<int32_t, float>> row;
#pragma omp for schedule(dynamic, 256)
    for (int64_t r = 0; r < n; ++r) {
      const int32_t i = order[r];
      row.clear();
      for (int64_t e = p.row_ptr[i]; e < p.row_ptr[i + 1]; ++e) row.emplace_back(rank[p.col[e]], p.val[e]);
      std::sort(row.begin(), row.end());  // columns are unique: a total order
      for (size_t t = 0; t < row.size(); ++t) {
        q.col[q.row_ptr[r] + t] = row[t].first;
        q.val[q.row_ptr[r] + t] = row[t].second;
      }
    }
  }
  return q;
}

}  // namespace prism::tsne
