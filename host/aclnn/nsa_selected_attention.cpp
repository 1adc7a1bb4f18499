// aclnnNsaSelectedAttention (include/aclnnop/aclnn_nsa_selected_attention.h) over cannon's
// plan_/run_nsa_selected_attention.
#include "aclnnop/aclnn_nsa_selected_attention.h"

#include "cannon/nsa_selected_attention.hpp"
#include "host/aclnn/objects.hpp"
#include "host/runtime/check.hpp"

using cannon::aclnn::aclnn_call;
using cannon::aclnn::Inputs;
using cannon::aclnn::run_executor;

extern "C" {

aclnnStatus aclnnNsaSelectedAttentionGetWorkspaceSize(
    const aclTensor* query, const aclTensor* key, const aclTensor* value, const aclTensor* topkIndices,
    const aclTensor* attenMaskOptional, const aclIntArray* actualSeqQLenOptional,
    const aclIntArray* actualSeqKvLenOptional, double scaleValue, int64_t headNum, char* inputLayout,
    int64_t sparseMode, int64_t selectedBlockSize, int64_t selectedBlockCount, const aclTensor* softmaxMaxOut,
    const aclTensor* softmaxSumOut, const aclTensor* attentionOut, uint64_t* workspaceSize, aclOpExecutor** executor) {
  return aclnn_call("aclnnNsaSelectedAttentionGetWorkspaceSize", [&] {
    using namespace cannon;
    Inputs in;
    NsaSelectedAttentionTensors t;
    t.query = in.tensor(query, "query");
    t.key = in.tensor(key, "key");
    t.value = in.tensor(value, "value");
    t.topk_indices = in.tensor(topkIndices, "topkIndices");
    t.atten_mask = in.optional(attenMaskOptional, "attenMaskOptional");
    NsaSelectedAttentionAttrs a;
    a.scale_value = scaleValue;
    a.head_num = headNum;
    a.input_layout = Inputs::text(inputLayout, "inputLayout");
    a.sparse_mode = sparseMode;
    a.select_block_size = selectedBlockSize;
    a.select_block_count = selectedBlockCount;
    a.actual_seq_qlen = Inputs::ints(actualSeqQLenOptional);
    a.actual_seq_kvlen = Inputs::ints(actualSeqKvLenOptional);
    const Context& ctx = in.context();
    NsaSelectedAttentionDescs d{t.query.desc, t.key.desc, t.value.desc, t.topk_indices.desc, std::nullopt};
    if (t.atten_mask) d.atten_mask = t.atten_mask->desc;
    const NsaSelectedAttentionPlan plan = plan_nsa_selected_attention(ctx, d, a);
    t.softmax_max = in.output(softmaxMaxOut, plan.softmax_max, "softmaxMaxOut");
    t.softmax_sum = in.output(softmaxSumOut, plan.softmax_sum, "softmaxSumOut");
    t.attention_out = in.output(attentionOut, plan.attention_out, "attentionOut");
    in.finish("aclnnNsaSelectedAttention", plan.workspace_size, workspaceSize, executor,
              [ctx, plan, t](cl_mem workspace, const Stream& stream) {
                run_nsa_selected_attention(ctx, plan, t, workspace, stream);
              });
  });
}

aclnnStatus aclnnNsaSelectedAttention(void* workspace, uint64_t workspaceSize, aclOpExecutor* executor,
                                      const aclrtStream stream) {
  return run_executor("aclnnNsaSelectedAttention", workspace, workspaceSize, executor, stream);
}

}  // extern "C"
