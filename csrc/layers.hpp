// The training step's other kernels, beside the convolutions: pooling, batch normalisation,
// ReLU, the bias gradient and Adam, over channels-last data (layers.inc, one table per
// instruction-set level).  Shapes, with ``rows`` every axis but the last and ``C`` the last::
//
//     max_pool            y[n, o, c] = max over the window's real inputs of x[n, i, c];
//                         index[n, o, c] = i (the flat input pixel, first of equal maxima)
//     max_pool_backward   dx = 0;  dx[n, index[n, o, c], c] += dy[n, o, c]
//     average_pool        y[n, o, c] = mean over the window's real inputs (TF's SAME count)
//     moments             mean[c], var[c] (biased) of x (rows, C), summed in double
//     scale_shift         y = x * scale[c] + shift[c], then max(0, .) if relu
//     relu_backward       dz = dy * (y > 0) (dz = dy without y); bias[c] = sum_rows dz
//     batch_norm_backward with g = dy * (y > 0) (y the ReLU's output if fused, else g = dy):
//                         sum_g[c], sum_gc[c] = sum_rows g * (x - mean);
//                         dx = a g + b (x - mean) + k, a = gamma inv_std,
//                         b = -a inv_std^2 sum_gc / rows, k = -a sum_g / rows
//     adam                m += (1 - b1)(g - m);  v += (1 - b2)(g^2 - v);
//                         w -= lr m / (sqrt(v) + eps)
//     affine_sample       y[n, i, j, c] = x[n, r, q, c] at r = a0 i + a1 j + a2,
//                         q = a3 i + a4 j + a5 (a = maps[n], 6 values), nearest or bilinear,
//                         outside read under Keras' fill mode (constant: ``fill``)
//
// Pooling geometries are convolution ones (kernels.hpp) with groups = 1, cg = og = C, the
// pool as the kernel, dilation 1.  Per-channel vectors are double; sums over rows are made
// in fixed blocks of rows and added in block order, so results do not depend on threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels.hpp"

namespace strided {

enum FillMode { FILL_CONSTANT = 0, FILL_NEAREST = 1, FILL_REFLECT = 2, FILL_WRAP = 3 };

template <class T>
struct LayerKernels {
    void (*max_pool)(const Geometry&, const T* x, T* y, int32_t* index);
    void (*max_pool_backward)(const Geometry&, const T* dy, const int32_t* index, T* dx);
    void (*average_pool)(const Geometry&, const T* x, T* y);
    void (*average_pool_backward)(const Geometry&, const T* dy, T* dx);
    void (*moments)(const T* x, int64_t rows, int64_t C, double* mean, double* var,
                    int64_t threads);
    void (*scale_shift)(const T* x, int64_t rows, int64_t C, const double* scale,
                        const double* shift, bool relu, T* y, int64_t threads);
    void (*relu_backward)(const T* y, const T* dy, int64_t rows, int64_t C, T* dz,
                          double* bias, int64_t threads);
    void (*batch_norm_backward)(const T* x, const T* dy, const T* y, int64_t rows, int64_t C,
                                const double* mean, const double* inv_std,
                                const double* gamma, T* dx, double* sum_g, double* sum_gc,
                                int64_t threads);
    void (*adam)(T* w, const T* g, T* m, T* v, int64_t n, double lr, double beta_1,
                 double beta_2, double epsilon, int64_t threads);
    void (*affine_sample)(const T* x, int64_t N, int64_t H, int64_t W, int64_t C,
                          const double* maps, bool bilinear, int fill_mode, double fill,
                          T* y, int64_t threads);
};

struct LayerLevel {
    const char* name;
    LayerKernels<float> f32;
    LayerKernels<double> f64;
};

extern const LayerLevel layers_portable;
#if defined(STRIDED_X86)
extern const LayerLevel layers_avx2;
extern const LayerLevel layers_avx512;
#endif

}  // namespace strided
