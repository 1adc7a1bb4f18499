// Brute-force checks of the reference's masking (atten_mask, sparse_mode 0-8, pre/next tokens, prefix, invalid
// rows). The brute force states each mode in the "masked iff" form of reference/ascend-semantics.md §1.4, not the
// visible-band form the reference uses, so the two readings of the table check each other on every small shape.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "host/reference/flash_attention_score_ref.hpp"
#include "host/reference/rounding.hpp"
#include "host/runtime/convert.hpp"
#include "tests/unit/reference_test_util.hpp"

namespace cannon::reference {
namespace {

constexpr int64_t kMax32 = INT32_MAX;

// A problem: "BNSD" (every batch of length s1[0], s2[0]) or "TND" (per-batch lengths, softmax_layout "TND").
struct MaskCase {
  std::string layout = "BNSD";
  std::vector<int64_t> s1, s2;
  DType dtype = DType::kFloat32;
  int64_t mode = 0, pre = kMax32, next = kMax32, inner_precise = 0;
  std::vector<int64_t> prefix;
  int64_t n1 = 2, n2 = 1, dk = 8, dv = 4;
  int64_t batch() const { return static_cast<int64_t>(s1.size()); }
  bool tnd() const { return layout == "TND"; }
};

std::vector<int64_t> starts(const std::vector<int64_t>& len) {
  std::vector<int64_t> s(len.size() + 1, 0);
  for (size_t b = 0; b < len.size(); ++b) s[b + 1] = s[b] + len[b];
  return s;
}

struct Problem {
  FlashAttentionScoreRefInputs in;
  FlashAttentionScoreAttrs attrs;
};

// Random q, k, v and a random 0/1 mask (about 30% ones) whose row 1 is all ones, so fully masked rows occur.
// Dense masks are [B, N1, S1, S2]; TND masks are [maxS1, maxS2].
Problem build(const MaskCase& c, unsigned seed) {
  std::mt19937 gen(seed);
  Problem p;
  const int64_t b = c.batch(), t1 = starts(c.s1).back(), t2 = starts(c.s2).back();
  if (c.tnd()) {
    p.in.query = random_tensor(c.dtype, {t1, c.n1, c.dk}, gen);
    p.in.key = random_tensor(c.dtype, {t2, c.n2, c.dk}, gen);
    p.in.value = random_tensor(c.dtype, {t2, c.n2, c.dv}, gen);
    const std::vector<int64_t> qs = starts(c.s1), ks = starts(c.s2);
    p.attrs.actual_seq_qlen.assign(qs.begin() + 1, qs.end());
    p.attrs.actual_seq_kvlen.assign(ks.begin() + 1, ks.end());
    p.attrs.softmax_layout = "TND";
  } else {
    p.in.query = random_tensor(c.dtype, {b, c.n1, c.s1[0], c.dk}, gen);
    p.in.key = random_tensor(c.dtype, {b, c.n2, c.s2[0], c.dk}, gen);
    p.in.value = random_tensor(c.dtype, {b, c.n2, c.s2[0], c.dv}, gen);
  }
  const int64_t m1 = *std::max_element(c.s1.begin(), c.s1.end()), m2 = *std::max_element(c.s2.begin(), c.s2.end());
  HostTensor mask{DType::kUInt8, c.tnd() ? std::vector<int64_t>{m1, m2} : std::vector<int64_t>{b, c.n1, m1, m2}, {}};
  std::bernoulli_distribution one(0.3);
  mask.values.resize(mask.numel());
  for (int64_t e = 0; e < mask.numel(); ++e) mask.values[e] = (e / m2) % m1 == 1 || one(gen) ? 1.0 : 0.0;
  p.in.atten_mask = mask;
  p.attrs.input_layout = c.layout;
  p.attrs.head_num = c.n1;
  p.attrs.scale = 0.6;
  p.attrs.sparse_mode = c.mode;
  p.attrs.pre_tokens = c.pre;
  p.attrs.next_tokens = c.next;
  p.attrs.inner_precise = c.inner_precise;
  p.attrs.prefix = c.prefix;
  return p;
}

// The semantics file's "effective mask" column: true when the mode's rule leaves (i, j) out.
bool rule_masks(const MaskCase& c, int64_t b, int64_t band_batch, int64_t i, int64_t j) {
  const int64_t s1 = c.s1[b], s2 = c.s2[b], d = s2 - s1;
  switch (c.mode) {
    case 0:
      return j - i > c.next || i - j > c.pre;
    case 1:
      return false;
    case 2:
      return j - i > 0;
    case 3:
      return j - i > d;
    case 4:
      return j - i > c.next + d || i - j > c.pre - d;
    case 5:
    case 6:
      return j - i > d && j >= c.prefix[b];
    case 7:
      return j - i > (b == band_batch ? c.next + d : d);
    default:
      return j - i > (b == band_batch ? s2 - std::max<int64_t>(s1 - c.next, 0) : 0);
  }
}

struct Seen {
  int invalid_rows = 0, fully_masked_mean_rows = 0, partial_rows = 0;
};

// The expected outputs, laid out as the reference lays them out.
FlashAttentionScoreRefOutputs brute(const Problem& p, const MaskCase& c, Seen& seen) {
  const int64_t nb = c.batch();
  const bool tnd = c.tnd(), reads = c.mode == 0 || c.mode == 1 || c.mode == 5;
  const std::vector<int64_t> qs = starts(c.s1), ks = starts(c.s2);
  int64_t band_batch = -1;  // mode 7: last batch with queries; mode 8: the first
  for (int64_t b = 0; b < nb; ++b)
    if (c.s1[b] > 0 && (band_batch < 0 || c.mode == 7)) band_batch = b;
  bool invalid_line = c.inner_precise == 2 || c.inner_precise == 3;
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t i = 0; i < c.s1[b] && c.s2[b] > 0; ++i) {
      bool any = false;
      for (int64_t j = 0; j < c.s2[b]; ++j) any = any || !rule_masks(c, b, band_batch, i, j);
      invalid_line = invalid_line || !any;
    }
  const HostTensor& mask = *p.in.atten_mask;
  const int64_t t1 = tnd ? qs.back() : nb * c.s1[0];
  FlashAttentionScoreRefOutputs r;
  r.attention_out.values.assign(t1 * c.n1 * c.dv, 0.0);
  r.softmax_max.values.assign(t1 * c.n1 * 8, 0.0);
  r.softmax_sum = r.softmax_max;
  const bool round_p = c.dtype != DType::kFloat32;
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t n = 0; n < c.n1; ++n)
      for (int64_t i = 0; i < c.s1[b]; ++i) {
        const int64_t n2 = n / (c.n1 / c.n2);
        const int64_t q = tnd ? (qs[b] + i) * c.n1 + n : (b * c.n1 + n) * c.s1[0] + i;  // row of out and stats
        auto kv = [&](int64_t j) { return tnd ? (ks[b] + j) * c.n2 + n2 : (b * c.n2 + n2) * c.s2[0] + j; };
        std::vector<double> s;
        std::vector<int64_t> cols;
        for (int64_t j = 0; j < c.s2[b]; ++j) {
          if (rule_masks(c, b, band_batch, i, j)) continue;
          const double m = tnd ? mask.values[i * mask.shape[1] + j] : mask.values[q * c.s2[0] + j];
          double dot = 0;
          for (int64_t d = 0; d < c.dk; ++d) dot += p.in.query.values[q * c.dk + d] * p.in.key.values[kv(j) * c.dk + d];
          s.push_back(reads && m != 0 ? -FLT_MAX : 0.6 * dot);
          cols.push_back(j);
        }
        const double mx = s.empty() ? -FLT_MAX : *std::max_element(s.begin(), s.end());
        double mx_out = -FLT_MAX, sum_out = FLT_MAX;
        if (!s.empty() && !(invalid_line && mx == -FLT_MAX)) {
          double l = 0;
          for (double x : s) l += std::exp(x - mx);
          for (int64_t d = 0; d < c.dv; ++d) {
            double acc = 0;
            for (size_t k = 0; k < s.size(); ++k) {
              const double e = std::exp(s[k] - mx);
              acc += (round_p ? round_ties_away(c.dtype, e) : e) * p.in.value.values[kv(cols[k]) * c.dv + d];
            }
            r.attention_out.values[q * c.dv + d] = acc / l;
          }
          mx_out = mx;
          sum_out = l;
          ++(mx == -FLT_MAX ? seen.fully_masked_mean_rows : seen.partial_rows);
        } else {
          ++seen.invalid_rows;
        }
        std::fill_n(r.softmax_max.values.begin() + q * 8, 8, mx_out);
        std::fill_n(r.softmax_sum.values.begin() + q * 8, 8, sum_out);
      }
  return r;
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tol, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t e = 0; e < got.size(); ++e) {
    if (std::abs(want[e]) == FLT_MAX) {
      ASSERT_EQ(got[e], want[e]) << what << " element " << e;
    } else {
      ASSERT_NEAR(got[e], want[e], tol * std::max(1.0, std::abs(want[e]))) << what << " element " << e;
    }
  }
}

void check(const MaskCase& c, unsigned seed, Seen& seen) {
  SCOPED_TRACE(c.layout + " mode " + std::to_string(c.mode) + " pre " + std::to_string(c.pre) + " next " +
               std::to_string(c.next) + " inner_precise " + std::to_string(c.inner_precise) + " S1[0] " +
               std::to_string(c.s1[0]) + " S2[0] " + std::to_string(c.s2[0]) + " prefix[0] " +
               (c.prefix.empty() ? "-" : std::to_string(c.prefix[0])));
  const Problem p = build(c, seed);
  const FlashAttentionScoreRefOutputs got = flash_attention_score(p.in, p.attrs);
  const FlashAttentionScoreRefOutputs want = brute(p, c, seen);
  expect_close(got.attention_out.values, want.attention_out.values, 1e-12, "attention_out");
  expect_close(got.softmax_max.values, want.softmax_max.values, 1e-12, "softmax_max");
  expect_close(got.softmax_sum.values, want.softmax_sum.values, 1e-12, "softmax_sum");
}

const std::vector<std::pair<int64_t, int64_t>> kPreNext = {{kMax32, kMax32}, {2, 1}, {-1, 3}, {4, -2}, {0, 0}, {1, 6}};

TEST(FaRefMask, EveryModeMatchesBruteForceOnDenseShapes) {
  Seen seen;
  unsigned seed = 100;
  for (int64_t mode = 0; mode <= 8; ++mode)
    for (auto [s1, s2] : std::vector<std::pair<int64_t, int64_t>>{{5, 9}, {7, 7}, {9, 5}})
      for (auto [pre, next] : kPreNext)
        for (int64_t inner_precise : {0, 2})
          for (const std::vector<int64_t>& prefix : {std::vector<int64_t>{0, 3}, std::vector<int64_t>{s2, 1}}) {
            if (mode != 5 && mode != 6 && prefix[0] != 0) continue;
            MaskCase c;
            c.s1 = {s1, s1};
            c.s2 = {s2, s2};
            c.mode = mode;
            c.pre = pre;
            c.next = next;
            c.inner_precise = inner_precise;
            c.prefix = prefix;
            check(c, ++seed, seen);
          }
  // The sweep really reaches each kind of row.
  EXPECT_GT(seen.invalid_rows, 100);
  EXPECT_GT(seen.fully_masked_mean_rows, 20);
  EXPECT_GT(seen.partial_rows, 1000);
}

TEST(FaRefMask, EveryModeMatchesBruteForceOnTndBatches) {
  // Lengths with empty batches, a batch with queries but no keys, S1_b < S2_b, = and >. Mode 8's band batch is
  // batch 1 (batch 0 has no queries) and mode 7's is batch 4 (batch 5 has none).
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> lengths = {
      {{0, 3, 5, 2, 4, 0}, {2, 6, 5, 0, 3, 3}}, {{2, 4, 3}, {5, 4, 6}}, {{6, 1}, {6, 7}}};
  Seen seen;
  unsigned seed = 2000;
  for (int64_t mode = 0; mode <= 8; ++mode)
    for (const auto& [s1, s2] : lengths)
      for (auto [pre, next] : kPreNext)
        for (int64_t inner_precise : {0, 3}) {
          MaskCase c;
          c.layout = "TND";
          c.s1 = s1;
          c.s2 = s2;
          c.mode = mode;
          c.pre = pre;
          c.next = next;
          c.inner_precise = inner_precise;
          c.prefix.assign(s1.size(), 0);
          for (size_t b = 0; b < s1.size(); ++b) c.prefix[b] = static_cast<int64_t>(b % 3);
          check(c, ++seed, seen);
        }
  EXPECT_GT(seen.invalid_rows, 100);
  EXPECT_GT(seen.fully_masked_mean_rows, 5);
  EXPECT_GT(seen.partial_rows, 1000);
}

TEST(FaRefMask, SixteenBitInputsRoundPWithMasks) {
  Seen seen;
  unsigned seed = 5000;
  for (DType dtype : {DType::kFloat16, DType::kBFloat16})
    for (int64_t mode : {0, 1, 3, 4, 5})
      for (int64_t inner_precise : {0, 2}) {
        MaskCase c;
        c.s1 = {6};
        c.s2 = {11};
        c.dtype = dtype;
        c.mode = mode;
        c.pre = 3;
        c.next = 2;
        c.inner_precise = inner_precise;
        c.prefix = {2};
        check(c, ++seed, seen);
      }
  EXPECT_GT(seen.fully_masked_mean_rows, 0);
}

}  // namespace
}  // namespace cannon::reference
