// aclnnRingAttentionUpdate (SBH) and aclnnRingAttentionUpdateV2 (TND, softmax layout "TND") the way CANN's example
// program calls them, written for cannon's examples: all-ones inputs print what CANN's documentation shows
// (attention 1, softmax_max 1, softmax_sum 2), random inputs are checked against a float64 merge computed here
// (softmax lane d % 8 weighs head-dim element d, as Ascend's kernel does).
#include "aclnnop/aclnn_ring_attention_update.h"
#include "common.hpp"

namespace {

constexpr int64_t N = 2, D = 64;

// rows × N heads of D: out[r][n][d] with stats at stat(r, n) (8 lanes each).
template <typename StatIndex>
void Reference(int64_t rows, const std::vector<float>& po, const std::vector<float>& pm, const std::vector<float>& ps,
               const std::vector<float>& co, const std::vector<float>& cm, const std::vector<float>& cs, StatIndex stat,
               std::vector<double>& out, std::vector<double>& mx, std::vector<double>& sm) {
  out.assign(po.size(), 0.0);
  mx.assign(pm.size(), 0.0);
  sm.assign(pm.size(), 0.0);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t n = 0; n < N; n++)
      for (int64_t lane = 0; lane < 8; lane++) {
        const int64_t at = stat(r, n) + lane;
        const double m = std::max<double>(pm[at], cm[at]);
        const double sp = pm[at] == -INFINITY ? 0 : ps[at] * std::exp(pm[at] - m);
        const double sc = cs[at] * std::exp(cm[at] - m);
        mx[at] = m;
        sm[at] = sp + sc;
        for (int64_t d = lane; d < D; d += 8) {
          const int64_t o = (r * N + n) * D + d;
          out[o] = (po[o] * sp + co[o] * sc) / (sp + sc);
        }
      }
}

struct Buffers {
  std::vector<void*> addrs;
  std::vector<aclTensor*> tensors;
  aclTensor* Add(const std::vector<float>& host, const std::vector<int64_t>& shape) {
    void* addr = nullptr;
    aclTensor* t = nullptr;
    if (CreateAclTensor(host, shape, &addr, aclDataType::ACL_FLOAT, &t) != 0) return nullptr;
    addrs.push_back(addr);
    tensors.push_back(t);
    return t;
  }
  ~Buffers() {
    for (aclTensor* t : tensors) aclDestroyTensor(t);
    for (void* a : addrs) aclrtFree(a);
  }
};

// Positive softmax sums and maxima around 0, the same value in all 8 lanes (what FlashAttentionScore writes).
std::vector<float> Stats(int64_t rows, uint32_t seed, float base) {
  std::vector<float> v = RandomData(rows, seed), out;
  for (float x : v)
    for (int lane = 0; lane < 8; lane++) out.push_back(base + (base > 0 ? std::fabs(x) : x));
  return out;
}

int RunSbh(aclrtStream stream, bool ones, bool& passed) {
  constexpr int64_t S = 65, B = 2;
  std::vector<int64_t> attnShape = {S, B, N * D}, softmaxShape = {B, N, S, 8};
  const int64_t attnSize = GetShapeSize(attnShape), rows = GetShapeSize(softmaxShape) / 8;
  std::vector<float> prevOut = ones ? std::vector<float>(attnSize, 1.0f) : RandomData(attnSize, 21);
  std::vector<float> curOut = ones ? std::vector<float>(attnSize, 1.0f) : RandomData(attnSize, 22);
  std::vector<float> prevMax = ones ? std::vector<float>(rows * 8, 1.0f) : Stats(rows, 23, 0.0f);
  std::vector<float> curMax = ones ? std::vector<float>(rows * 8, 1.0f) : Stats(rows, 24, 0.0f);
  std::vector<float> prevSum = ones ? std::vector<float>(rows * 8, 1.0f) : Stats(rows, 25, 1.0f);
  std::vector<float> curSum = ones ? std::vector<float>(rows * 8, 1.0f) : Stats(rows, 26, 1.0f);
  Buffers buf;
  aclTensor* prevAttnOut = buf.Add(prevOut, attnShape);
  aclTensor* prevSoftmaxMax = buf.Add(prevMax, softmaxShape);
  aclTensor* prevSoftmaxSum = buf.Add(prevSum, softmaxShape);
  aclTensor* curAttnOut = buf.Add(curOut, attnShape);
  aclTensor* curSoftmaxMax = buf.Add(curMax, softmaxShape);
  aclTensor* curSoftmaxSum = buf.Add(curSum, softmaxShape);
  aclTensor* attnOut = buf.Add(std::vector<float>(attnSize, 0.0f), attnShape);
  aclTensor* softmaxMaxOut = buf.Add(std::vector<float>(rows * 8, 0.0f), softmaxShape);
  aclTensor* softmaxSumOut = buf.Add(std::vector<float>(rows * 8, 0.0f), softmaxShape);
  CHECK_RET(buf.tensors.size() == 9, return -1);
  char inputLayout[] = "SBH";

  uint64_t workspaceSize = 0;
  aclOpExecutor* executor = nullptr;
  auto ret = aclnnRingAttentionUpdateGetWorkspaceSize(prevAttnOut, prevSoftmaxMax, prevSoftmaxSum, curAttnOut,
                                                      curSoftmaxMax, curSoftmaxSum, nullptr, inputLayout, attnOut,
                                                      softmaxMaxOut, softmaxSumOut, &workspaceSize, &executor);
  CHECK_RET(ret == ACL_SUCCESS,
            LOG_PRINT("aclnnRingAttentionUpdateGetWorkspaceSize failed. ERROR: %d (%s)\n", ret, aclGetRecentErrMsg());
            return ret);
  void* workspaceAddr = nullptr;
  if (workspaceSize > 0) {
    ret = aclrtMalloc(&workspaceAddr, workspaceSize, ACL_MEM_MALLOC_HUGE_FIRST);
    CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("allocate workspace failed. ERROR: %d\n", ret); return ret);
  }
  ret = aclnnRingAttentionUpdate(workspaceAddr, workspaceSize, executor, stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclnnRingAttentionUpdate failed. ERROR: %d\n", ret); return ret);
  ret = aclrtSynchronizeStream(stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtSynchronizeStream failed. ERROR: %d\n", ret); return ret);

  LOG_PRINT("RingAttentionUpdate, %s inputs, SBH S=%ld B=%ld N=%ld D=%ld:\n", ones ? "all-ones" : "random", (long)S,
            (long)B, (long)N, (long)D);
  const std::vector<float> gotOut = CopyOut(attnShape, buf.addrs[6], "attn_out");
  const std::vector<float> gotMax = CopyOut(softmaxShape, buf.addrs[7], "softmax_max");
  const std::vector<float> gotSum = CopyOut(softmaxShape, buf.addrs[8], "softmax_sum");
  // Row r = s·B + b of the attention; its stats are [b][n][s].
  std::vector<double> wantOut, wantMax, wantSum;
  Reference(
      S * B, prevOut, prevMax, prevSum, curOut, curMax, curSum,
      [&](int64_t r, int64_t n) { return (((r % B) * N + n) * S + r / B) * 8; }, wantOut, wantMax, wantSum);
  passed = Check("attn_out", gotOut, wantOut, 1e-6) && passed;
  passed = Check("softmax_max", gotMax, wantMax, 1e-6) && passed;
  passed = Check("softmax_sum", gotSum, wantSum, 1e-6) && passed;
  if (workspaceSize > 0) aclrtFree(workspaceAddr);
  return 0;
}

int RunTnd(aclrtStream stream, bool& passed) {
  const std::vector<int64_t> seqQlen = {0, 3, 3, 40};  // three sequences, the second empty
  const int64_t T = seqQlen.back();
  std::vector<int64_t> attnShape = {T, N, D}, softmaxShape = {T, N, 8}, seqShape = {(int64_t)seqQlen.size()};
  std::vector<float> prevOut = RandomData(T * N * D, 31), curOut = RandomData(T * N * D, 32);
  std::vector<float> prevMax = Stats(T * N, 33, 0.0f), curMax = Stats(T * N, 34, 0.0f);
  std::vector<float> prevSum = Stats(T * N, 35, 1.0f), curSum = Stats(T * N, 36, 1.0f);
  Buffers buf;
  aclTensor* prevAttnOut = buf.Add(prevOut, attnShape);
  aclTensor* prevSoftmaxMax = buf.Add(prevMax, softmaxShape);
  aclTensor* prevSoftmaxSum = buf.Add(prevSum, softmaxShape);
  aclTensor* curAttnOut = buf.Add(curOut, attnShape);
  aclTensor* curSoftmaxMax = buf.Add(curMax, softmaxShape);
  aclTensor* curSoftmaxSum = buf.Add(curSum, softmaxShape);
  aclTensor* attnOut = buf.Add(std::vector<float>(T * N * D, 0.0f), attnShape);
  aclTensor* softmaxMaxOut = buf.Add(std::vector<float>(T * N * 8, 0.0f), softmaxShape);
  aclTensor* softmaxSumOut = buf.Add(std::vector<float>(T * N * 8, 0.0f), softmaxShape);
  void* seqAddr = nullptr;
  aclTensor* actualSeqQlen = nullptr;
  auto ret = CreateAclTensor(seqQlen, seqShape, &seqAddr, aclDataType::ACL_INT64, &actualSeqQlen);
  CHECK_RET(ret == ACL_SUCCESS && buf.tensors.size() == 9, return -1);
  buf.addrs.push_back(seqAddr);
  buf.tensors.push_back(actualSeqQlen);
  char inputLayout[] = "TND";
  char softmaxLayout[] = "TND";

  uint64_t workspaceSize = 0;
  aclOpExecutor* executor = nullptr;
  ret = aclnnRingAttentionUpdateV2GetWorkspaceSize(
      prevAttnOut, prevSoftmaxMax, prevSoftmaxSum, curAttnOut, curSoftmaxMax, curSoftmaxSum, actualSeqQlen, inputLayout,
      softmaxLayout, attnOut, softmaxMaxOut, softmaxSumOut, &workspaceSize, &executor);
  CHECK_RET(ret == ACL_SUCCESS,
            LOG_PRINT("aclnnRingAttentionUpdateV2GetWorkspaceSize failed. ERROR: %d (%s)\n", ret, aclGetRecentErrMsg());
            return ret);
  void* workspaceAddr = nullptr;
  if (workspaceSize > 0) {
    ret = aclrtMalloc(&workspaceAddr, workspaceSize, ACL_MEM_MALLOC_HUGE_FIRST);
    CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("allocate workspace failed. ERROR: %d\n", ret); return ret);
  }
  ret = aclnnRingAttentionUpdateV2(workspaceAddr, workspaceSize, executor, stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclnnRingAttentionUpdateV2 failed. ERROR: %d\n", ret); return ret);
  ret = aclrtSynchronizeStream(stream);
  CHECK_RET(ret == ACL_SUCCESS, LOG_PRINT("aclrtSynchronizeStream failed. ERROR: %d (%s)\n", ret, aclGetRecentErrMsg());
            return ret);

  LOG_PRINT("RingAttentionUpdateV2, random inputs, TND T=%ld N=%ld D=%ld, softmax layout TND:\n", (long)T, (long)N,
            (long)D);
  const std::vector<float> gotOut = CopyOut(attnShape, buf.addrs[6], "attn_out");
  const std::vector<float> gotMax = CopyOut(softmaxShape, buf.addrs[7], "softmax_max");
  const std::vector<float> gotSum = CopyOut(softmaxShape, buf.addrs[8], "softmax_sum");
  std::vector<double> wantOut, wantMax, wantSum;
  Reference(
      T, prevOut, prevMax, prevSum, curOut, curMax, curSum, [&](int64_t t, int64_t n) { return (t * N + n) * 8; },
      wantOut, wantMax, wantSum);
  passed = Check("attn_out", gotOut, wantOut, 1e-6) && passed;
  passed = Check("softmax_max", gotMax, wantMax, 1e-6) && passed;
  passed = Check("softmax_sum", gotSum, wantSum, 1e-6) && passed;
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
    ret = RunSbh(stream, ones, passed);
    CHECK_RET(ret == ACL_SUCCESS, return ret);
  }
  ret = RunTnd(stream, passed);
  CHECK_RET(ret == ACL_SUCCESS, return ret);
  aclrtDestroyStream(stream);
  aclrtDestroyContext(context);
  aclrtResetDevice(deviceId);
  aclFinalize();
  return passed ? 0 : 1;
}
