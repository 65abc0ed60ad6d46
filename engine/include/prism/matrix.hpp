#pragma once
// Row-major matrix views and an owning float matrix.
// Layout everywhere in Prism: row i, column j is data[i * stride + j].
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "prism/error.hpp"

namespace prism {

/// a * b for sizes, throwing instead of overflowing (10M x 768 overflows int32).
inline int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  PRISM_CHECK(!__builtin_mul_overflow(a, b, &r), "size overflow ", a, " * ", b);
  return r;
}

/// Narrowing cast that throws when the value does not fit (launch dimensions, int32 ids).
template <class To, class From>
To checked_cast(From v) {
  static_assert(std::is_integral_v<To> && std::is_integral_v<From>);
  PRISM_CHECK(std::in_range<To>(v), "value ", v, " does not fit the target type");
  return static_cast<To>(v);
}

/// Non-owning view of a row-major matrix; `stride` is in elements (>= cols).
template <class T>
struct MatrixView {
  T* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t stride = 0;

  MatrixView() = default;
  MatrixView(T* d, int64_t r, int64_t c) : data(d), rows(r), cols(c), stride(c) {}
  MatrixView(T* d, int64_t r, int64_t c, int64_t s) : data(d), rows(r), cols(c), stride(s) {}
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  MatrixView(const MatrixView<U>& o) : data(o.data), rows(o.rows), cols(o.cols), stride(o.stride) {}

  T* row(int64_t i) const { return data + i * stride; }
  T& operator()(int64_t i, int64_t j) const { return data[i * stride + j]; }
  bool empty() const { return rows == 0 || cols == 0; }
  bool contiguous() const { return stride == cols; }
};

using ConstView = MatrixView<const float>;

/// Owning row-major float matrix (contiguous).
class Matrix {
 public:
  Matrix() = default;
  Matrix(int64_t rows, int64_t cols, float fill = 0.0f)
      : rows_(rows), cols_(cols), data_(static_cast<size_t>(checked_mul(rows, cols)), fill) {}

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float* row(int64_t i) { return data_.data() + i * cols_; }
  const float* row(int64_t i) const { return data_.data() + i * cols_; }
  float& operator()(int64_t i, int64_t j) { return data_[i * cols_ + j]; }
  float operator()(int64_t i, int64_t j) const { return data_[i * cols_ + j]; }
  /// Keeps the first `rows` rows (or appends zero rows).
  void resize_rows(int64_t rows) {
    data_.resize(static_cast<size_t>(checked_mul(rows, cols_)));
    rows_ = rows;
  }
  std::vector<float>& storage() { return data_; }
  const std::vector<float>& storage() const { return data_; }

  MatrixView<float> view() { return {data_.data(), rows_, cols_}; }
  ConstView view() const { return {data_.data(), rows_, cols_}; }
  operator ConstView() const { return view(); }

 private:
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  std::vector<float> data_;
};

/// Copies a (possibly strided) view into an owning matrix.
inline Matrix to_matrix(ConstView v) {
  Matrix m(v.rows, v.cols);
  for (int64_t i = 0; i < v.rows; ++i)
    std::copy(v.row(i), v.row(i) + v.cols, m.row(i));
  return m;
}

/// Rows scaled to unit L2 norm (zero rows stay zero): cosine as euclidean.
Matrix normalised_rows(ConstView x);

}  // namespace prism
