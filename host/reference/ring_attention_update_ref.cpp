// Float64 reference of RingAttentionUpdate: the formula of docs/ring_attention_update.md applied element by
// element, with the softmax addresses computed from (batch, head, row) as the semantics file states them
// (ascend-semantics.md §3). Shares no code with the op, its validation or its kernel.
#include "host/reference/ring_attention_update_ref.hpp"

#include <cfloat>
#include <cmath>
#include <stdexcept>

namespace cannon::reference {
namespace {

struct Merged {
  double max, sum, w_prev, w_cur;
};

// cannon's rule for invalid rows (max <= -FLT_MAX): such a side contributes nothing; two such sides stay invalid.
Merged merge(double m_p, double l_p, double m_c, double l_c) {
  const bool inv_p = m_p <= -static_cast<double>(FLT_MAX);
  const bool inv_c = m_c <= -static_cast<double>(FLT_MAX);
  if (inv_p && inv_c) return {-static_cast<double>(FLT_MAX), static_cast<double>(FLT_MAX), 0.0, 0.0};
  const double m = std::max(m_p, m_c);
  const double s_p = inv_p ? 0.0 : l_p * std::exp(m_p - m);
  const double s_c = inv_c ? 0.0 : l_c * std::exp(m_c - m);
  const double l = s_p + s_c;
  return {m, l, s_p / l, s_c / l};
}

}  // namespace

RingAttentionUpdateRefOutputs ring_attention_update(const RingAttentionUpdateRefInputs& in,
                                                    const RingAttentionUpdateAttrs& attrs) {
  const bool tnd = attrs.input_layout == "TND";
  const auto& ashape = in.prev_attn_out.shape;
  const auto& sshape = in.prev_softmax_max.shape;
  if (ashape.size() != 3) throw std::invalid_argument("reference ring_attention_update: attn must be rank 3");
  // Rows of attention: (s, b) for SBH, (t, 0) for TND; batch_of / local row / batch length give the softmax address.
  const int64_t rows = ashape[0], batch = tnd ? 1 : ashape[1];
  const int64_t heads = tnd ? ashape[1] : sshape[1];
  const int64_t dim = tnd ? ashape[2] : ashape[2] / heads;
  const bool token_major = tnd && (attrs.softmax_layout == "TND" || heads == 1);
  std::vector<int64_t> token_batch(tnd ? rows : 0);
  if (tnd) {
    const auto& c = in.actual_seq_qlen;
    for (std::size_t b = 0; b + 1 < c.size(); ++b)
      for (int64_t t = c[b]; t < c[b + 1]; ++t) token_batch[t] = static_cast<int64_t>(b);
  }

  RingAttentionUpdateRefOutputs out;
  out.attn_out = {in.prev_attn_out.dtype, ashape, std::vector<double>(in.prev_attn_out.values.size())};
  out.softmax_max = {DType::kFloat32, sshape, std::vector<double>(in.prev_softmax_max.values.size())};
  out.softmax_sum = out.softmax_max;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t n = 0; n < heads; ++n) {
        int64_t sm = 0;  // element index of lane 0
        if (!tnd) {
          sm = ((b * heads + n) * rows + r) * 8;
        } else if (token_major) {
          sm = (r * heads + n) * 8;
        } else {
          const int64_t bt = token_batch[r], start = in.actual_seq_qlen[bt];
          const int64_t len = in.actual_seq_qlen[bt + 1] - start;
          sm = (start * heads + n * len + (r - start)) * 8;
        }
        const int64_t attn = ((r * batch + b) * heads + n) * dim;
        for (int64_t lane = 0; lane < 8; ++lane) {
          const Merged m = merge(in.prev_softmax_max.values[sm + lane], in.prev_softmax_sum.values[sm + lane],
                                 in.cur_softmax_max.values[sm + lane], in.cur_softmax_sum.values[sm + lane]);
          out.softmax_max.values[sm + lane] = m.max;
          out.softmax_sum.values[sm + lane] = m.sum;
          // Ascend's lane rule: attn element d is scaled by softmax lane d % 8.
          for (int64_t d = lane; d < dim; d += 8) {
            out.attn_out.values[attn + d] =
                in.prev_attn_out.values[attn + d] * m.w_prev + in.cur_attn_out.values[attn + d] * m.w_cur;
          }
        }
      }
    }
  }
  return out;
}

}  // namespace cannon::reference
