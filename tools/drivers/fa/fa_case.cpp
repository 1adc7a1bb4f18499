// Turning a problem string into a FaCase: the tensor shapes of each layout (docs/flash_attention_score.md),
// the attributes, and the random inputs. Each tensor draws from its own range, so a kernel that mixes up
// query, key and value (or kv heads under GQA) sees different numbers and fails.
#include "tools/drivers/fa/fa_case.hpp"

#include <algorithm>
#include <random>

#include "host/runtime/checked.hpp"
#include "tools/drivers/fa/fa_dropout.hpp"
#include "tools/harness/random.hpp"

namespace cannon::tools {
namespace {

// [lo, hi] per tensor: not symmetric for key and value, so swapped operands and a wrong mean both show.
struct Range {
  double lo, hi;
};
constexpr Range kQueryRange{-1.0, 1.0};
constexpr Range kKeyRange{-0.9, 1.0};
constexpr Range kValueRange{-1.0, 0.8};

// Streams of a case seed, one per tensor.
enum Stream : uint32_t { kQuery = 1, kKey, kValue, kMask, kPse, kDrop };

int64_t tokens(const std::vector<int64_t>& cumulative) {
  return cumulative.empty() ? 0 : *std::max_element(cumulative.begin(), cumulative.end());
}

// The longest batch of cumulative ends (TND masks are [maxS1, maxS2]); decreasing ends count as 0.
int64_t longest(const std::vector<int64_t>& cumulative) {
  int64_t prev = 0, most = 0;
  for (int64_t end : cumulative) {
    if (end > prev) most = std::max(most, end - prev);  // prev >= 0: no overflow
    prev = std::max(prev, end);
  }
  return most;
}

}  // namespace

std::vector<int64_t> fa_tensor_shape(const std::string& layout, int64_t batch, int64_t seq, int64_t heads,
                                     int64_t dim) {
  if (layout == "BSH") return {batch, seq, checked_mul(heads, dim, "H = N·D")};
  if (layout == "SBH") return {seq, batch, checked_mul(heads, dim, "H = N·D")};
  if (layout == "BNSD") return {batch, heads, seq, dim};
  if (layout == "TND") return {seq, heads, dim};
  return {batch, seq, heads, dim};
}

reference::FlashAttentionScoreRefInputs FaCase::ref_inputs() const {
  reference::FlashAttentionScoreRefInputs r{
      to_host_tensor(inputs.query), to_host_tensor(inputs.key), to_host_tensor(inputs.value), {}, {}, {}};
  if (inputs.pse) r.pse = to_host_tensor(*inputs.pse);
  if (inputs.drop_mask) r.drop_mask = to_host_tensor(*inputs.drop_mask);
  if (inputs.atten_mask) r.atten_mask = to_host_tensor(*inputs.atten_mask);
  return r;
}

FaCase describe_case(const FaProblem& p) {
  FaCase c;
  copy_attrs(fa_attr_table(), p, c.attrs);
  c.attrs.head_num = p.head_num.value_or(p.n1);
  c.attrs.scale = p.effective_scale();
  c.dims = FaDims{p.b, p.n1, p.s1, p.s2, p.tnd(), {}, {}};
  int64_t batch = p.b, seq_q = p.s1, seq_kv = p.s2;
  int64_t mask_s1 = p.s1, mask_s2 = p.s2;
  if (p.tnd()) {
    c.attrs.actual_seq_qlen = p.cum_seq_q();
    c.attrs.actual_seq_kvlen = p.cum_seq_kv();
    batch = 1;
    seq_q = tokens(c.attrs.actual_seq_qlen);
    seq_kv = tokens(c.attrs.actual_seq_kvlen);
    mask_s1 = longest(c.attrs.actual_seq_qlen);
    mask_s2 = longest(c.attrs.actual_seq_kvlen);
    c.dims.b = static_cast<int64_t>(c.attrs.actual_seq_qlen.size());
    c.dims.q_lens = batch_lengths(c.attrs.actual_seq_qlen);
    c.dims.kv_lens = batch_lengths(c.attrs.actual_seq_kvlen);
  }
  if (p.mask != "none") {
    c.inputs.atten_mask = HostData{TensorDesc{p.mask_dt, mask_shape(p.mask, p.b, p.n1, mask_s1, mask_s2)}, {}};
    c.mask_recipe = MaskRecipe{p.mask, p.mask_density, p.mask_rows, p.mask_causal};
  }
  if (p.pse != "none") {
    DType dt = p.pse_dt.value_or(pse_is_slopes(p.pse) ? DType::kFloat32 : p.dtype);
    c.inputs.pse = HostData{TensorDesc{dt, pse_shape(p.pse, c.dims)}, {}};
    c.pse_recipe = PseRecipe{p.pse, p.slopes == "normal"};
  }
  if (p.drop_mask == "explicit") {
    DType dt = p.drop_dt.value_or(DType::kUInt8);
    int64_t bytes = p.drop_bytes.value_or(drop_mask_bytes(c.dims.score_numel()));
    c.inputs.drop_mask = HostData{TensorDesc{dt, {bytes / static_cast<int64_t>(dtype_size(dt))}}, {}};
    c.drop_recipe = true;
  }
  c.inputs.query.desc = TensorDesc{p.dtype, fa_tensor_shape(p.layout, batch, seq_q, p.n1, p.dk)};
  c.inputs.key.desc = TensorDesc{p.dtype, fa_tensor_shape(p.layout, batch, seq_kv, p.n2, p.dk)};
  c.inputs.value.desc = TensorDesc{p.dtype, fa_tensor_shape(p.layout, batch, seq_kv, p.n2, p.dv)};
  check_descs({{"query", &c.inputs.query.desc},
               {"key", &c.inputs.key.desc},
               {"value", &c.inputs.value.desc},
               {"atten_mask", c.inputs.atten_mask ? &c.inputs.atten_mask->desc : nullptr},
               {"pse", c.inputs.pse ? &c.inputs.pse->desc : nullptr},
               {"drop_mask", c.inputs.drop_mask ? &c.inputs.drop_mask->desc : nullptr}});
  return c;
}

void generate_inputs(FaCase& c, uint64_t seed) {
  std::mt19937_64 q_rng = seeded_stream(seed, kQuery), k_rng = seeded_stream(seed, kKey);
  std::mt19937_64 v_rng = seeded_stream(seed, kValue), m_rng = seeded_stream(seed, kMask);
  std::mt19937_64 p_rng = seeded_stream(seed, kPse), d_rng = seeded_stream(seed, kDrop);
  c.inputs.query = random_tensor(c.inputs.query.desc, q_rng, kQueryRange.lo, kQueryRange.hi);
  c.inputs.key = random_tensor(c.inputs.key.desc, k_rng, kKeyRange.lo, kKeyRange.hi);
  c.inputs.value = random_tensor(c.inputs.value.desc, v_rng, kValueRange.lo, kValueRange.hi);
  if (c.inputs.atten_mask && c.mask_recipe) {
    c.inputs.atten_mask = generate_mask(*c.mask_recipe, c.inputs.atten_mask->desc, c.attrs, m_rng);
  }
  if (c.inputs.pse && c.pse_recipe) c.inputs.pse = generate_pse(*c.pse_recipe, c.inputs.pse->desc, c.dims, p_rng);
  if (c.inputs.drop_mask && c.drop_recipe) {
    // With keep_prob 1 the op must ignore the mask: half the bits 0, so a kernel that applies it shows.
    const double keep = c.attrs.keep_prob < 1.0 ? c.attrs.keep_prob : 0.5;
    c.inputs.drop_mask = generate_drop_mask(c.inputs.drop_mask->desc, keep, d_rng);
  }
}

}  // namespace cannon::tools
