// The host reference's CAST_ROUND (host/reference/rounding.hpp): fp32 to fp16/bf16, round to nearest with ties away
// from zero (ascend-semantics-backward.md §4.1). Exact midpoints of both signs, fp16's subnormals and overflow, and
// everywhere else the IEEE round to nearest even of host/runtime/convert.hpp, which differs only at midpoints.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

#include "host/reference/rounding.hpp"
#include "host/runtime/convert.hpp"

namespace cannon::reference {
namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

double even(DType dtype, float x) {
  return dtype == DType::kFloat16 ? fp16_to_float(float_to_fp16(x)) : bf16_to_float(float_to_bf16(x));
}

struct Tie {
  double x, away, even;  // a midpoint, its neighbour away from zero, its even neighbour
};

TEST(CastRound, Bf16MidpointsRoundAwayFromZero) {
  // bf16 keeps 8 significant bits: the ulp of [1, 2) is 2^-7.
  const Tie ties[] = {
      {1 + 0x1p-8, 1 + 0x1p-7, 1},               // lower neighbour even: the two rules differ
      {-(1 + 0x1p-8), -(1 + 0x1p-7), -1},        // the same, negative
      {1 + 3 * 0x1p-8, 1 + 0x1p-6, 1 + 0x1p-6},  // upper neighbour even: both round up
      {2 - 0x1p-8, 2, 2},                        // the carry reaches the exponent
      {96.25, 96.5, 96},                         // ulp 0.5 in [64, 128)
      {-0x1p-100 * (1 + 0x1p-8), -0x1p-100 * (1 + 0x1p-7), -0x1p-100},
  };
  for (const Tie& t : ties) {
    EXPECT_EQ(round_ties_away(DType::kBFloat16, t.x), t.away) << t.x;
    EXPECT_EQ(even(DType::kBFloat16, static_cast<float>(t.x)), t.even) << t.x;
  }
  // Off the midpoint by one fp32 ulp, both rules agree.
  EXPECT_EQ(round_ties_away(DType::kBFloat16, std::nextafter(1 + 0x1p-8f, 0.0f)), 1.0);
  EXPECT_EQ(round_ties_away(DType::kBFloat16, std::nextafter(1 + 0x1p-8f, 2.0f)), 1 + 0x1p-7);
  EXPECT_TRUE(std::isinf(round_ties_away(DType::kBFloat16, 3.4028235e38)));  // FLT_MAX is past bf16's largest + ulp/2
}

TEST(CastRound, Fp16MidpointsSubnormalsAndOverflow) {
  // fp16 keeps 11 significant bits from 2^-14 up, then a fixed step of 2^-24 (subnormals); its largest is 65504.
  const Tie ties[] = {
      {1 + 0x1p-11, 1 + 0x1p-10, 1},
      {-(1 + 0x1p-11), -(1 + 0x1p-10), -1},
      {1 + 3 * 0x1p-11, 1 + 0x1p-9, 1 + 0x1p-9},
      {2049, 2050, 2048},
      {-(0.25 + 0x1p-13), -(0.25 + 0x1p-12), -0.25},
      {0x1p-25, 0x1p-24, 0},  // half the smallest subnormal
      {-0x1p-25, -0x1p-24, -0.0},
      {2.5 * 0x1p-24, 3 * 0x1p-24, 2 * 0x1p-24},  // between two subnormals
      {0x1p-14 - 0x1p-25, 0x1p-14, 0x1p-14},      // the last subnormal step reaches the normals
      {65520, INFINITY, INFINITY},                // 65504 + ulp/2: away from zero is past the range
      {-65520, -INFINITY, -INFINITY},
  };
  for (const Tie& t : ties) {
    EXPECT_EQ(round_ties_away(DType::kFloat16, t.x), t.away) << t.x;
    EXPECT_EQ(even(DType::kFloat16, static_cast<float>(t.x)), t.even) << t.x;
  }
  EXPECT_EQ(round_ties_away(DType::kFloat16, 65519.0), 65504.0);
  EXPECT_EQ(round_ties_away(DType::kFloat16, 0x1p-26), 0.0);
  EXPECT_TRUE(std::signbit(round_ties_away(DType::kFloat16, -0x1p-26)));
}

TEST(CastRound, NonFiniteAndFp32PassThrough) {
  for (DType dtype : {DType::kFloat16, DType::kBFloat16, DType::kFloat32}) {
    EXPECT_TRUE(std::isnan(round_ties_away(dtype, NAN)));
    EXPECT_EQ(round_ties_away(dtype, INFINITY), INFINITY);
    EXPECT_EQ(round_ties_away(dtype, -INFINITY), -INFINITY);
  }
  EXPECT_EQ(round_ties_away(DType::kFloat32, 1 + 0x1p-8), 1 + 0x1p-8);
}

// Random fp32 patterns of every magnitude in range, and the midpoints next to them: off a midpoint CAST_ROUND is
// the IEEE rounding; on one it is the neighbour of larger magnitude.
TEST(CastRound, AgreesWithNearestEvenExceptAtMidpoints) {
  std::mt19937 gen(11);
  std::uniform_int_distribution<uint32_t> pattern;
  for (DType dtype : {DType::kFloat16, DType::kBFloat16}) {
    const int dropped = dtype == DType::kFloat16 ? 13 : 16;  // fp32 bits below the 16-bit format's last bit
    int midpoints = 0;
    for (int n = 0; n < 200000; ++n) {
      uint32_t u = pattern(gen);
      // Exponents 2^-14 .. 2^15 for fp16 (normal there), every finite exponent for bf16.
      if (dtype == DType::kFloat16) u = (u & 0x807fffffu) | ((113u + (u >> 23) % 30u) << 23);
      if (((u >> 23) & 0xffu) == 0xffu) continue;
      // Every fourth value is made a midpoint: the dropped bits set to exactly half an ulp.
      if (n % 4 == 0) u = (u & ~((1u << dropped) - 1)) | (1u << (dropped - 1));
      const float x = from_bits(u);
      const double away = round_ties_away(dtype, x), rne = even(dtype, x);
      const bool midpoint = (u & ((1u << dropped) - 1)) == (1u << (dropped - 1));
      if (!midpoint) {
        ASSERT_EQ(away, rne) << x;
        continue;
      }
      ++midpoints;
      // The two neighbours: x with the dropped bits cleared (toward zero) and one ulp further out.
      const float down = from_bits(u & ~((1u << dropped) - 1));
      const float up = from_bits((u & ~((1u << dropped) - 1)) + (1u << dropped));
      const double up_stored =
          std::fabs(up) > (dtype == DType::kFloat16 ? 65504.0 : 3.4e38) ? std::copysign(INFINITY, x) : up;
      ASSERT_EQ(away, up_stored) << x;
      ASSERT_TRUE(rne == down || rne == up_stored) << x;
      ASSERT_EQ(bits_of(static_cast<float>(away)) >> 31, u >> 31) << x;  // the sign is kept
    }
    EXPECT_GT(midpoints, 40000);
  }
}

}  // namespace
}  // namespace cannon::reference
