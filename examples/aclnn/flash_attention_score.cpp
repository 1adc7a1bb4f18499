// aclnnFlashAttentionScoreV2 the way CANN's example program calls it (SBH, fp32, no mask), written for cannon's
// examples: once with all-ones inputs, where CANN's documentation prints attention_out 1, softmax_max D·scale and
// softmax_sum S2, and once with random inputs checked against a float64 reference computed here.
#include <cstring>

#include "aclnnop/aclnn_flash_attention_score.h"
#include "common.hpp"

namespace {

constexpr int64_t B = 1, N = 2, S1 = 128, S2 = 96, D = 64;

// attention_out [S1,B,N*D] and softmax max/sum [B,N,S1,8] of SBH inputs, in float64.
void Reference(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v, double scale,
               std::vector<double>& out, std::vector<double>& mx, std::vector<double>& sm) {
  out.assign(static_cast<size_t>(S1 * B * N * D), 0.0);
  mx.assign(static_cast<size_t>(B * N * S1 * 8), 0.0);
  sm = mx;
  std::vector<double> scores(S2), p;
  for (int64_t b = 0; b < B; b++)
    for (int64_t n = 0; n < N; n++)
      for (int64_t i = 0; i < S1; i++) {
        for (int64_t j = 0; j < S2; j++) {
          double dot = 0;
          for (int64_t d = 0; d < D; d++)
            dot += double(q[((i * B + b) * N + n) * D + d]) * k[((j * B + b) * N + n) * D + d];
          scores[j] = dot * scale;
        }
        double m, s;
        SoftmaxRow(scores, m, s, p);
        for (int64_t d = 0; d < D; d++) {
          double acc = 0;
          for (int64_t j = 0; j < S2; j++) acc += p[j] * v[((j * B + b) * N + n) * D + d];
          out[((i * B + b) * N + n) * D + d] = acc;
        }
        for (int r = 0; r < 8; r++) mx[((b * N + n) * S1 + i) * 8 + r] = m, sm[((b * N + n) * S1 + i) * 8 + r] = s;
      }
}

int RunCase(aclrtStream stream, bool ones, bool& passed) {
  std::vector<int64_t> qShape = {S1, B, N * D}, kvShape = {S2, B, N * D};
  std::vector<int64_t> outShape = {S1, B, N * D}, softmaxShape = {B, N, S1, 8};
  std::vector<float> qHost =
      ones ? std::vector<float>(GetShapeSize(qShape), 1.0f) : RandomData(GetShapeSize(qShape), 1);
  std::vector<float> kHost =
      ones ? std::vector<float>(GetShapeSize(kvShape), 1.0f) : RandomData(GetShapeSize(kvShape), 2);
  std::vector<float> vHost =
      ones ? std::vector<float>(GetShapeSize(kvShape), 1.0f) : RandomData(GetShapeSize(kvShape), 3);
  std::vector<float> outHost(GetShapeSize(outShape), 0.0f), softmaxHost(GetShapeSize(softmaxShape), 3.0f);
  void *qAddr = nullptr, *kAddr = nullptr, *vAddr = nullptr, *outAddr = nullptr, *maxAddr = nullptr, *sumAddr = nullptr;
  aclTensor *q = nullptr, *k = nullptr, *v = nullptr, *out = nullptr, *softmaxMax = nullptr, *softmaxSum = nullptr;
  aclTensor *pse = nullptr, *dropMask = nullptr, *padding = nullptr, *attenMask = nullptr, *softmaxOut = nullptr;
  auto ret = CreateAclTensor(qHost, qShape, &qAddr, aclDataType::ACL_FLOAT, &q);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(kHost, kvShape, &kAddr, aclDataType::ACL_FLOAT, &k);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(vHost, kvShape, &vAddr, aclDataType::ACL_FLOAT, &v);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(outHost, outShape, &outAddr, aclDataType::ACL_FLOAT, &out);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(softmaxHost, softmaxShape, &maxAddr, aclDataType::ACL_FLOAT, &softmaxMax);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(softmaxHost, softmaxShape, &sumAddr, aclDataType::ACL_FLOAT, &softmaxSum);
  CHECK_RET(ret == ACL_SUCCESS, return ret);

  std::vector<int64_t> prefixValues = {0};
  aclIntArray* prefix = aclCreateIntArray(prefixValues.data(), 1);
  double scaleValue = 1.0 / std::sqrt(static_cast<double>(D));
  double keepProb = 1.0;
  int64_t preTokens = INT32_MAX, nextTokens = INT32_MAX, headNum = N, innerPrecise = 0, sparseMode = 0, pseType = 1;
  char layOut[5] = {'S', 'B', 'H', 0};

  uint64_t workspaceSize = 0;
  aclOpExecutor* executor = nullptr;
  ret = aclnnFlashAttentionScoreV2GetWorkspaceSize(q, k, v, pse, dropMask, padding, attenMask, prefix, nullptr, nullptr,
                                                   scaleValue, keepProb, preTokens, nextTokens, headNum, layOut,
                                                   innerPrecise, sparseMode, pseType, softmaxMax, softmaxSum,
                                                   softmaxOut, out, &workspaceSize, &executor);
  CHECK_RET(ret == ACL_SUCCESS,
            LOG_PRINT("aclnnFlashAttentionScoreV2GetWorkspaceSize failed. ERROR: %d (%s)\n", ret, aclGetRecentErrMsg());
            return ret);
  void* workspaceAddr = nullptr;
  if (workspaceSize > 0) {
    ret = aclrtMalloc(&workspaceAddr, workspaceSize, ACL_MEM_MALLOC_HUGE_FIRST);
    CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("allocate workspace failed. ERROR: %d\n", ret); return ret);
  }
  ret = aclnnFlashAttentionScoreV2(workspaceAddr, workspaceSize, executor, stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclnnFlashAttentionScoreV2 failed. ERROR: %d\n", ret); return ret);
  ret = aclrtSynchronizeStream(stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtSynchronizeStream failed. ERROR: %d\n", ret); return ret);

  LOG_PRINT("FlashAttentionScoreV2, %s inputs, SBH B=%ld N=%ld S1=%ld S2=%ld D=%ld:\n", ones ? "all-ones" : "random",
            (long)B, (long)N, (long)S1, (long)S2, (long)D);
  const std::vector<float> gotOut = CopyOut(outShape, outAddr, "attention_out");
  const std::vector<float> gotMax = CopyOut(softmaxShape, maxAddr, "softmax_max");
  const std::vector<float> gotSum = CopyOut(softmaxShape, sumAddr, "softmax_sum");
  std::vector<double> wantOut, wantMax, wantSum;
  Reference(qHost, kHost, vHost, scaleValue, wantOut, wantMax, wantSum);
  passed = Check("attention_out", gotOut, wantOut, 1e-5) && passed;
  passed = Check("softmax_max", gotMax, wantMax, 1e-5) && passed;
  passed = Check("softmax_sum", gotSum, wantSum, 1e-5) && passed;

  aclDestroyTensor(q);
  aclDestroyTensor(k);
  aclDestroyTensor(v);
  aclDestroyTensor(out);
  aclDestroyTensor(softmaxMax);
  aclDestroyTensor(softmaxSum);
  aclDestroyIntArray(prefix);
  aclrtFree(qAddr);
  aclrtFree(kAddr);
  aclrtFree(vAddr);
  aclrtFree(outAddr);
  aclrtFree(maxAddr);
  aclrtFree(sumAddr);
  if (workspaceSize > 0) aclrtFree(workspaceAddr);
  return 0;
}

}  // namespace

int main() {
  int32_t deviceId = 0;
  aclrtContext context;
  aclrtStream stream;
  auto ret = Init(deviceId, &context, &stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("Init acl failed. ERROR: %d\n", ret); return ret);
  bool passed = true;
  for (bool ones : {true, false}) {
    ret = RunCase(stream, ones, passed);
    CHECK_RET(ret == ACL_SUCCESS, return ret);
  }
  aclrtDestroyStream(stream);
  aclrtDestroyContext(context);
  aclrtResetDevice(deviceId);
  aclFinalize();
  return passed ? 0 : 1;
}
