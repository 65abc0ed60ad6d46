#pragma once
// Device-memory plans of the CUDA backend: pure host functions (no CUDA
// headers, no device) that decide every large device buffer before anything
// is allocated. Each launcher calls its plan function first and allocates
// exactly the buffers the plan lists, with the sizes taken from the plan's
// fields, so tests/unit/test_cuda_memory_plan.cpp, which runs without a GPU,
// bounds the real peak (10M-point jobs must fit 40 GB); the gpu test
// GpuMemoryPlan.* compares the Context's measured high-water mark with it.
//
// Library scratch (CUB sorts and scans) is an allowance computed from CUB's
// own formulas (cub/device/dispatch/dispatch_radix_sort.cuh: one-sweep bins
// and look-back per portion of at most 2^28 items); the gpu test queries CUB
// for the planned shapes and checks the allowance covers them.
#include <cstdint>
#include <string>
#include <vector>

namespace prism::cuda::plan {

/// One device allocation: what it holds and its size.
struct Allocation {
  std::string what;
  int64_t bytes = 0;
};

/// The allocations alive together during one step of a launcher.
struct Stage {
  std::string name;
  std::vector<Allocation> live;
  int64_t bytes() const;
};

/// A launcher's steps in order; its peak is the largest step.
struct MemoryPlan {
  std::vector<Stage> stages;
  int64_t peak_bytes() const;
  /// The stage with the peak (nullptr when there are none).
  const Stage* peak_stage() const;
  /// "25.4 GiB at 'merge' (t-SNE P columns 6.7 GiB, t-SNE P values 6.7 GiB, ...)".
  std::string describe() const;
};

/// The message of a failed device allocation (after the retry): what asked
/// for how much, what the device has free, and what Prism's memory pool holds
/// (reserved, of which in use) when the pool is used.
std::string out_of_memory_message(const std::string& what, int64_t asked, int64_t device_free,
                                  int64_t device_total, bool pool, int64_t pool_reserved,
                                  int64_t pool_used);

// ---- library scratch allowances (bytes) --------------------------------------

/// CUB DeviceRadixSort::SortPairs of `count` items: with a DoubleBuffer only
/// the one-sweep bins and look-back; otherwise also a copy of keys and values.
int64_t radix_sort_scratch_bytes(int64_t count, int key_bytes, int value_bytes, bool double_buffer);
/// CUB DeviceSegmentedSort::SortPairs with DoubleBuffers (segment partitions).
int64_t segmented_sort_scratch_bytes(int64_t count, int64_t segments);
/// CUB DeviceScan / DeviceReduce over `count` items (tile states, partials).
int64_t scan_scratch_bytes(int64_t count);

// ---- exact kNN (knn/exact.cu) ------------------------------------------------

/// Largest candidate pool the tile selection keeps per query (k + re-rank margin).
inline constexpr int kMaxPool = 2048;
/// GEMM work (N^2 * D multiply-adds) from which exact kNN uses tf32 + re-rank:
/// below it fp32 takes under ~20 ms on an H100 and tf32 would not pay.
inline constexpr double kTf32Work = 2e11;
/// Distance tile: at most kTileRows queries x kTileCols base rows (512 MiB).
inline constexpr int64_t kTileRows = 8192;
inline constexpr int64_t kTileCols = 16384;
/// Tiles in flight: the GEMM fills one while the selection reads the other.
inline constexpr int kTilesInFlight = 2;

enum class GemmChoice { automatic, fp32, tf32 };

/// The pool kept with tf32 dot products: k + max(k, 32), at most n - 1 and kMaxPool.
int tf32_pool(int k, int64_t n);

struct ExactKnnPlan {
  int64_t n = 0, d = 0;
  int k = 0;
  int pool_size = 0;              ///< candidates kept per query (k, or tf32_pool with tf32)
  bool tf32 = false;       ///< tf32 GEMM; the pool is then re-ranked in fp32
  bool refine = false;     ///< exact re-rank from resident rows (needs blocks == 1)
  int64_t block_rows = 0;  ///< rows per host block (n: everything resident)
  int64_t blocks = 1;
  int64_t tile_rows = 0, tile_cols = 0;
  MemoryPlan memory;

  bool resident() const { return blocks == 1; }
  int64_t tile_floats() const { return tile_rows * tile_cols; }
};

/// Exact kNN of n x d rows within `budget_bytes` of device memory: all rows
/// resident with tf32 + re-rank when the work is large (or asked for), else
/// fp32; shrinks the tiles, then streams host blocks, when the budget is
/// small. Throws RuntimeError when even 1024-row blocks do not fit.
ExactKnnPlan plan_exact_knn(int64_t n, int64_t d, int k, GemmChoice gemm, int64_t budget_bytes);

// ---- IVF-flat approximate kNN (knn/ivf.cu) -------------------------------------

/// Default list count: round(sqrt(n)), in [1, 8192].
int ivf_nlist(int64_t n);
/// The nprobe values the calibration tries in order: 32, then x1.5 each step,
/// ending at the cap max(256, nlist / 8) (never above nlist or kMaxPool).
std::vector<int> ivf_nprobe_ladder(int nlist);
/// Queries of the calibration sample (their exact lists are computed too).
inline constexpr int64_t kIvfCalibrationQueries = 1024;
/// Largest size of one search batch's per-query arrays (probes, pairs, lists).
inline constexpr int64_t kIvfBatchBytes = int64_t{4} << 30;

struct IvfPlan {
  int64_t n = 0, d = 0;
  int k = 0;
  int nlist = 0;
  int nprobe = 0;                ///< the largest nprobe the search may use (sizes the batches)
  int pool_size = 0;                    ///< candidates per query before the fp32 re-rank
  bool tf32 = true;
  int64_t sample_rows = 0;       ///< k-means training sample (64 rows per list)
  int64_t tile_floats = 0;       ///< one tile of dot products
  int64_t query_chunk = 0;       ///< gathered query rows per GEMM
  int64_t base_chunk = 0;        ///< list rows per GEMM
  int64_t batch_rows = 0;        ///< queries per search batch (probes, pairs, candidate lists)
  int64_t calibration_queries = 0;
  MemoryPlan memory;
};

/// IVF-flat for n x d rows: nlist (0: ivf_nlist) lists, at most `nprobe`
/// probes per query (0: the top of ivf_nprobe_ladder), queries searched in
/// batches so that the probe pairs stay under kIvfBatchBytes and the whole
/// peak under `budget_bytes`. Throws RuntimeError when the resident data do not fit.
/// max_batch_rows > 0 caps the batch (tests use it to force several batches).
IvfPlan plan_ivf(int64_t n, int64_t d, int k, int nlist, int nprobe, bool tf32,
                 bool calibrate, int64_t budget_bytes, int64_t max_batch_rows = 0);

// ---- t-SNE input similarities (tsne/affinities.cu) --------------------------------

struct TsneAffinityPlan {
  int64_t n = 0;
  int k = 0;
  int64_t edges = 0;     ///< n * k directed kNN edges
  int64_t max_nnz = 0;   ///< 2 n k: the symmetric P when no edge is mutual
  int id_bits = 0;       ///< bits of a point id (radix sort passes of the transpose)
  MemoryPlan memory;
};

/// P = (P_j|i + P_i|j) / total from an n x k kNN graph: calibration, each row
/// sorted by column (segmented sort), the transpose by a stable 32-bit radix
/// sort of (column, edge), then a per-row merge of the two sorted lists
/// (count, scan, fill). ids, distances and P_j|i are 4 bytes per edge.
TsneAffinityPlan plan_tsne_affinities(int64_t n, int k);

// ---- UMAP (umap/spectral.cu, umap/sgd.cu) ---------------------------------------

struct UmapMemoryPlan {
  int64_t n = 0;
  int64_t edges = 0;      ///< stored entries of the symmetric fuzzy graph
  int dims = 2;
  bool deterministic = false;
  int spectral_block = 0; ///< vectors of the subspace iteration (dims + 3)
  MemoryPlan memory;
};

/// The spectral initialisation (graph, degrees, three n x (dims + 3) double
/// blocks) and the SGD state (six per-edge arrays, the layout, the
/// fixed-point accumulator when deterministic); they never live together.
UmapMemoryPlan plan_umap(int64_t n, int64_t edges, int dims, bool deterministic);
/// Upper bound on the fuzzy graph's entries for a k-neighbour graph: 2 n k.
int64_t umap_max_edges(int64_t n, int k);

// ---- PCA (pca/pca.cu) -----------------------------------------------------------

/// Rows summed by one block of the column-sum kernel, at least; more when a
/// chunk would need more than kMaxGridY segments.
inline constexpr int64_t kPcaSegmentRows = 1024;
inline constexpr int64_t kMaxGridY = 65535;
inline constexpr int64_t kPcaChunkBytes = int64_t{512} << 20;

struct PcaPlan {
  int64_t n = 0, d = 0;
  int64_t chunk_rows = 0;     ///< rows uploaded per pass step
  int64_t segment_rows = 0;   ///< rows per column-sum block
  int64_t segments = 0;       ///< column-sum blocks per chunk (<= kMaxGridY)
  int64_t syevd_work = 0;     ///< allowance for cuSOLVER syevd's workspace (doubles)
  MemoryPlan memory;
};

/// chunk_rows 0: as many rows as fit kPcaChunkBytes of centred doubles.
PcaPlan plan_pca(int64_t n, int64_t d, int64_t chunk_rows = 0);

}  // namespace prism::cuda::plan
