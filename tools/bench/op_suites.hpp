// cannon-bench's RingAttentionUpdate and NsaSelectedAttention suites (their speed targets), kept beside
// main.cpp's FlashAttentionScore suites; the cases are rau:/nsa: problem strings shared with cannon-conformance.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "cannon/context.hpp"

namespace cannon::tools {

// --suite ring: rau:b4n32s=4096d=128:layout=SBH:dt=bf16, GB/s of plan.bytes beside a device copy figure measured
// in the same run (clEnqueueCopyBuffer of plan.bytes / 2 bytes on the same queue, counted as read + write =
// plan.bytes moved). Target: >= 60% of the copy. Returns the number of failed cases.
int run_ring_suite(const Context& ctx, int repeat, uint64_t seed, nlohmann::json& report);

// --suite nsa: T1=4096, N1=64, N2=4, Dqk=192, Dv=128, count=16, bs=64, bf16 at S2 = 4096, 16384, 65536 with the
// same selection (the same topk_indices: blocks drawn from the first 4096 keys); time, GFLOP/s and time / the
// S2=4096 time (target <= 1.3).
int run_nsa_suite(const Context& ctx, int repeat, uint64_t seed, nlohmann::json& report);

}  // namespace cannon::tools
