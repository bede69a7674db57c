// The distance band of a filtered miner, shared by the CPU miners (cpu/miners.cpp) and their CUDA twin
// (cuda/filtered.cu) so both keep exactly the same triplets: negative n of (a, p) is kept when
// lo <= d(a, n) < hi, computed in the same float arithmetic (dp + m) on both backends.
#pragma once
#include <cmath>

#include "core/host_device.h"
#include "mining/mining.h"

namespace simsage {

SIMSAGE_HOST_DEVICE inline void triplet_filter_range(TripletFilter f, float dp, float m, float* lo, float* hi) {
  switch (f) {
    case TripletFilter::Any:
      *lo = -INFINITY, *hi = INFINITY;
      break;
    case TripletFilter::All:
      *lo = -INFINITY, *hi = dp + m;
      break;
    case TripletFilter::Hard:
      *lo = -INFINITY, *hi = dp;
      break;
    case TripletFilter::SemiHard:
      *lo = dp, *hi = dp + m;
      break;
    case TripletFilter::Easy:
      *lo = dp + m, *hi = INFINITY;
      break;
  }
}

}  // namespace simsage
