// Pins down Ascend's rounding of P to fp16/bf16 before P·V. The tolerance table cannot see it (its effect
// is below one output ulp), so this test counts exact matches instead: the device output must equal the
// reference rounded to the output dtype far more often when the reference rounds P than when it does not.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "host/reference/rounding.hpp"
#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

// Fraction of elements of `dev` that equal `ref` stored in the output dtype as the device stores it (CAST_ROUND, ties
// away from zero; the encoding of the rounded value is then exact).
double exact_fraction(const tools::HostData& dev, const std::vector<double>& ref) {
  std::vector<double> stored(ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) stored[i] = reference::round_ties_away(dev.desc.dtype, ref[i]);
  const tools::HostData want = tools::encode_values(dev.desc.dtype, dev.desc.shape, stored);
  const std::size_t elem = dtype_size(dev.desc.dtype);
  std::size_t same = 0;
  for (std::size_t i = 0; i < dev.bytes.size(); i += elem) {
    same += std::equal(dev.bytes.begin() + i, dev.bytes.begin() + i + elem, want.bytes.begin() + i) ? 1 : 0;
  }
  const std::size_t count = dev.bytes.size() / elem;
  return static_cast<double>(same) / static_cast<double>(count);
}

class FaPRounding : public ::testing::TestWithParam<const char*> {};

TEST_P(FaPRounding, DeviceRoundsPLikeAscend) {
  // Few keys per row, so each output leans on a handful of rounded probabilities.
  const std::string text = std::string("fa:b1n4g1s1=1023s2=3d=64:layout=BSND:dt=") + GetParam();
  CaseRun r = run_case(tools::parse_fa_problem(text));
  for (const std::string& problem : r.problems) ADD_FAILURE() << r.repro << ": " << problem;

  auto inputs = r.fa.ref_inputs();
  const auto rounded = reference::flash_attention_score(inputs, r.fa.attrs).attention_out.values;
  // The same values declared fp32: the reference then keeps P unrounded.
  for (auto* t : {&inputs.query, &inputs.key, &inputs.value}) t->dtype = DType::kFloat32;
  const auto unrounded = reference::flash_attention_score(inputs, r.fa.attrs).attention_out.values;

  const double with = exact_fraction(r.dev.attention_out, rounded);
  const double without = exact_fraction(r.dev.attention_out, unrounded);
  EXPECT_GE(with, 0.99) << r.repro << ": exact matches with P rounded " << with << ", unrounded " << without;
  // The case must be able to tell the two apart, or the check above proves nothing.
  EXPECT_LT(without, with - 0.05) << r.repro << ": exact matches with P rounded " << with << ", unrounded " << without;
}

INSTANTIATE_TEST_SUITE_P(Dtypes, FaPRounding, ::testing::Values("fp16", "bf16"));

}  // namespace
}  // namespace cannon::optest
