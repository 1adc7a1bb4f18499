// The built-in dropout generator's mask as an explicit drop_mask (docs/flash_attention_score.md, "Dropout"): the
// mask API behind it lets users and the backward pass reuse the exact bits the forward kernel drew.
// Output: ceil(numels/8) bytes, LSB-first, element k in B·N1·S1·S2 order (TND: per-batch [N1, S1_b, S2_b] blocks);
// bits past numels are 0. Each work-item owns DROP_BYTES whole output bytes (a byte can straddle two rows, so
// bytes are never shared), and reuses one Philox result across the 16 elements of a group.
#include "common/philox.clh"
#include "common/args.clh"

#ifndef DROP_BYTES
#define DROP_BYTES 16
#endif

// Per batch b (all B entries, empty batches included):
//   elem_start[b]  explicit-mask index of the batch's first element, N1·Σ_{c<b} S1_c·S2_c; elem_start[B] = numels
//   pad_start[b]   padded stream index of the batch's first element, N1·Σ_{c<b} S1_c·ceil(S2_c/16)·16
//   s2_len[b]      S2_b
// key = (seed lo, seed hi), offset_groups = ceil(offset/16), threshold = (int)(float(keep_prob)·255).
__kernel void dropout_mask(__global uchar* out, __global const ulong* elem_start, __global const ulong* pad_start,
                           __global const uint* s2_len, const DropoutMaskArgs args) {
  DROPOUT_MASK_UNPACK_ARGS(args);
  const ulong byte0 = get_global_id(0) * DROP_BYTES;
  if (byte0 >= num_bytes) return;
  const ulong numels = elem_start[batches];
  const uint2 key = (uint2)(key_lo, key_hi);

  // The batch of the first element: the last b with elem_start[b] <= k (an empty batch shares its start
  // with the next one, so the last such b is never empty).
  ulong k = byte0 * 8;
  uint lo = 0, hi = batches - 1;
  while (lo < hi) {
    const uint mid = (lo + hi + 1) / 2;
    if (elem_start[mid] <= k) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  uint b = lo;
  uint s2 = s2_len[b];
  ulong s2p = ((ulong)s2 + 15) & ~(ulong)15;
  ulong local_k = k - elem_start[b];
  ulong row = local_k / s2;
  ulong j = local_k - row * s2;

  uint bits = 0;
  ulong group = ~(ulong)0;  // the Philox group whose keep bits `bits` holds
  uint result = 0;
  ulong byte = byte0;
  const ulong end = min(numels, (byte0 + DROP_BYTES) * 8);
  for (; k < end; ++k) {
    // Walk forward element by element: next column, next row, or the next non-empty batch.
    while (k >= elem_start[b + 1]) {
      ++b;
      s2 = s2_len[b];
      s2p = ((ulong)s2 + 15) & ~(ulong)15;
      row = 0;
      j = 0;
    }
    const ulong e = pad_start[b] + row * s2p + j;
    if ((e >> 4) != group) {
      group = e >> 4;
      bits = dropout_keep_bits16(key, offset_groups + group, threshold);
    }
    result |= ((bits >> (uint)(e & 15)) & 1u) << (uint)(k & 7);
    if (++j == s2) {
      j = 0;
      ++row;
    }
    if ((k & 7) == 7) {
      out[byte++] = (uchar)result;
      result = 0;
    }
  }
  if (byte < num_bytes && byte < byte0 + DROP_BYTES) out[byte] = (uchar)result;  // the partial last byte
}
