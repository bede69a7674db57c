// Non-owning views over caller memory. A MatrixView is rows x cols, row-major, with a row stride in
// elements (stride >= cols). Views never allocate or free.
#pragma once
#include <cstddef>
#include <cstdint>

namespace simsage {

template <typename T>
struct MatrixView {
  T* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t stride = 0;  // elements between consecutive rows

  MatrixView() = default;
  MatrixView(T* d, int64_t r, int64_t c) : data(d), rows(r), cols(c), stride(c) {}
  MatrixView(T* d, int64_t r, int64_t c, int64_t s) : data(d), rows(r), cols(c), stride(s) {}

  T* row(int64_t i) const { return data + i * stride; }
  bool empty() const { return rows == 0 || cols == 0; }
};

template <typename T>
struct VectorView {
  T* data = nullptr;
  int64_t size = 0;

  VectorView() = default;
  VectorView(T* d, int64_t n) : data(d), size(n) {}
  T& operator[](int64_t i) const { return data[i]; }
};

}  // namespace simsage
