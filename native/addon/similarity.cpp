// Similarity bindings: stateless search over a caller-held row-major corpus, topkSync(args) and
// topkAsync(args), and the NativeIndex class (similarity_index.cpp).
// args: the search request (search.h) plus corpus (Float32Array, n x dim). The async form keeps the
// corpus alive with a reference instead of copying it (the caller must not mutate it meanwhile).
#include <memory>

#include "addon/addon.h"
#include "addon/async_worker.h"
#include "addon/search.h"

namespace simsage {
namespace addon {

namespace {

struct Corpus {
  const float* data;
  int64_t n;
};

Corpus read_corpus(const Args& a, int64_t dim) {
  int64_t len = 0;
  const float* c = a.f32_any("corpus", &len);
  if (len % dim != 0)
    throw_js(a.env(), kDimMismatch,
             "corpus length " + std::to_string(len) + " is not a multiple of dim " + std::to_string(dim));
  return {c, len / dim};
}

void run_topk(const SearchRequest& r, const Corpus& c, SearchOutput& out) {
  OwnedFilter f = build_filter(r.spec(), c.n, r.nq, [&](int64_t id) { return id < c.n ? id : -1; });
  TopkParams p = out.params(r, c.n);
  p.filter = f.view();
  out.stats = topk_rowmajor(p, c.data, c.n);
}

Napi::Value TopkSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "topkSync");
  SearchRequest r = parse_search(a, false);
  Corpus c = read_corpus(a, r.dim);
  SearchOutput out;
  guard(env, [&] { run_topk(r, c, out); });
  return out.to_js(env);
}

Napi::Value TopkAsync(const Napi::CallbackInfo& info) {
  Args a(info, "topkAsync");
  auto r = std::make_shared<SearchRequest>(parse_search(a, true));
  Corpus c = read_corpus(a, r->dim);
  auto out = std::make_shared<SearchOutput>();
  return PromiseWorker::queue(
      info.Env(), "simsage:topk", [r, c, out] { run_topk(*r, c, *out); },
      [r, out](Napi::Env env) { return out->to_js(env); }, {a.get("corpus")});
}

}  // namespace

void register_similarity(Napi::Env env, Napi::Object exports) {
  exports.Set("topkSync", Napi::Function::New(env, TopkSync, "topkSync"));
  exports.Set("topkAsync", Napi::Function::New(env, TopkAsync, "topkAsync"));
  exports.Set("NativeIndex", define_native_index(env));
}

}  // namespace addon
}  // namespace simsage
