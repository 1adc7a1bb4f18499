// The backward's aclnn tests' rig: one problem (sizes, layout, dtype, pse, masks, dropout), its inputs made on the
// host and uploaded through aclrtMalloc + aclCreateTensor, the forward run through the aclnn entry point that matches
// the backward form under test (as training does), and every argument of the two calls in one struct, so that a test
// changes a single pointer or attribute and calls again.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "aclnn_test_util.hpp"
#include "aclnnop/aclnn_flash_attention_score.h"
#include "aclnnop/aclnn_flash_attention_score_grad.h"

namespace aclnn_test {

// The backward's entry points, each with the forward whose outputs it takes.
enum class Form { kV1, kV2, kUnpadding, kUnpaddingV2, kUnpaddingV4 };

struct Problem {
  std::string layout = "BSND";
  int64_t b = 1, s1 = 1, s2 = 1, n1 = 1, n2 = 1, d = 16, dv = 16;
  std::vector<int64_t> cum_q, cum_kv;  // TND: cumulative ends
  aclDataType dtype = ACL_FLOAT;
  double scale = 0.3, keep_prob = 1.0;  // keep_prob < 1: a random drop mask
  int64_t pre = INT32_MAX, next = INT32_MAX, sparse_mode = 0, pse_type = 1;
  std::vector<int64_t> pse_shape;   // none when empty; types 2/3 take fp32 slopes
  std::vector<int64_t> mask_shape;  // none when empty: a random bool mask of that shape
  std::vector<int64_t> q_start, kv_start;
  bool ntd_stats = false;      // TND's default softmax layout in CANN's documented [N,T,8] shape
  bool same_as_input = false;  // Unpadding V4's softmaxInLayout "same_as_input" (and the forward's)
};

// BSH, GQA 4:2, odd sequence lengths, S1 < S2, no options.
Problem bsh_problem();
// TND with an empty query sequence in the middle, GQA 4:2.
Problem tnd_problem();

// Host bytes of one tensor.
struct Host {
  std::vector<uint8_t> bytes;
  std::vector<int64_t> shape;
  aclDataType dtype = ACL_FLOAT;
};

// Every argument of the forward and backward calls (attention_out is the forward's output and attentionIn).
struct Call {
  const aclTensor *q = nullptr, *k = nullptr, *v = nullptr, *dy = nullptr, *pse = nullptr, *drop = nullptr,
                  *padding = nullptr, *mask = nullptr, *smax = nullptr, *ssum = nullptr, *softmax_in = nullptr,
                  *attn = nullptr;
  const aclIntArray *prefix = nullptr, *seq_q = nullptr, *seq_kv = nullptr, *q_start = nullptr, *kv_start = nullptr;
  double scale = 1, keep_prob = 1;
  int64_t pre = INT32_MAX, next = INT32_MAX, heads = 0;
  char* layout = nullptr;
  int64_t inner_precise = 0, sparse_mode = 0, pse_type = 1;
  char* softmax_layout = nullptr;  // V4 only
  const aclTensor *dq = nullptr, *dk = nullptr, *dv = nullptr, *dpse = nullptr;
};

aclnnStatus grad_phase1(Form form, const Call& c, uint64_t* ws, aclOpExecutor** ex);
using Phase2 = aclnnStatus (*)(void*, uint64_t, aclOpExecutor*, aclrtStream);
Phase2 grad_phase2(Form form);

// One problem's inputs on the device, its forward's outputs after forward(), zeroed dq/dk/dv, and the call.
class Rig {
 public:
  explicit Rig(const Problem& p);
  ~Rig();
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  // The forward of `form` through aclnn, into attention_out / softmax_max / softmax_sum.
  void forward(Form form, aclrtStream stream);
  // The C++ API's backward of the same inputs (the forward's outputs as aclnn wrote them), and its plan.
  cannon::FlashAttentionScoreGradResult cpp_grad(CppTensors& cpp, Form form) const;
  cannon::FlashAttentionScoreGradPlan cpp_plan(CppTensors& cpp, Form form) const;
  // The backward call of `form`: every argument as the problem has it, outputs dq/dk/dv.
  Call call(Form form);

  const Problem p;
  Host q, k, v, dy, pse, drop, mask;
  std::unique_ptr<Dev> dq, dk, dv, attn, smax, ssum;
  std::vector<int64_t> stats_shape;

 private:
  cannon::FlashAttentionScoreAttrs attrs(Form form) const;
  std::vector<cannon::TensorView> cpp_inputs(CppTensors& cpp) const;
  std::unique_ptr<Dev> q_dev_, k_dev_, v_dev_, dy_dev_, pse_dev_, drop_dev_, mask_dev_;
  aclIntArray *seq_q_ = nullptr, *seq_kv_ = nullptr, *q_start_ = nullptr, *kv_start_ = nullptr;
  char layout_[8] = {}, softmax_layout_[16] = {};
};

}  // namespace aclnn_test
