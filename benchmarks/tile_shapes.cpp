// The forward tile's inner loop alone, at each shape of P pixels x NV vectors of output
// channels (acc[p][v] += x[p][c] * w[c][v], the input broadcast, n steps of c with the
// weights' n * NV vectors streamed as the kernels stream their packed panel), in GFLOP/s on
// one thread, against the FMA peak of 24 independent multiply-adds.  It is why AVX-512 has
// tiles of four vectors (conv.inc, vectors_of): each broadcast feeds NV multiply-adds, and
// where a broadcast costs an FMA slot (Zen 5) two vectors cannot reach the peak.
//
//     g++ -O3 -mavx512f -mfma benchmarks/tile_shapes.cpp -o /tmp/tile_shapes && /tmp/tile_shapes
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

constexpr int W = 16;

template <int NV, int P>
__attribute__((noinline)) void tile(const float* const* xp, const float* w, int64_t n,
                                    __m512 (&out)[P][NV]) {
    __m512 acc[P][NV];
    for (int p = 0; p < P; ++p)
        for (int v = 0; v < NV; ++v) acc[p][v] = out[p][v];
    for (int64_t c = 0; c < n; ++c, w += NV * W) {
        __m512 wv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) wv[v] = _mm512_loadu_ps(w + v * W);
#pragma GCC unroll 24
        for (int p = 0; p < P; ++p) {
            __m512 xb = _mm512_set1_ps(xp[p][c]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; ++v) acc[p][v] = _mm512_fmadd_ps(xb, wv[v], acc[p][v]);
        }
    }
    for (int p = 0; p < P; ++p)
        for (int v = 0; v < NV; ++v) out[p][v] = acc[p][v];
}

template <class F>
double best_seconds(F&& f) {
    double best = 1e30;
    for (int round = 0; round < 5; ++round) {
        auto start = std::chrono::steady_clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
}

template <int NV, int P>
void shape(int64_t n) {
    std::vector<float> x(P * 1024, 1e-3f), w(n * NV * W, 0.5f);
    const float* xp[P];
    for (int p = 0; p < P; ++p) xp[p] = x.data() + p * 1024;
    __m512 acc[P][NV] = {};
    const int64_t reps = 400000000 / (n * P * NV * W);
    double s = best_seconds([&] { for (int64_t r = 0; r < reps; ++r) tile<NV, P>(xp, w.data(), n, acc); });
    float sum = 0;
    for (int p = 0; p < P; ++p)
        for (int v = 0; v < NV; ++v) sum += _mm512_reduce_add_ps(acc[p][v]);
    std::printf("%2d pixels x %d vectors, %4ld channels: %6.1f GFLOP/s  (%g)\n", P, NV, long(n),
                2.0 * reps * n * P * NV * W / s / 1e9, sum);
}

int main() {
    __m512 a[24];
    for (int i = 0; i < 24; ++i) a[i] = _mm512_set1_ps(float(i));
    const __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-4f);
    const int64_t reps = 20000000;
    double s = best_seconds([&] {
        for (int64_t r = 0; r < reps; ++r)
#pragma GCC unroll 24
            for (int i = 0; i < 24; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
    });
    float sum = 0;
    for (int i = 0; i < 24; ++i) sum += _mm512_reduce_add_ps(a[i]);
    std::printf("FMA peak, 24 chains: %6.1f GFLOP/s  (%g)\n", 2.0 * reps * 24 * W / s / 1e9, sum);
    for (int64_t n : {64, 576}) {
        shape<1, 12>(n);
        shape<2, 12>(n);
        shape<3, 8>(n);
        shape<4, 6>(n);
    }
}
