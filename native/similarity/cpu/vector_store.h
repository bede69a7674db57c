// The storage behind EmbeddingIndex: vectors in panel-major layout (similarity.h) so searches run
// the fused kernel without repacking, their ids, |x|^2 for l2, and an id -> row map.
//
// Concurrency: searches take a shared lock, mutations an exclusive one, so a search never sees a
// half-applied add. A mutation waits for searches in flight (documented in the TS API).
// Cosine stores unit-length vectors (a zero vector stays zero and scores 0 against everything).
#pragma once
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "similarity/cpu/filters.h"
#include "similarity/similarity.h"

namespace simsage {

class VectorStore {
 public:
  VectorStore(int64_t dim, Metric metric);
  ~VectorStore();
  VectorStore(const VectorStore&) = delete;
  VectorStore& operator=(const VectorStore&) = delete;

  int64_t dim() const { return dim_; }
  Metric metric() const { return metric_; }
  int64_t size() const;
  int64_t capacity() const;

  // Adds `count` vectors (count x dim, row-major). An id already present is replaced; within one
  // call a repeated id keeps its last vector. Everything is checked (ids >= 0 and <= 2^53 - 1,
  // finite values) and memory reserved before anything changes: on error nothing is applied.
  // `normalized`: vectors are already unit length (a loaded cosine file); skip renormalising.
  void add(const int64_t* ids, const float* vectors, int64_t count, bool normalized = false);

  // Removes the ids present; returns how many were removed. The last row moves into each hole.
  int64_t remove(const int64_t* ids, int64_t count);
  bool has(int64_t id) const;
  void reserve(int64_t rows);

  // Searches the stored vectors; p.dim must equal dim(). Filters are in id space.
  TopkStats search(const TopkParams& p, const FilterSpec& filter) const;
  TopkStats search_at(SimdLevel level, const TopkParams& p, const FilterSpec& filter) const;

  // Copies all rows out in row order: vectors size() x dim (row-major), ids size().
  // `max_rows` guards the caller's buffers: fewer rows than size() is an error.
  void export_rows(float* vectors, int64_t* ids, int64_t max_rows) const;

 private:
  void ensure_capacity(int64_t rows);  // requires the exclusive lock
  void write_row(int64_t row, const float* v);
  void move_row(int64_t from, int64_t to);

  const int64_t dim_;
  const Metric metric_;
  mutable std::shared_mutex mu_;
  float* panels_ = nullptr;  // capacity_ / 16 panels of dim x 16 floats, 64-byte aligned
  int64_t capacity_ = 0;     // rows, multiple of 16
  int64_t n_ = 0;
  std::vector<float> sq_norms_;
  std::vector<int64_t> ids_;
  std::unordered_map<int64_t, int64_t> rows_;
};

}  // namespace simsage
