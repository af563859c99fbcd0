// AVX2 + FMA: 16 registers of 256 bits; tiles of 12 x 1 or 6 x 2 vectors of accumulators.
// Compiled with -mavx2 -mfma (setup.py); called only where the CPU has both.
#include "kernels.hpp"
#include "simd.hpp"
#include "winograd.hpp"
#include "layers.hpp"

namespace strided {
namespace avx2 {
using F32 = strided_simd::Avx2F32;
using F64 = strided_simd::Avx2F64;
constexpr int FWD_PIXELS_1 = 12, FWD_PIXELS_2 = 6, FWD_PIXELS_4 = 0;
constexpr int GW_CHANNELS_1 = 12, GW_CHANNELS_2 = 6, GW_CHANNELS_4 = 0;
constexpr int DW_PIXELS = 6;
constexpr int DW_SLIDING_PIXELS = 8;
#include "conv.inc"
#include "layout.inc"
#include "table.inc"
#include "winograd.inc"
#include "layers.inc"
}  // namespace avx2

const Level level_avx2 = {"avx2", avx2::kernels<float>(), avx2::kernels<double>()};
const WinogradLevel winograd_avx2 = {"avx2", avx2::winograd_kernels<float>(),
                                     avx2::winograd_kernels<double>()};
constexpr LayerLevel layers_avx2 = {"avx2", avx2::layer::kernels<float>(),
                                    avx2::layer::kernels<double>()};
}  // namespace strided
