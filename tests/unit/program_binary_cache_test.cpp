// The on-disk program cache (Config::program_cache, CANNON_PROGRAM_CACHE; program_cache.cpp): a source build stores the
// program's binary, a fresh cache (a new process, in effect) builds from that binary and the kernel computes the same,
// and a damaged file falls back to the source build and is rewritten. Needs an OpenCL device (PoCL in CI).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cannon/context.hpp"
#include "host/runtime/context_impl.hpp"

namespace cannon {
namespace {

namespace fs = std::filesystem;

const char* const kSource = "__kernel void twice(__global float* x) { x[get_global_id(0)] *= SCALE; }\n";

// Runs `twice` from `program` over {1, 2, 3, 4} and returns the result.
std::vector<float> run_twice(const Context& ctx, cl_program program) {
  std::vector<float> x{1, 2, 3, 4};
  cl_int err = CL_SUCCESS;
  cl_kernel kernel = clCreateKernel(program, "twice", &err);
  EXPECT_EQ(err, CL_SUCCESS);
  cl_mem buf = clCreateBuffer(ctx.cl_context_handle(), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              x.size() * sizeof(float), x.data(), &err);
  EXPECT_EQ(err, CL_SUCCESS);
  clSetKernelArg(kernel, 0, sizeof buf, &buf);
  const std::size_t global = x.size();
  EXPECT_EQ(clEnqueueNDRangeKernel(ctx.cl_queue_handle(), kernel, 1, nullptr, &global, nullptr, 0, nullptr, nullptr),
            CL_SUCCESS);
  clEnqueueReadBuffer(ctx.cl_queue_handle(), buf, CL_TRUE, 0, x.size() * sizeof(float), x.data(), 0, nullptr, nullptr);
  clReleaseMemObject(buf);
  clReleaseKernel(kernel);
  return x;
}

class ProgramBinaryCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cannon_program_cache_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<fs::path> files() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path());
    return out;
  }
  fs::path dir_;
};

TEST_F(ProgramBinaryCache, StoresReusesAndSurvivesDamage) {
  const Context ctx = Context::create();
  const std::vector<float> expected{2, 4, 6, 8};
  {
    ProgramCache first;
    cl_program p = first.get(ctx.cl_context_handle(), ctx.cl_device_handle(), kSource, "-DSCALE=2.0f",
                             Verbosity::kError, dir_.string());
    EXPECT_EQ(run_twice(ctx, p), expected);
  }
  ASSERT_EQ(files().size(), 1u);
  const fs::path stored = files().front();
  {
    ProgramCache second;
    ::testing::internal::CaptureStderr();
    cl_program p = second.get(ctx.cl_context_handle(), ctx.cl_device_handle(), kSource, "-DSCALE=2.0f",
                              Verbosity::kDispatch, dir_.string());
    const std::string said = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(said.find("program from"), std::string::npos) << said;
    EXPECT_EQ(run_twice(ctx, p), expected);
  }
  std::ofstream(stored, std::ios::binary | std::ios::trunc) << "not a program binary";
  {
    ProgramCache third;
    ::testing::internal::CaptureStderr();
    cl_program p = third.get(ctx.cl_context_handle(), ctx.cl_device_handle(), kSource, "-DSCALE=2.0f",
                             Verbosity::kDispatch, dir_.string());
    const std::string said = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(said.find("building program"), std::string::npos) << said;
    EXPECT_EQ(run_twice(ctx, p), expected);
  }
  EXPECT_GT(fs::file_size(stored), 100u);  // rewritten from the source build
  {
    ProgramCache other;  // other options: another entry
    other.get(ctx.cl_context_handle(), ctx.cl_device_handle(), kSource, "-DSCALE=3.0f", Verbosity::kError,
              dir_.string());
  }
  EXPECT_EQ(files().size(), 2u);
}

}  // namespace
}  // namespace cannon
