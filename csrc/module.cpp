// strided._kernels: the compiled leaf under strided's algorithms.
//
// Arrays arrive through the buffer protocol (no NumPy headers at build time), already in the
// canonical layout the spec promised; the checks here are for internal consistency only (user
// input was validated in Python) and raise ValueError, never crash.  Every kernel runs with
// the GIL released, on the library's thread pool (pool.cpp), at the instruction-set level
// chosen at import (the best the CPU has) or later by set_level().
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "kernels.hpp"
#include "winograd.hpp"
#include "layers.hpp"

using strided::Geometry;
using strided::Level;

namespace {

std::vector<const Level*> supported_levels() {
    std::vector<const Level*> levels;
#if defined(STRIDED_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) levels.push_back(&strided::level_avx512);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        levels.push_back(&strided::level_avx2);
#endif
    levels.push_back(&strided::level_portable);
    return levels;
}

const Level* active = nullptr;

// A buffer held for the length of one call.
struct Buffer {
    Py_buffer view{};
    bool held = false;
    ~Buffer() { if (held) PyBuffer_Release(&view); }
    bool get(PyObject* object, const char* name, bool writable) {
        int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(object, &view, flags) != 0) {
            PyErr_Format(PyExc_ValueError, "_kernels: %s is not a%s buffer", name,
                         writable ? " writable" : "n array");
            return false;
        }
        held = true;
        return true;
    }
    char kind() const {  // 'f' float32, 'd' float64, 0 otherwise
        const char* f = view.format ? view.format : "B";
        if (*f == '<' || *f == '=' || *f == '@') ++f;
        if (view.itemsize == 4 && *f == 'f') return 'f';
        if (view.itemsize == 8 && *f == 'd') return 'd';
        return 0;
    }
    bool c_contiguous() const { return PyBuffer_IsContiguous(&view, 'C') != 0; }
    int64_t count() const { return view.len / view.itemsize; }
};

bool fail(const char* message) {
    PyErr_SetString(PyExc_ValueError, message);
    return false;
}

// Geometry from an int64 buffer: batch, groups, cg, og, in[3], out[3], kernel[3], stride[3],
// dilation[3], pad[3], relu, threads.
bool read_geometry(PyObject* object, Geometry* g) {
    Buffer b;
    if (!b.get(object, "geometry", false)) return false;
    if (b.view.itemsize != 8 || b.count() != 24 || !b.c_contiguous())
        return fail("_kernels: geometry must be 24 contiguous int64 values");
    const int64_t* v = static_cast<const int64_t*>(b.view.buf);
    g->batch = v[0]; g->groups = v[1]; g->cg = v[2]; g->og = v[3];
    for (int i = 0; i < 3; ++i) {
        g->in[i] = v[4 + i]; g->out[i] = v[7 + i]; g->kernel[i] = v[10 + i];
        g->stride[i] = v[13 + i]; g->dilation[i] = v[16 + i]; g->pad[i] = v[19 + i];
        if (g->in[i] < 0 || g->out[i] < 0 || g->kernel[i] < 1 || g->stride[i] < 1 ||
            g->dilation[i] < 1)
            return fail("_kernels: geometry has a negative size or a non-positive step");
    }
    g->relu = v[22] != 0;
    g->threads = v[23];
    if (g->threads < 1) return fail("_kernels: geometry asks for no thread");
    if (g->batch < 0 || g->groups < 1 || g->cg < 1 || g->og < 1)
        return fail("_kernels: geometry has no channels");
    if (g->kernel[0] * g->kernel[1] > 512 || g->taps() > 4096)
        return fail("_kernels: at most 4096 taps, 512 in the first two dimensions");
    return true;
}

// x (batch, in..., channels) C-contiguous, of ``kind``.
bool check_input(const Buffer& x, const Geometry& g, int64_t channels, char kind, const char* name) {
    if (kind == 0 || x.kind() != kind || !x.c_contiguous() ||
        x.count() != g.batch * g.in[0] * g.in[1] * g.in[2] * channels) {
        PyErr_Format(PyExc_ValueError, "_kernels: %s must be a C-contiguous array of the "
                     "geometry's input shape and of the weights' dtype", name);
        return false;
    }
    return true;
}

// forward's x: C-contiguous, or for a banded layer a channels-last view of C-contiguous
// channels-first memory; fills g->x_channel_stride.
bool check_forward_input(const Buffer& x, Geometry* g, char kind) {
    const Py_buffer& v = x.view;
    const int64_t C = g->in_channels(), plane = g->in[0] * g->in[1] * g->in[2];
    const int64_t first[5] = {C * plane, g->in[1] * g->in[2], g->in[2], 1, plane};
    bool channels_first = banded(*g) && x.kind() == kind && v.ndim == 5;
    for (int i = 0; channels_first && i < 5; ++i)
        channels_first = v.shape[i] == (i == 0 ? g->batch : i == 4 ? C : g->in[i - 1]) &&
                         (v.shape[i] == 1 || v.strides[i] == first[i] * v.itemsize);
    g->x_channel_stride = channels_first && !x.c_contiguous() ? plane : 1;
    return channels_first || check_input(x, *g, C, kind, "x");
}

// y (batch, out[0], out[1], out[2], channels), channels contiguous unless ``strided_channels``;
// fills g->y_stride and g->y_channel_stride.
bool check_output(const Buffer& y, Geometry* g, int64_t channels, char kind, const char* name,
                  bool strided_channels = false) {
    const Py_buffer& v = y.view;
    int64_t shape[5] = {g->batch, g->out[0], g->out[1], g->out[2], channels};
    bool ok = y.kind() == kind && v.ndim == 5 &&
              (v.strides[4] == v.itemsize || v.shape[4] == 1 ||
               (strided_channels && v.strides[4] > 0 && v.strides[4] % v.itemsize == 0));
    for (int i = 0; ok && i < 5; ++i) ok = v.shape[i] == shape[i];
    for (int i = 0; ok && i < 4; ++i) ok = v.strides[i] >= 0 && v.strides[i] % v.itemsize == 0;
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "_kernels: %s must be a 5-D array of the geometry's "
                     "output shape with %s channels", name,
                     strided_channels ? "positively strided" : "contiguous");
        return false;
    }
    for (int i = 0; i < 4; ++i) g->y_stride[i] = v.strides[i] / v.itemsize;
    g->y_channel_stride = v.shape[4] == 1 ? 1 : v.strides[4] / v.itemsize;
    return true;
}

bool check_plain(const Buffer& b, int64_t count, char kind, const char* name) {
    if (b.kind() != kind || !b.c_contiguous() || b.count() != count) {
        PyErr_Format(PyExc_ValueError, "_kernels: %s must be %lld contiguous values of the "
                     "input's dtype", name, (long long)count);
        return false;
    }
    return true;
}

PyObject* py_levels(PyObject*, PyObject*) {
    auto levels = supported_levels();
    PyObject* result = PyTuple_New(Py_ssize_t(levels.size()));
    for (size_t i = 0; i < levels.size(); ++i)
        PyTuple_SET_ITEM(result, Py_ssize_t(i), PyUnicode_FromString(levels[i]->name));
    return result;
}

PyObject* py_level(PyObject*, PyObject*) { return PyUnicode_FromString(active->name); }

PyObject* py_set_level(PyObject*, PyObject* arg) {
    const char* name = PyUnicode_AsUTF8(arg);
    if (name == nullptr) return nullptr;
    for (const Level* level : supported_levels())
        if (std::strcmp(level->name, name) == 0) {
            active = level;
            Py_RETURN_NONE;
        }
    PyErr_Format(PyExc_ValueError, "_kernels: this CPU has no level %R", arg);
    return nullptr;
}

PyObject* py_lanes(PyObject*, PyObject* args) {
    int itemsize;
    long long og;
    if (!PyArg_ParseTuple(args, "iL", &itemsize, &og)) return nullptr;
    if (itemsize == 4) return PyLong_FromLong(active->f32.lanes(og));
    if (itemsize == 8) return PyLong_FromLong(active->f64.lanes(og));
    PyErr_SetString(PyExc_ValueError, "_kernels: itemsize must be 4 or 8");
    return nullptr;
}

// packed[g, b, t, c, l] = w[g, t, c, b * lanes + l], zero where b * lanes + l >= og; w is
// (groups, kd, kh, kw, cg, og) with any strides (t runs over kd, kh, kw), packed C-contiguous
// (groups, blocks, taps, cg, lanes).
template <class T>
void pack_typed(const Py_buffer& w, T* out, int64_t lanes) {
    const Py_ssize_t* n = w.shape;
    const Py_ssize_t* s = w.strides;
    const int64_t blocks = (n[5] + lanes - 1) / lanes;
    const char* base = static_cast<const char*>(w.buf);
    for (int64_t g = 0; g < n[0]; ++g)
        for (int64_t b = 0; b < blocks; ++b)
            for (int64_t kd = 0; kd < n[1]; ++kd)
                for (int64_t kh = 0; kh < n[2]; ++kh)
                    for (int64_t kw = 0; kw < n[3]; ++kw)
                        for (int64_t c = 0; c < n[4]; ++c) {
                            const char* row = base + g * s[0] + kd * s[1] + kh * s[2] + kw * s[3] + c * s[4];
                            for (int64_t l = 0; l < lanes; ++l) {
                                int64_t o = b * lanes + l;
                                *out++ = o < n[5] ? *reinterpret_cast<const T*>(row + o * s[5]) : T(0);
                            }
                        }
}

PyObject* py_pack(PyObject*, PyObject* args) {
    PyObject *w_obj, *out_obj;
    long long lanes;
    if (!PyArg_ParseTuple(args, "OOL", &w_obj, &out_obj, &lanes)) return nullptr;
    Buffer w, out;
    if (!w.get(w_obj, "w", false) || !out.get(out_obj, "packed", true)) return nullptr;
    if (w.view.ndim != 6 || w.kind() == 0 || lanes < 1)
        return fail("_kernels: pack needs 6-D float weights"), nullptr;
    const Py_ssize_t* n = w.view.shape;
    const int64_t blocks = (n[5] + lanes - 1) / lanes;
    if (!check_plain(out, n[0] * blocks * n[1] * n[2] * n[3] * n[4] * lanes, w.kind(), "packed"))
        return nullptr;
    Py_BEGIN_ALLOW_THREADS
    if (w.kind() == 'f') pack_typed(w.view, static_cast<float*>(out.view.buf), lanes);
    else pack_typed(w.view, static_cast<double*>(out.view.buf), lanes);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

// forward(x, packed, bias or None, y, geometry); y's channels may be strided (an NCHW array)
PyObject* py_forward(PyObject*, PyObject* args) {
    PyObject *x_obj, *w_obj, *b_obj, *y_obj, *g_obj;
    if (!PyArg_ParseTuple(args, "OOOOO", &x_obj, &w_obj, &b_obj, &y_obj, &g_obj)) return nullptr;
    Geometry g;
    Buffer x, w, b, y;
    if (!read_geometry(g_obj, &g) || !x.get(x_obj, "x", false) || !w.get(w_obj, "packed", false) ||
        !y.get(y_obj, "y", true))
        return nullptr;
    char kind = x.kind();
    int64_t lanes = kind == 'f' ? active->f32.lanes(g.og) : active->f64.lanes(g.og);
    int64_t blocks = (g.og + lanes - 1) / lanes;
    if (!check_forward_input(x, &g, kind) ||
        !check_plain(w, g.groups * blocks * g.taps() * g.cg * lanes, kind, "packed") ||
        !check_output(y, &g, g.out_channels(), kind, "y", true))
        return nullptr;
    bool has_bias = b_obj != Py_None;
    if (has_bias && (!b.get(b_obj, "bias", false) || !check_plain(b, g.out_channels(), kind, "bias")))
        return nullptr;
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        active->f32.forward(g, static_cast<const float*>(x.view.buf), static_cast<const float*>(w.view.buf),
                            has_bias ? static_cast<const float*>(b.view.buf) : nullptr,
                            static_cast<float*>(y.view.buf));
    else
        active->f64.forward(g, static_cast<const double*>(x.view.buf), static_cast<const double*>(w.view.buf),
                            has_bias ? static_cast<const double*>(b.view.buf) : nullptr,
                            static_cast<double*>(y.view.buf));
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

// grad_weight(x, dy, dw, geometry): dw (taps, cg, groups * og) C-contiguous, overwritten
PyObject* py_grad_weight(PyObject*, PyObject* args) {
    PyObject *x_obj, *dy_obj, *dw_obj, *g_obj;
    if (!PyArg_ParseTuple(args, "OOOO", &x_obj, &dy_obj, &dw_obj, &g_obj)) return nullptr;
    Geometry g;
    Buffer x, dy, dw;
    if (!read_geometry(g_obj, &g) || !x.get(x_obj, "x", false) || !dy.get(dy_obj, "dy", false) ||
        !dw.get(dw_obj, "dw", true))
        return nullptr;
    char kind = x.kind();
    if (!check_input(x, g, g.in_channels(), kind, "x") ||
        !check_plain(dy, g.rows() * g.out[2] * g.out_channels(), kind, "dy") ||
        !check_plain(dw, g.taps() * g.cg * g.out_channels(), kind, "dw"))
        return nullptr;
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        active->f32.grad_weight(g, static_cast<const float*>(x.view.buf), static_cast<const float*>(dy.view.buf),
                                static_cast<float*>(dw.view.buf));
    else
        active->f64.grad_weight(g, static_cast<const double*>(x.view.buf), static_cast<const double*>(dy.view.buf),
                                static_cast<double*>(dw.view.buf));
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

// The depthwise kernels' channel multiplier og: a power of two that divides the vector width
// (each input channel repeated og times in the lanes).
bool check_depthwise_multiplier(const Geometry& g, char kind) {
    const int64_t width = kind == 'f' ? active->f32.lanes(1) : active->f64.lanes(1);
    if (g.cg != 1 || g.og < 1 || (g.og & (g.og - 1)) != 0 || width % g.og != 0)
        return fail("_kernels: depthwise needs one input channel per group and a channel "
                    "multiplier that is a power of two dividing the vector width");
    return true;
}

bool check_plane(const Geometry& g) {
    if (g.cg != 1 || g.stride[2] != 1)
        return fail("_kernels: plane kernels need one input channel per group and stride 1 along W");
    return true;
}

// Kernels of one input channel per group: depthwise over channels last, weights (taps, C),
// and plane over channels first, weights (O, taps) (conv.inc).
template <class T>
using ChannelForward = void (*)(const Geometry&, const T*, const T*, const T*, T*);
template <class T>
using ChannelGradWeight = void (*)(const Geometry&, const T*, const T*, T*);

// forward(x, w (taps, channels), bias or None, y, geometry)
PyObject* channel_forward(PyObject* args, bool plane) {
    PyObject *x_obj, *w_obj, *b_obj, *y_obj, *g_obj;
    if (!PyArg_ParseTuple(args, "OOOOO", &x_obj, &w_obj, &b_obj, &y_obj, &g_obj)) return nullptr;
    Geometry g;
    Buffer x, w, b, y;
    if (!read_geometry(g_obj, &g) || (plane && !check_plane(g)) ||
        !x.get(x_obj, "x", false) || !w.get(w_obj, "w", false) || !y.get(y_obj, "y", true))
        return nullptr;
    char kind = x.kind();
    const int64_t O = g.out_channels();  // groups * og: og output channels per input channel
    if (!check_input(x, g, g.groups, kind, "x") || (!plane && !check_depthwise_multiplier(g, kind)) ||
        !check_plain(w, g.taps() * O, kind, "w") ||
        !check_output(y, &g, O, kind, "y", true))
        return nullptr;
    bool has_bias = b_obj != Py_None;
    if (has_bias && (!b.get(b_obj, "bias", false) || !check_plain(b, O, kind, "bias")))
        return nullptr;
    ChannelForward<float> f32 = plane ? active->f32.plane_forward : active->f32.depthwise_forward;
    ChannelForward<double> f64 = plane ? active->f64.plane_forward : active->f64.depthwise_forward;
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        f32(g, static_cast<const float*>(x.view.buf), static_cast<const float*>(w.view.buf),
            has_bias ? static_cast<const float*>(b.view.buf) : nullptr, static_cast<float*>(y.view.buf));
    else
        f64(g, static_cast<const double*>(x.view.buf), static_cast<const double*>(w.view.buf),
            has_bias ? static_cast<const double*>(b.view.buf) : nullptr, static_cast<double*>(y.view.buf));
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

// grad_weight(x, dy, dw (taps, channels), geometry)
PyObject* channel_grad_weight(PyObject* args, bool plane) {
    PyObject *x_obj, *dy_obj, *dw_obj, *g_obj;
    if (!PyArg_ParseTuple(args, "OOOO", &x_obj, &dy_obj, &dw_obj, &g_obj)) return nullptr;
    Geometry g;
    Buffer x, dy, dw;
    if (!read_geometry(g_obj, &g) || (plane && !check_plane(g)) ||
        !x.get(x_obj, "x", false) || !dy.get(dy_obj, "dy", false) || !dw.get(dw_obj, "dw", true))
        return nullptr;
    char kind = x.kind();
    if (!check_input(x, g, g.groups, kind, "x") || (!plane && !check_depthwise_multiplier(g, kind)) ||
        !check_plain(dy, g.rows() * g.out[2] * g.out_channels(), kind, "dy") ||
        !check_plain(dw, g.taps() * g.out_channels(), kind, "dw"))
        return nullptr;
    ChannelGradWeight<float> f32 = plane ? active->f32.plane_grad_weight : active->f32.depthwise_grad_weight;
    ChannelGradWeight<double> f64 = plane ? active->f64.plane_grad_weight : active->f64.depthwise_grad_weight;
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        f32(g, static_cast<const float*>(x.view.buf), static_cast<const float*>(dy.view.buf),
            static_cast<float*>(dw.view.buf));
    else
        f64(g, static_cast<const double*>(x.view.buf), static_cast<const double*>(dy.view.buf),
            static_cast<double*>(dw.view.buf));
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

PyObject* py_depthwise_forward(PyObject*, PyObject* args) { return channel_forward(args, false); }
PyObject* py_depthwise_grad_weight(PyObject*, PyObject* args) { return channel_grad_weight(args, false); }
PyObject* py_plane_forward(PyObject*, PyObject* args) { return channel_forward(args, true); }
PyObject* py_plane_grad_weight(PyObject*, PyObject* args) { return channel_grad_weight(args, true); }

// dst[n, q, p] = src[n, p, q] for C-contiguous (N, P, Q) src and (N, Q, P) dst of one itemsize:
// 4- and 8-byte items by the level's register-blocked kernel (layout.inc; bits moved as float
// or double, never computed on), other sizes in blocks of 32 x 32 elements.
template <size_t S>
struct Item { unsigned char bytes[S]; };

template <class E>
void transpose_typed(const E* src, E* dst, int64_t N, int64_t P, int64_t Q, int64_t threads) {
    constexpr int64_t B = 32;
    const int64_t pb = (P + B - 1) / B, qb = (Q + B - 1) / B, tiles = pb * qb;
    auto body = [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            int64_t n = task / tiles, tp = task % tiles / qb, tq = task % qb;
            const E* s = src + n * P * Q;
            E* d = dst + n * P * Q;
            int64_t p1 = std::min((tp + 1) * B, P), q1 = std::min((tq + 1) * B, Q);
            for (int64_t q = tq * B; q < q1; ++q)
                for (int64_t p = tp * B; p < p1; ++p) d[q * P + p] = s[p * Q + q];
        }
    };
    strided::parallel(N * tiles, std::min<int64_t>(threads, N * P * Q / (1 << 16) + 1), body);
}

PyObject* py_transpose(PyObject*, PyObject* args) {
    PyObject *src_obj, *dst_obj;
    long long threads;
    if (!PyArg_ParseTuple(args, "OOL", &src_obj, &dst_obj, &threads)) return nullptr;
    Buffer src, dst;
    if (!src.get(src_obj, "src", false) || !dst.get(dst_obj, "dst", true)) return nullptr;
    const Py_buffer &s = src.view, &d = dst.view;
    if (s.ndim != 3 || d.ndim != 3 || !src.c_contiguous() || !dst.c_contiguous() ||
        s.itemsize != d.itemsize || d.shape[0] != s.shape[0] || d.shape[1] != s.shape[2] ||
        d.shape[2] != s.shape[1])
        return fail("_kernels: transpose needs C-contiguous (N, P, Q) and (N, Q, P) arrays"), nullptr;
    Py_BEGIN_ALLOW_THREADS
    switch (s.itemsize) {
        case 1: transpose_typed(static_cast<const Item<1>*>(s.buf), static_cast<Item<1>*>(d.buf), s.shape[0], s.shape[1], s.shape[2], threads); break;
        case 2: transpose_typed(static_cast<const Item<2>*>(s.buf), static_cast<Item<2>*>(d.buf), s.shape[0], s.shape[1], s.shape[2], threads); break;
        case 4: active->f32.transpose(static_cast<const float*>(s.buf), static_cast<float*>(d.buf), s.shape[0], s.shape[1], s.shape[2], threads); break;
        case 8: active->f64.transpose(static_cast<const double*>(s.buf), static_cast<double*>(d.buf), s.shape[0], s.shape[1], s.shape[2], threads); break;
        default: for (int64_t n = 0; n < s.shape[0]; ++n)
                     for (int64_t p = 0; p < s.shape[1]; ++p)
                         for (int64_t q = 0; q < s.shape[2]; ++q)
                             std::memcpy(static_cast<char*>(d.buf) + ((n * s.shape[2] + q) * s.shape[1] + p) * s.itemsize,
                                         static_cast<const char*>(s.buf) + ((n * s.shape[1] + p) * s.shape[2] + q) * s.itemsize,
                                         size_t(s.itemsize));
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

// ---- Winograd (csrc/winograd.inc): the level of the same name as the active one.
const strided::WinogradLevel* winograd_active() {
#if defined(STRIDED_X86)
    if (active == &strided::level_avx512) return &strided::winograd_avx512;
    if (active == &strided::level_avx2) return &strided::winograd_avx2;
#endif
    return &strided::winograd_portable;
}

// The variants: F(2, 3), F(4, 3), F(6, 3), F(2, 5), F(4, 5), F(4, 2), F(6, 2).
bool winograd_pair(long long m, long long r) {
    return (r == 3 && (m == 2 || m == 4 || m == 6)) || (r == 5 && (m == 2 || m == 4)) ||
           (r == 2 && (m == 4 || m == 6));
}

bool check_winograd(const Geometry& g, long long m) {
    if (g.groups != 1 || g.in[0] != 1 || g.out[0] != 1 || g.kernel[0] != 1 ||
        g.kernel[1] != g.kernel[2] || g.stride[1] != 1 || g.stride[2] != 1)
        return fail("_kernels: Winograd needs a 2-D square-kernel stride-1 ungrouped geometry");
    if (!winograd_pair(m, g.kernel[1]))
        return fail("_kernels: Winograd tiles are 2, 4 or 6 for 3x3 kernels, 2 or 4 for 5x5, "
                    "4 or 6 for 2x2");
    return true;
}

strided::WinogradPlan winograd_plan_of(const Geometry& g, long long m, char kind, bool gw) {
    const strided::WinogradLevel* level = winograd_active();
    return kind == 'f' ? level->f32.plan(g, int(m), gw) : level->f64.plan(g, int(m), gw);
}

bool check_scratch(const Buffer& s, const strided::WinogradPlan& plan, char kind) {
    if (s.kind() != kind || !s.c_contiguous() || s.count() < plan.parts * plan.scratch) {
        PyErr_Format(PyExc_ValueError, "_kernels: scratch must hold %lld contiguous values of "
                     "the input's dtype", (long long)(plan.parts * plan.scratch));
        return false;
    }
    return true;
}

// winograd_plan(m, itemsize, grad_weight, geometry) -> (lanes, tiles, parts, u, scratch)
PyObject* py_winograd_plan(PyObject*, PyObject* args) {
    PyObject* g_obj;
    long long m, itemsize;
    int gw;
    if (!PyArg_ParseTuple(args, "LLpO", &m, &itemsize, &gw, &g_obj)) return nullptr;
    Geometry g;
    if (!read_geometry(g_obj, &g) || !check_winograd(g, m)) return nullptr;
    if (itemsize != 4 && itemsize != 8) return fail("_kernels: itemsize must be 4 or 8"), nullptr;
    strided::WinogradPlan p = winograd_plan_of(g, m, itemsize == 4 ? 'f' : 'd', gw != 0);
    return Py_BuildValue("(LLLLL)", (long long)p.lanes, (long long)p.tiles, (long long)p.parts,
                         (long long)p.u, (long long)p.scratch);
}

// winograd_weights(m, w (r, r, C, O), u (plan's u values), geometry): U = G g G^T
PyObject* py_winograd_weights(PyObject*, PyObject* args) {
    PyObject *w_obj, *u_obj, *g_obj;
    long long m;
    if (!PyArg_ParseTuple(args, "LOOO", &m, &w_obj, &u_obj, &g_obj)) return nullptr;
    Geometry g;
    Buffer w, u;
    if (!read_geometry(g_obj, &g) || !check_winograd(g, m) || !w.get(w_obj, "w", false) ||
        !u.get(u_obj, "u", true))
        return nullptr;
    char kind = w.kind();
    if (kind == 0) return fail("_kernels: w must be float32 or float64"), nullptr;
    strided::WinogradPlan plan = winograd_plan_of(g, m, kind, false);
    if (!check_plain(w, g.taps() * g.cg * g.og, kind, "w") || !check_plain(u, plan.u, kind, "u"))
        return nullptr;
    const strided::WinogradLevel* level = winograd_active();
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        level->f32.weights(g, int(m), static_cast<const float*>(w.view.buf),
                           static_cast<float*>(u.view.buf));
    else
        level->f64.weights(g, int(m), static_cast<const double*>(w.view.buf),
                           static_cast<double*>(u.view.buf));
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

// winograd_forward(m, x, u (from winograd_weights), bias or None, y, geometry, scratch)
PyObject* py_winograd_forward(PyObject*, PyObject* args) {
    PyObject *x_obj, *u_obj, *b_obj, *y_obj, *g_obj, *s_obj;
    long long m;
    if (!PyArg_ParseTuple(args, "LOOOOOO", &m, &x_obj, &u_obj, &b_obj, &y_obj, &g_obj, &s_obj))
        return nullptr;
    Geometry g;
    Buffer x, u, b, y, s;
    if (!read_geometry(g_obj, &g) || !check_winograd(g, m) || !x.get(x_obj, "x", false) ||
        !u.get(u_obj, "u", false) || !y.get(y_obj, "y", true) ||
        !s.get(s_obj, "scratch", true))
        return nullptr;
    char kind = x.kind();
    if (!check_input(x, g, g.cg, kind, "x") || !check_output(y, &g, g.og, kind, "y"))
        return nullptr;
    strided::WinogradPlan plan = winograd_plan_of(g, m, kind, false);
    if (!check_plain(u, plan.u, kind, "u") || !check_scratch(s, plan, kind)) return nullptr;
    bool has_bias = b_obj != Py_None;
    if (has_bias && (!b.get(b_obj, "bias", false) || !check_plain(b, g.og, kind, "bias")))
        return nullptr;
    const strided::WinogradLevel* level = winograd_active();
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        level->f32.forward(g, int(m), static_cast<const float*>(x.view.buf),
                           static_cast<const float*>(u.view.buf),
                           has_bias ? static_cast<const float*>(b.view.buf) : nullptr,
                           static_cast<float*>(y.view.buf), static_cast<float*>(s.view.buf));
    else
        level->f64.forward(g, int(m), static_cast<const double*>(x.view.buf),
                           static_cast<const double*>(u.view.buf),
                           has_bias ? static_cast<const double*>(b.view.buf) : nullptr,
                           static_cast<double*>(y.view.buf), static_cast<double*>(s.view.buf));
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

// winograd_grad_weight(m, x, dy, dw (r, r, C, O), geometry, scratch)
PyObject* py_winograd_grad_weight(PyObject*, PyObject* args) {
    PyObject *x_obj, *dy_obj, *dw_obj, *g_obj, *s_obj;
    long long m;
    if (!PyArg_ParseTuple(args, "LOOOOO", &m, &x_obj, &dy_obj, &dw_obj, &g_obj, &s_obj))
        return nullptr;
    Geometry g;
    Buffer x, dy, dw, s;
    if (!read_geometry(g_obj, &g) || !check_winograd(g, m) || !x.get(x_obj, "x", false) ||
        !dy.get(dy_obj, "dy", false) || !dw.get(dw_obj, "dw", true) ||
        !s.get(s_obj, "scratch", true))
        return nullptr;
    char kind = x.kind();
    if (!check_input(x, g, g.cg, kind, "x") ||
        !check_plain(dy, g.rows() * g.out[2] * g.og, kind, "dy") ||
        !check_plain(dw, g.taps() * g.cg * g.og, kind, "dw") ||
        !check_scratch(s, winograd_plan_of(g, m, kind, true), kind))
        return nullptr;
    const strided::WinogradLevel* level = winograd_active();
    Py_BEGIN_ALLOW_THREADS
    if (kind == 'f')
        level->f32.grad_weight(g, int(m), static_cast<const float*>(x.view.buf),
                               static_cast<const float*>(dy.view.buf),
                               static_cast<float*>(dw.view.buf), static_cast<float*>(s.view.buf));
    else
        level->f64.grad_weight(g, int(m), static_cast<const double*>(x.view.buf),
                               static_cast<const double*>(dy.view.buf),
                               static_cast<double*>(dw.view.buf),
                               static_cast<double*>(s.view.buf));
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

// winograd_transform(kind, m, r, src (count, p, p, ch), dst (count, q, q, ch)): one of the tile
// transforms of csrc/winograd.hpp, for the tests.
PyObject* py_winograd_transform(PyObject*, PyObject* args) {
    PyObject *src_obj, *dst_obj;
    int kind;
    long long m, r;
    if (!PyArg_ParseTuple(args, "iLLOO", &kind, &m, &r, &src_obj, &dst_obj)) return nullptr;
    if (!winograd_pair(m, r) || kind < 0 || kind > 4)
        return fail("_kernels: winograd_transform needs kind 0 to 4 and a variant's m and r"),
               nullptr;
    Buffer src, dst;
    if (!src.get(src_obj, "src", false) || !dst.get(dst_obj, "dst", true)) return nullptr;
    const int64_t a = m + r - 1, sides[5][2] = {{a, a}, {r, a}, {a, m}, {m, a}, {a, r}};
    const int64_t p = sides[kind][0], q = sides[kind][1];
    const Py_buffer &s = src.view, &d = dst.view;
    char k = src.kind();
    if (k == 0 || s.ndim != 4 || !src.c_contiguous() || s.shape[1] != p || s.shape[2] != p)
        return fail("_kernels: winograd_transform's src must be (count, p, p, channels)"), nullptr;
    if (!check_plain(dst, s.shape[0] * q * q * s.shape[3], k, "dst")) return nullptr;
    const strided::WinogradLevel* level = winograd_active();
    Py_BEGIN_ALLOW_THREADS
    if (k == 'f')
        level->f32.transform(kind, int(m), int(r), s.shape[0], s.shape[3],
                             static_cast<const float*>(s.buf), static_cast<float*>(d.buf));
    else
        level->f64.transform(kind, int(m), int(r), s.shape[0], s.shape[3],
                             static_cast<const double*>(s.buf), static_cast<double*>(d.buf));
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

#include "layers_bind.inc"

PyMethodDef methods[] = {
    {"levels", py_levels, METH_NOARGS, "levels() -> the instruction-set levels this CPU runs, best first"},
    {"level", py_level, METH_NOARGS, "level() -> the level in use"},
    {"set_level", py_set_level, METH_O, "set_level(name): use one of levels()"},
    {"lanes", py_lanes, METH_VARARGS, "lanes(itemsize, og) -> output channels per packed block"},
    {"pack", py_pack, METH_VARARGS, "pack(w, packed, lanes): (G, KD, KH, KW, cg, og) -> (G, blocks, taps, cg, lanes)"},
    {"forward", py_forward, METH_VARARGS, "forward(x, packed, bias, y, geometry)"},
    {"grad_weight", py_grad_weight, METH_VARARGS, "grad_weight(x, dy, dw, geometry)"},
    {"depthwise_forward", py_depthwise_forward, METH_VARARGS, "depthwise_forward(x, w, bias, y, geometry)"},
    {"depthwise_grad_weight", py_depthwise_grad_weight, METH_VARARGS, "depthwise_grad_weight(x, dy, dw, geometry)"},
    {"plane_forward", py_plane_forward, METH_VARARGS, "plane_forward(x, w, bias, y, geometry)"},
    {"plane_grad_weight", py_plane_grad_weight, METH_VARARGS, "plane_grad_weight(x, dy, dw, geometry)"},
    {"transpose", py_transpose, METH_VARARGS, "transpose(src, dst, threads): dst[n, q, p] = src[n, p, q]"},
    {"winograd_plan", py_winograd_plan, METH_VARARGS, "winograd_plan(m, itemsize, grad_weight, geometry) -> (lanes, tiles, parts, u, scratch)"},
    {"winograd_weights", py_winograd_weights, METH_VARARGS, "winograd_weights(m, w, u, geometry)"},
    {"winograd_forward", py_winograd_forward, METH_VARARGS, "winograd_forward(m, x, u, bias, y, geometry, scratch)"},
    {"winograd_grad_weight", py_winograd_grad_weight, METH_VARARGS, "winograd_grad_weight(m, x, dy, dw, geometry, scratch)"},
    {"winograd_transform", py_winograd_transform, METH_VARARGS, "winograd_transform(kind, m, r, src, dst)"},
    STRIDED_LAYER_METHODS
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module = {PyModuleDef_HEAD_INIT, "strided._kernels",
                      "Compiled convolution kernels (see csrc/); imported only by strided's algorithms.",
                      -1, methods};

}  // namespace

PyMODINIT_FUNC PyInit__kernels(void) {
    active = supported_levels().front();
    return PyModule_Create(&module);
}
