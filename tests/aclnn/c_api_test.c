/* The aclnn C API from C (not C++), so every header stays valid C: it includes all of them, runs one
 * FlashAttentionScore and its FlashAttentionScoreGrad through CANN's call sequence and checks them against float64
 * loops, and checks a few status codes, messages and the fp16 helpers. Links the shared library, so it also proves
 * the C symbols are exported. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "acl/acl.h"
#include "aclnn/aclnn_base.h"
#include "aclnnop/aclnn_flash_attention_score.h"
#include "aclnnop/aclnn_flash_attention_score_grad.h"
#include "aclnnop/aclnn_nsa_selected_attention.h"
#include "aclnnop/aclnn_ring_attention_update.h"

static int failures = 0;

#define EXPECT(cond)                                                     \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                        \
    }                                                                    \
  } while (0)

enum { B = 1, S1 = 7, S2 = 13, N = 2, D = 16 };

/* A contiguous device tensor holding `bytes` of host data. */
static aclTensor* make_tensor(const int64_t* shape, uint64_t rank, aclDataType dtype, const void* host, size_t bytes,
                              void** addr) {
  int64_t strides[8];
  int64_t i;
  strides[rank - 1] = 1;
  for (i = (int64_t)rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  if (aclrtMalloc(addr, bytes, ACL_MEM_MALLOC_HUGE_FIRST) != ACL_SUCCESS) return NULL;
  if (aclrtMemcpy(*addr, bytes, host, bytes, ACL_MEMCPY_HOST_TO_DEVICE) != ACL_SUCCESS) return NULL;
  return aclCreateTensor(shape, rank, dtype, strides, 0, ACL_FORMAT_ND, shape, rank, *addr);
}

/* Uniform values in [-1, 1) from a linear congruential generator. */
static void fill(float* v, size_t n, uint32_t seed) {
  size_t i;
  for (i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    v[i] = (float)((seed >> 8) / 8388608.0 - 1.0);
  }
}

/* The float64 softmax of query row s, head n, over every key: probs[j]; returns the row's max score. */
static double softmax_row(const float* q, const float* k, int s, int n, double scale, double* probs) {
  double m = -INFINITY, l = 0.0;
  int j, d;
  for (j = 0; j < S2; j++) {
    double dot = 0.0;
    for (d = 0; d < D; d++) dot += (double)q[(s * N + n) * D + d] * k[(j * N + n) * D + d];
    probs[j] = dot * scale;
    if (probs[j] > m) m = probs[j];
  }
  for (j = 0; j < S2; j++) l += exp(probs[j] - m);
  for (j = 0; j < S2; j++) probs[j] = exp(probs[j] - m) / l;
  return m;
}

int main(void) {
  static float q[B * S1 * N * D], k[B * S2 * N * D], v[B * S2 * N * D], out[B * S1 * N * D];
  static float smax[B * N * S1 * 8], ssum[B * N * S1 * 8];
  static float dy[B * S1 * N * D], dq[B * S1 * N * D], dk[B * S2 * N * D], dv[B * S2 * N * D];
  static double dv_want[B * S2 * N * D];
  const int64_t q_shape[4] = {B, S1, N, D}, kv_shape[4] = {B, S2, N, D}, stat_shape[4] = {B, N, S1, 8};
  void *q_addr, *k_addr, *v_addr, *out_addr, *max_addr, *sum_addr, *workspace = NULL;
  void *dy_addr, *dq_addr, *dk_addr, *dv_addr, *grad_workspace = NULL;
  aclTensor *tq, *tk, *tv, *tout, *tmax, *tsum, *tdy, *tdq, *tdk, *tdv;
  aclrtStream stream = NULL;
  aclOpExecutor* executor = NULL;
  uint64_t workspace_size = 0;
  char layout[] = "BSND";
  const double scale = 0.25;
  double worst = 0.0, worst_dv = 0.0;
  int s, n, i, j, d;

  EXPECT(aclInit(NULL) == ACL_SUCCESS);
  EXPECT(aclrtSetDevice(0) == ACL_SUCCESS);
  EXPECT(aclrtCreateStream(&stream) == ACL_SUCCESS);
  fill(q, sizeof q / sizeof q[0], 1);
  fill(k, sizeof k / sizeof k[0], 2);
  fill(v, sizeof v / sizeof v[0], 3);
  tq = make_tensor(q_shape, 4, ACL_FLOAT, q, sizeof q, &q_addr);
  tk = make_tensor(kv_shape, 4, ACL_FLOAT, k, sizeof k, &k_addr);
  tv = make_tensor(kv_shape, 4, ACL_FLOAT, v, sizeof v, &v_addr);
  tout = make_tensor(q_shape, 4, ACL_FLOAT, out, sizeof out, &out_addr);
  tmax = make_tensor(stat_shape, 4, ACL_FLOAT, smax, sizeof smax, &max_addr);
  tsum = make_tensor(stat_shape, 4, ACL_FLOAT, ssum, sizeof ssum, &sum_addr);
  EXPECT(tq && tk && tv && tout && tmax && tsum);

  /* A null query: ACLNN_ERR_PARAM_NULLPTR, and the message names it. */
  EXPECT(aclnnFlashAttentionScoreGetWorkspaceSize(NULL, tk, tv, NULL, NULL, NULL, NULL, NULL, scale, 1.0, INT32_MAX,
                                                  INT32_MAX, N, layout, 0, 0, tmax, tsum, NULL, tout, &workspace_size,
                                                  &executor) == ACLNN_ERR_PARAM_NULLPTR);
  {
    const char* msg = aclGetRecentErrMsg();
    EXPECT(msg != NULL && strstr(msg, "query") != NULL);
    EXPECT(aclGetRecentErrMsg() == NULL); /* read once */
  }
  /* headNum that does not match N: ACLNN_ERR_PARAM_INVALID. */
  EXPECT(aclnnFlashAttentionScoreGetWorkspaceSize(tq, tk, tv, NULL, NULL, NULL, NULL, NULL, scale, 1.0, INT32_MAX,
                                                  INT32_MAX, N + 1, layout, 0, 0, tmax, tsum, NULL, tout,
                                                  &workspace_size, &executor) == ACLNN_ERR_PARAM_INVALID);
  EXPECT(aclGetRecentErrMsg() != NULL);

  EXPECT(aclnnFlashAttentionScoreGetWorkspaceSize(tq, tk, tv, NULL, NULL, NULL, NULL, NULL, scale, 1.0, INT32_MAX,
                                                  INT32_MAX, N, layout, 0, 0, tmax, tsum, NULL, tout, &workspace_size,
                                                  &executor) == ACL_SUCCESS);
  if (workspace_size > 0) EXPECT(aclrtMalloc(&workspace, workspace_size, ACL_MEM_MALLOC_HUGE_FIRST) == ACL_SUCCESS);
  EXPECT(aclnnFlashAttentionScore(workspace, workspace_size, executor, stream) == ACL_SUCCESS);
  EXPECT(aclrtSynchronizeStream(stream) == ACL_SUCCESS);
  EXPECT(aclrtMemcpy(out, sizeof out, out_addr, sizeof out, ACL_MEMCPY_DEVICE_TO_HOST) == ACL_SUCCESS);
  EXPECT(aclrtMemcpy(smax, sizeof smax, max_addr, sizeof smax, ACL_MEMCPY_DEVICE_TO_HOST) == ACL_SUCCESS);

  for (s = 0; s < S1; s++)
    for (n = 0; n < N; n++) {
      double probs[S2];
      const double m = softmax_row(q, k, s, n, scale, probs);
      for (d = 0; d < D; d++) {
        double want = 0.0;
        for (j = 0; j < S2; j++) want += probs[j] * v[(j * N + n) * D + d];
        worst = fmax(worst, fabs(out[(s * N + n) * D + d] - want));
      }
      for (i = 0; i < 8; i++) worst = fmax(worst, fabs(smax[(n * S1 + s) * 8 + i] - m));
    }
  EXPECT(worst < 1e-5);

  /* Its backward, with the forward's outputs: a null dy is ACLNN_ERR_PARAM_NULLPTR naming it; dv = P^T dy. */
  fill(dy, sizeof dy / sizeof dy[0], 4);
  tdy = make_tensor(q_shape, 4, ACL_FLOAT, dy, sizeof dy, &dy_addr);
  tdq = make_tensor(q_shape, 4, ACL_FLOAT, dq, sizeof dq, &dq_addr);
  tdk = make_tensor(kv_shape, 4, ACL_FLOAT, dk, sizeof dk, &dk_addr);
  tdv = make_tensor(kv_shape, 4, ACL_FLOAT, dv, sizeof dv, &dv_addr);
  EXPECT(tdy && tdq && tdk && tdv);
  EXPECT(aclnnFlashAttentionScoreGradGetWorkspaceSize(
             tq, tk, tv, NULL, NULL, NULL, NULL, NULL, tmax, tsum, NULL, tout, NULL, scale, 1.0, INT32_MAX, INT32_MAX,
             N, layout, 0, 0, tdq, tdk, tdv, NULL, &workspace_size, &executor) == ACLNN_ERR_PARAM_NULLPTR);
  {
    const char* msg = aclGetRecentErrMsg();
    EXPECT(msg != NULL && strstr(msg, "dy") != NULL);
  }
  EXPECT(aclnnFlashAttentionScoreGradGetWorkspaceSize(tq, tk, tv, tdy, NULL, NULL, NULL, NULL, tmax, tsum, NULL, tout,
                                                      NULL, scale, 1.0, INT32_MAX, INT32_MAX, N, layout, 0, 0, tdq, tdk,
                                                      tdv, NULL, &workspace_size, &executor) == ACL_SUCCESS);
  if (workspace_size > 0) {
    EXPECT(aclrtMalloc(&grad_workspace, workspace_size, ACL_MEM_MALLOC_HUGE_FIRST) == ACL_SUCCESS);
  }
  EXPECT(aclnnFlashAttentionScoreGrad(grad_workspace, workspace_size, executor, stream) == ACL_SUCCESS);
  EXPECT(aclrtSynchronizeStream(stream) == ACL_SUCCESS);
  EXPECT(aclrtMemcpy(dv, sizeof dv, dv_addr, sizeof dv, ACL_MEMCPY_DEVICE_TO_HOST) == ACL_SUCCESS);
  for (s = 0; s < S1; s++)
    for (n = 0; n < N; n++) {
      double probs[S2];
      softmax_row(q, k, s, n, scale, probs);
      for (j = 0; j < S2; j++)
        for (d = 0; d < D; d++) dv_want[(j * N + n) * D + d] += probs[j] * dy[(s * N + n) * D + d];
    }
  for (i = 0; i < B * S2 * N * D; i++) worst_dv = fmax(worst_dv, fabs(dv[i] - dv_want[i]));
  EXPECT(worst_dv < 1e-5);

  /* fp16 helpers with CANN's saturation. */
  EXPECT(aclFloatToFloat16(1.0f) == 0x3C00);
  EXPECT(aclFloatToFloat16(-2.5f) == 0xC100);
  EXPECT(aclFloatToFloat16(INFINITY) == 0x7BFF);
  EXPECT(aclFloatToFloat16(-INFINITY) == 0xFBFF);
  EXPECT(aclFloatToFloat16(NAN) == 0x7BFF);
  EXPECT(aclFloat16ToFloat(0x3555) == aclFloat16ToFloat(aclFloatToFloat16(aclFloat16ToFloat(0x3555))));
  EXPECT(aclFloat16ToFloat(0x7C00) == 65536.0f);
  EXPECT(aclFloat16ToFloat(0x7E00) == 98304.0f);
  EXPECT(aclnnInit(NULL) == ACLNN_SUCCESS && aclnnFinalize() == ACLNN_SUCCESS);

  aclDestroyTensor(tq);
  aclDestroyTensor(tk);
  aclDestroyTensor(tv);
  aclDestroyTensor(tout);
  aclDestroyTensor(tmax);
  aclDestroyTensor(tsum);
  aclDestroyTensor(tdy);
  aclDestroyTensor(tdq);
  aclDestroyTensor(tdk);
  aclDestroyTensor(tdv);
  EXPECT(aclrtFree(q_addr) == ACL_SUCCESS && aclrtFree(k_addr) == ACL_SUCCESS && aclrtFree(v_addr) == ACL_SUCCESS);
  EXPECT(aclrtFree(out_addr) == ACL_SUCCESS && aclrtFree(max_addr) == ACL_SUCCESS &&
         aclrtFree(sum_addr) == ACL_SUCCESS);
  EXPECT(aclrtFree(dy_addr) == ACL_SUCCESS && aclrtFree(dq_addr) == ACL_SUCCESS && aclrtFree(dk_addr) == ACL_SUCCESS &&
         aclrtFree(dv_addr) == ACL_SUCCESS);
  if (workspace) EXPECT(aclrtFree(workspace) == ACL_SUCCESS);
  if (grad_workspace) EXPECT(aclrtFree(grad_workspace) == ACL_SUCCESS);
  EXPECT(aclrtDestroyStream(stream) == ACL_SUCCESS);
  EXPECT(aclrtResetDevice(0) == ACL_SUCCESS);
  EXPECT(aclFinalize() == ACL_SUCCESS);
  printf("c_api_test: max error %.3g (dv %.3g), %d failure(s)\n", worst, worst_dv, failures);
  return failures != 0;
}
