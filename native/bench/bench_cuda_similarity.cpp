// bench_cuda section "similarity": the fused top-k (similarity/cuda/similarity_cuda.h, device form) on a
// corpus of args.topk_n x 128 (--quick: 100000) rows already resident on the device, ip metric, Q in
// {1, 64, 1024}, k in {10, 100}: f32 (CUDA cores), then bf16 and f16 storage (Q = 1: codes widened to
// f32 on CUDA cores; Q >= 16: tensor cores, query rounded). The corpus is written straight into device
// panels, chunk by chunk from a seeded generator (the panel layout of random rows is random values), not
// through a 10M-row host VectorStore. flops = 2 n d q; bytes = n d x bytes per value (the corpus read
// once; reported for Q = 1, where the scan is bandwidth-bound). Case strings match
// torch_peer/similarity.py.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_cuda.h"
#include "core/cuda/runtime.h"
#include "similarity/cpu/quant.h"
#include "similarity/cuda/similarity_cuda.h"
#include "similarity/similarity.h"

namespace {

using simsage::cuda::DeviceArray;

// Uniform values in [-1, 1) from a 64-bit LCG, so every run sees the same corpus.
struct Lcg {
  uint64_t s;
  float next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>(static_cast<int64_t>(s >> 40) - (int64_t{1} << 23)) * (1.f / (1 << 23));
  }
};

// n values from the generator into d, through a 64 MiB host buffer; `code` maps each value to T.
template <class T, class F>
void fill(DeviceArray<T>& d, size_t n, uint64_t seed, F code) {
  Lcg g{seed};
  const size_t chunk = size_t{1} << 24;
  std::vector<T> h(std::min(n, chunk));
  for (size_t off = 0; off < n; off += chunk) {
    const size_t m = std::min(chunk, n - off);
    for (size_t i = 0; i < m; ++i) h[i] = code(g.next());
    d.upload(h.data(), m, off);
    simsage::cuda::synchronize();
  }
}

void cells(const simsage_bench::BenchArgs& args, int64_t n, int64_t dim, const simsage::PanelCorpus& c,
           const DeviceArray<float>& q, const char* type, double bytes_per_value) {
  const int64_t max_q = 1024, max_k = 100;
  DeviceArray<int64_t> ids(static_cast<size_t>(max_q * max_k));
  DeviceArray<float> scores(static_cast<size_t>(max_q * max_k));
  DeviceArray<int32_t> counts(static_cast<size_t>(max_q));
  for (int64_t nq : {1, 64, 1024})
    for (int64_t k : {10, 100}) {
      simsage::TopkParams p;
      p.queries = q.data();
      p.nq = nq;
      p.dim = dim;
      p.k = k;
      p.metric = simsage::Metric::InnerProduct;
      p.out_ids = ids.data();
      p.out_scores = scores.data();
      p.out_counts = counts.data();
      const double sec = simsage_bench::time_device(args, [&] { simsage::similarity::cuda::topk_panels_device(p, c); });
      const std::string name = "topk n=" + std::to_string(n) + " d=" + std::to_string(dim) +
                               " q=" + std::to_string(nq) + " k=" + std::to_string(k) + " " + type;
      simsage_bench::emit("similarity", name, sec, 2.0 * n * dim * nq,
                          nq == 1 ? double(n) * dim * bytes_per_value : 0.0);
    }
}

// Corpus values uniform in [-1, 1) (f32, or rounded to bf16 / f16 codes), one corpus on the device at a time.
void run(const simsage_bench::BenchArgs& args) {
  namespace q16 = simsage::similarity::cpu;
  const int64_t n = args.quick ? 100000 : args.topk_n, dim = 128;
  const size_t values = static_cast<size_t>((n + 15) / 16 * 16 * dim);  // whole panels; padding lanes zero
  DeviceArray<float> q(static_cast<size_t>(1024 * dim));
  fill(q, q.size(), 2, [](float v) { return v; });
  simsage::PanelCorpus c;
  c.n = n;
  c.dim = dim;
  {
    DeviceArray<float> corpus(values);
    corpus.zero();
    fill(corpus, static_cast<size_t>(n * dim), 1, [](float v) { return v; });
    c.panels = corpus.data();
    cells(args, n, dim, c, q, "f32", 4);
  }
  c.panels = nullptr;
  for (simsage::Storage st : {simsage::Storage::BF16, simsage::Storage::F16}) {
    DeviceArray<uint16_t> corpus(values);
    corpus.zero();
    if (st == simsage::Storage::BF16)
      fill(corpus, static_cast<size_t>(n * dim), 1, [](float v) { return q16::f32_to_bf16(v); });
    else
      fill(corpus, static_cast<size_t>(n * dim), 1, [](float v) { return q16::f32_to_f16(v); });
    c.storage = st;
    c.coded = corpus.data();
    cells(args, n, dim, c, q, simsage::storage_name(st), 2);
  }
}

simsage_bench::RegisterSection reg("similarity", run);

}  // namespace
