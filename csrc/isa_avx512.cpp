// AVX-512F: 32 registers of 512 bits; forward tiles of 12 x 1, 12 x 2 or 6 x 4 vectors of
// accumulators (one of 24 x 1 ran slower: its 24 pixel pointers do not fit the 16 integer
// registers), weight-gradient tiles of 24 x 1, 12 x 2 or 6 x 4 (their inputs share one
// pointer).
// Compiled with -mavx512f -mfma (setup.py); called only where the CPU and OS support it.
#include "kernels.hpp"
#include "simd.hpp"
#include "winograd.hpp"
#include "layers.hpp"

namespace strided {
namespace avx512 {
using F32 = strided_simd::Avx512F32;
using F64 = strided_simd::Avx512F64;
constexpr int FWD_PIXELS_1 = 12, FWD_PIXELS_2 = 12, FWD_PIXELS_4 = 6;
constexpr int GW_CHANNELS_1 = 24, GW_CHANNELS_2 = 12, GW_CHANNELS_4 = 6;
constexpr int DW_PIXELS = 12;
constexpr int DW_SLIDING_PIXELS = 16;
#include "conv.inc"
#include "layout.inc"
#include "table.inc"
#include "winograd.inc"
#include "layers.inc"
}  // namespace avx512

const Level level_avx512 = {"avx512", avx512::kernels<float>(), avx512::kernels<double>()};
const WinogradLevel winograd_avx512 = {"avx512", avx512::winograd_kernels<float>(),
                                       avx512::winograd_kernels<double>()};
constexpr LayerLevel layers_avx512 = {"avx512", avx512::layer::kernels<float>(),
                                    avx512::layer::kernels<double>()};
}  // namespace strided
