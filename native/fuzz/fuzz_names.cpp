// libFuzzer target: the native parsers of user strings (metric, distance metric and triplet filter
// names; the addon passes them through unchanged). Outcome: a known value, or a coded
// simsage::Error naming the input; never another exception.
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "mining/mining.h"
#include "similarity/similarity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  const char* name = s.c_str();  // stops at an embedded NUL, as a C string from the addon would
  using namespace simsage;
  if (simsage_fuzz::accepted([&] { parse_metric(name); }))
    FUZZ_CHECK(std::string(metric_name(parse_metric(name))) == name, "fuzz_names");
  if (simsage_fuzz::accepted([&] { parse_distance_metric(name); }))
    FUZZ_CHECK(std::string(distance_metric_name(parse_distance_metric(name))) == name, "fuzz_names");
  simsage_fuzz::accepted([&] { parse_triplet_filter(name); });
  simsage_fuzz::accepted([] { parse_metric(nullptr); });
  return 0;
}
