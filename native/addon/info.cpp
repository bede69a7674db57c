// info(), global settings (threads, SIMD level, backend) and the machine probes. Settings are
// process-wide (shared by every worker thread): they describe the machine.
#include "addon/addon.h"
#include "addon/args.h"
#include "core/backend.h"
#include "core/cpu_features.h"
#include "core/probe.h"
#include "core/thread_pool.h"

namespace simsage {
namespace addon {

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const CpuFeatures& f = cpu_features();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("vendor", f.vendor);
  cpu.Set("brand", f.brand);
  Napi::Array sup = Napi::Array::New(env);
  uint32_t i = 0;
  for (SimdLevel l : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512})
    if (simd_level_supported(l)) sup.Set(i++, simd_level_name(l));
  cpu.Set("simdSupported", sup);
  Napi::Object ext = Napi::Object::New(env);
  ext.Set("avx512Bf16", f.avx512_bf16);
  ext.Set("avx512Vnni", f.avx512_vnni);
  ext.Set("avxVnni", f.avx_vnni);
  cpu.Set("extensions", ext);
  o.Set("cpu", cpu);
  o.Set("simd", simd_level_name(active_simd_level()));
  o.Set("simdBest", simd_level_name(best_simd_level()));
  o.Set("threads", default_threads());
  o.Set("cores", available_cores());
  const BackendStatus& b = backend_status();
  Napi::Array avail = Napi::Array::New(env);
  avail.Set(uint32_t(0), "cpu");
  if (b.cuda_available) avail.Set(uint32_t(1), "cuda");
  o.Set("backendsAvailable", avail);
  // The backend kernels with a CUDA twin run on now (cuda only when a device answers); a call reports
  // where it actually ran in its result's `ran.backend`.
  o.Set("backendActive", backend_name(preferred_backend()));
  o.Set("backendPreferred", backend_name(preferred_backend()));
  o.Set("cudaBuilt", b.cuda_built);
  o.Set("cudaMessage", b.cuda_message);
  Napi::Array devs = Napi::Array::New(env);
  for (size_t d = 0; d < b.devices.size(); ++d) {
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("index", b.devices[d].index);
    dev.Set("name", b.devices[d].name);
    dev.Set("totalMemory", static_cast<double>(b.devices[d].total_memory));
    dev.Set("computeCapability",
            std::to_string(b.devices[d].compute_major) + "." + std::to_string(b.devices[d].compute_minor));
    devs.Set(static_cast<uint32_t>(d), dev);
  }
  o.Set("cudaDevices", devs);
  return o;
}

// setThreads({ threads }) -> the default now in force (0 restores the machine default)
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "setThreads");
  const int n = static_cast<int>(a.integer_or("threads", 0, 0, 1 << 16));
  guard(env, [&] { set_default_threads(n); });
  return Napi::Number::New(env, default_threads());
}

// setSimd({ level: 'scalar' | 'avx2' | 'avx512' | 'auto' }) -> the level now in force
Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "setSimd");
  const std::string name = a.string_or("level", "auto");
  SimdLevel l = guard(env, [&] { return set_simd_level(parse_simd_level(name)); });
  return Napi::String::New(env, simd_level_name(l));
}

// setBackend({ backend: 'cpu' | 'cuda' | 'auto' }) -> the preferred backend now
Napi::Value SetBackend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "setBackend");
  const std::string name = a.string_or("backend", "auto");
  guard(env, [&] {
    if (name == "auto")
      set_preferred_backend(backend_status().cuda_available ? Backend::Cuda : Backend::Cpu);
    else
      set_preferred_backend(parse_backend(name));
  });
  return Napi::String::New(env, backend_name(preferred_backend()));
}

// probeFmaPeak({ simd?, seconds?, variant?: 'asm' | 'intrinsics' })
//   -> { gflops, simd, seconds, variant, fmasPerIteration }
Napi::Value ProbeFmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "probeFmaPeak");
  const std::string name = a.string_or("simd", "auto");
  const double secs = a.number_or("seconds", 0.2);
  const std::string variant = a.string_or("variant", "asm");
  if (variant != "asm" && variant != "intrinsics")
    throw_js(env, kInvalidArgument, "variant must be 'asm' or 'intrinsics'");
  const FmaProbe v = variant == "asm" ? FmaProbe::Asm : FmaProbe::Intrinsics;
  SimdLevel l = guard(env, [&] { return parse_simd_level(name); });
  l = supported_simd_level(l);
  ProbeResult r = guard(env, [&] { return probe_fma_peak(l, secs, v); });
  Napi::Object o = Napi::Object::New(env);
  o.Set("gflops", r.gflops);
  o.Set("simd", simd_level_name(l));
  o.Set("seconds", r.seconds);
  o.Set("variant", variant);
  o.Set("fmasPerIteration", fma_probe_fmas_per_iteration(l, v));
  return o;
}

// probeReadBandwidth({ data: Float32Array, passes?, threads? }) -> { gbPerSec, seconds }
Napi::Value ProbeReadBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "probeReadBandwidth");
  int64_t n = 0;
  const float* d = a.f32_any("data", &n);
  // Lenient like the public probeReadBandwidth always was: fractions truncate, passes < 1 runs one,
  // threads <= 0 means the default.
  const double passes = a.number_or("passes", 3), threads = a.number_or("threads", 1);
  const int np = passes >= 1 && passes < (1 << 20) ? static_cast<int>(passes) : 1;
  const int nt = threads > -(1 << 16) && threads < (1 << 16) ? static_cast<int>(threads) : 0;  // <= 0: default
  ProbeResult r = guard(env, [&] { return probe_read_bandwidth(d, n, np, nt); });
  Napi::Object o = Napi::Object::New(env);
  o.Set("gbPerSec", r.gflops);
  o.Set("seconds", r.seconds);
  return o;
}

// externalMemory() -> V8's count of external memory in this isolate (bytes): what native objects
// reported through AdjustExternalMemory plus ArrayBuffer backing stores. A diagnostic for tests:
// Node 20's process.memoryUsage().external does not include the reported amounts.
Napi::Value ExternalMemory(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(),
                           static_cast<double>(Napi::MemoryManagement::AdjustExternalMemory(info.Env(), 0)));
}

}  // namespace

void register_info(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("setSimd", Napi::Function::New(env, SetSimd, "setSimd"));
  exports.Set("setBackend", Napi::Function::New(env, SetBackend, "setBackend"));
  exports.Set("probeFmaPeak", Napi::Function::New(env, ProbeFmaPeak, "probeFmaPeak"));
  exports.Set("probeReadBandwidth", Napi::Function::New(env, ProbeReadBandwidth, "probeReadBandwidth"));
  exports.Set("externalMemory", Napi::Function::New(env, ExternalMemory, "externalMemory"));
}

}  // namespace addon
}  // namespace simsage
