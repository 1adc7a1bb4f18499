// What the allocating convenience calls of every operator share: optional descriptions from optional views, and
// outputs and workspace allocated from the plan, the run, and ctx.finish() (which also raises errors found on the
// device).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "cannon/context.hpp"
#include "cannon/tensor.hpp"

namespace cannon {

inline std::optional<TensorDesc> desc_of(const std::optional<TensorView>& view) {
  return view ? std::optional<TensorDesc>(view->desc) : std::nullopt;
}

// The body of every operator's convenience call after planning: allocates a Result from the plan's output
// descriptions (in the Result's member order), calls run(result, workspace) with a workspace of the plan's size,
// and waits for the Context's queue.
template <typename Result, typename Plan, typename Run, typename... Outputs>
Result allocate_and_run(const Context& ctx, const Plan& plan, Run&& run, const Outputs&... outputs) {
  Result result{allocate(ctx, outputs)...};
  DeviceTensor workspace = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  run(result, workspace.buffer());
  ctx.finish();
  return result;
}

}  // namespace cannon
