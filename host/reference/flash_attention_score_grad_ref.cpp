// Float64 host reference of FlashAttentionScoreGrad (reference/ascend-semantics-backward.md §3.1, §8): the ground
// truth that the device backward and cannon-conformance are judged against. It rebuilds P from the forward's
// softmax_max/softmax_sum as the kernel does, never recomputing them, so a device that recomputes its own statistics
// is caught. Q·Kᵀ, dY·Vᵀ and the three gradient products go through OpenBLAS dgemm per (batch, query head) block and
// S1 chunk, so S = 1024-2048 cases stay cheap; masks, pse, dropout and dS are applied element by element with the
// forward reference's own rules (MaskRules, PseRules, DropoutRules), which share nothing with host/ops or kernels/.
#include "host/reference/flash_attention_score_grad_ref.hpp"

#include <cblas.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "cannon/error.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "host/reference/flash_attention_score_ref_dropout.hpp"
#include "host/reference/flash_attention_score_ref_layout.hpp"
#include "host/reference/flash_attention_score_ref_mask.hpp"
#include "host/reference/flash_attention_score_ref_pse.hpp"
#include "host/reference/rounding.hpp"

namespace cannon::reference {
namespace {

using detail::DropoutRules;
using detail::FaRefProblem;
using detail::MaskRules;
using detail::PseRules;
using detail::Score;

// One chunk's score-sized buffers (four of them) hold at most this many doubles each (8 MiB), whatever S2 is.
constexpr int64_t kChunkElements = int64_t{1} << 20;
constexpr int64_t kMaxChunkRows = 512;

void require(bool ok, const std::string& what) {
  if (!ok) throw Error(Status::kParamInvalid, "flash_attention_score_grad reference: " + what);
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + "]";
}

void require_shape(const HostTensor& t, const std::vector<int64_t>& shape, const char* name) {
  require(t.shape == shape, std::string(name) + " must be " + shape_string(shape) + ", got " + shape_string(t.shape));
  require(static_cast<int64_t>(t.values.size()) == t.numel(), std::string(name) + " holds the wrong number of values");
}

double norm2(const double* x, int64_t n) {
  double sum = 0;
  for (int64_t d = 0; d < n; ++d) sum += x[d] * x[d];
  return std::sqrt(sum);
}

// |x| of a strided block of `rows` rows of `cols` values, packed densely.
void abs_block(const double* x, int64_t rows, int64_t cols, int64_t ld, std::vector<double>& out) {
  out.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = std::fabs(x[r * ld + c]);
}

// Output-shaped sums of |terms|, for AttentionGradStats (never part of the gradients).
struct Terms {
  std::vector<double> dq, dk, dv, dpse;
  std::vector<int64_t> key_rows;     // per key row (element offset / Dk): (query head, row) pairs that compute it
  std::vector<int64_t> dpse_scores;  // per dpse element: the scores it sums
};

// Buffers of one chunk: score-sized (rows × S2) and row-sized.
struct Scratch {
  std::vector<double> ds, pd, abs_ds, abs_pd, pse_row, abs_k, abs_q, abs_dy;
  std::vector<Score> states;
  std::vector<uint8_t> keep;
};

struct GradJob {
  const FlashAttentionScoreGradRefInputs& in;
  const FaRefProblem& p;
  const MaskRules& masks;
  const PseRules& pse;
  const DropoutRules& dropout;
  double scale;
  bool round;  // kAscend with fp16/bf16 inputs: Pd and dS rounded to `dtype` (CAST_ROUND) before their matmuls
  DType dtype;
  int64_t chunk_rows;
};

// All query rows of one (batch, query head): x = Q·Kᵀ and dP = dY·Vᵀ for a chunk of rows, then P, Pd and dS per
// score, then the chunk's share of dq (its own rows), dk and dv (the kv head's, summed over the group). Rows are read
// in place: every layout keeps a row's head dim contiguous and rows of one (b, n) evenly spaced, so the layout's
// sequence stride is the matrix's leading dimension.
void grad_head(const GradJob& job, int64_t b, int64_t n1, Scratch& w, Terms& terms,
               FlashAttentionScoreGradRefOutputs& out) {
  const FaRefProblem& p = job.p;
  AttentionGradStats& stats = out.stats;
  const int64_t s1 = p.s1[b], s2 = p.s2[b];
  if (s1 == 0 || s2 == 0) return;         // no score: dq of these rows stays 0, and no key row is touched
  const int64_t n2 = n1 / (p.n1 / p.n2);  // GQA: a group of N1/N2 query heads shares one kv head
  const double* k = job.in.key.values.data() + p.k.row(b, n2, 0);
  const double* v = job.in.value.values.data() + p.v.row(b, n2, 0);
  double* dk = out.dk.values.data() + p.k.row(b, n2, 0);
  double* dv = out.dv.values.data() + p.v.row(b, n2, 0);
  double* dk_terms = terms.dk.data() + p.k.row(b, n2, 0);
  double* dv_terms = terms.dv.data() + p.v.row(b, n2, 0);
  const bool pse_first = job.pse.add_before_scale();
  const bool dpse = out.dpse.has_value();
  const double dpse_factor = pse_first ? job.scale : 1.0;  // s = (qk + pse)·scale: ∂s/∂pse = scale
  const double keep_prob = job.dropout.active() ? job.dropout.keep_prob() : 1.0;

  double k_norm = 0, v_norm = 0;
  for (int64_t j = 0; j < s2; ++j) {
    k_norm = std::max(k_norm, norm2(k + j * p.k.seq_stride, p.dk));
    v_norm = std::max(v_norm, norm2(v + j * p.v.seq_stride, p.dv));
  }
  abs_block(k, s2, p.dk, p.k.seq_stride, w.abs_k);
  std::vector<int64_t> key_rows(s2, 0);

  for (int64_t i0 = 0; i0 < s1; i0 += job.chunk_rows) {
    const int64_t rows = std::min(job.chunk_rows, s1 - i0);
    const double* q = job.in.query.values.data() + p.q.row(b, n1, i0);
    const double* dy = job.in.dy.values.data() + p.out.row(b, n1, i0);
    const double* o = job.in.attention_in.values.data() + p.out.row(b, n1, i0);
    // w.ds holds x = q·k first, w.pd holds dP = dy·v; both are replaced score by score below.
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, s2, p.dk, 1.0, q, p.q.seq_stride, k, p.k.seq_stride, 0.0,
                w.ds.data(), s2);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, s2, p.dv, 1.0, dy, p.out.seq_stride, v, p.v.seq_stride,
                0.0, w.pd.data(), s2);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = i0 + r;
      const double* dy_row = dy + r * p.out.seq_stride;
      const double* o_row = o + r * p.out.seq_stride;
      double dr = 0, dr_terms = 0;  // Dr = rowsum(dy ∘ attention_in), from the forward's (rounded) output
      for (int64_t d = 0; d < p.dv; ++d) {
        dr += dy_row[d] * o_row[d];
        dr_terms += std::fabs(dy_row[d] * o_row[d]);
      }
      const int64_t stat = p.softmax_offset(b, n1, i);  // lane 0 of the ×8 record
      const double max = job.in.softmax_max.values[stat], sum = job.in.softmax_sum.values[stat];
      if (job.masks.active()) job.masks.row_states(b, n1, i, s2, w.states.data());
      if (job.pse.active()) job.pse.row(b, n1, i, s2, w.pse_row.data());
      if (job.dropout.active()) job.dropout.row(b, n1, i, s2, w.keep.data());
      double* x_ds = w.ds.data() + r * s2;
      double* dp_pd = w.pd.data() + r * s2;
      int64_t computed = 0;
      bool unmasked = false;
      for (int64_t j = 0; j < s2; ++j) {
        const Score state = job.masks.active() ? w.states[j] : Score::kComputed;
        if (state == Score::kSkipped) {  // never computed: P = 0, no share of any gradient
          x_ds[j] = dp_pd[j] = w.abs_ds[r * s2 + j] = w.abs_pd[r * s2 + j] = 0;
          continue;
        }
        ++computed;
        ++key_rows[j];
        // The score with pse before (type 1) or after (0/2/3) the scale; the mask's select to −FLT_MAX comes last.
        const double qk = x_ds[j];
        double x = qk * job.scale;
        if (job.pse.active()) x = pse_first ? (qk + w.pse_row[j]) * job.scale : x + w.pse_row[j];
        if (state == Score::kMasked) x = -FLT_MAX;
        const double prob = std::exp(x - max) / sum;
        const bool kept = !job.dropout.active() || w.keep[j];
        const double pd = job.dropout.active() ? (kept ? prob / keep_prob : 0.0) : prob;
        const double dp = job.dropout.active() ? (kept ? dp_pd[j] / keep_prob : 0.0) : dp_pd[j];
        const double ds = prob * (dp - dr);  // the un-dropped P, as the kernel uses
        if (state == Score::kComputed) {
          unmasked = true;
          stats.max_abs_score = std::max(stats.max_abs_score, std::fabs(x));
          if (job.pse.active()) stats.max_abs_pse = std::max(stats.max_abs_pse, std::fabs(w.pse_row[j] * dpse_factor));
        }
        // dS's own terms: they bound |dS| and its fp32 error, which a cancelling dP' − Dr leaves relative to them.
        const double ds_terms = prob * (std::fabs(dp) + std::fabs(dr));
        stats.max_ds_terms = std::max(stats.max_ds_terms, ds_terms);
        stats.max_abs_ds = std::max(stats.max_abs_ds, std::fabs(ds));
        stats.max_abs_pd = std::max(stats.max_abs_pd, std::fabs(pd));
        if (dpse) {
          const int64_t e = job.pse.element_index(b, n1, i, j);
          out.dpse->values[e] += dpse_factor * ds;
          terms.dpse[e] += std::fabs(dpse_factor) * ds_terms;
          ++terms.dpse_scores[e];
        }
        x_ds[j] = job.round ? round_ties_away(job.dtype, ds) : ds;
        dp_pd[j] = job.round ? round_ties_away(job.dtype, pd) : pd;
        w.abs_ds[r * s2 + j] = std::max(std::fabs(x_ds[j]), ds_terms);
        w.abs_pd[r * s2 + j] = std::fabs(dp_pd[j]);
      }
      if (computed == 0) continue;
      stats.max_row_keys = std::max(stats.max_row_keys, computed);
      stats.max_abs_dr = std::max(stats.max_abs_dr, std::fabs(dr));
      stats.max_dr_terms = std::max(stats.max_dr_terms, dr_terms);
      stats.max_dp_norm = std::max(stats.max_dp_norm, norm2(dy_row, p.dv) * v_norm);
      if (unmasked) {
        stats.max_abs_row_max = std::max(stats.max_abs_row_max, std::fabs(max));
        stats.max_dot_norm =
            std::max(stats.max_dot_norm, std::fabs(job.scale) * norm2(q + r * p.q.seq_stride, p.dk) * k_norm);
      }
    }
    // dq = scale·dS·K (this chunk's own rows), dk += scale·dSᵀ·Q, dv += Pdᵀ·dY (the kv head's, over the group).
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, p.dk, s2, job.scale, w.ds.data(), s2, k,
                p.k.seq_stride, 0.0, out.dq.values.data() + p.q.row(b, n1, i0), p.q.seq_stride);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s2, p.dk, rows, job.scale, w.ds.data(), s2, q, p.q.seq_stride,
                1.0, dk, p.k.seq_stride);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s2, p.dv, rows, 1.0, w.pd.data(), s2, dy, p.out.seq_stride,
                1.0, dv, p.v.seq_stride);
    // The same products of absolute values: each output element's sum of |terms|.
    abs_block(q, rows, p.dk, p.q.seq_stride, w.abs_q);
    abs_block(dy, rows, p.dv, p.out.seq_stride, w.abs_dy);
    const double abs_scale = std::fabs(job.scale);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, p.dk, s2, abs_scale, w.abs_ds.data(), s2,
                w.abs_k.data(), p.dk, 0.0, terms.dq.data() + p.q.row(b, n1, i0), p.q.seq_stride);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s2, p.dk, rows, abs_scale, w.abs_ds.data(), s2, w.abs_q.data(),
                p.dk, 1.0, dk_terms, p.k.seq_stride);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s2, p.dv, rows, 1.0, w.abs_pd.data(), s2, w.abs_dy.data(),
                p.dv, 1.0, dv_terms, p.v.seq_stride);
  }
  for (int64_t j = 0; j < s2; ++j) terms.key_rows[p.k.row(b, n2, j) / p.dk] += key_rows[j];
}

double max_of(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, x);
  return m;
}

}  // namespace

FlashAttentionScoreGradRefOutputs flash_attention_score_grad(const FlashAttentionScoreGradRefInputs& inputs,
                                                             const FlashAttentionScoreAttrs& attrs,
                                                             GradPrecision precision) {
  // The forward's helpers read the forward's inputs; they keep pointers into this copy.
  FlashAttentionScoreRefInputs forward;
  forward.query = inputs.query;
  forward.key = inputs.key;
  forward.value = inputs.value;
  forward.pse = inputs.pse;
  forward.drop_mask = inputs.drop_mask;
  forward.atten_mask = inputs.atten_mask;
  const FaRefProblem p = detail::describe_problem(forward, attrs);
  const MaskRules masks(forward, attrs, p);
  const PseRules pse(forward, attrs, p);
  const DropoutRules dropout(forward, attrs, p);
  require_shape(inputs.dy, p.out_shape, "dy");
  require_shape(inputs.attention_in, p.out_shape, "attention_in");
  require_shape(inputs.softmax_max, p.softmax_shape, "softmax_max");
  require_shape(inputs.softmax_sum, p.softmax_shape, "softmax_sum");

  const DType dtype = inputs.query.dtype;
  const bool low = dtype == DType::kFloat16 || dtype == DType::kBFloat16;
  FlashAttentionScoreGradRefOutputs out;
  out.dq = {dtype, inputs.query.shape, std::vector<double>(inputs.query.values.size(), 0.0)};
  out.dk = {dtype, inputs.key.shape, std::vector<double>(inputs.key.values.size(), 0.0)};
  out.dv = {dtype, inputs.value.shape, std::vector<double>(inputs.value.values.size(), 0.0)};
  Terms terms{std::vector<double>(out.dq.values.size(), 0.0),
              std::vector<double>(out.dk.values.size(), 0.0),
              std::vector<double>(out.dv.values.size(), 0.0),
              {},
              std::vector<int64_t>(out.dk.values.size() / p.dk, 0),
              {}};
  if (pse.reads_elements()) {
    out.dpse = HostTensor{inputs.pse->dtype, inputs.pse->shape, std::vector<double>(inputs.pse->values.size(), 0.0)};
    terms.dpse.assign(out.dpse->values.size(), 0.0);
    terms.dpse_scores.assign(out.dpse->values.size(), 0);
  }

  const int64_t s2_max = std::max<int64_t>(1, *std::max_element(p.s2.begin(), p.s2.end()));
  const int64_t chunk_rows = std::clamp<int64_t>(kChunkElements / s2_max, 1, kMaxChunkRows);
  Scratch w;
  for (std::vector<double>* buffer : {&w.ds, &w.pd, &w.abs_ds, &w.abs_pd}) buffer->resize(chunk_rows * s2_max);
  w.pse_row.resize(s2_max);
  w.states.resize(s2_max);
  w.keep.resize(s2_max);
  const GradJob job{inputs, p,         masks, pse, dropout, attrs.scale, precision == GradPrecision::kAscend && low,
                    dtype,  chunk_rows};
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t n1 = 0; n1 < p.n1; ++n1) grad_head(job, b, n1, w, terms, out);
  }

  AttentionGradStats& stats = out.stats;
  stats.head_dim_k = p.dk;
  stats.head_dim_v = p.dv;
  stats.keep_prob = dropout.active() ? dropout.keep_prob() : 1.0;
  stats.max_key_rows = terms.key_rows.empty() ? 0 : *std::max_element(terms.key_rows.begin(), terms.key_rows.end());
  stats.max_dq_terms = max_of(terms.dq);
  stats.max_dk_terms = max_of(terms.dk);
  stats.max_dv_terms = max_of(terms.dv);
  stats.max_dpse_terms = max_of(terms.dpse);
  stats.max_dpse_scores =
      terms.dpse_scores.empty() ? 0 : *std::max_element(terms.dpse_scores.begin(), terms.dpse_scores.end());
  return out;
}

}  // namespace cannon::reference
