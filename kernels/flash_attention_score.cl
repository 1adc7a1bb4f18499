// FlashAttentionScore forward entry kernels: cube stages (Q·Kᵀ, P·V) and vector stages (scale, online
// softmax, rescale) composed per work entry of the host's plan (one batch, one query head, one block of
// BLOCK_M query rows).
//   fa_fwd_cpu:     one work-item per entry, register tiles, no barriers; launched with local size 1.
//   fa_fwd_generic: one work-item per query row, 16 head-dim elements per loop step; correct on any OpenCL 1.2
//                   device, and few enough loop iterations per key for Mesa's llvmpipe (docs/devices.md).
// Both visit only the S2 tiles the host's scheduler listed for the entry, mask only PARTIAL tiles, and take
// the per-element rules (band, pse, dropout keep bit) from vector/element_rules.clh.
//   fa_split_merge: split-KV's merge of fa_fwd_cpu's partial results (vector/split_merge.clh).
//   fa_pack_kv:     before fa_fwd_cpu, when the plan packs (KV_PANEL_* below): each kv head's K and V rows once into
//                   contiguous fp32 panels in the workspace, which every work entry of the head then reads.
// Compile-time config (-D): DTYPE, DK, DV, BLOCK_M, BLOCK_N, QK_KEYS, PV_COLS, VW, GENERIC_ONLY; CANNON_FAULT only in
// tests (common/fault.clh).
#include "common/dtype.clh"
#include "common/vec.clh"
#include "common/round.clh"
#include "common/problem.clh"
#include "common/args.clh"
#include "common/philox.clh"
#include "common/store_nt.clh"

#ifndef DK
#define DK 64
#endif
#ifndef DV
#define DV DK
#endif
// Query rows per work entry (both variants; the generic variant's local size).
#ifndef BLOCK_M
#define BLOCK_M 32
#endif
// CPU variant: keys per online-softmax step. Larger blocks amortize the O rescale and the per-block
// max/exp passes; the packed K/V rows and the score tile should stay in L1/L2.
#ifndef BLOCK_N
#define BLOCK_N 64
#endif

// CPU variant tile shapes: BLOCK_M query rows padded to whole VW-lane row vectors (LANES rows; common/vec.clh),
// head dims padded to 16 in the packed K/V rows, keys padded to whole QK register tiles (QK_KEYS keys; the register
// tile sizes QK_KEYS and PV_COLS are parameters of the cube stages).
#define ROW_VECS ROW_VECS_OF(BLOCK_M)
#define LANES (ROW_VECS * VW)
#define DK_PAD ((DK + 15) / 16 * 16)
#define DV_PAD ((DV + 15) / 16 * 16)
#define KEYS_PAD ((BLOCK_N + QK_KEYS - 1) / QK_KEYS * QK_KEYS)
// One private buffer holds the packed K block, then (once its scores exist) the packed V block: 16-bit inputs are
// converted there once per block. fp32 K and V need no conversion and are read in place (KV_IN_PLACE, no buffer)
// when whole PV_COLS tiles end at DV, so no P·V tile reads past a V row: the per-block copy cost 8% of the fp32 run
// (D=128, S=1024, AVX-512 code, BSND and BNSD alike). Large heads a token apart read per-head panels instead (below).
#define KV_PACK (BLOCK_N * (DK_PAD > DV_PAD ? DK_PAD : DV_PAD))
#if DTYPE == 0 && DV % PV_COLS == 0
#define KV_IN_PLACE 1
#define KV_TILE_SPACE __global
#else
#define KV_IN_PLACE 0
#endif

#include "cube/qk_tile_cpu.clh"
#include "cube/pv_tile_cpu.clh"
// The tiles over the per-head panels fa_pack_kv wrote (fp32 rows of DK_PAD and DV_PAD floats in __global). For fp32
// inputs qk_tile and pv_tile already read __global rows at a run-time stride; 16-bit inputs get their own instances.
#if KV_IN_PLACE
#define qk_tile_panel qk_tile
#define pv_tile_panel pv_tile
#else
#undef KV_TILE_SPACE
#define KV_TILE_SPACE __global
QK_TILE_DEFINE(qk_tile_panel, __private, DK, vloadv_private)
PV_TILE_DEFINE(pv_tile_panel, __private, DV, vloadv_private, vstorev_private)
#undef KV_TILE_SPACE
#define KV_TILE_SPACE __private
#endif
#include "vector/element_rules.clh"
#include "vector/mask_cpu.clh"
#include "vector/pse_cpu.clh"
#include "vector/online_softmax_cpu.clh"
#include "vector/dropout_cpu.clh"
#include "cube/row_generic.clh"

// Ascend's invalid line (out 0, max -FLT_MAX, sum FLT_MAX): rows that see no key, and fully masked rows in
// invalid-line mode.
inline void write_empty_row(__global DATA_T* out, __global float* smax, __global float* ssum, HeadView h, long i,
                            long o_seq) {
  for (int d = 0; d < DV; ++d) STORE1_CAST_ROUND(out, h.o + i * o_seq + d, 0.0f);
  store_stats(smax, ssum, h.stat + i * h.stat_row, NEG_FLT_MAX, POS_FLT_MAX);
}

// out row = O / l, gathered back from the transposed accumulators (stored non-temporally: common/store_nt.clh);
// then the replicated stats.
inline void store_rows(__global DATA_T* out, __global float* smax, __global float* ssum, HeadView h, long row0,
                       int rows, long o_seq, const float* ot, const float* m, const float* l, int flags) {
  float row[DV_PAD];
  for (int d = DV; d < DV_PAD; ++d) row[d] = 0.0f;  // lanes of the last partial chunk that are never stored
  for (int r = 0; r < rows; ++r) {
    const long i = row0 + r;
    if (invalid_row(flags, m[r], l[r])) {
      write_empty_row(out, smax, ssum, h, i, o_seq);
      continue;
    }
#if CANNON_FAULT_IS(5)
    const float inv = 1.0f / l[0];  // test hook: a stale row (common/fault.clh)
#else
    const float inv = 1.0f / l[r];
#endif
    for (int d = 0; d < DV; ++d) row[d] = ot[d * LANES + r];
    store_row_cast_round_nt(out, h.o + i * o_seq, DV, row, inv);
    store_stats(smax, ssum, h.stat + i * h.stat_row, m[r], l[r]);
  }
}

#include "vector/split_merge.clh"

// Per-head K/V panels (kernels/interface.h KV_PANEL_*). Without them each work entry reads K and V where they are
// (fp32) or converts each block into private rows (16-bit). With them the BLOCK_M-row entries of a head (and the G
// query heads of its group) share one contiguous fp32 copy. In BSND, BSH, SBH and TND a head's rows lie a whole token
// apart (4 KiB at N = 8, D = 128, fp32): they fall in a fraction of a CPU's L2 sets, so past a few hundred KiB a head's
// K and V no longer stay cached from one entry to the next (BSND against BNSD, one thread: equal at S2 = 256, 18%
// slower at 512, 23% at 2048). 16-bit K/V are also converted once rather than once per entry.
inline __global float* kv_panel(__global float* kvp, __global const long* batches, int b, int n2, long s2,
                                int kv_panels, int kv_heads) {
  const long tok0 = kv_panels == KV_PANEL_TND ? batches[(long)b * BT_STRIDE + BT_KV_START] : (long)b * s2;
  return kvp + ((long)kv_heads * tok0 + (long)n2 * s2) * (DK_PAD + DV_PAD);
}

// GENERIC_ONLY leaves the CPU kernel out of the program: llvmpipe spends tens of seconds translating its
// unrolled vector tiles even though only the generic kernel is launched there.
#ifndef GENERIC_ONLY
__kernel void fa_fwd_cpu(__global const DATA_T* q, __global const DATA_T* k, __global const DATA_T* v,
                         __global DATA_T* out, __global float* smax, __global float* ssum,
                         __global const long* batches, __global const int* work, __global const int* tiles,
                         __global const uchar* mask, __global const DATA_T* pse, __global const float* slopes,
                         __global const uchar* drop_mask, __global float* part, __global float* kvp,
                         const FaArgs args, const int kv_panels, const int kv_heads) {
  FA_UNPACK_ARGS(args);
  __global const int* wk = work + (long)get_global_id(0) * WK_STRIDE;
  HeadView h = head_view(batches, wk[WK_BATCH], wk[WK_HEAD], args);
  __global const float* const kpanel =
      kv_panels == KV_PANEL_NONE
          ? kvp
          : kv_panel(kvp, batches, wk[WK_BATCH], wk[WK_HEAD] / args.group, h.s2, kv_panels, kv_heads);
  __global const float* const vpanel = kpanel + (kv_panels == KV_PANEL_NONE ? 0 : h.s2 * DK_PAD);
  smax += smax_off;
  ssum += ssum_off;
  const long row0 = wk[WK_ROW0];
  const int rows = (int)min((long)BLOCK_M, h.s1 - row0);
  if (h.s2 == 0) {
    for (int r = 0; r < rows; ++r) write_empty_row(out, smax, ssum, h, row0 + r, o_seq);
    return;
  }

#if CANNON_FAULT_IS(4)
  scale *= 1.0f + 0x1p-10f;  // test hook: a wrong scale (common/fault.clh)
#endif
  float qt[DK * LANES] ALIGNED_V;
  load_q_transposed(q, h.q + row0 * q_seq, q_seq, rows, qt);
  float ot[DV_TILES * PV_COLS * LANES] ALIGNED_V;
  for (int i = 0; i < DV_TILES * PV_COLS * LANES; ++i) ot[i] = 0.0f;
  float m[LANES] ALIGNED_V, l[LANES] ALIGNED_V, alpha[LANES] ALIGNED_V;
  for (int r = 0; r < LANES; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
  }
#if !KV_IN_PLACE
  float kv[KV_PACK];
#endif
  const bool dropout = (flags & (FLAG_DROP_EXPLICIT | FLAG_DROP_GEN)) != 0;
  // The tiles skip the row groups past the entry's rows (rv_end, cube/qk_tile_cpu.clh); the vector stages still walk
  // every lane, so those lanes start as zeros (finite) rather than whatever the stack held, and stay so.
  const int rv_end = ROW_VECS_OF(rows);
  float st[KEYS_PAD * LANES] ALIGNED_V;
  for (int i = 0; i < KEYS_PAD * ROW_VECS; ++i) vstorev_private((floatv)0.0f, i, st);

  for (int t = 0; t < wk[WK_TILES]; ++t) {
    const int tile = tiles[wk[WK_TILE0] + t];
    const long kb = TILE_COL0(tile);
    const int nkeys = (int)min((long)BLOCK_N, h.s2 - kb);
    const float qk_scale = pse_mode == PSE_ADD_SCALE ? 1.0f : scale;
    // Row row0 + r of a partial tile sees keys kb + j with j <= kdiag + r only (the band's upper rule; prefix keys
    // are seen by every row), so on a causal or band diagonal the Q·Kᵀ and P·V tiles stop each group of row vectors
    // after the keys its last row sees (cube/qk_tile_cpu.clh TILE_KEY_END). mask_tile then sets every score past them
    // to -INFINITY, whatever the tile left there, and their P is exactly 0.
    const int kdiag = TILE_PARTIAL(tile) && kb >= h.prefix
                          ? (int)clamp(row0 + (long)h.next - kb, -(long)LANES, (long)nkeys)
                          : nkeys;
    if (kv_panels != KV_PANEL_NONE) {
      qk_tile_panel(qt, kpanel + kb * DK_PAD, DK_PAD, nkeys, kdiag, rv_end, qk_scale, st);
    } else {
#if KV_IN_PLACE
      qk_tile(qt, k + h.k + kb * k_seq, k_seq, nkeys, kdiag, rv_end, qk_scale, st);
#else
      pack_k(k, h.k + kb * k_seq, k_seq, nkeys, kv);
      qk_tile(qt, kv, DK_PAD, nkeys, kdiag, rv_end, qk_scale, st);
#endif
    }
    if (pse_mode != PSE_NONE) {
      pse_tile(st, h, (int)row0, rows, (int)kb, nkeys, pse, slopes, pse_mode, pse_map, pse_cols, scale);
    }
    if (TILE_PARTIAL(tile)) mask_tile(st, h, (int)row0, rows, (int)kb, nkeys, mask, mask_row, flags);
    online_softmax(st, nkeys, m, l, alpha, !dropout);
    if (dropout) {
      dropout_tile(st, h, (int)row0, rows, (int)kb, nkeys, drop_mask, flags, keep_scale,
                   (uint2)(drop_key_lo, drop_key_hi), drop_offset_groups, drop_threshold, drop_numels);
    }
#if CANNON_FAULT_IS(1)
    const int pv_keys = nkeys - 1;  // test hook: a dropped key (common/fault.clh)
#else
    const int pv_keys = nkeys;
#endif
    if (kv_panels != KV_PANEL_NONE) {
      pv_tile_panel(st, vpanel + kb * DV_PAD, DV_PAD, pv_keys, kdiag, rv_end, true, alpha, ot);
    } else {
#if KV_IN_PLACE
      pv_tile(st, v + h.v + kb * v_seq, v_seq, pv_keys, kdiag, rv_end, true, alpha, ot);
#else
      pack_v(v, h.v + kb * v_seq, v_seq, nkeys, kv);
      pv_tile(st, kv, DV_PAD, pv_keys, kdiag, rv_end, true, alpha, ot);
#endif
    }
  }
  if (wk[WK_PART] >= 0) {  // a split-KV chunk: fa_split_merge writes the rows (vector/split_merge.clh)
    store_partial(part + (long)wk[WK_PART] * SPLIT_SLOT_FLOATS(BLOCK_M, DV), rows, ot, LANES, m, l);
    return;
  }
  store_rows(out, smax, ssum, h, row0, rows, o_seq, ot, m, l, flags);
  store_nt_fence();
}

// One work-item per (batch, kv head, block of BLOCK_N keys): those K and V rows into the head's panel.
__kernel void fa_pack_kv(__global const DATA_T* k, __global const DATA_T* v, __global const long* batches,
                         __global float* kvp, const FaArgs args, const int kv_panels, const int kv_heads,
                         const int key_blocks) {
  const long id = get_global_id(0);
  const int kb = (int)(id % key_blocks), n2 = (int)(id / key_blocks % kv_heads), b = (int)(id / key_blocks / kv_heads);
  const HeadView h = head_view(batches, b, n2 * args.group, args);
  const long j0 = (long)kb * BLOCK_N;
  if (j0 >= h.s2) return;  // a shorter TND batch
  const int n = (int)min((long)BLOCK_N, h.s2 - j0);
  __global float* panel = kv_panel(kvp, batches, b, n2, h.s2, kv_panels, kv_heads);
  pack_rows_global(k, h.k + j0 * args.k_seq, args.k_seq, n, DK, DK_PAD, panel + j0 * DK_PAD);
  pack_rows_global(v, h.v + j0 * args.v_seq, args.v_seq, n, DV, DV_PAD, panel + h.s2 * DK_PAD + j0 * DV_PAD);
}
#endif  // GENERIC_ONLY

// The generic variant: one work-item per query row. Its loops (the key loop here, the head-dim loops of
// cube/row_generic.clh) are counted by host/ops/kernel_config.cpp fa_generic_loop_steps(), since Mesa's llvmpipe
// ends every loop of a kernel invocation once 65535 back-edges are taken in total; keep the two in step.
__kernel void fa_fwd_generic(__global const DATA_T* q, __global const DATA_T* k, __global const DATA_T* v,
                             __global DATA_T* out, __global float* smax, __global float* ssum,
                             __global const long* batches, __global const int* work, __global const int* tiles,
                             __global const uchar* mask, __global const DATA_T* pse, __global const float* slopes,
                             __global const uchar* drop_mask, const FaArgs args) {
  FA_UNPACK_ARGS(args);
  __global const int* wk = work + (long)get_group_id(0) * WK_STRIDE;
  HeadView h = head_view(batches, wk[WK_BATCH], wk[WK_HEAD], args);
  smax += smax_off;
  ssum += ssum_off;
  const long i = wk[WK_ROW0] + (long)get_local_id(0);
  if (i >= h.s1) return;
  if (h.s2 == 0) {
    write_empty_row(out, smax, ssum, h, i, o_seq);
    return;
  }
#if CANNON_FAULT_IS(4)
  scale *= 1.0f + 0x1p-10f;  // test hook: a wrong scale (common/fault.clh)
#endif
  float qr[DK_PAD], o[DV_PAD];
  load_row(q, h.q + i * q_seq, DK, qr);
  for (int d = 0; d < DV_PAD; d += 16) vstore16((float16)0.0f, 0, o + d);
  float m = -INFINITY, l = 0.0f;
  for (int t = 0; t < wk[WK_TILES]; ++t) {
    const int tile = tiles[wk[WK_TILE0] + t];
    const bool partial = TILE_PARTIAL(tile);
    const long j_end = min(TILE_COL0(tile) + BLOCK_N, h.s2);
    for (long j = TILE_COL0(tile); j < j_end; ++j) {
      // Outside the band rule nothing is computed; a score masked by atten_mask is -FLT_MAX.
      if (partial && !BAND_VISIBLE(h, (int)i, (int)j)) continue;
      const float dot = qk_row(qr, k, h.k + j * k_seq);
      float s = pse_score(h, (int)i, (int)j, dot, scale, pse, slopes, pse_mode, pse_map, pse_cols);
      if (partial && (flags & FLAG_MASK_TENSOR) && mask[h.mask + i * mask_row + j]) s = NEG_FLT_MAX;
      const float mn = fmax(m, s);
      const float a = exp(m - mn);
      const float p = exp(s - mn);
      l = l * a + p;
      const float pr = ROUND_P1(keep_bit(h, i, j, drop_mask, flags, (uint2)(drop_key_lo, drop_key_hi),
                                         drop_offset_groups, drop_threshold, drop_numels)
                                    ? p * ((flags & (FLAG_DROP_EXPLICIT | FLAG_DROP_GEN)) ? keep_scale : 1.0f)
                                    : 0.0f);
#if CANNON_FAULT_IS(1)
      pv_row(o, j == j_end - 1 ? 0.0f : pr, v, h.v + j * v_seq, true, a);  // test hook: a dropped key
#else
      pv_row(o, pr, v, h.v + j * v_seq, true, a);
#endif
      m = mn;
    }
  }
  if (invalid_row(flags, m, l)) {
    write_empty_row(out, smax, ssum, h, i, o_seq);
    return;
  }
  const float inv = 1.0f / l;
  for (int d = 0; d + 16 <= DV; d += 16) STORE16_CAST_ROUND(out, h.o + i * o_seq + d, vload16(0, o + d) * inv);
  for (int d = DV / 16 * 16; d < DV; ++d) STORE1_CAST_ROUND(out, h.o + i * o_seq + d, o[d] * inv);
  store_stats(smax, ssum, h.stat + i * h.stat_row, m, l);
}

#include "prepass/fa_mask_prepass.clh"
