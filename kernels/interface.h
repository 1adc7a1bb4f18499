// The host<->kernel contract, valid both as C++ (included by host/runtime/kernel_interface.hpp) and as OpenCL C
// (included by the kernels): the layout of the plan's device tables, the run-time flag bits and modes, the device
// error record, and one struct per operator that carries every scalar kernel argument. Declared once here so the
// two sides cannot drift; the host static_asserts every struct's size and field offsets, and the kernels check
// the sizes with a negative-array typedef.
#ifndef CANNON_KERNELS_INTERFACE_H
#define CANNON_KERNELS_INTERFACE_H

// Fixed-width names for both languages: only 32- and 64-bit fields, 64-bit ones first, so no struct has padding.
#ifdef __OPENCL_C_VERSION__
typedef long cn_i64;
typedef ulong cn_u64;
typedef int cn_i32;
typedef uint cn_u32;
typedef float cn_f32;
#define CN_STATIC_SIZE(type, bytes) typedef char type##_size_check[sizeof(type) == (bytes) ? 1 : -1]
#else
#include <cstdint>
typedef int64_t cn_i64;
typedef uint64_t cn_u64;
typedef int32_t cn_i32;
typedef uint32_t cn_u32;
typedef float cn_f32;
#define CN_STATIC_SIZE(type, bytes) static_assert(sizeof(type) == (bytes), #type " layout changed")
#endif

// ---- FlashAttentionScore ----------------------------------------------------------------------------------------
// Batch table: one row of BT_STRIDE int64 per batch, fixed by the plan (nothing in it depends on the views a run
// is given; view offsets and strides travel in FaArgs).
#define BT_Q_START 0  /* first query token of the batch (TND), 0 otherwise */
#define BT_KV_START 1 /* first key token of the batch (TND), 0 otherwise */
#define BT_S1 2
#define BT_S2 3
#define BT_STAT 4      /* stat row index of (batch, head 0, row 0) */
#define BT_STAT_HEAD 5 /* stat rows between heads */
#define BT_STAT_ROW 6  /* stat rows between query rows */
#define BT_PRE 7       /* band rule: visible iff -pre <= j - i <= next, or j < prefix (batch-local i, j) */
#define BT_NEXT 8
#define BT_PREFIX 9
#define BT_PSE 10 /* pse element of (batch, head 0) from the view's start; (n1, i, j) at +n1·head + i·row + j */
#define BT_PSE_HEAD 11
#define BT_PSE_ROW 12
#define BT_PSE_SHIFT 13 /* ALiBi: d = j - i + shift */
#define BT_SLOPE 14     /* ALiBi: slope of head n1 at slopes[pse_off + slope + n1] */
#define BT_DROP 15      /* dropout: batch's first element (explicit mask index, or padded stream index) */
#define BT_STRIDE 16

// Work list: WK_STRIDE int32 per work entry (batch, head, block of BLOCK_M query rows), in execution order.
#define WK_BATCH 0
#define WK_HEAD 1
#define WK_ROW0 2
#define WK_TILE0 3 /* first tile of this entry in the tile list */
#define WK_TILES 4 /* number of tiles */
#define WK_PART 5  /* split-KV: this chunk's partial slot (it writes no output row); -1: an unsplit entry */
#define WK_STRIDE 6

// Split-KV (host/schedule/tile_plan.hpp): a chunk's partial result, SPLIT_SLOT_FLOATS fp32 per slot in the
// workspace: the running max m[BLOCK_M], the sum l[BLOCK_M], then the unnormalized O transposed, o[DV][BLOCK_M]
// (row r of column d at o[d·BLOCK_M + r]). The merge list has WK_STRIDE int32 per split entry: batch, head, row0,
// its first partial slot (WK_TILE0), its chunk count (WK_TILES), -1.
#define SPLIT_SLOT_FLOATS(block_m, dv) ((block_m) * ((dv) + 2))

// Per-head K/V panels (fa_pack_kv, then fa_fwd_cpu; host/ops/flash_attention_score.cpp decides): none, or fp32 K
// [S2_b][DK padded to 16] then V [S2_b][DV padded to 16] per (batch, kv head) in the workspace, heads of a batch in
// order, batches in order. UNIFORM: every batch has S2 keys; TND: batch b starts at key token BT_KV_START.
#define KV_PANEL_NONE 0
#define KV_PANEL_UNIFORM 1
#define KV_PANEL_TND 2

// A tile is (col0 << TILE_COL0_SHIFT) | TILE_PARTIAL_BIT·partial: col0 is its first key; partial tiles need the
// rule and/or the mask.
#define TILE_COL0_SHIFT 1
#define TILE_PARTIAL_BIT 1
#define TILE_COL0(t) ((cn_i64)((t) >> TILE_COL0_SHIFT))
#define TILE_PARTIAL(t) (((t)&TILE_PARTIAL_BIT) != 0)

// Run-time flags (FaArgs.flags): masks never add compile-time variants.
#define FLAG_MASK_TENSOR 1   /* PARTIAL tiles read atten_mask elements (sparse modes 0, 1, 5) */
#define FLAG_INVALID_LINE 2  /* rows with max -FLT_MAX or no computed score are written as invalid lines */
#define FLAG_DROP_EXPLICIT 4 /* dropout with the caller's bit-packed drop_mask */
#define FLAG_DROP_GEN 8      /* dropout with the built-in Philox4x32-7 stream (common/philox.clh) */

// pse_mode: how the pse joins the score; pse_map: where a pse tensor's element lives.
#define PSE_NONE 0
#define PSE_ADD 1        /* pse_type 0: s = qk·scale + pse */
#define PSE_ADD_SCALE 2  /* pse_type 1: s = (qk + pse)·scale */
#define PSE_ALIBI 3      /* pse_type 2: s = qk·scale - slope·|d| */
#define PSE_ALIBI_SQRT 4 /* pse_type 3: s = qk·scale - slope·sqrt(|d|) */
#define PSE_MAP_DIRECT 0
#define PSE_MAP_COMPRESSED 1     /* [B|1,N1,1024,S2], S1 > 1024 (Ascend's PseAlibiComputeOffset) */
#define PSE_MAP_TND_COMPRESSED 2 /* TND [B|1,N1,1024,S2max] */

// Every scalar argument of fa_fwd_cpu, fa_fwd_generic and the mask prepass. Offsets are in elements from the
// start of each view's buffer; strides are in elements (a layout's batch stride is 0 for TND, whose batches start
// at their first token instead).
typedef struct {
  cn_i64 q_off, q_batch, q_seq, q_head;
  cn_i64 k_off, k_batch, k_seq, k_head;
  cn_i64 v_off, v_batch, v_seq, v_head;
  cn_i64 o_off, o_batch, o_seq, o_head;
  cn_i64 smax_off, ssum_off;
  cn_i64 mask_off, mask_batch, mask_head, mask_row;
  cn_i64 pse_off, pse_cols;
  cn_i64 drop_off;           /* explicit drop_mask: the view's offset in bits (8 per byte) */
  cn_u64 drop_offset_groups; /* generator: ceil(offset / 16) */
  cn_u64 drop_numels;        /* explicit drop_mask: bits readable from the buffer's start */
  cn_i64 entries;            /* work entries */
  cn_i32 group;              /* N1 / N2 */
  cn_f32 scale;
  cn_i32 flags; /* FLAG_* */
  cn_i32 pse_mode;
  cn_i32 pse_map;
  cn_f32 keep_scale;
  cn_u32 drop_key_lo, drop_key_hi, drop_threshold;
  cn_i32 reserved; /* keeps the size a multiple of 8 */
} FaArgs;
CN_STATIC_SIZE(FaArgs, 264);

// ---- FlashAttentionScoreGrad ------------------------------------------------------------------------------------
// The forward's batch table and FaArgs describe the problem (FaArgs.o_*: dy, which has attention_out's shape); the
// grad adds a table of GB_STRIDE int64 per batch and FagArgs for the views only the backward has.
#define GB_ROW_BASE 0  /* per-row workspace index of (batch, head 0, row 0): Σ N1·S1 over the earlier batches */
#define GB_TILE_BASE 1 /* row tile index of (batch, head 0, tile 0): Σ N1·ceil(S1 / BLOCK_M) over earlier batches */
#define GB_STRIDE 2

// Row work list (pre-pass, dq and post kernels): GR_STRIDE int32 per block of BLOCK_M query rows of one head.
#define GR_BATCH 0
#define GR_HEAD 1
#define GR_ROW0 2
#define GR_STRIDE 3
// Key work list (the dk/dv kernels): GK_STRIDE int32 per entry. The generic variant's entry is the BLOCK_M keys
// from GK_COL0 of kv head GK_HEAD; the CPU variant's entry is every key block kb = GK_COL0 + t·GK_STEP (blocks of
// BLOCK_N keys) of that head, whose dq contributions go to dq copy GK_PART.
#define GK_BATCH 0
#define GK_HEAD 1
#define GK_COL0 2
#define GK_STEP 3
#define GK_PART 4
#define GK_STRIDE 5

typedef struct {
  FaArgs fa;
  cn_i64 ain_off, ain_batch, ain_seq, ain_head; /* attention_in */
  cn_i64 dq_off, dq_batch, dq_seq, dq_head;
  cn_i64 dk_off, dk_batch, dk_seq, dk_head;
  cn_i64 dv_off, dv_batch, dv_seq, dv_head;
  cn_i64 row_tiles; /* CPU variant: row tiles of all batches and heads (one dq copy) */
  cn_i64 entries;   /* work entries of the launch (set per kernel; fag_dpse: the pse's elements) */
  cn_i64 dpse_off;  /* fag_dpse: the dpse view's element offset */
  cn_i32 parts;     /* CPU variant: dq copies */
  cn_i32 batches;   /* B: fag_dpse looks up the batches that read a pse element */
  cn_i64 chunk_rows; /* CPU variant: query rows per chunk, a multiple of BLOCK_M's lanes */
  cn_i64 dkv_entry;  /* CPU variant: floats of a key entry's dK/dV carried between chunks (0: one chunk) */
} FagArgs;
CN_STATIC_SIZE(FagArgs, 440);

// ---- RingAttentionUpdate ----------------------------------------------------------------------------------------
// Softmax layouts (SM_LAYOUT): where a (row, head)'s 8 lanes live.
#define RAU_SM_SBH 0          /* [B,N,S,8]: ((b·N + n)·S + s)·8 */
#define RAU_SM_TOKEN_MAJOR 1  /* TND "TND" (or N == 1): (t·N + n)·8 */
#define RAU_SM_BATCH_BLOCKS 2 /* TND default: (start_b·N + n·S_b + t − start_b)·8, through a per-token table */

typedef struct {
  cn_i64 heads_per_row; /* head slots per row: B·N for SBH, N for TND */
  cn_i64 rows;          /* S for SBH, T for TND */
  cn_i64 off_prev_out, off_prev_max, off_prev_sum, off_cur_out, off_cur_max, off_cur_sum;
  cn_i64 off_out, off_out_max, off_out_sum;
  cn_i64 off_seq; /* actual_seq_qlen's element offset (TND) */
  cn_i64 batches; /* TND: B, actual_seq_qlen holds B + 1 values */
  cn_i64 heads;   /* N */
} RauArgs;
CN_STATIC_SIZE(RauArgs, 112);

// ---- NsaSelectedAttention ---------------------------------------------------------------------------------------
// Batch table rows: first query token, first key token, key count.
#define NB_Q_START 0
#define NB_KV_START 1
#define NB_KV_LEN 2
#define NB_STRIDE 3

typedef struct {
  cn_i64 q_off, q_seq, q_head;
  cn_i64 k_off, k_seq, k_head;
  cn_i64 v_off, v_seq, v_head;
  cn_i64 o_off, o_seq, o_head;
  cn_i64 smax_off, ssum_off;
  cn_i64 topk_off, topk_seq, topk_head, topk_cnt;
  cn_i64 entries; /* T1·N2 */
  cn_i32 n2_count;
  cn_f32 scale;
  cn_i32 causal;
  cn_i32 reserved;
} NsaArgs;
CN_STATIC_SIZE(NsaArgs, 168);

// ---- Dropout mask API -------------------------------------------------------------------------------------------
typedef struct {
  cn_u64 num_bytes;
  cn_u64 offset_groups;
  cn_u32 batches, key_lo, key_hi, threshold;
} DropoutMaskArgs;
CN_STATIC_SIZE(DropoutMaskArgs, 32);

// ---- Device error record ----------------------------------------------------------------------------------------
// A Context owns one record of ERR_WORDS int32. A kernel that finds a bad value in device data (it never reads or
// writes out of bounds because of it) claims the record with atomic_cmpxchg(ERR_CODE, 0, code) and, if it won,
// fills the arguments; Context::finish reads it, clears it and raises the error.
#define ERR_CODE 0
#define ERR_ARG0 1 /* ERR_ARG0 .. ERR_ARG0 + 6: the code's details */
#define ERR_WORDS 8
#define ERR_NONE 0
#define ERR_SEQ_START 1     /* actual_seq_qlen[0] != 0: args (value lo, value hi) */
#define ERR_SEQ_DECREASES 2 /* actual_seq_qlen[i] < [i-1]: args (i, value lo, hi, previous lo, hi) */
#define ERR_SEQ_END 3       /* actual_seq_qlen[B] != T: args (value lo, value hi, T lo, T hi) */
#define ERR_TOPK_RANGE 4    /* topk_indices[t][n][c] outside its batch: args (t, n, c, index, batch, keys, block) */

#endif  // CANNON_KERNELS_INTERFACE_H
