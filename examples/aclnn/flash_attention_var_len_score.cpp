// aclnnFlashAttentionVarLenScoreV4 the way CANN's example program calls it (TND, fp32, an all-zero [T1,T2] uint8
// mask under sparse mode 0, prefix {0}, softmaxOutLayout "same_as_input"), written for cannon's examples. The
// all-ones run prints what CANN's documentation shows (attention_out 1, softmax_max D·scale, softmax_sum T2); the
// random run uses two sequences (cumulative lengths) and is checked against a float64 reference computed here.
#include "aclnnop/aclnn_flash_attention_score.h"
#include "common.hpp"

namespace {

constexpr int64_t N1 = 1, N2 = 1, D = 128;

// attention_out [T1,N1,D] and softmax max/sum [T1,N1,8] (same_as_input): each sequence attends to its own keys.
void Reference(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
               const std::vector<int64_t>& cumQ, const std::vector<int64_t>& cumKv, double scale,
               std::vector<double>& out, std::vector<double>& mx, std::vector<double>& sm) {
  const int64_t t1 = cumQ.back();
  out.assign(static_cast<size_t>(t1 * N1 * D), 0.0);
  mx.assign(static_cast<size_t>(t1 * N1 * 8), 0.0);
  sm = mx;
  std::vector<double> scores, p;
  for (size_t b = 0; b < cumQ.size(); b++) {
    const int64_t q0 = b ? cumQ[b - 1] : 0, k0 = b ? cumKv[b - 1] : 0;
    for (int64_t t = q0; t < cumQ[b]; t++) {
      scores.assign(static_cast<size_t>(cumKv[b] - k0), 0.0);
      for (int64_t j = k0; j < cumKv[b]; j++) {
        double dot = 0;
        for (int64_t d = 0; d < D; d++) dot += double(q[t * D + d]) * k[j * D + d];
        scores[j - k0] = dot * scale;
      }
      double m, s;
      SoftmaxRow(scores, m, s, p);
      for (int64_t d = 0; d < D; d++) {
        double acc = 0;
        for (int64_t j = k0; j < cumKv[b]; j++) acc += p[j - k0] * v[j * D + d];
        out[t * D + d] = acc;
      }
      for (int r = 0; r < 8; r++) mx[t * 8 + r] = m, sm[t * 8 + r] = s;
    }
  }
}

int RunCase(aclrtStream stream, bool ones, bool& passed) {
  // All-ones: CANN's single sequence of 256 tokens; random: sequences of 100 and 156 queries over 77 and 179 keys.
  const std::vector<int64_t> acSeqQLenOp = ones ? std::vector<int64_t>{256} : std::vector<int64_t>{100, 256};
  const std::vector<int64_t> acSeqKvLenOp = ones ? std::vector<int64_t>{256} : std::vector<int64_t>{77, 256};
  const int64_t T1 = acSeqQLenOp.back(), T2 = acSeqKvLenOp.back();
  // The mask is [max S1, max S2] over the sequences ([T1, T2] for CANN's single sequence).
  int64_t maxS1 = 0, maxS2 = 0;
  for (size_t b = 0; b < acSeqQLenOp.size(); b++) {
    maxS1 = std::max(maxS1, acSeqQLenOp[b] - (b ? acSeqQLenOp[b - 1] : 0));
    maxS2 = std::max(maxS2, acSeqKvLenOp[b] - (b ? acSeqKvLenOp[b - 1] : 0));
  }
  std::vector<int64_t> qShape = {T1, N1, D}, kShape = {T2, N2, D}, vShape = {T2, N2, D},
                       attenmaskShape = {maxS1, maxS2};
  std::vector<int64_t> attentionOutShape = {T1, N1, D}, softmaxMaxShape = {T1, N1, 8}, softmaxSumShape = {T1, N1, 8};
  std::vector<float> qHostData = ones ? std::vector<float>(T1 * N1 * D, 1.0f) : RandomData(T1 * N1 * D, 11);
  std::vector<float> kHostData = ones ? std::vector<float>(T2 * N2 * D, 1.0f) : RandomData(T2 * N2 * D, 12);
  std::vector<float> vHostData = ones ? std::vector<float>(T2 * N2 * D, 1.0f) : RandomData(T2 * N2 * D, 13);
  std::vector<uint8_t> attenmaskHostData(maxS1 * maxS2, 0);
  std::vector<float> attentionOutHostData(T1 * N1 * D, 0.0f), softmaxHostData(T1 * N1 * 8, 3.0f);

  void *qDeviceAddr = nullptr, *kDeviceAddr = nullptr, *vDeviceAddr = nullptr, *attenmaskDeviceAddr = nullptr;
  void *attentionOutDeviceAddr = nullptr, *softmaxMaxDeviceAddr = nullptr, *softmaxSumDeviceAddr = nullptr;
  aclTensor *q = nullptr, *k = nullptr, *v = nullptr, *pse = nullptr, *dropMask = nullptr, *padding = nullptr;
  aclTensor *attenmask = nullptr, *attentionOut = nullptr, *softmaxMax = nullptr, *softmaxSum = nullptr;
  aclTensor* softmaxOut = nullptr;
  auto ret = CreateAclTensor(qHostData, qShape, &qDeviceAddr, aclDataType::ACL_FLOAT, &q);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(kHostData, kShape, &kDeviceAddr, aclDataType::ACL_FLOAT, &k);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(vHostData, vShape, &vDeviceAddr, aclDataType::ACL_FLOAT, &v);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(attenmaskHostData, attenmaskShape, &attenmaskDeviceAddr, aclDataType::ACL_UINT8, &attenmask);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(attentionOutHostData, attentionOutShape, &attentionOutDeviceAddr, aclDataType::ACL_FLOAT,
                        &attentionOut);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(softmaxHostData, softmaxMaxShape, &softmaxMaxDeviceAddr, aclDataType::ACL_FLOAT, &softmaxMax);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(softmaxHostData, softmaxSumShape, &softmaxSumDeviceAddr, aclDataType::ACL_FLOAT, &softmaxSum);
  CHECK_RET(ret == ACL_SUCCESS, return ret);

  std::vector<int64_t> prefixOp = {0};
  aclIntArray* prefix = aclCreateIntArray(prefixOp.data(), 1);
  aclIntArray* acSeqQLen = aclCreateIntArray(acSeqQLenOp.data(), acSeqQLenOp.size());
  aclIntArray* acSeqKvLen = aclCreateIntArray(acSeqKvLenOp.data(), acSeqKvLenOp.size());
  double scaleValue = 1.0 / sqrt(128);
  double keepProb = 1.0;
  int64_t preTokens = INT32_MAX, nextTokens = INT32_MAX, headNum = 1, innerPrecise = 0, sparseMode = 0;
  char layOut[5] = {'T', 'N', 'D', 0};
  char softmaxOutLayout[] = "same_as_input";

  uint64_t workspaceSize = 0;
  aclOpExecutor* executor;
  ret = aclnnFlashAttentionVarLenScoreV4GetWorkspaceSize(
      q, k, v, pse, dropMask, padding, attenmask, prefix, acSeqQLen, acSeqKvLen, scaleValue, keepProb, preTokens,
      nextTokens, headNum, layOut, innerPrecise, sparseMode, softmaxOutLayout, softmaxMax, softmaxSum, softmaxOut,
      attentionOut, &workspaceSize, &executor);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclnnFlashAttentionVarLenScoreV4GetWorkspaceSize failed. ERROR: %d (%s)\n",
                                          ret, aclGetRecentErrMsg());
            return ret);
  void* workspaceAddr = nullptr;
  if (workspaceSize > 0) {
    ret = aclrtMalloc(&workspaceAddr, workspaceSize, ACL_MEM_MALLOC_HUGE_FIRST);
    CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("allocate workspace failed. ERROR: %d\n", ret); return ret);
  }
  ret = aclnnFlashAttentionVarLenScoreV4(workspaceAddr, workspaceSize, executor, stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclnnFlashAttentionVarLenScoreV4 failed. ERROR: %d\n", ret); return ret);
  ret = aclrtSynchronizeStream(stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtSynchronizeStream failed. ERROR: %d\n", ret); return ret);

  LOG_PRINT("FlashAttentionVarLenScoreV4, %s inputs, TND T1=%ld T2=%ld N=1 D=%ld:\n", ones ? "all-ones" : "random",
            (long)T1, (long)T2, (long)D);
  const std::vector<float> gotOut = CopyOut(attentionOutShape, attentionOutDeviceAddr, "attention_out");
  const std::vector<float> gotMax = CopyOut(softmaxMaxShape, softmaxMaxDeviceAddr, "softmax_max");
  const std::vector<float> gotSum = CopyOut(softmaxSumShape, softmaxSumDeviceAddr, "softmax_sum");
  std::vector<double> wantOut, wantMax, wantSum;
  Reference(qHostData, kHostData, vHostData, acSeqQLenOp, acSeqKvLenOp, scaleValue, wantOut, wantMax, wantSum);
  passed = Check("attention_out", gotOut, wantOut, 1e-5) && passed;
  passed = Check("softmax_max", gotMax, wantMax, 1e-5) && passed;
  passed = Check("softmax_sum", gotSum, wantSum, 1e-5) && passed;

  aclDestroyTensor(q);
  aclDestroyTensor(k);
  aclDestroyTensor(v);
  aclDestroyTensor(attenmask);
  aclDestroyTensor(attentionOut);
  aclDestroyTensor(softmaxMax);
  aclDestroyTensor(softmaxSum);
  aclDestroyIntArray(prefix);
  aclDestroyIntArray(acSeqQLen);
  aclDestroyIntArray(acSeqKvLen);
  aclrtFree(qDeviceAddr);
  aclrtFree(kDeviceAddr);
  aclrtFree(vDeviceAddr);
  aclrtFree(attenmaskDeviceAddr);
  aclrtFree(attentionOutDeviceAddr);
  aclrtFree(softmaxMaxDeviceAddr);
  aclrtFree(softmaxSumDeviceAddr);
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
