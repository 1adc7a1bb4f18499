// FlashAttentionScore forward entry kernels: cube stages (Q·Kᵀ, P·V) and vector stages (scale, online
// softmax, rescale) composed per work entry of the host's plan (one batch, one query head, one block of
// BLOCK_M query rows).
//   fa_fwd_cpu:     one work-item per entry, register tiles, no barriers; launched with local size 1.
//   fa_fwd_generic: one work-item per query row, scalar loops; correct on any OpenCL 1.2 device.
// Compile-time config (-D): DTYPE, DK, DV, BLOCK_M, BLOCK_N.
#include "common/dtype.clh"
#include "common/round.clh"
#include "common/vec.clh"
#include "common/problem.clh"

#ifndef DK
#define DK 64
#endif
#ifndef DV
#define DV DK
#endif
#ifndef BLOCK_M
#define BLOCK_M 16
#endif
#ifndef BLOCK_N
#define BLOCK_N 32
#endif
#if BLOCK_N % 16 != 0
#error "BLOCK_N must be a multiple of 16"
#endif

#include "cube/qk_tile_cpu.clh"
#include "cube/pv_tile_cpu.clh"
#include "vector/online_softmax_cpu.clh"

// Rows of a batch with S2 = 0 see no key: written as Ascend's invalid line (out 0, max -FLT_MAX, sum FLT_MAX).
inline void write_empty_row(__global DATA_T* out, __global float* smax, __global float* ssum, HeadView h, long i,
                            long o_seq) {
  for (int d = 0; d < DV; ++d) STORE1(out, h.o + i * o_seq + d, 0.0f);
  store_stats(smax, ssum, h.stat + i * h.stat_row, NEG_FLT_MAX, POS_FLT_MAX);
}

__kernel void fa_fwd_cpu(__global const DATA_T* q, __global const DATA_T* k, __global const DATA_T* v,
                         __global DATA_T* out, __global float* smax, __global float* ssum,
                         __global const long* batches, __global const int* work, long q_seq, long q_head,
                         long k_seq, long k_head, long v_seq, long v_head, long o_seq, long o_head, long smax_off,
                         long ssum_off, int group, float scale) {
  __global const int* wk = work + (long)get_global_id(0) * WK_STRIDE;
  HeadView h = head_view(batches, wk[WK_BATCH], wk[WK_HEAD], group, q_head, k_head, v_head, o_head);
  smax += smax_off;
  ssum += ssum_off;
  const long row0 = wk[WK_ROW0];
  const int rows = (int)min((long)BLOCK_M, h.s1 - row0);
  if (h.s2 == 0) {
    for (int r = 0; r < rows; ++r) write_empty_row(out, smax, ssum, h, row0 + r, o_seq);
    return;
  }

  float qs[BLOCK_M * DK];
  for (int r = 0; r < BLOCK_M; ++r) {
    long row = h.q + (row0 + min(r, rows - 1)) * q_seq;  // tail rows repeat the last row; never stored
    for (int d = 0; d < DK; ++d) qs[r * DK + d] = LOAD1(q, row + d);
  }
  float o[BLOCK_M * DV16 * 16];
  for (int i = 0; i < BLOCK_M * DV16 * 16; ++i) o[i] = 0.0f;
  float m[BLOCK_M], l[BLOCK_M], alpha[BLOCK_M];
  for (int r = 0; r < BLOCK_M; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
  }
  float kt[DK * BLOCK_N];
  float sc[BLOCK_M * BLOCK_N];

  for (long kb = 0; kb < h.s2; kb += BLOCK_N) {
    const int nkeys = (int)min((long)BLOCK_N, h.s2 - kb);
    load_k_transposed(k, h.k + kb * k_seq, k_seq, nkeys, kt);
    qk_tile(qs, kt, sc);
    online_softmax(sc, nkeys, scale, m, l, alpha);
    rescale_o(o, alpha);
    pv_tile(sc, v, h.v + kb * v_seq, v_seq, nkeys, o);
  }

  for (int r = 0; r < rows; ++r) {
    const long i = row0 + r;
    const float inv = 1.0f / l[r];
    for (int c = 0; c < DV16; ++c) {
      float16 x = vload16(0, o + (r * DV16 + c) * 16) * inv;
      if (c * 16 + 16 <= DV)
        STORE16(out, h.o + i * o_seq + c * 16, x);
      else
        store_partial16(out, h.o + i * o_seq + c * 16, DV - c * 16, x);
    }
    store_stats(smax, ssum, h.stat + i * h.stat_row, m[r], l[r]);
  }
}

__kernel void fa_fwd_generic(__global const DATA_T* q, __global const DATA_T* k, __global const DATA_T* v,
                             __global DATA_T* out, __global float* smax, __global float* ssum,
                             __global const long* batches, __global const int* work, long q_seq, long q_head,
                             long k_seq, long k_head, long v_seq, long v_head, long o_seq, long o_head,
                             long smax_off, long ssum_off, int group, float scale) {
  __global const int* wk = work + (long)get_group_id(0) * WK_STRIDE;
  HeadView h = head_view(batches, wk[WK_BATCH], wk[WK_HEAD], group, q_head, k_head, v_head, o_head);
  smax += smax_off;
  ssum += ssum_off;
  const long i = wk[WK_ROW0] + (long)get_local_id(0);
  if (i >= h.s1) return;
  if (h.s2 == 0) {
    write_empty_row(out, smax, ssum, h, i, o_seq);
    return;
  }
  float qr[DK], o[DV];
  for (int d = 0; d < DK; ++d) qr[d] = LOAD1(q, h.q + i * q_seq + d);
  for (int d = 0; d < DV; ++d) o[d] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  for (long j = 0; j < h.s2; ++j) {
    float dot = 0.0f;
    for (int d = 0; d < DK; ++d) dot = fma(qr[d], LOAD1(k, h.k + j * k_seq + d), dot);
    const float s = dot * scale;
    const float mn = fmax(m, s);
    const float a = exp(m - mn);
    const float p = exp(s - mn);
    l = l * a + p;
    const float pr = ROUND_P1(p);
    for (int d = 0; d < DV; ++d) o[d] = fma(pr, LOAD1(v, h.v + j * v_seq + d), o[d] * a);
    m = mn;
  }
  const float inv = 1.0f / l;
  for (int d = 0; d < DV; ++d) STORE1(out, h.o + i * o_seq + d, o[d] * inv);
  store_stats(smax, ssum, h.stat + i * h.stat_row, m, l);
}
