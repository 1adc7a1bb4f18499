// Layout descriptors: logical dims and strides of each layout, output shapes, TND sequence parsing
// (zero-length and trailing-zero batches) and softmax-statistics addressing.
#include <gtest/gtest.h>

#include "cannon/error.hpp"
#include "host/layout/layout.hpp"

namespace cannon {
namespace {

TEST(Layout, ParsesExactNamesOnly) {
  EXPECT_EQ(parse_layout("BSH"), Layout::kBSH);
  EXPECT_EQ(parse_layout("SBH"), Layout::kSBH);
  EXPECT_EQ(parse_layout("BSND"), Layout::kBSND);
  EXPECT_EQ(parse_layout("BNSD"), Layout::kBNSD);
  EXPECT_EQ(parse_layout("TND"), Layout::kTND);
  EXPECT_THROW(parse_layout("bsnd"), Error);
  EXPECT_THROW(parse_layout("NSD"), Error);
}

TEST(Layout, DimsAndContiguousStrides) {
  // B=2, S=5, N=3, D=4 in every dense layout.
  struct Case {
    Layout layout;
    std::vector<int64_t> shape;
    AxisStrides strides;
  };
  const Case cases[] = {
      {Layout::kBSH, {2, 5, 12}, {60, 12, 4, 1}},
      {Layout::kSBH, {5, 2, 12}, {12, 24, 4, 1}},
      {Layout::kBSND, {2, 5, 3, 4}, {60, 12, 4, 1}},
      {Layout::kBNSD, {2, 3, 5, 4}, {60, 4, 20, 1}},
  };
  for (const Case& c : cases) {
    LayoutDims d = layout_dims(c.layout, c.shape, 3, "query");
    EXPECT_EQ(d.batch, 2) << layout_name(c.layout);
    EXPECT_EQ(d.seq, 5) << layout_name(c.layout);
    EXPECT_EQ(d.heads, 3) << layout_name(c.layout);
    EXPECT_EQ(d.dim, 4) << layout_name(c.layout);
    AxisStrides s = axis_strides(c.layout, c.shape, {}, 3, "query");
    EXPECT_EQ(s.batch, c.strides.batch) << layout_name(c.layout);
    EXPECT_EQ(s.seq, c.strides.seq) << layout_name(c.layout);
    EXPECT_EQ(s.head, c.strides.head) << layout_name(c.layout);
    EXPECT_EQ(layout_shape(c.layout, d), c.shape) << layout_name(c.layout);
  }
  AxisStrides t = axis_strides(Layout::kTND, {9, 3, 4}, {}, 3, "query");
  EXPECT_EQ(t.seq, 12);
  EXPECT_EQ(t.head, 4);
  EXPECT_EQ(t.batch, 0);
}

TEST(Layout, UsesGivenStrides) {
  // A BSND view padded in the sequence dimension.
  AxisStrides s = axis_strides(Layout::kBSND, {2, 5, 3, 4}, {100, 20, 4, 1}, 3, "query");
  EXPECT_EQ(s.batch, 100);
  EXPECT_EQ(s.seq, 20);
  EXPECT_THROW(axis_strides(Layout::kBSND, {2, 5, 3, 4}, {60, 12, 1, 3}, 3, "query"), Error);
}

TEST(Layout, RejectsWrongRankAndIndivisibleH) {
  EXPECT_THROW(layout_dims(Layout::kBSND, {2, 5, 12}, 3, "query"), Error);
  EXPECT_THROW(layout_dims(Layout::kBSH, {2, 5, 13}, 3, "query"), Error);
  try {
    layout_dims(Layout::kTND, {2, 5, 3, 4}, 3, "key");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("key"), std::string::npos);
  }
}

TEST(Varlen, CumulativeEndsWithoutLeadingZero) {
  VarlenSeqs s = parse_varlen({2, 4, 4, 6}, {3, 3, 5, 8}, 6, 8);
  EXPECT_EQ(s.q_start, (std::vector<int64_t>{0, 2, 4, 4}));
  EXPECT_EQ(s.q_len, (std::vector<int64_t>{2, 2, 0, 2}));
  EXPECT_EQ(s.kv_start, (std::vector<int64_t>{0, 3, 3, 5}));
  EXPECT_EQ(s.kv_len, (std::vector<int64_t>{3, 0, 2, 3}));
}

TEST(Varlen, TrailingZerosAreEmptyBatches) {
  VarlenSeqs s = parse_varlen({2, 5, 9, 0, 0}, {1, 2, 3, 0, 0}, 9, 3);
  EXPECT_EQ(s.q_len, (std::vector<int64_t>{2, 3, 4, 0, 0}));
  EXPECT_EQ(s.kv_len, (std::vector<int64_t>{1, 1, 1, 0, 0}));
  EXPECT_EQ(s.batches(), 5);
}

TEST(Varlen, RejectsBadArrays) {
  EXPECT_THROW(parse_varlen({}, {}, 0, 0), Error);
  EXPECT_THROW(parse_varlen({2, 4}, {2}, 4, 2), Error);           // lengths differ
  EXPECT_THROW(parse_varlen({4, 2}, {2, 4}, 4, 4), Error);        // decreasing
  EXPECT_THROW(parse_varlen({2, 5}, {2, 4}, 4, 4), Error);        // last != T
  EXPECT_THROW(parse_varlen({2, 3}, {2, 4}, 4, 4), Error);        // last < T
  EXPECT_THROW(parse_varlen({2, 0, 4}, {1, 2, 4}, 4, 4), Error);  // zero before the end
  EXPECT_THROW(parse_varlen({-1, 4}, {2, 4}, 4, 4), Error);
}

TEST(StatAddressing, EveryLayoutForm) {
  StatAddressing dense = stat_addressing(Layout::kBSND, false, 2, 8, 113, 0);
  EXPECT_EQ(dense.base, 2 * 8 * 113);
  EXPECT_EQ(dense.head_stride, 113);
  EXPECT_EQ(dense.row_stride, 1);
  // TND default: per-batch [N1, S1_b] blocks after the rows of earlier batches.
  StatAddressing blocks = stat_addressing(Layout::kTND, false, 1, 4, 3, 5);
  EXPECT_EQ(blocks.base, 5 * 4);
  EXPECT_EQ(blocks.head_stride, 3);
  EXPECT_EQ(blocks.row_stride, 1);
  // TND same_as_input: [T, N1].
  StatAddressing same = stat_addressing(Layout::kTND, true, 1, 4, 3, 5);
  EXPECT_EQ(same.base, 5 * 4);
  EXPECT_EQ(same.head_stride, 1);
  EXPECT_EQ(same.row_stride, 4);
}

}  // namespace
}  // namespace cannon
