// CUDA twin of TcnStreamer (temporal_cuda.h). State on the device in the CPU streamer's layout:
// per stream `state_floats` floats, for every block conv1 then conv2, a ring of (K-1)*d rows of the
// conv's input (row slot = position % ring), plus a u64 position per stream. A step, per conv:
// gather_kernel builds G[r, k * cin + c] (tap k's input row of stream idx[r]: ring rows for
// k < K-1, the new input for k = K-1, which it also writes into the ring at the stream's slot),
// then the conv GEMM
// (conv.cu, taps = 1) G x Wk + bias, relu; the projection the same over the block input; then
// y = relu(h2 + res), and the positions of the stepped streams advance. Constructor checks,
// fingerprint and the blob's checks come from a one-stream CPU TcnStreamer (Impl::shape), so both
// backends accept and reject the same inputs and blobs.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/checksum.h"
#include "core/cuda/check.cuh"
#include "core/cuda/runtime.h"
#include "core/error.h"
#include "temporal/cuda/conv_gemm.cuh"
#include "temporal/cuda/temporal_cuda.h"

namespace simsage {
namespace temporal {
namespace cuda {

namespace {

using simsage::cuda::DeviceArray;

constexpr char kMagic[8] = {'S', 'T', 'C', 'N', 'S', 'T', 'R', 'M'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 8 + 4 + 8 + 8 + 8;  // magic, version, fingerprint, position, float count

struct Conv {
  int64_t cin = 0, cout = 0, taps = 1, dilation = 1;
  int64_t ring = 0, state_offset = 0;  // as the CPU streamer
  DeviceArray<float> wk;               // (taps * cin) x cout, launch_pack_w's forward layout
  DeviceArray<float> bias;             // cout (zeros without bias)
};

struct Block {
  Conv conv1, conv2, proj;  // proj.cout == 0 without a projection
};

// One thread per (row r, channel c), e = r * cin + c: G[r, k * cin + c] for every tap k (ring
// rows at slot at - shift_k, shift_k = (K-1-k)*d in [1, ring], for k < K-1; the new input for
// k = K-1), then the new input enters the ring at slot at = position % ring. A thread reads and
// writes only column c of its stream's ring, so no other thread touches what it writes.
__global__ void gather_kernel(const float* __restrict__ in, int64_t rows, const int32_t* __restrict__ idx,
                              int64_t streams, float* state, const unsigned long long* __restrict__ pos,
                              int64_t state_floats, int64_t state_offset, int64_t cin, int64_t taps, int64_t dilation,
                              int64_t ring, float* __restrict__ g) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= rows * cin) return;
  const int64_t r = e / cin, c = e - r * cin;
  float* gr = g + r * taps * cin + c;
  const int64_t s = idx ? idx[r] : r;
  if (s < 0 || s >= streams) {  // (device form: an index out of range is skipped)
    for (int64_t k = 0; k < taps; ++k) gr[k * cin] = 0.f;
    return;
  }
  const float v = in[e];
  if (ring > 0) {
    float* rg = state + s * state_floats + state_offset + c;
    const int64_t at = static_cast<int64_t>(pos[s] % static_cast<unsigned long long>(ring));
    for (int64_t k = 0; k + 1 < taps; ++k) {
      int64_t slot = at - (taps - 1 - k) * dilation;
      if (slot < 0) slot += ring;
      gr[k * cin] = rg[slot * cin];
    }
    rg[at * cin] = v;
  }
  gr[(taps - 1) * cin] = v;
}

__global__ void residual_kernel(const float* __restrict__ h2, const float* __restrict__ res, float* __restrict__ out,
                                int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float s = h2[i] + res[i];
  out[i] = s > 0.f ? s : 0.f;
}

__global__ void advance_kernel(const int32_t* __restrict__ idx, int64_t rows, int64_t streams,
                               unsigned long long* __restrict__ pos) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const int64_t s = idx ? idx[r] : r;
  if (s >= 0 && s < streams) ++pos[s];
}

void check_stream(int64_t stream, int64_t streams, const char* fn) {
  need(stream >= 0 && stream < streams, ErrorCode::InvalidArgument, fn,
       "stream " + std::to_string(stream) + " out of range [0, " + std::to_string(streams) + ")");
}

}  // namespace

struct TcnStreamer::Impl {
  std::unique_ptr<simsage::TcnStreamer> shape;  // one stream: checks, fingerprint, blob checks
  int64_t streams = 0, taps = 1, state_floats = 0;
  std::vector<Block> blocks;
  DeviceArray<float> state;                   // streams x state_floats
  DeviceArray<unsigned long long> pos;        // streams
  DeviceArray<float> g, h1, h2, io[2], x, y;  // step scratch (grown)
  DeviceArray<int32_t> active;                // host form's uploaded indices
  std::vector<uint8_t> seen;                  // host form's duplicate check

  void init_conv(Conv* c, int64_t cin, int64_t cout, int64_t k, int64_t d, const float* w, const float* b) {
    c->cin = cin;
    c->cout = cout;
    c->taps = k;
    c->dilation = d;
    c->ring = (k - 1) * d;
    c->state_offset = state_floats;
    state_floats += c->ring * cin;
    DeviceArray<float> wd = simsage::cuda::to_device(w, static_cast<size_t>(cout * cin * k));
    c->wk.resize(static_cast<size_t>(cout * cin * k));
    launch_pack_w(wd.data(), c->wk.data(), cin, cout, k, false);
    c->bias.resize(static_cast<size_t>(cout));
    if (b) {
      c->bias.upload(b, static_cast<size_t>(cout));
    } else {
      c->bias.zero();
    }
    simsage::cuda::synchronize();  // wd is freed on return
  }

  void conv(const Conv& c, const float* in, int64_t rows, const int32_t* idx, float* out, bool relu) {
    const int64_t width = c.taps * c.cin;
    const float* a_in = in;
    if (c.taps > 1) {
      g.reserve(static_cast<size_t>(rows * width));
      const int64_t n = rows * c.cin;
      SIMSAGE_CUDA_LAUNCH(simsage::cuda::blocks_for(n, 256), 256, 0, gather_kernel)
      (in, rows, idx, streams, state.data(), pos.data(), state_floats, c.state_offset, c.cin, c.taps, c.dilation,
       c.ring, g.data());
      SIMSAGE_CUDA_LAUNCHED("gather_kernel");
      a_in = g.data();
    }
    ConvGemmArgs a;
    a.in = a_in;
    a.wk = c.wk.data();
    a.bias = c.bias.data();
    a.out = out;
    a.rows = rows;
    a.steps = rows;
    a.J = static_cast<int>(width);
    a.N = static_cast<int>(c.cout);
    a.taps = 1;
    a.relu = relu;
    launch_conv_gemm(a);
  }
};

TcnStreamer::TcnStreamer(int64_t kernel_size, const std::vector<TcnBlockWeights>& blocks, int64_t streams) {
  const char* fn = "TcnStreamer";
  // The CPU constructor's first checks, in its order (its one-stream twin below checks the rest).
  need(kernel_size >= 1 && kernel_size <= 4096, ErrorCode::InvalidArgument, fn,
       "kernel size must be in [1, 4096], got " + std::to_string(kernel_size));
  need(!blocks.empty(), ErrorCode::InvalidArgument, fn, "at least one block");
  need(streams >= 1 && streams <= (int64_t(1) << 31) - 1, ErrorCode::InvalidArgument, fn,
       "streams must be in [1, 2^31 - 1], got " + std::to_string(streams));
  auto im = std::make_unique<Impl>();
  im->shape = std::make_unique<simsage::TcnStreamer>(kernel_size, blocks, 1);
  im->streams = streams;
  im->taps = kernel_size;
  for (const TcnBlockWeights& b : blocks) {
    im->blocks.emplace_back();
    Block& blk = im->blocks.back();
    im->init_conv(&blk.conv1, b.in_channels, b.out_channels, kernel_size, b.dilation, b.w1, b.b1);
    im->init_conv(&blk.conv2, b.out_channels, b.out_channels, kernel_size, b.dilation, b.w2, b.b2);
    if (b.wd) im->init_conv(&blk.proj, b.in_channels, b.out_channels, 1, 1, b.wd, b.bd);
    need(blk.conv1.taps * blk.conv1.cin <= (int64_t(1) << 30) && blk.conv2.taps * blk.conv2.cin <= (int64_t(1) << 30) &&
             b.out_channels <= (int64_t(1) << 22),
         ErrorCode::InvalidArgument, fn, "kernel size x channels beyond the CUDA kernel's limits");
  }
  need(static_cast<size_t>(im->state_floats) * sizeof(float) + kHeader + 4 == im->shape->state_size(),
       ErrorCode::Internal, fn, "state layout differs from the CPU streamer's");
  need(static_cast<double>(im->state_floats) * streams < 1e11, ErrorCode::OutOfMemory, fn, "state too large");
  im->state.resize(static_cast<size_t>(im->state_floats * streams));
  im->state.zero();
  im->pos.resize(static_cast<size_t>(streams));
  im->pos.zero();
  im->seen.assign(static_cast<size_t>(streams), 0);
  simsage::cuda::synchronize();
  impl_ = im.release();
}

TcnStreamer::~TcnStreamer() { delete impl_; }

int64_t TcnStreamer::streams() const { return impl_->streams; }
int64_t TcnStreamer::input_size() const { return impl_->shape->input_size(); }
int64_t TcnStreamer::output_size() const { return impl_->shape->output_size(); }
uint64_t TcnStreamer::fingerprint() const { return impl_->shape->fingerprint(); }
size_t TcnStreamer::state_size() const { return impl_->shape->state_size(); }

size_t TcnStreamer::native_bytes() const {
  const Impl& im = *impl_;
  size_t n = im.state.bytes() + im.pos.bytes() + im.g.bytes() + im.h1.bytes() + im.h2.bytes() + im.io[0].bytes() +
             im.io[1].bytes() + im.x.bytes() + im.y.bytes() + im.active.bytes();
  for (const Block& b : im.blocks)
    for (const Conv* c : {&b.conv1, &b.conv2, &b.proj}) n += c->wk.bytes() + c->bias.bytes();
  return n;
}

void TcnStreamer::step_device(const float* x, int64_t rows, const int32_t* active, float* y) {
  const char* fn = "TcnStreamer.step";
  Impl& im = *impl_;
  need(rows >= 0 && rows <= im.streams, ErrorCode::DimMismatch, fn,
       "rows must be in [0, streams], got " + std::to_string(rows));
  need(active || rows == im.streams, ErrorCode::DimMismatch, fn,
       "without active indices, x must hold one row per stream");
  if (rows == 0) return;
  need(x && y, ErrorCode::InvalidArgument, fn, "null x / y");
  const float* in = x;
  for (size_t bi = 0; bi < im.blocks.size(); ++bi) {
    const Block& b = im.blocks[bi];
    const size_t n = static_cast<size_t>(rows * b.conv1.cout);
    im.h1.reserve(n);
    im.h2.reserve(n);
    DeviceArray<float>& outv = im.io[bi % 2];
    outv.reserve(n);
    im.conv(b.conv1, in, rows, active, im.h1.data(), true);
    im.conv(b.conv2, im.h1.data(), rows, active, im.h2.data(), true);
    const float* res = in;
    if (b.proj.cout > 0) {
      im.conv(b.proj, in, rows, active, outv.data(), false);
      res = outv.data();
    }
    SIMSAGE_CUDA_LAUNCH(simsage::cuda::blocks_for(int64_t(n), 256), 256, 0, residual_kernel)
    (im.h2.data(), res, outv.data(), int64_t(n));
    SIMSAGE_CUDA_LAUNCHED("residual_kernel");
    in = outv.data();
  }
  simsage::cuda::copy_on_device(y, in, sizeof(float) * rows * output_size());
  SIMSAGE_CUDA_LAUNCH(simsage::cuda::blocks_for(rows, 256), 256, 0, advance_kernel)
  (active, rows, im.streams, im.pos.data());
  SIMSAGE_CUDA_LAUNCHED("advance_kernel");
}

void TcnStreamer::step(const float* x, int64_t rows, const int32_t* active, float* y) {
  const char* fn = "TcnStreamer.step";
  Impl& im = *impl_;
  need(rows >= 0 && rows <= im.streams, ErrorCode::DimMismatch, fn,
       "rows must be in [0, streams], got " + std::to_string(rows));
  need(active || rows == im.streams, ErrorCode::DimMismatch, fn,
       "without active indices, x must hold one row per stream");
  if (rows == 0) return;
  need(x && y, ErrorCode::InvalidArgument, fn, "null x / y");
  if (active) {  // the CPU streamer's check: in range and distinct
    bool ok = true;
    int64_t bad = 0;
    for (int64_t r = 0; r < rows && ok; ++r) {
      const int32_t s = active[r];
      if (s < 0 || s >= im.streams || im.seen[s]) {
        ok = false;
        bad = r;
      } else {
        im.seen[s] = 1;
      }
    }
    for (int64_t r = 0; r < rows; ++r)
      if (active[r] >= 0 && active[r] < im.streams) im.seen[active[r]] = 0;
    need(ok, ErrorCode::InvalidArgument, fn,
         "active[" + std::to_string(bad) + "] = " + std::to_string(active[bad]) +
             " is out of range or repeated (streams: " + std::to_string(im.streams) + ")");
    im.active.reserve(static_cast<size_t>(rows));
    im.active.upload(active, static_cast<size_t>(rows));
  }
  const size_t nx = static_cast<size_t>(rows * input_size()), ny = static_cast<size_t>(rows * output_size());
  im.x.reserve(nx);
  im.y.reserve(ny);
  im.x.upload(x, nx);
  step_device(im.x.data(), rows, active ? im.active.data() : nullptr, im.y.data());
  im.y.download(y, ny);
}

void TcnStreamer::reset(int64_t stream) {
  check_stream(stream, impl_->streams, "TcnStreamer.reset");
  Impl& im = *impl_;
  simsage::cuda::fill_zero(im.state.data() + stream * im.state_floats, sizeof(float) * im.state_floats);
  simsage::cuda::fill_zero(im.pos.data() + stream, sizeof(unsigned long long));
}

void TcnStreamer::reset_all() {
  impl_->state.zero();
  impl_->pos.zero();
}

int64_t TcnStreamer::position(int64_t stream) const {
  check_stream(stream, impl_->streams, "TcnStreamer.position");
  unsigned long long p = 0;
  impl_->pos.download(&p, 1, static_cast<size_t>(stream));
  return static_cast<int64_t>(p);
}

std::vector<uint8_t> TcnStreamer::save(int64_t stream) const {
  check_stream(stream, impl_->streams, "TcnStreamer.save");
  std::vector<uint8_t> out(state_size());
  save_into(stream, out.data());
  return out;
}

// The CPU streamer's blob (temporal.h): header, the stream's floats little-endian, CRC-32.
void TcnStreamer::save_into(int64_t stream, uint8_t* p) const {
  check_stream(stream, impl_->streams, "TcnStreamer.save");
  const Impl& im = *impl_;
  std::vector<float> floats(static_cast<size_t>(im.state_floats));
  if (im.state_floats > 0)
    im.state.download(floats.data(), floats.size(), static_cast<size_t>(stream * im.state_floats));
  unsigned long long pos = 0;
  im.pos.download(&pos, 1, static_cast<size_t>(stream));
  std::memcpy(p, kMagic, 8);
  put_u32(p + 8, kVersion);
  put_u64(p + 12, fingerprint());
  put_u64(p + 20, pos);
  put_u64(p + 28, static_cast<uint64_t>(im.state_floats));
  for (int64_t i = 0; i < im.state_floats; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &floats[i], 4);
    put_u32(p + kHeader + 4 * i, bits);
  }
  const size_t body = state_size() - 4;
  put_u32(p + body, crc32_update(0, p, body));
}

void TcnStreamer::restore(int64_t stream, const uint8_t* data, size_t size) {
  const char* fn = "TcnStreamer.restore";
  check_stream(stream, impl_->streams, fn);
  Impl& im = *impl_;
  im.shape->restore(0, data, size);  // every check of the CPU streamer (size, magic, version, CRC, model)
  std::vector<float> floats(static_cast<size_t>(im.state_floats));
  for (int64_t i = 0; i < im.state_floats; ++i) {
    const uint32_t bits = get_u32(data + kHeader + 4 * i);
    std::memcpy(&floats[i], &bits, 4);
  }
  const unsigned long long pos = get_u64(data + 20);
  if (im.state_floats > 0) im.state.upload(floats.data(), floats.size(), static_cast<size_t>(stream * im.state_floats));
  im.pos.upload(&pos, 1, static_cast<size_t>(stream));
  simsage::cuda::synchronize();  // (the host buffers go out of scope)
}

}  // namespace cuda
}  // namespace temporal
}  // namespace simsage
