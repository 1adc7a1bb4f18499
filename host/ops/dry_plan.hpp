// Planning against a target: a device description, the Config to plan with, and the Context to build and upload
// with. The public plan_* calls plan on their Context; host-only planning (no Context, no kernel build, no
// upload) runs the same code against any device description, so fuzzing and limit tests exercise exactly what
// users hit, in microseconds per problem.
#pragma once

#include "cannon/config.hpp"
#include "cannon/context.hpp"
#include "cannon/flash_attention_score.hpp"
#include "cannon/flash_attention_score_grad.hpp"
#include "cannon/nsa_selected_attention.hpp"
#include "cannon/ring_attention_update.hpp"

namespace cannon {

struct PlanTarget {
  const DeviceInfo& device;
  const Config& config;
  const Context* ctx;  // null: host-only
  static PlanTarget on(const Context& ctx) { return {ctx.info(), ctx.config(), &ctx}; }
  static PlanTarget host(const DeviceInfo& device) { return {device, Config::global(), nullptr}; }
};

// Host-only plans have descriptions, workspace sizes and host tables, but no program: they cannot be run.
FlashAttentionScorePlan plan_flash_attention_score(const PlanTarget& target, const FlashAttentionScoreDescs& descs,
                                                   const FlashAttentionScoreAttrs& attrs);
FlashAttentionScoreGradPlan plan_flash_attention_score_grad(const PlanTarget& target,
                                                            const FlashAttentionScoreGradDescs& descs,
                                                            const FlashAttentionScoreAttrs& attrs);
RingAttentionUpdatePlan plan_ring_attention_update(const PlanTarget& target, const RingAttentionUpdateDescs& descs,
                                                   const RingAttentionUpdateAttrs& attrs);
NsaSelectedAttentionPlan plan_nsa_selected_attention(const PlanTarget& target, const NsaSelectedAttentionDescs& descs,
                                                     const NsaSelectedAttentionAttrs& attrs);

}  // namespace cannon
