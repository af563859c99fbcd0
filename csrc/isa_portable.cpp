// The portable level: plain loops over 16-byte lane arrays, for any 64-bit CPU.
#include "kernels.hpp"
#include "simd.hpp"
#include "winograd.hpp"
#include "layers.hpp"

namespace strided {
namespace portable {
using F32 = strided_simd::Portable<float>;
using F64 = strided_simd::Portable<double>;
constexpr int FWD_PIXELS_1 = 4, FWD_PIXELS_2 = 4, FWD_PIXELS_4 = 0;
constexpr int GW_CHANNELS_1 = 4, GW_CHANNELS_2 = 4, GW_CHANNELS_4 = 0;
constexpr int DW_PIXELS = 4;
constexpr int DW_SLIDING_PIXELS = 4;
#include "conv.inc"
#include "layout.inc"
#include "table.inc"
#include "winograd.inc"
#include "layers.inc"
}  // namespace portable

const Level level_portable = {"portable", portable::kernels<float>(), portable::kernels<double>()};
const WinogradLevel winograd_portable = {"portable", portable::winograd_kernels<float>(),
                                         portable::winograd_kernels<double>()};
constexpr LayerLevel layers_portable = {"portable", portable::layer::kernels<float>(),
                                    portable::layer::kernels<double>()};
}  // namespace strided
