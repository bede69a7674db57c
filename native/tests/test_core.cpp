// Core: error codes, SIMD level parsing and step-down, thread pool scheduling and error propagation,
// and the machine probes' loops checked against their own disassembly.
#include <time.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "check.h"
#include "core/backend.h"
#include "core/checksum.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/probe.h"
#include "core/thread_pool.h"
#include "disasm.h"

using namespace simsage;

TEST_CASE(error_codes_are_stable) {
  CHECK(std::string(error_code_name(ErrorCode::DimMismatch)) == "ERR_SIMSAGE_DIM_MISMATCH", "dim");
  CHECK(std::string(error_code_name(ErrorCode::CorruptFile)) == "ERR_SIMSAGE_CORRUPT_FILE", "file");
  Error e(ErrorCode::InvalidK, "k");
  CHECK(std::string(e.code_name()) == "ERR_SIMSAGE_INVALID_K", "code_name");
}

TEST_CASE(simd_levels) {
  CHECK(parse_simd_level("scalar") == SimdLevel::Scalar, "scalar");
  CHECK(parse_simd_level("auto") == best_simd_level(), "auto");
  EXPECT_THROW_CODE(parse_simd_level("sse9"), ErrorCode::InvalidArgument);
  SimdLevel before = active_simd_level();
  CHECK(set_simd_level(SimdLevel::Scalar) == SimdLevel::Scalar, "set scalar");
  SimdLevel got = set_simd_level(SimdLevel::Avx512);
  CHECK(simd_level_supported(got), "set steps down to a supported level");
  set_simd_level(before);
}

TEST_CASE(thread_pool_runs_every_task_once) {
  for (int threads : {1, 2, 4}) {
    std::vector<std::atomic<int>> hits(1000);
    for (auto& h : hits) h = 0;
    parallel_for(1000, threads, [&](int64_t t, int w) {
      CHECK(w >= 0 && w < threads, "worker slot %d of %d", w, threads);
      hits[t]++;
    });
    int bad = 0;
    for (auto& h : hits) bad += h.load() != 1;
    CHECK(bad == 0, "%d tasks not run exactly once with %d threads", bad, threads);
  }
}

TEST_CASE(thread_pool_rethrows_on_caller) {
  bool caught = false;
  try {
    parallel_for(100, 2, [&](int64_t t, int) {
      if (t == 37) throw Error(ErrorCode::Internal, "boom");
    });
  } catch (const Error& e) {
    caught = e.code() == ErrorCode::Internal;
  }
  CHECK(caught, "exception from a task reaches the caller");
  // the pool still works afterwards
  std::atomic<int> n{0};
  parallel_for(10, 2, [&](int64_t, int) { n++; });
  CHECK(n == 10, "pool usable after an error");
}

TEST_CASE(thread_pool_idle_costs_no_cpu) {
  // Idle workers block: over 40 ms of idling the process uses far less than the 40 ms a spinning
  // worker would burn. A poll-before-block added to the pool must stay bounded to pass. (A CPU-time
  // bound, not a speed test.)
  std::atomic<int> n{0};
  parallel_for(64, 2, [&](int64_t, int) { n++; });
  auto cpu = [] {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  };
  const double c0 = cpu();
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  const double used = cpu() - c0;
  CHECK(used < 0.015, "the idle pool used %.1f ms of CPU in 40 ms", used * 1e3);
}

TEST_CASE(backend_and_probe) {
  const BackendStatus& s = backend_status();
  CHECK(!s.cuda_available || !s.devices.empty(), "cuda_available implies devices");
  if (!s.cuda_available) CHECK(!s.cuda_message.empty(), "a reason is given");
  CHECK(preferred_backend() == Backend::Cpu || s.cuda_available, "cuda preferred only when available");
  ProbeResult r = probe_fma_peak(SimdLevel::Scalar, 0.01);
  CHECK(r.gflops > 0, "fma probe measures something");
  std::vector<float> data(1 << 16, 1.f);
  ProbeResult b = probe_read_bandwidth(data.data(), static_cast<int64_t>(data.size()), 2, 1);
  CHECK(b.gflops > 0, "read probe measures something");
}

TEST_CASE(read_probe_reads_every_float) {
  // A sum that skipped or repeated any block would miss n.
  for (int64_t n : {int64_t(0), int64_t(5), int64_t(64 * 37 + 5), int64_t(4096)}) {
    std::vector<float> ones(static_cast<size_t>(n), 1.f);
    CHECK(read_sum_scalar(ones.data(), n) == static_cast<double>(n), "scalar n=%lld", static_cast<long long>(n));
#if defined(SIMSAGE_X86)
    if (simd_level_supported(SimdLevel::Avx2))
      CHECK(read_sum_avx2(ones.data(), n) == static_cast<double>(n), "avx2 n=%lld", static_cast<long long>(n));
    if (simd_level_supported(SimdLevel::Avx512))
      CHECK(read_sum_avx512(ones.data(), n) == static_cast<double>(n), "avx512 n=%lld", static_cast<long long>(n));
#endif
  }
}

#if defined(SIMSAGE_X86)
namespace {
using simsage_test::Insn;

const std::map<std::string, std::vector<Insn>>& self_disassembly(std::string* why) {
  static std::string reason;
  static const std::map<std::string, std::vector<Insn>> fns = simsage_test::disassemble_self(&reason);
  *why = reason;
  return fns;
}

// objdump's hex immediates and displacements: "-0x40", or "0xffffffffffffff80" for -128.
int64_t hex(const std::string& s) {
  if (!s.empty() && s[0] == '-') return -static_cast<int64_t>(std::stoull(s.substr(1), nullptr, 16));
  return static_cast<int64_t>(std::stoull(s, nullptr, 16));
}

bool is_fma(const Insn& i) { return simsage_test::starts_with(i.mnemonic, "vfmadd"); }

// The loop of `fn` with the most instructions that `count` counts; empty when there is none.
template <class Pred>
std::vector<Insn> hot_loop(const std::vector<Insn>& fn, Pred count) {
  std::vector<Insn> best;
  int best_n = 0;
  for (auto& loop : simsage_test::loops_of(fn)) {
    const int n = static_cast<int>(std::count_if(loop.begin(), loop.end(), count));
    if (n > best_n) best = loop, best_n = n;
  }
  return best;
}

// The FMA loop of `name` issues exactly the FMAs the probe counts, each on its own accumulator of
// the level's width, and the flops the probe returns are those FMAs' flops.
void check_fma_loop(const char* name, SimdLevel level, FmaProbe variant, const char* reg,
                    int64_t (*body)(int64_t, float*)) {
  std::string why;
  const auto& fns = self_disassembly(&why);
  if (fns.empty()) {
    std::printf("  skipped: %s (the FMA loops are not checked)\n", why.c_str());
    return;
  }
  auto it = fns.find(name);
  CHECK(it != fns.end(), "%s not found in the disassembly", name);
  if (it == fns.end()) return;
  const std::vector<Insn> loop = hot_loop(it->second, is_fma);
  std::set<std::string> dests;
  int fmas = 0, wrong_width = 0;
  for (const Insn& i : loop) {
    if (!is_fma(i)) continue;
    ++fmas;
    const std::string d = simsage_test::last_operand(i.operands);
    dests.insert(d);
    wrong_width += d.find(reg) == std::string::npos;
  }
  const int claimed = fma_probe_fmas_per_iteration(level, variant);
  CHECK(fmas == claimed, "%s: %d FMAs per loop iteration in the binary, the probe counts %d", name, fmas, claimed);
  CHECK(static_cast<int>(dests.size()) == fmas, "%s: %d FMAs write only %d distinct accumulators (chains merged)", name,
        fmas, static_cast<int>(dests.size()));
  CHECK(wrong_width == 0, "%s: %d FMAs are not on %s registers", name, wrong_width, reg);
  std::printf("  %s: %d FMAs per iteration on %d %s accumulators\n", name, fmas, static_cast<int>(dests.size()), reg);
  if (simd_level_supported(level)) {
    float sink = 0;
    const int64_t flops = body(1000, &sink);
    CHECK(flops == 1000LL * fmas * fma_probe_lanes(level) * 2, "%s: returns %lld flops for 1000 iterations", name,
          static_cast<long long>(flops));
  }
}

// The read loop of `name` loads `read_probe_bytes_per_iteration` bytes per iteration, as
// contiguous vectors, and advances its pointer by exactly that much: every byte once.
void check_read_loop(const char* name, SimdLevel level, const char* reg) {
  std::string why;
  const auto& fns = self_disassembly(&why);
  if (fns.empty()) {
    std::printf("  skipped: %s (the read loops are not checked)\n", why.c_str());
    return;
  }
  auto it = fns.find(name);
  CHECK(it != fns.end(), "%s not found in the disassembly", name);
  if (it == fns.end()) return;
  static const std::regex mem(R"((-?0x[0-9a-f]+)?\((%\w+)(?:,(%\w+),(\d))?\))");
  static const std::regex step(R"(^\$(-?0x[0-9a-f]+),(%\w+)$)");
  auto is_load = [&](const Insn& i) {
    return i.operands.find('(') != std::string::npos && i.operands.find(reg) != std::string::npos;
  };
  const std::vector<Insn> loop = hot_loop(it->second, is_load);
  const int width = fma_probe_lanes(level) * 4;
  // The loads' address registers, then the one the loop advances.
  struct Load {
    uint64_t addr;
    int64_t disp;
    std::string base, index;
    int scale;
  };
  std::vector<Load> loads;
  for (const Insn& i : loop) {
    std::smatch m;
    if (!is_load(i) || !std::regex_search(i.operands, m, mem)) continue;
    loads.push_back({i.addr, m[1].matched ? hex(m[1].str()) : 0, m[2], m[3], m[4].matched ? std::stoi(m[4].str()) : 1});
  }
  int64_t stride = 0, shift = 0;
  uint64_t step_addr = 0;
  std::string stepped;
  for (const Insn& i : loop) {
    std::smatch m;
    if ((i.mnemonic != "add" && i.mnemonic != "sub") || !std::regex_match(i.operands, m, step)) continue;
    for (const Load& l : loads) {
      if (m[2] != l.base && m[2] != l.index) continue;
      const int64_t imm = hex(m[1].str()) * (i.mnemonic == "sub" ? -1 : 1);
      stepped = m[2], step_addr = i.addr, shift = imm * (m[2] == l.index ? l.scale : 1), stride = shift;
    }
  }
  std::vector<int64_t> offsets;
  for (const Load& l : loads)
    offsets.push_back(l.disp + (l.addr > step_addr ? shift : 0));  // after the step: one stride on
  std::sort(offsets.begin(), offsets.end());
  bool contiguous = true;
  for (size_t k = 0; k < offsets.size(); ++k) contiguous &= offsets[k] - offsets[0] == static_cast<int64_t>(k) * width;
  const int claimed = read_probe_bytes_per_iteration(level);
  const int64_t loaded = static_cast<int64_t>(loads.size()) * width;
  CHECK(loaded == claimed, "%s: loads %lld bytes per iteration, the probe counts %d", name,
        static_cast<long long>(loaded), claimed);
  CHECK(stride == claimed, "%s: advances %s by %lld bytes per iteration, the probe counts %d", name, stepped.c_str(),
        static_cast<long long>(stride), claimed);
  CHECK(contiguous, "%s: the loads do not tile the %lld bytes of one iteration", name, static_cast<long long>(stride));
  std::printf("  %s: %d loads of %d bytes, pointer %s += %lld per iteration\n", name, static_cast<int>(loads.size()),
              width, stepped.c_str(), static_cast<long long>(stride));
}
}  // namespace

TEST_CASE(fma_probe_loops_do_what_they_count) {
  check_fma_loop("simsage::fma_chains_avx512", SimdLevel::Avx512, FmaProbe::Asm, "%zmm", fma_chains_avx512);
  check_fma_loop("simsage::fma_intrinsics_avx512", SimdLevel::Avx512, FmaProbe::Intrinsics, "%zmm",
                 fma_intrinsics_avx512);
  check_fma_loop("simsage::fma_chains_avx2", SimdLevel::Avx2, FmaProbe::Asm, "%ymm", fma_chains_avx2);
  check_fma_loop("simsage::fma_intrinsics_avx2", SimdLevel::Avx2, FmaProbe::Intrinsics, "%ymm", fma_intrinsics_avx2);
}

TEST_CASE(read_probe_loops_read_what_they_count) {
  check_read_loop("simsage::read_sum_avx512", SimdLevel::Avx512, "%zmm");
  check_read_loop("simsage::read_sum_avx2", SimdLevel::Avx2, "%ymm");
}
#endif

TEST_CASE(crc32_known_value) {
  const char* s = "123456789";
  CHECK(crc32_update(0, reinterpret_cast<const uint8_t*>(s), 9) == 0xCBF43926u, "CRC-32 check value");
  CHECK(crc32_bytewise(0, reinterpret_cast<const uint8_t*>(s), 9) == 0xCBF43926u, "reference check value");
}

TEST_CASE(crc32_slicing_equals_bitwise_reference) {
  // Every length 0..80 and a stream-state size, at every alignment, whole and split in two.
  std::vector<uint8_t> buf(7720 + 16);
  uint32_t x = 12345;
  for (auto& b : buf) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(x >> 24);
  }
  int bad = 0, checks = 0;
  for (size_t off = 0; off < 8; ++off) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{15}, size_t{16}, size_t{17},
                     size_t{63}, size_t{64}, size_t{80}, size_t{536}, size_t{7720}}) {
      const uint8_t* p = buf.data() + off;
      const uint32_t want = crc32_bytewise(0, p, n);
      bad += crc32_update(0, p, n) != want;
      for (size_t cut : {size_t{0}, n / 3, n / 2 + 1}) {
        if (cut > n) continue;
        bad += crc32_update(crc32_update(0, p, cut), p + cut, n - cut) != want;
        ++checks;
      }
      bad += crc32_update(0x1234u, p, n) != crc32_bytewise(0x1234u, p, n);
      checks += 2;
    }
  }
  CHECK(bad == 0 && checks > 500, "slicing-by-8 CRC-32 equals the bitwise reference");
}

TEST_MAIN()
