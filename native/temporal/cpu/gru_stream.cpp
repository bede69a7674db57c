// GRU streaming on the CPU: one batched step for many streams, and a stream's state as a versioned,
// checksummed blob (formats in temporal/temporal.h). A step runs the forward's own pieces (the same
// GEMMs and gate kernels, one row per stream), so it reproduces the full forward at that position.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/checksum.h"
#include "core/error.h"
#include "core/finite.h"
#include "core/parallel.h"
#include "nn/nn.h"
#include "temporal/cpu/gru_cell_kernels.h"
#include "temporal/cpu/gru_checks.h"
#include "temporal/temporal.h"

namespace simsage {

namespace {

float* grow(int slot, int64_t n) {
  thread_local std::vector<float> v[4];
  if (v[slot].size() < static_cast<size_t>(n)) v[slot].resize(static_cast<size_t>(n));
  return v[slot].data();
}

void gemm_nt(SimdLevel level, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c, int64_t ldc,
             int threads) {
  GemmParams g;
  g.trans_b = true;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a;
  g.lda = k;
  g.b = b;
  g.ldb = k;
  g.c = c;
  g.ldc = ldc;
  // A step of a few streams is less work than waking a pool worker (and the packing's hand-off):
  // below 2^18 multiply-adds it runs on the calling thread (gemm_at's sums do not depend on threads).
  g.threads = static_cast<double>(m) * n * k < (1 << 18) ? 1 : threads;
  gemm_at(level, g);
}

// ---- state blobs ----

constexpr uint8_t kMagic[4] = {'S', 'G', 'R', 'U'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 20;  // magic, version, fingerprint, float count

// FNV-1a over "gru", layers, D and H (each as 8 little-endian bytes).
uint64_t fingerprint(const GruWeights& w) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint8_t byte) { h = (h ^ byte) * 1099511628211ull; };
  for (char ch : std::string("gru")) mix(static_cast<uint8_t>(ch));
  for (int64_t v : {w.layers, w.input_size, w.hidden_size})
    for (int k = 0; k < 8; ++k) mix(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * k)));
  return h;
}

}  // namespace

void gru_stream_step_at(SimdLevel level, const GruStreamStepParams& p) {
  temporal::cpu::check_gru_stream_step(p);
  if (p.rows == 0) return;
  const temporal::cpu::GruCellKernels& kern = temporal::cpu::gru_cell_kernels_for(level);
  const int64_t L = p.w.layers, R = p.rows, D = p.w.input_size, H = p.w.hidden_size, G = 4 * H;
  float* hp = grow(0, R * H);     // previous states of the layer, after carry
  float* hin = grow(1, R * H);    // the layer's new states = the next layer's input
  float* gates = grow(2, R * G);  // input projection, then the gates
  float* gh = grow(3, R * 3 * H);
  const int64_t chunk = 4096 / H < 1 ? 1 : 4096 / H;
  for (int64_t l = 0; l < L; ++l) {
    const float* w_ih = p.w.tensors[4 * l];
    const float* w_hh = p.w.tensors[4 * l + 1];
    const float* b_ih = p.w.tensors[4 * l + 2];
    const float* b_hh = p.w.tensors[4 * l + 3];
    for (int64_t r = 0; r < R; ++r) {
      const int64_t s = p.active ? p.active[r] : r;
      const float* src = p.state + (s * L + l) * H;
      const float c = p.carry ? p.carry[r] : 1.f;
      for (int64_t j = 0; j < H; ++j) hp[r * H + j] = c == 1.f ? src[j] : c * src[j];
    }
    const float* in = l == 0 ? p.x : hin;
    gemm_nt(level, R, 3 * H, l == 0 ? D : H, in, w_ih, gates, G, p.threads);
    gemm_nt(level, R, 3 * H, H, hp, w_hh, gh, 3 * H, p.threads);
    parallel_chunks(R, chunk, p.threads, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t s = p.active ? p.active[r] : r;
        float* h = l == L - 1 ? p.y + r * H : hin + r * H;
        kern.fwd(H, gates + r * G, gh + r * 3 * H, b_ih, b_hh, hp + r * H, gates + r * G, h);
        std::memcpy(p.state + (s * L + l) * H, h, sizeof(float) * H);
      }
    });
  }
}

void gru_stream_step(const GruStreamStepParams& p) { gru_stream_step_at(active_simd_level(), p); }

size_t gru_state_bytes(const GruWeights& w) {
  temporal::cpu::check_gru_shape("gru_state_bytes", w);
  return kHeader + sizeof(float) * static_cast<size_t>(w.layers * w.hidden_size) + sizeof(uint32_t);
}

void gru_state_save(const GruWeights& w, const float* state, uint8_t* out) {
  const char* fn = "gru_state_save";
  const size_t size = gru_state_bytes(w);
  need(state && out, ErrorCode::InvalidArgument, fn, "null state or output");
  const uint32_t count = static_cast<uint32_t>(w.layers * w.hidden_size);
  const uint64_t fp = fingerprint(w);
  std::memcpy(out, kMagic, 4);
  put_u32(out + 4, kVersion);
  put_u64(out + 8, fp);
  put_u32(out + 16, count);
  std::memcpy(out + kHeader, state, sizeof(float) * count);
  const uint32_t crc = crc32_update(0, out, size - 4);
  put_u32(out + size - 4, crc);
}

void gru_state_restore(const GruWeights& w, const uint8_t* bytes, size_t size, float* state) {
  const char* fn = "gru_state_restore";
  const size_t want = gru_state_bytes(w);
  need(state != nullptr, ErrorCode::InvalidArgument, fn, "null state");
  need(bytes != nullptr || size == 0, ErrorCode::InvalidArgument, fn, "null bytes");
  need(size >= kHeader + 4, ErrorCode::CorruptFile, fn,
       "a GRU state blob has at least " + std::to_string(kHeader + 4) + " bytes, got " + std::to_string(size));
  need(std::memcmp(bytes, kMagic, 4) == 0, ErrorCode::CorruptFile, fn, "not a GRU state blob (bad magic)");
  const uint64_t count = get_u32(bytes + 16);
  need(size == kHeader + 4 * count + 4, ErrorCode::CorruptFile, fn,
       "blob of " + std::to_string(size) + " bytes does not hold the " + std::to_string(count) +
           " floats it declares (truncated?)");
  need(get_u32(bytes + size - 4) == crc32_update(0, bytes, size - 4), ErrorCode::CorruptFile, fn,
       "checksum mismatch (damaged blob)");
  const uint32_t version = get_u32(bytes + 4);
  need(version == kVersion, ErrorCode::CorruptFile, fn, "unknown GRU state version " + std::to_string(version));
  need(get_u64(bytes + 8) == fingerprint(w) && size == want, ErrorCode::StateMismatch, fn,
       "the state was saved by a GRU of another shape (layers, input size or hidden size differ)");
  std::vector<float> tmp(count);
  std::memcpy(tmp.data(), bytes + kHeader, sizeof(float) * count);
  need(find_non_finite(tmp.data(), static_cast<int64_t>(count)) < 0, ErrorCode::CorruptFile, fn,
       "the state holds a non-finite value");
  std::memcpy(state, tmp.data(), sizeof(float) * count);
}

}  // namespace simsage
