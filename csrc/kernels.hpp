// What module.cpp and the per-level kernel files share: the geometry of one convolution, the
// thread pool's interface and the table of kernels each instruction-set level fills in.
// Nothing here depends on the level's flags.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace strided {

// One convolution over channels-last data, in three spatial dimensions (1-D and 2-D calls
// have size-1 leading dimensions).  Per dimension i (D, H, W)::
//
//     out[i] = (in[i] + pad_lo + pad_hi - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
//     input index = o * stride[i] + k * dilation[i] - pad[i]      (read only when in range)
//
// ``pad`` is the padding before; it may be negative (the phases of an input gradient start
// inside the input).  x is (batch, in..., groups * cg), C-contiguous; y is (batch, out...,
// groups * og) with ``y_stride`` elements between its pixels (and contiguous channels, but
// in ``forward``).
struct Geometry {
    int64_t batch, groups, cg, og;
    int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad[3];
    int64_t y_stride[4];  // elements between consecutive n, d, h, w of y
    int64_t y_channel_stride = 1;  // and between its channels: 1 but in ``forward``, whose y may be
                                   // a channels-last view of channels-first memory
    int64_t x_channel_stride = 1;  // x's likewise: 1 but in ``forward`` of a banded layer, whose
                                   // x may be a channels-last view of channels-first memory
    bool relu;
    int64_t threads;      // at most this many threads, the caller's included

    int64_t in_channels() const { return groups * cg; }
    int64_t out_channels() const { return groups * og; }
    int64_t taps() const { return kernel[0] * kernel[1] * kernel[2]; }
    int64_t rows() const { return batch * out[0] * out[1]; }
    int64_t macs() const { return rows() * out[2] * out_channels() * taps() * cg; }
};

// Layers over fewer input channels than this, one group, but the 1x1 ones over at most 4, run
// over bands of their input (conv.inc's forward_banded, which reads x channels last or first),
// and their weight gradients over runs of (kw, channel) pairs (grad_weight_banded).
constexpr int64_t FEW_CHANNELS = 8;
inline bool banded(const Geometry& g) {
    return g.groups == 1 && g.cg < FEW_CHANNELS && !(g.taps() == 1 && g.cg <= 4);
}

// ``fn(context, begin, end)`` over [0, tasks), split into at most ``parts`` shares run by the
// library's threads and the caller's (pool.cpp); ``parts <= 1`` runs it all on the caller.
using TaskFn = void (*)(void* context, int64_t begin, int64_t end);
void parallel_for(int64_t tasks, int64_t parts, TaskFn fn, void* context);

template <class F>
void parallel(int64_t tasks, int64_t parts, F& body) {
    parallel_for(tasks, parts,
                 [](void* context, int64_t begin, int64_t end) {
                     (*static_cast<F*>(context))(begin, end);
                 },
                 &body);
}

// The kernels of one instruction-set level.  Weights for ``forward`` are packed as
// (groups, oc blocks, taps, cg, lanes), zero beyond og; ``lanes`` says how many output
// channels one block holds for a group of og.
template <class T>
struct Kernels {
    int (*lanes)(int64_t og);
    void (*forward)(const Geometry&, const T* x, const T* packed, const T* bias, T* y);
    void (*grad_weight)(const Geometry&, const T* x, const T* dy, T* dw);
    void (*depthwise_forward)(const Geometry&, const T* x, const T* w, const T* bias, T* y);
    void (*depthwise_grad_weight)(const Geometry&, const T* x, const T* dy, T* dw);
    // one input channel per group over channels first (depthwise, or one channel), stride 1
    // along W; w and dw are (O, taps)
    void (*plane_forward)(const Geometry&, const T* x, const T* w, const T* bias, T* y);
    void (*plane_grad_weight)(const Geometry&, const T* x, const T* dy, T* dw);
    // dst[n, q, p] = src[n, p, q]: (N, P, Q) -> (N, Q, P), both C-contiguous (layout.inc)
    void (*transpose)(const T* src, T* dst, int64_t N, int64_t P, int64_t Q, int64_t threads);
};

struct Level {
    const char* name;
    Kernels<float> f32;
    Kernels<double> f64;
};

extern const Level level_portable;
#if defined(STRIDED_X86)
extern const Level level_avx2;
extern const Level level_avx512;
#endif

}  // namespace strided
