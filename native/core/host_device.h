// SIMSAGE_HOST_DEVICE marks an inline function that the CPU code and the CUDA kernels share (one
// definition of a rule both backends must apply alike): __host__ __device__ under nvcc, nothing else.
#pragma once

#ifdef __CUDACC__
#define SIMSAGE_HOST_DEVICE __host__ __device__
#else
#define SIMSAGE_HOST_DEVICE
#endif
