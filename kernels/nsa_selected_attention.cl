// NsaSelectedAttention forward entry kernel (ascend-semantics.md §4; docs/nsa_selected_attention.md).
// One work entry is one (query token t, kv head n2): the G query heads n1 = n2·G + g of the group share the
// COUNT blocks of BS keys that topk_indices[t][n2] selects, so the G heads sit in the vector lanes and every
// gathered key is reused G times. The cost is COUNT·BS keys per entry whatever S2 is: only selected rows are
// read. Like Ascend's per-core workspace, each work-group owns a slice of the score scratch and loops over
// entries with a stride of the work-group count; it runs with local size 1 and no barriers. That shape is tuned
// for PoCL's CPU device; every other device runs nsa_fwd_generic (end of file; docs/devices.md).
// Compile-time config (-D): DTYPE, DK, DV, BS, COUNT, GROUP, QK_KEYS, PV_COLS, VW, GENERIC_ONLY.
#include "common/dtype.clh"
#include "common/vec.clh"
#include "common/round.clh"
#include "common/args.clh"

#ifndef DK
#define DK 192
#endif
#ifndef DV
#define DV 128
#endif
#ifndef BS
#define BS 64
#endif
#ifndef COUNT
#define COUNT 16
#endif
#ifndef GROUP
#define GROUP 16
#endif
#if BS % 16 != 0
#error "BS must be a multiple of 16"
#endif

// Keys gathered per step (BS is a multiple of 16); the packed K chunk (16 × DK_PAD floats) stays in L1.
#define NSA_CHUNK 16
#define SEL (COUNT * BS)
// The G heads of a kv group padded to whole VW-lane row vectors (common/vec.clh); the host sizes the score
// scratch with the same LANES.
#define ROW_VECS ROW_VECS_OF(GROUP)
#define LANES (ROW_VECS * VW)
#define DK_PAD ((DK + 15) / 16 * 16)
#define DV_PAD ((DV + 15) / 16 * 16)
#define NSA_NEG_FLT_MAX (-0x1.fffffep127f)

// FlashAttentionScore's cube stages with the G heads of a kv group in the lanes; the scores of the whole
// selection live in the work-group's scratch until the plain softmax has seen them all.
#define SCORE_TILE_SPACE __global
#include "cube/qk_tile_cpu.clh"
#include "cube/pv_tile_cpu.clh"
#if NSA_CHUNK % QK_KEYS != 0
#error "QK_KEYS must divide the 16-key chunk"
#endif
#include "vector/nsa_softmax_cpu.clh"
#include "cube/row_generic.clh"

// Batch table rows: NB_* in interface.h (first query token, first key token, key count).

// out[t][n2·G + g][:] from the transposed accumulators, then max and sum replicated 8× at (t·N1 + n1)·8.
inline void nsa_store(__global DATA_T* out, long o_base, long o_head, __global float* smax, __global float* ssum,
                      long stat_row, const float* ot, const float* m, const float* l) {
  float row[DV_PAD];
  for (int d = DV; d < DV_PAD; ++d) row[d] = 0.0f;
  for (int g = 0; g < GROUP; ++g) {
    for (int d = 0; d < DV; ++d) row[d] = ot[d * LANES + g];
    const long at = o_base + g * o_head;
    for (int c = 0; c < DV; c += 16) {
      if (c + 16 <= DV)
        STORE16(out, at + c, vload16(0, row + c));
      else
        store_partial16(out, at + c, DV - c, vload16(0, row + c));
    }
    vstore8((float8)m[g], 0, smax + (stat_row + g) * 8);
    vstore8((float8)l[g], 0, ssum + (stat_row + g) * 8);
  }
}

// GENERIC_ONLY leaves the CPU kernel out of the program: llvmpipe spends tens of seconds translating its
// unrolled vector tiles even though only the generic kernel is launched there.
#ifndef GENERIC_ONLY
__kernel void nsa_fwd_cpu(__global const DATA_T* q, __global const DATA_T* k, __global const DATA_T* v,
                          __global DATA_T* out, __global float* smax, __global float* ssum,
                          __global const long* batches, __global const int* token_batch,
                          __global const int* topk, __global float* scratch, const NsaArgs args) {
  NSA_UNPACK_ARGS(args);
  __global float* st = scratch + (long)get_global_id(0) * SEL * LANES;
  q += q_off;
  k += k_off;
  v += v_off;
  out += o_off;
  smax += smax_off;
  ssum += ssum_off;
  float qt[DK * LANES] ALIGNED_V;
  float kv[NSA_CHUNK * (DK_PAD > DV_PAD ? DK_PAD : DV_PAD)];
  float ot[DV_TILES * PV_COLS * LANES] ALIGNED_V;
  float m[LANES], l[LANES];
  const float masked = NSA_NEG_FLT_MAX * scale;
  for (long e = get_global_id(0); e < entries; e += get_global_size(0)) {
    const long t = e / n2_count;
    const int n2 = (int)(e % n2_count);
    __global const long* bt = batches + (long)token_batch[t] * NB_STRIDE;
    const long s1 = t - bt[NB_Q_START];
    const long k_base = bt[NB_KV_START] * k_seq + n2 * k_head;
    const long v_base = bt[NB_KV_START] * v_seq + n2 * v_head;
    __global const int* sel = topk + topk_off + t * topk_seq + n2 * topk_head;
    // qt[d][g] = query[t][n2·G + g][d]; lanes past G repeat head G-1 (finite, never stored).
    load_q_transposed(q, t * q_seq + (long)n2 * GROUP * q_head, q_head, GROUP, qt);

    int any_visible = 0;
    for (int c = 0; c < COUNT; ++c) {
      const int idx = sel[c * topk_cnt];
      const int visible = causal ? nsa_visible_keys(idx, s1) : BS;
      any_visible |= visible;
      for (int j0 = 0; j0 < visible; j0 += NSA_CHUNK) {
        pack_rows(k, k_base + ((long)idx * BS + j0) * k_seq, k_seq, NSA_CHUNK, DK, DK_PAD, kv);
        qk_tile(qt, kv, DK_PAD, NSA_CHUNK, NSA_CHUNK, ROW_VECS, scale, st + (c * BS + j0) * LANES);
      }
      // Masked keys are never multiplied; the diagonal block's computed tail is overwritten.
      nsa_mask_keys(st + c * BS * LANES, visible, BS, masked);
    }
    nsa_softmax(st, m, l);
    // Masked keys add nothing to P·V when their P is exactly 0 in every lane (any visible key and a fill far
    // below the row max); otherwise (a fully masked row, or a tiny scale) every chunk is multiplied.
    bool skip_masked = causal && any_visible;
    for (int g = 0; g < LANES; ++g) skip_masked = skip_masked && exp(masked - m[g]) == 0.0f;

    for (int i = 0; i < DV_TILES * PV_COLS * LANES; ++i) ot[i] = 0.0f;
    for (int c = 0; c < COUNT; ++c) {
      const int idx = sel[c * topk_cnt];
      const int keys = skip_masked ? nsa_visible_keys(idx, s1) : BS;
      for (int j0 = 0; j0 < keys; j0 += NSA_CHUNK) {
        pack_v(v, v_base + ((long)idx * BS + j0) * v_seq, v_seq, NSA_CHUNK, kv);
        pv_tile(st + (c * BS + j0) * LANES, kv, DV_PAD, NSA_CHUNK, NSA_CHUNK, ROW_VECS, false, 0, ot);
      }
    }
    nsa_store(out, t * o_seq + (long)n2 * GROUP * o_head, o_head, smax, ssum, t * n2_count * GROUP + n2 * GROUP, ot,
              m, l);
  }
}
#endif  // GENERIC_ONLY

// Generic variant: one work-item per (query token t, query head n1), no scratch and no barriers, so it is correct on
// any OpenCL 1.2 device. The plain softmax needs the max and the sum of all COUNT·BS scores before any P is
// rounded, so the scores are recomputed in three passes (max, sum, P·V) instead of being stored. Mesa's llvmpipe
// ends every loop of an invocation after 65535 back-edges in total: host/ops/nsa_selected_attention.cpp
// nsa_generic_loop_steps() counts these loops and those of cube/row_generic.clh.
// s = scale·(q·k), the scale applied once to the fp32 dot product as on the CPU variant.
inline float nsa_score(const float* qr, __global const DATA_T* k, long at, float scale) {
  return qk_row(qr, k, at) * scale;
}

__kernel void nsa_fwd_generic(__global const DATA_T* q, __global const DATA_T* k, __global const DATA_T* v,
                              __global DATA_T* out, __global float* smax, __global float* ssum,
                              __global const long* batches, __global const int* token_batch,
                              __global const int* topk, __global float* scratch, const NsaArgs args) {
  NSA_UNPACK_ARGS(args);
  const long e = get_global_id(0);  // t·N1 + n1
  if (e >= entries * GROUP) return;
  const long t = e / (n2_count * GROUP);
  const int n1 = (int)(e % (n2_count * GROUP));
  const int n2 = n1 / GROUP;
  __global const long* bt = batches + (long)token_batch[t] * NB_STRIDE;
  const long s1 = t - bt[NB_Q_START];
  const long k_base = k_off + bt[NB_KV_START] * k_seq + n2 * k_head;
  const long v_base = v_off + bt[NB_KV_START] * v_seq + n2 * v_head;
  __global const int* sel = topk + topk_off + t * topk_seq + n2 * topk_head;
  const float masked = NSA_NEG_FLT_MAX * scale;
  float qr[DK_PAD], o[DV_PAD];
  load_row(q + q_off, t * q_seq + (long)n1 * q_head, DK, qr);

  // Pass 0: the max over every selected score, masked ones (`masked`) included. Pass 1: the sum in selection
  // order, before any rounding. Pass 2: O = Σ round(p / l)·v; masked keys whose p is exactly 0 add nothing and are
  // skipped. One loop nest for the three passes keeps a single copy of nsa_score for llvmpipe's JIT to compile.
  float m = -INFINITY, l = 0.0f, p_masked = 0.0f;
  for (int d = 0; d < DV_PAD; d += 16) vstore16((float16)0.0f, 0, o + d);
  for (int pass = 0; pass < 3; ++pass) {
    if (pass == 1) p_masked = exp(masked - m);
    for (int c = 0; c < COUNT; ++c) {
      const int idx = sel[c * topk_cnt];
      const int visible = causal ? nsa_visible_keys(idx, s1) : BS;
      const int keys = pass == 2 && p_masked == 0.0f ? visible : BS;
      for (int r = 0; r < keys; ++r) {
        const float s = r < visible ? nsa_score(qr, k, k_base + ((long)idx * BS + r) * k_seq, scale) : masked;
        if (pass == 0) {
          m = fmax(m, s);
        } else if (pass == 1) {
          l += exp(s - m);
        } else {
          const float pr = ROUND_P1(exp(s - m) / l);
          pv_row(o, pr, v, v_base + ((long)idx * BS + r) * v_seq, false, 1.0f);
        }
      }
    }
  }
  const long at = o_off + t * o_seq + (long)n1 * o_head;
  for (int d = 0; d + 16 <= DV; d += 16) STORE16(out, at + d, vload16(0, o + d));
  for (int d = DV / 16 * 16; d < DV; ++d) STORE1(out, at + d, o[d]);
  vstore8((float8)m, 0, smax + smax_off + (t * n2_count * GROUP + n1) * 8);
  vstore8((float8)l, 0, ssum + ssum_off + (t * n2_count * GROUP + n1) * 8);
}

#include "prepass/nsa_topk_check.clh"
