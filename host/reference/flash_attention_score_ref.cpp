// Float64 host reference of FlashAttentionScore forward (reference/ascend-semantics.md §1.1-§1.4, §1.7): the
// ground truth that the device kernels and cannon-conformance are judged against. Scores and P·V go through
// OpenBLAS dgemm per (batch, head) block and S1 chunk, so the S1 = S2 = 2048 conformance cases stay cheap; masks
// are applied element by element to the dense score block (MaskRules), which keeps masked cases just as cheap.
#include "host/reference/flash_attention_score_ref.hpp"

#include <cblas.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <vector>

#include "cannon/error.hpp"
#include "host/reference/flash_attention_score_ref_dropout.hpp"
#include "host/reference/flash_attention_score_ref_layout.hpp"
#include "host/reference/flash_attention_score_ref_mask.hpp"
#include "host/reference/flash_attention_score_ref_pse.hpp"
#include "host/reference/rounding.hpp"
#include "host/runtime/convert.hpp"

namespace cannon::reference {
namespace {

using detail::DropoutRules;
using detail::FaRefProblem;
using detail::MaskRules;
using detail::PseRules;
using detail::Score;

// One chunk of scores is at most this many doubles (32 MiB), whatever S2 is.
constexpr int64_t kChunkElements = int64_t{1} << 22;
constexpr int64_t kMaxChunkRows = 512;

// Round to nearest even in the input dtype, as a framework's fp16/bf16 operations do (kNaiveLowPrecision). It goes
// through fp32 because the device holds every intermediate in fp32 and casts that value, so double -> float -> 16-bit
// is the path the device takes.
double round_to(DType dtype, double x) {
  const float f = static_cast<float>(x);
  switch (dtype) {
    case DType::kFloat16:
      return fp16_to_float(float_to_fp16(f));
    case DType::kBFloat16:
      return bf16_to_float(float_to_bf16(f));
    default:
      return f;
  }
}

// What each precision mode rounds. kFloat64 rounds only P, and only for fp16/bf16 inputs, because Ascend casts
// P to the input dtype before the P·V matmul, with CAST_ROUND: to nearest, ties away from zero (rounding.hpp).
// kNaiveLowPrecision is FlashAttention's error yardstick: each operation's result is rounded to the input dtype
// (the dot product q·k, the scaled score, s - m, exp, the row sum l, P, the P·V sum and the output) to nearest
// even, as a framework's fp16/bf16 operations round; reductions accumulate in double and are rounded once, as a
// framework's fp16 matmul or sum would (fp32 accumulators), not after every addition.
struct Rounding {
  DType dtype;
  bool naive;
  bool round_p;

  double inter(double x) const { return naive ? round_to(dtype, x) : x; }
  double p(double x) const {
    if (naive) return round_to(dtype, x);
    return round_p ? round_ties_away(dtype, x) : x;
  }
};

struct RowStats {
  double max;
  double sum;
  AttentionRowStats terms;  // for the tolerance model; read only, never part of the outputs
};

// One entering score's share of the row's AttentionRowStats: s, its p = exp(s - m), and the pse as added
// (scale·pse for pse_type 1), so that |s - pse| is |scale·q·k|.
void add_terms(AttentionRowStats& t, double s, double m, double p, double added_pse, bool has_pse, bool kept) {
  const double g = has_pse ? std::fabs(s - added_pse) + std::fabs(added_pse) + std::fabs(s) : std::fabs(s);
  ++t.keys;
  t.max_abs_score = std::max(t.max_abs_score, std::fabs(s));
  t.max_abs_pse = std::max(t.max_abs_pse, std::fabs(added_pse));
  if (s == m) t.terms_at_max = std::max(t.terms_at_max, g);
  t.weighted_terms2 += p * g * g;
  t.sum += p;
  if (kept) t.kept_sum += p;
}

// Turns one row of raw q·k products into the unnormalised probabilities p, in place, and returns the row's
// max and sum. The sum is taken before the cast of P (and, later, before dropout), as on Ascend, so in kFloat64
// mode l holds the unrounded exp values. `states` (null when nothing is masked) says which scores are masked
// by the tensor (−FLT_MAX) and which the band rule skips: those get p = 0 and stay out of max and sum. A row
// with no computed score returns max = −inf.
// `pse` (null without one) is the row's position encoding; `pse_first` says it joins before the scale (type 1).
// `keep` (null without dropout) is the row's keep flags: kept p become p / keep_prob, the others 0.
RowStats softmax_row(double* row, int64_t s2, double scale, const Rounding& r, const Score* states, const double* pse,
                     bool pse_first, const uint8_t* keep, double keep_prob) {
  double max = -std::numeric_limits<double>::infinity();
  AttentionRowStats terms;
  for (int64_t j = 0; j < s2; ++j) {
    if (states && states[j] == Score::kSkipped) continue;
    // The score, with pse before or after the scale as pse_type says (a fp16/bf16 pse is exact in double).
    // The select to -FLT_MAX comes after the rounding, since -FLT_MAX would overflow fp16 to -inf.
    const double qk = r.inter(row[j]);
    if (!pse) {
      row[j] = r.inter(qk * scale);
    } else if (pse_first) {
      row[j] = r.inter(r.inter(qk + r.inter(pse[j])) * scale);  // pse_type 1: (qk + pse)·scale
    } else {
      row[j] = r.inter(r.inter(qk * scale) + r.inter(pse[j]));  // pse_type 0/2/3: qk·scale + pse
    }
    if (states && states[j] == Score::kMasked) row[j] = -FLT_MAX;
    max = std::max(max, row[j]);
  }
  double sum = 0;
  for (int64_t j = 0; j < s2; ++j) {
    if (states && states[j] == Score::kSkipped) {
      row[j] = 0;  // never computed: no share of P·V
      continue;
    }
    // exp(-FLT_MAX - max) is 0 when the row has a visible score; in naive fp16, -FLT_MAX - max rounds to -inf
    // and exp gives 0 all the same. When every computed score is masked, each one is exp(0) = 1.
    const double e = r.inter(std::exp(r.inter(row[j] - max)));
    sum += e;
    if (!states || states[j] == Score::kComputed)
      add_terms(terms, row[j], max, e, pse ? pse[j] * (pse_first ? scale : 1) : 0, pse, !keep || keep[j]);
    // Dropout scales e here: after it joined the sum, before the cast to the input dtype.
    row[j] = r.p(keep ? (keep[j] ? e / keep_prob : 0.0) : e);
  }
  terms.row_max = max;
  return {max, r.inter(sum), terms};
}

void store_stats(FlashAttentionScoreRefOutputs& out, int64_t offset, const RowStats& stats) {
  for (int64_t lane = 0; lane < 8; ++lane) {
    out.softmax_max.values[offset + lane] = stats.max;
    out.softmax_sum.values[offset + lane] = stats.sum;
  }
}

struct HeadJob {
  const FlashAttentionScoreRefInputs& in;
  const FaRefProblem& p;
  const Rounding& rounding;
  const MaskRules& masks;
  const PseRules& pse;
  const DropoutRules& dropout;
  double scale;
  int64_t chunk_rows;
};

// Invalid-line mode (§1.3) writes a row as invalid when every computed score is masked (max == -FLT_MAX) or
// when it has no computed score. Without the mode such rows keep the plain softmax numbers: max -FLT_MAX,
// sum = number of computed columns, out = their mean V. A row with no computed score cannot occur then, since
// any such row switches the mode on; it would be 0/0, so it is written as invalid too.
bool invalid_row(const RowStats& stats, bool invalid_line) {
  const bool no_score = stats.max == -std::numeric_limits<double>::infinity();
  return no_score || (invalid_line && stats.max == -FLT_MAX);
}

double norm2(const double* x, int64_t n) {
  double sum = 0;
  for (int64_t d = 0; d < n; ++d) sum += x[d] * x[d];
  return std::sqrt(sum);
}

// All query rows of one (batch, query head): scores = Q·Kᵀ for a chunk of rows, softmax per row, then P·V.
// Rows are read in place: every layout keeps a row's head dim contiguous and rows of one (b, n) evenly spaced,
// so the layout's sequence stride is the matrix's leading dimension.
void compute_head(const HeadJob& job, int64_t b, int64_t n1, std::vector<double>& scores, std::vector<double>& pv,
                  std::vector<Score>& states, std::vector<double>& pse_row, std::vector<uint8_t>& keep,
                  FlashAttentionScoreRefOutputs& out) {
  AttentionStats& problem_stats = out.stats;
  const FaRefProblem& p = job.p;
  const int64_t s1 = p.s1[b], s2 = p.s2[b];
  const int64_t n2 = n1 / (p.n1 / p.n2);  // GQA: a group of N1/N2 query heads shares one kv head
  std::vector<RowStats> stats(job.chunk_rows);
  for (int64_t i0 = 0; i0 < s1; i0 += job.chunk_rows) {
    const int64_t rows = std::min(job.chunk_rows, s1 - i0);
    if (s2 == 0) {
      // cannon's rule for a row that sees no key (a TND batch with S2_b = 0): the invalid-row result, out 0.
      for (int64_t r = 0; r < rows; ++r) store_stats(out, p.softmax_offset(b, n1, i0 + r), {-FLT_MAX, FLT_MAX, {}});
      continue;
    }
    const double* q = job.in.query.values.data() + p.q.row(b, n1, i0);
    const double* k = job.in.key.values.data() + p.k.row(b, n2, 0);
    const double* v = job.in.value.values.data() + p.v.row(b, n2, 0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, s2, p.dk, 1.0, q, p.q.seq_stride, k, p.k.seq_stride, 0.0,
                scores.data(), s2);
    // The longest key of the head bounds every row's dot products (Cauchy-Schwarz); a row's own visible keys
    // could give a smaller bound, but the head's is cheap and errs on the safe side.
    double k_norm = 0;
    for (int64_t j = 0; j < s2; ++j) k_norm = std::max(k_norm, norm2(k + j * p.k.seq_stride, p.dk));
    const bool masked = job.masks.active();
    for (int64_t r = 0; r < rows; ++r) {
      if (masked) job.masks.row_states(b, n1, i0 + r, s2, states.data());
      if (job.pse.active()) job.pse.row(b, n1, i0 + r, s2, pse_row.data());
      if (job.dropout.active()) job.dropout.row(b, n1, i0 + r, s2, keep.data());
      stats[r] = softmax_row(scores.data() + r * s2, s2, job.scale, job.rounding, masked ? states.data() : nullptr,
                             job.pse.active() ? pse_row.data() : nullptr, job.pse.add_before_scale(),
                             job.dropout.active() ? keep.data() : nullptr, job.dropout.keep_prob());
      const double dot_norm = std::fabs(job.scale) * norm2(q + r * p.q.seq_stride, p.dk) * k_norm;
      problem_stats.add_row(stats[r].terms, dot_norm);
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, p.dv, s2, 1.0, scores.data(), s2, v, p.v.seq_stride,
                0.0, pv.data(), p.dv);
    for (int64_t r = 0; r < rows; ++r) {
      // O = (Σ p·v) / l: Ascend divides once at the end, after the last S2 tile, by the unrounded-P sum.
      double* o = out.attention_out.values.data() + p.out.row(b, n1, i0 + r);
      if (invalid_row(stats[r], job.masks.invalid_line())) {
        std::fill(o, o + p.dv, 0.0);
        store_stats(out, p.softmax_offset(b, n1, i0 + r), {-FLT_MAX, FLT_MAX, {}});
        continue;
      }
      for (int64_t d = 0; d < p.dv; ++d) o[d] = job.rounding.inter(job.rounding.inter(pv[r * p.dv + d]) / stats[r].sum);
      store_stats(out, p.softmax_offset(b, n1, i0 + r), stats[r]);
    }
  }
}

}  // namespace

FlashAttentionScoreRefOutputs flash_attention_score(const FlashAttentionScoreRefInputs& inputs,
                                                    const FlashAttentionScoreAttrs& attrs, Precision precision) {
  const FaRefProblem p = detail::describe_problem(inputs, attrs);
  const MaskRules masks(inputs, attrs, p);
  const PseRules pse(inputs, attrs, p);
  const DropoutRules dropout(inputs, attrs, p);
  const DType dtype = inputs.query.dtype;
  const bool naive = precision == Precision::kNaiveLowPrecision;
  const bool low = dtype == DType::kFloat16 || dtype == DType::kBFloat16;
  const Rounding rounding{dtype, naive, naive || (low && precision != Precision::kUnroundedP)};

  FlashAttentionScoreRefOutputs out;
  out.attention_out = {dtype, p.out_shape, {}};
  out.softmax_max = {DType::kFloat32, p.softmax_shape, {}};
  out.softmax_sum = {DType::kFloat32, p.softmax_shape, {}};
  out.attention_out.values.assign(out.attention_out.numel(), 0.0);
  out.softmax_max.values.assign(out.softmax_max.numel(), 0.0);
  out.softmax_sum.values.assign(out.softmax_sum.numel(), 0.0);

  const int64_t s2_max = p.s2.empty() ? 1 : std::max<int64_t>(1, *std::max_element(p.s2.begin(), p.s2.end()));
  const int64_t chunk_rows = std::clamp<int64_t>(kChunkElements / s2_max, 1, kMaxChunkRows);
  std::vector<double> scores(chunk_rows * s2_max), pv(chunk_rows * p.dv);
  std::vector<Score> states(s2_max);
  std::vector<double> pse_row(s2_max);
  std::vector<uint8_t> keep(s2_max);
  const HeadJob job{inputs, p, rounding, masks, pse, dropout, attrs.scale, chunk_rows};
  out.stats.head_dim_k = p.dk;
  out.stats.head_dim_v = p.dv;
  out.stats.keep_prob = dropout.active() ? dropout.keep_prob() : 1.0;
  for (double v : inputs.value.values) out.stats.max_abs_value = std::max(out.stats.max_abs_value, std::fabs(v));
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t n1 = 0; n1 < p.n1; ++n1) compute_head(job, b, n1, scores, pv, states, pse_row, keep, out);
  }
  return out;
}

}  // namespace cannon::reference
