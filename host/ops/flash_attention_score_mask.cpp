// atten_mask for FlashAttentionScore: which dtypes and shapes each sparse mode accepts (full masks for the
// modes that read elements, Ascend's compressed 2048×2048 / 3072×2048 masks for the others), and the
// element strides the kernels index a full mask with (broadcast dimensions get stride 0).
#include "host/ops/flash_attention_score_problem.hpp"
#include "host/runtime/check.hpp"

namespace cannon {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

bool reads_elements(int64_t sparse_mode) { return sparse_mode == 0 || sparse_mode == 1 || sparse_mode == 5; }

}  // namespace

void validate_atten_mask(const TensorDesc& mask, const FaProblem& p, int64_t sparse_mode) {
  require(mask.dtype == DType::kBool || mask.dtype == DType::kUInt8,
          "atten_mask: dtype {} is not supported (expected bool or uint8; 1 means masked)", dtype_name(mask.dtype));
  const std::string got = shape_text(mask.shape);
  if (!reads_elements(sparse_mode)) {
    const int64_t rows = sparse_mode == 6 ? 3072 : 2048;
    require(mask.shape == std::vector<int64_t>{rows, 2048},
            "atten_mask: sparse_mode {} takes the compressed [{},2048] mask (triu(1){}), got {}", sparse_mode, rows,
            sparse_mode == 6 ? " over the prefix rectangle" : "", got);
    return;
  }
  if (p.layout == Layout::kTND) {
    int64_t max_s1 = 0, max_s2 = 0;
    for (int64_t b = 0; b < p.batch; ++b) {
      max_s1 = std::max(max_s1, p.seqs.q_len[b]);
      max_s2 = std::max(max_s2, p.seqs.kv_len[b]);
    }
    require(mask.shape == std::vector<int64_t>{max_s1, max_s2},
            "atten_mask: layout TND takes [maxS1,maxS2] = [{},{}], got {}", max_s1, max_s2, got);
    return;
  }
  const bool two_d = mask.shape == std::vector<int64_t>{p.s1, p.s2};
  // [B,N1,..], [B,1,..] or [1,1,..]: a head dim of 1 broadcasts over heads, a batch dim of 1 only with it.
  const bool four_d = mask.shape.size() == 4 && mask.shape[2] == p.s1 && mask.shape[3] == p.s2 &&
                      (mask.shape[1] == 1 ? (mask.shape[0] == p.batch || mask.shape[0] == 1)
                                          : (mask.shape[0] == p.batch && mask.shape[1] == p.n1));
  require(two_d || four_d,
          "atten_mask: sparse_mode {} takes [B,N1,S1,S2], [B,1,S1,S2], [1,1,S1,S2] or [S1,S2] = [{},{},{},{}], got {}",
          sparse_mode, p.batch, p.n1, p.s1, p.s2, got);
}

MaskStrides atten_mask_strides(const TensorView& mask) {
  const std::vector<int64_t> st = mask.effective_strides();
  const std::vector<int64_t>& shape = mask.desc.shape;
  require(st.back() == 1 || shape.back() == 1, "atten_mask: the last dimension must be contiguous (stride 1)");
  if (shape.size() == 2) return {0, 0, st[0]};
  // A dimension of size 1 broadcasts: its index is always 0, so its stride is 0.
  return {shape[0] == 1 ? 0 : st[0], shape[1] == 1 ? 0 : st[1], st[2]};
}

}  // namespace cannon
