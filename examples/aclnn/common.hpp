// What every example program here shares, written the way CANN's aclnn example programs write it: the fixed
// init sequence, CreateAclTensor (aclrtMalloc + aclrtMemcpy + aclCreateTensor with contiguous strides), printing
// results as "result[i] is: v", and the check that compares a result with the program's own float64 reference.
// Nothing here is cannon-specific: the programs build against CANN's headers and libraries too.
#pragma once

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "acl/acl.h"

#define CHECK_RET(cond, return_expr) \
  do {                               \
    if (!(cond)) {                   \
      return_expr;                   \
    }                                \
  } while (0)

#define LOG_PRINT(message, ...)     \
  do {                              \
    printf(message, ##__VA_ARGS__); \
  } while (0)

inline int64_t GetShapeSize(const std::vector<int64_t>& shape) {
  int64_t size = 1;
  for (int64_t d : shape) size *= d;
  return size;
}

inline int Init(int32_t deviceId, aclrtContext* context, aclrtStream* stream) {
  auto ret = aclInit(nullptr);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclInit failed. ERROR: %d\n", ret); return ret);
  ret = aclrtSetDevice(deviceId);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtSetDevice failed. ERROR: %d\n", ret); return ret);
  ret = aclrtCreateContext(context, deviceId);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtCreateContext failed. ERROR: %d\n", ret); return ret);
  ret = aclrtSetCurrentContext(*context);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtSetCurrentContext failed. ERROR: %d\n", ret); return ret);
  ret = aclrtCreateStream(stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtCreateStream failed. ERROR: %d\n", ret); return ret);
  return 0;
}

template <typename T>
int CreateAclTensor(const std::vector<T>& hostData, const std::vector<int64_t>& shape, void** deviceAddr,
                    aclDataType dataType, aclTensor** tensor) {
  auto size = GetShapeSize(shape) * sizeof(T);
  auto ret = aclrtMalloc(deviceAddr, size, ACL_MEM_MALLOC_HUGE_FIRST);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtMalloc failed. ERROR: %d\n", ret); return ret);
  ret = aclrtMemcpy(*deviceAddr, size, hostData.data(), size, ACL_MEMCPY_HOST_TO_DEVICE);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtMemcpy failed. ERROR: %d\n", ret); return ret);
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; i--) strides[i] = shape[i + 1] * strides[i + 1];
  *tensor = aclCreateTensor(shape.data(), shape.size(), dataType, strides.data(), 0, aclFormat::ACL_FORMAT_ND,
                            shape.data(), shape.size(), *deviceAddr);
  CHECK_RET(*tensor != nullptr, LOG_PRINT("aclCreateTensor failed: %s\n", aclGetRecentErrMsg()); return -1);
  return 0;
}

// Copies a float result back and prints its first and last elements as CANN's examples print every element.
inline std::vector<float> CopyOut(const std::vector<int64_t>& shape, void* deviceAddr, const char* name) {
  std::vector<float> host(static_cast<size_t>(GetShapeSize(shape)), 0.0f);
  auto ret = aclrtMemcpy(host.data(), host.size() * sizeof(float), deviceAddr, host.size() * sizeof(float),
                         ACL_MEMCPY_DEVICE_TO_HOST);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("copy %s from device to host failed. ERROR: %d\n", name, ret); return {});
  for (size_t i = 0; i < host.size(); i++) {
    if (i < 3 || i + 1 == host.size()) LOG_PRINT("%s result[%zu] is: %f\n", name, i, host[i]);
  }
  return host;
}

// Uniform values in [-1, 1) from a fixed seed, so a run is reproducible.
inline std::vector<float> RandomData(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

// Largest |got - want| / (1 + |want|) over all elements, printed; true when within `tol`.
inline bool Check(const char* name, const std::vector<float>& got, const std::vector<double>& want, double tol) {
  double worst = got.size() == want.size() ? 0.0 : INFINITY;
  for (size_t i = 0; i < std::min(got.size(), want.size()); i++) {
    const double err = std::fabs(got[i] - want[i]) / (1.0 + std::fabs(want[i]));
    worst = std::isnan(err) ? INFINITY : std::max(worst, err);
  }
  LOG_PRINT("check %s: %zu elements, max relative error %.3g (limit %.3g): %s\n", name, got.size(), worst, tol,
            worst <= tol ? "PASSED" : "FAILED");
  return worst <= tol;
}

// One softmax row over `scores` in float64: the row's max, sum of exp(s - max) and the weights.
inline void SoftmaxRow(const std::vector<double>& scores, double& max, double& sum, std::vector<double>& p) {
  max = -INFINITY;
  for (double s : scores) max = std::max(max, s);
  sum = 0.0;
  p.resize(scores.size());
  for (size_t j = 0; j < scores.size(); j++) sum += (p[j] = std::exp(scores[j] - max));
  for (double& x : p) x /= sum;
}
