// info(), global settings (threads, SIMD level, backend) and the machine probes.
#include "addon/addon.h"
#include "core/backend.h"
#include "core/cpu_features.h"
#include "core/probe.h"
#include "core/thread_pool.h"

namespace simsage {
namespace addon {

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
  // Every kernel of this version runs on the CPU; the CUDA search kernels come in a later release.
  o.Set("backendActive", "cpu");
  o.Set("backendPreferred", backend_name(preferred_backend()));
  o.Set("cudaBuilt", b.cuda_built);
  o.Set("cudaMessage", b.cuda_message);
  Napi::Array devs = Napi::Array::New(env);
  for (size_t d = 0; d < b.devices.size(); ++d) {
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("index", b.devices[d].index);
    dev.Set("name", b.devices[d].name);
    dev.Set("totalMemory", static_cast<double>(b.devices[d].total_memory));
    dev.Set("computeCapability", std::to_string(b.devices[d].compute_major) + "." + std::to_string(b.devices[d].compute_minor));
    devs.Set(static_cast<uint32_t>(d), dev);
  }
  o.Set("cudaDevices", devs);
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  guard(env, [&] {
    set_default_threads(n);
    return 0;
  });
  return Napi::Number::New(env, default_threads());
}

Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "auto";
  SimdLevel l = guard(env, [&] { return set_simd_level(parse_simd_level(name)); });
  return Napi::String::New(env, simd_level_name(l));
}

Napi::Value SetBackend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "auto";
  guard(env, [&] {
    if (name == "auto") set_preferred_backend(backend_status().cuda_available ? Backend::Cuda : Backend::Cpu);
    else set_preferred_backend(parse_backend(name));
    return 0;
  });
  return Napi::String::New(env, backend_name(preferred_backend()));
}

// probeFmaPeak(simd: string, seconds: number) -> { gflops, simd, seconds }
Napi::Value ProbeFmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "auto";
  double secs = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0.2;
  SimdLevel l = guard(env, [&] { return parse_simd_level(name); });
  l = supported_simd_level(l);
  ProbeResult r = probe_fma_peak(l, secs);
  Napi::Object o = Napi::Object::New(env);
  o.Set("gflops", r.gflops);
  o.Set("simd", simd_level_name(l));
  o.Set("seconds", r.seconds);
  return o;
}

// probeReadBandwidth(data: Float32Array, passes: number, threads: number) -> { gbPerSec, seconds }
Napi::Value ProbeReadBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array d = get_f32(info[0], "data");
  int passes = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 3;
  int threads = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 1;
  ProbeResult r = probe_read_bandwidth(d.Data(), static_cast<int64_t>(d.ElementLength()), passes < 1 ? 1 : passes, threads);
  Napi::Object o = Napi::Object::New(env);
  o.Set("gbPerSec", r.gflops);
  o.Set("seconds", r.seconds);
  return o;
}

}  // namespace addon
}  // namespace simsage
