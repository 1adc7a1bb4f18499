// What the aclnn C API tests share: the fixture that brings up the runtime, device tensors made through
// aclrtMalloc + aclCreateTensor, both phases of a call, the C++ API's side of a comparison, and the status and
// message checks every entry point must pass. Uses libcannon's exports only.
#pragma once

#include <gtest/gtest.h>

#include <cannon/cannon.hpp>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "acl/acl.h"
#include "aclnnop/aclnn_nsa_selected_attention.h"
#include "aclnnop/aclnn_ring_attention_update.h"

namespace aclnn_test {

// This thread's message, consumed; "" when there is none.
inline std::string message() {
  const char* m = aclGetRecentErrMsg();
  return m ? m : "";
}

class AclnnApi : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(aclInit(nullptr), ACL_SUCCESS) << message();
    ASSERT_EQ(aclrtSetDevice(0), ACL_SUCCESS) << message();
    ASSERT_EQ(aclrtCreateStream(&stream_), ACL_SUCCESS) << message();
  }
  void TearDown() override {
    EXPECT_EQ(aclrtDestroyStream(stream_), ACL_SUCCESS) << message();
    EXPECT_EQ(aclrtResetDevice(0), ACL_SUCCESS) << message();
    EXPECT_EQ(aclFinalize(), ACL_SUCCESS) << message();
  }
  aclrtStream stream_ = nullptr;
};

// A device tensor: its own allocation, host bytes uploaded, optionally strided or offset into a larger buffer.
struct Dev {
  void* addr = nullptr;
  aclTensor* tensor = nullptr;
  std::vector<int64_t> shape;
  std::size_t bytes = 0;
  Dev(const void* host, std::size_t item, std::vector<int64_t> dims, aclDataType dtype, int64_t offset = 0,
      std::vector<int64_t> padded = {})
      : shape(std::move(dims)) {
    if (padded.empty()) padded = shape;
    std::vector<int64_t> strides(padded.size(), 1);
    for (int i = static_cast<int>(padded.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * padded[i + 1];
    int64_t span = 1, count = 1;
    for (int64_t d : padded) span *= d;
    for (int64_t d : shape) count *= d;
    bytes = static_cast<std::size_t>(offset + span) * item;
    EXPECT_EQ(aclrtMalloc(&addr, bytes, ACL_MEM_MALLOC_HUGE_FIRST), ACL_SUCCESS) << message();
    std::vector<uint8_t> image(bytes, 0xFF);  // NaN wherever the view does not reach
    std::vector<int64_t> index(shape.size(), 0);
    for (int64_t flat = 0; flat < count; ++flat) {
      int64_t at = offset;
      for (std::size_t i = 0; i < shape.size(); ++i) at += index[i] * strides[i];
      std::memcpy(image.data() + at * item, static_cast<const uint8_t*>(host) + flat * item, item);
      for (std::size_t i = shape.size(); i-- > 0 && ++index[i] == shape[i];) index[i] = 0;
    }
    EXPECT_EQ(aclrtMemcpy(addr, bytes, image.data(), bytes, ACL_MEMCPY_HOST_TO_DEVICE), ACL_SUCCESS) << message();
    tensor = aclCreateTensor(shape.data(), shape.size(), dtype, strides.data(), offset, ACL_FORMAT_ND, padded.data(),
                             padded.size(), addr);
    EXPECT_NE(tensor, nullptr) << message();
  }
  template <typename T>
  Dev(const std::vector<T>& host, std::vector<int64_t> dims, aclDataType dtype)
      : Dev(host.data(), sizeof(T), std::move(dims), dtype) {}
  ~Dev() {
    aclDestroyTensor(tensor);
    aclrtFree(addr);
  }
  template <typename T>
  std::vector<T> read() const {
    std::vector<T> out(bytes / sizeof(T));
    EXPECT_EQ(aclrtMemcpy(out.data(), bytes, addr, bytes, ACL_MEMCPY_DEVICE_TO_HOST), ACL_SUCCESS) << message();
    return out;
  }
};

inline std::vector<float> random_floats(std::size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

inline std::vector<float> zeros(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return std::vector<float>(static_cast<std::size_t>(n), 0.0f);
}

// Phase 2 with a fresh workspace, then a stream sync.
inline void run(const char* what, aclnnStatus (*phase2)(void*, uint64_t, aclOpExecutor*, aclrtStream), uint64_t ws,
                aclOpExecutor* ex, aclrtStream stream) {
  void* workspace = nullptr;
  if (ws > 0) ASSERT_EQ(aclrtMalloc(&workspace, ws, ACL_MEM_MALLOC_HUGE_FIRST), ACL_SUCCESS) << message();
  ASSERT_EQ(phase2(workspace, ws, ex, stream), ACL_SUCCESS) << what << ": " << message();
  ASSERT_EQ(aclrtSynchronizeStream(stream), ACL_SUCCESS) << message();
  if (workspace) aclrtFree(workspace);
}

// The C++ API's result of the same problem, on its own Context of the same device.
struct CppTensors {
  cannon::Context ctx = cannon::Context::create();
  std::vector<cannon::DeviceTensor> keep;
  cannon::TensorView upload(const void* host, std::size_t bytes, cannon::TensorDesc desc) {
    keep.push_back(cannon::allocate(ctx, std::move(desc)));
    cannon::upload(ctx, keep.back().view(), host, bytes);
    return keep.back().view();
  }
  cannon::TensorView upload(const std::vector<float>& host, std::vector<int64_t> shape) {
    return upload(host.data(), host.size() * sizeof(float), {cannon::DType::kFloat32, std::move(shape)});
  }
  static std::vector<float> download(const cannon::Context& ctx, const cannon::DeviceTensor& t) {
    std::vector<float> out(static_cast<std::size_t>(t.desc().numel()));
    cannon::download(ctx, t.view(), out.data(), out.size() * sizeof(float));
    return out;
  }
};

// Calls one GetWorkspaceSize with its first input and one output replaceable: what the error checks vary.
using Phase1 =
    std::function<aclnnStatus(const aclTensor* first, const aclTensor* out, uint64_t* ws, aclOpExecutor** ex)>;

// Both phases with the given first input and output, then a stream sync.
inline void run_both(const char* what, const Phase1& call, const aclTensor* first, const aclTensor* out,
                     aclnnStatus (*phase2)(void*, uint64_t, aclOpExecutor*, aclrtStream), aclrtStream stream) {
  uint64_t ws = 0;
  aclOpExecutor* ex = nullptr;
  ASSERT_EQ(call(first, out, &ws, &ex), ACLNN_SUCCESS) << what << ": " << message();
  run(what, phase2, ws, ex, stream);
}

// The errors every entry point must report: a null first input (ACLNN_ERR_PARAM_NULLPTR), an int8 first input and
// an output of the wrong shape (ACLNN_ERR_PARAM_INVALID), a null workspaceSize, each with a message naming it; then
// the run call's own checks (null executor, another operator's executor, a short workspace).
inline void expect_errors(const Phase1& call, const aclTensor* first, const char* first_name, const aclTensor* out,
                          const char* out_name, const std::vector<int64_t>& first_shape,
                          const std::vector<int64_t>& out_shape,
                          aclnnStatus (*phase2)(void*, uint64_t, aclOpExecutor*, aclrtStream), aclrtStream stream) {
  uint64_t ws = 0;
  aclOpExecutor* ex = nullptr;
  EXPECT_EQ(call(nullptr, out, &ws, &ex), ACLNN_ERR_PARAM_NULLPTR);
  EXPECT_NE(message().find(first_name), std::string::npos) << first_name;
  std::vector<int8_t> bytes(1 << 16, 1);
  Dev int8(bytes.data(), 1, first_shape, ACL_INT8);
  EXPECT_EQ(call(int8.tensor, out, &ws, &ex), ACLNN_ERR_PARAM_INVALID);
  EXPECT_NE(message().find(first_name), std::string::npos) << first_name;
  std::vector<int64_t> wrong = out_shape;
  wrong.back() += 1;
  std::vector<float> big(1 << 16, 0.0f);
  Dev bad_out(big.data(), sizeof(float), wrong, ACL_FLOAT);
  EXPECT_EQ(call(first, bad_out.tensor, &ws, &ex), ACLNN_ERR_PARAM_INVALID);
  EXPECT_NE(message().find(out_name), std::string::npos) << out_name;
  // A host address is not device memory.
  const int64_t one = 1;
  aclTensor* host = aclCreateTensor(&one, 1, ACL_FLOAT, &one, 0, ACL_FORMAT_ND, &one, 1, big.data());
  EXPECT_EQ(call(first, host, &ws, &ex), ACLNN_ERR_PARAM_INVALID);
  EXPECT_NE(message().find("aclrtMalloc"), std::string::npos);
  aclDestroyTensor(host);
  EXPECT_EQ(call(first, out, nullptr, &ex), ACLNN_ERR_PARAM_NULLPTR);
  EXPECT_NE(message().find("workspaceSize"), std::string::npos);
  EXPECT_EQ(call(first, out, &ws, nullptr), ACLNN_ERR_PARAM_NULLPTR);
  EXPECT_NE(message().find("executor"), std::string::npos);

  EXPECT_EQ(phase2(nullptr, 0, nullptr, stream), ACLNN_ERR_PARAM_NULLPTR);
  EXPECT_NE(message().find("executor"), std::string::npos);
  ASSERT_EQ(call(first, out, &ws, &ex), ACLNN_SUCCESS) << message();
  auto other = phase2 == aclnnRingAttentionUpdate ? aclnnNsaSelectedAttention : aclnnRingAttentionUpdate;
  EXPECT_EQ(other(nullptr, ws, ex, stream), ACLNN_ERR_PARAM_INVALID);  // consumes the executor
  EXPECT_NE(message().find("executor"), std::string::npos);
  if (ws > 0) {
    ASSERT_EQ(call(first, out, &ws, &ex), ACLNN_SUCCESS) << message();
    EXPECT_EQ(phase2(nullptr, ws - 1, ex, stream), ACLNN_ERR_PARAM_INVALID);
    EXPECT_NE(message().find("workspaceSize"), std::string::npos);
  }
}

inline cannon::FlashAttentionScoreAttrs fa_attrs(int64_t heads, double scale, const char* layout) {
  cannon::FlashAttentionScoreAttrs attrs;
  attrs.head_num = heads;
  attrs.scale = scale;
  attrs.input_layout = layout;
  return attrs;
}

}  // namespace aclnn_test
