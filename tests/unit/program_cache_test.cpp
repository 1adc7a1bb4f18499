// The program cache: one build per (device, source, options), a new build when the options change, the compiler's
// log kept with each program, and a build failure reported as kRuntimeError carrying the log; a Context's own
// Config. Needs an OpenCL device (PoCL in CI).
#include <gtest/gtest.h>

#include <string>

#include "cannon/context.hpp"
#include "cannon/error.hpp"
#include "host/runtime/context_impl.hpp"

namespace cannon {
namespace {

const char* const kSource = "__kernel void twice(__global float* x) { x[get_global_id(0)] *= SCALE; }\n";

TEST(ProgramCache, BuildsOncePerSourceAndOptions) {
  Context ctx = Context::create();
  ProgramCache& cache = detail::ContextAccess::impl(ctx).programs;
  const std::size_t before = cache.size();
  cl_program a = cache.get(ctx.cl_context_handle(), ctx.cl_device_handle(), kSource, "-DSCALE=2.0f");
  cl_program b = cache.get(ctx.cl_context_handle(), ctx.cl_device_handle(), kSource, "-DSCALE=2.0f");
  EXPECT_EQ(a, b);
  EXPECT_EQ(cache.size(), before + 1);
  cl_program c = cache.get(ctx.cl_context_handle(), ctx.cl_device_handle(), kSource, "-DSCALE=3.0f");
  EXPECT_NE(a, c);
  EXPECT_EQ(cache.size(), before + 2);
}

TEST(ProgramCache, BuildFailureCarriesTheLog) {
  Context ctx = Context::create();
  try {
    detail::ContextAccess::impl(ctx).programs.get(ctx.cl_context_handle(), ctx.cl_device_handle(), kSource,
                                                  "");  // SCALE undefined
    FAIL() << "built a program with an undefined macro";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kRuntimeError);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("clBuildProgram"), std::string::npos) << msg;
    EXPECT_NE(msg.find("SCALE"), std::string::npos) << msg;
  }
}

TEST(Context, AdoptRejectsNullHandles) {
  try {
    Context::adopt(nullptr, nullptr, nullptr);
    FAIL() << "adopted null handles";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamNullptr);
  }
}

TEST(ProgramCache, KeepsTheBuildLog) {
  Context ctx = Context::create();
  ProgramCache& cache = detail::ContextAccess::impl(ctx).programs;
  // An unused comparison warns by default in clang-based compilers; the log must reach the cache.
  const char* const source = "__kernel void k(__global int* x) { x[0] == KEEPS_LOG; }\n";
  cl_program p = cache.get(ctx.cl_context_handle(), ctx.cl_device_handle(), source, "-DKEEPS_LOG=1");
  EXPECT_NE(cache.build_log(p).find("warning"), std::string::npos) << cache.build_log(p);
  EXPECT_EQ(cache.build_log(nullptr), "");
}

TEST(Context, OwnConfig) {
  Config config = Config::global();
  config.tune = {{"fa.VARIANT", 1}};
  config.strict = true;
  const Context ctx = Context::create("", config);
  EXPECT_EQ(ctx.config().tune.at("fa.VARIANT"), 1);
  EXPECT_TRUE(ctx.config().strict);
  const Context adopted = Context::adopt(ctx.cl_context_handle(), ctx.cl_device_handle(), ctx.cl_queue_handle());
  EXPECT_EQ(adopted.config().tune, Config::global().tune);
}

TEST(Context, ReportsDeviceProperties) {
  Context ctx = Context::create();
  EXPECT_FALSE(ctx.info().name.empty());
  EXPECT_GE(ctx.info().base_addr_align, 4u);
  EXPECT_EQ(ctx.info().base_addr_align & (ctx.info().base_addr_align - 1), 0u);  // a power of two
  EXPECT_FALSE(ctx.selection_reason().empty());
}

}  // namespace
}  // namespace cannon
