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
    static void store(T* p, reg a) { for (int i = 0; i < width; ++i) p[i] = a.v[i]; }
    static void store_partial(T* p, reg a, int n) { for (int i = 0; i < n; ++i) p[i] = a.v[i]; }
    static reg fma(reg a, reg b, reg c) {
        for (int i = 0; i < width; ++i) c.v[i] += a.v[i] * b.v[i];
        return c;
    }
    static reg add(reg a, reg b) { for (int i = 0; i < width; ++i) a.v[i] += b.v[i]; return a; }
    static reg relu(reg a) { for (int i = 0; i < width; ++i) a.v[i] = a.v[i] < 0 ? 0 : a.v[i]; return a; }
};

#if defined(__AVX2__) && defined(__FMA__)
// AVX2 + FMA: 256-bit registers; partial loads and stores through a lane mask.
inline __m256i avx2_mask32(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256i avx2_mask64(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}

struct Avx2F32 {
    static constexpr int width = 8;
    using reg = __m256;
    static reg zero() { return _mm256_setzero_ps(); }
    static reg set1(float a) { return _mm256_set1_ps(a); }
    static reg load(const float* p) { return _mm256_loadu_ps(p); }
    static reg load_partial(const float* p, int n) { return _mm256_maskload_ps(p, avx2_mask32(n)); }
    static void store(float* p, reg a) { _mm256_storeu_ps(p, a); }
    static void store_partial(float* p, reg a, int n) { _mm256_maskstore_ps(p, avx2_mask32(n), a); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
    static reg relu(reg a) { return _mm256_max_ps(_mm256_setzero_ps(), a); }  // NaN stays
};

struct Avx2F64 {
    static constexpr int width = 4;
    using reg = __m256d;
    static reg zero() { return _mm256_setzero_pd(); }
    static reg set1(double a) { return _mm256_set1_pd(a); }
    static reg load(const double* p) { return _mm256_loadu_pd(p); }
    static reg load_partial(const double* p, int n) { return _mm256_maskload_pd(p, avx2_mask64(n)); }
    static void store(double* p, reg a) { _mm256_storeu_pd(p, a); }
    static void store_partial(double* p, reg a, int n) { _mm256_maskstore_pd(p, avx2_mask64(n), a); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
    static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
    static reg relu(reg a) { return _mm256_max_pd(_mm256_setzero_pd(), a); }
};
#endif

#if defined(__AVX512F__)
// AVX-512F: 512-bit registers and mask registers for the partial ones.
struct Avx512F32 {
    static constexpr int width = 16;
    using reg = __m512;
    static __mmask16 mask(int n) { return (__mmask16)((1u << n) - 1u); }
    static reg zero() { return _mm512_setzero_ps(); }
    static reg set1(float a) { return _mm512_set1_ps(a); }
    static reg load(const float* p) { return _mm512_loadu_ps(p); }
    static reg load_partial(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
    static void store(float* p, reg a) { _mm512_storeu_ps(p, a); }
    static void store_partial(float* p, reg a, int n) { _mm512_mask_storeu_ps(p, mask(n), a); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
    static reg relu(reg a) { return _mm512_max_ps(_mm512_setzero_ps(), a); }
};

struct Avx512F64 {
    static constexpr int width = 8;
    using reg = __m512d;
    static __mmask8 mask(int n) { return (__mmask8)((1u << n) - 1u); }
    static reg zero() { return _mm512_setzero_pd(); }
    static reg set1(double a) { return _mm512_set1_pd(a); }
    static reg load(const double* p) { return _mm512_loadu_pd(p); }
    static reg load_partial(const double* p, int n) { return _mm512_maskz_loadu_pd(mask(n), p); }
    static void store(double* p, reg a) { _mm512_storeu_pd(p, a); }
    static void store_partial(double* p, reg a, int n) { _mm512_mask_storeu_pd(p, mask(n), a); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
    static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
    static reg relu(reg a) { return _mm512_max_pd(_mm512_setzero_pd(), a); }
};
#endif

}  // namespace strided_simd
