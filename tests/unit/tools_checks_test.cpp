// Tests that the conformance checks can fail: guard bands catch a write past a tensor, the poison scan
// finds unwritten elements, the element check and FlashAttention's rule reject wrong numbers, a degenerate
// reference is mistrusted, and a golden directory with float32 expected values for a bf16 output loads.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/tools_test_util.hpp"
#include "tools/drivers/registry.hpp"
#include "tools/harness/compare.hpp"
#include "tools/harness/guarded.hpp"
#include "tools/harness/npy.hpp"

namespace cannon::tools {
namespace {

TEST(ToolsChecks, GuardBandsCatchWritesOutsideTheView) {
  Context ctx = Context::create();
  GuardedBuffer buffer(ctx, TensorDesc{DType::kFloat32, {4}}, 256);
  buffer.poison();
  std::vector<std::string> problems;
  buffer.read("t", problems);
  EXPECT_TRUE(problems.empty());

  // One float written just past the end of the view, as an off-by-one kernel would.
  TensorView view = buffer.view();
  float value = 1.0f;
  ASSERT_EQ(clEnqueueWriteBuffer(ctx.cl_queue_handle(), view.buffer, CL_TRUE, view.offset + 16, 4, &value, 0, nullptr,
                                 nullptr),
            CL_SUCCESS);
  buffer.read("t", problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("past the end"), std::string::npos) << problems[0];
}

TEST(ToolsChecks, PoisonScanCountsUnwrittenElements) {
  HostData data = encode_values(DType::kBFloat16, {4}, {1, 2, 3, 4});
  data.bytes[2] = data.bytes[3] = 0xFF;  // element 1 still holds the poison pattern
  int64_t first = -1;
  EXPECT_EQ(count_poisoned(data, &first), 1);
  EXPECT_EQ(first, 1);
}

TEST(ToolsChecks, ElementCheckPassesEqualValuesAndFailsNaN) {
  const double big = std::numeric_limits<float>::max();
  Tolerance tol{1e-6, 1e-6};
  EXPECT_TRUE(compare_values("x", {1.0, -big, big}, {1.0, -big, big}, tol).ok());
  ErrorStats nan = compare_values("x", {1.0, NAN}, {1.0, 2.0}, tol);
  EXPECT_EQ(nan.bad, 1);
  EXPECT_EQ(nan.first_bad, 1);
  EXPECT_FALSE(compare_values("x", {1.0}, {1.0, 2.0}, tol).ok());
}

const std::vector<OutputSpec> kOutputs = {{"attention_out", Quantity::kAttentionOut},
                                          {"softmax_max", Quantity::kSoftmaxMax},
                                          {"softmax_sum", Quantity::kSoftmaxSum}};

TEST(ToolsChecks, VerdictAppliesTheTableAndTheFaRule) {
  const double eps = dtype_epsilon(DType::kBFloat16);
  OutputValues ref{std::vector<double>{0.5, -0.25, 0.125}, std::vector<double>{1.0}, std::vector<double>{3.0}};
  OutputValues dev = ref;
  EXPECT_TRUE(judge_at(kOutputs, dev, ref, ref[0], DType::kBFloat16).passed());

  (*dev[0])[0] += 0.5 * eps;  // within the element tolerance, but the naive result is exact
  Verdict verdict = judge_at(kOutputs, dev, ref, ref[0], DType::kBFloat16);
  ASSERT_TRUE(verdict.naive_rule.has_value());
  EXPECT_FALSE(verdict.naive_rule->ok());
  EXPECT_FALSE(verdict.passed());
  std::vector<double> naive = *ref[0];
  naive[2] += eps;  // a naive error of eps allows 2 eps
  EXPECT_TRUE(judge_at(kOutputs, dev, ref, naive, DType::kBFloat16).passed());

  (*dev[2])[0] *= 1 + 1e-3;  // far beyond 64 fp32 eps
  EXPECT_FALSE(judge_at(kOutputs, dev, ref, naive, DType::kBFloat16).passed());
}

TEST(ToolsChecks, AnOutputTheDeviceLacksFails) {
  OutputValues ref{std::vector<double>{0.5, -0.25}, std::vector<double>{1.0}, std::vector<double>{3.0}};
  OutputValues dev{ref[0], ref[1], std::nullopt};
  EXPECT_FALSE(judge_at(kOutputs, dev, ref, std::nullopt, DType::kFloat32).passed());
  dev.pop_back();  // fewer slots than outputs (an optional output left unbound)
  EXPECT_FALSE(judge_at(kOutputs, dev, ref, std::nullopt, DType::kFloat32).passed());
  ref[2] = std::nullopt;  // a golden directory without that output: nothing to compare
  EXPECT_TRUE(judge_at(kOutputs, dev, ref, std::nullopt, DType::kFloat32).passed());
}

TEST(ToolsChecks, ConstantReferenceIsMistrusted) {
  OutputValues ref{std::vector<double>(8, 0.25), std::nullopt, std::nullopt};
  Verdict verdict = judge_at(kOutputs, ref, ref, std::nullopt, DType::kFloat32);
  EXPECT_TRUE(verdict.passed());
  EXPECT_FALSE(verdict.mistrust.empty());
}

TEST(ToolsChecks, GoldenExpectedMayBeWiderThanTheOutput) {
  FaCase fa = describe_case(parse_fa_problem("fa:b1n2g1s1=3s2=5d=16:layout=BSND:dt=bf16"));
  generate_inputs(fa, 1);
  std::vector<HostData> outs{encode_values(DType::kBFloat16, {1, 3, 2, 16}, std::vector<double>(96, 0.375)),
                             encode_values(DType::kFloat32, {1, 2, 3, 8}, std::vector<double>(48, 1.5)),
                             encode_values(DType::kFloat32, {1, 2, 3, 8}, std::vector<double>(48, 2.5))};
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "cannon_tools_checks_golden";
  std::filesystem::remove_all(dir);
  write_golden(dir.string(), fa, outs, "test");
  // Replace the bf16 raw bits with float32 values, as a producer with more precision would store them.
  write_npy((dir / "expected" / "attention_out.npy").string(),
            to_npy(encode_values(DType::kFloat32, {1, 3, 2, 16}, std::vector<double>(96, 0.3751))));
  GoldenCase golden = load_golden(dir.string());
  const FaCase& loaded = case_of<FaCase>(golden);
  EXPECT_EQ(loaded.attrs.head_num, 2);
  EXPECT_EQ(loaded.inputs.query.bytes, fa.inputs.query.bytes);
  EXPECT_EQ(loaded.inputs.query.desc.dtype, DType::kBFloat16);
  ASSERT_EQ(golden.expected.size(), 3u);
  ASSERT_TRUE(golden.expected[0].has_value());
  EXPECT_FLOAT_EQ(static_cast<float>((*golden.expected[0])[0]), 0.3751f);
  EXPECT_EQ(*golden.expected[2], std::vector<double>(48, 2.5));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cannon::tools
