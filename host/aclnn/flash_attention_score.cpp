// aclnnFlashAttentionScore[V2] and aclnnFlashAttentionVarLenScore[V2, V4] (include/aclnnop/
// aclnn_flash_attention_score.h) over cannon's plan_/run_flash_attention_score: the arguments become the C++
// descriptions and attributes, phase 1 plans, phase 2 enqueues. Where aclnn differs from torch_npu's call it says so.
#include "aclnnop/aclnn_flash_attention_score.h"

#include "cannon/flash_attention_score.hpp"
#include "host/aclnn/objects.hpp"
#include "host/runtime/check.hpp"

namespace cannon::aclnn {
namespace {

// One GetWorkspaceSize call of the family; absent arguments of the older forms stay null / defaults.
struct FaCall {
  const char* op;
  const aclTensor *query, *key, *value, *real_shift, *drop_mask, *padding_mask, *atten_mask;
  const aclIntArray *prefix, *seq_q, *seq_kv, *q_start, *kv_start;
  double scale, keep_prob;
  int64_t pre_tokens, next_tokens, head_num;
  const char* input_layout;
  int64_t inner_precise, sparse_mode, pse_type;
  const char* softmax_out_layout;  // V4 only (null otherwise)
  bool varlen;
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

    FlashAttentionScoreAttrs a;
    a.head_num = c.head_num;
    a.input_layout = Inputs::text(c.input_layout, "inputLayout");
    a.scale = c.scale;
    a.keep_prob = c.keep_prob;
    a.pre_tokens = c.pre_tokens;
    a.next_tokens = c.next_tokens;
    a.inner_precise = c.inner_precise;
    a.sparse_mode = c.sparse_mode;
    a.pse_type = c.pse_type;
    a.prefix = Inputs::ints(c.prefix);
    a.actual_seq_qlen = Inputs::ints(c.seq_q);
    a.actual_seq_kvlen = Inputs::ints(c.seq_kv);
    a.q_start_idx = Inputs::ints(c.q_start);
    a.kv_start_idx = Inputs::ints(c.kv_start);
    if (c.varlen) {
      require(a.input_layout == "TND", "inputLayout: '{}'; {} takes TND", a.input_layout, c.op);
    } else {
      require(a.input_layout != "TND", "inputLayout: TND goes through aclnnFlashAttentionVarLenScore");
    }
    if (c.softmax_out_layout) {
      const std::string layout = c.softmax_out_layout;
      require(layout.empty() || layout == "same_as_input",
              "softmaxOutLayout: '{}'; expected \"\" ([N,T,8] per batch) or \"same_as_input\" ([T,N,8])", layout);
      a.softmax_layout = layout.empty() ? "" : "TND";
    }
    // aclnn has no seed or offset: a run with dropout takes its mask as dropMaskOptional (CANN's
    // aclnnDropoutGenMask, or cannon::flash_attention_score_dropout_mask).
    require(c.keep_prob >= 1.0 || c.drop_mask, "dropMaskOptional: required when keepProb ({}) < 1", c.keep_prob);

    const Context& ctx = in.context();
    const FlashAttentionScorePlan plan = plan_flash_attention_score(
        ctx,
        {t.query.desc, t.key.desc, t.value.desc, t.pse ? std::optional<TensorDesc>(t.pse->desc) : std::nullopt,
         t.drop_mask ? std::optional<TensorDesc>(t.drop_mask->desc) : std::nullopt,
         t.atten_mask ? std::optional<TensorDesc>(t.atten_mask->desc) : std::nullopt},
        a);
    // TND's default softmax layout is per-batch [N1, S_b, 8] blocks, which CANN's documentation shapes [N,T,8]:
    // that shape is taken as well as cannon's [T,N,8] (the same elements in the same memory).
    std::vector<int64_t> alias;
    if (c.varlen && a.softmax_layout.empty() && plan.softmax_max.shape.size() == 3) {
      alias = {plan.softmax_max.shape[1], plan.softmax_max.shape[0], 8};
    }
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
                       prefixOptional,
                       nullptr,
                       nullptr,
                       nullptr,
                       nullptr,
                       scaleValue,
                       keepProb,
                       preTokens,
                       nextTokens,
                       headNum,
                       inputLayout,
                       innerPrecise,
                       sparseMode,
                       1,
                       nullptr,
                       false,
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
                       prefixOptional,
                       nullptr,
                       nullptr,
                       qStartIdxOptional,
                       kvStartIdxOptional,
                       scaleValue,
                       keepProb,
                       preTokens,
                       nextTokens,
                       headNum,
                       inputLayout,
                       innerPrecise,
                       sparseMode,
                       pseType,
                       nullptr,
                       false,
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
  return fa_workspace({"aclnnFlashAttentionVarLenScore",
                       query,
                       key,
                       value,
                       realShiftOptional,
                       dropMaskOptional,
                       paddingMaskOptional,
                       attenMaskOptional,
                       prefixOptional,
                       actualSeqQLenOptional,
                       actualSeqKvLenOptional,
                       nullptr,
                       nullptr,
                       scaleValue,
                       keepProb,
                       preTokens,
                       nextTokens,
                       headNum,
                       inputLayout,
                       innerPrecise,
                       sparseMode,
                       1,
                       nullptr,
                       true,
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
                       prefixOptional,
                       actualSeqQLenOptional,
                       actualSeqKvLenOptional,
                       qStartIdxOptional,
                       kvStartIdxOptional,
                       scaleValue,
                       keepProb,
                       preTokens,
                       nextTokens,
                       headNum,
                       inputLayout,
                       innerPrecise,
                       sparseMode,
                       pseType,
                       nullptr,
                       true,
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
                       prefixOptional,
                       actualSeqQLenOptional,
                       actualSeqKvLenOptional,
                       nullptr,
                       nullptr,
                       scaleValue,
                       keepProb,
                       preTokens,
                       nextTokens,
                       headNum,
                       inputLayout,
                       innerPrecise,
                       sparseMode,
                       1,
                       softmaxOutLayout ? softmaxOutLayout : "",
                       true,
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
