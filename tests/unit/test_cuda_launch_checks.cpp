// -DPRISM_CUDA_SYNC_DEBUG=ON must reach every launch: the sync-debug wait
// lives in PRISM_CUDA_LAUNCH_CHECK and in the PRISM_*_TRY macros, so every
// kernel launch in kernels/ must be followed by PRISM_CUDA_LAUNCH_CHECK and
// every CUB / cuBLAS / cuSOLVER / copy call must be wrapped in a TRY macro.
// This reads the sources (comments and strings removed, split into
// statements) and fails naming the file and line of each unchecked launch.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Fragment {
  std::string text;
  int line = 0;
};

// Comments, string and character literals become spaces (newlines are kept).
std::string strip(const std::string& src) {
  std::string out = src;
  enum { code, line_comment, block_comment, string, character } st = code;
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i], next = i + 1 < out.size() ? out[i + 1] : '\0';
    switch (st) {
      case code:
        if (c == '/' && next == '/') st = line_comment, out[i] = ' ';
        else if (c == '/' && next == '*') st = block_comment, out[i] = ' ';
        else if (c == '"') st = string, out[i] = ' ';
        else if (c == '\'') st = character, out[i] = ' ';
        break;
      case line_comment:
        if (c == '\n') st = code;
        else out[i] = ' ';
        break;
      case block_comment:
        if (c == '*' && next == '/') st = code, out[i] = out[i + 1] = ' ', ++i;
        else if (c != '\n') out[i] = ' ';
        break;
      case string:
      case character:
        if (c == '\\') out[i] = ' ', out[i + 1] = out[i + 1] == '\n' ? '\n' : ' ', ++i;
        else if ((st == string && c == '"') || (st == character && c == '\'')) st = code, out[i] = ' ';
        else if (c != '\n') out[i] = ' ';
        break;
    }
  }
  return out;
}

// Statements: split at ; { } outside parentheses and brackets.
std::vector<Fragment> statements(const std::string& code) {
  std::vector<Fragment> out;
  std::string cur;
  int depth = 0, line = 1, start_line = 1;
  auto flush = [&] {
    const size_t b = cur.find_first_not_of(" \t\n\r"), e = cur.find_last_not_of(" \t\n\r");
    if (b != std::string::npos) out.push_back({cur.substr(b, e - b + 1), start_line});
    cur.clear();
  };
  for (char c : code) {
    if (cur.find_first_not_of(" \t\n\r") == std::string::npos) start_line = line;
    if (c == '\n') ++line;
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ';' || c == '{' || c == '}')) {
      flush();
      continue;
    }
    cur += c;
  }
  flush();
  return out;
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

struct Report {
  int launches = 0, library_calls = 0;
  std::vector<std::string> problems;
};

void check_file(const fs::path& path, Report& r) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::vector<Fragment> st = statements(strip(ss.str()));
  static const std::regex library_call(
      R"((cub::Device\w+::\w+|cublas[A-Z]\w*|cusolverDn[A-Z]\w*|cudaMemcpy\w*|cudaMemset\w*)\s*\()");
  static const std::regex not_a_launch(
      R"(^(cublasCreate|cublasDestroy|cublasGetStatusName|cusolverDnCreate|cusolverDnDestroy)$)");
  const std::string where = path.filename().string() + ":";
  for (size_t i = 0; i < st.size(); ++i) {
    const std::string& s = st[i].text;
    if (s.find("<<<") != std::string::npos) {
      ++r.launches;
      size_t j = i + 1;
      while (j < st.size() && starts_with(st[j].text, "else") &&
             st[j].text.find("<<<") != std::string::npos)
        ++j;
      if (j >= st.size() || !starts_with(st[j].text, "PRISM_CUDA_LAUNCH_CHECK("))
        r.problems.push_back(where + std::to_string(st[i].line) +
                             ": kernel launch not followed by PRISM_CUDA_LAUNCH_CHECK");
    }
    for (auto it = std::sregex_iterator(s.begin(), s.end(), library_call); it != std::sregex_iterator();
         ++it) {
      const std::string name = (*it)[1].str();
      if (std::regex_match(name, not_a_launch)) continue;
      // Declarations of our own wrappers are not calls into the libraries.
      ++r.library_calls;
      const std::string before = s.substr(0, static_cast<size_t>(it->position()));
      const bool wrapped = before.find("PRISM_CUDA_TRY(") != std::string::npos ||
                           before.find("PRISM_CUBLAS_TRY(") != std::string::npos ||
                           before.find("PRISM_CUSOLVER_TRY(") != std::string::npos;
      if (!wrapped)
        r.problems.push_back(where + std::to_string(st[i].line) + ": " + name +
                             " outside PRISM_CUDA_TRY / PRISM_CUBLAS_TRY / PRISM_CUSOLVER_TRY");
    }
  }
}

Report check_tree(const fs::path& root) {
  Report r;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".cu" || ext == ".cuh" || ext == ".cpp")) check_file(e.path(), r);
  }
  return r;
}

TEST(CudaLaunchChecks, EveryLaunchInKernelsIsChecked) {
  const Report r = check_tree(fs::path(PRISM_SOURCE_DIR) / "kernels");
  // Not vacuous: the backend has dozens of each.
  EXPECT_GE(r.launches, 30);
  EXPECT_GE(r.library_calls, 30);
  for (const std::string& p : r.problems) ADD_FAILURE() << p;
}

TEST(CudaLaunchChecks, TheCheckerFindsAnUncheckedLaunch) {
  const fs::path dir = fs::temp_directory_path() / "prism_launch_checks";
  fs::create_directories(dir);
  std::ofstream(dir / "bad.cu") << "void f(Context& c) {\n"
                                   "  // a comment with kernel<<<1, 1>>>(); is ignored\n"
                                   "  good<<<grid_for(n, 256), 256, 0, c.stream()>>>(x);\n"
                                   "  PRISM_CUDA_LAUNCH_CHECK(c.stream());\n"
                                   "  if (a) k<2><<<1, 32>>>(y);\n"
                                   "  else k<3><<<1, 32>>>(y);\n"
                                   "  PRISM_CUDA_LAUNCH_CHECK(s);\n"
                                   "  bad<<<1, 32, 0, s>>>(z);\n"
                                   "  PRISM_CUDA_TRY(cudaMemcpyAsync(a, b, n, k, s));\n"
                                   "  cub::DeviceReduce::Sum(t, b, i, o, n, s);\n"
                                   "  cublasDestroy(h);\n"
                                   "}\n";
  const Report r = check_tree(dir);
  fs::remove_all(dir);
  EXPECT_EQ(r.launches, 4);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_NE(r.problems[0].find("bad.cu:8: kernel launch"), std::string::npos) << r.problems[0];
  EXPECT_NE(r.problems[1].find("bad.cu:10: cub::DeviceReduce::Sum"), std::string::npos) << r.problems[1];
}

}  // namespace
