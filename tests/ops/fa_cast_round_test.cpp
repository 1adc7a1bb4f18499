// FlashAttentionScore's fp32 -> fp16/bf16 casts at exact midpoints: Ascend's CAST_ROUND rounds ties away from zero
// (ascend-semantics-backward.md §4.1) for P before P·V and for attention_out (ascend-semantics.md §1.1). Problems
// built so that the fp32 results land exactly halfway between two neighbours of the output dtype must come back as
// the neighbour away from zero, bit for bit, from the CPU variant (unsplit and split-KV) and the generic variant;
// the float64 reference, stored with host/reference/rounding.hpp, agrees.
//
// Construction: Q = 0, so every score is 0, every p = exp(0) = 1 and l = S2, all exact in fp32 (exp_nonpositive and
// OpenCL's exp both give exactly 1 at 0). Then
//   output ties: V rows alternate between v0 and v1 (16-bit values), so out = (S2/2·v0 + S2/2·v1)/S2 = (v0 + v1)/2,
//     every partial sum exact in fp32; v1 = v0 + one ulp puts the mean on a midpoint;
//   P ties: with dropout keeping every element and keep_prob = 256/257 (bf16) or 2048/2049 (fp16), the kernel's
//     keep_scale = float(1/double(float(keep_prob))) is exactly 1 + 2^-8 (1 + 2^-11): a bf16 (fp16) midpoint between
//     1 and 1 + 2^-7 (1 + 2^-10). So P = 1 + 2^-7 (1 + 2^-10) after CAST_ROUND (nearest even would give 1), and with
//     every V row equal to w, out = S2·P·w/S2 = P·w for w = ±2^k, exact.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "cannon/config.hpp"
#include "host/reference/rounding.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/runtime/convert.hpp"
#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

constexpr int64_t kRows = 3, kKeys = 512, kDim = 20;  // D = 20: 16-lane stores and a partial chunk

// The kernel shapes a problem can take here: each a Context of its own tune settings.
struct Shape {
  const char* name;
  std::map<std::string, long> tune;  // CANNON_TUNE names
  bool generic, split;
};

const Shape kShapes[] = {
    {"cpu", {{"fa.SPLIT_KV", 1}}, false, false},
    {"cpu_split", {{"fa.SPLIT_KV", 2}}, false, true},
    {"generic", {{"fa.VARIANT", 1}}, true, false},
};

const Context& shape_context(const Shape& shape) {
  static std::map<std::string, std::unique_ptr<Context>> contexts;
  auto& slot = contexts[shape.name];
  if (!slot) {
    Config config = Config::global();
    for (const auto& [key, value] : shape.tune) config.tune[key] = value;
    slot = std::make_unique<Context>(Context::create("", config));
  }
  return *slot;
}

double ulp_at_one(DType dtype) { return dtype == DType::kFloat16 ? 0x1p-10 : 0x1p-7; }

// x as the IEEE (nearest even) conversion would store it: what the old cast gave.
double nearest_even(DType dtype, double x) {
  const float f = static_cast<float>(x);
  return dtype == DType::kFloat16 ? fp16_to_float(float_to_fp16(f)) : bf16_to_float(float_to_bf16(f));
}

// The case: b1 n1, kRows query rows, kKeys keys, head dim kDim, BSND; Q = 0.
tools::FaCase base_case(DType dtype) {
  tools::FaCase fa = make_case(std::string("fa:b1n1g1s1=") + std::to_string(kRows) + "s2=" + std::to_string(kKeys) +
                               "d=" + std::to_string(kDim) + ":layout=BSND:dt=" + dtype_name(dtype));
  fa.inputs.query = tools::encode_values(dtype, fa.inputs.query.desc.shape, std::vector<double>(kRows * kDim, 0.0));
  return fa;
}

struct DeviceOut {
  std::vector<double> out;
  bool generic = false, split = false;
};

DeviceOut run_on(const Context& ctx, const tools::FaCase& fa, const std::optional<tools::HostData>& drop) {
  const FlashAttentionScorePlan plan = plan_flash_attention_score(ctx, fa.descs(), fa.attrs);
  DeviceOut r;
  r.generic = detail::PlanAccess::data(plan).kernel.variant == KernelVariant::kGeneric;
  r.split = detail::PlanAccess::data(plan).split.on();
  DeviceTensor q = to_device(ctx, fa.inputs.query), k = to_device(ctx, fa.inputs.key),
               v = to_device(ctx, fa.inputs.value);
  std::optional<DeviceTensor> d;
  FlashAttentionScoreOptionalInputs optional;
  if (drop) {
    d = to_device(ctx, *drop);
    optional.drop_mask = d->view();
  }
  const FlashAttentionScoreResult res = flash_attention_score(ctx, q.view(), k.view(), v.view(), optional, fa.attrs);
  r.out = tools::decode_values({res.attention_out.desc(), from_device(ctx, res.attention_out)});
  return r;
}

void expect_shape(const Shape& shape, const DeviceOut& run, const Context& ctx) {
  EXPECT_EQ(run.generic, shape.generic) << shape.name << ": unexpected kernel variant";
  // The split needs the CPU variant, which runs only on PoCL's CPU device.
  if (shape.split && ctx.info().pocl) EXPECT_TRUE(run.split) << shape.name << ": SPLIT_KV=2 did not split";
}

class FaCastRound : public testing::TestWithParam<std::tuple<DType, int>> {};

// Output midpoints: out[i][d] = (v0[d] + v1[d]) / 2 lands halfway between two neighbours.
TEST_P(FaCastRound, OutputTiesRoundAwayFromZero) {
  const auto [dtype, s] = GetParam();
  const Shape& shape = kShapes[s];
  const double u = ulp_at_one(dtype);
  struct Pair {
    double v0, v1, want;
  };
  // Column d's two values and its expected output (the neighbour away from zero, or the exact mean).
  std::vector<Pair> pairs = {
      {1, 1 + u, 1 + u},                       // lower neighbour even: nearest even would give 1
      {-1, -(1 + u), -(1 + u)},                // the same, negative
      {1 + u, 1 + 2 * u, 1 + 2 * u},           // upper neighbour even: both rules round up
      {3, 3 + 2 * u, 3 + 2 * u},               // [2, 4): ulp 2u
      {-0.5, -(0.5 + u / 2), -(0.5 + u / 2)},  // [0.5, 1): ulp u/2
      {96, 96 + 64 * u, 96 + 64 * u},          // [64, 128): ulp 64u
      {-96, -(96 + 64 * u), -(96 + 64 * u)},
      {2 - u, 2, 2},  // the carry reaches the exponent
      {1, 1, 1},      // no midpoint: exact means
      {0, 0, 0},
      {-0.75, -0.25, -0.5},
      {0.375, 0.375 + u * 0.25, 0.375 + u * 0.25},  // [0.25, 0.5): ulp u/4
  };
  if (dtype == DType::kFloat16) {
    // fp16's subnormals (step 2^-24) and the step into the normals.
    pairs.push_back({0, 0x1p-24, 0x1p-24});
    pairs.push_back({-0.0, -0x1p-24, -0x1p-24});
    pairs.push_back({2 * 0x1p-24, 3 * 0x1p-24, 3 * 0x1p-24});
    pairs.push_back({-(2 * 0x1p-24), -(3 * 0x1p-24), -(3 * 0x1p-24)});
    pairs.push_back({0x1p-14 - 0x1p-24, 0x1p-14, 0x1p-14});
    pairs.push_back({2048, 2050, 2050});  // ulp 2
  } else {
    pairs.push_back({0x1p-100, 0x1p-100 * (1 + u), 0x1p-100 * (1 + u)});
    pairs.push_back({-0x1p100, -0x1p100 * (1 + u), -0x1p100 * (1 + u)});
    pairs.push_back({256, 258, 258});  // ulp 2
    pairs.push_back({-256, -258, -258});
  }
  while (pairs.size() < kDim) pairs.push_back({-1, -(1 + u), -(1 + u)});
  ASSERT_EQ(pairs.size(), static_cast<std::size_t>(kDim));

  tools::FaCase fa = base_case(dtype);
  std::vector<double> value(kKeys * kDim);
  for (int64_t j = 0; j < kKeys; ++j)
    for (int64_t d = 0; d < kDim; ++d) value[j * kDim + d] = j % 2 ? pairs[d].v1 : pairs[d].v0;
  fa.inputs.value = tools::encode_values(dtype, fa.inputs.value.desc.shape, value);
  ASSERT_EQ(tools::decode_values(fa.inputs.value), value) << "inputs must be exact in the dtype";

  // The construction: the mean is exact in fp32, and at the midpoints the two rules differ.
  int differ = 0;
  for (const Pair& p : pairs) {
    const double mean = (p.v0 + p.v1) / 2;
    ASSERT_EQ(static_cast<double>(static_cast<float>(mean)), mean);
    ASSERT_EQ(reference::round_ties_away(dtype, mean), p.want) << mean;
    differ += nearest_even(dtype, mean) != p.want;
  }
  EXPECT_GE(differ, 8);

  const Context& ctx = shape_context(shape);
  const DeviceOut run = run_on(ctx, fa, std::nullopt);
  expect_shape(shape, run, ctx);
  const auto ref = reference::flash_attention_score(fa.ref_inputs(), fa.attrs).attention_out.values;
  ASSERT_EQ(run.out.size(), static_cast<std::size_t>(kRows * kDim));
  ASSERT_EQ(ref.size(), run.out.size());
  for (int64_t i = 0; i < kRows; ++i)
    for (int64_t d = 0; d < kDim; ++d) {
      const double got = run.out[i * kDim + d], want = pairs[d].want;
      EXPECT_EQ(got, want) << shape.name << " row " << i << " d " << d << ": mean of " << pairs[d].v0 << " and "
                           << pairs[d].v1;
      EXPECT_EQ(std::signbit(got), std::signbit(want)) << shape.name << " row " << i << " d " << d;
      EXPECT_EQ(reference::round_ties_away(dtype, ref[i * kDim + d]), want) << "reference, row " << i << " d " << d;
    }
}

// P midpoints: dropout's 1/keep_prob puts every p = 1 on a midpoint of the input dtype before P·V.
TEST_P(FaCastRound, PTiesRoundAwayFromZero) {
  const auto [dtype, s] = GetParam();
  const Shape& shape = kShapes[s];
  const double u = ulp_at_one(dtype);
  const double keep_prob = dtype == DType::kFloat16 ? 2048.0 / 2049.0 : 256.0 / 257.0;
  // The kernel's keep_scale (host/ops/flash_attention_score_dropout.cpp) is exactly the midpoint 1 + u/2.
  const float keep_scale = static_cast<float>(1.0 / static_cast<double>(static_cast<float>(keep_prob)));
  ASSERT_EQ(keep_scale, 1 + u / 2);
  const double p = reference::round_ties_away(dtype, keep_scale);
  ASSERT_EQ(p, 1 + u);
  ASSERT_EQ(nearest_even(dtype, keep_scale), 1.0);

  tools::FaCase fa = base_case(dtype);
  fa.attrs.keep_prob = keep_prob;
  // Every V row is w; out = P·w is exact for w = ±2^k.
  std::vector<double> w(kDim);
  for (int64_t d = 0; d < kDim; ++d) w[d] = std::ldexp(d % 2 ? -1.0 : 1.0, static_cast<int>(d % 5) - 2);
  std::vector<double> value(kKeys * kDim);
  for (int64_t j = 0; j < kKeys; ++j)
    for (int64_t d = 0; d < kDim; ++d) value[j * kDim + d] = w[d];
  fa.inputs.value = tools::encode_values(dtype, fa.inputs.value.desc.shape, value);
  // Keep every element: B·N1·S1·S2 bits, all 1.
  const int64_t bytes = (kRows * kKeys + 7) / 8;
  fa.inputs.drop_mask = tools::encode_values(DType::kUInt8, {bytes}, std::vector<double>(bytes, 255.0));

  const Context& ctx = shape_context(shape);
  const DeviceOut run = run_on(ctx, fa, fa.inputs.drop_mask);
  expect_shape(shape, run, ctx);
  const auto ref = reference::flash_attention_score(fa.ref_inputs(), fa.attrs).attention_out.values;
  ASSERT_EQ(run.out.size(), static_cast<std::size_t>(kRows * kDim));
  ASSERT_EQ(ref.size(), run.out.size());
  for (int64_t i = 0; i < kRows; ++i)
    for (int64_t d = 0; d < kDim; ++d) {
      EXPECT_EQ(run.out[i * kDim + d], p * w[d])
          << shape.name << " row " << i << " d " << d << " (P rounded to " << run.out[i * kDim + d] / w[d] << ")";
      EXPECT_EQ(ref[i * kDim + d], p * w[d]) << "reference, row " << i << " d " << d;
    }
}

INSTANTIATE_TEST_SUITE_P(Casts, FaCastRound,
                         testing::Combine(testing::Values(DType::kFloat16, DType::kBFloat16), testing::Values(0, 1, 2)),
                         [](const testing::TestParamInfo<std::tuple<DType, int>>& info) {
                           return std::string(dtype_name(std::get<0>(info.param))) + "_" +
                                  kShapes[std::get<1>(info.param)].name;
                         });

}  // namespace
}  // namespace cannon::optest
