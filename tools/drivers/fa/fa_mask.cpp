// Mask generation. Draws use the raw 64-bit mt19937_64 output (specified by the standard) rather than
// std::uniform_*_distribution (not specified), so a problem string gives the same mask on every platform.
#include "tools/drivers/fa/fa_mask.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "tools/harness/random.hpp"

namespace cannon::tools {
namespace {

HostData encode_bits(const TensorDesc& desc, const std::vector<uint8_t>& bits) {
  if (dtype_size(desc.dtype) == 1) return HostData{desc, bits};  // bool and uint8 store 0/1 as is
  return encode_values(desc.dtype, desc.shape, std::vector<double>(bits.begin(), bits.end()));
}

}  // namespace

std::vector<int64_t> mask_shape(const std::string& kind, int64_t batch, int64_t heads, int64_t s1, int64_t s2) {
  if (kind == "bnss") return {batch, heads, s1, s2};
  if (kind == "b1ss") return {batch, 1, s1, s2};
  if (kind == "11ss") return {1, 1, s1, s2};
  if (kind == "ss") return {s1, s2};
  if (kind == "comp") return {kCompressedRows, kCompressedCols};
  if (kind == "comp6") return {kCompressedRows6, kCompressedCols};
  throw std::invalid_argument("unknown mask kind '" + kind + "'");
}

std::vector<uint8_t> compressed_mask(int64_t rows) {
  std::vector<uint8_t> m(static_cast<std::size_t>(rows * kCompressedCols), 0);
  for (int64_t x = 0; x < rows; ++x) {
    uint8_t* row = m.data() + x * kCompressedCols;
    // The triu(1) part (rows < 2048), then the prefix rectangle: right half all 1.
    int64_t first_one = x < kCompressedRows ? x + 1 : kCompressedCols / 2;
    std::fill(row + std::min(first_one, kCompressedCols), row + kCompressedCols, uint8_t{1});
  }
  return m;
}

HostData generate_mask(const MaskRecipe& recipe, const TensorDesc& desc, const FlashAttentionScoreAttrs& attrs,
                       std::mt19937_64& rng) {
  if (recipe.kind == "comp" || recipe.kind == "comp6") {
    return encode_bits(desc, compressed_mask(recipe.kind == "comp" ? kCompressedRows : kCompressedRows6));
  }
  const int64_t s2 = desc.shape.back(), s1 = desc.shape[desc.shape.size() - 2];
  const int64_t rows = s2 > 0 ? desc.numel() / s2 : 0;
  const int64_t per_batch = desc.shape.size() == 4 ? desc.shape[1] * s1 : rows;  // rows per leading index
  const bool prefix_pattern = attrs.sparse_mode == 5;
  std::vector<uint8_t> bits(static_cast<std::size_t>(std::max<int64_t>(desc.numel(), 0)));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r % std::max<int64_t>(s1, 1);
    const auto b = static_cast<std::size_t>(desc.shape.size() == 4 ? r / std::max<int64_t>(per_batch, 1) : 0);
    const int64_t prefix = b < attrs.prefix.size() ? attrs.prefix[b] : 0;
    for (int64_t j = 0; j < s2; ++j) {
      bool one = uniform01(rng) < recipe.density;
      if (prefix_pattern) one = one || (j - i > s2 - s1 && j >= prefix);
      if (recipe.causal) one = one || j > i;
      bits[static_cast<std::size_t>(r * s2 + j)] = one ? 1 : 0;
    }
  }
  // Distinct rows by a partial Fisher-Yates shuffle (modulo bias is irrelevant at these sizes).
  std::vector<int64_t> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  const int64_t full = std::min(recipe.full_rows, rows);
  for (int64_t k = 0; k < full; ++k) {
    auto pick = static_cast<std::size_t>(k + static_cast<int64_t>(rng() % static_cast<uint64_t>(rows - k)));
    std::swap(order[static_cast<std::size_t>(k)], order[pick]);
    auto row = bits.begin() + order[static_cast<std::size_t>(k)] * s2;
    std::fill(row, row + s2, uint8_t{1});
  }
  return encode_bits(desc, bits);
}

}  // namespace cannon::tools
