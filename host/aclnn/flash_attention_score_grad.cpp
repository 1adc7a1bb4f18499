// aclnnFlashAttentionScoreGrad[V2] and aclnnFlashAttentionUnpaddingScoreGrad[V2, V4] (include/aclnnop/
// aclnn_flash_attention_score_grad.h) over cannon's plan_/run_flash_attention_score_grad: the arguments become the
// C++ descriptions and the forward's attributes (flash_attention_attrs.hpp), phase 1 plans, phase 2 enqueues.
#include "aclnnop/aclnn_flash_attention_score_grad.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cannon/flash_attention_score_grad.hpp"
#include "host/aclnn/flash_attention_attrs.hpp"
#include "host/aclnn/objects.hpp"
#include "host/ops/convenience.hpp"
#include "host/runtime/check.hpp"

namespace cannon::aclnn {
namespace {

// The tensor inputs of every form, in their C order.
struct FagInputs {
  const aclTensor *query, *key, *value, *dy, *pse, *drop_mask, *padding_mask, *atten_mask, *softmax_max, *softmax_sum,
      *softmax_in, *attention_in;
};

struct FagOutputs {
  const aclTensor *dq, *dk, *dv, *dpse;
};

// dpseOut. Ascend documents it as unused and never writes it (ascend-semantics-backward.md §3.6). cannon's run
// computes the pse gradient when handed a dpse view, and its plan says when it can: a non-empty plan.dpse (pse_type
// 0/1 with a pse). Only then, and only for a non-null dpseOut with elements, is dpseOut resolved and written, and it
// must be exactly plan.dpse, contiguous. Otherwise it is not looked at and stays untouched, so a caller's placeholder
// (null, empty, or anything else) is accepted as on Ascend. This is the one place that decides it.
std::optional<TensorView> dpse_output(Inputs& in, const aclTensor* dpse, const FlashAttentionScoreGradPlan& plan) {
  if (!dpse || plan.dpse.numel() == 0) return std::nullopt;
  if (std::find(dpse->view.begin(), dpse->view.end(), 0) != dpse->view.end()) return std::nullopt;
  return in.output(dpse, plan.dpse, "dpseOut");
}

aclnnStatus fag_workspace(const char* op, const FagInputs& c, const FaAttrArgs& attrs, const FagOutputs& o,
                          uint64_t* workspace_size, aclOpExecutor** executor) {
  return aclnn_call((std::string(op) + "GetWorkspaceSize").c_str(), [&] {
    // Every tensor the backward needs is checked for null first, as Ascend's aclnn layer does. softmaxMax/Sum and
    // attentionIn are "Optional" in name only: they are the forward's outputs the gradient is computed from.
    const std::pair<const aclTensor*, const char*> needed[] = {{c.query, "query"},
                                                               {c.key, "keyIn"},
                                                               {c.value, "value"},
                                                               {c.dy, "dy"},
                                                               {c.softmax_max, "softmaxMaxOptional"},
                                                               {c.softmax_sum, "softmaxSumOptional"},
                                                               {c.attention_in, "attentionInOptional"},
                                                               {o.dq, "dqOut"},
                                                               {o.dk, "dkOut"},
                                                               {o.dv, "dvOut"}};
    for (const auto& [tensor, what] : needed) {
      if (!tensor) fail(Status::kParamNullptr, "{}: null; the backward needs it", what);
    }
    Inputs in;
    FlashAttentionScoreGradTensors t;
    t.query = in.tensor(c.query, "query");
    t.key = in.tensor(c.key, "keyIn");
    t.value = in.tensor(c.value, "value");
    t.dy = in.tensor(c.dy, "dy");
    t.pse = in.optional(c.pse, "pseShiftOptional");
    t.drop_mask = in.optional(c.drop_mask, "dropMaskOptional");
    t.atten_mask = in.optional(c.atten_mask, "attenMaskOptional");
    t.attention_in = in.tensor(c.attention_in, "attentionInOptional");
    (void)c.padding_mask;  // reserved on Ascend: accepted and not read
    (void)c.softmax_in;    // reserved on Ascend: accepted and not read
    const FlashAttentionScoreAttrs a =
        fa_attrs(attrs, op, "aclnnFlashAttentionUnpaddingScoreGrad", "softmaxInLayout", c.drop_mask != nullptr);
    // The forward's statistics as its plan shapes them ([T,N1,8] for TND), or, for TND's default layout, in CANN's
    // documented [N,T,8] shape, which the forward's entry points also take for their outputs.
    std::vector<int64_t> stats;
    if (t.query.desc.shape.size() == 3) stats = {t.query.desc.shape[0], t.query.desc.shape[1], 8};
    const std::vector<int64_t> alias = ntd_alias(a, stats);
    t.softmax_max = in.tensor_as(c.softmax_max, "softmaxMaxOptional", stats, alias);
    t.softmax_sum = in.tensor_as(c.softmax_sum, "softmaxSumOptional", stats, alias);

    const Context& ctx = in.context();
    const FlashAttentionScoreGradPlan plan = plan_flash_attention_score_grad(
        ctx,
        {t.query.desc, t.key.desc, t.value.desc, t.dy.desc, desc_of(t.pse), desc_of(t.drop_mask), desc_of(t.atten_mask),
         t.softmax_max.desc, t.softmax_sum.desc, t.attention_in.desc},
        a);
    t.dq = in.output(o.dq, plan.dq, "dqOut");
    t.dk = in.output(o.dk, plan.dk, "dkOut");
    t.dv = in.output(o.dv, plan.dv, "dvOut");
    t.dpse = dpse_output(in, o.dpse, plan);
    in.finish(op, plan.workspace_size, workspace_size, executor,
              [ctx, plan, t](cl_mem workspace, const Stream& stream) {
                run_flash_attention_score_grad(ctx, plan, t, workspace, stream);
              });
  });
}

}  // namespace
}  // namespace cannon::aclnn

using cannon::aclnn::fag_workspace;
using cannon::aclnn::run_executor;

extern "C" {

aclnnStatus aclnnFlashAttentionScoreGradGetWorkspaceSize(
    const aclTensor* query, const aclTensor* keyIn, const aclTensor* value, const aclTensor* dy,
    const aclTensor* pseShiftOptional, const aclTensor* dropMaskOptional, const aclTensor* paddingMaskOptional,
    const aclTensor* attenMaskOptional, const aclTensor* softmaxMaxOptional, const aclTensor* softmaxSumOptional,
    const aclTensor* softmaxInOptional, const aclTensor* attentionInOptional, const aclIntArray* prefixOptional,
    double scaleValue, double keepProb, int64_t preTokens, int64_t nextTokens, int64_t headNum, char* inputLayout,
    int64_t innerPrecise, int64_t sparseMode, const aclTensor* dqOut, const aclTensor* dkOut, const aclTensor* dvOut,
    const aclTensor* dpseOut, uint64_t* workspaceSize, aclOpExecutor** executor) {
  // V1 has no pseType: pseShift is added before the scale, Ascend's default (pse_type 1), as in the forward's V1.
  return fag_workspace(
      "aclnnFlashAttentionScoreGrad",
      {query, keyIn, value, dy, pseShiftOptional, dropMaskOptional, paddingMaskOptional, attenMaskOptional,
       softmaxMaxOptional, softmaxSumOptional, softmaxInOptional, attentionInOptional},
      {prefixOptional, nullptr, nullptr, nullptr, nullptr, scaleValue, keepProb, preTokens, nextTokens, headNum,
       inputLayout, innerPrecise, sparseMode, 1, nullptr, false},
      {dqOut, dkOut, dvOut, dpseOut}, workspaceSize, executor);
}

aclnnStatus aclnnFlashAttentionScoreGrad(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                         const aclrtStream stream) {
  return run_executor("aclnnFlashAttentionScoreGrad", workspace, workspaceSize, executor, stream);
}

aclnnStatus aclnnFlashAttentionScoreGradV2GetWorkspaceSize(
    const aclTensor* query, const aclTensor* keyIn, const aclTensor* value, const aclTensor* dy,
    const aclTensor* pseShiftOptional, const aclTensor* dropMaskOptional, const aclTensor* paddingMaskOptional,
    const aclTensor* attenMaskOptional, const aclTensor* softmaxMaxOptional, const aclTensor* softmaxSumOptional,
    const aclTensor* softmaxInOptional, const aclTensor* attentionInOptional, const aclIntArray* prefixOptional,
    const aclIntArray* qStartIdxOptional, const aclIntArray* kvStartIdxOptional, double scaleValue, double keepProb,
    int64_t preTokens, int64_t nextTokens, int64_t headNum, char* inputLayout, int64_t innerPrecise, int64_t sparseMode,
    int64_t pseType, const aclTensor* dqOut, const aclTensor* dkOut, const aclTensor* dvOut, const aclTensor* dpseOut,
    uint64_t* workspaceSize, aclOpExecutor** executor) {
  return fag_workspace(
      "aclnnFlashAttentionScoreGradV2",
      {query, keyIn, value, dy, pseShiftOptional, dropMaskOptional, paddingMaskOptional, attenMaskOptional,
       softmaxMaxOptional, softmaxSumOptional, softmaxInOptional, attentionInOptional},
      {prefixOptional, nullptr, nullptr, qStartIdxOptional, kvStartIdxOptional, scaleValue, keepProb, preTokens,
       nextTokens, headNum, inputLayout, innerPrecise, sparseMode, pseType, nullptr, false},
      {dqOut, dkOut, dvOut, dpseOut}, workspaceSize, executor);
}

aclnnStatus aclnnFlashAttentionScoreGradV2(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                           const aclrtStream stream) {
  return run_executor("aclnnFlashAttentionScoreGradV2", workspace, workspaceSize, executor, stream);
}

aclnnStatus aclnnFlashAttentionUnpaddingScoreGradGetWorkspaceSize(
    const aclTensor* query, const aclTensor* keyIn, const aclTensor* value, const aclTensor* dy,
    const aclTensor* pseShiftOptional, const aclTensor* dropMaskOptional, const aclTensor* paddingMaskOptional,
    const aclTensor* attenMaskOptional, const aclTensor* softmaxMaxOptional, const aclTensor* softmaxSumOptional,
    const aclTensor* softmaxInOptional, const aclTensor* attentionInOptional, const aclIntArray* prefixOptional,
    const aclIntArray* actualSeqQLenOptional, const aclIntArray* actualSeqKvLenOptional, double scaleValue,
    double keepProb, int64_t preTokens, int64_t nextTokens, int64_t headNum, char* inputLayout, int64_t innerPrecise,
    int64_t sparseMode, const aclTensor* dqOut, const aclTensor* dkOut, const aclTensor* dvOut,
    const aclTensor* dpseOut, uint64_t* workspaceSize, aclOpExecutor** executor) {
  return fag_workspace(
      "aclnnFlashAttentionUnpaddingScoreGrad",
      {query, keyIn, value, dy, pseShiftOptional, dropMaskOptional, paddingMaskOptional, attenMaskOptional,
       softmaxMaxOptional, softmaxSumOptional, softmaxInOptional, attentionInOptional},
      {prefixOptional, actualSeqQLenOptional, actualSeqKvLenOptional, nullptr, nullptr, scaleValue, keepProb, preTokens,
       nextTokens, headNum, inputLayout, innerPrecise, sparseMode, 1, nullptr, true},
      {dqOut, dkOut, dvOut, dpseOut}, workspaceSize, executor);
}

aclnnStatus aclnnFlashAttentionUnpaddingScoreGrad(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                                  const aclrtStream stream) {
  return run_executor("aclnnFlashAttentionUnpaddingScoreGrad", workspace, workspaceSize, executor, stream);
}

aclnnStatus aclnnFlashAttentionUnpaddingScoreGradV2GetWorkspaceSize(
    const aclTensor* query, const aclTensor* keyIn, const aclTensor* value, const aclTensor* dy,
    const aclTensor* pseShiftOptional, const aclTensor* dropMaskOptional, const aclTensor* paddingMaskOptional,
    const aclTensor* attenMaskOptional, const aclTensor* softmaxMaxOptional, const aclTensor* softmaxSumOptional,
    const aclTensor* softmaxInOptional, const aclTensor* attentionInOptional, const aclIntArray* prefixOptional,
    const aclIntArray* actualSeqQLenOptional, const aclIntArray* actualSeqKvLenOptional,
    const aclIntArray* qStartIdxOptional, const aclIntArray* kvStartIdxOptional, double scaleValue, double keepProb,
    int64_t preTokens, int64_t nextTokens, int64_t headNum, char* inputLayout, int64_t innerPrecise, int64_t sparseMode,
    int64_t pseType, const aclTensor* dqOut, const aclTensor* dkOut, const aclTensor* dvOut, const aclTensor* dpseOut,
    uint64_t* workspaceSize, aclOpExecutor** executor) {
  return fag_workspace(
      "aclnnFlashAttentionUnpaddingScoreGradV2",
      {query, keyIn, value, dy, pseShiftOptional, dropMaskOptional, paddingMaskOptional, attenMaskOptional,
       softmaxMaxOptional, softmaxSumOptional, softmaxInOptional, attentionInOptional},
      {prefixOptional, actualSeqQLenOptional, actualSeqKvLenOptional, qStartIdxOptional, kvStartIdxOptional, scaleValue,
       keepProb, preTokens, nextTokens, headNum, inputLayout, innerPrecise, sparseMode, pseType, nullptr, true},
      {dqOut, dkOut, dvOut, dpseOut}, workspaceSize, executor);
}

aclnnStatus aclnnFlashAttentionUnpaddingScoreGradV2(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                                    const aclrtStream stream) {
  return run_executor("aclnnFlashAttentionUnpaddingScoreGradV2", workspace, workspaceSize, executor, stream);
}

aclnnStatus aclnnFlashAttentionUnpaddingScoreGradV4GetWorkspaceSize(
    const aclTensor* query, const aclTensor* keyIn, const aclTensor* value, const aclTensor* dy,
    const aclTensor* pseShiftOptional, const aclTensor* dropMaskOptional, const aclTensor* paddingMaskOptional,
    const aclTensor* attenMaskOptional, const aclTensor* softmaxMaxOptional, const aclTensor* softmaxSumOptional,
    const aclTensor* softmaxInOptional, const aclTensor* attentionInOptional, const aclIntArray* prefixOptional,
    const aclIntArray* actualSeqQLenOptional, const aclIntArray* actualSeqKvLenOptional, double scaleValue,
    double keepProb, int64_t preTokens, int64_t nextTokens, int64_t headNum, char* inputLayout, int64_t innerPrecise,
    int64_t sparseMode, const aclTensor* dqOut, const aclTensor* dkOut, const aclTensor* dvOut,
    const aclTensor* dpseOut, char* softmaxInLayout, uint64_t* workspaceSize, aclOpExecutor** executor) {
  // A null softmaxInLayout reads as "", as the forward's V4 reads a null softmaxOutLayout.
  return fag_workspace(
      "aclnnFlashAttentionUnpaddingScoreGradV4",
      {query, keyIn, value, dy, pseShiftOptional, dropMaskOptional, paddingMaskOptional, attenMaskOptional,
       softmaxMaxOptional, softmaxSumOptional, softmaxInOptional, attentionInOptional},
      {prefixOptional, actualSeqQLenOptional, actualSeqKvLenOptional, nullptr, nullptr, scaleValue, keepProb, preTokens,
       nextTokens, headNum, inputLayout, innerPrecise, sparseMode, 1, softmaxInLayout ? softmaxInLayout : "", true},
      {dqOut, dkOut, dvOut, dpseOut}, workspaceSize, executor);
}

aclnnStatus aclnnFlashAttentionUnpaddingScoreGradV4(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                                    const aclrtStream stream) {
  return run_executor("aclnnFlashAttentionUnpaddingScoreGradV4", workspace, workspaceSize, executor, stream);
}

}  // extern "C"
