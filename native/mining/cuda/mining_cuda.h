// CUDA twins of the mining family's entry points (mining/mining.h): same names, same params structs,
// same results. A plain C++ header (no CUDA types): the CPU dispatcher, the tests and bench_cuda
// include it. Built only with the CUDA backend (SIMSAGE_WITH_CUDA); callers guard their uses.
//
// Two forms per entry point:
//   name(params)         HOST pointers, exactly like the CPU function: checks the arguments with the
//                        CPU's check functions (same error codes), uploads, runs, downloads. What the
//                        public entry points call when preferred_backend() is Cuda.
//   name_device(params)  DEVICE pointers in the same struct (embeddings, labels, distances,
//                        distance_buffer, triplets, grad, out): what bench_cuda times and what a
//                        device-resident pipeline calls. Checks the scalar arguments only; array
//                        contents are trusted (finite embeddings, labels with two classes, triplet
//                        indices in [0, b)): the host form checked them.
// Results equal the CPU's: distances within float rounding of the GEMM order (the matrix is exactly
// symmetric, its diagonal exact as on the CPU); mined triplets identical, in the CPU's order, with
// the CPU's tie rules (whenever the CPU and CUDA distance matrices order the candidates the same,
// which they do when the matrix is given in `distances`); loss and gradient within float rounding
// (the gradient is accumulated with float atomics, in no fixed order).
//
// Distance-weighted sampling (mine_distance_weighted) has no CUDA twin: it stays on the CPU (its
// per-anchor SplitMix64 streams and double CDF walk are cheap next to the distance matrix, and the
// CPU's draw order defines its output).
//
// Work runs on this thread's stream (core/cuda/runtime.h). Device scratch (per-anchor counts,
// offsets, pair slots, a b x b matrix when neither `distances` nor `distance_buffer` is given) is
// kept per thread and grows to the largest size asked for, like mining/cpu/scratch.h. Every CUDA
// error is a simsage::Error (ERR_SIMSAGE_CUDA; a failed allocation ERR_SIMSAGE_OUT_OF_MEMORY).
#pragma once
#include <cstdint>
#include <vector>

#include "core/cuda/runtime.h"
#include "mining/mining.h"

namespace simsage::mining::cuda {

using simsage::cuda::DeviceArray;

// ---- pairwise distances (distances.cu) ----------------------------------------------------------

// p.out: b x b (host). p.threads is ignored.
void pairwise_distances(const PairwiseParams& p);
// p.embeddings (b x dim) and p.out (b x b) on the device.
void pairwise_distances_device(const PairwiseParams& p);

// ---- miners (miners.cu: batch-hard, semi-hard; filtered.cu: the filter miner) -----------------

// Host forms: p.embeddings, p.labels, p.distances (b x b, optional) on the host. A host
// p.distance_buffer is not written: the matrix is computed on the device (p.distances, when given,
// is uploaded and used as the CPU uses it).
int64_t mine_filtered(const MineParams& p, TripletFilter filter, int64_t max_triplets, std::vector<int32_t>* out);
void mine_batch_hard(const MineParams& p, std::vector<int32_t>* out);
void mine_semi_hard(const MineParams& p, std::vector<int32_t>* out);

// Device forms: p.embeddings, p.labels, p.distances and p.distance_buffer on the device (b x b;
// with neither, a per-thread device scratch matrix is used). *out grows to hold the T x 3 triplets
// (it may stay larger); the T written are its first 3 T entries.
// mine_filtered_device returns the number that pass the filter (as the host form) and sets *written
// to min(total, max_triplets) (all when max_triplets < 0).
int64_t mine_filtered_device(const MineParams& p, TripletFilter filter, int64_t max_triplets, DeviceArray<int32_t>* out,
                             int64_t* written);
int64_t mine_batch_hard_device(const MineParams& p, DeviceArray<int32_t>* out);  // returns T
int64_t mine_semi_hard_device(const MineParams& p, DeviceArray<int32_t>* out);   // returns T

// ---- triplet loss (losses.cu) -------------------------------------------------------------------

// Float only (the double entry point is for the CPU's gradient checks). p.threads is ignored.
TripletLossResult triplet_loss(const TripletLossParams& p);
// p.embeddings (b x dim), p.triplets (T x 3) and p.grad (b x dim, or null) on the device.
TripletLossResult triplet_loss_device(const TripletLossParams& p);

}  // namespace simsage::mining::cuda
