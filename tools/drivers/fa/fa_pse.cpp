// pse shapes and values. Draws use the raw 64-bit mt19937_64 output (specified by the standard), so a problem
// string gives the same pse on every platform.
#include "tools/drivers/fa/fa_pse.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "host/runtime/checked.hpp"
#include "tools/harness/random.hpp"

namespace cannon::tools {
namespace {

int64_t longest(const std::vector<int64_t>& lens) {
  return lens.empty() ? 0 : *std::max_element(lens.begin(), lens.end());
}

}  // namespace

std::vector<int64_t> batch_lengths(const std::vector<int64_t>& cumulative) {
  std::vector<int64_t> lens;
  int64_t prev = 0;
  for (int64_t end : cumulative) {
    lens.push_back(end > prev ? end - prev : 0);  // prev >= 0, so end - prev cannot overflow
    prev = std::max(prev, end);
  }
  return lens;
}

int64_t FaDims::max_s1() const { return tnd ? longest(q_lens) : s1; }
int64_t FaDims::max_s2() const { return tnd ? longest(kv_lens) : s2; }

int64_t FaDims::score_numel() const {
  constexpr const char* kWhat = "B·N1·S1·S2 (the attention scores)";
  if (!tnd) return checked_mul(checked_mul(checked_mul(b, n1, kWhat), s1, kWhat), s2, kWhat);
  int64_t total = 0;
  for (std::size_t i = 0; i < q_lens.size() && i < kv_lens.size(); ++i) {
    total = checked_add(total, checked_mul(q_lens[i], kv_lens[i], kWhat), kWhat);
  }
  return checked_mul(n1, total, kWhat);
}

bool pse_is_slopes(const std::string& kind) { return kind == "slopes_bn" || kind == "slopes_n"; }

std::vector<int64_t> pse_shape(const std::string& kind, const FaDims& d) {
  const int64_t s1 = d.max_s1(), s2 = d.max_s2();
  if (kind == "slopes_bn") return {d.b, d.n1};
  if (kind == "slopes_n") return {d.n1};
  if (kind == "alibi") return {d.b, d.n1, kAlibiRows, s2};
  if (kind == "alibi1") return {1, d.n1, kAlibiRows, s2};
  if (kind == "1nss") return {1, d.n1, s1, s2};
  if (d.tnd && kind == "bnss") return {d.score_numel()};
  if (d.tnd && kind == "bn1s") {
    int64_t total = 0;
    for (int64_t len : d.kv_lens) total = checked_add(total, len, "pse: N1·sum(S2)");
    return {checked_mul(d.n1, total, "pse: N1·sum(S2)")};
  }
  if (kind == "bn1s") return {d.b, d.n1, 1, s2};
  if (kind == "1n1s") return {1, d.n1, 1, s2};
  return {d.b, d.n1, s1, s2};  // bnss
}

double alibi_slope(int64_t b, int64_t n, int64_t heads) {
  return std::exp2(-8.0 * static_cast<double>(n + 1) / static_cast<double>(std::max<int64_t>(heads, 1))) /
         static_cast<double>(b + 1);
}

HostData generate_pse(const PseRecipe& recipe, const TensorDesc& desc, const FaDims& d, std::mt19937_64& rng) {
  const std::string& kind = recipe.kind;
  // A slope per (batch, head) in that order: ALiBi's, or one normal draw each (large |scores| for tolerance tests).
  auto slope = [&](int64_t b, int64_t n, int64_t heads) {
    return recipe.normal_slopes ? standard_normal(rng) : alibi_slope(b, n, heads);
  };
  std::vector<double> values(static_cast<std::size_t>(std::max<int64_t>(desc.numel(), 0)));
  if (pse_is_slopes(kind)) {
    for (std::size_t k = 0; k < values.size(); ++k) {
      const auto flat = static_cast<int64_t>(k);
      values[k] = static_cast<float>(slope(kind == "slopes_bn" ? flat / d.n1 : 0, flat % d.n1, d.n1));
    }
  } else if ((kind == "alibi" || kind == "alibi1") && desc.shape.size() == 4) {
    const int64_t s2 = desc.shape[3], rows = desc.shape[2], heads = desc.shape[1];
    std::size_t k = 0;
    for (int64_t b = 0; b < desc.shape[0]; ++b) {
      for (int64_t n = 0; n < heads; ++n) {
        const double bn_slope = static_cast<float>(slope(b, n, heads));
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t j = 0; j < s2; ++j) values[k++] = static_cast<float>(-bn_slope * std::abs(s2 - rows + r - j));
        }
      }
    }
  } else {
    for (double& v : values) v = static_cast<float>(-1.0 + 2.0 * uniform01(rng));
  }
  return encode_values(desc.dtype, desc.shape, values);
}

}  // namespace cannon::tools
