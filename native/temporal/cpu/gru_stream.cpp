// GRU streaming on the CPU: one batched step for many streams, and a stream's state as a versioned,
// checksummed blob (formats in temporal/temporal.h). A step runs the forward's own pieces (nn's
// packed GEMM kernels with the same K blocking, and the gate kernels, one row per stream), so it
// reproduces the full forward at that position. GruStreamer packs W_ih and W_hh once (per SIMD
// level); gru_stream_step is a streamer built for one call.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/checksum.h"
#include "core/error.h"
#include "core/finite.h"
#include "core/parallel.h"
#include "core/thread_pool.h"
#include "nn/cpu/gemm_kernels.h"
#include "nn/nn.h"
#include "temporal/cpu/gru_cell_kernels.h"
#include "temporal/cpu/gru_checks.h"
#include "temporal/temporal.h"

namespace simsage {

namespace {

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

namespace {

using nn::cpu::GemmKernels;

// op(B) = W^T (k x n, W n x k row-major) in nn's B-panel layout (nn/cpu/gemm_kernels.h: panels of
// 16 columns, element (l, j) of panel p at (p * k + l) * 16 + j, zero past n, the panel count a
// multiple of np).
int64_t pack_wt(const GemmKernels& gk, const float* w, int64_t k, int64_t n, std::vector<float>* out) {
  const int64_t panels = ((n + 15) / 16 + gk.np - 1) / gk.np * gk.np;
  out->assign(static_cast<size_t>(panels * k * 16), 0.f);
  float* dst = out->data();
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t j = 0; j < 16; ++j) {
      const int64_t c = p * 16 + j;
      if (c >= n) continue;
      const float* src = w + c * k;
      for (int64_t l = 0; l < k; ++l) dst[(p * k + l) * 16 + j] = src[l];
    }
  return panels;
}

// C rows [0, m) (ldc) = A (m x k, lda) op(B) on the calling thread; summed as gemm_at sums.
void rows_mm(const GemmKernels& gk, const float* a, int64_t lda, const float* bpack, int64_t panels, int64_t n,
             int64_t k, float* c, int64_t ldc, int64_t m, float* apack) {
  nn::cpu::Task t;
  t.a = a;
  t.lda = lda;
  t.bpack = bpack;
  t.m = m;
  t.n = n;
  t.k = k;
  t.c = c;
  t.ldc = ldc;
  t.i0 = 0;
  t.i1 = m;
  t.p0 = 0;
  t.p1 = panels;
  t.apack = apack;
  gk.run(t);
}

struct Packed {
  bool ready = false;
  std::vector<std::vector<float>> ih, hh;  // per layer
  int64_t panels = 0;
};

struct Scratch {
  std::vector<float> hp, hin, gates, gh, apack;
};

}  // namespace

struct GruStreamer::Impl {
  GruWeights w;
  std::vector<std::vector<float>> tensors;
  std::vector<const float*> ptrs;
  Packed packed[3];              // by SimdLevel
  std::vector<Scratch> scratch;  // per worker
};

GruStreamer::GruStreamer(const GruWeights& w) {
  temporal::cpu::check_gru_weights("GruStreamer", w);
  impl_ = new Impl();
  Impl& m = *impl_;
  m.w = w;
  m.tensors.resize(static_cast<size_t>(4 * w.layers));
  m.ptrs.resize(m.tensors.size());
  for (int64_t i = 0; i < 4 * w.layers; ++i) {
    const int64_t n = gru_tensor_size(w, i);
    m.tensors[i].assign(w.tensors[i], w.tensors[i] + n);
    m.ptrs[i] = m.tensors[i].data();
  }
  m.w.tensors = m.ptrs.data();
}

GruStreamer::~GruStreamer() { delete impl_; }

const GruWeights& GruStreamer::weights() const { return impl_->w; }

size_t GruStreamer::native_bytes() const {
  size_t n = 0;
  for (const auto& t : impl_->tensors) n += t.capacity();
  for (const Packed& p : impl_->packed) {
    for (const auto& t : p.ih) n += t.capacity();
    for (const auto& t : p.hh) n += t.capacity();
  }
  for (const Scratch& s : impl_->scratch)
    n += s.hp.capacity() + s.hin.capacity() + s.gates.capacity() + s.gh.capacity() + s.apack.capacity();
  return sizeof(float) * n;
}

void GruStreamer::step(const GruStreamStepParams& p) { step_at(active_simd_level(), p); }

namespace {

// One checked step of p (p.w's tensors are used for the biases and, when packing, the weights):
// packs[level] holds W_ih and W_hh packed for that level's table (packed here when not ready, or on
// every call with `repack`); scratch grows to the workers used and is reused.
void run_step(SimdLevel level, const GruStreamStepParams& p, Packed* packs, bool repack,
              std::vector<Scratch>& scratch) {
  SimdLevel used = level;
  const GemmKernels& gk = nn::cpu::gemm_kernels_for(level, &used);
  const temporal::cpu::GruCellKernels& kern = temporal::cpu::gru_cell_kernels_for(level);
  const int64_t L = p.w.layers, R = p.rows, D = p.w.input_size, H = p.w.hidden_size, G = 4 * H, H3 = 3 * H;
  const float* const* tensors = p.w.tensors;
  Packed& pk = packs[static_cast<int>(used)];
  if (!pk.ready || repack) {
    pk.ih.resize(static_cast<size_t>(L));
    pk.hh.resize(static_cast<size_t>(L));
    for (int64_t l = 0; l < L; ++l) {
      pk.panels = pack_wt(gk, tensors[4 * l], l == 0 ? D : H, H3, &pk.ih[l]);
      pack_wt(gk, tensors[4 * l + 1], H, H3, &pk.hh[l]);
    }
    pk.ready = true;
  }
  const int64_t chunk = 4096 / H < 1 ? 1 : 4096 / H;  // the forward's row chunk
  const int64_t tasks = (R + chunk - 1) / chunk;
  const int workers = tasks == 1 ? 1 : resolve_threads(p.threads);
  if (static_cast<int>(scratch.size()) < workers) scratch.resize(static_cast<size_t>(workers));
  const int64_t rows_max = R < chunk ? R : chunk;
  const int64_t kmax = D > H ? D : H;
  const int64_t kc = kmax < nn::cpu::kKc ? kmax : nn::cpu::kKc;
  const size_t apack_n = static_cast<size_t>((rows_max + gk.mr - 1) / gk.mr * gk.mr * kc);
  for (int w = 0; w < workers; ++w) {  // sized here, on the calling thread: no allocation in the chunks
    Scratch& s = scratch[static_cast<size_t>(w)];
    auto fit = [](std::vector<float>& v, size_t n) {
      if (v.size() < n) v.resize(n);
    };
    fit(s.hp, static_cast<size_t>(rows_max * H));
    fit(s.hin, static_cast<size_t>(rows_max * H));
    fit(s.gates, static_cast<size_t>(rows_max * G));
    fit(s.gh, static_cast<size_t>(rows_max * H3));
    fit(s.apack, apack_n);
  }
  // Rows never interact: each fixed chunk of rows runs every layer on one thread.
  parallel_chunks(R, chunk, workers, [&](int64_t r0, int64_t r1, int worker) {
    Scratch& s = scratch[static_cast<size_t>(worker)];
    const int64_t n = r1 - r0;
    float *hp = s.hp.data(), *hin = s.hin.data(), *gates = s.gates.data(), *gh = s.gh.data();
    for (int64_t l = 0; l < L; ++l) {
      const float* b_ih = tensors[4 * l + 2];
      const float* b_hh = tensors[4 * l + 3];
      for (int64_t i = 0; i < n; ++i) {
        const int64_t r = r0 + i;
        const int64_t st = p.active ? p.active[r] : r;
        const float* src = p.state + (st * L + l) * H;
        const float c = p.carry ? p.carry[r] : 1.f;
        float* dst = hp + i * H;
        if (c == 1.f) {
          std::memcpy(dst, src, sizeof(float) * H);
        } else {
          for (int64_t j = 0; j < H; ++j) dst[j] = c * src[j];
        }
      }
      const int64_t in_dim = l == 0 ? D : H;
      const float* in = l == 0 ? p.x + r0 * D : hin;
      rows_mm(gk, in, in_dim, pk.ih[l].data(), pk.panels, H3, in_dim, gates, G, n, s.apack.data());
      rows_mm(gk, hp, H, pk.hh[l].data(), pk.panels, H3, H, gh, H3, n, s.apack.data());
      for (int64_t i = 0; i < n; ++i) {
        const int64_t r = r0 + i;
        const int64_t st = p.active ? p.active[r] : r;
        float* h = l == L - 1 ? p.y + r * H : hin + i * H;
        kern.fwd(H, gates + i * G, gh + i * H3, b_ih, b_hh, hp + i * H, gates + i * G, h);
        std::memcpy(p.state + (st * L + l) * H, h, sizeof(float) * H);
      }
    }
  });
}

}  // namespace

void GruStreamer::step_at(SimdLevel level, const GruStreamStepParams& params) {
  GruStreamStepParams p = params;
  p.w = impl_->w;
  temporal::cpu::check_gru_stream_step(p);
  if (p.rows == 0) return;
  run_step(level, p, impl_->packed, false, impl_->scratch);
}

// Without a streamer the weights may differ from call to call: packed again every call, into
// reusable per-thread buffers (no page faults once warm).
void gru_stream_step_at(SimdLevel level, const GruStreamStepParams& p) {
  temporal::cpu::check_gru_stream_step(p);
  if (p.rows == 0) return;
  thread_local Packed packs[3];
  thread_local std::vector<Scratch> scratch;
  run_step(level, p, packs, true, scratch);
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
