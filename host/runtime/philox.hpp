// Philox4x32 (Random123) and Ascend 950's dropout generator built on it, in plain C++.
// cannon's built-in dropout mask must be the same on every device and on the host, so this file is the host
// statement of the rules in docs/flash_attention_score.md ("Dropout"); kernels/common/philox.clh is the device one.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace cannon::philox {

using Counter = std::array<uint32_t, 4>;
using Key = std::array<uint32_t, 2>;

// Philox4x32 with `rounds` rounds (Random123's philox4x32_R). Ascend's dropout uses 7; 10 is Random123's default.
Counter philox4x32(Counter counter, Key key, int rounds);

// Ascend 950 (arch35 dropmask.h) runs Philox4x32 with 7 rounds.
inline constexpr int kDropoutRounds = 7;
// One Philox call gives 16 bytes, one per element: the stream advances the counter once per 16 elements.
inline constexpr int64_t kGroupElements = 16;

// The generator's parameters, derived once from (seed, offset, keep_prob).
struct DropoutGenerator {
  Key key{};                   // (seed low word, seed high word)
  uint64_t offset_groups = 0;  // ceil(offset / 16): the counter of stream element 0
  uint32_t threshold = 0;      // keep iff byte <= threshold

  // seed is taken as its 64-bit two's complement; offset must be >= 0 and keep_prob in (0, 1) (not checked).
  DropoutGenerator(int64_t seed, int64_t offset, double keep_prob);

  // Keep bits of the 16-element group with counter `offset_groups + group`: bit t is stream element 16·group + t.
  uint32_t keep_bits16(uint64_t group) const;
  // Keep flag of padded stream element e.
  bool keep(uint64_t e) const { return (keep_bits16(e / kGroupElements) >> (e % kGroupElements)) & 1u; }
};

// T = (int)(float(keep_prob) · 255.0f): Ascend's tiling computes keepProbUint8 from the fp32 attribute and
// truncates, so the kept fraction is (T + 1) / 256.
uint32_t dropout_threshold(double keep_prob);

// The dropout stream's shape: N1 and per-batch S1_b, S2_b (non-TND: B equal entries).
struct DropoutShape {
  int64_t n1 = 0;
  std::vector<int64_t> s1, s2;

  int64_t numels() const;  // N1·Σ S1_b·S2_b: the explicit mask's element count (torch_npu's numels)
};

// The generated mask in explicit drop_mask form: ceil(numels/8) bytes, bit k & 7 of byte k >> 3 (LSB-first) is
// element k = N1·Σ_{c<b} S1_c·S2_c + (n1·S1_b + i)·S2_b + j; padding bits of the last byte are 0.
std::vector<uint8_t> generate_drop_mask(const DropoutGenerator& gen, const DropoutShape& shape);

}  // namespace cannon::philox
