// What every operator's plan data holds: the built program and its kernels, the plan-constant device tables
// (uploaded once when the plan is made, never by run), and the workspace ledger run resolves in the caller's
// workspace. A host-only plan (dry_plan.hpp) fills the ledger and the host tables but builds and uploads nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cannon/context.hpp"
#include "host/runtime/build_options.hpp"
#include "host/runtime/kernel.hpp"
#include "host/runtime/workspace.hpp"

namespace cannon::detail {

class PlanBase {
 public:
  PlanBase() = default;
  PlanBase(const PlanBase&) = delete;
  PlanBase& operator=(const PlanBase&) = delete;
  ~PlanBase();

  WorkspaceLedger ledger;

  // A kernel of the program and the local size it is launched with (checked against the built kernel).
  struct KernelUse {
    std::string name;
    std::size_t local;
  };
  // Builds kernels::source(source_name) with `options` (plus ctx.config().kernel_defines) through ctx's program
  // cache, and creates the kernels in the order given (kernel_at(i) is kernels[i]).
  void build(const Context& ctx, const char* source_name, const BuildOptions& options,
             const std::vector<KernelUse>& kernels);
  bool built() const { return program_ != nullptr; }
  const std::string& build_options() const { return options_; }

  // Uploads a plan-constant table (the bytes are copied when the buffer is created) and returns its read-only
  // buffer, at least one byte long so an empty table is still a valid argument. Released with the plan.
  cl_mem add_table(const Context& ctx, const void* data, std::size_t bytes);
  template <typename T>
  cl_mem add_table(const Context& ctx, const std::vector<T>& values) {
    return add_table(ctx, values.data(), values.size() * sizeof(T));
  }

  // Runs of one plan may come from several threads: arguments are set and the kernels enqueued under this lock
  // (OpenCL captures the arguments at enqueue, so the lock is held only while enqueuing).
  std::unique_lock<std::mutex> lock_kernels() const { return std::unique_lock<std::mutex>(mutex_); }
  Kernel& kernel_at(std::size_t i) const { return kernels_.at(i); }

 private:
  cl_program program_ = nullptr;  // retained
  std::string options_;
  mutable std::vector<Kernel> kernels_;
  std::vector<cl_mem> tables_;
  mutable std::mutex mutex_;
};

// New plan data of type Data holding `descs` and the problem `validate()` returns (it throws on a bad problem).
template <typename Data, typename Descs, typename Validate>
std::shared_ptr<Data> validated_plan_data(const Descs& descs, Validate&& validate) {
  auto data = std::make_shared<Data>();
  data->problem = validate();
  data->descs = descs;
  return data;
}

}  // namespace cannon::detail
