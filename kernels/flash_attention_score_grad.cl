// FlashAttentionScoreGrad entry kernels: the FlashAttention-2 backward in Ascend's order
// (reference/ascend-semantics-backward.md §3.1): a pre-pass D = rowsum(dY ∘ attention_in); P recomputed from the
// forward's softmax_max and softmax_sum; dV += Pdᵀ·dY; dP = dY·Vᵀ; dS = P ∘ (dP' − D); dK += dSᵀ·Q; dQ += dS·K; dQ
// and dK scaled once at the end. Pd (P after dropout) and dS are rounded to the input dtype before their matmuls
// (CAST_ROUND, ties away), as are the outputs. Scores, masks, pse and dropout bits follow the forward's per-element
// rules (vector/element_rules.clh), so the backward differentiates exactly what the forward computed.
//   fag_pre_cpu, fag_main_cpu, fag_post_cpu (PoCL's CPU device): the pre-pass writes each block of BLOCK_M query rows
//     of a head into the workspace once, as the register tiles read it (Qᵀ and dYᵀ lane-major, Q and dY rows in fp32,
//     the row statistics and D) and zeroes its dQ accumulators; the main kernel is key/value-outer: a work entry owns
//     the key blocks kb = GK_COL0 + t·GK_STEP of one kv head, keeps their dK and dV in private accumulators over the
//     group's G heads and every row block that sees them (no atomics), and adds dS·K into its own dQ copy (GK_PART) of
//     the workspace; the post kernel sums the copies, scales, rounds and writes dQ. Register tiles are the forward's
//     (cube/qk_tile_cpu.clh, cube/pv_tile_cpu.clh) plus cube/outer_tile_cpu.clh for dSᵀ·Q and Pdᵀ·dY.
//   fag_pre_generic, fag_dq_generic, fag_dkdv_generic: one work-item per query row (pre-pass, dQ) or per key
//     (dK, dV, summed over the G query heads of the key's group): no atomics, no workspace but D; correct on any
//     OpenCL 1.2 device.
//   fag_dpse (both variants, launched only when a dpse view is given): one work-item per pse element, Σ dS over the
//     scores that read it (vector/pse_grad.clh), recomputed from the inputs.
// Compile-time config (-D): DTYPE, DK, DV, BLOCK_M, GENERIC_ONLY; for the CPU kernels also VW, BLOCK_N, QK_KEYS,
// PV_COLS, QK_ROW_VECS, PV_ROW_VECS (the forward's tiles), OA_KEYS, OA_CV_K and OA_CV_V (cube/outer_tile_cpu.clh).
#include "common/dtype.clh"
#include "common/vec.clh"
#include "common/round.clh"
#include "common/problem.clh"
#include "common/args.clh"
#include "common/philox.clh"
#include "common/store_nt.clh"
#include "common/prefetch.clh"
#include "common/transpose16.clh"

#ifndef DK
#define DK 64
#endif
#ifndef DV
#define DV DK
#endif
#ifndef BLOCK_M
#define BLOCK_M 32
#endif
#define DK_PAD ((DK + 15) / 16 * 16)
#define DV_PAD ((DV + 15) / 16 * 16)

#include "vector/element_rules.clh"
#include "cube/row_generic.clh"


// Element offset of row 0 of (batch b, head n) in a view with the given strides (TND batches start at their first
// token, BT_Q_START or BT_KV_START).
inline long grad_view_head(__global const long* batches, int b, int n, int start_col, long off, long batch, long seq,
                           long head) {
  return off + b * batch + batches[(long)b * BT_STRIDE + start_col] * seq + n * head;
}

// The forward's score of element (i, j) from its dot product: the pse as pse_type says and atten_mask's -FLT_MAX
// (the band rule's skipped elements are never visited); then P = exp(s - max) / sum with the forward's statistics.
inline float grad_p(HeadView h, int i, int j, float dot, float m, float l, float scale, __global const DATA_T* pse,
                    __global const float* slopes, int pse_mode, int pse_map, long pse_cols, __global const uchar* mask,
                    long mask_row, int flags) {
  float s = pse_score(h, i, j, dot, scale, pse, slopes, pse_mode, pse_map, pse_cols);
  if ((flags & FLAG_MASK_TENSOR) && mask[h.mask + (long)i * mask_row + j]) s = NEG_FLT_MAX;
  return exp(s - m) / l;
}

// dP' of score (i, j): dY_i·V_j (dyr: the row of dY in fp32, v_at: V_j's first element), times keep_scale where
// dropout keeps the element and 0 where it drops it.
inline float grad_dp(HeadView h, long i, long j, const float* dyr, __global const DATA_T* v, long v_at, bool dropout,
                     __global const uchar* drop_mask, int flags, uint2 key, ulong offset_groups, uint threshold,
                     ulong numels, float keep_scale) {
  const float dp = dot_row(dyr, v, v_at, DV);
  if (!dropout) return dp;
  return keep_bit(h, i, j, drop_mask, flags, key, offset_groups, threshold, numels) ? dp * keep_scale : 0.0f;
}

// The band of keys row i sees: -pre <= j - i <= next (the first `prefix` keys are seen by every row).
inline long band_lo(HeadView h, long i) { return max(0L, i - (long)h.pre); }
inline long band_hi(HeadView h, long i) { return min(h.s2 - 1, i + (long)h.next); }

// D = rowsum(dY ∘ attention_in) in fp32, d order, for each query row (Ascend's SoftmaxGradFront).
__kernel void fag_pre_generic(__global const DATA_T* dy, __global const DATA_T* ain, __global const long* batches,
                              __global const long* gbt, __global const int* work, __global float* dr,
                              const FagArgs ga) {
  const FaArgs args = ga.fa;
  __global const int* wk = work + (long)get_group_id(0) * GR_STRIDE;
  const int b = wk[GR_BATCH], n1 = wk[GR_HEAD];
  const HeadView h = head_view(batches, b, n1, args);
  const long i = wk[GR_ROW0] + (long)get_local_id(0);
  if (i >= h.s1) return;
  float dyr[DV_PAD];
  load_row(dy, h.o + i * args.o_seq, DV, dyr);
  const long a0 = grad_view_head(batches, b, n1, BT_Q_START, ga.ain_off, ga.ain_batch, ga.ain_seq, ga.ain_head);
  dr[gbt[(long)b * GB_STRIDE + GB_ROW_BASE] + n1 * h.s1 + i] = dot_row(dyr, ain, a0 + i * ga.ain_seq, DV);
}

// dQ for one query row: every key it sees, dS = P ∘ (dP' − D) rounded, dQ = scale · Σ dS·K, rounded once.
__kernel void fag_dq_generic(__global const DATA_T* q, __global const DATA_T* k, __global const DATA_T* v,
                             __global const DATA_T* dy, __global const float* smax, __global const float* ssum,
                             __global DATA_T* dq, __global const long* batches, __global const long* gbt,
                             __global const int* work, __global const uchar* mask, __global const DATA_T* pse,
                             __global const float* slopes, __global const uchar* drop_mask, __global const float* dr,
                             const FagArgs ga) {
  const FaArgs args = ga.fa;
  FA_UNPACK_ARGS(args);
  __global const int* wk = work + (long)get_group_id(0) * GR_STRIDE;
  const int b = wk[GR_BATCH], n1 = wk[GR_HEAD];
  const HeadView h = head_view(batches, b, n1, args);
  const long i = wk[GR_ROW0] + (long)get_local_id(0);
  if (i >= h.s1) return;
  float acc[DK_PAD];
  for (int d = 0; d < DK_PAD; d += 16) vstore16((float16)0.0f, 0, acc + d);
  if (h.s2 > 0) {
    float qr[DK_PAD], dyr[DV_PAD];
    load_row(q, h.q + i * q_seq, DK, qr);
    load_row(dy, h.o + i * o_seq, DV, dyr);
    const float m = smax[smax_off + h.stat + i * h.stat_row], l = ssum[ssum_off + h.stat + i * h.stat_row];
    const float dri = dr[gbt[(long)b * GB_STRIDE + GB_ROW_BASE] + n1 * h.s1 + i];
    const bool dropout = (flags & (FLAG_DROP_EXPLICIT | FLAG_DROP_GEN)) != 0;
    // The prefix keys [0, prefix) (sparse mode 6), then the band's [lo, hi] past them.
    const long pre_end = min((long)h.prefix, h.s2), lo = max(band_lo(h, i), pre_end), hi = band_hi(h, i);
    for (long t = 0; t < pre_end + max(0L, hi - lo + 1); ++t) {
      const long j = t < pre_end ? t : lo + (t - pre_end);
      const float p = grad_p(h, (int)i, (int)j, qk_row(qr, k, h.k + j * k_seq), m, l, scale, pse, slopes, pse_mode,
                             pse_map, pse_cols, mask, mask_row, flags);
      const float dp =
          grad_dp(h, i, j, dyr, v, h.v + j * v_seq, dropout, drop_mask, flags, (uint2)(drop_key_lo, drop_key_hi),
                  drop_offset_groups, drop_threshold, drop_numels, keep_scale);
      axpy_row(acc, ROUND_T1(p * (dp - dri)), k, h.k + j * k_seq, DK, false, 1.0f);
    }
  }
  const long at = grad_view_head(batches, b, n1, BT_Q_START, ga.dq_off, ga.dq_batch, ga.dq_seq, ga.dq_head) +
                  i * ga.dq_seq;
  for (int d = 0; d < DK; ++d) STORE1(dq, at + d, ROUND_T1(acc[d] * scale));
}

// dK and dV for one key: every query row of the group's G heads that sees it; dV = Σ Pdᵀ·dY, dK = scale · Σ dSᵀ·Q.
__kernel void fag_dkdv_generic(__global const DATA_T* q, __global const DATA_T* k, __global const DATA_T* v,
                               __global const DATA_T* dy, __global const float* smax, __global const float* ssum,
                               __global DATA_T* dk, __global DATA_T* dv, __global const long* batches,
                               __global const long* gbt, __global const int* work, __global const uchar* mask,
                               __global const DATA_T* pse, __global const float* slopes,
                               __global const uchar* drop_mask, __global const float* dr, const FagArgs ga) {
  const FaArgs args = ga.fa;
  FA_UNPACK_ARGS(args);
  __global const int* wk = work + (long)get_group_id(0) * GK_STRIDE;
  const int b = wk[GK_BATCH], n2 = wk[GK_HEAD];
  const HeadView h0 = head_view(batches, b, n2 * args.group, args);
  const long j = wk[GK_COL0] + (long)get_local_id(0);
  if (j >= h0.s2) return;
  float kr[DK_PAD], vr[DV_PAD], dka[DK_PAD], dva[DV_PAD];
  load_row(k, h0.k + j * k_seq, DK, kr);
  load_row(v, h0.v + j * v_seq, DV, vr);
  for (int d = 0; d < DK_PAD; d += 16) vstore16((float16)0.0f, 0, dka + d);
  for (int d = 0; d < DV_PAD; d += 16) vstore16((float16)0.0f, 0, dva + d);
  const bool dropout = (flags & (FLAG_DROP_EXPLICIT | FLAG_DROP_GEN)) != 0;
  const long row_base = gbt[(long)b * GB_STRIDE + GB_ROW_BASE];
  for (int g = 0; g < args.group; ++g) {
    const int n1 = n2 * args.group + g;
    const HeadView h = head_view(batches, b, n1, args);
    // Rows that see key j: -pre <= j - i <= next, or every row when j is a prefix key.
    const bool prefix_key = j < h.prefix;
    const long lo = prefix_key ? 0 : max(0L, j - (long)h.next);
    const long hi = prefix_key ? h.s1 - 1 : min(h.s1 - 1, j + (long)h.pre);
    for (long i = lo; i <= hi; ++i) {
      const float m = smax[smax_off + h.stat + i * h.stat_row], l = ssum[ssum_off + h.stat + i * h.stat_row];
      const float p = grad_p(h, (int)i, (int)j, dot_row(kr, q, h.q + i * q_seq, DK), m, l, scale, pse, slopes, pse_mode,
                             pse_map, pse_cols, mask, mask_row, flags);
      float dp = dot_row(vr, dy, h.o + i * o_seq, DV);
      float pd = p;
      if (dropout) {
        const bool keep = keep_bit(h, i, j, drop_mask, flags, (uint2)(drop_key_lo, drop_key_hi), drop_offset_groups,
                                   drop_threshold, drop_numels);
        dp = keep ? dp * keep_scale : 0.0f;
        pd = keep ? p * keep_scale : 0.0f;
      }
      axpy_row(dva, ROUND_T1(pd), dy, h.o + i * o_seq, DV, false, 1.0f);
      axpy_row(dka, ROUND_T1(p * (dp - dr[row_base + n1 * h.s1 + i])), q, h.q + i * q_seq, DK, false, 1.0f);
    }
  }
  const long kat = grad_view_head(batches, b, n2, BT_KV_START, ga.dk_off, ga.dk_batch, ga.dk_seq, ga.dk_head) +
                   j * ga.dk_seq;
  const long vat = grad_view_head(batches, b, n2, BT_KV_START, ga.dv_off, ga.dv_batch, ga.dv_seq, ga.dv_head) +
                   j * ga.dv_seq;
  for (int d = 0; d < DK; ++d) STORE1(dk, kat + d, ROUND_T1(dka[d] * scale));
  for (int d = 0; d < DV; ++d) STORE1(dv, vat + d, ROUND_T1(dva[d]));
}

#include "vector/pse_grad.clh"

// dpse, both variants, only when a dpse view is given: one work-item per pse element, Σ dS over every batch and row
// that reads it (batch, then row order), times scale for pse_type 1 (s = (qk + pse)·scale), in fp32, and rounded
// once to the pse dtype with CAST_ROUND, as dq, dk and dv are. dS is recomputed from the inputs as fag_dq_generic
// computes it (the CPU variant's D sums in another order: they differ by rounding only) rather than kept from the
// main passes: an element of a broadcast or compressed form collects scores of many key blocks and batches, which
// the CPU variant spreads over its work entries, so keeping them would need score-sized or per-entry scratch;
// recomputing needs none and leaves both main passes as they are when no dpse is asked for.
__kernel void fag_dpse(__global const DATA_T* q, __global const DATA_T* k, __global const DATA_T* v,
                       __global const DATA_T* dy, __global const DATA_T* ain, __global const float* smax,
                       __global const float* ssum, __global DATA_T* dpse, __global const long* batches,
                       __global const uchar* mask, __global const DATA_T* pse, __global const uchar* drop_mask,
                       const FagArgs ga) {
  const FaArgs args = ga.fa;
  FA_UNPACK_ARGS(args);
  const long e = get_global_id(0);
  if (e >= ga.entries) return;
  // The batches whose scores read element e: all of them when they share one pse (its first dimension is 1, so
  // every batch's block starts at 0), else the one whose block holds e (the blocks follow each other by batch).
  int b0 = 0, b1 = ga.batches - 1;
  if (batches[(long)b1 * BT_STRIDE + BT_PSE] != batches[BT_PSE]) {
    while (b0 < b1) {
      const int mid = (b0 + b1 + 1) / 2;
      if (batches[(long)mid * BT_STRIDE + BT_PSE] <= e) {
        b0 = mid;
      } else {
        b1 = mid - 1;
      }
    }
  }
  const bool dropout = (flags & (FLAG_DROP_EXPLICIT | FLAG_DROP_GEN)) != 0;
  float acc = 0.0f;
  for (int b = b0; b <= b1; ++b) {
    const long o = e - batches[(long)b * BT_STRIDE + BT_PSE], head = batches[(long)b * BT_STRIDE + BT_PSE_HEAD];
    const int n1 = (int)(o / head);
    const HeadView h = head_view(batches, b, n1, args);
    const long a0 = grad_view_head(batches, b, n1, BT_Q_START, ga.ain_off, ga.ain_batch, ga.ain_seq, ga.ain_head);
    const PseReaders r = pse_readers(h, o - n1 * head, pse_map, pse_cols);
    for (long t = 0; t < r.count + (r.extra_i >= 0 ? 1 : 0); ++t) {
      const long i = t < r.count ? r.lo + t * r.step : r.extra_i;
      const long j = t < r.count ? r.diag * i + r.off : r.extra_j;
      if (j < 0 || !BAND_VISIBLE(h, i, j)) continue;
      float qr[DK_PAD], dyr[DV_PAD];
      load_row(q, h.q + i * q_seq, DK, qr);
      load_row(dy, h.o + i * o_seq, DV, dyr);
      const float m = smax[smax_off + h.stat + i * h.stat_row], l = ssum[ssum_off + h.stat + i * h.stat_row];
      // pse_type 0/1 read no ALiBi slopes: the pse stands in for that argument.
      const float p = grad_p(h, (int)i, (int)j, qk_row(qr, k, h.k + j * k_seq), m, l, scale, pse,
                             (__global const float*)pse, pse_mode, pse_map, pse_cols, mask, mask_row, flags);
      const float dp =
          grad_dp(h, i, j, dyr, v, h.v + j * v_seq, dropout, drop_mask, flags, (uint2)(drop_key_lo, drop_key_hi),
                  drop_offset_groups, drop_threshold, drop_numels, keep_scale);
      acc += p * (dp - dot_row(dyr, ain, a0 + i * ga.ain_seq, DV));
    }
  }
  STORE1(dpse, ga.dpse_off + e, ROUND_T1(pse_mode == PSE_ADD_SCALE ? acc * scale : acc));
}

// GENERIC_ONLY leaves the CPU kernels out of the program (llvmpipe spends long translating their unrolled tiles).
#ifndef GENERIC_ONLY
#ifndef BLOCK_N
#define BLOCK_N 32
#endif
#ifndef OA_CV_K
#define OA_CV_K 1
#endif
#ifndef OA_CV_V
#define OA_CV_V 1
#endif
#define ROW_VECS ROW_VECS_OF(BLOCK_M)
#define LANES (ROW_VECS * VW)
// The entry's packed K and V blocks live in its slot of the workspace, not in private memory: with them the private
// tiles would pass the PoCL thread stack's budget at D = 128 (host/tune/params.hpp kMaxCpuPrivateBytes).
#define KV_TILE_SPACE __global
#include "cube/qk_tile_cpu.clh"
#include "cube/pv_tile_cpu.clh"
#include "cube/outer_tile_cpu.clh"
#include "vector/mask_cpu.clh"
#include "vector/pse_cpu.clh"
#include "vector/dropout_cpu.clh"
#include "vector/exp_cpu.clh"
#ifndef BF16_DOT
#define BF16_DOT 0
#endif
#if BF16_DOT
#include "cube/bf16_pair_cpu.clh"
#endif

// Key rows of the private tiles: the key block padded for the Q·Kᵀ tiles (QK_KEYS) and the outer tiles (OA_KEYS).
#define PAD_TO(n, m) (((n) + (m)-1) / (m) * (m))
#define GRAD_KEYS \
  (PAD_TO(BLOCK_N, QK_KEYS) > PAD_TO(BLOCK_N, OA_KEYS) ? PAD_TO(BLOCK_N, QK_KEYS) : PAD_TO(BLOCK_N, OA_KEYS))

// One block of BLOCK_M query rows of one head in the workspace (fp32 offsets; lanes past the block's rows repeat its
// last row): Qᵀ [DK][LANES] and dYᵀ [DV][LANES] for the Q·Kᵀ and dY·Vᵀ tiles, Q [LANES][DK_PAD] and dY [LANES][DV_PAD]
// rows for the outer tiles, and the rows' softmax_max, softmax_sum and D. Every part starts on a row vector (LANES
// and DK_PAD are multiples of VW, records are padded to 16 floats, the workspace is 64-byte aligned), so the tiles
// read and write it with vloadv_aligned/vstorev_aligned. With BF16_DOT the four operand parts hold the same values in
// bf16 pair layouts (cube/bf16_pair_cpu.clh), in the first half of their space: Qᵀ and dYᵀ as [d/2][LANES][2], Q and
// dY as [LANES/2][DK_PAD or DV_PAD][2].
#define REC_QT 0
#define REC_DYT (REC_QT + DK * LANES)
#define REC_QR (REC_DYT + DV * LANES)
#define REC_DYR (REC_QR + LANES * DK_PAD)
#define REC_M (REC_DYR + LANES * DV_PAD)
#define REC_L (REC_M + LANES)
#define REC_D (REC_L + LANES)
#define REC_FLOATS PAD_TO(REC_D + LANES, 16)
// A dQ accumulator of one row block: dQᵀ [DK_PAD][LANES] (the P·V tile writes whole PV_COLS column tiles).
#define DQ_FLOATS (DK_PAD * LANES)
// A key entry's packed blocks: K [BLOCK_N][DK_PAD] then V [BLOCK_N][DV_PAD], zero-filled past the head dims. With
// BF16_DOT: bf16 K and V rows, then K's pairs over keys [BLOCK_N/2][DK_PAD] (uints), which fit the same slot.
#define KV_FLOATS (BLOCK_N * (DK_PAD + DV_PAD))
#if BF16_DOT
#if PAIRS(BLOCK_N) * DK_PAD > BLOCK_N * (DK_PAD + DV_PAD) / 2
#error "BF16_DOT: K's key pairs do not fit the entry's slot"
#endif
#endif

#if BF16_DOT
QK2_TILE_DEFINE(qk2_tile_q, DK)
QK2_TILE_DEFINE(qk2_tile_dy, DV)
PV2_TILE_DEFINE(pv2_tile_dq, DK, DK_PAD)
OUTER2_TILE_DEFINE(outer2_tile_k, DK_PAD, OA_CV_K)
OUTER2_TILE_DEFINE(outer2_tile_v, DV_PAD, OA_CV_V)
#else
QK_TILE_DEFINE(qk_tile_q, __global, DK, vloadv_aligned)
QK_TILE_DEFINE(qk_tile_dy, __global, DV, vloadv_aligned)
PV_TILE_DEFINE(pv_tile_dq, __global, DK, vloadv_aligned, vstorev_aligned)
OUTER_TILE_DEFINE(outer_tile_k, DK_PAD, OA_CV_K)
OUTER_TILE_DEFINE(outer_tile_v, DV_PAD, OA_CV_V)
#endif

// The row block's index among all blocks of every batch and head (the workspace's record order).
inline long grad_row_tile(__global const long* gbt, int b, int n1, long s1, long row0) {
  return gbt[(long)b * GB_STRIDE + GB_TILE_BASE] + n1 * ((s1 + BLOCK_M - 1) / BLOCK_M) + row0 / BLOCK_M;
}

// D of one row: Σ dY·attention_in over DV in fp32, 16 partial sums added pairwise at the end (Ascend's order is
// unspecified; a single chain of DV dependent FMAs was half of this pre-pass's time).
inline float dot_row_tree(const float* dyr, __global const DATA_T* ain, long at) {
  float16 acc = (float16)0.0f;
  for (int d = 0; d + 16 <= DV; d += 16) acc = fma(vload16(0, dyr + d), LOAD16(ain, at + d), acc);
  if (DV % 16 != 0) acc = fma(vload16(0, dyr + DV / 16 * 16), load_partial16(ain, at + DV / 16 * 16, DV % 16), acc);
  const float8 a8 = acc.lo + acc.hi;
  const float4 a4 = a8.lo + a8.hi;
  const float2 a2 = a4.lo + a4.hi;
  return a2.x + a2.y;
}

// Writes one row block's workspace record and zeroes its dQ accumulators.
__kernel void fag_pre_cpu(__global const DATA_T* q, __global const DATA_T* dy, __global const DATA_T* ain,
                          __global const float* smax, __global const float* ssum, __global const long* batches,
                          __global const long* gbt, __global const int* work, __global float* ws, const FagArgs ga) {
  const FaArgs args = ga.fa;
  __global const int* wk = work + (long)get_global_id(0) * GR_STRIDE;
  const int b = wk[GR_BATCH], n1 = wk[GR_HEAD];
  const HeadView h = head_view(batches, b, n1, args);
  const long row0 = wk[GR_ROW0];
  const int rows = (int)min((long)BLOCK_M, h.s1 - row0);
  const long tile = grad_row_tile(gbt, b, n1, h.s1, row0);
  __global float* rec = ws + tile * REC_FLOATS;
  const long a0 = grad_view_head(batches, b, n1, BT_Q_START, ga.ain_off, ga.ain_batch, ga.ain_seq, ga.ain_head);
  float dyr[DV_PAD];
#if BF16_DOT
  bf16_col_pairs(q, h.q + row0 * args.q_seq, args.q_seq, rows, DK, (__global uint*)(rec + REC_QT));
  bf16_col_pairs(dy, h.o + row0 * args.o_seq, args.o_seq, rows, DV, (__global uint*)(rec + REC_DYT));
  bf16_row_pairs(q, h.q + row0 * args.q_seq, args.q_seq, rows, DK, DK_PAD, (__global uint*)(rec + REC_QR));
  bf16_row_pairs(dy, h.o + row0 * args.o_seq, args.o_seq, rows, DV, DV_PAD, (__global uint*)(rec + REC_DYR));
#endif
  for (int r = 0; r < LANES; ++r) {
    const long i = row0 + min(r, rows - 1);
    if (r + PREFETCH_ROWS_AHEAD < rows) {  // common/prefetch.clh
      const long ip = i + PREFETCH_ROWS_AHEAD;
      prefetch_row(dy, h.o + ip * args.o_seq, DV);
      prefetch_row(ain, a0 + ip * ga.ain_seq, DV);
#if !BF16_DOT
      prefetch_row(q, h.q + ip * args.q_seq, DK);  // the pair layouts above read Q already
#endif
    }
    load_row(dy, h.o + i * args.o_seq, DV, dyr);
#if !BF16_DOT
    float qr[DK_PAD];
    load_row(q, h.q + i * args.q_seq, DK, qr);
    for (int d = 0; d < DK; ++d) rec[REC_QT + d * LANES + r] = qr[d];
    for (int d = 0; d < DV; ++d) rec[REC_DYT + d * LANES + r] = dyr[d];
    for (int d = 0; d < DK_PAD; d += 16) vstore16(vload16(0, qr + d), 0, rec + REC_QR + r * DK_PAD + d);
    for (int d = 0; d < DV_PAD; d += 16) vstore16(vload16(0, dyr + d), 0, rec + REC_DYR + r * DV_PAD + d);
#endif
    const long at = h.stat + i * h.stat_row;
    rec[REC_M + r] = smax[args.smax_off + at];
    rec[REC_L + r] = ssum[args.ssum_off + at];
    rec[REC_D + r] = dot_row_tree(dyr, ain, a0 + i * ga.ain_seq);
  }
  for (int p = 0; p < ga.parts; ++p) {
    __global float* acc = ws + ga.row_tiles * REC_FLOATS + ((long)p * ga.row_tiles + tile) * DQ_FLOATS;
    for (int x = 0; x < DQ_FLOATS; x += 16) vstore16((float16)0.0f, 0, acc + x);
  }
}

// e^x for P: the online softmax's cheaper exp where every x <= 0 (callers pass the literal), OpenCL's exp otherwise.
inline floatv grad_exp(floatv x, bool any_positive) { return any_positive ? exp(x) : exp_nonpositive(x); }

// Row vector rv of a tile without dropout: P = e^(x - max)·(1/sum); dpt becomes round(P ∘ (dP - D)), st round(P).
// EXP_WAYS keys at a time, so that their exps overlap (vector/exp_cpu.clh).
inline void grad_scores_plain(float* st, float* dpt, int rv, int nkeys, floatv m, floatv rl, floatv dr,
                              bool any_positive) {
  int j = 0;
  for (; j + EXP_WAYS <= nkeys; j += EXP_WAYS) {
    floatv p[EXP_WAYS];
#pragma unroll
    for (int k = 0; k < EXP_WAYS; ++k) p[k] = vloadv_private((j + k) * ROW_VECS + rv, st) - m;
    if (any_positive) {
#pragma unroll
      for (int k = 0; k < EXP_WAYS; ++k) p[k] = exp(p[k]);
    } else {
      exp_nonpositive_ways(p);
    }
#pragma unroll
    for (int k = 0; k < EXP_WAYS; ++k) {
      const int at = (j + k) * ROW_VECS + rv;
      vstorev_private(ROUND_TV(p[k] * rl * (vloadv_private(at, dpt) - dr)), at, dpt);
      vstorev_private(ROUND_TV(p[k] * rl), at, st);
    }
  }
  for (; j < nkeys; ++j) {
    const floatv p = grad_exp(vloadv_private(j * ROW_VECS + rv, st) - m, any_positive) * rl;
    vstorev_private(ROUND_TV(p * (vloadv_private(j * ROW_VECS + rv, dpt) - dr)), j * ROW_VECS + rv, dpt);
    vstorev_private(ROUND_TV(p), j * ROW_VECS + rv, st);
  }
}

// P from the scores (st) and the row statistics, dP' and Pd with the keep bits; st becomes round(Pd), dpt round(dS).
// Lane r sees only the keys j <= kdiag + r (TILE_KEY_END, cube/qk_tile_cpu.clh): a row vector's keys past its last
// lane's are outside the band for all its lanes, so their Pd and dS are 0 exactly and are stored as 0 without reading
// st and dpt, which the tiles may have left unset there.
// P = exp(x - max) · (1/sum): one division per row instead of one per score (Ascend divides; the two differ by at
// most about an ulp). With the forward's own statistics x - max <= 0 (the same fp32 score), so the online softmax's
// cheaper exp applies; a row vector whose tile has a larger x (other statistics) takes OpenCL's exp.
inline void grad_scores(float* st, float* dpt, __global const float* rec, HeadView h, int row0, int rows, int rv_end,
                        int col0, int nkeys, int kdiag, bool dropout, __global const uchar* drop_mask, int flags,
                        float keep_scale, uint2 key, ulong offset_groups, uint threshold, ulong numels) {
  for (int rv = 0; rv < rv_end; ++rv) {  // the row vectors holding the block's rows
    const int seen = TILE_KEY_END(nkeys, kdiag, rv + 1);
    for (int j = seen; j < nkeys; ++j) {
      vstorev_private((floatv)0.0f, j * ROW_VECS + rv, st);
      vstorev_private((floatv)0.0f, j * ROW_VECS + rv, dpt);
    }
    const floatv m = vloadv_aligned(rv, rec + REC_M), rl = 1.0f / vloadv_aligned(rv, rec + REC_L),
                 dr = vloadv_aligned(rv, rec + REC_D);
    // max_keep's running max is never NaN: a NaN score is left out, as fmax did. EXP_WAYS running maxima, so that
    // the compare-and-select chains overlap; only `any` of the result is used, so their order does not matter.
    floatv tops[EXP_WAYS];
#pragma unroll
    for (int k = 0; k < EXP_WAYS; ++k) tops[k] = (floatv)(-INFINITY);
    int jt = 0;
    for (; jt + EXP_WAYS <= seen; jt += EXP_WAYS) {
#pragma unroll
      for (int k = 0; k < EXP_WAYS; ++k) tops[k] = max_keep(tops[k], vloadv_private((jt + k) * ROW_VECS + rv, st));
    }
    for (; jt < seen; ++jt) tops[0] = max_keep(tops[0], vloadv_private(jt * ROW_VECS + rv, st));
    floatv top = tops[0];
#pragma unroll
    for (int k = 1; k < EXP_WAYS; ++k) top = max_keep(top, tops[k]);
    const bool any_positive = any(isgreater(top - m, (floatv)0.0f));
    if (!dropout) {
      if (any_positive) {
        grad_scores_plain(st, dpt, rv, seen, m, rl, dr, true);
      } else {
        grad_scores_plain(st, dpt, rv, seen, m, rl, dr, false);
      }
      continue;
    }
    const longv row = convert_longv(lane_rows(row0, rows, rv)) + (longv)h.drop_row0;
    for (int j = 0; j < seen;) {
      const long col = col0 + j;
      const int skip = (int)(col & 15);  // keep bits come per 16-key group, which starts `skip` keys before col
      const int take = min(16 - skip, seen - j);
      const uintv bits = keep_bits_v(h, row, col - skip, drop_mask, flags, key, offset_groups, threshold, numels);
      for (int t = 0; t < take; ++t, ++j) {
        const intv on = convert_intv((bits >> (uintv)(skip + t)) & (uintv)1u) != (intv)0;
        const floatv p = grad_exp(vloadv_private(j * ROW_VECS + rv, st) - m, any_positive) * rl;
        const floatv dp = select((floatv)0.0f, vloadv_private(j * ROW_VECS + rv, dpt) * keep_scale, on);
        vstorev_private(ROUND_TV(p * (dp - dr)), j * ROW_VECS + rv, dpt);
        vstorev_private(ROUND_TV(select((floatv)0.0f, p * keep_scale, on)), j * ROW_VECS + rv, st);
      }
    }
  }
}

// dK and dV of the entry's key blocks; dQ contributions into dQ copy GK_PART.
__kernel void fag_main_cpu(__global const DATA_T* k, __global const DATA_T* v, __global DATA_T* dk,
                           __global DATA_T* dv, __global const long* batches, __global const long* gbt,
                           __global const int* work, __global const uchar* mask, __global const DATA_T* pse,
                           __global const float* slopes, __global const uchar* drop_mask, __global float* ws,
                           const FagArgs ga) {
  const FaArgs args = ga.fa;
  FA_UNPACK_ARGS(args);
  __global const int* wk = work + (long)get_global_id(0) * GK_STRIDE;
  const int b = wk[GK_BATCH], n2 = wk[GK_HEAD], step = wk[GK_STEP];
  const HeadView h0 = head_view(batches, b, n2 * args.group, args);
  const long s1 = h0.s1, s2 = h0.s2;
  const bool dropout = (flags & (FLAG_DROP_EXPLICIT | FLAG_DROP_GEN)) != 0;
  __global float* dq_acc = ws + ga.row_tiles * REC_FLOATS + (long)wk[GK_PART] * ga.row_tiles * DQ_FLOATS;
  const long kat = grad_view_head(batches, b, n2, BT_KV_START, ga.dk_off, ga.dk_batch, ga.dk_seq, ga.dk_head);
  const long vat = grad_view_head(batches, b, n2, BT_KV_START, ga.dv_off, ga.dv_batch, ga.dv_seq, ga.dv_head);
  __global float* kp = ws + ga.row_tiles * (REC_FLOATS + (long)ga.parts * DQ_FLOATS) + (long)get_global_id(0) * KV_FLOATS;
  float dka[PAD_TO(BLOCK_N, OA_KEYS) * DK_PAD] ALIGNED_V, dva[PAD_TO(BLOCK_N, OA_KEYS) * DV_PAD] ALIGNED_V;
  float st[GRAD_KEYS * LANES] ALIGNED_V, dpt[GRAD_KEYS * LANES] ALIGNED_V;
#if BF16_DOT
  // Pd and dS as bf16 pair tiles (cube/bf16_pair_cpu.clh); K and V of the block in bf16 rows, then K's key pairs.
  ushort st2[GRAD_KEYS * LANES] ALIGNED_V, ds2[GRAD_KEYS * LANES] ALIGNED_V;
  uint dst2[PAIRS(GRAD_KEYS) * LANES] ALIGNED_V;
  __global ushort* kp2 = (__global ushort*)kp;
  __global ushort* vp2 = kp2 + BLOCK_N * DK_PAD;
  __global uint* kt2 = (__global uint*)(vp2 + BLOCK_N * DV_PAD);
#else
  __global float* vp = kp + BLOCK_N * DK_PAD;
  const float unused_alpha[1] = {1.0f};
#endif
  // The tiles skip row groups past a block's rows (rv_end below), and grad_scores stops at its rows' row vectors; the
  // mask and pse stages still walk every lane. The lanes past a block's rows then hold an earlier block's values or
  // these zeros, finite rather than whatever the stack held, and reach only dQ lanes that are never stored.
  for (int x = 0; x < GRAD_KEYS * ROW_VECS; ++x) {
    vstorev_private((floatv)0.0f, x, st);
    vstorev_private((floatv)0.0f, x, dpt);
  }
#if BF16_DOT
  for (int x = 0; x < GRAD_KEYS * LANES; ++x) st2[x] = ds2[x] = 0;
  for (int x = 0; x < PAIRS(GRAD_KEYS) * LANES; ++x) dst2[x] = 0;
#endif
  // Row chunks (ga.chunk_rows, a multiple of BLOCK_M; 0: one chunk): every key block sweeps one chunk's row records
  // before the next chunk, so a sweep reads what the cache still holds from the last. Between chunks a key block's
  // fp32 dK and dV wait in the workspace (dkv, ga.dkv_entry floats per entry). A head's row blocks still add into them
  // in row order, so without GQA the results are the same bit for bit; with GQA the group's heads take turns per chunk
  // rather than per key block, another order of the same fp32 sums.
  const long chunk = ga.chunk_rows > 0 ? ga.chunk_rows : max(s1, 1L);
  const long entry = (long)get_global_id(0);
  __global float* dkv = kp + (ga.entries - entry) * KV_FLOATS + entry * ga.dkv_entry;
  for (long c0 = 0; c0 < max(s1, 1L); c0 += chunk) {
    const long c1 = min(s1, c0 + chunk) - 1;
    const bool first_chunk = c0 == 0, last_chunk = c0 + chunk >= s1;
    for (long kb = wk[GK_COL0], t = 0; kb * BLOCK_N < s2; kb += step, ++t) {
      const long j0 = kb * BLOCK_N;
      const int nkeys = (int)min((long)BLOCK_N, s2 - j0);
      const long j1 = j0 + nkeys - 1;
      __global float* dkv_block = dkv + t * PAD_TO(BLOCK_N, OA_KEYS) * (DK_PAD + DV_PAD);
#if BF16_DOT
      pack_bf16_rows(k, h0.k + j0 * k_seq, k_seq, nkeys, DK, DK_PAD, kp2);
      pack_bf16_rows(v, h0.v + j0 * v_seq, v_seq, nkeys, DV, DV_PAD, vp2);
      pack_bf16_key_pairs(kp2, nkeys, DK_PAD, kt2);
#else
      pack_rows_global(k, h0.k + j0 * k_seq, k_seq, nkeys, DK, DK_PAD, kp);
      pack_rows_global(v, h0.v + j0 * v_seq, v_seq, nkeys, DV, DV_PAD, vp);
#endif
      if (first_chunk) {
        for (int x = 0; x < PAD_TO(BLOCK_N, OA_KEYS) * DK_PAD; x += 16) vstore16((float16)0.0f, 0, dka + x);
        for (int x = 0; x < PAD_TO(BLOCK_N, OA_KEYS) * DV_PAD; x += 16) vstore16((float16)0.0f, 0, dva + x);
      } else {
        __global const float* dvb = dkv_block + PAD_TO(BLOCK_N, OA_KEYS) * DK_PAD;
        for (int x = 0; x < PAD_TO(BLOCK_N, OA_KEYS) * DK_PAD; x += 16) {
          vstore16(vload16(0, dkv_block + x), 0, dka + x);
        }
        for (int x = 0; x < PAD_TO(BLOCK_N, OA_KEYS) * DV_PAD; x += 16) vstore16(vload16(0, dvb + x), 0, dva + x);
      }
      for (int g = 0; g < args.group; ++g) {
        const int n1 = n2 * args.group + g;
        const HeadView h = head_view(batches, b, n1, args);
        // The rows that see any key of the block: every row for a prefix key, else -pre <= j - i <= next.
        const bool prefix_block = j0 < h.prefix;
        const long ilo = max(c0, prefix_block ? 0 : max(0L, j0 - (long)h.next));
        const long ihi = min(c1, prefix_block ? s1 - 1 : min(s1 - 1, j1 + (long)h.pre));
        for (long i0 = ilo / BLOCK_M * BLOCK_M; i0 <= ihi; i0 += BLOCK_M) {
          const int rows = (int)min((long)BLOCK_M, s1 - i0);
          const long i1 = i0 + rows - 1;
          // The tile under the band rule: nothing visible (skipped), all visible, or partly (the rule per element);
          // a mask tensor is read on every visited tile.
          if (!prefix_block && (j0 - i1 > h.next || i0 - j1 > h.pre)) continue;
          const bool full = j1 < h.prefix || (j1 - i0 <= h.next && i1 - j0 <= h.pre);
          // Keys past i1 + next are outside the band for every row of the tile (P = 0 and dS = 0 exactly), so a
          // partial tile stops after the keys some row sees, rounded up to whole OA_KEYS groups: the outer tiles
          // accumulate whole groups, so every key they touch must be one this tile computed (and masked). On the causal
          // diagonal this skips up to BLOCK_N - OA_KEYS keys of the block per tile.
          const long seen = i1 + (long)h.next - j0 + 1;
          const int tkeys = full || prefix_block || seen >= nkeys ? nkeys : min(nkeys, PAD_TO((int)seen, OA_KEYS));
          // Likewise per row: row i0 + r sees keys j0 + j with j <= kdiag + r only, so the tiles skip a diagonal tile's
          // upper right, where its upper rows see none of the later keys (cube/qk_tile_cpu.clh TILE_KEY_END).
          const int kdiag =
              full || prefix_block ? tkeys : (int)clamp(i0 + (long)h.next - j0, -(long)LANES, (long)tkeys);
          // The row vectors holding the block's rows: the tiles, grad_scores and bf16_score_tiles skip those past them
          // (rv_end, cube/qk_tile_cpu.clh), and the scores there are never read.
          const int rv_end = ROW_VECS_OF(rows);
          __global const float* rec = ws + grad_row_tile(gbt, b, n1, s1, i0) * REC_FLOATS;
#if BF16_DOT
          qk2_tile_q((__global const uint*)(rec + REC_QT), (__global const uint*)kp2, DK_PAD / 2, tkeys, kdiag,
                     rv_end, pse_mode == PSE_ADD_SCALE ? 1.0f : scale, st);
#else
          qk_tile_q(rec + REC_QT, kp, DK_PAD, tkeys, kdiag, rv_end, pse_mode == PSE_ADD_SCALE ? 1.0f : scale, st);
#endif
          if (pse_mode != PSE_NONE) {
            pse_tile(st, h, (int)i0, rows, (int)j0, tkeys, pse, slopes, pse_mode, pse_map, pse_cols, scale);
          }
          if (!full || (flags & FLAG_MASK_TENSOR)) {
            mask_tile(st, h, (int)i0, rows, (int)j0, tkeys, mask, mask_row, flags);
          }
#if BF16_DOT
          qk2_tile_dy((__global const uint*)(rec + REC_DYT), (__global const uint*)vp2, DV_PAD / 2, tkeys, kdiag, rv_end,
                      1.0f, dpt);
#else
          qk_tile_dy(rec + REC_DYT, vp, DV_PAD, tkeys, kdiag, rv_end, 1.0f, dpt);
#endif
          grad_scores(st, dpt, rec, h, (int)i0, rows, rv_end, (int)j0, tkeys, kdiag, dropout, drop_mask, flags,
                      keep_scale, (uint2)(drop_key_lo, drop_key_hi), drop_offset_groups, drop_threshold, drop_numels);
#if BF16_DOT
          bf16_score_tiles(st, dpt, rows, rv_end, tkeys, PAD_TO(tkeys, OA_KEYS), st2, ds2, dst2);
          outer2_tile_v((const uint*)st2, (__global const uint*)(rec + REC_DYR), rows, tkeys, kdiag, dva);
          outer2_tile_k((const uint*)ds2, (__global const uint*)(rec + REC_QR), rows, tkeys, kdiag, dka);
          pv2_tile_dq(dst2, kt2, tkeys, kdiag, rv_end, dq_acc + grad_row_tile(gbt, b, n1, s1, i0) * DQ_FLOATS);
#else
          outer_tile_v(st, rec + REC_DYR, rows, tkeys, kdiag, dva);
          outer_tile_k(dpt, rec + REC_QR, rows, tkeys, kdiag, dka);
          pv_tile_dq(dpt, kp, DK_PAD, tkeys, kdiag, rv_end, false, unused_alpha,
                     dq_acc + grad_row_tile(gbt, b, n1, s1, i0) * DQ_FLOATS);
#endif
        }
      }
      if (!last_chunk) {  // carried to the next chunk, every row the outer tiles may have touched
        __global float* dvb = dkv_block + PAD_TO(BLOCK_N, OA_KEYS) * DK_PAD;
        for (int x = 0; x < PAD_TO(BLOCK_N, OA_KEYS) * DK_PAD; x += 16) {
          vstore16(vload16(0, dka + x), 0, dkv_block + x);
        }
        for (int x = 0; x < PAD_TO(BLOCK_N, OA_KEYS) * DV_PAD; x += 16) vstore16(vload16(0, dva + x), 0, dvb + x);
        continue;
      }
      for (int j = 0; j < nkeys; ++j) {  // dK·scale and dV, rounded once (non-temporal: common/store_nt.clh)
        store_row_cast_round_nt(dk, kat + (j0 + j) * ga.dk_seq, DK, dka + j * DK_PAD, scale);
        store_row_cast_round_nt(dv, vat + (j0 + j) * ga.dv_seq, DV, dva + j * DV_PAD, 1.0f);
      }
    }
  }
  store_nt_fence();
}

// dQ of one row block: the sum of the dQ copies, scaled and rounded once.
__kernel void fag_post_cpu(__global DATA_T* dq, __global const long* batches, __global const long* gbt,
                           __global const int* work, __global const float* ws, const FagArgs ga) {
  const FaArgs args = ga.fa;
  __global const int* wk = work + (long)get_global_id(0) * GR_STRIDE;
  const int b = wk[GR_BATCH], n1 = wk[GR_HEAD];
  const HeadView h = head_view(batches, b, n1, args);
  const long row0 = wk[GR_ROW0];
  const int rows = (int)min((long)BLOCK_M, h.s1 - row0);
  __global const float* acc = ws + ga.row_tiles * REC_FLOATS + grad_row_tile(gbt, b, n1, h.s1, row0) * DQ_FLOATS;
  const long at = grad_view_head(batches, b, n1, BT_Q_START, ga.dq_off, ga.dq_batch, ga.dq_seq, ga.dq_head);
  const long part_stride = (long)ga.row_tiles * DQ_FLOATS;
  // 16 rows x 16 columns at a time: the copies' sum read as lane vectors (column c + d of rows r0..r0+15), turned
  // into row chunks in registers (common/transpose16.clh), scaled and rounded once. Where LANES is not a multiple of
  // 16 (8-lane targets), the last group would read past its columns: those take the element-wise path. One thread,
  // B1 N8 S1024 BSND, against one strided scalar load per element: bf16 D=128 2.0 -> 1.3 ms, fp32 D=64 0.88 -> 0.64.
  for (int r0 = 0; r0 < rows; r0 += 16) {
    const int nr = min(16, rows - r0);
    for (int c = 0; c < DK; c += 16) {
      float16 m[16];
      if (r0 + 16 <= LANES) {
        for (int d = 0; d < 16; ++d) {
          float16 x = (float16)0.0f;
          for (int p = 0; p < ga.parts; ++p) x += vload16(0, acc + p * part_stride + (long)(c + d) * LANES + r0);
          m[d] = x;
        }
        transpose16(m);
      } else {
        for (int r = 0; r < 16; ++r) {
          float t[16];
          for (int d = 0; d < 16; ++d) {
            float x = 0.0f;
            for (int p = 0; p < ga.parts && r < nr; ++p) x += acc[p * part_stride + (long)(c + d) * LANES + r0 + r];
            t[d] = x;
          }
          m[r] = vload16(0, t);
        }
      }
      for (int r = 0; r < nr; ++r) {
        const long at_row = at + (row0 + r0 + r) * ga.dq_seq + c;
        if (c + 16 <= DK) {
          store16_cast_round_nt(dq, at_row, m[r] * args.scale);
        } else {
          store_partial16_cast_round(dq, at_row, DK - c, m[r] * args.scale);
        }
      }
    }
  }
  store_nt_fence();
}
#endif  // GENERIC_ONLY
