// FlashAttentionScore forward on the device against the float64 reference: a sampled cross product of the
// five layouts, fp32/fp16/bf16, GQA ratios 1, 2 and 8 (MQA), odd sequence lengths (S1 < S2 and S1 > S2) and
// head dims (64, 192/128, odd), plus TND edge cases. The harness's DeviceRun poisons outputs and guards every buffer,
// so an unwritten element or an out-of-bounds write fails a case as surely as a wrong value.
#include <gtest/gtest.h>

#include <cfloat>
#include <string>
#include <tuple>
#include <vector>

#include "cannon/config.hpp"
#include "tests/ops/op_test_util.hpp"

namespace cannon::optest {
namespace {

// Every string is a problem of cannon-conformance; a failure prints the command that reruns it. Each
// (dtype, Dk, Dv) kernel variant costs a compile, so the head dims rotate through nine variants only.
constexpr const char* kSampled[] = {
    "fa:b2n2g1s1=7s2=113d=64:layout=BSH:dt=fp32",
    "fa:b1n8g8s1=113s2=7dk=192dv=128:layout=BSH:dt=fp16",
    "fa:b2n4g2s1=1s2=113d=59:layout=BSH:dt=bf16",
    "fa:b2n4g2s1=113s2=1dk=192dv=128:layout=SBH:dt=fp32",
    "fa:b3n2g1s1=113s2=7d=40:layout=SBH:dt=fp16",
    "fa:b1n8g8s1=7s2=113d=64:layout=SBH:dt=bf16",
    "fa:b2n8g8s1=1s2=7d=59:layout=BSND:dt=fp32",
    "fa:b2n4g2s1=7s2=113d=64:layout=BSND:dt=fp16",
    "fa:b1n3g1s1=113s2=7dk=192dv=128:layout=BSND:dt=bf16",
    "fa:b2n3g1s1=7s2=1d=64:layout=BNSD:dt=fp32",
    "fa:b2n8g8s1=1s2=113dk=192dv=128:layout=BNSD:dt=fp16",
    "fa:b2n4g2s1=113s2=113d=59:layout=BNSD:dt=bf16",
    // TND: per-batch lengths q (1, 7, 113) against kv (7, 113, 1) and similar.
    "fa:n4g2d=59:layout=TND:dt=fp32:seqq=1,8,121:seqkv=7,120,121:softmax_layout=TND",
    "fa:n8g8dk=192dv=128:layout=TND:dt=fp16:seqq=113,120,121:seqkv=1,114,121",
    "fa:n2g1d=40:layout=TND:dt=fp16:seqq=7,8,121:seqkv=113,120,127:softmax_layout=TND",
    "fa:n3g1d=59:layout=TND:dt=bf16:seqq=7,120:seqkv=113,120",
};

// Run again by the ctest entry that sets CANNON_TUNE=fa.VARIANT=1,nsa.VARIANT=1, and in-process with a Context of its
// own Config (FaForwardGenericContext), to cover the generic kernel variant.
constexpr const char* kGenericSubset[] = {
    "fa:b2n8g8s1=7s2=113d=59:layout=BSND:dt=fp32",
    "fa:b1n4g2s1=113s2=7dk=192dv=128:layout=BNSD:dt=bf16",
    "fa:n4g2d=64:layout=TND:dt=fp16:seqq=5,5,118,120,0:seqkv=0,3,116,116,0:softmax_layout=TND",
};

bool generic_variant_requested() {
  const auto& tune = test_context().config().tune;
  auto it = tune.find("fa.VARIANT");
  return it != tune.end() && it->second == 1;
}

class FaForward : public testing::TestWithParam<const char*> {};

TEST_P(FaForward, MatchesReference) {
  CaseRun r = run_case(tools::parse_fa_problem(GetParam()));
  expect_case_passes(r);
  if (generic_variant_requested()) EXPECT_TRUE(r.generic_kernel) << "CANNON_TUNE=fa.VARIANT=1 did not pick the generic";
}

INSTANTIATE_TEST_SUITE_P(Sampled, FaForward, testing::ValuesIn(kSampled), problem_case_name);
INSTANTIATE_TEST_SUITE_P(Generic, FaForward, testing::ValuesIn(kGenericSubset), problem_case_name);

class FaForwardGenericContext : public testing::TestWithParam<const char*> {};

TEST_P(FaForwardGenericContext, MatchesReference) {
  CaseRun r = run_case(tools::parse_fa_problem(GetParam()), generic_context());
  expect_case_passes(r);
  EXPECT_TRUE(r.generic_kernel) << "a Context with tune fa.VARIANT=1 did not pick the generic variant";
}

INSTANTIATE_TEST_SUITE_P(InProcess, FaForwardGenericContext, testing::ValuesIn(kGenericSubset), problem_case_name);

// The full layout x dtype x GQA product (45 cases); sizes and head dims rotate with the index so each
// dimension value meets each layout and dtype. TND cases get three batches from the same size pairs.
std::vector<tools::FaProblem> grid() {
  const char* const layouts[] = {"BSH", "SBH", "BSND", "BNSD", "TND"};
  const DType dtypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16};
  const int64_t heads[][2] = {{3, 3}, {4, 2}, {8, 1}};  // N1, N2: GQA 1, 2 and 8 (MQA)
  const int64_t pairs[][2] = {{1, 7}, {7, 113}, {113, 7}, {7, 1}, {113, 1}, {1, 113}};
  const int64_t dims[][3][2] = {{{64, 64}, {192, 128}, {59, 59}},   // fp32: Dk, Dv
                                {{64, 64}, {192, 128}, {40, 40}},   // fp16
                                {{64, 64}, {192, 128}, {59, 59}}};  // bf16
  std::vector<tools::FaProblem> problems;
  for (int l = 0; l < 5; ++l) {
    for (int t = 0; t < 3; ++t) {
      for (int g = 0; g < 3; ++g) {
        const int i = static_cast<int>(problems.size());
        tools::FaProblem p;
        p.layout = layouts[l];
        p.dtype = dtypes[t];
        p.n1 = heads[g][0];
        p.n2 = heads[g][1];
        p.dk = dims[t][(l + g) % 3][0];
        p.dv = dims[t][(l + g) % 3][1];
        const int64_t* sizes = pairs[(l + t + g) % 6];
        p.b = 1 + i % 2;
        p.s1 = sizes[0];
        p.s2 = sizes[1];
        if (p.tnd()) {
          const int64_t* other = pairs[(l + t + g + 1) % 6];
          p.seqq = {sizes[0], sizes[0] + other[0], sizes[0] + other[0] + 7};
          p.seqkv = {sizes[1], sizes[1] + other[1], sizes[1] + other[1] + 7};
          p.b = 3;
          p.softmax_layout = i % 2 ? "TND" : "";
        }
        problems.push_back(p);
      }
    }
  }
  return problems;
}

class FaForwardGrid : public testing::TestWithParam<tools::FaProblem> {};

TEST_P(FaForwardGrid, MatchesReference) { expect_case_passes(run_case(GetParam())); }

INSTANTIATE_TEST_SUITE_P(Grid, FaForwardGrid, testing::ValuesIn(grid()),
                         [](const testing::TestParamInfo<tools::FaProblem>& info) {
                           return std::to_string(info.index) + "_" + param_name(tools::to_string(info.param).substr(3));
                         });

// TND batches that are empty, that have query rows but no keys (cannon's rule: out 0, max -FLT_MAX,
// sum +FLT_MAX), that have keys but no query rows, and trailing zeros; each under both softmax layouts.
constexpr const char* kTndEdges[] = {
    "fa:n4g2d=64:layout=TND:dt=fp32:seqq=7,7,120,121,0,0:seqkv=113,113,120,120,0,0",
    "fa:n2g1d=59:layout=TND:dt=bf16:seqq=5,5,118:seqkv=0,3,116",
    "fa:n8g8dk=192dv=128:layout=TND:dt=fp16:seqq=1,1,8,9,0:seqkv=0,7,7,20,0",
};

class FaForwardTnd : public testing::TestWithParam<std::tuple<std::string, std::string>> {};

// Per-batch (first token, q length, kv length) from cumulative ends with trailing zeros.
struct Batch {
  int64_t q_start, q_len, kv_len;
};

std::vector<Batch> batches(const std::vector<int64_t>& cum_q, const std::vector<int64_t>& cum_kv) {
  std::vector<Batch> out;
  int64_t q_end = 0, kv_end = 0;
  for (std::size_t b = 0; b < cum_q.size(); ++b) {
    int64_t q = cum_q[b] == 0 && b > 0 ? q_end : cum_q[b];
    int64_t kv = cum_kv[b] == 0 && b > 0 ? kv_end : cum_kv[b];
    out.push_back({q_end, q - q_end, kv - kv_end});
    q_end = q;
    kv_end = kv;
  }
  return out;
}

TEST_P(FaForwardTnd, EmptyBatchesAndRowsWithoutKeys) {
  tools::FaProblem p = tools::parse_fa_problem(std::get<0>(GetParam()));
  p.softmax_layout = std::get<1>(GetParam());
  CaseRun r = run_case(p);
  expect_case_passes(r);

  // The invalid-row values are checked on the device output directly, not only against the reference.
  const std::vector<double> out = tools::decode_values(r.dev.attention_out);
  const std::vector<double> mx = tools::decode_values(r.dev.softmax_max);
  const std::vector<double> sum = tools::decode_values(r.dev.softmax_sum);
  const int64_t n1 = p.n1, dv = p.dv;
  const bool tnd_stats = p.softmax_layout == "TND";
  int64_t invalid_rows = 0;
  for (const Batch& b : batches(p.cum_seq_q(), p.cum_seq_kv())) {
    for (int64_t i = 0; i < b.q_len; ++i) {
      const int64_t t = b.q_start + i;
      for (int64_t h = 0; h < n1; ++h) {
        const int64_t stat = tnd_stats ? (t * n1 + h) * 8 : (b.q_start * n1 + h * b.q_len + i) * 8;
        for (int lane = 0; lane < 8; ++lane) {
          if (b.kv_len == 0) {
            ASSERT_EQ(mx[stat + lane], -FLT_MAX) << r.repro << " token " << t << " head " << h;
            ASSERT_EQ(sum[stat + lane], FLT_MAX) << r.repro << " token " << t << " head " << h;
          } else {
            ASSERT_GT(mx[stat + lane], -FLT_MAX) << r.repro << " token " << t << " head " << h;
            ASSERT_LT(sum[stat + lane], FLT_MAX) << r.repro << " token " << t << " head " << h;
          }
        }
        if (b.kv_len > 0) continue;
        ++invalid_rows;
        for (int64_t d = 0; d < dv; ++d) ASSERT_EQ(out[(t * n1 + h) * dv + d], 0.0) << r.repro << " token " << t;
      }
    }
  }
  EXPECT_GT(invalid_rows, 0) << "the case should contain query rows without keys";
}

INSTANTIATE_TEST_SUITE_P(
    Edges, FaForwardTnd,
    testing::Combine(testing::ValuesIn(std::vector<std::string>(std::begin(kTndEdges), std::end(kTndEdges))),
                     testing::Values(std::string(), std::string("TND"))),
    [](const testing::TestParamInfo<std::tuple<std::string, std::string>>& info) {
      return std::to_string(info.index) + (std::get<1>(info.param).empty() ? "_stats" : "_statsTND");
    });

}  // namespace
}  // namespace cannon::optest
