// Float64 reference of NsaSelectedAttention, written straight from docs/nsa_selected_attention.md (ascend-
// semantics.md §4): per query token and query head, gather the selected blocks in topk order, score, mask
// (left-up causal, only with atten_mask and sparse_mode 2), plain softmax, P rounded, P·V. Shares no code with
// the op, its validation or its kernel; the sequence offsets are recomputed here from the cumulative lists.
#include "host/reference/nsa_selected_attention_ref.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "cannon/error.hpp"
#include "host/reference/rounding.hpp"
#include "host/runtime/convert.hpp"

namespace cannon::reference {
namespace {

// Round to nearest even in the input dtype, through fp32 as the device does: a framework's rounding
// (kNaiveLowPrecision).
double round_to(DType dtype, double x) {
  const float f = static_cast<float>(x);
  if (dtype == DType::kFloat16) return fp16_to_float(float_to_fp16(f));
  if (dtype == DType::kBFloat16) return bf16_to_float(float_to_bf16(f));
  return f;
}

// kFloat64 rounds only P (fp16/bf16 inputs: Ascend casts the normalised P before bmm2, with CAST_ROUND: to nearest,
// ties away from zero, rounding.hpp); kNaiveLowPrecision rounds every operation's result to the input dtype, to
// nearest even (reductions accumulate in double, rounded once).
struct Rounding {
  DType dtype;
  bool naive;
  bool unrounded_p;  // Precision::kUnroundedP
  double inter(double x) const { return naive ? round_to(dtype, x) : x; }
  double p(double x) const {
    const bool low = dtype == DType::kFloat16 || dtype == DType::kBFloat16;
    if (naive) return round_to(dtype, x);
    return low && !unrounded_p ? round_ties_away(dtype, x) : x;
  }
};

// Cumulative ends (no leading 0) to starts.
std::vector<int64_t> starts_of(const std::vector<int64_t>& ends) {
  std::vector<int64_t> s(ends.size(), 0);
  for (std::size_t b = 1; b < ends.size(); ++b) s[b] = ends[b - 1];
  return s;
}

}  // namespace

NsaSelectedAttentionRefOutputs nsa_selected_attention(const NsaSelectedAttentionRefInputs& in,
                                                      const NsaSelectedAttentionAttrs& attrs, Precision precision) {
  const HostTensor& q = in.query;
  const int64_t t1 = q.shape[0], n1 = q.shape[1], dk = q.shape[2];
  const int64_t n2 = in.key.shape[1], dv = in.value.shape[2];
  const int64_t g_size = n1 / n2, bs = attrs.select_block_size, count = attrs.select_block_count;
  const Rounding r{q.dtype, precision == Precision::kNaiveLowPrecision, precision == Precision::kUnroundedP};
  const bool causal = in.atten_mask.has_value() && attrs.sparse_mode == 2;
  const std::vector<int64_t> q_start = starts_of(attrs.actual_seq_qlen);
  const std::vector<int64_t> kv_start = starts_of(attrs.actual_seq_kvlen);
  // Ascend fills masked bmm1 results with -FLT_MAX, then multiplies every score by scale_value in fp32
  // (HandleMask before Muls), so a masked score is fp32(-FLT_MAX · scale); -inf when that overflows.
  const float fill = -FLT_MAX * static_cast<float>(attrs.scale_value);  // an IEEE fp32 multiply, as Muls does
  const auto masked_score = static_cast<double>(fill);

  NsaSelectedAttentionRefOutputs out;
  out.attention_out = {q.dtype, {t1, n1, dv}, std::vector<double>(static_cast<std::size_t>(t1 * n1 * dv), 0.0)};
  out.softmax_max = {DType::kFloat32, {t1, n1, 8}, std::vector<double>(static_cast<std::size_t>(t1 * n1 * 8), 0.0)};
  out.softmax_sum = out.softmax_max;

  out.stats.head_dim_k = dk;
  out.stats.head_dim_v = dv;
  out.stats.normalized_p = true;
  for (double v : in.value.values) out.stats.max_abs_value = std::max(out.stats.max_abs_value, std::fabs(v));
  std::vector<double> key_norm2(static_cast<std::size_t>(in.key.shape[0] * n2), 0.0);  // ‖k‖² per (key row, head)
  for (std::size_t row = 0; row < key_norm2.size(); ++row) {
    for (int64_t d = 0; d < dk; ++d) key_norm2[row] += in.key.values[row * dk + d] * in.key.values[row * dk + d];
  }

  const int64_t sel = count * bs;
  std::vector<int64_t> rows(static_cast<std::size_t>(sel));  // global key row of each selected column
  std::vector<bool> masked(static_cast<std::size_t>(sel));
  std::vector<double> s(static_cast<std::size_t>(sel));
  for (std::size_t b = 0; b < q_start.size(); ++b) {
    const int64_t kv_len = attrs.actual_seq_kvlen[b] - kv_start[b];
    for (int64_t t = q_start[b]; t < attrs.actual_seq_qlen[b]; ++t) {
      const int64_t s1 = t - q_start[b];
      for (int64_t h2 = 0; h2 < n2; ++h2) {
        // The gather: block c of the selection is keys idx·bs .. idx·bs + bs - 1 of this batch, in topk order.
        for (int64_t c = 0; c < count; ++c) {
          const auto idx =
              static_cast<int64_t>(in.topk_indices.values[static_cast<std::size_t>((t * n2 + h2) * count + c)]);
          if (idx < 0 || idx * bs + bs > kv_len) {
            throw Error(Status::kParamInvalid,
                        fmt::format("topk_indices: [{}][{}][{}] = {} is outside batch {}", t, h2, c, idx, b));
          }
          for (int64_t j = 0; j < bs; ++j) {
            rows[c * bs + j] = kv_start[b] + idx * bs + j;
            masked[c * bs + j] = causal && idx * bs + j > s1;  // left-up causal: local key > local query
          }
        }
        for (int64_t g = 0; g < g_size; ++g) {
          const int64_t h1 = h2 * g_size + g;
          const double* qr = q.values.data() + (t * n1 + h1) * dk;
          double m = -static_cast<double>(INFINITY);
          double q_norm = 0, k_norm = 0;
          for (int64_t d = 0; d < dk; ++d) q_norm += qr[d] * qr[d];
          for (int64_t j = 0; j < sel; ++j) {
            const double* kr = in.key.values.data() + (rows[j] * n2 + h2) * dk;
            double dot = 0;
            for (int64_t d = 0; d < dk; ++d) dot += qr[d] * kr[d];
            // The select comes after the rounding (the fill would overflow fp16).
            s[j] = masked[j] ? masked_score : r.inter(r.inter(dot) * attrs.scale_value);
            m = std::max(m, s[j]);
            if (!masked[j]) k_norm = std::max(k_norm, key_norm2[rows[j] * n2 + h2]);
          }
          // Statistics for the tolerance model over the unmasked scores; without a pse a score's terms are |s|.
          AttentionRowStats terms;
          terms.row_max = m;
          double l = 0;
          for (int64_t j = 0; j < sel; ++j) {
            const double score = s[j];
            s[j] = r.inter(std::exp(r.inter(s[j] - m)));
            l += s[j];
            if (masked[j]) continue;
            ++terms.keys;
            terms.max_abs_score = std::max(terms.max_abs_score, std::fabs(score));
            if (score == m) terms.terms_at_max = std::fabs(score);
            terms.weighted_terms2 += s[j] * score * score;
            terms.sum += s[j];
          }
          out.stats.add_row(terms, std::fabs(attrs.scale_value) * std::sqrt(q_norm * k_norm));
          l = r.inter(l);
          std::vector<double> o(static_cast<std::size_t>(dv), 0.0);
          for (int64_t j = 0; j < sel; ++j) {
            const double p = r.p(s[j] / l);  // plain softmax: P is normalised, then cast
            const double* vr = in.value.values.data() + (rows[j] * n2 + h2) * dv;
            for (int64_t d = 0; d < dv; ++d) o[d] += p * vr[d];
          }
          for (int64_t d = 0; d < dv; ++d) out.attention_out.values[(t * n1 + h1) * dv + d] = r.inter(o[d]);
          for (int e = 0; e < 8; ++e) {
            out.softmax_max.values[(t * n1 + h1) * 8 + e] = m;
            out.softmax_sum.values[(t * n1 + h1) * 8 + e] = l;
          }
        }
      }
    }
  }
  return out;
}

}  // namespace cannon::reference
