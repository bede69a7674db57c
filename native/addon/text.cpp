// Bindings of the text family (native/text/text.h), registered by register_text. Every call takes
// one arguments object (typed in lib/native/text-types.ts). The calls are synchronous: a featurise
// or embed serves one query batch and a backward or optimizer step is one step of a training loop.
// The featuriser and the backward return new typed arrays (their sizes are known only afterwards);
// the forward and the optimizers write caller-provided arrays in place.
#include "text/text.h"

#include <cstring>
#include <string>
#include <vector>

#include "addon/addon.h"
#include "addon/args.h"

namespace simsage {
namespace addon {

namespace {

// A BigUint64Array under key (any length).
Napi::BigUint64Array u64_array(const Args& a, const char* key) {
  Napi::Value v = a.get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array)
    throw_js(a.env(), kInvalidArgument, std::string(key) + " must be a BigUint64Array");
  return v.As<Napi::BigUint64Array>();
}

// Either {texts: string[]} or {text: string, offsets: Int32Array} (the texts joined, offsets in
// UTF-16 code units: one N-API string read instead of two per text), plus {seed, trigrams?, words?,
// bigrams?, threads?} -> {offsets, hashes, kinds}
Napi::Value Featurize(const Napi::CallbackInfo& info) {
  Args o(info, "textFeaturize");
  Napi::Env env = info.Env();
  std::vector<uint16_t> units;
  std::vector<int64_t> offsets;
  int64_t n = 0;
  if (o.has("text")) {
    Napi::Value s = o.get("text");
    if (!s.IsString()) throw_js(env, kInvalidArgument, "text must be a string");
    int64_t count_plus_1 = 0;
    const int32_t* off = o.i32_any("offsets", &count_plus_1);
    if (count_plus_1 < 1) throw_js(env, kDimMismatch, "offsets must have at least 1 element");
    n = count_plus_1 - 1;
    size_t len = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_value_string_utf16(env, s, nullptr, 0, &len), Napi::Value());
    units.resize(len + 1);
    size_t got = 0;
    NAPI_THROW_IF_FAILED(env,
                         napi_get_value_string_utf16(env, s, reinterpret_cast<char16_t*>(units.data()), len + 1, &got),
                         Napi::Value());
    units.resize(got);
    offsets.assign(off, off + count_plus_1);
    if (offsets[static_cast<size_t>(n)] != static_cast<int64_t>(got))
      throw_js(env, kDimMismatch,
               "offsets end at " + std::to_string(offsets[static_cast<size_t>(n)]) + " but text has " +
                   std::to_string(got) + " code units");
  } else {
    Napi::Value tv = o.get("texts");
    if (!tv.IsArray()) throw_js(env, kInvalidArgument, "texts must be an array of strings");
    Napi::Array texts = tv.As<Napi::Array>();
    n = texts.Length();
    offsets.assign(static_cast<size_t>(n) + 1, 0);
    for (uint32_t i = 0; i < static_cast<uint32_t>(n); ++i) {
      Napi::Value s = texts.Get(i);
      if (!s.IsString()) throw_js(env, kInvalidArgument, "texts[" + std::to_string(i) + "] must be a string");
      size_t len = 0;
      NAPI_THROW_IF_FAILED(env, napi_get_value_string_utf16(env, s, nullptr, 0, &len), Napi::Value());
      const size_t at = units.size();
      units.resize(at + len + 1);  // napi writes a terminating 0
      size_t got = 0;
      NAPI_THROW_IF_FAILED(
          env, napi_get_value_string_utf16(env, s, reinterpret_cast<char16_t*>(units.data() + at), len + 1, &got),
          Napi::Value());
      units.resize(at + got);
      offsets[i + 1] = static_cast<int64_t>(units.size());
    }
  }
  TextFeaturizeParams p;
  p.count = n;
  p.units = units.empty() ? nullptr : units.data();
  p.offsets = offsets.data();
  p.seed = static_cast<uint64_t>(o.integer("seed", 0, kMaxSafeInteger));
  p.trigrams = o.boolean_or("trigrams", true);
  p.words = o.boolean_or("words", true);
  p.bigrams = o.boolean_or("bigrams", true);
  p.threads = o.threads();
  TextFeatures f;
  guard(env, [&] { text_featurize(p, &f); });
  Napi::Int32Array off = Napi::Int32Array::New(env, f.offsets.size());
  std::memcpy(off.Data(), f.offsets.data(), f.offsets.size() * sizeof(int32_t));
  Napi::BigUint64Array hashes = Napi::BigUint64Array::New(env, f.hashes.size());
  if (!f.hashes.empty()) std::memcpy(hashes.Data(), f.hashes.data(), f.hashes.size() * sizeof(uint64_t));
  Napi::Uint8Array kinds = Napi::Uint8Array::New(env, f.kinds.size());
  if (!f.kinds.empty()) std::memcpy(kinds.Data(), f.kinds.data(), f.kinds.size());
  Napi::Object r = Napi::Object::New(env);
  r.Set("offsets", off);
  r.Set("hashes", hashes);
  r.Set("kinds", kinds);
  return r;
}

// The forward's keys: {offsets, hashes, rows, dim, importanceRows, table, importance, gamma?, beta?,
// eps?, pooled, mean, rstd, y, threads?}
HashBagParams bag_params(const Args& o) {
  HashBagParams p;
  Napi::Int32Array off = o.i32_array("offsets");
  if (off.ElementLength() < 1) throw_js(o.env(), kDimMismatch, "offsets must have at least 1 element");
  p.segments = static_cast<int64_t>(off.ElementLength()) - 1;
  p.offsets = off.Data();
  Napi::BigUint64Array h = u64_array(o, "hashes");
  p.tokens = static_cast<int64_t>(h.ElementLength());
  p.hashes = p.tokens == 0 ? static_cast<const uint64_t*>(empty_data()) : h.Data();
  p.rows = o.integer("rows", 1, int64_t(1) << 31, kDimMismatch);
  p.dim = o.integer("dim", 1, int64_t(1) << 20, kDimMismatch);
  p.importance_rows = o.integer("importanceRows", 1, int64_t(1) << 31, kDimMismatch);
  const int64_t B = p.segments, D = p.dim;
  p.table = o.f32("table", p.rows * D);
  p.importance = o.f32("importance", p.importance_rows * 2);
  p.gamma = o.f32_opt("gamma", D);
  p.beta = o.f32_opt("beta", D);
  p.eps = static_cast<float>(o.number_or("eps", 1e-5));
  p.pooled = o.f32("pooled", B * D);
  p.mean = o.f32("mean", B);
  p.rstd = o.f32("rstd", B);
  p.y = o.f32("y", B * D);
  p.threads = o.threads();
  return p;
}

Napi::Value BagForward(const Napi::CallbackInfo& info) {
  Args o(info, "textHashBagForward");
  HashBagParams p = bag_params(o);
  guard(info.Env(), [&] { hash_bag_forward(p); });
  return info.Env().Undefined();
}

Napi::Value sparse_to_js(Napi::Env env, const SparseRows& s, Napi::Object out, const char* rows_key,
                         const char* values_key) {
  Napi::Int32Array rows = Napi::Int32Array::New(env, s.rows.size());
  if (!s.rows.empty()) std::memcpy(rows.Data(), s.rows.data(), s.rows.size() * sizeof(int32_t));
  Napi::Float32Array values = Napi::Float32Array::New(env, s.values.size());
  if (!s.values.empty()) std::memcpy(values.Data(), s.values.data(), s.values.size() * sizeof(float));
  out.Set(rows_key, rows);
  out.Set(values_key, values);
  return out;
}

// The forward's keys plus {dy, tableGrad?, importanceGrad?, dgamma?, dbeta?} ->
// {tableRows, tableGrad, importanceRows, importanceGrad} (the asked-for parts)
Napi::Value BagBackward(const Napi::CallbackInfo& info) {
  Args o(info, "textHashBagBackward");
  HashBagBackwardParams p;
  p.fwd = bag_params(o);
  const int64_t B = p.fwd.segments, D = p.fwd.dim;
  p.dy = o.f32("dy", B * D);
  SparseRows tg, ig;
  if (o.boolean_or("tableGrad", true)) p.table_grad = &tg;
  if (o.boolean_or("importanceGrad", true)) p.importance_grad = &ig;
  p.dgamma = o.f32_opt("dgamma", D);
  p.dbeta = o.f32_opt("dbeta", D);
  p.threads = p.fwd.threads;
  guard(info.Env(), [&] { hash_bag_backward(p); });
  Napi::Object r = Napi::Object::New(info.Env());
  if (p.table_grad) sparse_to_js(info.Env(), tg, r, "tableRows", "tableGrad");
  if (p.importance_grad) sparse_to_js(info.Env(), ig, r, "importanceRows", "importanceGrad");
  return r;
}

// {tableRows, dim, table, rows, grad, state1, state2?, lr, eps, beta1?, beta2?, step?, weightDecay?,
//  threads?}
SparseOptimParams optim_params(const Args& o, bool adam) {
  SparseOptimParams p;
  p.table_rows = o.integer("tableRows", 1, int64_t(1) << 31, kDimMismatch);
  p.dim = o.integer("dim", 1, int64_t(1) << 20, kDimMismatch);
  p.table = o.f32("table", p.table_rows * p.dim);
  p.rows = o.i32_any("rows", &p.count);
  p.grad = o.f32("grad", p.count * p.dim);
  p.state1 = o.f32("state1", p.table_rows * p.dim);
  if (adam) p.state2 = o.f32("state2", p.table_rows * p.dim);
  p.lr = static_cast<float>(o.number("lr"));
  p.eps = static_cast<float>(o.number("eps"));
  p.weight_decay = static_cast<float>(o.number_or("weightDecay", 0.0));
  if (adam) {
    p.beta1 = static_cast<float>(o.number("beta1"));
    p.beta2 = static_cast<float>(o.number("beta2"));
    p.step = o.integer("step", 1, kMaxSafeInteger);
  }
  p.threads = o.threads();
  return p;
}

Napi::Value SparseAdagrad(const Napi::CallbackInfo& info) {
  Args o(info, "textSparseAdagrad");
  SparseOptimParams p = optim_params(o, false);
  guard(info.Env(), [&] { sparse_adagrad_step(p); });
  return info.Env().Undefined();
}

Napi::Value SparseAdam(const Napi::CallbackInfo& info) {
  Args o(info, "textSparseAdam");
  SparseOptimParams p = optim_params(o, true);
  guard(info.Env(), [&] { sparse_adam_step(p); });
  return info.Env().Undefined();
}

}  // namespace

void register_text(Napi::Env env, Napi::Object exports) {
  exports.Set("textFeaturize", Napi::Function::New(env, Featurize, "textFeaturize"));
  exports.Set("textHashBagForward", Napi::Function::New(env, BagForward, "textHashBagForward"));
  exports.Set("textHashBagBackward", Napi::Function::New(env, BagBackward, "textHashBagBackward"));
  exports.Set("textSparseAdagrad", Napi::Function::New(env, SparseAdagrad, "textSparseAdagrad"));
  exports.Set("textSparseAdam", Napi::Function::New(env, SparseAdam, "textSparseAdam"));
}

}  // namespace addon
}  // namespace simsage
