// The GQA decode fold (host/ops/flash_attention_score_fold.cpp): which plans fold, and that folded plans match the
// float64 reference on every layout and dtype, odd key counts and strided views, with poisoned outputs and guard
// bytes (run_case). A plan that must not fold (a row would see different keys, or a per-head input) keeps its heads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/ops/dry_plan.hpp"
#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

const FaProblem& problem_of(const std::string& text, FlashAttentionScorePlan& keep) {
  const tools::FaCase fa = make_case(text);
  keep = plan_flash_attention_score(test_context(), fa.descs(), fa.attrs);
  return detail::PlanAccess::data(keep).problem;
}

// Folded: G query heads per K/V head become G rows of N2 heads; the caller's output shapes are unchanged.
constexpr const char* kFolds[] = {
    "fa:b2n8g4s1=1s2=1023d=64:layout=BSND:dt=fp32",
    "fa:b1n8g8s1=1s2=113d=128:layout=BSH:dt=bf16",
    "fa:b3n6g2s1=1s2=7d=59:layout=SBH:dt=fp16",
    "fa:b2n4g2s1=1s2=1dk=72dv=40:layout=BNSD:dt=fp32",
    "fa:b1n32g16s1=1s2=777d=64:layout=BSND:dt=bf16:sparse=3",  // right-down causal: row 0 sees every key
    "fa:b2n4g4s1=1s2=300d=64:layout=BSND:dt=fp16:sparse=4:pre=1000:next=5",
};

class FaDecodeFold : public testing::TestWithParam<const char*> {};

TEST_P(FaDecodeFold, FoldsAndMatchesReference) {
  const tools::FaProblem problem = tools::parse_fa_problem(GetParam());
  FlashAttentionScorePlan plan;
  const FaProblem& p = problem_of(GetParam(), plan);
  EXPECT_EQ(p.fold, problem.n1 / problem.n2) << GetParam();
  EXPECT_EQ(p.n1, problem.n2);
  EXPECT_EQ(p.group(), 1);
  EXPECT_EQ(plan.softmax_max.shape, (std::vector<int64_t>{problem.b, problem.n1, 1, 8}));
  EXPECT_EQ(plan.attention_out.numel(), problem.b * problem.n1 * problem.dv);
  expect_case_passes(run_case(problem));
}

INSTANTIATE_TEST_SUITE_P(Layouts, FaDecodeFold, testing::ValuesIn(kFolds),
                         [](const testing::TestParamInfo<const char*>& info) { return std::to_string(info.index); });

// Not folded: more than one query row, no GQA, TND, per-head inputs (pse, dropout, a mask tensor), or a band under
// which rows 1..G-1 would see other keys than row 0 (left-up causal shows row 0 only key 0).
constexpr const char* kKeeps[] = {
    "fa:b1n8g4s1=2s2=513d=64:layout=BSND:dt=fp32",
    "fa:b1n4g1s1=1s2=513d=64:layout=BSND:dt=fp32",
    "fa:n4g2d=64:layout=TND:dt=fp32:seqq=1,2:seqkv=100,300",
    "fa:b1n4g4s1=1s2=300d=64:layout=BSND:dt=fp32:pse_type=1:pse=bn1s",
    "fa:b1n4g4s1=1s2=300d=64:layout=BSND:dt=bf16:keep_prob=0.8",
    "fa:b1n4g4s1=1s2=300d=64:layout=BSND:dt=fp32:sparse=0:mask=bnss",
    "fa:b1n4g4s1=1s2=300d=64:layout=BNSD:dt=fp32:sparse=2",
    "fa:b2n4g2s1=1s2=300d=64:layout=BSND:dt=fp32:sparse=0:pre=10:next=0",
};

class FaDecodeNoFold : public testing::TestWithParam<const char*> {};

TEST_P(FaDecodeNoFold, KeepsHeadsAndMatchesReference) {
  FlashAttentionScorePlan plan;
  EXPECT_EQ(problem_of(GetParam(), plan).fold, 1) << GetParam();
  expect_case_passes(run_case(tools::parse_fa_problem(GetParam())));
}

INSTANTIATE_TEST_SUITE_P(Cases, FaDecodeNoFold, testing::ValuesIn(kKeeps),
                         [](const testing::TestParamInfo<const char*>& info) { return std::to_string(info.index); });

}  // namespace
}  // namespace cannon::optest
