// The aclnn C API through libcannon's exports only (no internals): the runtime calls (lifecycle, devices,
// contexts, streams, memory bounds, offset addresses), the object calls, the fp16 helpers, and every forward operator
// entry point (the backward's: aclnn_grad_test.cpp): each runs a problem whose results must equal, bit for bit, the
// same problem through the C++ API (itself checked against the float64 reference by the op tests), and each turns
// null pointers, wrong dtypes and wrong shapes into CANN's status codes with a message naming the argument.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "aclnn_test_util.hpp"
#include "aclnnop/aclnn_flash_attention_score.h"

namespace aclnn_test {
namespace {

TEST_F(AclnnApi, RuntimeLifecycleAndContexts) {
  EXPECT_EQ(aclInit(nullptr), ACL_ERROR_REPEAT_INITIALIZE);
  EXPECT_NE(message().find("aclInit"), std::string::npos);
  EXPECT_EQ(message(), "");  // consumed
  uint32_t count = 0;
  ASSERT_EQ(aclrtGetDeviceCount(&count), ACL_SUCCESS);
  EXPECT_GE(count, 1u);
  EXPECT_EQ(aclrtSetDevice(static_cast<int32_t>(count)), ACL_ERROR_RT_INVALID_DEVICEID);
  EXPECT_NE(message().find("deviceId"), std::string::npos);
  EXPECT_EQ(aclrtSetDevice(-1), ACL_ERROR_RT_INVALID_DEVICEID);
  int32_t device = -1;
  ASSERT_EQ(aclrtGetDevice(&device), ACL_SUCCESS);
  EXPECT_EQ(device, 0);
  aclrtContext made = nullptr, current = nullptr;
  ASSERT_EQ(aclrtCreateContext(&made, 0), ACL_SUCCESS);
  ASSERT_EQ(aclrtGetCurrentContext(&current), ACL_SUCCESS);
  EXPECT_EQ(current, made);
  EXPECT_EQ(aclrtSetCurrentContext(made), ACL_SUCCESS);
  EXPECT_EQ(aclrtDestroyContext(made), ACL_SUCCESS);
  EXPECT_EQ(aclrtDestroyContext(made), ACL_ERROR_INVALID_PARAM);
  EXPECT_EQ(aclrtSetCurrentContext(made), ACL_ERROR_INVALID_PARAM);
  EXPECT_EQ(aclrtGetCurrentContext(&current), ACL_ERROR_RT_CONTEXT_NULL);  // the destroyed one was current
  ASSERT_EQ(aclrtSetDevice(0), ACL_SUCCESS);
  EXPECT_EQ(aclrtResetDevice(0), ACL_SUCCESS);  // set twice: TearDown's reset is the last
  EXPECT_EQ(aclrtDestroyStream(nullptr), ACL_ERROR_RT_INVALID_HANDLE);
  // Another thread has no current context until it sets one; a host-to-host copy needs none.
  aclError in_thread = ACL_SUCCESS, host_copy = ACL_ERROR_FAILURE;
  int from = 7, to = 0;
  std::thread([&] {
    void* p = nullptr;
    in_thread = aclrtMalloc(&p, 16, ACL_MEM_MALLOC_HUGE_FIRST);
    aclGetRecentErrMsg();
    host_copy = aclrtMemcpy(&to, sizeof to, &from, sizeof from, ACL_MEMCPY_DEFAULT);
  }).join();
  EXPECT_EQ(in_thread, ACL_ERROR_RT_CONTEXT_NULL);
  EXPECT_EQ(host_copy, ACL_SUCCESS);
  EXPECT_EQ(to, 7);
}

TEST_F(AclnnApi, MemoryCopiesStayInsideAllocations) {
  void* dev = nullptr;
  ASSERT_EQ(aclrtMalloc(&dev, 64, ACL_MEM_MALLOC_HUGE_FIRST), ACL_SUCCESS);
  void* none = nullptr;
  EXPECT_EQ(aclrtMalloc(&none, 0, ACL_MEM_MALLOC_HUGE_FIRST), ACL_ERROR_INVALID_PARAM);
  EXPECT_EQ(aclrtMalloc(nullptr, 8, ACL_MEM_MALLOC_HUGE_FIRST), ACL_ERROR_INVALID_PARAM);
  std::vector<uint8_t> host(100), back(100, 0);
  for (std::size_t i = 0; i < host.size(); ++i) host[i] = static_cast<uint8_t>(i * 7 + 1);
  EXPECT_EQ(aclrtMemcpy(dev, 100, host.data(), 65, ACL_MEMCPY_HOST_TO_DEVICE), ACL_ERROR_INVALID_PARAM);
  EXPECT_NE(message().find("run past its end"), std::string::npos);
  EXPECT_EQ(aclrtMemcpy(dev, 32, host.data(), 64, ACL_MEMCPY_HOST_TO_DEVICE), ACL_ERROR_INVALID_PARAM);
  EXPECT_NE(message().find("destMax"), std::string::npos);
  EXPECT_EQ(aclrtMemcpy(host.data(), 100, back.data(), 4, ACL_MEMCPY_HOST_TO_DEVICE), ACL_ERROR_INVALID_PARAM);
  ASSERT_EQ(aclrtMemcpy(dev, 64, host.data(), 64, ACL_MEMCPY_HOST_TO_DEVICE), ACL_SUCCESS);
  // Offset addresses: pointer arithmetic on a device address works as on Ascend.
  void* mid = static_cast<uint8_t*>(dev) + 16;
  ASSERT_EQ(aclrtMemset(mid, 48, 0xAB, 8), ACL_SUCCESS);
  EXPECT_EQ(aclrtMemset(mid, 4, 0, 8), ACL_ERROR_INVALID_PARAM);                       // count above maxCount
  ASSERT_EQ(aclrtMemcpy(back.data(), 100, mid, 48, ACL_MEMCPY_DEFAULT), ACL_SUCCESS);  // kind from the addresses
  for (int i = 0; i < 48; ++i) EXPECT_EQ(back[i], i < 8 ? 0xAB : host[16 + i]) << i;
  void* other = nullptr;
  ASSERT_EQ(aclrtMalloc(&other, 64, ACL_MEM_MALLOC_HUGE_FIRST), ACL_SUCCESS);
  ASSERT_EQ(aclrtMemcpyAsync(other, 64, dev, 64, ACL_MEMCPY_DEVICE_TO_DEVICE, stream_), ACL_SUCCESS);
  ASSERT_EQ(aclrtSynchronizeStream(stream_), ACL_SUCCESS);
  ASSERT_EQ(aclrtMemcpy(back.data(), 64, other, 64, ACL_MEMCPY_DEVICE_TO_HOST), ACL_SUCCESS);
  EXPECT_EQ(back[0], host[0]);
  EXPECT_EQ(back[16], 0xAB);
  EXPECT_EQ(aclrtMemcpy(static_cast<uint8_t*>(dev) + 8, 56, dev, 16, ACL_MEMCPY_DEVICE_TO_DEVICE),
            ACL_ERROR_INVALID_PARAM);                  // overlapping
  EXPECT_EQ(aclrtFree(mid), ACL_ERROR_INVALID_PARAM);  // not the start
  EXPECT_EQ(aclrtFree(host.data()), ACL_ERROR_INVALID_PARAM);
  EXPECT_EQ(aclrtFree(dev), ACL_SUCCESS);
  EXPECT_EQ(aclrtFree(dev), ACL_ERROR_INVALID_PARAM);  // twice
  EXPECT_EQ(aclrtMemcpy(back.data(), 8, dev, 8, ACL_MEMCPY_DEVICE_TO_HOST), ACL_ERROR_INVALID_PARAM);
  EXPECT_EQ(aclrtFree(other), ACL_SUCCESS);
}

TEST(AclnnFp16, ConvertsAsCannDoes) {
  EXPECT_EQ(aclFloatToFloat16(1.0f), 0x3C00);
  EXPECT_EQ(aclFloatToFloat16(65504.0f), 0x7BFF);
  EXPECT_EQ(aclFloatToFloat16(1e6f), 0x7BFF);  // saturates instead of Inf
  EXPECT_EQ(aclFloatToFloat16(-1e6f), 0xFBFF);
  EXPECT_EQ(aclFloatToFloat16(NAN), 0x7BFF);
  EXPECT_EQ(aclFloatToFloat16(1.0f + 0x1p-11f), 0x3C00);  // a tie rounds to even
  EXPECT_EQ(aclFloatToFloat16(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01);
  EXPECT_EQ(aclFloat16ToFloat(0x3C01), 1.0f + 0x1p-10f);
  EXPECT_EQ(aclFloat16ToFloat(0x0001), 0x1p-24f);
  EXPECT_EQ(aclFloat16ToFloat(0xFC00), -65536.0f);
  EXPECT_EQ(aclFloat16ToFloat(0x7E00), 98304.0f);
}

TEST(AclnnObjects, RejectBadArguments) {
  const int64_t dims[2] = {2, 3}, negative[2] = {2, -3};
  EXPECT_EQ(aclCreateTensor(nullptr, 2, ACL_FLOAT, nullptr, 0, ACL_FORMAT_ND, nullptr, 0, nullptr), nullptr);
  EXPECT_NE(message().find("viewDims"), std::string::npos);
  EXPECT_EQ(aclCreateTensor(negative, 2, ACL_FLOAT, nullptr, 0, ACL_FORMAT_ND, dims, 2, nullptr), nullptr);
  EXPECT_EQ(aclCreateTensor(dims, 2, ACL_FLOAT, negative, 0, ACL_FORMAT_ND, dims, 2, nullptr), nullptr);
  EXPECT_NE(message().find("stride"), std::string::npos);
  EXPECT_EQ(aclCreateTensor(dims, 2, ACL_FLOAT, dims, -1, ACL_FORMAT_ND, dims, 2, nullptr), nullptr);
  EXPECT_EQ(aclCreateIntArray(nullptr, 3), nullptr);
  EXPECT_EQ(aclDestroyTensor(nullptr), ACLNN_SUCCESS);
  EXPECT_EQ(aclDestroyIntArray(nullptr), ACLNN_SUCCESS);
  EXPECT_EQ(aclSetAclOpExecutorRepeatable(nullptr), ACLNN_ERR_INNER_NULLPTR);
  EXPECT_EQ(aclDestroyAclOpExecutor(nullptr), ACLNN_ERR_INNER_NULLPTR);
}

// The three FlashAttentionScore outputs equal the C++ API's, bit for bit.
void expect_fa_outputs(const Dev& out, const Dev& smax, const Dev& ssum, const cannon::FlashAttentionScoreResult& want,
                       const cannon::Context& ctx, const std::string& label) {
  EXPECT_EQ(out.read<float>(), CppTensors::download(ctx, want.attention_out)) << label;
  EXPECT_EQ(smax.read<float>(), CppTensors::download(ctx, want.softmax_max)) << label;
  EXPECT_EQ(ssum.read<float>(), CppTensors::download(ctx, want.softmax_sum)) << label;
}

// B=2, S1=37, S2=53, N1=4, N2=2, D=40, fp32 in `layout` through the C++ API: the outputs to compare with.
struct FaCase {
  int64_t b = 2, s1 = 37, s2 = 53, n1 = 4, n2 = 2, d = 40;
  std::vector<float> q = random_floats(b * s1 * n1 * d, 1), k = random_floats(b * s2 * n2 * d, 2),
                     v = random_floats(b * s2 * n2 * d, 3);
  std::vector<int64_t> q_shape{b, s1, n1, d}, kv_shape{b, s2, n2, d}, stat_shape{b, n1, s1, 8};
};

TEST_F(AclnnApi, FlashAttentionScoreMatchesTheCppApi) {
  const FaCase c;
  Dev q(c.q, c.q_shape, ACL_FLOAT), k(c.k, c.kv_shape, ACL_FLOAT), v(c.v, c.kv_shape, ACL_FLOAT);
  Dev out(zeros(c.q_shape), c.q_shape, ACL_FLOAT), smax(zeros(c.stat_shape), c.stat_shape, ACL_FLOAT),
      ssum(zeros(c.stat_shape), c.stat_shape, ACL_FLOAT);
  char layout[] = "BSND";
  const double scale = 0.3;
  // V1 and V2 (pse_type 1 and sparse mode 0 are V1's meaning) give the same bytes.
  for (int version : {1, 2}) {
    uint64_t ws = 0;
    aclOpExecutor* ex = nullptr;
    if (version == 1) {
      ASSERT_EQ(aclnnFlashAttentionScoreGetWorkspaceSize(
                    q.tensor, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr, nullptr, scale, 1.0, INT32_MAX,
                    INT32_MAX, c.n1, layout, 0, 0, smax.tensor, ssum.tensor, nullptr, out.tensor, &ws, &ex),
                ACLNN_SUCCESS)
          << message();
      run("aclnnFlashAttentionScore", aclnnFlashAttentionScore, ws, ex, stream_);
    } else {
      ASSERT_EQ(aclnnFlashAttentionScoreV2GetWorkspaceSize(q.tensor, k.tensor, v.tensor, nullptr, nullptr, nullptr,
                                                           nullptr, nullptr, nullptr, nullptr, scale, 1.0, INT32_MAX,
                                                           INT32_MAX, c.n1, layout, 0, 0, 1, smax.tensor, ssum.tensor,
                                                           nullptr, out.tensor, &ws, &ex),
                ACLNN_SUCCESS)
          << message();
      run("aclnnFlashAttentionScoreV2", aclnnFlashAttentionScoreV2, ws, ex, stream_);
    }
    CppTensors cpp;
    const cannon::FlashAttentionScoreResult want =
        cannon::flash_attention_score(cpp.ctx, cpp.upload(c.q, c.q_shape), cpp.upload(c.k, c.kv_shape),
                                      cpp.upload(c.v, c.kv_shape), fa_attrs(c.n1, scale, "BSND"));
    expect_fa_outputs(out, smax, ssum, want, cpp.ctx, "V" + std::to_string(version));
  }
  expect_errors(
      [&](const aclTensor* first, const aclTensor* o, uint64_t* ws, aclOpExecutor** ex) {
        return aclnnFlashAttentionScoreGetWorkspaceSize(first, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr,
                                                        nullptr, scale, 1.0, INT32_MAX, INT32_MAX, c.n1, layout, 0, 0,
                                                        smax.tensor, ssum.tensor, nullptr, o, ws, ex);
      },
      q.tensor, "query", out.tensor, "attentionOutOut", c.q_shape, c.q_shape, aclnnFlashAttentionScore, stream_);
  expect_errors(
      [&](const aclTensor* first, const aclTensor* o, uint64_t* ws, aclOpExecutor** ex) {
        return aclnnFlashAttentionScoreV2GetWorkspaceSize(
            first, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, scale, 1.0,
            INT32_MAX, INT32_MAX, c.n1, layout, 0, 0, 1, o, ssum.tensor, nullptr, out.tensor, ws, ex);
      },
      q.tensor, "query", smax.tensor, "softmaxMaxOut", c.q_shape, c.stat_shape, aclnnFlashAttentionScoreV2, stream_);
}

// Strided, offset views (aclCreateTensor's stride and offset) give the bytes of contiguous ones; a repeatable
// executor runs twice.
TEST_F(AclnnApi, StridedOffsetViewsAndRepeatableExecutors) {
  const FaCase c;
  Dev q(c.q, c.q_shape, ACL_FLOAT), k(c.k, c.kv_shape, ACL_FLOAT), v(c.v, c.kv_shape, ACL_FLOAT);
  Dev qs(c.q.data(), sizeof(float), c.q_shape, ACL_FLOAT, 5, {c.b, c.s1 + 3, c.n1 + 1, c.d + 8});
  Dev ks(c.k.data(), sizeof(float), c.kv_shape, ACL_FLOAT, 1, {c.b, c.s2, c.n2 + 2, c.d});
  Dev out1(zeros(c.q_shape), c.q_shape, ACL_FLOAT), out2(zeros(c.q_shape), c.q_shape, ACL_FLOAT);
  Dev smax(zeros(c.stat_shape), c.stat_shape, ACL_FLOAT), ssum(zeros(c.stat_shape), c.stat_shape, ACL_FLOAT);
  char layout[] = "BSND";
  uint64_t ws = 0;
  aclOpExecutor* ex = nullptr;
  ASSERT_EQ(aclnnFlashAttentionScoreGetWorkspaceSize(q.tensor, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr,
                                                     nullptr, 0.5, 1.0, INT32_MAX, INT32_MAX, c.n1, layout, 0, 0,
                                                     smax.tensor, ssum.tensor, nullptr, out1.tensor, &ws, &ex),
            ACLNN_SUCCESS)
      << message();
  ASSERT_EQ(aclSetAclOpExecutorRepeatable(ex), ACLNN_SUCCESS);
  run("first", aclnnFlashAttentionScore, ws, ex, stream_);
  ASSERT_EQ(aclrtMemset(out1.addr, out1.bytes, 0, out1.bytes), ACL_SUCCESS);
  run("again", aclnnFlashAttentionScore, ws, ex, stream_);
  EXPECT_EQ(aclDestroyAclOpExecutor(ex), ACLNN_SUCCESS);
  ASSERT_EQ(aclnnFlashAttentionScoreGetWorkspaceSize(qs.tensor, ks.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr,
                                                     nullptr, 0.5, 1.0, INT32_MAX, INT32_MAX, c.n1, layout, 0, 0,
                                                     smax.tensor, ssum.tensor, nullptr, out2.tensor, &ws, &ex),
            ACLNN_SUCCESS)
      << message();
  run("strided", aclnnFlashAttentionScore, ws, ex, stream_);
  const std::vector<float> a = out1.read<float>(), b = out2.read<float>();
  EXPECT_EQ(a, b);
  EXPECT_FALSE(std::isnan(a[0]));
  // A view that leaves its allocation is refused before anything runs.
  const std::vector<int64_t> strides{c.s1 * c.n1 * c.d, c.n1 * c.d, c.d, 1};
  aclTensor* past =
      aclCreateTensor(c.q_shape.data(), 4, ACL_FLOAT, strides.data(), 1, ACL_FORMAT_ND, c.q_shape.data(), 4, q.addr);
  EXPECT_EQ(aclnnFlashAttentionScoreGetWorkspaceSize(past, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr,
                                                     nullptr, 0.5, 1.0, INT32_MAX, INT32_MAX, c.n1, layout, 0, 0,
                                                     smax.tensor, ssum.tensor, nullptr, out2.tensor, &ws, &ex),
            ACLNN_ERR_PARAM_INVALID);
  EXPECT_NE(message().find("query"), std::string::npos);
  aclDestroyTensor(past);
}

// TND through VarLen V1, V2 and V4 (both softmax layouts, and CANN's [N,T,8] shape for the default one).
TEST_F(AclnnApi, FlashAttentionVarLenScoreMatchesTheCppApi) {
  const int64_t n1 = 4, n2 = 2, d = 40;
  const std::vector<int64_t> cum_q{30, 30, 107}, cum_kv{50, 120, 240};
  const int64_t t1 = cum_q.back(), t2 = cum_kv.back();
  const std::vector<float> qh = random_floats(t1 * n1 * d, 4), kh = random_floats(t2 * n2 * d, 5),
                           vh = random_floats(t2 * n2 * d, 6);
  const std::vector<int64_t> q_shape{t1, n1, d}, kv_shape{t2, n2, d}, tnd_stats{t1, n1, 8}, ntd_stats{n1, t1, 8};
  Dev q(qh, q_shape, ACL_FLOAT), k(kh, kv_shape, ACL_FLOAT), v(vh, kv_shape, ACL_FLOAT);
  aclIntArray* seq_q = aclCreateIntArray(cum_q.data(), cum_q.size());
  aclIntArray* seq_kv = aclCreateIntArray(cum_kv.data(), cum_kv.size());
  char layout[] = "TND";
  const double scale = 0.2;
  for (int variant = 0; variant < 4; ++variant) {  // V1, V2, V4 "same_as_input", V4 "" with [N,T,8]
    const bool same_as_input = variant == 2;
    const std::vector<int64_t>& stat_shape = variant == 3 ? ntd_stats : tnd_stats;
    Dev out(zeros(q_shape), q_shape, ACL_FLOAT), smax(zeros(stat_shape), stat_shape, ACL_FLOAT),
        ssum(zeros(stat_shape), stat_shape, ACL_FLOAT);
    uint64_t ws = 0;
    aclOpExecutor* ex = nullptr;
    char same[] = "same_as_input", empty[] = "";
    if (variant == 0) {
      ASSERT_EQ(aclnnFlashAttentionVarLenScoreGetWorkspaceSize(q.tensor, k.tensor, v.tensor, nullptr, nullptr, nullptr,
                                                               nullptr, nullptr, seq_q, seq_kv, scale, 1.0, INT32_MAX,
                                                               INT32_MAX, n1, layout, 0, 0, smax.tensor, ssum.tensor,
                                                               nullptr, out.tensor, &ws, &ex),
                ACLNN_SUCCESS)
          << message();
      run("VarLen", aclnnFlashAttentionVarLenScore, ws, ex, stream_);
    } else if (variant == 1) {
      ASSERT_EQ(aclnnFlashAttentionVarLenScoreV2GetWorkspaceSize(
                    q.tensor, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr, nullptr, seq_q, seq_kv, nullptr,
                    nullptr, scale, 1.0, INT32_MAX, INT32_MAX, n1, layout, 0, 0, 1, smax.tensor, ssum.tensor, nullptr,
                    out.tensor, &ws, &ex),
                ACLNN_SUCCESS)
          << message();
      run("VarLenV2", aclnnFlashAttentionVarLenScoreV2, ws, ex, stream_);
    } else {
      ASSERT_EQ(aclnnFlashAttentionVarLenScoreV4GetWorkspaceSize(
                    q.tensor, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr, nullptr, seq_q, seq_kv, scale,
                    1.0, INT32_MAX, INT32_MAX, n1, layout, 0, 0, same_as_input ? same : empty, smax.tensor, ssum.tensor,
                    nullptr, out.tensor, &ws, &ex),
                ACLNN_SUCCESS)
          << message();
      run("VarLenV4", aclnnFlashAttentionVarLenScoreV4, ws, ex, stream_);
    }
    CppTensors cpp;
    cannon::FlashAttentionScoreAttrs attrs = fa_attrs(n1, scale, "TND");
    attrs.actual_seq_qlen = cum_q;
    attrs.actual_seq_kvlen = cum_kv;
    attrs.softmax_layout = same_as_input ? "TND" : "";
    const cannon::FlashAttentionScoreResult want = cannon::flash_attention_score(
        cpp.ctx, cpp.upload(qh, q_shape), cpp.upload(kh, kv_shape), cpp.upload(vh, kv_shape), attrs);
    expect_fa_outputs(out, smax, ssum, want, cpp.ctx, "VarLen variant " + std::to_string(variant));
  }
  Dev out(zeros(q_shape), q_shape, ACL_FLOAT), smax(zeros(tnd_stats), tnd_stats, ACL_FLOAT),
      ssum(zeros(tnd_stats), tnd_stats, ACL_FLOAT);
  char bad_layout[] = "NTD";
  uint64_t ws = 0;
  aclOpExecutor* ex = nullptr;
  EXPECT_EQ(aclnnFlashAttentionVarLenScoreV4GetWorkspaceSize(q.tensor, k.tensor, v.tensor, nullptr, nullptr, nullptr,
                                                             nullptr, nullptr, seq_q, seq_kv, scale, 1.0, INT32_MAX,
                                                             INT32_MAX, n1, layout, 0, 0, bad_layout, smax.tensor,
                                                             ssum.tensor, nullptr, out.tensor, &ws, &ex),
            ACLNN_ERR_PARAM_INVALID);
  EXPECT_NE(message().find("softmaxOutLayout"), std::string::npos);
  EXPECT_EQ(aclnnFlashAttentionVarLenScoreGetWorkspaceSize(
                q.tensor, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr, nullptr, seq_q, seq_kv, scale, 0.9,
                INT32_MAX, INT32_MAX, n1, layout, 0, 0, smax.tensor, ssum.tensor, nullptr, out.tensor, &ws, &ex),
            ACLNN_ERR_PARAM_INVALID);  // dropout without a mask: aclnn has no seed
  EXPECT_NE(message().find("dropMaskOptional"), std::string::npos);
  const auto varlen_errors = [&](const Phase1& phase1, auto phase2) {
    expect_errors(phase1, q.tensor, "query", out.tensor, "attentionOutOut", q_shape, q_shape, phase2, stream_);
  };
  varlen_errors(
      [&](const aclTensor* first, const aclTensor* o, uint64_t* w, aclOpExecutor** e) {
        return aclnnFlashAttentionVarLenScoreGetWorkspaceSize(
            first, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr, nullptr, seq_q, seq_kv, scale, 1.0,
            INT32_MAX, INT32_MAX, n1, layout, 0, 0, smax.tensor, ssum.tensor, nullptr, o, w, e);
      },
      aclnnFlashAttentionVarLenScore);
  varlen_errors(
      [&](const aclTensor* first, const aclTensor* o, uint64_t* w, aclOpExecutor** e) {
        return aclnnFlashAttentionVarLenScoreV2GetWorkspaceSize(
            first, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr, nullptr, seq_q, seq_kv, nullptr, nullptr,
            scale, 1.0, INT32_MAX, INT32_MAX, n1, layout, 0, 0, 1, smax.tensor, ssum.tensor, nullptr, o, w, e);
      },
      aclnnFlashAttentionVarLenScoreV2);
  varlen_errors(
      [&](const aclTensor* first, const aclTensor* o, uint64_t* w, aclOpExecutor** e) {
        char same[] = "same_as_input";
        return aclnnFlashAttentionVarLenScoreV4GetWorkspaceSize(
            first, k.tensor, v.tensor, nullptr, nullptr, nullptr, nullptr, nullptr, seq_q, seq_kv, scale, 1.0,
            INT32_MAX, INT32_MAX, n1, layout, 0, 0, same, smax.tensor, ssum.tensor, nullptr, o, w, e);
      },
      aclnnFlashAttentionVarLenScoreV4);
  aclDestroyIntArray(seq_q);
  aclDestroyIntArray(seq_kv);
}

// SBH through V1, TND through V2 (softmax layout TND, actual_seq_qlen a device int64 tensor).
TEST_F(AclnnApi, RingAttentionUpdateMatchesTheCppApi) {
  for (bool tnd : {false, true}) {
    const int64_t s = 33, b = 2, n = 2, d = 24, t = 40;
    const std::vector<int64_t> attn = tnd ? std::vector<int64_t>{t, n, d} : std::vector<int64_t>{s, b, n * d};
    const std::vector<int64_t> stats = tnd ? std::vector<int64_t>{t, n, 8} : std::vector<int64_t>{b, n, s, 8};
    const std::vector<int64_t> seq{0, 7, 7, t};
    const std::vector<float> po = random_floats(zeros(attn).size(), 7), co = random_floats(zeros(attn).size(), 8);
    const std::vector<float> pm = random_floats(zeros(stats).size(), 9), cm = random_floats(zeros(stats).size(), 10);
    const std::vector<float> ps = random_floats(zeros(stats).size(), 11, 0.5f, 3.0f),
                             cs = random_floats(zeros(stats).size(), 12, 0.5f, 3.0f);
    Dev dpo(po, attn, ACL_FLOAT), dpm(pm, stats, ACL_FLOAT), dps(ps, stats, ACL_FLOAT);
    Dev dco(co, attn, ACL_FLOAT), dcm(cm, stats, ACL_FLOAT), dcs(cs, stats, ACL_FLOAT);
    Dev out(zeros(attn), attn, ACL_FLOAT), omax(zeros(stats), stats, ACL_FLOAT), osum(zeros(stats), stats, ACL_FLOAT);
    Dev dseq(seq, {4}, ACL_INT64);
    char sbh[] = "SBH", tnd_layout[] = "TND";
    const auto phase1 = [&](const aclTensor* first, const aclTensor* o, uint64_t* w, aclOpExecutor** e) {
      return tnd ? aclnnRingAttentionUpdateV2GetWorkspaceSize(first, dpm.tensor, dps.tensor, dco.tensor, dcm.tensor,
                                                              dcs.tensor, dseq.tensor, tnd_layout, tnd_layout, o,
                                                              omax.tensor, osum.tensor, w, e)
                 : aclnnRingAttentionUpdateGetWorkspaceSize(first, dpm.tensor, dps.tensor, dco.tensor, dcm.tensor,
                                                            dcs.tensor, nullptr, sbh, o, omax.tensor, osum.tensor, w,
                                                            e);
    };
    const auto phase2 = tnd ? aclnnRingAttentionUpdateV2 : aclnnRingAttentionUpdate;
    run_both("RingAttentionUpdate", phase1, dpo.tensor, out.tensor, phase2, stream_);

    CppTensors cpp;
    cannon::RingAttentionUpdateAttrs attrs;
    attrs.input_layout = tnd ? "TND" : "SBH";
    attrs.softmax_layout = tnd ? "TND" : "";
    std::optional<cannon::TensorView> seq_view;
    if (tnd) {
      cpp.keep.push_back(cannon::allocate(cpp.ctx, {cannon::DType::kInt64, {4}}));
      cannon::upload(cpp.ctx, cpp.keep.back().view(), seq.data(), seq.size() * sizeof(int64_t));
      seq_view = cpp.keep.back().view();
    }
    const cannon::RingAttentionUpdateResult want = cannon::ring_attention_update(
        cpp.ctx, cpp.upload(po, attn), cpp.upload(pm, stats), cpp.upload(ps, stats), cpp.upload(co, attn),
        cpp.upload(cm, stats), cpp.upload(cs, stats), seq_view, attrs);
    EXPECT_EQ(out.read<float>(), CppTensors::download(cpp.ctx, want.attn_out)) << tnd;
    EXPECT_EQ(omax.read<float>(), CppTensors::download(cpp.ctx, want.softmax_max)) << tnd;
    EXPECT_EQ(osum.read<float>(), CppTensors::download(cpp.ctx, want.softmax_sum)) << tnd;
    expect_errors(phase1, dpo.tensor, "prevAttnOut", out.tensor, "attnOutOut", attn, attn, phase2, stream_);
    if (!tnd) {  // SBH never reads actualSeqQlenOptional: CANN's SBH example passes 4 bytes under an int64 [1,1] view
      const float one = 1.0f;
      Dev small(&one, sizeof one, {1}, ACL_FLOAT);
      const int64_t dims[2] = {1, 1};
      aclTensor* bogus = aclCreateTensor(dims, 2, ACL_INT64, nullptr, 0, ACL_FORMAT_ND, dims, 2, small.addr);
      uint64_t ws = 0;
      aclOpExecutor* ex = nullptr;
      char sbh_layout[] = "SBH";
      EXPECT_EQ(aclnnRingAttentionUpdateGetWorkspaceSize(dpo.tensor, dpm.tensor, dps.tensor, dco.tensor, dcm.tensor,
                                                         dcs.tensor, bogus, sbh_layout, out.tensor, omax.tensor,
                                                         osum.tensor, &ws, &ex),
                ACLNN_SUCCESS)
          << message();
      EXPECT_EQ(aclDestroyAclOpExecutor(ex), ACLNN_SUCCESS);
      aclDestroyTensor(bogus);
    }
    if (tnd) {  // TND needs actual_seq_qlen
      uint64_t ws = 0;
      aclOpExecutor* ex = nullptr;
      EXPECT_EQ(aclnnRingAttentionUpdateV2GetWorkspaceSize(dpo.tensor, dpm.tensor, dps.tensor, dco.tensor, dcm.tensor,
                                                           dcs.tensor, nullptr, tnd_layout, tnd_layout, out.tensor,
                                                           omax.tensor, osum.tensor, &ws, &ex),
                ACLNN_ERR_PARAM_NULLPTR);
      EXPECT_NE(message().find("actual_seq_qlen"), std::string::npos);
    }
  }
}

// fp32 (a cannon extension; Ascend takes fp16/bf16) so the C++ result compares bit for bit without rounding games.
TEST_F(AclnnApi, NsaSelectedAttentionMatchesTheCppApi) {
  const int64_t n1 = 4, n2 = 2, dqk = 64, dv = 32, block = 16, count = 3;
  const std::vector<int64_t> cum_q{9, 20}, cum_kv{128, 256};
  const int64_t t1 = cum_q.back(), t2 = cum_kv.back();
  const std::vector<int64_t> q_shape{t1, n1, dqk}, k_shape{t2, n2, dqk}, v_shape{t2, n2, dv}, topk_shape{t1, n2, count};
  const std::vector<int64_t> out_shape{t1, n1, dv}, stats{t1, n1, 8};
  const std::vector<float> qh = random_floats(t1 * n1 * dqk, 13), kh = random_floats(t2 * n2 * dqk, 14),
                           vh = random_floats(t2 * n2 * dv, 15);
  std::vector<int32_t> topk;
  for (int64_t i = 0; i < t1 * n2; ++i)
    for (int64_t c = 0; c < count; ++c) topk.push_back(static_cast<int32_t>((i * 5 + c * 3) % 8));  // 8 blocks a batch
  Dev q(qh, q_shape, ACL_FLOAT), k(kh, k_shape, ACL_FLOAT), v(vh, v_shape, ACL_FLOAT),
      dtopk(topk, topk_shape, ACL_INT32);
  Dev out(zeros(out_shape), out_shape, ACL_FLOAT), smax(zeros(stats), stats, ACL_FLOAT),
      ssum(zeros(stats), stats, ACL_FLOAT);
  aclIntArray* seq_q = aclCreateIntArray(cum_q.data(), cum_q.size());
  aclIntArray* seq_kv = aclCreateIntArray(cum_kv.data(), cum_kv.size());
  char layout[] = "TND";
  const auto phase1 = [&](const aclTensor* first, const aclTensor* o, uint64_t* w, aclOpExecutor** e) {
    return aclnnNsaSelectedAttentionGetWorkspaceSize(first, k.tensor, v.tensor, dtopk.tensor, nullptr, seq_q, seq_kv,
                                                     0.125, n1, layout, 0, block, count, smax.tensor, ssum.tensor, o, w,
                                                     e);
  };
  run_both("NsaSelectedAttention", phase1, q.tensor, out.tensor, aclnnNsaSelectedAttention, stream_);

  CppTensors cpp;
  cannon::NsaSelectedAttentionAttrs attrs;
  attrs.scale_value = 0.125;
  attrs.head_num = n1;
  attrs.select_block_size = block;
  attrs.select_block_count = count;
  attrs.actual_seq_qlen = cum_q;
  attrs.actual_seq_kvlen = cum_kv;
  cpp.keep.push_back(cannon::allocate(cpp.ctx, {cannon::DType::kInt32, topk_shape}));
  cannon::upload(cpp.ctx, cpp.keep.back().view(), topk.data(), topk.size() * sizeof(int32_t));
  const cannon::TensorView topk_view = cpp.keep.back().view();
  const cannon::NsaSelectedAttentionResult want =
      cannon::nsa_selected_attention(cpp.ctx, cpp.upload(qh, q_shape), cpp.upload(kh, k_shape), cpp.upload(vh, v_shape),
                                     topk_view, std::nullopt, attrs);
  EXPECT_EQ(out.read<float>(), CppTensors::download(cpp.ctx, want.attention_out));
  EXPECT_EQ(smax.read<float>(), CppTensors::download(cpp.ctx, want.softmax_max));
  EXPECT_EQ(ssum.read<float>(), CppTensors::download(cpp.ctx, want.softmax_sum));
  expect_errors(phase1, q.tensor, "query", out.tensor, "attentionOut", q_shape, out_shape, aclnnNsaSelectedAttention,
                stream_);
  // A block index outside its batch is found on the device and reported by the stream's synchronize.
  std::vector<int32_t> bad = topk;
  bad[4] = 9;
  Dev dbad(bad, topk_shape, ACL_INT32);
  uint64_t ws = 0;
  aclOpExecutor* ex = nullptr;
  ASSERT_EQ(aclnnNsaSelectedAttentionGetWorkspaceSize(q.tensor, k.tensor, v.tensor, dbad.tensor, nullptr, seq_q, seq_kv,
                                                      0.125, n1, layout, 0, block, count, smax.tensor, ssum.tensor,
                                                      out.tensor, &ws, &ex),
            ACLNN_SUCCESS);
  void* workspace = nullptr;
  if (ws > 0) ASSERT_EQ(aclrtMalloc(&workspace, ws, ACL_MEM_MALLOC_HUGE_FIRST), ACL_SUCCESS);
  ASSERT_EQ(aclnnNsaSelectedAttention(workspace, ws, ex, stream_), ACLNN_SUCCESS) << message();
  EXPECT_EQ(aclrtSynchronizeStream(stream_), ACL_ERROR_INVALID_PARAM);
  if (workspace) aclrtFree(workspace);
  EXPECT_NE(message().find("topk_indices"), std::string::npos);
  aclDestroyIntArray(seq_q);
  aclDestroyIntArray(seq_kv);
}

}  // namespace
}  // namespace aclnn_test
