// Batched TCN streaming (temporal.h, TcnStreamer): per stream and conv a ring of the last (K-1)*d
// input rows; a step gathers, for every stepping stream, the K tap rows of each conv into one
// row of a matrix (the folded-tap order of the full-sequence kernel) and runs one GEMM over the
// streams with the weights packed at construction. Same reduction order as conv1d_forward, so the
// step reproduces the full forward at the same position.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/checksum.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/thread_pool.h"
#include "temporal/cpu/conv_kernels.h"
#include "temporal/cpu/driver.h"
#include "temporal/temporal.h"

namespace simsage {

namespace {

using temporal::cpu::ConvKernels;
using temporal::cpu::ConvTask;

constexpr char kMagic[8] = {'S', 'T', 'C', 'N', 'S', 'T', 'R', 'M'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 8 + 4 + 8 + 8 + 8;  // magic, version, fingerprint, position, float count
constexpr int64_t kPanelAlign = 4;             // every table's np divides it
constexpr int64_t kGatherChunk = 64;           // stream rows per gather task
constexpr int64_t kResidualChunk = 1 << 15;    // floats per task of the residual + ReLU pass

struct Conv {
  int64_t cin = 0, cout = 0, taps = 1, dilation = 1;
  int64_t ring = 0;          // rows held: (taps - 1) * dilation
  int64_t state_offset = 0;  // floats into a stream's state
  int64_t panels = 0;
  std::vector<float> bpack;  // pack_w_forward layout
  std::vector<float> bias;   // cout (zeros without bias)
};

struct Block {
  Conv conv1, conv2, proj;  // proj.cout == 0 without a projection
};

}  // namespace

struct TcnStreamer::Impl {
  int64_t taps = 1;
  std::vector<Block> blocks;
  int64_t state_floats = 0;
  std::vector<float> state;   // streams x state_floats
  std::vector<uint64_t> pos;  // steps consumed per stream
  std::vector<float> gather, h1, h2, io[2];
  std::vector<uint8_t> seen;  // duplicate check of `active`
  std::vector<int32_t> all;   // 0..streams-1

  void init_conv(Conv* c, int64_t cin, int64_t cout, int64_t k, int64_t d, const float* w, const float* b) {
    c->cin = cin;
    c->cout = cout;
    c->taps = k;
    c->dilation = d;
    c->ring = (k - 1) * d;
    c->state_offset = state_floats;
    state_floats += c->ring * cin;
    c->panels = ((cout + 15) / 16 + kPanelAlign - 1) / kPanelAlign * kPanelAlign;
    temporal::cpu::pack_w_forward(w, cin, cout, k, c->panels, &c->bpack);
    c->bias.assign(static_cast<size_t>(cout), 0.f);
    if (b) std::memcpy(c->bias.data(), b, sizeof(float) * cout);
  }

  // gather[r, k * cin + c] = tap k's input row of stream idx[r] (ring rows, then `in` row r for the
  // last tap); then `in` row r enters the ring at the stream's position.
  void gather_conv(const Conv& c, const float* in, int64_t rows, const int32_t* idx, int threads) {
    const int64_t width = c.taps * c.cin;
    if (gather.size() < static_cast<size_t>(rows * width)) gather.resize(static_cast<size_t>(rows * width));
    float* g = gather.data();
    parallel_chunks(rows, kGatherChunk, threads, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t s = idx[r];
        float* ring = state.data() + s * state_floats + c.state_offset;
        float* dst = g + r * width;
        const float* src = in + r * c.cin;
        if (c.ring > 0) {
          const int64_t at = static_cast<int64_t>(pos[s] % static_cast<uint64_t>(c.ring));
          for (int64_t k = 0; k + 1 < c.taps; ++k) {
            const int64_t shift = (c.taps - 1 - k) * c.dilation;  // in [1, ring]
            const int64_t slot = (at - shift + c.ring) % c.ring;
            std::memcpy(dst + k * c.cin, ring + slot * c.cin, sizeof(float) * c.cin);
          }
          std::memcpy(ring + at * c.cin, src, sizeof(float) * c.cin);
        }
        std::memcpy(dst + (c.taps - 1) * c.cin, src, sizeof(float) * c.cin);
      }
    });
  }

  // out = (relu)(a W^T + bias), a: rows x width in the packed weights' reduction order.
  void gemm(const ConvKernels& tb, const Conv& c, const float* a, int64_t width, int64_t rows, float* out, bool relu,
            int threads) {
    static const int64_t zero = 0;
    ConvTask t;
    t.x = a;
    t.steps = rows;
    t.cin = width;
    t.taps = 1;
    t.offset = &zero;
    t.bpack = c.bpack.data();
    t.n = c.cout;
    t.y = out;
    t.ldy = c.cout;
    t.bias = c.bias.data();
    t.relu = relu;
    temporal::cpu::run_conv_tasks(tb, t, rows, c.panels, threads);
  }
};

TcnStreamer::TcnStreamer(int64_t kernel_size, const std::vector<TcnBlockWeights>& blocks, int64_t streams) {
  const char* fn = "TcnStreamer";
  need(kernel_size >= 1 && kernel_size <= 4096, ErrorCode::InvalidArgument, fn,
       "kernel size must be in [1, 4096], got " + std::to_string(kernel_size));
  need(!blocks.empty(), ErrorCode::InvalidArgument, fn, "at least one block");
  need(streams >= 1 && streams <= (int64_t(1) << 31) - 1, ErrorCode::InvalidArgument, fn,
       "streams must be in [1, 2^31 - 1], got " + std::to_string(streams));
  Impl* im = new Impl();
  try {
    im->taps = kernel_size;
    uint64_t fp = fnv1a_u64(kFnvOffset, static_cast<uint64_t>(kernel_size));
    fp = fnv1a_u64(fp, blocks.size());
    int64_t prev = blocks[0].in_channels;
    for (size_t i = 0; i < blocks.size(); ++i) {
      const TcnBlockWeights& b = blocks[i];
      const std::string at = "block " + std::to_string(i) + ": ";
      need(b.in_channels >= 1 && b.out_channels >= 1 && b.in_channels <= (int64_t(1) << 24) &&
               b.out_channels <= (int64_t(1) << 24),
           ErrorCode::DimMismatch, fn, at + "channels must be in [1, 2^24]");
      need(b.in_channels == prev, ErrorCode::DimMismatch, fn, at + "in_channels differs from the previous block's out");
      need(b.dilation >= 1 && b.dilation <= (int64_t(1) << 20), ErrorCode::InvalidArgument, fn,
           at + "dilation must be in [1, 2^20]");
      need(b.w1 && b.w2, ErrorCode::InvalidArgument, fn, at + "null w1 / w2");
      need((b.wd != nullptr) == (b.in_channels != b.out_channels), ErrorCode::InvalidArgument, fn,
           at + "a projection wd is required exactly when in_channels != out_channels");
      im->blocks.emplace_back();
      Block& blk = im->blocks.back();
      im->init_conv(&blk.conv1, b.in_channels, b.out_channels, kernel_size, b.dilation, b.w1, b.b1);
      im->init_conv(&blk.conv2, b.out_channels, b.out_channels, kernel_size, b.dilation, b.w2, b.b2);
      if (b.wd) im->init_conv(&blk.proj, b.in_channels, b.out_channels, 1, 1, b.wd, b.bd);
      for (uint64_t v : {static_cast<uint64_t>(b.in_channels), static_cast<uint64_t>(b.out_channels),
                         static_cast<uint64_t>(b.dilation), static_cast<uint64_t>(b.wd != nullptr)})
        fp = fnv1a_u64(fp, v);
      prev = b.out_channels;
    }
    need(static_cast<double>(im->state_floats) * streams < 1e11, ErrorCode::OutOfMemory, fn, "state too large");
    im->state.assign(static_cast<size_t>(im->state_floats * streams), 0.f);
    im->pos.assign(static_cast<size_t>(streams), 0);
    im->seen.assign(static_cast<size_t>(streams), 0);
    im->all.resize(static_cast<size_t>(streams));
    for (int64_t s = 0; s < streams; ++s) im->all[s] = static_cast<int32_t>(s);
    streams_ = streams;
    input_size_ = blocks.front().in_channels;
    output_size_ = blocks.back().out_channels;
    fingerprint_ = fp;
  } catch (...) {
    delete im;
    throw;
  }
  impl_ = im;
}

TcnStreamer::~TcnStreamer() { delete impl_; }

size_t TcnStreamer::native_bytes() const {
  size_t n = impl_->state.size() * sizeof(float) + impl_->pos.size() * 8 + impl_->gather.capacity() * 4 +
             impl_->h1.capacity() * 4 + impl_->h2.capacity() * 4 + impl_->io[0].capacity() * 4 +
             impl_->io[1].capacity() * 4;
  for (const Block& b : impl_->blocks)
    n += (b.conv1.bpack.size() + b.conv2.bpack.size() + b.proj.bpack.size()) * sizeof(float);
  return n;
}

void TcnStreamer::step_at(SimdLevel level, const float* x, int64_t rows, const int32_t* active, float* y, int threads) {
  const char* fn = "TcnStreamer.step";
  Impl& im = *impl_;
  need(rows >= 0 && rows <= streams_, ErrorCode::DimMismatch, fn,
       "rows must be in [0, streams], got " + std::to_string(rows));
  need(active || rows == streams_, ErrorCode::DimMismatch, fn,
       "without active indices, x must hold one row per stream");
  if (rows == 0) return;
  need(x && y, ErrorCode::InvalidArgument, fn, "null x / y");
  const int32_t* idx = active ? active : im.all.data();
  if (active) {
    bool ok = true;
    int64_t bad = 0;
    for (int64_t r = 0; r < rows && ok; ++r) {
      const int32_t s = active[r];
      if (s < 0 || s >= streams_ || im.seen[s]) {
        ok = false;
        bad = r;
      } else {
        im.seen[s] = 1;
      }
    }
    for (int64_t r = 0; r < rows; ++r)
      if (active[r] >= 0 && active[r] < streams_) im.seen[active[r]] = 0;
    need(ok, ErrorCode::InvalidArgument, fn,
         "active[" + std::to_string(bad) + "] = " + std::to_string(active[bad]) +
             " is out of range or repeated (streams: " + std::to_string(streams_) + ")");
  }
  threads = resolve_threads(threads);
  const ConvKernels& tb = temporal::cpu::conv_kernels_for(level);
  need(kPanelAlign % tb.np == 0, ErrorCode::Internal, fn, "panel alignment");
  const float* in = x;
  for (size_t bi = 0; bi < im.blocks.size(); ++bi) {
    const Block& b = im.blocks[bi];
    const int64_t cout = b.conv1.cout;
    auto grow = [&](std::vector<float>& v) {
      if (v.size() < static_cast<size_t>(rows * cout)) v.resize(static_cast<size_t>(rows * cout));
    };
    grow(im.h1);
    grow(im.h2);
    std::vector<float>& outv = im.io[bi % 2];
    grow(outv);
    im.gather_conv(b.conv1, in, rows, idx, threads);
    im.gemm(tb, b.conv1, im.gather.data(), b.conv1.taps * b.conv1.cin, rows, im.h1.data(), true, threads);
    im.gather_conv(b.conv2, im.h1.data(), rows, idx, threads);
    im.gemm(tb, b.conv2, im.gather.data(), b.conv2.taps * b.conv2.cin, rows, im.h2.data(), true, threads);
    float* out = outv.data();
    const float* res = in;
    if (b.proj.cout > 0) {
      im.gemm(tb, b.proj, in, b.proj.cin, rows, out, false, threads);
      res = out;
    }
    const float* h2 = im.h2.data();
    parallel_chunks(rows * cout, kResidualChunk, threads, [&](int64_t i0, int64_t i1, int) {
      for (int64_t i = i0; i < i1; ++i) {
        const float s = h2[i] + res[i];
        out[i] = s > 0.f ? s : 0.f;
      }
    });
    in = out;
  }
  std::memcpy(y, in, sizeof(float) * rows * output_size_);
  for (int64_t r = 0; r < rows; ++r) ++im.pos[idx[r]];
}

void TcnStreamer::step(const float* x, int64_t rows, const int32_t* active, float* y, int threads) {
  step_at(active_simd_level(), x, rows, active, y, threads);
}

namespace {
void check_stream(int64_t stream, int64_t streams, const char* fn) {
  need(stream >= 0 && stream < streams, ErrorCode::InvalidArgument, fn,
       "stream " + std::to_string(stream) + " out of range [0, " + std::to_string(streams) + ")");
}
}  // namespace

void TcnStreamer::reset(int64_t stream) {
  check_stream(stream, streams_, "TcnStreamer.reset");
  Impl& im = *impl_;
  std::memset(im.state.data() + stream * im.state_floats, 0, sizeof(float) * im.state_floats);
  im.pos[stream] = 0;
}

void TcnStreamer::reset_all() {
  std::fill(impl_->state.begin(), impl_->state.end(), 0.f);
  std::fill(impl_->pos.begin(), impl_->pos.end(), 0);
}

int64_t TcnStreamer::position(int64_t stream) const {
  check_stream(stream, streams_, "TcnStreamer.position");
  return static_cast<int64_t>(impl_->pos[stream]);
}

size_t TcnStreamer::state_size() const { return kHeader + impl_->state_floats * sizeof(float) + 4; }

std::vector<uint8_t> TcnStreamer::save(int64_t stream) const {
  check_stream(stream, streams_, "TcnStreamer.save");
  std::vector<uint8_t> out(state_size());
  save_into(stream, out.data());
  return out;
}

void TcnStreamer::save_into(int64_t stream, uint8_t* p) const {
  check_stream(stream, streams_, "TcnStreamer.save");
  const Impl& im = *impl_;
  const size_t size = state_size();
  std::memcpy(p, kMagic, 8);
  put_u32(p + 8, kVersion);
  put_u64(p + 12, fingerprint_);
  put_u64(p + 20, im.pos[stream]);
  put_u64(p + 28, static_cast<uint64_t>(im.state_floats));
  const float* src = im.state.data() + stream * im.state_floats;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (im.state_floats > 0)  // (a TCN without history to keep has no state: data() may be null)
    std::memcpy(p + kHeader, src, sizeof(float) * static_cast<size_t>(im.state_floats));  // little-endian blob
#else
  for (int64_t i = 0; i < im.state_floats; ++i) {
    uint32_t bits;
    std::memcpy(&bits, src + i, 4);
    put_u32(p + kHeader + 4 * i, bits);
  }
#endif
  const size_t body = size - 4;
  put_u32(p + body, crc32_update(0, p, body));
}

void TcnStreamer::restore(int64_t stream, const uint8_t* data, size_t size) {
  const char* fn = "TcnStreamer.restore";
  check_stream(stream, streams_, fn);
  Impl& im = *impl_;
  need(data != nullptr || size == 0, ErrorCode::InvalidArgument, fn, "null data");
  need(size >= kHeader + 4, ErrorCode::CorruptFile, fn, "state blob truncated (" + std::to_string(size) + " bytes)");
  need(std::memcmp(data, kMagic, 8) == 0, ErrorCode::CorruptFile, fn, "not a TCN stream state (bad magic)");
  need(get_u32(data + 8) == kVersion, ErrorCode::CorruptFile, fn,
       "unsupported state version " + std::to_string(get_u32(data + 8)));
  const uint64_t floats = get_u64(data + 28);
  need(floats <= (size - kHeader - 4) / 4 && kHeader + floats * 4 + 4 == size, ErrorCode::CorruptFile, fn,
       "state blob truncated or padded: " + std::to_string(size) + " bytes for " + std::to_string(floats) + " floats");
  need(crc32_update(0, data, size - 4) == get_u32(data + size - 4), ErrorCode::CorruptFile, fn,
       "state checksum mismatch (corrupt blob)");
  need(get_u64(data + 12) == fingerprint_ && floats == static_cast<uint64_t>(im.state_floats), ErrorCode::StateMismatch,
       fn, "state saved by a model with other sizes, kernel size or dilations");
  float* dst = im.state.data() + stream * im.state_floats;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (floats > 0) std::memcpy(dst, data + kHeader, sizeof(float) * floats);
#else
  for (uint64_t i = 0; i < floats; ++i) {
    const uint32_t bits = get_u32(data + kHeader + 4 * i);
    std::memcpy(dst + i, &bits, 4);
  }
#endif
  im.pos[stream] = get_u64(data + 20);
}

}  // namespace simsage
