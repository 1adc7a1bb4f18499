// cannon-bench's suite timing (tools/bench/bench_case.hpp): time_interleaved runs one sample of every case per round
// with the order rotated, and median_round_ratio compares cases round by round. Fake samplers stand in for device
// runs, so the order and the arithmetic are checked without a device.
#include <gtest/gtest.h>

#include <vector>

#include "tools/bench/bench_case.hpp"

namespace cannon::tools {
namespace {

TEST(BenchInterleave, RotatesTheOrderAndKeepsSamplesInRoundOrder) {
  std::vector<int> calls;
  std::vector<int> counts(3, 0);
  std::vector<Sampler> samplers;
  for (int i = 0; i < 3; ++i) {
    samplers.push_back(Sampler{nullptr,
                               [i, &calls, &counts] {
                                 calls.push_back(i);
                                 return 10.0 * i + counts[i]++;  // case i's k-th run takes 10·i + k
                               },
                               100.0 + i});
  }
  const std::vector<Timing> t = time_interleaved(samplers, 4);
  EXPECT_EQ(calls, (std::vector<int>{0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2}));
  ASSERT_EQ(t.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t[i].samples, (std::vector<double>{10.0 * i, 10.0 * i + 1, 10.0 * i + 2, 10.0 * i + 3}));
    EXPECT_DOUBLE_EQ(t[i].seconds, 10.0 * i + 1.5);
    EXPECT_DOUBLE_EQ(t[i].work, 100.0 + i);
  }
}

TEST(BenchInterleave, RoundRatiosIgnoreASlowPhaseThatARatioOfMediansDoesNot) {
  // docs/performance.md, "Suites": a slow phase doubled three dense rounds and two causal ones.
  const std::vector<double> dense = {110, 109, 110, 61, 60}, causal = {61, 61, 37, 35, 34};
  EXPECT_NEAR(median_round_ratio(causal, dense), 61.0 / 109.0, 1e-12);  // rounds: .555 .560 .336 .574 .567
  EXPECT_NEAR(median(causal) / median(dense), 37.0 / 109.0, 1e-12);     // what the medians alone would say
  EXPECT_DOUBLE_EQ(median_round_ratio({1, 2, 3}, {0, 4, 4}), 0.625);    // a zero base round is left out
  EXPECT_DOUBLE_EQ(median_round_ratio({}, {}), 0.0);
}

}  // namespace
}  // namespace cannon::tools
