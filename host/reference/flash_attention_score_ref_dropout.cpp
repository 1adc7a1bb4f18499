// Keep flags for the reference's dropout (docs/flash_attention_score.md, "Dropout"; semantics file §1.6): an
// explicit drop_mask read bit by bit, or Ascend 950's generator restated element by element.
#include "host/reference/flash_attention_score_ref_dropout.hpp"

#include <cstddef>
#include <string>

#include "cannon/error.hpp"
#include "host/runtime/philox.hpp"

namespace cannon::reference::detail {
namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(Status::kParamInvalid, "flash_attention_score reference: " + what);
}

}  // namespace

DropoutRules::DropoutRules(const FlashAttentionScoreRefInputs& inputs, const FlashAttentionScoreAttrs& attrs,
                           const FaRefProblem& p)
    : keep_prob_(attrs.keep_prob), p_(&p) {
  require(attrs.keep_prob > 0.0 && attrs.keep_prob <= 1.0, "keep_prob must be in (0, 1]");
  require(attrs.offset >= 0, "offset must be >= 0");
  active_ = attrs.keep_prob < 1.0;
  if (!active_) return;

  int64_t numels = 0;
  uint64_t padded = 0;
  for (std::size_t b = 0; b < p.s1.size(); ++b) {
    mask_base_.push_back(numels);
    pad_base_.push_back(padded);
    numels += p.n1 * p.s1[b] * p.s2[b];
    padded += static_cast<uint64_t>(p.n1 * p.s1[b] * ((p.s2[b] + 15) / 16 * 16));  // rows padded to 16
  }
  if (inputs.drop_mask) {
    const HostTensor& m = *inputs.drop_mask;
    require(m.dtype == DType::kUInt8 && m.shape.size() == 1, "drop_mask must be a 1-D uint8 tensor");
    require(m.numel() >= (numels + 7) / 8, "drop_mask needs ceil(numels/8) = " + std::to_string((numels + 7) / 8) +
                                               " bytes, got " + std::to_string(m.numel()));
    mask_ = m.values.data();
    return;
  }
  // Key = the seed's two 32-bit words (two's complement); counter of stream element 0 = ceil(offset/16).
  const uint64_t seed = static_cast<uint64_t>(attrs.seed);
  key_[0] = static_cast<uint32_t>(seed);
  key_[1] = static_cast<uint32_t>(seed >> 32);
  offset_groups_ = (static_cast<uint64_t>(attrs.offset) + 15) / 16;
  // Ascend's tiling: keepProbUint8 = (int64)(keepProb * 255) with keepProb an fp32 attribute.
  threshold_ = static_cast<uint32_t>(static_cast<float>(attrs.keep_prob) * 255.0f);
}

void DropoutRules::row(int64_t b, int64_t n1, int64_t i, int64_t s2, uint8_t* keep) const {
  const int64_t row = n1 * p_->s1[b] + i;  // row of batch b's [N1, S1_b, S2_b] block
  if (mask_) {
    const int64_t k0 = mask_base_[b] + row * s2;
    for (int64_t j = 0; j < s2; ++j) {
      const int64_t k = k0 + j;
      keep[j] = (static_cast<uint32_t>(mask_[k >> 3]) >> (k & 7)) & 1u;  // LSB-first
    }
    return;
  }
  const uint64_t e0 = pad_base_[b] + static_cast<uint64_t>(row * ((s2 + 15) / 16 * 16));
  philox::Counter x{};
  for (int64_t j = 0; j < s2; ++j) {
    const uint64_t e = e0 + j;
    const uint32_t t = e % 16;
    if (j == 0 || t == 0) {
      const uint64_t c = offset_groups_ + e / 16;
      x = philox::philox4x32({static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32), 0, 0}, {key_[0], key_[1]}, 7);
    }
    const uint32_t byte = (x[t / 4] >> (8 * (t % 4))) & 0xFFu;  // words in order, bytes little-endian
    keep[j] = byte <= threshold_ ? 1 : 0;
  }
}

}  // namespace cannon::reference::detail
