// Stateless search over a caller-held row-major corpus: topkSync(args) and topkAsync(args).
// args: SearchRequest fields plus corpus (Float32Array, n x dim). The async form keeps the corpus
// alive with a reference instead of copying it (the caller must not mutate it meanwhile).
#include "addon/addon.h"
#include "addon/search_worker.h"

namespace simsage {
namespace addon {

namespace {
struct Corpus {
  const float* data;
  int64_t n;
};

Corpus read_corpus(const Napi::Object& o, int64_t dim) {
  Napi::Float32Array c = get_f32(o.Get("corpus"), "corpus");
  if (c.ElementLength() % dim != 0)
    throw_js(o.Env(), "ERR_SIMSAGE_DIM_MISMATCH",
             "corpus length " + std::to_string(c.ElementLength()) + " is not a multiple of dim " + std::to_string(dim));
  return {c.Data(), static_cast<int64_t>(c.ElementLength()) / dim};
}

Napi::Object arg_object(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject())
    throw_js(info.Env(), "ERR_SIMSAGE_INVALID_ARGUMENT", "expected an arguments object");
  return info[0].As<Napi::Object>();
}
}  // namespace

Napi::Value TopkSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(info);
  SearchRequest r = parse_search(o, false);
  Corpus c = read_corpus(o, r.dim);
  const float* q = get_f32(o.Get("queries"), "queries").Data();
  SearchOutput out;
  guard(env, [&] {
    OwnedFilter f = build_filter(r.spec(), c.n, r.nq, [&](int64_t id) { return id < c.n ? id : -1; });
    TopkParams p = out.params(r, q);
    p.filter = f.view();
    out.stats = topk_rowmajor(p, c.data, c.n);
    return 0;
  });
  return out.to_js(env, r.k);
}

Napi::Value TopkAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(info);
  auto r = std::make_shared<SearchRequest>(parse_search(o, true));
  Corpus c = read_corpus(o, r->dim);
  auto* w = new SearchWorker(
      env,
      [r, c](SearchOutput& out) {
        OwnedFilter f = build_filter(r->spec(), c.n, r->nq, [&](int64_t id) { return id < c.n ? id : -1; });
        TopkParams p = out.params(*r, r->queries.data());
        p.filter = f.view();
        out.stats = topk_rowmajor(p, c.data, c.n);
      },
      r->k, {o.Get("corpus")});
  Napi::Promise promise = w->promise();
  w->Queue();
  return promise;
}

}  // namespace addon
}  // namespace simsage
