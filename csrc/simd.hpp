// Vector types for the microkernels: one struct per (instruction set, element type), each with
// the same few static functions, so that one kernel template serves every level.
//
// This header is compiled once per level, by isa_<level>.cpp with that level's flags; the
// structs of a level exist only where its flags are on.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

// Before a loop over a tile's registers (a compile-time count): unrolled, they stay in
// registers.  GCC unrolls loops of up to 16 or so by itself, and a tile of 24 pixels it left
// rolled, its accumulators in memory (AVX-512's forward of 16 output channels took 1.4 times
// as long as AVX2's).
#define STRIDED_UNROLL _Pragma("GCC unroll 32")

namespace strided_simd {

// The portable level: a fixed array of 16 bytes' worth of lanes, in plain loops that the
// compiler turns into SSE2 on x86-64 and NEON on aarch64.
template <class T>
struct Portable {
    static constexpr int width = 16 / sizeof(T);
    struct reg { T v[width]; };
    static reg zero() { reg r; for (int i = 0; i < width; ++i) r.v[i] = 0; return r; }
    static reg set1(T a) { reg r; for (int i = 0; i < width; ++i) r.v[i] = a; return r; }
    static reg load(const T* p) { reg r; for (int i = 0; i < width; ++i) r.v[i] = p[i]; return r; }
    static reg load_partial(const T* p, int n) {
        reg r = zero(); for (int i = 0; i < n; ++i) r.v[i] = p[i]; return r;
    }
    // Lane j = p[j >> shift], the first n values of p read: each of a depthwise layer's input
    // channels repeated 2^shift times, for its channel multiplier.
    static reg load_repeated(const T* p, int shift, int n) {
        reg r = zero(); for (int i = 0; i < width && (i >> shift) < n; ++i) r.v[i] = p[i >> shift]; return r;
    }
    // Lanes [lo, hi) (``range``): c + p * b there and c elsewhere, p read only there (so a
    // lane outside adds nothing, not 0 * b).
    struct mask { int lo, hi; };
    static mask range(int lo, int hi) { return {lo, hi}; }
    static reg fma_in(const T* p, mask m, reg b, reg c) {
        for (int i = m.lo; i < m.hi; ++i) c.v[i] += p[i] * b.v[i];
        return c;
    }
    static void store(T* p, reg a) { for (int i = 0; i < width; ++i) p[i] = a.v[i]; }
    static void store_partial(T* p, reg a, int n) { for (int i = 0; i < n; ++i) p[i] = a.v[i]; }
    static reg fma(reg a, reg b, reg c) {
        for (int i = 0; i < width; ++i) c.v[i] += a.v[i] * b.v[i];
        return c;
    }
    static reg add(reg a, reg b) { for (int i = 0; i < width; ++i) a.v[i] += b.v[i]; return a; }
    static T sum(reg a) { T s = 0; for (int i = 0; i < width; ++i) s += a.v[i]; return s; }
    static reg relu(reg a) { for (int i = 0; i < width; ++i) a.v[i] = a.v[i] < 0 ? 0 : a.v[i]; return a; }
    // d[j * ds + i] = s[i * ss + j] for i, j < width
    static void transpose(const T* s, int64_t ss, T* d, int64_t ds) {
        for (int i = 0; i < width; ++i)
            for (int j = 0; j < width; ++j) d[j * ds + i] = s[i * ss + j];
    }
};

#if defined(__AVX2__) && defined(__FMA__)
// AVX2 + FMA: 256-bit registers; partial loads through a lane mask, partial stores as
// 128-, 64- and 32-bit stores: a masked store (vmaskmovps) costs about 17 cycles on AMD Zen 3
// against under one for these (measured on rows of 6 floats).
inline __m256i avx2_mask32(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256i avx2_mask64(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}
// Lanes [lo, hi): the first hi but not the first lo.
inline __m256i avx2_mask32(int lo, int hi) { return _mm256_andnot_si256(avx2_mask32(lo), avx2_mask32(hi)); }
inline __m256i avx2_mask64(int lo, int hi) { return _mm256_andnot_si256(avx2_mask64(lo), avx2_mask64(hi)); }
// The first min(n, 4) floats of a.
inline void avx2_store_first(float* p, __m128 a, int n) {
    if (n >= 4) {
        _mm_storeu_ps(p, a);
    } else if (n >= 2) {
        _mm_storel_pi(reinterpret_cast<__m64*>(p), a);
        if (n == 3) _mm_store_ss(p + 2, _mm_movehl_ps(a, a));
    } else if (n == 1) {
        _mm_store_ss(p, a);
    }
}
inline void avx2_store_partial(float* p, __m256 a, int n) {
    __m128 lo = _mm256_castps256_ps128(a);
    if (n < 4) return avx2_store_first(p, lo, n);
    _mm_storeu_ps(p, lo);
    avx2_store_first(p + 4, _mm256_extractf128_ps(a, 1), n - 4);
}
inline void avx2_store_partial(double* p, __m256d a, int n) {
    __m128d lo = _mm256_castpd256_pd128(a);
    if (n >= 4) {
        _mm256_storeu_pd(p, a);
    } else if (n >= 2) {
        _mm_storeu_pd(p, lo);
        if (n == 3) _mm_store_sd(p + 2, _mm256_extractf128_pd(a, 1));
    } else if (n == 1) {
        _mm_store_sd(p, lo);
    }
}

// d[j * ds + i] = s[i * ss + j] for an 8 x 8 block of floats: pairs of rows interleaved, then
// quadruples, then the 128-bit halves exchanged.
inline void avx2_transpose_8x8(const float* s, int64_t ss, float* d, int64_t ds) {
    __m256 r[8], t[8], u[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s + i * ss);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int j = 0; j < 4; ++j) {
        _mm256_storeu_ps(d + j * ds, _mm256_permute2f128_ps(u[j], u[j + 4], 0x20));
        _mm256_storeu_ps(d + (j + 4) * ds, _mm256_permute2f128_ps(u[j], u[j + 4], 0x31));
    }
}

// The same for a 4 x 4 block of doubles.
inline void avx2_transpose_4x4(const double* s, int64_t ss, double* d, int64_t ds) {
    __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + ss);
    __m256d r2 = _mm256_loadu_pd(s + 2 * ss), r3 = _mm256_loadu_pd(s + 3 * ss);
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(d + ds, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(d + 2 * ds, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(d + 3 * ds, _mm256_permute2f128_pd(t1, t3, 0x31));
}

struct Avx2F32 {
    static constexpr int width = 8;
    using reg = __m256;
    static reg zero() { return _mm256_setzero_ps(); }
    static reg set1(float a) { return _mm256_set1_ps(a); }
    static reg load(const float* p) { return _mm256_loadu_ps(p); }
    static reg load_partial(const float* p, int n) { return _mm256_maskload_ps(p, avx2_mask32(n)); }
    static reg load_repeated(const float* p, int shift, int n) {
        const __m256i lane = _mm256_srl_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm_cvtsi32_si128(shift));
        return _mm256_permutevar8x32_ps(load_partial(p, n), lane);
    }
    struct mask { __m256i bits; };  // a struct: vectors of __m256i drop its attributes
    static mask range(int lo, int hi) { return {avx2_mask32(lo, hi)}; }
    static reg fma_in(const float* p, mask m, reg b, reg c) {  // b masked too: 0 * inf is NaN
        return _mm256_fmadd_ps(_mm256_maskload_ps(p, m.bits), _mm256_and_ps(b, _mm256_castsi256_ps(m.bits)), c);
    }
    static void store(float* p, reg a) { _mm256_storeu_ps(p, a); }
    static void store_partial(float* p, reg a, int n) { avx2_store_partial(p, a, n); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
    static float sum(reg a) {
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
    }
    static reg relu(reg a) { return _mm256_max_ps(_mm256_setzero_ps(), a); }  // NaN stays
    static void transpose(const float* s, int64_t ss, float* d, int64_t ds) {
        avx2_transpose_8x8(s, ss, d, ds);
    }
};

struct Avx2F64 {
    static constexpr int width = 4;
    using reg = __m256d;
    static reg zero() { return _mm256_setzero_pd(); }
    static reg set1(double a) { return _mm256_set1_pd(a); }
    static reg load(const double* p) { return _mm256_loadu_pd(p); }
    static reg load_partial(const double* p, int n) { return _mm256_maskload_pd(p, avx2_mask64(n)); }
    static reg load_repeated(const double* p, int shift, int n) {  // 32-bit halves, moved in pairs
        const __m256i half = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i lane = _mm256_or_si256(_mm256_slli_epi32(_mm256_srl_epi32(half, _mm_cvtsi32_si128(shift + 1)), 1),
                                             _mm256_and_si256(half, _mm256_set1_epi32(1)));
        return _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(load_partial(p, n)), lane));
    }
    struct mask { __m256i bits; };
    static mask range(int lo, int hi) { return {avx2_mask64(lo, hi)}; }
    static reg fma_in(const double* p, mask m, reg b, reg c) {
        return _mm256_fmadd_pd(_mm256_maskload_pd(p, m.bits), _mm256_and_pd(b, _mm256_castsi256_pd(m.bits)), c);
    }
    static void store(double* p, reg a) { _mm256_storeu_pd(p, a); }
    static void store_partial(double* p, reg a, int n) { avx2_store_partial(p, a, n); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
    static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
    static double sum(reg a) {
        __m128d h = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
        return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    }
    static reg relu(reg a) { return _mm256_max_pd(_mm256_setzero_pd(), a); }
    static void transpose(const double* s, int64_t ss, double* d, int64_t ds) {
        avx2_transpose_4x4(s, ss, d, ds);
    }
};
#endif

#if defined(__AVX512F__)
// AVX-512F: 512-bit registers and mask registers for the partial ones.
struct Avx512F32 {
    static constexpr int width = 16;
    using reg = __m512;
    using mask = __mmask16;
    static mask first(int n) { return mask((1u << n) - 1u); }  // lanes [0, n)
    static reg zero() { return _mm512_setzero_ps(); }
    static reg set1(float a) { return _mm512_set1_ps(a); }
    static reg load(const float* p) { return _mm512_loadu_ps(p); }
    static reg load_partial(const float* p, int n) { return _mm512_maskz_loadu_ps(first(n), p); }
    static reg load_repeated(const float* p, int shift, int n) {
        const __m512i lane = _mm512_srl_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm_cvtsi32_si128(shift));
        return _mm512_permutexvar_ps(lane, load_partial(p, n));
    }
    static mask range(int lo, int hi) { return mask(first(hi) & ~first(lo)); }
    static reg fma_in(const float* p, mask m, reg b, reg c) {
        return _mm512_mask3_fmadd_ps(_mm512_maskz_loadu_ps(m, p), b, c, m);
    }
    static void store(float* p, reg a) { _mm512_storeu_ps(p, a); }
    static void store_partial(float* p, reg a, int n) { _mm512_mask_storeu_ps(p, first(n), a); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
    static float sum(reg a) { return _mm512_reduce_add_ps(a); }
    static reg relu(reg a) { return _mm512_max_ps(_mm512_setzero_ps(), a); }
    // four 8 x 8 blocks (AVX2 shuffles move as much per cycle here as 512-bit ones)
    static void transpose(const float* s, int64_t ss, float* d, int64_t ds) {
        for (int i = 0; i < 16; i += 8)
            for (int j = 0; j < 16; j += 8) avx2_transpose_8x8(s + i * ss + j, ss, d + j * ds + i, ds);
    }
};

struct Avx512F64 {
    static constexpr int width = 8;
    using reg = __m512d;
    using mask = __mmask8;
    static mask first(int n) { return mask((1u << n) - 1u); }  // lanes [0, n)
    static reg zero() { return _mm512_setzero_pd(); }
    static reg set1(double a) { return _mm512_set1_pd(a); }
    static reg load(const double* p) { return _mm512_loadu_pd(p); }
    static reg load_partial(const double* p, int n) { return _mm512_maskz_loadu_pd(first(n), p); }
    static reg load_repeated(const double* p, int shift, int n) {
        const __m512i lane = _mm512_srl_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), _mm_cvtsi32_si128(shift));
        return _mm512_permutexvar_pd(lane, load_partial(p, n));
    }
    static mask range(int lo, int hi) { return mask(first(hi) & ~first(lo)); }
    static reg fma_in(const double* p, mask m, reg b, reg c) {
        return _mm512_mask3_fmadd_pd(_mm512_maskz_loadu_pd(m, p), b, c, m);
    }
    static void store(double* p, reg a) { _mm512_storeu_pd(p, a); }
    static void store_partial(double* p, reg a, int n) { _mm512_mask_storeu_pd(p, first(n), a); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
    static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
    static double sum(reg a) { return _mm512_reduce_add_pd(a); }
    static reg relu(reg a) { return _mm512_max_pd(_mm512_setzero_pd(), a); }
    static void transpose(const double* s, int64_t ss, double* d, int64_t ds) {
        for (int i = 0; i < 8; i += 4)
            for (int j = 0; j < 8; j += 4) avx2_transpose_4x4(s + i * ss + j, ss, d + j * ds + i, ds);
    }
};
#endif

}  // namespace strided_simd
