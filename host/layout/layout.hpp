// Layout descriptors for attention tensors: BSH, SBH, BSND, BNSD and TND as (batch, seq, head, dim)
// strides, plus TND's cumulative sequence offsets and the softmax-statistics addressing of each layout.
// Pure C++ (no OpenCL) so every rule is unit-tested directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cannon {

enum class Layout { kBSH, kSBH, kBSND, kBNSD, kTND };

// Exact, upper-case names as Ascend spells them. Throws Error(kParamInvalid) naming `what` otherwise.
Layout parse_layout(std::string_view text, std::string_view what = "input_layout");
const char* layout_name(Layout layout);

// Logical sizes of one tensor. For TND, batch = 1 and seq = T (sequences come from VarlenSeqs).
struct LayoutDims {
  int64_t batch = 0, seq = 0, heads = 0, dim = 0;
};

// Element strides of the logical axes. dim is always 1 for tensors cannon accepts.
struct AxisStrides {
  int64_t batch = 0, seq = 0, head = 0, dim = 1;
};

// Splits a shape into logical sizes. BSH/SBH need `heads` to split H = heads·dim; other layouts read
// heads from the shape. Throws Error(kParamInvalid) naming `what` on a wrong rank or an H that `heads`
// does not divide.
LayoutDims layout_dims(Layout layout, const std::vector<int64_t>& shape, int64_t heads, std::string_view what);

// Strides of the logical axes from the tensor's element strides (contiguous when strides is empty).
// Throws Error(kParamInvalid) when the head dim is not unit-stride or H cannot be split into (head, dim).
AxisStrides axis_strides(Layout layout, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides,
                         int64_t heads, std::string_view what);

// The shape of a tensor with these logical sizes in the layout (used for attention_out).
std::vector<int64_t> layout_shape(Layout layout, const LayoutDims& dims);

// TND sequences, from cumulative ends without a leading 0 (Ascend's actual_seq_qlen/kvlen).
struct VarlenSeqs {
  std::vector<int64_t> q_start, q_len, kv_start, kv_len;
  int64_t batches() const { return static_cast<int64_t>(q_len.size()); }
};

// Validates both arrays (same length ≥ 1, entries ≥ 0, non-decreasing up to the last non-zero entry,
// which equals the token count; only zeros after it) and converts them to starts and lengths.
VarlenSeqs parse_varlen(const std::vector<int64_t>& cum_q, const std::vector<int64_t>& cum_kv, int64_t t_q,
                        int64_t t_kv);

// Where softmax_max/sum rows live: element (row of 8) index = base + n1·head_stride + i·row_stride.
struct StatAddressing {
  int64_t base = 0, head_stride = 0, row_stride = 0;
};

// Non-TND: [B, N1, S1, 8]. TND: per-batch blocks [N1, S1_b] starting at q_start·N1 (softmax_layout "")
// or [T, N1, 8] ("TND"). For TND pass s1 = S1_b and q_start = the batch's first token.
StatAddressing stat_addressing(Layout layout, bool tnd_same_as_input, int64_t batch, int64_t heads, int64_t s1,
                               int64_t q_start);

}  // namespace cannon
