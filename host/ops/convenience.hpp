// What the allocating convenience calls of every operator share: optional descriptions from optional views, and
// a run in a workspace of the plan's size followed by ctx.finish() (which also raises errors found on the device).
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

// Allocates the workspace, calls run(workspace) and waits for the Context's queue.
template <typename Run>
void run_with_workspace(const Context& ctx, std::size_t workspace_size, Run&& run) {
  DeviceTensor workspace = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(workspace_size)}});
  run(workspace.buffer());
  ctx.finish();
}

}  // namespace cannon
