#pragma once
// How much memory this process may still use, and the check every large
// allocation goes through first: a job that cannot fit fails at once, with
// the figure it needs and what to try, instead of being killed halfway.
#include <cstdint>
#include <string>
#include <vector>

namespace prism {

/// What is left to allocate, in bytes, and which limit decides it.
struct MemoryBudget {
  int64_t bytes = 0;
  /// "available memory" (MemAvailable), "the cgroup memory limit", "the address-space
  /// limit (ulimit -v)" or "PRISM_MEMORY_LIMIT".
  std::string limited_by;
};

/// The smallest of: the system's available memory (/proc/meminfo MemAvailable,
/// which counts reclaimable page cache), what the process's cgroup limit leaves
/// (v1 or v2, reclaimable file cache counted as free), what RLIMIT_AS leaves
/// (ulimit -v: limit minus the current address-space size) and the environment
/// variable PRISM_MEMORY_LIMIT ("8G", "512M", bytes) minus the anonymous resident
/// size (a memory-mapped input's pages do not count: they can be re-read).
MemoryBudget memory_budget();

/// One line of an estimate: "kNN graph (N x k ids and distances)".
struct MemoryItem {
  std::string what;
  int64_t bytes = 0;
};

struct MemoryEstimate {
  std::vector<MemoryItem> items;
  void add(std::string what, int64_t bytes) { items.push_back({std::move(what), bytes}); }
  int64_t total() const;
  /// "1.2 GiB: kNN graph 0.8 GiB, t-SNE state 0.4 GiB".
  std::string describe() const;
};

/// Throws RuntimeError when `need` does not fit memory_budget(): the message
/// names `task`, the total and its largest parts, the budget and its limit, and `advice`.
void require_memory(const MemoryEstimate& need, const std::string& task, const std::string& advice);
/// The same for a single allocation of `bytes`.
void require_memory(int64_t bytes, const std::string& task, const std::string& advice);

/// "1.5 GiB", "512 MiB", "12 KiB", "100 B".
std::string human_bytes(double bytes);

}  // namespace prism
