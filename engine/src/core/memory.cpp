// The memory budget: the tightest of the system's available memory, the
// cgroup limit, the address-space limit and PRISM_MEMORY_LIMIT.
#include "prism/memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "prism/error.hpp"

namespace prism {
namespace {

constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();
// Below this the check is not worth its /proc reads (and cannot matter).
constexpr int64_t kSmall = int64_t{32} << 20;

/// The first number in a file, or -1 ("max" and unreadable files are -1).
int64_t read_number(const std::string& path) {
  std::ifstream f(path);
  long long v = -1;
  if (!(f >> v)) return -1;
  return v;
}

/// "key value" lines (memory.stat, /proc/meminfo, /proc/self/status): the
/// number after `key` (a trailing ':' on the key is ignored), or -1.
int64_t read_keyed(const std::string& path, const std::string& key) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    size_t at = key.size();
    if (at < line.size() && line[at] == ':') ++at;
    if (at >= line.size() || !std::isspace(static_cast<unsigned char>(line[at]))) continue;
    char* end = nullptr;
    const long long v = std::strtoll(line.c_str() + at, &end, 10);
    if (end != line.c_str() + at) return v;
  }
  return -1;
}

/// Anonymous resident memory (heap, not file pages: a memory-mapped input's
/// pages can be dropped and re-read) and address-space size of this process, in bytes.
void process_size(int64_t* anon_resident, int64_t* virt) {
  *anon_resident = std::max<int64_t>(0, read_keyed("/proc/self/status", "RssAnon")) * 1024;
  *virt = std::max<int64_t>(0, read_keyed("/proc/self/status", "VmSize")) * 1024;
}

/// Memory the cgroup limits leave to this process, or kUnlimited.
int64_t cgroup_left() {
  std::ifstream f("/proc/self/cgroup");
  std::string line, v1_path, v2_path;
  bool have_v2 = false;
  while (std::getline(f, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    std::stringstream cs(controllers);
    std::string c;
    while (std::getline(cs, c, ','))
      if (c == "memory") v1_path = path;
    if (controllers.empty()) v2_path = path, have_v2 = true;
  }
  int64_t best = kUnlimited;
  if (!v1_path.empty()) {
    // v1: the group's folder under the mount, or the mount itself inside a cgroup namespace.
    for (const std::string& dir : {"/sys/fs/cgroup/memory" + v1_path, std::string("/sys/fs/cgroup/memory")}) {
      const int64_t limit = read_keyed(dir + "/memory.stat", "hierarchical_memory_limit");
      const int64_t usage = read_number(dir + "/memory.usage_in_bytes");
      if (limit < 0 || usage < 0) continue;
      if (limit >= (int64_t{1} << 60)) break;  // no limit
      const int64_t cache = std::max<int64_t>(0, read_keyed(dir + "/memory.stat", "total_inactive_file"));
      best = std::min(best, limit - usage + cache);
      break;
    }
  }
  if (have_v2) {
    // v2: every ancestor's memory.max applies; walk up to the mount.
    std::string rel = v2_path;
    for (;;) {
      const std::string dir = "/sys/fs/cgroup" + (rel == "/" ? std::string() : rel);
      const int64_t limit = read_number(dir + "/memory.max");  // -1 for "max"
      const int64_t current = read_number(dir + "/memory.current");
      if (limit >= 0 && current >= 0) {
        const int64_t cache = std::max<int64_t>(0, read_keyed(dir + "/memory.stat", "inactive_file"));
        best = std::min(best, limit - current + cache);
      }
      if (rel.empty() || rel == "/") break;
      const size_t slash = rel.rfind('/');
      rel = slash == 0 || slash == std::string::npos ? "/" : rel.substr(0, slash);
    }
  }
  return best;
}

/// "8G", "512M", "100k", "123" (bytes); -1 when malformed.
int64_t parse_size(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || v < 0) return -1;
  double scale = 1;
  std::string unit(end);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back()))) unit.pop_back();
  if (!unit.empty()) {
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
      case 'K': scale = 1024.0; break;
      case 'M': scale = 1024.0 * 1024; break;
      case 'G': scale = 1024.0 * 1024 * 1024; break;
      case 'T': scale = 1024.0 * 1024 * 1024 * 1024; break;
      case 'B': break;
      default: return -1;
    }
  }
  return static_cast<int64_t>(v * scale);
}

}  // namespace

MemoryBudget memory_budget() {
  MemoryBudget b{kUnlimited, "available memory"};
  auto consider = [&](int64_t bytes, const char* why) {
    if (bytes < b.bytes) b = {std::max<int64_t>(bytes, 0), why};
  };
  const int64_t avail_kib = read_keyed("/proc/meminfo", "MemAvailable");
  if (avail_kib >= 0) consider(avail_kib * 1024, "available memory");
  consider(cgroup_left(), "the cgroup memory limit");
  int64_t resident = 0, virt = 0;
  process_size(&resident, &virt);
  rlimit as{};
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
    consider(static_cast<int64_t>(as.rlim_cur) - virt, "the address-space limit (ulimit -v)");
  if (const char* env = std::getenv("PRISM_MEMORY_LIMIT")) {
    const int64_t limit = parse_size(env);
    PRISM_EXPECTS(limit >= 0, "PRISM_MEMORY_LIMIT='", env, "' is not a size (expected e.g. 8G, 512M or bytes)");
    consider(limit - resident, "PRISM_MEMORY_LIMIT");
  }
  return b;
}

int64_t MemoryEstimate::total() const {
  int64_t t = 0;
  for (const auto& i : items) t += i.bytes;
  return t;
}

std::string MemoryEstimate::describe() const {
  std::vector<MemoryItem> sorted = items;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
  std::string s = human_bytes(static_cast<double>(total()));
  const char* sep = " (";
  for (const auto& i : sorted) {
    if (i.bytes < total() / 50) break;  // the parts that matter
    s += cat(sep, i.what, " ", human_bytes(static_cast<double>(i.bytes)));
    sep = ", ";
  }
  if (std::string(sep) == ", ") s += ")";
  return s;
}

void require_memory(const MemoryEstimate& need, const std::string& task, const std::string& advice) {
  if (need.total() < kSmall) return;
  const MemoryBudget b = memory_budget();
  if (need.total() <= b.bytes) return;
  throw RuntimeError(cat(task, " needs about ", need.describe(), ", but only ",
                         human_bytes(static_cast<double>(b.bytes)), " is left (", b.limited_by, ")",
                         advice.empty() ? "" : ": ", advice));
}

void require_memory(int64_t bytes, const std::string& task, const std::string& advice) {
  if (bytes < kSmall) return;
  const MemoryBudget b = memory_budget();
  if (bytes <= b.bytes) return;
  throw RuntimeError(cat(task, " needs ", human_bytes(static_cast<double>(bytes)), ", but only ",
                         human_bytes(static_cast<double>(b.bytes)), " is left (", b.limited_by, ")",
                         advice.empty() ? "" : ": ", advice));
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : (b < 10 ? "%.1f %s" : "%.0f %s"), b, units[u]);
  return buf;
}

}  // namespace prism
