// Host-only planning: each operator's validate + plan without an OpenCL context and without building a kernel,
// against a given device description. It is the same code path the public plan_* calls take before their
// program build, so fuzzing and limit tests exercise exactly what users hit, in microseconds per problem.
#pragma once

#include "cannon/context.hpp"
#include "cannon/flash_attention_score.hpp"
#include "cannon/nsa_selected_attention.hpp"
#include "cannon/ring_attention_update.hpp"

namespace cannon {

// The returned plans have descriptions, workspace sizes and host tables, but no program: they cannot be run.
FlashAttentionScorePlan plan_flash_attention_score_host(const DeviceInfo& device, const FlashAttentionScoreDescs& descs,
                                                        const FlashAttentionScoreAttrs& attrs);
RingAttentionUpdatePlan plan_ring_attention_update_host(const DeviceInfo& device, const RingAttentionUpdateDescs& descs,
                                                        const RingAttentionUpdateAttrs& attrs);
NsaSelectedAttentionPlan plan_nsa_selected_attention_host(const DeviceInfo& device,
                                                          const NsaSelectedAttentionDescs& descs,
                                                          const NsaSelectedAttentionAttrs& attrs);

}  // namespace cannon
