// RingAttentionUpdate entry kernel: merges two partial attention rows with their softmax max/sum
// (docs/ring_attention_update.md). Bandwidth-bound: each work-item owns a tile of (row, head) items, float16
// vectors over D, no barriers, so it is correct on any OpenCL 1.2 device and streams near memory speed on PoCL.
// Compile-time config (-D): DTYPE, HEAD_DIM, SM_LAYOUT (0 SBH [B,N,S,8], 1 token-major [T,N,8], 2 per-batch
// blocks through a per-token table), ROWS_PER_WI, HEADS_PER_WI.
#pragma OPENCL FP_CONTRACT OFF
#include "common/dtype.clh"
#include "common/args.clh"
#include "vector/ring_merge.clh"

#ifndef HEAD_DIM
#define HEAD_DIM 128
#endif
#ifndef SM_LAYOUT
#define SM_LAYOUT 0
#endif
// Each work-item merges a tile of ROWS_PER_WI rows × HEADS_PER_WI head slots (a slot is b·N + n for SBH, n for
// TND) in two passes: the states in softmax memory order, then the attn rows in attn memory order. Attn rows of
// one row and neighbouring slots are adjacent; softmax lanes of one slot and neighbouring rows are adjacent in the
// SBH and per-batch-block layouts. CPU: big tiles at local size 1; GPU: 1×1 tiles in groups of 64.
#ifndef ROWS_PER_WI
#define ROWS_PER_WI 1
#endif
#ifndef HEADS_PER_WI
#define HEADS_PER_WI 1
#endif

// Attn element d uses softmax lane d % 8 (Ascend's AttnCompute Mul repeats the 8-lane block with block stride
// 0); a 16-lane vector starting at a multiple of 16 therefore sees lanes 0..7 twice.
inline float16 lanes16(float8 w) { return (float16)(w, w); }

// Stores 16 results. PoCL's vstore16 of ushort16 becomes 16 scalar 2-byte stores; a packed (1-byte aligned) struct
// gives one unaligned vector store instead, legal at any element-aligned address.
#if DTYPE == 2
typedef struct __attribute__((packed)) {
  ushort16 v;
} Bf16x16;
#define STORE_OUT16(p, c, x) (((__global Bf16x16*)((p) + (c)))->v = bf16_bits16(x))
#else
#define STORE_OUT16(p, c, x) STORE16(p, c, x)
#endif

// Element offset of lane 0 of (row r, head slot h); no divisions, since the tile loops know r and h.
inline long softmax_offset(long r, long h, long heads_per_row, long rows, __global const long* token_table) {
#if SM_LAYOUT == 0
  return (h * rows + r) * 8;
#elif SM_LAYOUT == 1
  return (r * heads_per_row + h) * 8;
#else
  return token_table[2 * r] + h * token_table[2 * r + 1];
#endif
}

// Pass 1 of a tile: the 8-lane state merge of one (row, head slot); returns the attn weights of prev and cur.
inline float8 merge_state(__global const float* prev_max, __global const float* prev_sum, __global const float* cur_max,
                          __global const float* cur_sum, __global float* out_max, __global float* out_sum, long sm,
                          float8* w_cur) {
  const RingMerge r =
      ring_merge(vload8(0, prev_max + sm), vload8(0, prev_sum + sm), vload8(0, cur_max + sm), vload8(0, cur_sum + sm));
  vstore8(r.max, 0, out_max + sm);
  vstore8(r.sum, 0, out_sum + sm);
  *w_cur = r.w_cur;
  return r.w_prev;
}

// Pass 2: one attn row of HEAD_DIM elements in 16-lane chunks.
inline void merge_row(__global const DATA_T* po, __global const DATA_T* co, __global DATA_T* o, float16 wp,
                      float16 wc) {
  for (int c = 0; c + 16 <= HEAD_DIM; c += 16) {
    const float16 a = LOAD16(po, c) * wp;
    const float16 b = LOAD16(co, c) * wc;
    STORE_OUT16(o, c, a + b);
  }
#if HEAD_DIM % 16 != 0
  {
    const int c = HEAD_DIM / 16 * 16;
    const float16 a = load_partial16(po, c, HEAD_DIM % 16) * wp;
    const float16 b = load_partial16(co, c, HEAD_DIM % 16) * wc;
    store_partial16(o, c, HEAD_DIM % 16, a + b);
  }
#endif
}

// Views: element offsets of each tensor's first element in its buffer (OpenCL 1.2 has no pointer offsets).
__kernel void ring_attention_update(__global const DATA_T* prev_out, __global const float* prev_max,
                                    __global const float* prev_sum, __global const DATA_T* cur_out,
                                    __global const float* cur_max, __global const float* cur_sum, __global DATA_T* out,
                                    __global float* out_max, __global float* out_sum, __global const long* token_table,
                                    const RauArgs args) {
  RAU_UNPACK_ARGS(args);
  const long head_blocks = (heads_per_row + HEADS_PER_WI - 1) / HEADS_PER_WI;
  const long w = get_global_id(0);
  const long h0 = w % head_blocks * HEADS_PER_WI, h1 = min(h0 + HEADS_PER_WI, heads_per_row);
  const long r0 = w / head_blocks * ROWS_PER_WI, r1 = min(r0 + ROWS_PER_WI, rows);
  if (r0 >= rows) return;
  // The tile's weights, kept between the passes (row-major over the tile).
  float8 w_prev[ROWS_PER_WI * HEADS_PER_WI], w_cur[ROWS_PER_WI * HEADS_PER_WI];
  // Pass 1 in softmax memory order: token-major walks rows then slots, the other layouts slots then rows.
#if SM_LAYOUT == 1
  for (long r = r0; r < r1; ++r) {
    for (long h = h0; h < h1; ++h) {
#else
  for (long h = h0; h < h1; ++h) {
    for (long r = r0; r < r1; ++r) {
#endif
      const int k = (int)((r - r0) * HEADS_PER_WI + (h - h0));
      w_prev[k] = merge_state(prev_max + off_prev_max, prev_sum + off_prev_sum, cur_max + off_cur_max,
                              cur_sum + off_cur_sum, out_max + off_out_max, out_sum + off_out_sum,
                              softmax_offset(r, h, heads_per_row, rows, token_table), &w_cur[k]);
    }
  }
  // Pass 2 in attn memory order: rows, then slots (consecutive slots of a row are adjacent attn rows).
  for (long r = r0; r < r1; ++r) {
    for (long h = h0; h < h1; ++h) {
      const int k = (int)((r - r0) * HEADS_PER_WI + (h - h0));
      const long row = (r * heads_per_row + h) * HEAD_DIM;
      merge_row(prev_out + off_prev_out + row, cur_out + off_cur_out + row, out + off_out + row, lanes16(w_prev[k]),
                lanes16(w_cur[k]));
    }
  }
}

#include "prepass/rau_seq_table.clh"
