// plan_masks(): the per-mode band rules of docs/flash_attention_score.md, the rejections Ascend's tiling makes
// (each kParamInvalid, naming the attribute), "no atten_mask means no masking", and the automatic invalid-line
// switch, checked against a brute-force search for rows with no visible key.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "cannon/error.hpp"
#include "host/schedule/band_rule.hpp"

namespace cannon::schedule {
namespace {

using V = std::vector<int64_t>;

MaskAttrs attrs(int64_t mode, int64_t pre, int64_t next, bool varlen = false, V prefix = {}) {
  MaskAttrs a;
  a.has_atten_mask = true;
  a.varlen = varlen;
  a.sparse_mode = mode;
  a.pre_tokens = pre;
  a.next_tokens = next;
  a.prefix = std::move(prefix);
  return a;
}

bool has_empty_row_brute(const BandRule& r, int64_t s1, int64_t s2) {
  for (int64_t i = 0; i < s1; ++i) {
    bool any = false;
    for (int64_t j = 0; j < s2 && !any; ++j) any = r.visible(i, j);
    if (!any) return true;
  }
  return false;
}

TEST(SchedBandRule, NoAttenMaskMeansNoMasking) {
  for (int64_t mode = 0; mode <= 8; ++mode) {
    MaskAttrs a = attrs(mode, -5, -5);  // even rejectable values are ignored, as Ascend ignores them
    a.has_atten_mask = false;
    const MaskPlan p = plan_masks(a, {7, 3}, {4, 9});
    EXPECT_FALSE(p.masked);
    EXPECT_FALSE(p.reads_mask_tensor);
    EXPECT_FALSE(p.invalid_line);
    ASSERT_EQ(p.rules.size(), 2u);
    for (const BandRule& r : p.rules) EXPECT_TRUE(r.visible(6, 0) && r.visible(0, 8));
  }
  MaskAttrs a = attrs(2, 0, 0);
  a.has_atten_mask = false;
  a.inner_precise = 2;
  EXPECT_TRUE(plan_masks(a, {4}, {4}).invalid_line);
}

TEST(SchedBandRule, RulesFollowTheTable) {
  const V s1{3, 5}, s2{7, 4};  // D = 4 and -1
  auto rules = [&](const MaskAttrs& a) { return plan_masks(a, s1, s2).rules; };
  auto r = rules(attrs(0, 6, 2));
  EXPECT_EQ(r[1].pre, 6);
  EXPECT_EQ(r[1].next, 2);
  r = rules(attrs(1, 0, 0));
  EXPECT_EQ(r[0].pre, kUnbounded);
  EXPECT_EQ(r[0].next, kUnbounded);
  EXPECT_EQ(rules(attrs(2, 0, 0))[1].next, 0);
  r = rules(attrs(3, 0, 0));
  EXPECT_EQ(r[0].next, 4);
  EXPECT_EQ(r[1].next, -1);
  r = rules(attrs(4, 2, 1));  // right-down origin -> left-up: pre - D, next + D
  EXPECT_EQ(r[0].pre, -2);
  EXPECT_EQ(r[0].next, 5);
  EXPECT_EQ(r[1].pre, 3);
  EXPECT_EQ(r[1].next, 0);
  r = rules(attrs(6, 0, 0, false, {4, 2}));
  EXPECT_EQ(r[0].next, 4);
  EXPECT_EQ(r[0].prefix, 4);
  EXPECT_EQ(r[1].prefix, 2);
  // Varlen band modes: batch 2 is the last with S1 > 0 (mode 7), batch 1 the first (mode 8).
  const V t1{0, 2, 3, 0}, t2{4, 6, 5, 2};
  r = plan_masks(attrs(7, 100, -1, true), t1, t2).rules;
  EXPECT_EQ(r[1].next, 4);       // D
  EXPECT_EQ(r[2].next, -1 + 2);  // next + D
  r = plan_masks(attrs(8, 100, 1, true), t1, t2).rules;
  EXPECT_EQ(r[1].next, 6 - 1);  // S2 - max(S1 - next, 0)
  EXPECT_EQ(r[2].next, 0);
  EXPECT_EQ(r[2].pre, kUnbounded);
}

TEST(SchedBandRule, ReadsMaskTensorOnlyForModes015) {
  for (int64_t mode = 0; mode <= 6; ++mode) {
    const MaskPlan p = plan_masks(attrs(mode, 100, 100, false, {2, 2}), {3, 3}, {4, 4});
    EXPECT_TRUE(p.masked);
    EXPECT_EQ(p.reads_mask_tensor, mode == 0 || mode == 1 || mode == 5) << mode;
  }
}

struct Rejection {
  const char* what;
  MaskAttrs attrs;
  V s1, s2;
  const char* needle;  // the attribute the message must name
};

TEST(SchedBandRule, RejectsWhatAscendRejects) {
  const std::vector<Rejection> cases = {
      {"mode 7 outside TND", attrs(7, 100, 0), {4}, {4}, "sparse_mode 7"},
      {"mode 8 outside TND", attrs(8, 100, 0), {4}, {4}, "input_layout TND"},
      {"mode 5 in TND", attrs(5, 100, 0, true, {1}), {4}, {4}, "sparse_mode 5"},
      {"mode 0 empty band", attrs(0, -3, 2), {8}, {8}, "pre_tokens and next_tokens"},
      {"mode 0 band right of keys", attrs(0, -8, 20), {8}, {8}, "pre_tokens"},
      {"mode 0 band below queries", attrs(0, 20, -8), {8}, {8}, "next_tokens"},
      {"mode 4 empty band", attrs(4, -5, 2), {8}, {10}, "pre_tokens and next_tokens"},
      {"mode 4 band below queries", attrs(4, 40, -12), {8}, {10}, "next_tokens"},
      {"TND mode 0 next < 0", attrs(0, 5, -1, true), {4}, {4}, "next_tokens"},
      {"TND mode 0 invalid row", attrs(0, 1, 5, true), {6, 2}, {3, 2}, "pre_tokens"},
      {"TND mode 0 empty band", attrs(0, -3, 2, true), {2}, {10}, "pre_tokens + next_tokens"},
      {"TND mode 3 S1 > S2", attrs(3, 0, 0, true), {3, 5}, {3, 4}, "sparse_mode 3"},
      {"TND mode 3 S2 = 0", attrs(3, 0, 0, true), {3, 2}, {3, 0}, "sparse_mode 3"},
      {"TND mode 4 pre < 0", attrs(4, -1, 5, true), {3}, {3}, "pre_tokens"},
      {"TND mode 4 empty band", attrs(4, 2, -3, true), {3}, {3}, "pre_tokens + next_tokens"},
      {"TND mode 4 invalid row", attrs(4, 10, 1, true), {5}, {3}, "next_tokens"},
      {"mode 7 next > 0", attrs(7, 100, 1, true), {2, 4}, {5, 5}, "next_tokens"},
      {"mode 7 pre < S2 last", attrs(7, 4, 0, true), {2, 4, 0}, {5, 5, 9}, "pre_tokens"},
      {"mode 7 next < S1 - S2", attrs(7, 100, -2, true), {2, 4}, {5, 5}, "next_tokens"},
      {"mode 7 other batch S1 > S2", attrs(7, 100, 0, true), {6, 2}, {5, 5}, "S1 6 > S2 5"},
      {"mode 8 pre < S2 first", attrs(8, 3, 0, true), {0, 2, 2}, {9, 4, 4}, "pre_tokens"},
      {"mode 8 next < S1 - S2", attrs(8, 100, 1, true), {0, 6, 2}, {3, 4, 5}, "next_tokens"},
      {"mode 5 no prefix", attrs(5, 0, 0), {4, 4}, {4, 4}, "prefix"},
      {"mode 6 short prefix", attrs(6, 0, 0, false, {1}), {4, 4}, {4, 4}, "prefix"},
      {"mode 6 prefix < S2 - S1", attrs(6, 0, 0, false, {1}), {2}, {5}, "prefix[0]"},
      {"mode 6 prefix > S2", attrs(6, 0, 0, true, {2, 6}), {4, 4}, {4, 5}, "prefix[1]"},
      {"mode 5 prefix > S2", attrs(5, 0, 0, false, {5}), {4}, {4}, "prefix[0]"},
      {"mode 5 prefix < 0", attrs(5, 0, 0, false, {-1}), {4}, {4}, "prefix[0]"},
  };
  for (const Rejection& c : cases) {
    try {
      plan_masks(c.attrs, c.s1, c.s2);
      ADD_FAILURE() << c.what << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kParamInvalid) << c.what;
      EXPECT_NE(std::string(e.what()).find(c.needle), std::string::npos) << c.what << ": " << e.what();
    }
  }
}

TEST(SchedBandRule, AcceptsWhatAscendAccepts) {
  EXPECT_NO_THROW(plan_masks(attrs(0, -2, 5), {8}, {8}));                   // pre < 0 but band inside the matrix
  EXPECT_NO_THROW(plan_masks(attrs(0, 2147483647, 0, true), {6}, {3}));     // TND causal shortcut: not checked
  EXPECT_NO_THROW(plan_masks(attrs(3, 0, 0), {6}, {3}));                    // non-TND: invalid line instead
  EXPECT_NO_THROW(plan_masks(attrs(6, 0, 0, true, {0}), {6}, {3}));         // S1 > S2: prefix 0 allowed
  EXPECT_NO_THROW(plan_masks(attrs(5, 0, 0, false, {0}), {2}, {5}));        // mode 5: [0, S2]
  EXPECT_NO_THROW(plan_masks(attrs(8, 100, 0, true), {2, 6}, {2, 3}));      // mode 8 checks only the band batch
  EXPECT_NO_THROW(plan_masks(attrs(7, 5, 0, true), {6, 4, 0}, {6, 5, 0}));  // empty batches skipped
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  EXPECT_NO_THROW(plan_masks(attrs(4, kMax, kMax), {4}, {4}));  // extreme attributes do not overflow
  EXPECT_THROW(plan_masks(attrs(4, kMin, kMin), {4}, {4}), Error);
}

// invalid_line (inner_precise 0) is on exactly when some non-empty batch has a row with no rule-visible key; and
// in TND, modes 3, 4 and 7 (and 0 outside its causal/all shortcuts) never accept such a row.
TEST(SchedBandRule, InvalidLineIffSomeRowHasNoVisibleKey) {
  int checked = 0;
  for (int64_t mode = 0; mode <= 8; ++mode) {
    for (const bool varlen : {false, true}) {
      for (int64_t a = 1; a <= 9; ++a) {
        for (int64_t b = 1; b <= 9; ++b) {
          for (int64_t pre = -10; pre <= 10; pre += 3) {
            for (int64_t next = -10; next <= 10; next += 3) {
              const V s1 = varlen ? V{a, b % 4, 0} : V{a, a};
              const V s2 = varlen ? V{b, a % 5, 3} : V{b, b};
              const int64_t p0 = (pre + 10) % (b + 1);
              const V prefix = varlen ? V{p0, a % 5, 3} : V{p0, p0};
              MaskPlan p;
              try {
                p = plan_masks(attrs(mode, pre, next, varlen, prefix), s1, s2);
              } catch (const Error& e) {
                ASSERT_EQ(e.status(), Status::kParamInvalid);
                continue;
              }
              bool empty = false;
              for (size_t k = 0; k < s1.size(); ++k) {
                if (s1[k] > 0 && s2[k] > 0) empty = empty || has_empty_row_brute(p.rules[k], s1[k], s2[k]);
              }
              ASSERT_EQ(p.invalid_line, empty) << mode << " " << varlen << " " << a << " " << b << " " << pre;
              const int64_t max_s1 = *std::max_element(s1.begin(), s1.end());
              const bool shortcut =
                  mode == 0 && pre >= max_s1 && (next == 0 || next >= *std::max_element(s2.begin(), s2.end()));
              if (varlen && (mode == 3 || mode == 4 || mode == 7 || (mode == 0 && !shortcut))) {
                ASSERT_FALSE(empty) << mode << " " << a << " " << b << " " << pre << " " << next;
              }
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 5000);
}

}  // namespace
}  // namespace cannon::schedule
