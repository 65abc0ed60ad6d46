#pragma once
// Which device runs the work. Public: builds without nvcc.
#include <string>

namespace prism {

enum class Backend { automatic, cpu, cuda };

/// Parses "auto" | "cpu" | "cuda"; throws InputError otherwise.
Backend parse_backend(const std::string& s);
const char* to_string(Backend b);

/// True when Prism was built with CUDA and a device is present.
bool cuda_available();
/// "NVIDIA H200 (132 SMs, 139 GiB)" or why there is none ("built without CUDA", "no device").
std::string cuda_device_description();

/// automatic -> cuda when available, else cpu. cuda without a device throws
/// InputError saying what was needed.
Backend resolve_backend(Backend requested);

}  // namespace prism
