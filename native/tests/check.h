// A minimal test harness for the native tests (no dependency): CHECK records a failure and goes on;
// main() returns non-zero when any check failed, which is what ctest reads.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace simsage_test {
inline int& failures() {
  static int f = 0;
  return f;
}
inline int& checks() {
  static int c = 0;
  return c;
}
struct Case {
  const char* name;
  std::function<void()> fn;
};
inline std::vector<Case>& cases() {
  static std::vector<Case> v;
  return v;
}
struct Register {
  Register(const char* n, std::function<void()> f) { cases().push_back({n, std::move(f)}); }
};

// SIMSAGE_TEST_FILTER=a,b runs only the cases whose names contain one of the comma-separated parts
// (for slow runs such as the CUDA emulation; ctest sets nothing, so every case runs).
inline bool selected(const char* name) {
  const char* f = std::getenv("SIMSAGE_TEST_FILTER");
  if (!f || !*f) return true;
  std::string all = f;
  for (size_t start = 0; start <= all.size();) {
    size_t end = all.find(',', start);
    if (end == std::string::npos) end = all.size();
    const std::string part = all.substr(start, end - start);
    if (!part.empty() && std::string(name).find(part) != std::string::npos) return true;
    start = end + 1;
  }
  return false;
}

inline int run_all() {
  for (auto& c : cases()) {
    if (!selected(c.name)) continue;
    int before = failures();
    try {
      c.fn();
    } catch (const std::exception& e) {
      std::printf("  exception in %s: %s\n", c.name, e.what());
      ++failures();
    }
    std::printf("%s %s\n", failures() == before ? "ok  " : "FAIL", c.name);
  }
  std::printf("%d checks, %d failed\n", checks(), failures());
  return failures() == 0 ? 0 : 1;
}
}  // namespace simsage_test

#define TEST_CASE(name)                                  \
  static void name();                                    \
  static simsage_test::Register name##_reg(#name, name); \
  static void name()

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    ++simsage_test::checks();                                                  \
    if (!(cond)) {                                                             \
      ++simsage_test::failures();                                              \
      if (simsage_test::failures() < 50) {                                     \
        std::printf("  %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
        std::printf(__VA_ARGS__);                                              \
        std::printf("\n");                                                     \
      }                                                                        \
    }                                                                          \
  } while (0)

#define EXPECT_THROW_CODE(stmt, code_)                                                      \
  do {                                                                                      \
    ++simsage_test::checks();                                                               \
    bool threw_ = false;                                                                    \
    try {                                                                                   \
      stmt;                                                                                 \
    } catch (const simsage::Error& e_) {                                                    \
      threw_ = e_.code() == (code_);                                                        \
    }                                                                                       \
    if (!threw_) {                                                                          \
      ++simsage_test::failures();                                                           \
      std::printf("  %s:%d: expected %s to throw %s\n", __FILE__, __LINE__, #stmt, #code_); \
    }                                                                                       \
  } while (0)

#define TEST_MAIN() \
  int main() { return simsage_test::run_all(); }
