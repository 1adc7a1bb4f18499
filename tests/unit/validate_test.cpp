// FlashAttentionScore validation: each documented constraint is rejected with kParamInvalid (or
// kUnimplemented for later features) and a message naming the argument; valid shapes derive N2/Dk/Dv.
#include <gtest/gtest.h>

#include <string>

#include "cannon/error.hpp"
#include "host/ops/flash_attention_score_problem.hpp"

namespace cannon {
namespace {

FlashAttentionScoreDescs bsnd(int64_t n1, int64_t n2, int64_t dk, int64_t dv, DType dt = DType::kFloat32) {
  return {{dt, {2, 7, n1, dk}}, {dt, {2, 11, n2, dk}}, {dt, {2, 11, n2, dv}}, {}, {}, {}};
}

FlashAttentionScoreAttrs attrs(int64_t heads, const char* layout = "BSND") {
  FlashAttentionScoreAttrs a;
  a.head_num = heads;
  a.input_layout = layout;
  return a;
}

// Expects a rejection whose message contains `needle`.
void expect_error(const FlashAttentionScoreDescs& d, const FlashAttentionScoreAttrs& a, const std::string& needle,
                  Status status = Status::kParamInvalid) {
  try {
    validate_flash_attention_score(d, a, false);
    ADD_FAILURE() << "accepted; expected an error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(FaValidate, DerivesSizesForGqaAndSmallerDv) {
  FaProblem p = validate_flash_attention_score(bsnd(8, 2, 192, 128), attrs(8), false);
  EXPECT_EQ(p.batch, 2);
  EXPECT_EQ(p.n1, 8);
  EXPECT_EQ(p.n2, 2);
  EXPECT_EQ(p.group(), 4);
  EXPECT_EQ(p.s1, 7);
  EXPECT_EQ(p.s2, 11);
  EXPECT_EQ(p.dk, 192);
  EXPECT_EQ(p.dv, 128);
}

TEST(FaValidate, BshSplitsHeadsFromHeadNum) {
  FlashAttentionScoreDescs d{{DType::kBFloat16, {2, 7, 8 * 64}},
                             {DType::kBFloat16, {2, 9, 2 * 64}},
                             {DType::kBFloat16, {2, 9, 2 * 32}},
                             {},
                             {},
                             {}};
  FaProblem p = validate_flash_attention_score(d, attrs(8, "BSH"), false);
  EXPECT_EQ(p.n2, 2);
  EXPECT_EQ(p.dk, 64);
  EXPECT_EQ(p.dv, 32);
  expect_error(d, attrs(7, "BSH"), "head");
}

TEST(FaValidate, RejectsShapeRuleViolations) {
  expect_error(bsnd(8, 3, 64, 64), attrs(8), "N2");              // N1 % N2
  expect_error(bsnd(8, 2, 64, 128), attrs(8), "Dv");             // Dv > Dk
  expect_error(bsnd(8, 2, 64, 64), attrs(4), "head_num");        // head_num != N1
  expect_error(bsnd(8, 2, 800, 800), attrs(8), "exceeds");       // D > 768
  expect_error(bsnd(300, 300, 64, 64), attrs(300), "head_num");  // N1 > 256
  FlashAttentionScoreDescs d = bsnd(8, 2, 64, 64);
  d.key.shape[0] = 3;
  expect_error(d, attrs(8), "batch");
  d = bsnd(8, 2, 64, 64);
  d.value.shape[1] = 12;
  expect_error(d, attrs(8), "value");
  d = bsnd(8, 2, 64, 64);
  d.key.shape[3] = 32;
  expect_error(d, attrs(8), "Dq == Dk");
  d = bsnd(8, 2, 64, 64);
  d.query.shape[1] = 0;
  expect_error(d, attrs(8), "S1");
}

TEST(FaValidate, RejectsDtypeAndAttributeViolations) {
  FlashAttentionScoreDescs d = bsnd(8, 2, 64, 64);
  d.key.dtype = DType::kFloat16;
  expect_error(d, attrs(8), "key: dtype");
  expect_error(bsnd(8, 2, 64, 64, DType::kInt32), attrs(8), "query: dtype");
  expect_error(bsnd(8, 2, 64, 64), attrs(8, "BSDN"), "input_layout");
  FlashAttentionScoreAttrs a = attrs(8);
  a.sparse_mode = 9;
  expect_error(bsnd(8, 2, 64, 64), a, "sparse_mode");
  a = attrs(8);
  a.keep_prob = 1.5;
  expect_error(bsnd(8, 2, 64, 64), a, "keep_prob");
  a = attrs(8);
  a.scale = std::numeric_limits<double>::infinity();
  expect_error(bsnd(8, 2, 64, 64), a, "scale");
  a = attrs(8);
  a.actual_seq_qlen = {7, 14};
  a.actual_seq_kvlen = {11, 22};
  expect_error(bsnd(8, 2, 64, 64), a, "TND");
  a = attrs(8);
  a.softmax_layout = "TND";
  expect_error(bsnd(8, 2, 64, 64), a, "softmax_layout");
}

TEST(FaValidate, AttenMaskDtypeAndShapeFollowTheMode) {
  FlashAttentionScoreDescs d = bsnd(8, 2, 64, 64);
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{7, 11}, {2, 8, 7, 11}, {2, 1, 7, 11}, {1, 1, 7, 11}}) {
    d.atten_mask = TensorDesc{DType::kUInt8, shape};
    EXPECT_NO_THROW(validate_flash_attention_score(d, attrs(8), false));
  }
  d.atten_mask = TensorDesc{DType::kFloat32, {7, 11}};
  expect_error(d, attrs(8), "atten_mask: dtype");
  d.atten_mask = TensorDesc{DType::kBool, {1, 8, 7, 11}};  // not one of Ascend's forms
  expect_error(d, attrs(8), "atten_mask");
  d.atten_mask = TensorDesc{DType::kBool, {7, 12}};
  expect_error(d, attrs(8), "atten_mask");
  FlashAttentionScoreAttrs causal = attrs(8);
  causal.sparse_mode = 2;
  d.atten_mask = TensorDesc{DType::kBool, {7, 11}};  // modes 2-4, 6-8 take the compressed mask
  expect_error(d, causal, "2048");
  d.atten_mask = TensorDesc{DType::kBool, {2048, 2048}};
  EXPECT_NO_THROW(validate_flash_attention_score(d, causal, false));
  causal.sparse_mode = 6;
  causal.prefix = {11, 11};
  expect_error(d, causal, "3072");
}

TEST(FaValidate, PseFormsAndRules) {
  FlashAttentionScoreDescs d = bsnd(8, 2, 64, 64);  // B=2, S1=7, S2=11
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{2, 8, 7, 11}, {1, 8, 7, 11}, {2, 8, 1, 11}, {1, 8, 1, 11}}) {
    d.pse = TensorDesc{DType::kFloat32, shape};
    EXPECT_NO_THROW(validate_flash_attention_score(d, attrs(8), false));
  }
  d.pse = TensorDesc{DType::kFloat16, {2, 8, 7, 11}};
  expect_error(d, attrs(8), "pse: dtype");
  d.pse = TensorDesc{DType::kFloat32, {2, 1, 7, 11}};
  expect_error(d, attrs(8), "pse");
  FlashAttentionScoreAttrs alibi = attrs(8);
  alibi.pse_type = 2;
  d.pse = TensorDesc{DType::kFloat32, {8}};
  expect_error(d, alibi, "S1 == S2");                   // ALiBi needs S1 == S2 (here 7 and 11)
  expect_error(bsnd(8, 2, 64, 64), alibi, "pse_type");  // pse_type 2 without a pse
}

TEST(FaValidate, DropoutRules) {
  FlashAttentionScoreAttrs a = attrs(8);
  for (double kp : {0.0, -0.5, 1.5}) {
    a.keep_prob = kp;
    expect_error(bsnd(8, 2, 64, 64), a, "keep_prob");
  }
  a.keep_prob = 0.9;
  a.offset = -1;
  expect_error(bsnd(8, 2, 64, 64), a, "offset");
  a.offset = 0;
  FlashAttentionScoreDescs d = bsnd(8, 2, 64, 64);
  d.drop_mask = TensorDesc{DType::kUInt8, {(2 * 8 * 7 * 11 + 7) / 8 - 1}};  // one byte short
  expect_error(d, a, "drop_mask");
  d.drop_mask = TensorDesc{DType::kUInt8, {(2 * 8 * 7 * 11 + 7) / 8}};
  EXPECT_EQ(validate_flash_attention_score(d, a, false).dropout.numels, 2 * 8 * 7 * 11);
}

TEST(FaValidate, TndChecksSequenceArrays) {
  FlashAttentionScoreDescs d{
      {DType::kFloat16, {9, 4, 64}}, {DType::kFloat16, {5, 2, 64}}, {DType::kFloat16, {5, 2, 64}}, {}, {}, {}};
  FlashAttentionScoreAttrs a = attrs(4, "TND");
  expect_error(d, a, "actual_seq_qlen");
  a.actual_seq_qlen = {2, 9};
  a.actual_seq_kvlen = {3, 5};
  FaProblem p = validate_flash_attention_score(d, a, false);
  EXPECT_EQ(p.batch, 2);
  EXPECT_EQ(p.seqs.q_len, (std::vector<int64_t>{2, 7}));
  a.actual_seq_kvlen = {3, 6};
  expect_error(d, a, "actual_seq_kvlen");
}

}  // namespace
}  // namespace cannon
