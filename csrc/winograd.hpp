// Winograd's minimal filtering F(m x m, r x r) for r = 3 (m = 2, 4, 6), r = 5 (m = 2, 4) and
// r = 2 (m = 4, 6: a stride-2 3x3 kernel's phases, src/strided/_algorithms/_winograd.py,
// which uses m = 4 only: F(6x6, 2x2) misses float32's error bound there): the
// transform matrices and the table of kernels each instruction-set level fills in
// (winograd.inc).
//
// One output tile Y (m x m) from an input tile d (a x a, a = m + r - 1) and an r x r kernel g,
// per pair of channels, summed over input channels (Lavin and Gray, arXiv:1509.09308)::
//
//     Y = AT [ (G g G^T) * (BT d BT^T) ] AT^T        (* element-wise)
//
// The matrices come from interpolation points (src/strided/_algorithms/_winograd.py, POINTS)
// by the Cook-Toom construction: AT[i][l] = p_l^i, G[l][k] = p_l^k / prod_{j != l}(p_l - p_j)
// (the last column, the point at infinity, picks the leading term), and BT solved so that the
// identity above is a correlation, each row's sign chosen to make G's first entry positive.
// The a points depend on a only, so F(2, 5) shares F(4, 3)'s BT and F(4, 5) F(6, 3)'s.
// tests/test_winograd.py rebuilds them from the points and checks every entry.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "kernels.hpp"

namespace strided {

template <int M, int R> struct WinogradMatrices;

template <> struct WinogradMatrices<2, 3> {
    static constexpr int a = 4;
    static constexpr double BT[4][4] = {
        {1.0, 0.0, -1.0, 0.0},
        {0.0, 1.0, 1.0, 0.0},
        {0.0, -1.0, 1.0, 0.0},
        {0.0, -1.0, 0.0, 1.0}};
    static constexpr double G[4][3] = {
        {1.0, 0.0, 0.0},
        {0.5, 0.5, 0.5},
        {0.5, -0.5, 0.5},
        {0.0, 0.0, 1.0}};
    static constexpr double AT[2][4] = {
        {1.0, 1.0, 1.0, 0.0},
        {0.0, 1.0, -1.0, 1.0}};
    static constexpr double A[4][2] = {
        {1.0, 0.0},
        {1.0, 1.0},
        {1.0, -1.0},
        {0.0, 1.0}};
    static constexpr double GT[3][4] = {
        {1.0, 0.5, 0.5, 0.0},
        {0.0, 0.5, -0.5, 0.0},
        {0.0, 0.5, 0.5, 1.0}};
};

template <> struct WinogradMatrices<4, 3> {
    static constexpr int a = 6;
    static constexpr double BT[6][6] = {
        {1.0, -1.5, -2.0, 1.5, 1.0, 0.0},
        {0.0, -1.0, 0.5, 2.5, 1.0, 0.0},
        {0.0, -1.0, 2.5, -0.5, -1.0, 0.0},
        {0.0, 2.0, 1.0, -2.0, -1.0, 0.0},
        {0.0, 0.5, -1.0, -0.5, 1.0, 0.0},
        {0.0, 1.0, -1.5, -2.0, 1.5, 1.0}};
    static constexpr double G[6][3] = {
        {1.0, 0.0, 0.0},
        {1.0 / 3, 1.0 / 3, 1.0 / 3},
        {1.0 / 3, -1.0 / 3, 1.0 / 3},
        {16.0 / 15, 8.0 / 15, 4.0 / 15},
        {1.0 / 15, -2.0 / 15, 4.0 / 15},
        {0.0, 0.0, 1.0}};
    static constexpr double AT[4][6] = {
        {1.0, 1.0, 1.0, 1.0, 1.0, 0.0},
        {0.0, 1.0, -1.0, 0.5, -2.0, 0.0},
        {0.0, 1.0, 1.0, 0.25, 4.0, 0.0},
        {0.0, 1.0, -1.0, 0.125, -8.0, 1.0}};
    static constexpr double A[6][4] = {
        {1.0, 0.0, 0.0, 0.0},
        {1.0, 1.0, 1.0, 1.0},
        {1.0, -1.0, 1.0, -1.0},
        {1.0, 0.5, 0.25, 0.125},
        {1.0, -2.0, 4.0, -8.0},
        {0.0, 0.0, 0.0, 1.0}};
    static constexpr double GT[3][6] = {
        {1.0, 1.0 / 3, 1.0 / 3, 16.0 / 15, 1.0 / 15, 0.0},
        {0.0, 1.0 / 3, -1.0 / 3, 8.0 / 15, -2.0 / 15, 0.0},
        {0.0, 1.0 / 3, 1.0 / 3, 4.0 / 15, 4.0 / 15, 1.0}};
};

template <> struct WinogradMatrices<6, 3> {
    static constexpr int a = 8;
    static constexpr double BT[8][8] = {
        {1.0, 0.0, -5.25, 0.0, 5.25, 0.0, -1.0, 0.0},
        {0.0, -1.0, -1.0, 4.25, 4.25, -1.0, -1.0, 0.0},
        {0.0, 1.0, -1.0, -4.25, 4.25, 1.0, -1.0, 0.0},
        {0.0, 0.5, 0.25, -2.5, -1.25, 2.0, 1.0, 0.0},
        {0.0, -0.5, 0.25, 2.5, -1.25, -2.0, 1.0, 0.0},
        {0.0, 2.0, 4.0, -2.5, -5.0, 0.5, 1.0, 0.0},
        {0.0, -2.0, 4.0, 2.5, -5.0, -0.5, 1.0, 0.0},
        {0.0, -1.0, 0.0, 5.25, 0.0, -5.25, 0.0, 1.0}};
    static constexpr double G[8][3] = {
        {1.0, 0.0, 0.0},
        {2.0 / 9, 2.0 / 9, 2.0 / 9},
        {2.0 / 9, -2.0 / 9, 2.0 / 9},
        {1.0 / 90, 1.0 / 45, 2.0 / 45},
        {1.0 / 90, -1.0 / 45, 2.0 / 45},
        {32.0 / 45, 16.0 / 45, 8.0 / 45},
        {32.0 / 45, -16.0 / 45, 8.0 / 45},
        {0.0, 0.0, 1.0}};
    static constexpr double AT[6][8] = {
        {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0},
        {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 0.0},
        {0.0, 1.0, 1.0, 4.0, 4.0, 0.25, 0.25, 0.0},
        {0.0, 1.0, -1.0, 8.0, -8.0, 0.125, -0.125, 0.0},
        {0.0, 1.0, 1.0, 16.0, 16.0, 0.0625, 0.0625, 0.0},
        {0.0, 1.0, -1.0, 32.0, -32.0, 0.03125, -0.03125, 1.0}};
    static constexpr double A[8][6] = {
        {1.0, 0.0, 0.0, 0.0, 0.0, 0.0},
        {1.0, 1.0, 1.0, 1.0, 1.0, 1.0},
        {1.0, -1.0, 1.0, -1.0, 1.0, -1.0},
        {1.0, 2.0, 4.0, 8.0, 16.0, 32.0},
        {1.0, -2.0, 4.0, -8.0, 16.0, -32.0},
        {1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125},
        {1.0, -0.5, 0.25, -0.125, 0.0625, -0.03125},
        {0.0, 0.0, 0.0, 0.0, 0.0, 1.0}};
    static constexpr double GT[3][8] = {
        {1.0, 2.0 / 9, 2.0 / 9, 1.0 / 90, 1.0 / 90, 32.0 / 45, 32.0 / 45, 0.0},
        {0.0, 2.0 / 9, -2.0 / 9, 1.0 / 45, -1.0 / 45, 16.0 / 45, -16.0 / 45, 0.0},
        {0.0, 2.0 / 9, 2.0 / 9, 2.0 / 45, 2.0 / 45, 8.0 / 45, 8.0 / 45, 1.0}};
};

template <> struct WinogradMatrices<2, 5> {
    static constexpr int a = 6;
    // the same a points as F(4, 3): its input transform
    static constexpr const double (&BT)[6][6] = WinogradMatrices<4, 3>::BT;
    static constexpr double G[6][5] = {
        {1.0, 0.0, 0.0, 0.0, 0.0},
        {1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3},
        {1.0 / 3, -1.0 / 3, 1.0 / 3, -1.0 / 3, 1.0 / 3},
        {16.0 / 15, 8.0 / 15, 4.0 / 15, 2.0 / 15, 1.0 / 15},
        {1.0 / 15, -2.0 / 15, 4.0 / 15, -8.0 / 15, 16.0 / 15},
        {0.0, 0.0, 0.0, 0.0, 1.0}};
    static constexpr double AT[2][6] = {
        {1.0, 1.0, 1.0, 1.0, 1.0, 0.0},
        {0.0, 1.0, -1.0, 0.5, -2.0, 1.0}};
    static constexpr double A[6][2] = {
        {1.0, 0.0},
        {1.0, 1.0},
        {1.0, -1.0},
        {1.0, 0.5},
        {1.0, -2.0},
        {0.0, 1.0}};
    static constexpr double GT[5][6] = {
        {1.0, 1.0 / 3, 1.0 / 3, 16.0 / 15, 1.0 / 15, 0.0},
        {0.0, 1.0 / 3, -1.0 / 3, 8.0 / 15, -2.0 / 15, 0.0},
        {0.0, 1.0 / 3, 1.0 / 3, 4.0 / 15, 4.0 / 15, 0.0},
        {0.0, 1.0 / 3, -1.0 / 3, 2.0 / 15, -8.0 / 15, 0.0},
        {0.0, 1.0 / 3, 1.0 / 3, 1.0 / 15, 16.0 / 15, 1.0}};
};

template <> struct WinogradMatrices<4, 5> {
    static constexpr int a = 8;
    // the same a points as F(6, 3): its input transform
    static constexpr const double (&BT)[8][8] = WinogradMatrices<6, 3>::BT;
    static constexpr double G[8][5] = {
        {1.0, 0.0, 0.0, 0.0, 0.0},
        {2.0 / 9, 2.0 / 9, 2.0 / 9, 2.0 / 9, 2.0 / 9},
        {2.0 / 9, -2.0 / 9, 2.0 / 9, -2.0 / 9, 2.0 / 9},
        {1.0 / 90, 1.0 / 45, 2.0 / 45, 4.0 / 45, 8.0 / 45},
        {1.0 / 90, -1.0 / 45, 2.0 / 45, -4.0 / 45, 8.0 / 45},
        {32.0 / 45, 16.0 / 45, 8.0 / 45, 4.0 / 45, 2.0 / 45},
        {32.0 / 45, -16.0 / 45, 8.0 / 45, -4.0 / 45, 2.0 / 45},
        {0.0, 0.0, 0.0, 0.0, 1.0}};
    static constexpr double AT[4][8] = {
        {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0},
        {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 0.0},
        {0.0, 1.0, 1.0, 4.0, 4.0, 0.25, 0.25, 0.0},
        {0.0, 1.0, -1.0, 8.0, -8.0, 0.125, -0.125, 1.0}};
    static constexpr double A[8][4] = {
        {1.0, 0.0, 0.0, 0.0},
        {1.0, 1.0, 1.0, 1.0},
        {1.0, -1.0, 1.0, -1.0},
        {1.0, 2.0, 4.0, 8.0},
        {1.0, -2.0, 4.0, -8.0},
        {1.0, 0.5, 0.25, 0.125},
        {1.0, -0.5, 0.25, -0.125},
        {0.0, 0.0, 0.0, 1.0}};
    static constexpr double GT[5][8] = {
        {1.0, 2.0 / 9, 2.0 / 9, 1.0 / 90, 1.0 / 90, 32.0 / 45, 32.0 / 45, 0.0},
        {0.0, 2.0 / 9, -2.0 / 9, 1.0 / 45, -1.0 / 45, 16.0 / 45, -16.0 / 45, 0.0},
        {0.0, 2.0 / 9, 2.0 / 9, 2.0 / 45, 2.0 / 45, 8.0 / 45, 8.0 / 45, 0.0},
        {0.0, 2.0 / 9, -2.0 / 9, 4.0 / 45, -4.0 / 45, 4.0 / 45, -4.0 / 45, 0.0},
        {0.0, 2.0 / 9, 2.0 / 9, 8.0 / 45, 8.0 / 45, 2.0 / 45, 2.0 / 45, 1.0}};
};

template <> struct WinogradMatrices<4, 2> {
    static constexpr int a = 5;
    static constexpr double BT[5][5] = {
        {0.5, -1.0, -0.5, 1.0, 0.0},
        {0.0, -0.5, 0.5, 1.0, 0.0},
        {0.0, -0.5, 1.5, -1.0, 0.0},
        {0.0, 1.0, 0.0, -1.0, 0.0},
        {0.0, 0.5, -1.0, -0.5, 1.0}};
    static constexpr double G[5][2] = {
        {2.0, 0.0},
        {1.0, 1.0},
        {1.0 / 3, -1.0 / 3},
        {8.0 / 3, 4.0 / 3},
        {0.0, 1.0}};
    static constexpr double AT[4][5] = {
        {1.0, 1.0, 1.0, 1.0, 0.0},
        {0.0, 1.0, -1.0, 0.5, 0.0},
        {0.0, 1.0, 1.0, 0.25, 0.0},
        {0.0, 1.0, -1.0, 0.125, 1.0}};
    static constexpr double A[5][4] = {
        {1.0, 0.0, 0.0, 0.0},
        {1.0, 1.0, 1.0, 1.0},
        {1.0, -1.0, 1.0, -1.0},
        {1.0, 0.5, 0.25, 0.125},
        {0.0, 0.0, 0.0, 1.0}};
    static constexpr double GT[2][5] = {
        {2.0, 1.0, 1.0 / 3, 8.0 / 3, 0.0},
        {0.0, 1.0, -1.0 / 3, 4.0 / 3, 1.0}};
};

template <> struct WinogradMatrices<6, 2> {
    static constexpr int a = 7;
    static constexpr double BT[7][7] = {
        {0.5, -0.25, -2.5, 1.25, 2.0, -1.0, 0.0},
        {0.0, -0.5, -0.25, 2.25, 1.0, -1.0, 0.0},
        {0.0, 0.5, -0.75, -1.75, 3.0, -1.0, 0.0},
        {0.0, 1.0, 1.5, -2.0, -1.5, 1.0, 0.0},
        {0.0, -1.0, 2.5, 0.0, -2.5, 1.0, 0.0},
        {0.0, 0.25, 0.0, -1.25, 0.0, 1.0, 0.0},
        {0.0, -0.5, 0.25, 2.5, -1.25, -2.0, 1.0}};
    static constexpr double G[7][2] = {
        {2.0, 0.0},
        {2.0 / 3, 2.0 / 3},
        {2.0 / 9, -2.0 / 9},
        {16.0 / 9, 8.0 / 9},
        {16.0 / 15, -8.0 / 15},
        {2.0 / 45, 4.0 / 45},
        {0.0, 1.0}};
    static constexpr double AT[6][7] = {
        {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0},
        {0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 0.0},
        {0.0, 1.0, 1.0, 0.25, 0.25, 4.0, 0.0},
        {0.0, 1.0, -1.0, 0.125, -0.125, 8.0, 0.0},
        {0.0, 1.0, 1.0, 0.0625, 0.0625, 16.0, 0.0},
        {0.0, 1.0, -1.0, 0.03125, -0.03125, 32.0, 1.0}};
    static constexpr double A[7][6] = {
        {1.0, 0.0, 0.0, 0.0, 0.0, 0.0},
        {1.0, 1.0, 1.0, 1.0, 1.0, 1.0},
        {1.0, -1.0, 1.0, -1.0, 1.0, -1.0},
        {1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125},
        {1.0, -0.5, 0.25, -0.125, 0.0625, -0.03125},
        {1.0, 2.0, 4.0, 8.0, 16.0, 32.0},
        {0.0, 0.0, 0.0, 0.0, 0.0, 1.0}};
    static constexpr double GT[2][7] = {
        {2.0, 2.0 / 3, 2.0 / 9, 16.0 / 9, 16.0 / 15, 2.0 / 45, 0.0},
        {0.0, 2.0 / 3, -2.0 / 9, 8.0 / 9, -8.0 / 15, 4.0 / 45, 1.0}};
};

// How one call is cut (``plan``, the same function the kernels use): ``lanes`` output channels
// per block of U, ``tiles`` tiles per block of work, up to ``parts`` blocks at once, and the
// caller's buffers in elements: U (a^2, ceil(O / lanes), C, lanes) and ``scratch`` per part
// (the block's V and M, and for the weight gradient the part's dU).
struct WinogradPlan {
    int64_t lanes, tiles, parts, u, scratch;
};

// The Winograd kernels of one level.  Geometry as for the direct kernels, 2-D (D = 1), one
// group, r x r, stride 1, any dilation and padding (negative too); x (N, H, W, C) and w
// (r, r, C, O) C-contiguous, y through Geometry::y_stride, dy (N, OH, OW, O) contiguous and
// dw (r, r, C, O) overwritten; ``scratch`` holds plan().parts * plan().scratch values.
// ``weights`` writes U = G g G^T for ``forward``.  ``transform`` applies one of the five tile
// transforms (for the tests): kind 0 BT d BT^T, 1 G g G^T, 2 AT M AT^T, 3 A dY A^T, 4 GT dU
// GT^T, to (count, p, p, channels) -> (count, q, q, channels).
template <class T>
struct WinogradKernels {
    WinogradPlan (*plan)(const Geometry&, int m, bool grad_weight);
    void (*weights)(const Geometry&, int m, const T* w, T* u);
    void (*forward)(const Geometry&, int m, const T* x, const T* u, const T* bias, T* y,
                    T* scratch);
    void (*grad_weight)(const Geometry&, int m, const T* x, const T* dy, T* dw, T* scratch);
    void (*transform)(int kind, int m, int r, int64_t count, int64_t channels, const T* src,
                      T* dst);
};

struct WinogradLevel {
    const char* name;
    WinogradKernels<float> f32;
    WinogradKernels<double> f64;
};

extern const WinogradLevel winograd_portable;
#if defined(STRIDED_X86)
extern const WinogradLevel winograd_avx2;
extern const WinogradLevel winograd_avx512;
#endif

}  // namespace strided
