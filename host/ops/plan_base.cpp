// PlanBase: program build, kernels and plan-constant tables of an operator's plan; see plan_base.hpp.
#include "host/ops/plan_base.hpp"

#include <algorithm>

#include "host/runtime/check.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/runtime/kernel_sources.hpp"

namespace cannon::detail {

PlanBase::~PlanBase() {
  kernels_.clear();
  for (cl_mem table : tables_) clReleaseMemObject(table);
  if (program_) clReleaseProgram(program_);
}

void PlanBase::build(const Context& ctx, const char* source_name, const BuildOptions& options,
                     const std::vector<KernelUse>& kernels) {
  auto& impl = ContextAccess::impl(ctx);
  options_ = options.str(impl.config);
  cl_program program = impl.programs.get(impl.context, impl.device, kernels::source(source_name), options_,
                                         impl.config.verbose, impl.config.program_cache);
  CANNON_CL(clRetainProgram(program));
  program_ = program;
  for (const KernelUse& use : kernels) {
    kernels_.emplace_back(program_, use.name, impl.config.verbose, options_);
    kernels_.back().check_local_size(impl.device, use.local);
  }
}

cl_mem PlanBase::add_table(const Context& ctx, const void* data, std::size_t bytes) {
  cl_int err = CL_SUCCESS;
  cl_mem mem = bytes == 0 ? clCreateBuffer(ctx.cl_context_handle(), CL_MEM_READ_ONLY, 1, nullptr, &err)
                          : clCreateBuffer(ctx.cl_context_handle(), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes,
                                           const_cast<void*>(data), &err);
  if (err != CL_SUCCESS) throw_cl_error(err, "clCreateBuffer", __FILE__, __LINE__);
  tables_.push_back(mem);
  return mem;
}

}  // namespace cannon::detail
