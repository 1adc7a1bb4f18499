// cannon-bench --backward: an fa: problem timed as the backward pass (FlashAttentionScoreGrad) of that forward
// problem, as training runs it: the forward runs on the device first and its attention_out, softmax_max and
// softmax_sum are what the backward is given, with a random dy. Kept apart from main.cpp's forward path, which goes
// through the operator drivers; the timing discipline is the same (bench_case.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "cannon/context.hpp"
#include "tools/bench/bench_case.hpp"
#include "tools/drivers/fa/fa_problem.hpp"

namespace cannon::tools {

// Plans the forward and the backward of `text` first (a problem either plan rejects throws cannon::Error before
// anything is allocated), generates the forward's inputs from the problem's seed or else `seed` (as the forward path
// does), runs the forward on the device, draws dy uniform in [-1, 1] from its own stream of the same seed, then one
// checked warm-up backward run (guarded, poisoned outputs: throws on damaged guards, changed inputs or unwritten
// dq/dk/dv elements), ready for timed runs. Sampler::work is the grad plan's flops.
Sampler prepare_backward(const Context& ctx, const std::string& text, uint64_t seed);

// The backward's FLOPs of the same shape with nothing masked: 2·(3·Dk + 2·Dv) per score (its five matmuls, as
// plan.flops counts them), every score (non-TND problems).
double backward_dense_flops(const FaProblem& p);

}  // namespace cannon::tools
