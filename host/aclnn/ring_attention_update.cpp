// aclnnRingAttentionUpdate[V2] (include/aclnnop/aclnn_ring_attention_update.h) over cannon's
// plan_/run_ring_attention_update. inputLayoutOptional null or "" means SBH; V2's inputSoftmaxLayoutOptional ""
// and "SBH" are the default softmax layout, "TND" the same-as-input one.
#include "aclnnop/aclnn_ring_attention_update.h"

#include "cannon/ring_attention_update.hpp"
#include "host/aclnn/objects.hpp"
#include "host/runtime/check.hpp"

namespace cannon::aclnn {
namespace {

struct RauCall {
  const char* op;
  const aclTensor *prev_out, *prev_max, *prev_sum, *cur_out, *cur_max, *cur_sum, *seq_qlen;
  const char* input_layout;
  const char* softmax_layout;  // V2 only (null otherwise)
  const aclTensor *out, *out_max, *out_sum;
  uint64_t* workspace_size;
  aclOpExecutor** executor;
};

aclnnStatus rau_workspace(const RauCall& c) {
  return aclnn_call((std::string(c.op) + "GetWorkspaceSize").c_str(), [&] {
    Inputs in;
    RingAttentionUpdateTensors t;
    t.prev_attn_out = in.tensor(c.prev_out, "prevAttnOut");
    t.prev_softmax_max = in.tensor(c.prev_max, "prevSoftmaxMax");
    t.prev_softmax_sum = in.tensor(c.prev_sum, "prevSoftmaxSum");
    t.cur_attn_out = in.tensor(c.cur_out, "curAttnOut");
    t.cur_softmax_max = in.tensor(c.cur_max, "curSoftmaxMax");
    t.cur_softmax_sum = in.tensor(c.cur_sum, "curSoftmaxSum");
    RingAttentionUpdateAttrs a;
    a.input_layout = Inputs::optional_text(c.input_layout);
    if (a.input_layout.empty()) a.input_layout = "SBH";
    // Only TND reads actualSeqQlenOptional. Ascend ignores it otherwise, and CANN's own SBH example passes a tensor
    // whose buffer is smaller than its int64 view: it is not even resolved then.
    if (a.input_layout == "TND") t.actual_seq_qlen = in.optional(c.seq_qlen, "actualSeqQlenOptional");
    const std::string softmax = Inputs::optional_text(c.softmax_layout);
    require(softmax.empty() || softmax == "SBH" || softmax == "TND",
            "inputSoftmaxLayoutOptional: '{}'; expected \"\", \"SBH\" or \"TND\"", softmax);
    a.softmax_layout = softmax == "TND" ? "TND" : "";

    const Context& ctx = in.context();
    RingAttentionUpdateDescs d{t.prev_attn_out.desc, t.prev_softmax_max.desc, t.prev_softmax_sum.desc,
                               t.cur_attn_out.desc,  t.cur_softmax_max.desc,  t.cur_softmax_sum.desc,
                               std::nullopt};
    if (t.actual_seq_qlen) d.actual_seq_qlen = t.actual_seq_qlen->desc;
    const RingAttentionUpdatePlan plan = plan_ring_attention_update(ctx, d, a);
    t.attn_out = in.output(c.out, plan.attn_out, "attnOutOut");
    t.softmax_max = in.output(c.out_max, plan.softmax_max, "softmaxMaxOut");
    t.softmax_sum = in.output(c.out_sum, plan.softmax_sum, "softmaxSumOut");
    in.finish(c.op, plan.workspace_size, c.workspace_size, c.executor,
              [ctx, plan, t](cl_mem workspace, const Stream& stream) {
                run_ring_attention_update(ctx, plan, t, workspace, stream);
              });
  });
}

}  // namespace
}  // namespace cannon::aclnn

using cannon::aclnn::rau_workspace;
using cannon::aclnn::run_executor;

extern "C" {

aclnnStatus aclnnRingAttentionUpdateGetWorkspaceSize(const aclTensor* prevAttnOut, const aclTensor* prevSoftmaxMax,
                                                     const aclTensor* prevSoftmaxSum, const aclTensor* curAttnOut,
                                                     const aclTensor* curSoftmaxMax, const aclTensor* curSoftmaxSum,
                                                     const aclTensor* actualSeqQlenOptional, char* inputLayoutOptional,
                                                     const aclTensor* attnOutOut, const aclTensor* softmaxMaxOut,
                                                     const aclTensor* softmaxSumOut, uint64_t* workspaceSize,
                                                     aclOpExecutor** executor) {
  return rau_workspace({"aclnnRingAttentionUpdate", prevAttnOut, prevSoftmaxMax, prevSoftmaxSum, curAttnOut,
                        curSoftmaxMax, curSoftmaxSum, actualSeqQlenOptional, inputLayoutOptional, nullptr, attnOutOut,
                        softmaxMaxOut, softmaxSumOut, workspaceSize, executor});
}

aclnnStatus aclnnRingAttentionUpdate(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                     aclrtStream stream) {
  return run_executor("aclnnRingAttentionUpdate", workspace, workspaceSize, executor, stream);
}

aclnnStatus aclnnRingAttentionUpdateV2GetWorkspaceSize(const aclTensor* prevAttnOut, const aclTensor* prevSoftmaxMax,
                                                       const aclTensor* prevSoftmaxSum, const aclTensor* curAttnOut,
                                                       const aclTensor* curSoftmaxMax, const aclTensor* curSoftmaxSum,
                                                       const aclTensor* actualSeqQlenOptional,
                                                       char* inputLayoutOptional, char* inputSoftmaxLayoutOptional,
                                                       const aclTensor* attnOutOut, const aclTensor* softmaxMaxOut,
                                                       const aclTensor* softmaxSumOut, uint64_t* workspaceSize,
                                                       aclOpExecutor** executor) {
  return rau_workspace({"aclnnRingAttentionUpdateV2", prevAttnOut, prevSoftmaxMax, prevSoftmaxSum, curAttnOut,
                        curSoftmaxMax, curSoftmaxSum, actualSeqQlenOptional, inputLayoutOptional,
                        inputSoftmaxLayoutOptional ? inputSoftmaxLayoutOptional : "", attnOutOut, softmaxMaxOut,
                        softmaxSumOut, workspaceSize, executor});
}

aclnnStatus aclnnRingAttentionUpdateV2(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                       aclrtStream stream) {
  return run_executor("aclnnRingAttentionUpdateV2", workspace, workspaceSize, executor, stream);
}

}  // extern "C"
