// aclnnNsaSelectedAttention the way CANN's example program calls it (TND, fp16, Dqk 192, Dv 128, block size 64,
// sparse mode 0), written for cannon's examples. CANN's example fills every input with the fp16 bit pattern 1;
// this one uses 1.0 (aclFloatToFloat16), for which the documentation's result is attention_out 1, softmax_max
// 192·scale and softmax_sum count·64. Random inputs over two sequences and random block choices are checked
// against a float64 reference computed here (fp16 output: limit 4e-3).
#include <set>

#include "aclnnop/aclnn_nsa_selected_attention.h"
#include "common.hpp"

namespace {

constexpr int64_t N1 = 2, N2 = 1, G = N1 / N2, DQK = 192, DV = 128, BLOCK = 64, COUNT = 2;

std::vector<aclFloat16> ToHalf(const std::vector<float>& v) {
  std::vector<aclFloat16> h;
  for (float x : v) h.push_back(aclFloatToFloat16(x));
  return h;
}

std::vector<float> FromHalf(const std::vector<aclFloat16>& h) {
  std::vector<float> v;
  for (aclFloat16 x : h) v.push_back(aclFloat16ToFloat(x));
  return v;
}

void Reference(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
               const std::vector<int32_t>& topk, const std::vector<int64_t>& cumQ, const std::vector<int64_t>& cumKv,
               double scale, std::vector<double>& out, std::vector<double>& mx, std::vector<double>& sm) {
  const int64_t t1 = cumQ.back();
  out.assign(static_cast<size_t>(t1 * N1 * DV), 0.0);
  mx.assign(static_cast<size_t>(t1 * N1 * 8), 0.0);
  sm = mx;
  std::vector<double> scores, p;
  for (size_t b = 0; b < cumQ.size(); b++) {
    const int64_t q0 = b ? cumQ[b - 1] : 0, k0 = b ? cumKv[b - 1] : 0;
    for (int64_t t = q0; t < cumQ[b]; t++)
      for (int64_t n1 = 0; n1 < N1; n1++) {
        const int64_t n2 = n1 / G;
        std::vector<int64_t> keys;
        for (int64_t c = 0; c < COUNT; c++)
          for (int64_t r = 0; r < BLOCK; r++) keys.push_back(k0 + topk[(t * N2 + n2) * COUNT + c] * BLOCK + r);
        scores.clear();
        for (int64_t j : keys) {
          double dot = 0;
          for (int64_t d = 0; d < DQK; d++) dot += double(q[(t * N1 + n1) * DQK + d]) * k[(j * N2 + n2) * DQK + d];
          scores.push_back(dot * scale);
        }
        double m, s;
        SoftmaxRow(scores, m, s, p);
        for (int64_t d = 0; d < DV; d++) {
          double acc = 0;
          for (size_t i = 0; i < keys.size(); i++) acc += p[i] * v[(keys[i] * N2 + n2) * DV + d];
          out[(t * N1 + n1) * DV + d] = acc;
        }
        for (int r = 0; r < 8; r++) mx[(t * N1 + n1) * 8 + r] = m, sm[(t * N1 + n1) * 8 + r] = s;
      }
  }
}

// COUNT distinct blocks of each batch per (token, kv head), from a fixed seed.
std::vector<int32_t> Blocks(const std::vector<int64_t>& cumQ, const std::vector<int64_t>& cumKv, bool first) {
  std::mt19937 gen(41);
  std::vector<int32_t> topk;
  for (size_t b = 0; b < cumQ.size(); b++) {
    const int64_t blocks = (cumKv[b] - (b ? cumKv[b - 1] : 0)) / BLOCK;
    for (int64_t t = b ? cumQ[b - 1] : 0; t < cumQ[b]; t++)
      for (int64_t n2 = 0; n2 < N2; n2++) {
        std::set<int32_t> chosen;
        while (static_cast<int64_t>(chosen.size()) < COUNT) {
          chosen.insert(first ? static_cast<int32_t>(chosen.size()) : static_cast<int32_t>(gen() % blocks));
        }
        topk.insert(topk.end(), chosen.begin(), chosen.end());
      }
  }
  return topk;
}

int RunCase(aclrtStream stream, bool ones, bool& passed) {
  const std::vector<int64_t> actualSeqQLenData = ones ? std::vector<int64_t>{16} : std::vector<int64_t>{9, 30};
  const std::vector<int64_t> actualSeqKvLenData = ones ? std::vector<int64_t>{128} : std::vector<int64_t>{256, 448};
  const int64_t T1 = actualSeqQLenData.back(), T2 = actualSeqKvLenData.back();
  std::vector<int64_t> queryShape = {T1, N1, DQK}, keyShape = {T2, N2, DQK}, valueShape = {T2, N2, DV};
  std::vector<int64_t> topkShape = {T1, N2, COUNT}, outShape = {T1, N1, DV}, softmaxShape = {T1, N1, 8};
  const std::vector<float> qf =
      FromHalf(ToHalf(ones ? std::vector<float>(T1 * N1 * DQK, 1.0f) : RandomData(T1 * N1 * DQK, 51)));
  const std::vector<float> kf =
      FromHalf(ToHalf(ones ? std::vector<float>(T2 * N2 * DQK, 1.0f) : RandomData(T2 * N2 * DQK, 52)));
  const std::vector<float> vf =
      FromHalf(ToHalf(ones ? std::vector<float>(T2 * N2 * DV, 1.0f) : RandomData(T2 * N2 * DV, 53)));
  const std::vector<int32_t> topkData = Blocks(actualSeqQLenData, actualSeqKvLenData, ones);
  void *queryAddr = nullptr, *keyAddr = nullptr, *valueAddr = nullptr, *topkAddr = nullptr;
  void *outAddr = nullptr, *maxAddr = nullptr, *sumAddr = nullptr;
  aclTensor *query = nullptr, *key = nullptr, *value = nullptr, *topkIndices = nullptr, *attenMask = nullptr;
  aclTensor *attentionOut = nullptr, *softmaxMax = nullptr, *softmaxSum = nullptr;
  auto ret = CreateAclTensor(ToHalf(qf), queryShape, &queryAddr, aclDataType::ACL_FLOAT16, &query);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(ToHalf(kf), keyShape, &keyAddr, aclDataType::ACL_FLOAT16, &key);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(ToHalf(vf), valueShape, &valueAddr, aclDataType::ACL_FLOAT16, &value);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(topkData, topkShape, &topkAddr, aclDataType::ACL_INT32, &topkIndices);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(std::vector<aclFloat16>(T1 * N1 * DV, 0), outShape, &outAddr, aclDataType::ACL_FLOAT16,
                        &attentionOut);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(std::vector<float>(T1 * N1 * 8, 0.0f), softmaxShape, &maxAddr, aclDataType::ACL_FLOAT,
                        &softmaxMax);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  ret = CreateAclTensor(std::vector<float>(T1 * N1 * 8, 0.0f), softmaxShape, &sumAddr, aclDataType::ACL_FLOAT,
                        &softmaxSum);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  aclIntArray* actualSeqQLen = aclCreateIntArray(actualSeqQLenData.data(), actualSeqQLenData.size());
  aclIntArray* actualSeqKvLen = aclCreateIntArray(actualSeqKvLenData.data(), actualSeqKvLenData.size());
  double scaleValue = 1.0 / std::sqrt(static_cast<double>(DQK));
  int64_t headNum = N1, sparseMode = 0, selectedBlockSize = BLOCK, selectedBlockCount = COUNT;
  char layOut[5] = {'T', 'N', 'D', 0};

  uint64_t workspaceSize = 0;
  aclOpExecutor* executor = nullptr;
  ret = aclnnNsaSelectedAttentionGetWorkspaceSize(
      query, key, value, topkIndices, attenMask, actualSeqQLen, actualSeqKvLen, scaleValue, headNum, layOut, sparseMode,
      selectedBlockSize, selectedBlockCount, softmaxMax, softmaxSum, attentionOut, &workspaceSize, &executor);
  CHECK_RET(ret == ACL_SUCCESS,
            LOG_PRINT("aclnnNsaSelectedAttentionGetWorkspaceSize failed. ERROR: %d (%s)\n", ret, aclGetRecentErrMsg());
            return ret);
  void* workspaceAddr = nullptr;
  if (workspaceSize > 0) {
    ret = aclrtMalloc(&workspaceAddr, workspaceSize, ACL_MEM_MALLOC_HUGE_FIRST);
    CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("allocate workspace failed. ERROR: %d\n", ret); return ret);
  }
  ret = aclnnNsaSelectedAttention(workspaceAddr, workspaceSize, executor, stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclnnNsaSelectedAttention failed. ERROR: %d\n", ret); return ret);
  ret = aclrtSynchronizeStream(stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtSynchronizeStream failed. ERROR: %d (%s)\n", ret, aclGetRecentErrMsg());
            return ret);

  LOG_PRINT("NsaSelectedAttention, %s inputs, TND T1=%ld T2=%ld N1=%ld N2=%ld, %ld blocks of %ld:\n",
            ones ? "all-ones" : "random", (long)T1, (long)T2, (long)N1, (long)N2, (long)COUNT, (long)BLOCK);
  std::vector<aclFloat16> outHalf(T1 * N1 * DV);
  ret = aclrtMemcpy(outHalf.data(), outHalf.size() * 2, outAddr, outHalf.size() * 2, ACL_MEMCPY_DEVICE_TO_HOST);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("copy result from device to host failed. ERROR: %d\n", ret); return ret);
  const std::vector<float> gotOut = FromHalf(outHalf);
  for (size_t i = 0; i < gotOut.size(); i++) {
    if (i < 3 || i + 1 == gotOut.size()) LOG_PRINT("attention_out result[%zu] is: %f\n", i, gotOut[i]);
  }
  const std::vector<float> gotMax = CopyOut(softmaxShape, maxAddr, "softmax_max");
  const std::vector<float> gotSum = CopyOut(softmaxShape, sumAddr, "softmax_sum");
  std::vector<double> wantOut, wantMax, wantSum;
  Reference(qf, kf, vf, topkData, actualSeqQLenData, actualSeqKvLenData, scaleValue, wantOut, wantMax, wantSum);
  passed = Check("attention_out", gotOut, wantOut, 4e-3) && passed;
  passed = Check("softmax_max", gotMax, wantMax, 1e-5) && passed;
  passed = Check("softmax_sum", gotSum, wantSum, 1e-5) && passed;

  aclDestroyTensor(query);
  aclDestroyTensor(key);
  aclDestroyTensor(value);
  aclDestroyTensor(topkIndices);
  aclDestroyTensor(attentionOut);
  aclDestroyTensor(softmaxMax);
  aclDestroyTensor(softmaxSum);
  aclDestroyIntArray(actualSeqQLen);
  aclDestroyIntArray(actualSeqKvLen);
  aclrtFree(queryAddr);
  aclrtFree(keyAddr);
  aclrtFree(valueAddr);
  aclrtFree(topkAddr);
  aclrtFree(outAddr);
  aclrtFree(maxAddr);
  aclrtFree(sumAddr);
  if (workspaceSize > 0) aclrtFree(workspaceAddr);
  return 0;
}

}  // namespace

int main() {
  int32_t deviceId = 0;
  aclrtContext context = nullptr;
  aclrtStream stream = nullptr;
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
