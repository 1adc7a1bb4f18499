// Proves that the conformance harness catches real kernel bugs, not only that correct kernels pass. Each fault is a
// deliberate, realistic bug compiled into the FlashAttentionScore kernels through Config::kernel_defines
// (-DCANNON_FAULT=k, kernels/common/fault.clh); every case of the fault's list must then FAIL through the same
// run_case the conformance tool uses, while the same cases PASS on a Context without the fault. A tolerance loose
// enough to let one of these through would make this test fail.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cannon/cannon.hpp"
#include "tools/drivers/registry.hpp"
#include "tools/harness/modes.hpp"

namespace cannon::optest {
namespace {

struct Fault {
  int id;
  const char* name;
  std::vector<const char*> cases;  // cases the fault must show in (fp32 and a low-precision dtype where it applies)
};

const std::vector<Fault>& faults() {
  static const std::vector<Fault> list = {
      {1, "dropped_key", {"fa:b2n4g2s1=113s2=203d=64:layout=BSND:dt=fp32", "fa:b1n2s1=7s2=113d=64:layout=BSH:dt=bf16"}},
      // Only the band edge changes, so the cases use the rule without a random mask (a pure band, and causal).
      {2,
       "mask_off_by_one",
       {"fa:b1n2s1=113s2=203d=64:layout=BSH:dt=fp32:sparse=0:pre=143:next=44:mask_density=0",
        "fa:b1n2s=113d=64:layout=BNSD:dt=fp16:sparse=2"}},
      // P's rounding moves each output by less than one output ulp: the P-rounding rule must see it.
      {3, "p_not_rounded", {"fa:b1n8s=256d=128:layout=BSND:dt=fp16", "fa:b2n4g2s1=113s2=203d=64:layout=BSND:dt=bf16"}},
      {4,
       "wrong_scale",
       {"fa:b1n3s1=113s2=203d=113:layout=SBH:dt=fp32", "fa:b2n4g2s1=113s2=203d=64:layout=BSND:dt=bf16"}},
      {5, "stale_row", {"fa:b2n4g2s1=113s2=203d=64:layout=BSND:dt=fp32", "fa:b1n2s=256d=64:layout=TND:dt=fp16"}},
  };
  return list;
}

tools::CaseResult run_one(const Context& ctx, const std::string& text) {
  tools::CaseInput input;
  input.problem = tools::parse_problem(text);
  input.name = input.problem->canonical();
  input.seed = 0;
  return tools::run_case(ctx, input, tools::RunOptions{}, "", tools::drivers());
}

class FaBrokenKernels : public ::testing::TestWithParam<Fault> {};

TEST_P(FaBrokenKernels, EveryCaseFails) {
  const Fault& fault = GetParam();
  Config faulty = Config::global();
  faulty.kernel_defines["CANNON_FAULT"] = fault.id;
  const Context broken = Context::create("", faulty);
  const Context correct = Context::create("", Config::global());
  for (const char* text : fault.cases) {
    const tools::CaseResult good = run_one(correct, text);
    EXPECT_EQ(good.status, tools::CaseStatus::kPassed) << text << " without the fault: " << good.message;
    const tools::CaseResult bad = run_one(broken, text);
    EXPECT_EQ(bad.status, tools::CaseStatus::kFailed)
        << "fault " << fault.id << " (" << fault.name << ") passed " << text << ": " << bad.message;
    // It must fail on its numbers: a kernel that does not build proves nothing about the tolerance.
    EXPECT_EQ(bad.message.find("clBuildProgram"), std::string::npos) << "fault " << fault.id << ": " << bad.message;
  }
}

INSTANTIATE_TEST_SUITE_P(Faults, FaBrokenKernels, ::testing::ValuesIn(faults()),
                         [](const ::testing::TestParamInfo<Fault>& info) {
                           return std::to_string(info.param.id) + "_" + info.param.name;
                         });

}  // namespace
}  // namespace cannon::optest
