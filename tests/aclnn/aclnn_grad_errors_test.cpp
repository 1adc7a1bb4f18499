// FlashAttentionScoreGrad's aclnn entry points on bad input: the checks of CANN's aclnn layer
// (ascend-semantics-backward.md §6.1) and of cannon's plan behind them, each a CANN status with a message naming the
// argument and the rule, and nothing run; the reserved arguments; and dpseOut, which is written only when cannon's
// plan computes a pse gradient.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "aclnn_grad_rig.hpp"

namespace aclnn_test {
namespace {

class AclnnGradErrors : public AclnnApi {};

// Phase 1's status; a made executor is destroyed.
aclnnStatus status(Form form, const Call& c) {
  uint64_t ws = 0;
  aclOpExecutor* ex = nullptr;
  const aclnnStatus s = grad_phase1(form, c, &ws, &ex);
  if (s == ACLNN_SUCCESS) aclDestroyAclOpExecutor(ex);
  return s;
}

// `call` fails with `want` and a message that contains `text`.
void expect_status(Form form, const Call& c, aclnnStatus want, const std::string& text) {
  EXPECT_EQ(status(form, c), want) << text;
  const std::string m = message();
  EXPECT_NE(m.find(text), std::string::npos) << "'" << m << "' does not name " << text;
}

// A tensor of `shape` that differs from `like` in its first dimension.
std::unique_ptr<Dev> reshaped(std::vector<int64_t> like) {
  like[0] += 1;
  return std::make_unique<Dev>(zeros(like), like, ACL_FLOAT);
}

TEST_F(AclnnGradErrors, EveryFormReportsNullAndInvalidArguments) {
  for (Form form : {Form::kV1, Form::kV2, Form::kUnpadding, Form::kUnpaddingV2, Form::kUnpaddingV4}) {
    const bool tnd_form = form != Form::kV1 && form != Form::kV2;
    SCOPED_TRACE(tnd_form ? "TND form " + std::to_string(static_cast<int>(form)) : "BSH form");
    Rig rig(tnd_form ? tnd_problem() : bsh_problem());
    rig.forward(form, stream_);
    const Call base = rig.call(form);
    ASSERT_EQ(status(form, base), ACLNN_SUCCESS) << message();
    // A null and an int8 query, a dqOut of the wrong shape or in host memory, null workspaceSize and executor, and the
    // run call's checks (null executor, another operator's executor, a short workspace).
    expect_errors(
        [&](const aclTensor* first, const aclTensor* out, uint64_t* w, aclOpExecutor** e) {
          Call c = base;
          c.q = first;
          c.dq = out;
          return grad_phase1(form, c, w, e);
        },
        base.q, "query", base.dq, "dqOut", rig.q.shape, rig.q.shape, grad_phase2(form), stream_);
    // Null required tensors, softmaxMax/Sum and attentionIn included ("Optional" in name only).
    const std::pair<const aclTensor * Call::*, const char*> needed[] = {{&Call::k, "keyIn"},
                                                                        {&Call::v, "value"},
                                                                        {&Call::dy, "dy"},
                                                                        {&Call::smax, "softmaxMaxOptional"},
                                                                        {&Call::ssum, "softmaxSumOptional"},
                                                                        {&Call::attn, "attentionInOptional"},
                                                                        {&Call::dk, "dkOut"},
                                                                        {&Call::dv, "dvOut"}};
    for (const auto& [field, name] : needed) {
      Call c = base;
      c.*field = nullptr;
      expect_status(form, c, ACLNN_ERR_PARAM_NULLPTR, name);
    }
    Call c = base;
    c.layout = nullptr;
    expect_status(form, c, ACLNN_ERR_PARAM_NULLPTR, "inputLayout");
    // Shapes that are not the forward's.
    const std::unique_ptr<Dev> dy = reshaped(rig.dy.shape), stats = reshaped(rig.stats_shape);
    c = base;
    c.dy = dy->tensor;
    expect_status(form, c, ACLNN_ERR_PARAM_INVALID, "dy");
    c = base;
    c.smax = stats->tensor;
    expect_status(form, c, ACLNN_ERR_PARAM_INVALID, "softmax_max");
    // Layouts: TND only through the Unpadding forms, and only TND through them; an unknown one.
    std::string other = tnd_form ? "BSND" : "TND", unknown = "BSXD";
    c = base;
    c.layout = &other[0];
    expect_status(form, c, ACLNN_ERR_PARAM_INVALID,
                  tnd_form ? "takes TND" : "TND goes through aclnnFlashAttentionUnpaddingScoreGrad");
    if (!tnd_form) {
      c.layout = &unknown[0];
      expect_status(form, c, ACLNN_ERR_PARAM_INVALID, "input_layout");
    }
    // Dropout needs the forward's mask: aclnn has no seed.
    c = base;
    c.keep_prob = 0.9;
    expect_status(form, c, ACLNN_ERR_PARAM_INVALID, "dropMaskOptional");
    c = base;
    c.heads = 3;
    EXPECT_EQ(status(form, c), ACLNN_ERR_PARAM_INVALID);
    EXPECT_NE(message(), "");
    // Reserved on Ascend: paddingMask and softmaxIn are accepted and never read (here: a host address).
    const float host = 0;
    const int64_t one = 1;
    aclTensor* unread = aclCreateTensor(&one, 1, ACL_FLOAT, &one, 0, ACL_FORMAT_ND, &one, 1, const_cast<float*>(&host));
    c = base;
    c.padding = c.softmax_in = unread;
    EXPECT_EQ(status(form, c), ACLNN_SUCCESS) << message();
    aclDestroyTensor(unread);
    if (form == Form::kUnpaddingV4) {
      std::string tnd_layout = "TND";
      c = base;
      c.softmax_layout = &tnd_layout[0];
      expect_status(form, c, ACLNN_ERR_PARAM_INVALID, "softmaxInLayout");
      c.softmax_layout = nullptr;  // read as "", the layout of this rig's statistics
      EXPECT_EQ(status(form, c), ACLNN_SUCCESS) << message();
    }
  }
}

// dpseOut: Ascend never writes it. cannon writes it only when its plan computes a pse gradient (plan.dpse not
// empty), and then it must be exactly plan.dpse; otherwise it is not looked at, whatever it is.
TEST_F(AclnnGradErrors, DpseOutIsWrittenOnlyWhenCannonComputesIt) {
  Problem p = bsh_problem();
  p.pse_shape = {p.b, p.n1, p.s1, p.s2};
  Rig rig(p);
  rig.forward(Form::kV1, stream_);
  CppTensors cpp;
  const cannon::FlashAttentionScoreGradPlan plan = rig.cpp_plan(cpp, Form::kV1);
  const std::vector<float> pattern(zeros(p.pse_shape).size(), 7.0f);
  Dev dpse(pattern, p.pse_shape, ACL_FLOAT), wrong(pattern, {7}, ACL_FLOAT);
  Call c = rig.call(Form::kV1);
  c.dpse = dpse.tensor;
  uint64_t ws = 0;
  aclOpExecutor* ex = nullptr;
  ASSERT_EQ(grad_phase1(Form::kV1, c, &ws, &ex), ACLNN_SUCCESS) << message();
  run("backward", aclnnFlashAttentionScoreGrad, ws, ex, stream_);
  c.dpse = wrong.tensor;
  if (plan.dpse.numel() == 0) {
    EXPECT_EQ(dpse.read<float>(), pattern);
    EXPECT_EQ(status(Form::kV1, c), ACLNN_SUCCESS) << message();
  } else {
    const cannon::FlashAttentionScoreGradResult want = rig.cpp_grad(cpp, Form::kV1);
    EXPECT_EQ(dpse.read<float>(), CppTensors::download(cpp.ctx, want.dpse));
    expect_status(Form::kV1, c, ACLNN_ERR_PARAM_INVALID, "dpseOut");
  }
  // An empty dpseOut is never written, with or without a pse gradient.
  const int64_t empty_shape[1] = {0};
  aclTensor* empty = aclCreateTensor(empty_shape, 1, ACL_FLOAT, nullptr, 0, ACL_FORMAT_ND, empty_shape, 1, nullptr);
  c.dpse = empty;
  EXPECT_EQ(status(Form::kV1, c), ACLNN_SUCCESS) << message();
  aclDestroyTensor(empty);
}

}  // namespace
}  // namespace aclnn_test
