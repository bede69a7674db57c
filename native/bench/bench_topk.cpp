// Micro-benchmark of the fused exact top-k kernel against the machine's own limits, in one run:
// the FMA peak of one thread at the active SIMD level (probe_fma_peak) and the streaming-read
// bandwidth of the same corpus bytes (probe_read_bandwidth). For each layout (panel-major,
// row-major), Q, k and thread count it prints queries/s, GFLOP/s (2 N D Q / time), the fraction of
// the FMA peak per thread, and at Q = 1 the scan rate in GB/s against the read probe.
//
// Usage: bench_topk [--n N] [--dim D] [--q 1,16,256,1024] [--k 10,100] [--threads 1,2]
//                   [--reps R] [--layout panels|rows|both] [--metric ip|cosine|l2]
// Built only with -DSIMSAGE_BENCH=ON; not a test.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/probe.h"
#include "similarity/similarity.h"

using namespace simsage;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::vector<int64_t> parse_list(const char* s) {
  std::vector<int64_t> v;
  for (const char* p = s; *p;) {
    v.push_back(std::strtoll(p, nullptr, 10));
    const char* c = std::strchr(p, ',');
    if (!c) break;
    p = c + 1;
  }
  return v;
}

struct Options {
  int64_t n = 1000000, dim = 128;
  std::vector<int64_t> qs = {1, 16, 256, 1024}, ks = {10, 100}, threads = {1, 2};
  int reps = 5;
  bool panels = true, rows = true;
  Metric metric = Metric::InnerProduct;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    const char* v = argv[i + 1];
    if (a == "--n")
      o.n = std::strtoll(v, nullptr, 10);
    else if (a == "--dim")
      o.dim = std::strtoll(v, nullptr, 10);
    else if (a == "--q")
      o.qs = parse_list(v);
    else if (a == "--k")
      o.ks = parse_list(v);
    else if (a == "--threads")
      o.threads = parse_list(v);
    else if (a == "--reps")
      o.reps = std::atoi(v);
    else if (a == "--layout") {
      o.panels = std::strcmp(v, "rows") != 0;
      o.rows = std::strcmp(v, "panels") != 0;
    } else if (a == "--metric")
      o.metric = parse_metric(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

// Row-major n x dim -> panel-major (similarity.h), 64-byte aligned, padding lanes zero.
float* to_panels(const std::vector<float>& rows, int64_t n, int64_t dim) {
  const int64_t np = (n + kPanel - 1) / kPanel;
  size_t bytes = static_cast<size_t>(np * dim * kPanel) * sizeof(float);
  float* p = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  std::memset(p, 0, bytes);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t d = 0; d < dim; ++d) p[(r / kPanel) * dim * kPanel + d * kPanel + r % kPanel] = rows[r * dim + d];
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  const SimdLevel level = active_simd_level();
  const int64_t N = o.n, D = o.dim;
  const int64_t qmax = *std::max_element(o.qs.begin(), o.qs.end());
  const int64_t kmax = *std::max_element(o.ks.begin(), o.ks.end());

  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> corpus(static_cast<size_t>(N * D)), queries(static_cast<size_t>(qmax * D));
  for (auto& x : corpus) x = nd(rng);
  for (auto& x : queries) x = nd(rng);
  std::vector<float> sq(static_cast<size_t>(N));
  for (int64_t r = 0; r < N; ++r) {
    double s = 0;
    for (int64_t d = 0; d < D; ++d) s += double(corpus[r * D + d]) * corpus[r * D + d];
    sq[r] = static_cast<float>(s);
  }
  float* panels = to_panels(corpus, N, D);
  PanelCorpus pc;
  pc.panels = panels;
  pc.sq_norms = sq.data();
  pc.n = N;
  pc.dim = D;

  const double peak = probe_fma_peak(level, 0.5).gflops;
  const double corpus_bytes = double(N) * D * sizeof(float);
  std::printf("simsage bench_topk: N=%lld D=%lld metric=%s simd=%s corpus=%.0f MB\n", (long long)N, (long long)D,
              metric_name(o.metric), simd_level_name(level), corpus_bytes / 1e6);
  std::printf("FMA peak (1 thread, %s): %.1f GFLOP/s\n", simd_level_name(level), peak);
  std::vector<double> read_bw;
  for (int64_t t : o.threads) {
    double bw = probe_read_bandwidth(panels, N * D, 5, static_cast<int>(t)).gflops;
    read_bw.push_back(bw);
    std::printf("streaming read of the corpus bytes, %lld thread(s): %.1f GB/s\n", (long long)t, bw);
  }
  std::printf("\n%-7s %5s %4s %3s %12s %9s %8s %9s %8s\n", "layout", "Q", "k", "thr", "queries/s", "GFLOP/s", "%peak/t",
              "GB/s", "%read");

  std::vector<int64_t> out_ids(static_cast<size_t>(qmax * kmax));
  std::vector<float> out_scores(static_cast<size_t>(qmax * kmax));
  std::vector<int32_t> out_counts(static_cast<size_t>(qmax));
  for (int layout = 0; layout < 2; ++layout) {
    if ((layout == 0 && !o.panels) || (layout == 1 && !o.rows)) continue;
    for (int64_t Q : o.qs) {
      for (int64_t k : o.ks) {
        for (size_t ti = 0; ti < o.threads.size(); ++ti) {
          const int t = static_cast<int>(o.threads[ti]);
          TopkParams p;
          p.queries = queries.data();
          p.nq = Q;
          p.dim = D;
          p.k = k;
          p.metric = o.metric;
          p.threads = t;
          p.out_ids = out_ids.data();
          p.out_scores = out_scores.data();
          p.out_counts = out_counts.data();
          // Big runs take seconds each: fewer repetitions there.
          const double flop = 2.0 * N * D * Q;
          const int reps = std::max(1, std::min(o.reps, static_cast<int>(2e11 / flop) + 1));
          double best = 1e30;
          for (int r = 0; r < reps + 1; ++r) {  // first run warms up
            double t0 = now();
            if (layout == 0)
              topk_panels(p, pc);
            else
              topk_rowmajor(p, corpus.data(), N);
            double dt = now() - t0;
            if (r > 0 || reps == 1) best = std::min(best, dt);
            if (r == 0 && dt > 2.0) {
              best = dt;
              break;
            }  // too slow for repeats
          }
          const double gf = flop / best / 1e9;
          std::printf("%-7s %5lld %4lld %3d %12.1f %9.1f %7.1f%%", layout == 0 ? "panels" : "rows", (long long)Q,
                      (long long)k, t, Q / best, gf, 100.0 * gf / (peak * t));
          if (Q == 1) {
            const double gbs = corpus_bytes / best / 1e9;
            std::printf(" %9.1f %7.1f%%", gbs, 100.0 * gbs / read_bw[ti]);
          }
          std::printf("\n");
          std::fflush(stdout);
        }
      }
    }
  }
  std::free(panels);
  return 0;
}
