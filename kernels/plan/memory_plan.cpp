// The CUDA backend's device-memory plans (see memory_plan.hpp). Every stage
// lists the buffers its launcher holds at that point, in the launcher's
// order and with the launcher's names, so an out-of-memory message and a
// plan read alike.
#include "plan/memory_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "prism/error.hpp"
#include "prism/matrix.hpp"

namespace prism::cuda::plan {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

std::string gib(int64_t bytes) {
  char buf[32];
  if (bytes >= (int64_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1 << 30));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Bytes of `count` elements of `size` bytes, overflow-checked.
int64_t bytes_of(int64_t count, int64_t size) { return checked_mul(std::max<int64_t>(count, 0), size); }

Stage& add_stage(MemoryPlan& m, std::string name, std::vector<Allocation> live) {
  m.stages.push_back({std::move(name), std::move(live)});
  return m.stages.back();
}

std::vector<Allocation> operator+(std::vector<Allocation> a, const std::vector<Allocation>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

int bits_for(int64_t values) {  // bits of the largest value below `values`
  int b = 1;
  while (b < 63 && (int64_t{1} << b) < values) ++b;
  return b;
}

}  // namespace

int64_t Stage::bytes() const {
  int64_t s = 0;
  for (const Allocation& a : live) s += a.bytes;
  return s;
}

int64_t MemoryPlan::peak_bytes() const {
  const Stage* s = peak_stage();
  return s ? s->bytes() : 0;
}

const Stage* MemoryPlan::peak_stage() const {
  const Stage* best = nullptr;
  for (const Stage& s : stages)
    if (!best || s.bytes() > best->bytes()) best = &s;
  return best;
}

std::string MemoryPlan::describe() const {
  const Stage* s = peak_stage();
  if (!s) return "nothing";
  std::vector<Allocation> parts = s->live;
  std::stable_sort(parts.begin(), parts.end(),
                   [](const Allocation& a, const Allocation& b) { return a.bytes > b.bytes; });
  std::string out = cat(gib(s->bytes()), " at '", s->name, "' (");
  for (size_t i = 0; i < parts.size() && i < 4; ++i)
    out += cat(i ? ", " : "", parts[i].what, " ", gib(parts[i].bytes));
  if (parts.size() > 4) out += ", ...";
  return out + ")";
}

std::string out_of_memory_message(const std::string& what, int64_t asked, int64_t device_free,
                                  int64_t device_total, bool pool, int64_t pool_reserved,
                                  int64_t pool_used) {
  std::string m = cat("CUDA out of memory: ", what, " needs ", gib(asked), "; ", gib(device_free),
                      " free of ", gib(device_total), " on the device");
  if (pool)
    m += cat(", Prism's memory pool holds ", gib(pool_reserved), " (", gib(pool_used),
             " in use) after trimming");
  return m + "; use fewer rows or --backend cpu";
}

// ---- library scratch ----------------------------------------------------------

int64_t radix_sort_scratch_bytes(int64_t count, int key_bytes, int value_bytes, bool double_buffer) {
  // One-sweep: look-back of (portion items / tile items) blocks x 256 digits x
  // 8 bytes, portions of at most 2^28 items and tiles of at least 2048 items:
  // at most min(count, 2^28) bytes; bins and counters are a few KiB.
  const int64_t lookback = std::min<int64_t>(count, int64_t{1} << 28);
  const int64_t copies = double_buffer ? 0 : bytes_of(count, key_bytes + value_bytes);
  return copies + lookback + 32 * kMiB;
}

int64_t segmented_sort_scratch_bytes(int64_t count, int64_t segments) {
  // Large/medium and small segment index lists (8 bytes each per segment) and
  // the group sizes; DoubleBuffers need no copy of the items.
  (void)count;
  return bytes_of(segments, 16) + 32 * kMiB;
}

int64_t scan_scratch_bytes(int64_t count) { return count / 8 + 16 * kMiB; }

// ---- exact kNN ------------------------------------------------------------------

int tf32_pool(int k, int64_t n) {
  return static_cast<int>(std::min<int64_t>({k + std::max(k, 32), n - 1, kMaxPool}));
}

namespace {

MemoryPlan exact_memory(const ExactKnnPlan& p) {
  const int64_t r = p.block_rows;
  std::vector<Allocation> live = {{"kNN query rows", bytes_of(checked_mul(r, p.d), 4)},
                                  {"kNN query norms", bytes_of(r, 4)}};
  if (!p.resident())
    live = live + std::vector<Allocation>{{"kNN base rows", bytes_of(checked_mul(r, p.d), 4)},
                                          {"kNN base norms", bytes_of(r, 4)}};
  live = live + std::vector<Allocation>{
                    {"kNN candidate lists", bytes_of(checked_mul(r, p.pool_size), 8)},
                    {"kNN output", bytes_of(checked_mul(r, p.k), 8)},
                    {"kNN distance tiles", bytes_of(checked_mul(kTilesInFlight, p.tile_floats()), 4)}};
  MemoryPlan m;
  add_stage(m, "search", std::move(live));
  return m;
}

}  // namespace

ExactKnnPlan plan_exact_knn(int64_t n, int64_t d, int k, GemmChoice gemm, int64_t budget) {
  PRISM_CHECK(n >= 2 && d >= 1 && k >= 1 && k < n, "exact kNN plan for n = ", n, ", d = ", d,
              ", k = ", k);
  ExactKnnPlan p;
  p.n = n;
  p.d = d;
  p.k = k;
  const double work = static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(d);
  p.tf32 = gemm == GemmChoice::tf32 || (gemm == GemmChoice::automatic && work >= kTf32Work);
  p.pool_size = p.tf32 ? tf32_pool(k, n) : k;
  p.tile_rows = std::min(n, kTileRows);
  p.tile_cols = std::min(n, kTileCols);
  p.block_rows = n;
  p.blocks = 1;
  auto fits = [&] { return exact_memory(p).peak_bytes() <= budget; };
  if (!fits()) {
    // Over budget: fp32 first (no re-rank pool), then smaller tiles, then host blocks.
    p.tf32 = false;
    p.pool_size = k;
    while (p.tile_rows > 256 && !fits()) p.tile_rows /= 2;
    while (p.block_rows > 1024 && !fits()) {
      p.block_rows = (p.block_rows + 1) / 2;
      p.blocks = (n + p.block_rows - 1) / p.block_rows;
      p.tile_rows = std::min(p.tile_rows, p.block_rows);
      p.tile_cols = std::min(p.tile_cols, p.block_rows);
    }
  }
  // tf32 candidates are re-ranked from resident rows; host blocks keep the
  // fp32 distances of the expanded form.
  p.refine = p.resident();
  p.memory = exact_memory(p);
  if (p.memory.peak_bytes() > budget)
    throw RuntimeError(cat("CUDA out of memory: exact kNN of ", n, " x ", d, " with k = ", k,
                           " needs at least ", p.memory.describe(), "; the budget is ", gib(budget)));
  return p;
}

// ---- IVF ------------------------------------------------------------------------

namespace {

constexpr int64_t kIvfMaxTileFloats = int64_t{1} << 27;  // 512 MiB of dot products
constexpr int64_t kIvfQueryChunk = 65536;
constexpr int64_t kIvfBaseChunk = 65536;

MemoryPlan ivf_memory(const IvfPlan& p) {
  const int64_t n = p.n, d = p.d, m = p.sample_rows, L = p.nlist;
  const int64_t B = p.batch_rows, BP = checked_mul(p.batch_rows, p.nprobe);
  MemoryPlan mp;
  const std::vector<Allocation> base = {{"IVF data", bytes_of(checked_mul(n, d), 4)},
                                        {"IVF norms", bytes_of(n, 4)},
                                        {"IVF distance tile", bytes_of(p.tile_floats, 4)}};
  const std::vector<Allocation> centroids = {{"IVF centroids", bytes_of(checked_mul(L, d), 4)},
                                             {"IVF centroid norms", bytes_of(L, 4)}};
  add_stage(mp, "k-means", base + centroids + std::vector<Allocation>{
      {"IVF sample", bytes_of(m, 4)},
      {"IVF sample rows", bytes_of(checked_mul(m, d), 4)},
      {"IVF sample norms", bytes_of(m, 4)},
      {"k-means assignment", bytes_of(m, 8)},
      {"k-means sort", bytes_of(m, 12)},
      {"k-means offsets", bytes_of(L + 1, 8)},
      {"radix sort scratch", radix_sort_scratch_bytes(m, 4, 4, false)}});
  const std::vector<Allocation> index = base + centroids;
  add_stage(mp, "lists: assign", index + std::vector<Allocation>{{"IVF nearest list", bytes_of(n, 8)}});
  add_stage(mp, "lists: sort", index + std::vector<Allocation>{
      {"IVF nearest list", bytes_of(n, 4)},
      {"IVF lists", bytes_of(n, 12)},
      {"radix sort scratch", radix_sort_scratch_bytes(n, 4, 4, false)}});
  add_stage(mp, "lists: gather", index + std::vector<Allocation>{
      {"IVF lists", bytes_of(n, 4)},
      {"IVF list offsets", bytes_of(L + 1, 8)},
      {"IVF rows in list order", bytes_of(checked_mul(n, d), 4)},
      {"IVF norms in list order", bytes_of(n, 4)}});
  const std::vector<Allocation> search = index + std::vector<Allocation>{
      {"IVF lists", bytes_of(n, 4)},
      {"IVF list offsets", bytes_of(L + 1, 8)},
      {"IVF rows in list order", bytes_of(checked_mul(n, d), 4)},
      {"IVF norms in list order", bytes_of(n, 4)}};
  // The calibration's sample (alive while it searches, with batches of the
  // sample's size) is counted in every search stage: a bound, as it is small.
  std::vector<Allocation> search_all = search;
  if (p.calibration_queries > 0) {
    const int64_t s = p.calibration_queries;
    const std::vector<Allocation> sample = {
        {"IVF calibration queries", bytes_of(s, 4)},
        {"IVF calibration rows", bytes_of(checked_mul(s, d), 4)},
        {"IVF calibration norms", bytes_of(s, 4)},
        {"kNN output", bytes_of(checked_mul(s, p.k), 8)}};
    add_stage(mp, "calibration: exact sample", search + sample + std::vector<Allocation>{
        {"kNN candidate lists", bytes_of(checked_mul(s, p.k), 8)}});
    search_all = search + sample;
  }
  const Allocation ids = {"IVF batch queries", bytes_of(B, 4)};
  add_stage(mp, "search: probes", search_all + std::vector<Allocation>{
      ids, {"IVF probes", bytes_of(BP, 8)}});
  add_stage(mp, "search: pair sort", search_all + std::vector<Allocation>{
      ids, {"IVF probes", bytes_of(BP, 4)}, {"IVF probe pairs", bytes_of(BP, 12)},
      {"IVF pair offsets", bytes_of(L + 1, 8)},
      {"radix sort scratch", radix_sort_scratch_bytes(BP, 4, 4, false)}});
  add_stage(mp, "search: lists", search_all + std::vector<Allocation>{
      ids, {"IVF probe pairs", bytes_of(BP, 8)}, {"IVF pair offsets", bytes_of(L + 1, 8)},
      {"IVF candidate lists", bytes_of(checked_mul(B, p.pool_size), 8)},
      {"IVF gathered queries", bytes_of(checked_mul(p.query_chunk, d), 4)},
      {"IVF gathered norms", bytes_of(p.query_chunk, 4)},
      {"kNN output", bytes_of(checked_mul(B, p.k), 8)}});
  return mp;
}

}  // namespace

int ivf_nlist(int64_t n) {
  return static_cast<int>(std::clamp<int64_t>(std::llround(std::sqrt(static_cast<double>(n))), 1, 8192));
}

std::vector<int> ivf_nprobe_ladder(int nlist) {
  const int cap = std::min({nlist, kMaxPool, std::max(256, nlist / 8)});
  std::vector<int> ladder;
  for (double p = 32; static_cast<int>(p) < cap; p *= 1.5) ladder.push_back(static_cast<int>(p));
  ladder.push_back(cap);
  return ladder;
}

IvfPlan plan_ivf(int64_t n, int64_t d, int k, int nlist, int nprobe, bool tf32, bool calibrate,
                 int64_t budget, int64_t max_batch_rows) {
  PRISM_CHECK(n >= 2 && d >= 1 && k >= 1 && k < n, "IVF plan for n = ", n, ", d = ", d, ", k = ", k);
  IvfPlan p;
  p.n = n;
  p.d = d;
  p.k = k;
  p.nlist = nlist > 0 ? nlist : ivf_nlist(n);
  PRISM_EXPECTS(p.nlist >= 1 && p.nlist <= n, "IVF: nlist ", p.nlist, " must be in 1..N");
  p.nprobe = std::min(p.nlist, nprobe > 0 ? nprobe : ivf_nprobe_ladder(p.nlist).back());
  PRISM_EXPECTS(p.nprobe <= kMaxPool, "IVF: nprobe ", p.nprobe, " above ", kMaxPool);
  p.tf32 = tf32;
  p.pool_size = tf32 ? tf32_pool(k, n) : k;
  p.sample_rows = std::min<int64_t>(n, checked_mul(p.nlist, 64));
  p.tile_floats = std::min<int64_t>(kIvfMaxTileFloats, checked_mul(n, p.nlist) + 1);
  p.query_chunk = kIvfQueryChunk;
  p.base_chunk = kIvfBaseChunk;
  p.calibration_queries = calibrate ? std::min<int64_t>(n, kIvfCalibrationQueries) : 0;

  // Per-query bytes of the largest search stage: the pair sort (probes,
  // three pair arrays, the sort's copies and look-back: 25 bytes per probe)
  // or the list search (pairs, candidate lists, output).
  const int64_t per_query =
      4 + std::max<int64_t>(checked_mul(p.nprobe, 25), 8 * (int64_t{p.nprobe} + p.pool_size + k));
  p.batch_rows = 1;
  const int64_t fixed = ivf_memory(p).peak_bytes();
  const int64_t room = std::min(kIvfBatchBytes, budget - fixed);
  p.batch_rows = std::clamp<int64_t>(room / per_query, 1, n);
  if (max_batch_rows > 0) p.batch_rows = std::min(p.batch_rows, max_batch_rows);
  p.batch_rows = std::max(p.batch_rows, std::min<int64_t>(n, p.calibration_queries));
  while (p.batch_rows > 1024 && ivf_memory(p).peak_bytes() > budget)
    p.batch_rows = (p.batch_rows + 1) / 2;
  p.memory = ivf_memory(p);
  if (p.memory.peak_bytes() > budget)
    throw RuntimeError(cat("CUDA out of memory: IVF kNN of ", n, " x ", d, " needs at least ",
                           p.memory.describe(), "; the budget is ", gib(budget),
                           "; use --knn exact on the CPU or fewer rows"));
  return p;
}

// ---- t-SNE affinities --------------------------------------------------------------

TsneAffinityPlan plan_tsne_affinities(int64_t n, int k) {
  PRISM_CHECK(n >= 2 && k >= 1, "t-SNE affinity plan for n = ", n, ", k = ", k);
  TsneAffinityPlan p;
  p.n = n;
  p.k = k;
  p.edges = checked_mul(n, k);
  p.max_nnz = checked_mul(2, p.edges);
  p.id_bits = bits_for(n);
  const int64_t e = p.edges;
  const Allocation ids = {"t-SNE kNN ids", bytes_of(e, 4)}, cond = {"t-SNE P_j|i", bytes_of(e, 4)};
  MemoryPlan& m = p.memory;
  add_stage(m, "calibrate", {ids, {"t-SNE kNN distances", bytes_of(e, 4)}, cond});
  add_stage(m, "sort rows by column",
            {ids, cond, {"t-SNE kNN ids (sort buffer)", bytes_of(e, 4)},
             {"t-SNE P_j|i (sort buffer)", bytes_of(e, 4)},
             {"t-SNE row offsets", bytes_of(n + 1, 8)},
             {"segmented sort scratch", segmented_sort_scratch_bytes(e, n)}});
  const Allocation tvals = {"t-SNE transpose edges", bytes_of(e, 4)};
  add_stage(m, "transpose sort",
            {ids, cond, {"t-SNE transpose keys", bytes_of(e, 8)},
             {"t-SNE transpose edges", bytes_of(e, 8)},
             {"radix sort scratch", radix_sort_scratch_bytes(e, 4, 4, true)}});
  const Allocation toff = {"t-SNE transpose offsets", bytes_of(n + 1, 8)};
  add_stage(m, "transpose offsets", {ids, cond, tvals, {"t-SNE transpose keys", bytes_of(e, 4)}, toff});
  const Allocation row_ptr = {"t-SNE P row pointers", bytes_of(n + 1, 8)};
  add_stage(m, "count", {ids, cond, tvals, toff, row_ptr, {"t-SNE P total", 8},
                         {"scan scratch", scan_scratch_bytes(std::max(n + 1, e))}});
  add_stage(m, "merge", {ids, cond, tvals, toff, row_ptr, {"t-SNE P total", 8},
                         {"t-SNE P columns", bytes_of(p.max_nnz, 4)},
                         {"t-SNE P values", bytes_of(p.max_nnz, 4)}});
  return p;
}

// ---- UMAP ---------------------------------------------------------------------------

int64_t umap_max_edges(int64_t n, int k) { return checked_mul(checked_mul(n, k), 2); }

UmapMemoryPlan plan_umap(int64_t n, int64_t edges, int dims, bool deterministic) {
  PRISM_CHECK(n >= 2 && edges >= 0 && dims >= 1, "UMAP plan for n = ", n, ", ", edges, " edges");
  UmapMemoryPlan p;
  p.n = n;
  p.edges = edges;
  p.dims = dims;
  p.deterministic = deterministic;
  p.spectral_block = dims + 3;
  const int64_t nm = checked_mul(n, p.spectral_block);
  add_stage(p.memory, "spectral",
            {{"spectral graph", bytes_of(n + 1, 8) + bytes_of(edges, 8)},
             {"spectral degrees", bytes_of(n, 8)},
             {"spectral block", bytes_of(nm, 24)},  // three blocks: the Chebyshev recurrence
             {"spectral Gram", bytes_of(checked_mul(p.spectral_block, p.spectral_block), 8)}});
  std::vector<Allocation> sgd = {{"UMAP edges", bytes_of(edges, 8)},
                                 {"UMAP schedule", bytes_of(edges, 16)},
                                 {"UMAP layout", bytes_of(checked_mul(n, dims), 4)}};
  if (deterministic) sgd.push_back({"UMAP deterministic gradients", bytes_of(checked_mul(n, dims), 8)});
  add_stage(p.memory, "sgd", std::move(sgd));
  return p;
}

// ---- PCA ------------------------------------------------------------------------------

PcaPlan plan_pca(int64_t n, int64_t d, int64_t chunk_rows) {
  PRISM_CHECK(n >= 1 && d >= 1, "PCA plan for n = ", n, ", d = ", d);
  PcaPlan p;
  p.n = n;
  p.d = d;
  p.chunk_rows = chunk_rows > 0 ? std::min(chunk_rows, n)
                                : std::clamp<int64_t>(kPcaChunkBytes / checked_mul(d, 8), 1, n);
  // Enough rows per segment that a chunk needs at most kMaxGridY of them.
  p.segment_rows = std::max(kPcaSegmentRows, (p.chunk_rows + kMaxGridY - 1) / kMaxGridY);
  p.segments = (p.chunk_rows + p.segment_rows - 1) / p.segment_rows;
  // LAPACK's dsyevd workspace with vectors (1 + 6d + 2d^2), twice over: cuSOLVER
  // asks for a similar amount; the launcher checks its figure against this.
  p.syevd_work = 2 * (1 + 6 * d + 2 * checked_mul(d, d));
  const std::vector<Allocation> model = {{"PCA mean", bytes_of(d, 8)},
                                         {"PCA covariance", bytes_of(checked_mul(d, d), 8)}};
  add_stage(p.memory, "covariance", model + std::vector<Allocation>{
      {"PCA row chunk", bytes_of(checked_mul(p.chunk_rows, d), 4)},
      {"PCA centred chunk", bytes_of(checked_mul(p.chunk_rows, d), 8)},
      {"PCA column sums", bytes_of(checked_mul(p.segments, d), 8)}});
  add_stage(p.memory, "eigen", model + std::vector<Allocation>{
      {"PCA eigenvalues", bytes_of(d, 8)}, {"cuSOLVER info", 4},
      {"cuSOLVER syevd workspace", bytes_of(p.syevd_work, 8)}});
  return p;
}

}  // namespace prism::cuda::plan
