// aclnnFlashAttentionScore[V2] and aclnnFlashAttentionVarLenScore[V2, V4] (include/aclnnop/
// aclnn_flash_attention_score.h) over cannon's plan_/run_flash_attention_score: the arguments become the C++
// descriptions and attributes, phase 1 plans, phase 2 enqueues. Where aclnn differs from torch_npu's call it says so.
#include "aclnnop/aclnn_flash_attention_score.h"

#include "cannon/flash_attention_score.hpp"
#include "host/aclnn/flash_attention_attrs.hpp"
#include "host/aclnn/objects.hpp"
#include "host/ops/convenience.hpp"

namespace cannon::aclnn {
namespace {

// One GetWorkspaceSize call of the family; absent arguments of the older forms stay null / defaults.
struct FaCall {
  const char* op;
  const aclTensor *query, *key, *value, *real_shift, *drop_mask, *padding_mask, *atten_mask;
  FaAttrArgs attrs;
  const aclTensor *softmax_max, *softmax_sum, *softmax_out, *attention_out;
  uint64_t* workspace_size;
  aclOpExecutor** executor;
};

aclnnStatus fa_workspace(const FaCall& c) {
  return aclnn_call((std::string(c.op) + "GetWorkspaceSize").c_str(), [&] {
    Inputs in;
    FlashAttentionScoreTensors t;
    t.query = in.tensor(c.query, "query");
    t.key = in.tensor(c.key, "key");
    t.value = in.tensor(c.value, "value");
    t.pse = in.optional(c.real_shift, "realShiftOptional");
    t.drop_mask = in.optional(c.drop_mask, "dropMaskOptional");
    t.atten_mask = in.optional(c.atten_mask, "attenMaskOptional");
    (void)c.padding_mask;  // reserved on Ascend: accepted and not read
    const FlashAttentionScoreAttrs a =
        fa_attrs(c.attrs, c.op, "aclnnFlashAttentionVarLenScore", "softmaxOutLayout", c.drop_mask != nullptr);

    const Context& ctx = in.context();
    const FlashAttentionScorePlan plan = plan_flash_attention_score(
        ctx, {t.query.desc, t.key.desc, t.value.desc, desc_of(t.pse), desc_of(t.drop_mask), desc_of(t.atten_mask)}, a);
    // TND's default softmax layout is also taken in CANN's documented [N,T,8] shape.
    const std::vector<int64_t> alias = ntd_alias(a, plan.softmax_max.shape);
    t.softmax_max = in.output(c.softmax_max, plan.softmax_max, "softmaxMaxOut", alias);
    t.softmax_sum = in.output(c.softmax_sum, plan.softmax_sum, "softmaxSumOut", alias);
    t.attention_out = in.output(c.attention_out, plan.attention_out, "attentionOutOut");
    (void)c.softmax_out;  // reserved on Ascend: may be null, never written
    in.finish(c.op, plan.workspace_size, c.workspace_size, c.executor,
              [ctx, plan, t](cl_mem workspace, const Stream& stream) {
                run_flash_attention_score(ctx, plan, t, workspace, stream);
              });
  });
}

}  // namespace
}  // namespace cannon::aclnn

using cannon::aclnn::fa_workspace;
using cannon::aclnn::FaCall;
using cannon::aclnn::run_executor;

extern "C" {

aclnnStatus aclnnFlashAttentionScoreGetWorkspaceSize(
    const aclTensor* query, const aclTensor* key, const aclTensor* value, const aclTensor* realShiftOptional,
    const aclTensor* dropMaskOptional, const aclTensor* paddingMaskOptional, const aclTensor* attenMaskOptional,
    const aclIntArray* prefixOptional, double scaleValue, double keepProb, int64_t preTokens, int64_t nextTokens,
    int64_t headNum, char* inputLayout, int64_t innerPrecise, int64_t sparseMode, const aclTensor* softmaxMaxOut,
    const aclTensor* softmaxSumOut, const aclTensor* softmaxOutOut, const aclTensor* attentionOutOut,
    uint64_t* workspaceSize, aclOpExecutor** executor) {
  // V1 has no pseType: realShift is added before the scale, Ascend's default (pse_type 1).
  return fa_workspace({"aclnnFlashAttentionScore",
                       query,
                       key,
                       value,
                       realShiftOptional,
                       dropMaskOptional,
                       paddingMaskOptional,
                       attenMaskOptional,
                       {prefixOptional, nullptr, nullptr, nullptr, nullptr, scaleValue, keepProb, preTokens, nextTokens,
                        headNum, inputLayout, innerPrecise, sparseMode, 1, nullptr, false},
                       softmaxMaxOut,
                       softmaxSumOut,
                       softmaxOutOut,
                       attentionOutOut,
                       workspaceSize,
                       executor});
}

aclnnStatus aclnnFlashAttentionScore(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                     const aclrtStream stream) {
  return run_executor("aclnnFlashAttentionScore", workspace, workspaceSize, executor, stream);
}

aclnnStatus aclnnFlashAttentionScoreV2GetWorkspaceSize(
    const aclTensor* query, const aclTensor* key, const aclTensor* value, const aclTensor* realShiftOptional,
    const aclTensor* dropMaskOptional, const aclTensor* paddingMaskOptional, const aclTensor* attenMaskOptional,
    const aclIntArray* prefixOptional, const aclIntArray* qStartIdxOptional, const aclIntArray* kvStartIdxOptional,
    double scaleValue, double keepProb, int64_t preTokens, int64_t nextTokens, int64_t headNum, char* inputLayout,
    int64_t innerPrecise, int64_t sparseMode, int64_t pseType, const aclTensor* softmaxMaxOut,
    const aclTensor* softmaxSumOut, const aclTensor* softmaxOutOut, const aclTensor* attentionOutOut,
    uint64_t* workspaceSize, aclOpExecutor** executor) {
  return fa_workspace({"aclnnFlashAttentionScoreV2",
                       query,
                       key,
                       value,
                       realShiftOptional,
                       dropMaskOptional,
                       paddingMaskOptional,
                       attenMaskOptional,
                       {prefixOptional, nullptr, nullptr, qStartIdxOptional, kvStartIdxOptional, scaleValue, keepProb,
                        preTokens, nextTokens, headNum, inputLayout, innerPrecise, sparseMode, pseType, nullptr, false},
                       softmaxMaxOut,
                       softmaxSumOut,
                       softmaxOutOut,
                       attentionOutOut,
                       workspaceSize,
                       executor});
}

aclnnStatus aclnnFlashAttentionScoreV2(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                       const aclrtStream stream) {
  return run_executor("aclnnFlashAttentionScoreV2", workspace, workspaceSize, executor, stream);
}

aclnnStatus aclnnFlashAttentionVarLenScoreGetWorkspaceSize(
    const aclTensor* query, const aclTensor* key, const aclTensor* value, const aclTensor* realShiftOptional,
    const aclTensor* dropMaskOptional, const aclTensor* paddingMaskOptional, const aclTensor* attenMaskOptional,
    const aclIntArray* prefixOptional, const aclIntArray* actualSeqQLenOptional,
    const aclIntArray* actualSeqKvLenOptional, double scaleValue, double keepProb, int64_t preTokens,
    int64_t nextTokens, int64_t headNum, char* inputLayout, int64_t innerPrecise, int64_t sparseMode,
    const aclTensor* softmaxMaxOut, const aclTensor* softmaxSumOut, const aclTensor* softmaxOutOut,
    const aclTensor* attentionOutOut, uint64_t* workspaceSize, aclOpExecutor** executor) {
  return fa_workspace(
      {"aclnnFlashAttentionVarLenScore",
       query,
       key,
       value,
       realShiftOptional,
       dropMaskOptional,
       paddingMaskOptional,
       attenMaskOptional,
       {prefixOptional, actualSeqQLenOptional, actualSeqKvLenOptional, nullptr, nullptr, scaleValue, keepProb,
        preTokens, nextTokens, headNum, inputLayout, innerPrecise, sparseMode, 1, nullptr, true},
       softmaxMaxOut,
       softmaxSumOut,
       softmaxOutOut,
       attentionOutOut,
       workspaceSize,
       executor});
}

aclnnStatus aclnnFlashAttentionVarLenScore(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                           const aclrtStream stream) {
  return run_executor("aclnnFlashAttentionVarLenScore", workspace, workspaceSize, executor, stream);
}

aclnnStatus aclnnFlashAttentionVarLenScoreV2GetWorkspaceSize(
    const aclTensor* query, const aclTensor* key, const aclTensor* value, const aclTensor* realShiftOptional,
    const aclTensor* dropMaskOptional, const aclTensor* paddingMaskOptional, const aclTensor* attenMaskOptional,
    const aclIntArray* prefixOptional, const aclIntArray* actualSeqQLenOptional,
    const aclIntArray* actualSeqKvLenOptional, const aclIntArray* qStartIdxOptional,
    const aclIntArray* kvStartIdxOptional, double scaleValue, double keepProb, int64_t preTokens, int64_t nextTokens,
    int64_t headNum, char* inputLayout, int64_t innerPrecise, int64_t sparseMode, int64_t pseType,
    const aclTensor* softmaxMaxOut, const aclTensor* softmaxSumOut, const aclTensor* softmaxOutOut,
    const aclTensor* attentionOutOut, uint64_t* workspaceSize, aclOpExecutor** executor) {
  return fa_workspace({"aclnnFlashAttentionVarLenScoreV2",
                       query,
                       key,
                       value,
                       realShiftOptional,
                       dropMaskOptional,
                       paddingMaskOptional,
                       attenMaskOptional,
                       {prefixOptional, actualSeqQLenOptional, actualSeqKvLenOptional, qStartIdxOptional,
                        kvStartIdxOptional, scaleValue, keepProb, preTokens, nextTokens, headNum, inputLayout,
                        innerPrecise, sparseMode, pseType, nullptr, true},
                       softmaxMaxOut,
                       softmaxSumOut,
                       softmaxOutOut,
                       attentionOutOut,
                       workspaceSize,
                       executor});
}

aclnnStatus aclnnFlashAttentionVarLenScoreV2(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                             const aclrtStream stream) {
  return run_executor("aclnnFlashAttentionVarLenScoreV2", workspace, workspaceSize, executor, stream);
}

aclnnStatus aclnnFlashAttentionVarLenScoreV4GetWorkspaceSize(
    const aclTensor* query, const aclTensor* key, const aclTensor* value, const aclTensor* realShiftOptional,
    const aclTensor* dropMaskOptional, const aclTensor* paddingMaskOptional, const aclTensor* attenMaskOptional,
    const aclIntArray* prefixOptional, const aclIntArray* actualSeqQLenOptional,
    const aclIntArray* actualSeqKvLenOptional, double scaleValue, double keepProb, int64_t preTokens,
    int64_t nextTokens, int64_t headNum, char* inputLayout, int64_t innerPrecise, int64_t sparseMode,
    char* softmaxOutLayout, const aclTensor* softmaxMaxOut, const aclTensor* softmaxSumOut,
    const aclTensor* softmaxOutOut, const aclTensor* attentionOutOut, uint64_t* workspaceSize,
    aclOpExecutor** executor) {
  return fa_workspace({"aclnnFlashAttentionVarLenScoreV4",
                       query,
                       key,
                       value,
                       realShiftOptional,
                       dropMaskOptional,
                       paddingMaskOptional,
                       attenMaskOptional,
                       {prefixOptional, actualSeqQLenOptional, actualSeqKvLenOptional, nullptr, nullptr, scaleValue,
                        keepProb, preTokens, nextTokens, headNum, inputLayout, innerPrecise, sparseMode, 1,
                        softmaxOutLayout ? softmaxOutLayout : "", true},
                       softmaxMaxOut,
                       softmaxSumOut,
                       softmaxOutOut,
                       attentionOutOut,
                       workspaceSize,
                       executor});
}

aclnnStatus aclnnFlashAttentionVarLenScoreV4(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                             const aclrtStream stream) {
  return run_executor("aclnnFlashAttentionVarLenScoreV4", workspace, workspaceSize, executor, stream);
}

}  // extern "C"
