// The CUDA twin of native/similarity/cpu/. This issue lays the seam only: the backend probe
// (devices present, or why not). The search kernels come with the CUDA issue; until then a search
// always runs on the CPU and reports backend "cpu".
#pragma once
#include "core/backend.h"
