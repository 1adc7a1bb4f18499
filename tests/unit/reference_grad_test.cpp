// Tests of the float64 FlashAttentionScoreGrad reference (reference/ascend-semantics-backward.md §3.1, §8) from
// outside: central finite differences of the forward reference's float64 output. The loss is L = Σ dy ∘ O with O
// from the forward reference without any rounding (Precision::kUnroundedP, fp32 inputs); its softmax_max/sum and O
// are fed to the backward (GradPrecision::kExact), whose dq, dk, dv and dpse must equal (L(x+h) − L(x−h))/2h for
// every element. The loss with a fixed dropout mask is differentiable, O = (P∘Z/keep_prob)·V, so dropout is checked
// the same way. Then the rounding points of kAscend (P and dS, ties away from zero) and what the backward reads.
//
// Each case draws its inputs from its own seed: a base seed, fresh per run unless CANNON_TEST_SEED gives it, mixed
// with the case's name. A failure prints both, so `CANNON_TEST_SEED=<base> --gtest_filter=<test>` repeats it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cannon/error.hpp"
#include "host/reference/flash_attention_score_grad_ref.hpp"
#include "host/reference/flash_attention_score_ref.hpp"
#include "host/reference/rounding.hpp"
#include "tests/unit/reference_test_util.hpp"

namespace cannon::reference {
namespace {

unsigned base_seed() {
  static const unsigned seed = [] {
    const char* env = std::getenv("CANNON_TEST_SEED");
    return env ? static_cast<unsigned>(std::strtoul(env, nullptr, 0)) : std::random_device{}();
  }();
  return seed;
}

unsigned case_seed(const std::string& label) {
  return base_seed() ^ static_cast<unsigned>(std::hash<std::string>{}(label));
}

std::string seed_note(const std::string& label) {
  return label + " (seed " + std::to_string(case_seed(label)) + ", CANNON_TEST_SEED=" + std::to_string(base_seed()) +
         ")";
}

// One problem: the forward's inputs and attributes plus dy. Dense layouts use s1[0], s2[0] for every batch.
struct Shape {
  std::string layout = "BNSD";
  std::vector<int64_t> s1{4}, s2{5};
  int64_t batch = 2, n1 = 2, n2 = 1, dk = 4, dv = 3;
  DType dtype = DType::kFloat32;
  bool tnd() const { return layout == "TND"; }
  int64_t b() const { return tnd() ? static_cast<int64_t>(s1.size()) : batch; }
  int64_t s1_of(int64_t bb) const { return tnd() ? s1[bb] : s1[0]; }
  int64_t s2_of(int64_t bb) const { return tnd() ? s2[bb] : s2[0]; }
  int64_t max_s1() const { return *std::max_element(s1.begin(), s1.end()); }
  int64_t max_s2() const { return *std::max_element(s2.begin(), s2.end()); }
  int64_t numels() const {  // scores, as the dropout mask counts them
    int64_t n = 0;
    for (int64_t bb = 0; bb < b(); ++bb) n += n1 * s1_of(bb) * s2_of(bb);
    return n;
  }
};

struct Problem {
  std::string label;
  Shape shape;
  FlashAttentionScoreRefInputs in;
  FlashAttentionScoreAttrs attrs;
  HostTensor dy;
  std::mt19937 gen;
};

int64_t total(const std::vector<int64_t>& v) {
  int64_t t = 0;
  for (int64_t x : v) t += x;
  return t;
}

std::vector<int64_t> cumulative(const std::vector<int64_t>& v) {
  std::vector<int64_t> ends;
  int64_t acc = 0;
  for (int64_t x : v) ends.push_back(acc += x);
  return ends;
}

std::vector<int64_t> layout_shape(const std::string& layout, int64_t batch, int64_t heads, int64_t seq, int64_t dim) {
  if (layout == "BSH") return {batch, seq, heads * dim};
  if (layout == "SBH") return {seq, batch, heads * dim};
  if (layout == "BSND") return {batch, seq, heads, dim};
  if (layout == "BNSD") return {batch, heads, seq, dim};
  return {seq, heads, dim};  // TND: seq is T
}

// Random q, k, v, dy in the layout (each value is just a number: the layout only fixes the shape), a random scale.
Problem build(const std::string& label, const Shape& s) {
  Problem p{label, s, {}, {}, {}, std::mt19937(case_seed(label))};
  const int64_t seq1 = s.tnd() ? total(s.s1) : s.s1[0], seq2 = s.tnd() ? total(s.s2) : s.s2[0];
  p.in.query = random_tensor(s.dtype, layout_shape(s.layout, s.b(), s.n1, seq1, s.dk), p.gen);
  p.in.key = random_tensor(s.dtype, layout_shape(s.layout, s.b(), s.n2, seq2, s.dk), p.gen);
  p.in.value = random_tensor(s.dtype, layout_shape(s.layout, s.b(), s.n2, seq2, s.dv), p.gen);
  p.dy = random_tensor(s.dtype, layout_shape(s.layout, s.b(), s.n1, seq1, s.dv), p.gen);
  p.attrs.input_layout = s.layout;
  p.attrs.head_num = s.n1;
  p.attrs.scale = std::uniform_real_distribution<double>(0.3, 1.0)(p.gen);
  if (s.tnd()) {
    p.attrs.actual_seq_qlen = cumulative(s.s1);
    p.attrs.actual_seq_kvlen = cumulative(s.s2);
  }
  return p;
}

// A uint8 mask of `shape` (last dim S2) with about 40% of its elements masked, but never column `keep_col(row)` of
// any row (nor column 0), so that no row is fully masked.
HostTensor random_mask(const std::vector<int64_t>& shape, std::mt19937& gen, int64_t rows_per_matrix) {
  HostTensor m{DType::kUInt8, shape, {}};
  std::bernoulli_distribution masked(0.4);
  m.values.resize(m.numel());
  const int64_t cols = shape.back();
  for (int64_t e = 0; e < m.numel(); ++e) {
    const int64_t row = (e / cols) % rows_per_matrix, col = e % cols;
    m.values[e] = (col == 0 || col == std::min(row, cols - 1)) ? 0.0 : masked(gen) ? 1.0 : 0.0;
  }
  return m;
}

// The compressed masks of the band modes: [2048, 2048] upper triangle (mode 6: [3072, 2048]). The reference takes
// the rule from sparse_mode and never reads their elements; they are built as Ascend's caller would pass them.
HostTensor compressed_mask(int64_t rows = 2048) {
  HostTensor m{DType::kUInt8, {rows, 2048}, {}};
  m.values.resize(m.numel());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < 2048; ++j) m.values[i * 2048 + j] = j > i % 2048 ? 1.0 : 0.0;
  return m;
}

HostTensor random_drop_mask(int64_t numels, double keep, std::mt19937& gen) {
  HostTensor m{DType::kUInt8, {(numels + 7) / 8}, {}};
  m.values.assign(m.numel(), 0.0);
  std::bernoulli_distribution kept(keep);
  for (int64_t k = 0; k < numels; ++k)
    if (kept(gen)) m.values[k >> 3] += static_cast<double>(1 << (k & 7));
  return m;
}

double loss(const Problem& p) {
  const FlashAttentionScoreRefOutputs out = flash_attention_score(p.in, p.attrs, Precision::kUnroundedP);
  double l = 0;
  for (size_t e = 0; e < out.attention_out.values.size(); ++e) l += p.dy.values[e] * out.attention_out.values[e];
  return l;
}

// The backward's inputs from a forward run of the same problem (`forward_precision`); attention_in rounded to the
// input dtype with CAST_ROUND when `round_out`, as the operator's output is.
FlashAttentionScoreGradRefInputs grad_inputs(const Problem& p, Precision forward_precision = Precision::kUnroundedP,
                                             bool round_out = false) {
  FlashAttentionScoreRefOutputs fwd = flash_attention_score(p.in, p.attrs, forward_precision);
  if (round_out)
    for (double& o : fwd.attention_out.values) o = round_ties_away(p.shape.dtype, o);
  FlashAttentionScoreGradRefInputs g;
  g.query = p.in.query;
  g.key = p.in.key;
  g.value = p.in.value;
  g.dy = p.dy;
  g.attention_in = fwd.attention_out;
  g.softmax_max = fwd.softmax_max;
  g.softmax_sum = fwd.softmax_sum;
  g.pse = p.in.pse;
  g.drop_mask = p.in.drop_mask;
  g.atten_mask = p.in.atten_mask;
  return g;
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

constexpr double kStep = 1e-5;
constexpr double kRelTol = 1e-6;

// The central difference of L for every element of `x` (a tensor of p.in), against `grad` + `offset` (what the
// formulas give beyond the true derivative; empty: nothing). The gradient must not be trivially 0.
void expect_fd(Problem& p, HostTensor& x, const HostTensor& grad, const char* name,
               const std::vector<double>& offset = {}) {
  SCOPED_TRACE(name);
  ASSERT_EQ(grad.shape, x.shape);
  ASSERT_EQ(grad.values.size(), x.values.size());
  std::vector<double> fd(x.values.size());
  for (size_t e = 0; e < x.values.size(); ++e) {
    const double v = x.values[e];
    x.values[e] = v + kStep;
    const double up = loss(p);
    x.values[e] = v - kStep;
    const double down = loss(p);
    x.values[e] = v;
    fd[e] = (up - down) / (2 * kStep);
  }
  const double magnitude = std::max(max_abs(fd), max_abs(grad.values));
  ASSERT_GT(magnitude, 1e-4) << "the gradient is trivially 0: the case checks nothing";
  int failures = 0;
  for (size_t e = 0; e < fd.size() && failures < 5; ++e) {
    const double want = fd[e] + (offset.empty() ? 0.0 : offset[e]);
    if (!(std::fabs(grad.values[e] - want) <= kRelTol * magnitude)) {
      ADD_FAILURE() << name << "[" << e << "] = " << grad.values[e] << ", finite difference " << fd[e]
                    << (offset.empty() ? "" : " + offset " + std::to_string(offset[e])) << " (scale " << magnitude
                    << ")";
      ++failures;
    }
  }
}

bool pse_has_gradient(const Problem& p) { return p.in.pse && p.attrs.pse_type <= 1; }

// Every gradient of the problem against finite differences; dpse for pse_type 0/1, and none otherwise.
void check_fd(Problem& p) {
  SCOPED_TRACE(seed_note(p.label));
  const FlashAttentionScoreGradRefOutputs g =
      flash_attention_score_grad(grad_inputs(p), p.attrs, GradPrecision::kExact);
  expect_fd(p, p.in.query, g.dq, "dq");
  expect_fd(p, p.in.key, g.dk, "dk");
  expect_fd(p, p.in.value, g.dv, "dv");
  if (pse_has_gradient(p)) {
    ASSERT_TRUE(g.dpse.has_value());
    expect_fd(p, *p.in.pse, *g.dpse, "dpse");
  } else {
    EXPECT_FALSE(g.dpse.has_value());
  }
}

TEST(FaGradRef, FiniteDifferencesEveryLayoutGqaAndDvBelowDk) {
  for (const std::string layout : {"BSH", "SBH", "BSND", "BNSD", "TND"})
    for (int64_t group : {1, 2, 4}) {
      Shape s;
      s.layout = layout;
      s.n2 = group == 4 ? 1 : 2;
      s.n1 = s.n2 * group;
      s.dk = 4;
      s.dv = group == 2 ? 4 : 3;  // Dv == Dk once, Dv < Dk otherwise
      if (s.tnd()) {
        s.s1 = {3, 5, 2};
        s.s2 = {4, 2, 6};
      } else {
        s.s1 = {group == 1 ? 6 : 3};
        s.s2 = {5};
      }
      Problem p = build(layout + " G=" + std::to_string(group), s);
      check_fd(p);
    }
}

TEST(FaGradRef, FiniteDifferencesDenseSparseModes) {
  struct Mode {
    int64_t mode, s1, s2, pre, next;
    int mask_form;  // explicit masks: 0 [B,N1,S1,S2], 1 [B,1,S1,S2], 2 [1,1,S1,S2], 3 [S1,S2]; -1 compressed
  };
  const int64_t inf = 2147483647;
  const std::vector<Mode> modes = {
      {0, 5, 6, inf, inf, 0}, {0, 5, 6, inf, inf, 1}, {0, 6, 4, inf, inf, 2},
      {0, 4, 4, inf, inf, 3}, {0, 5, 7, 1, 2, 0},  // a band in left-up origin, with the mask
      {1, 4, 6, 0, 0, 3},                          // mode 1: the tensor alone, pre/next ignored
      {2, 5, 6, 0, 0, -1},                         // left-up causal
      {3, 4, 6, 0, 0, -1},                         // right-down causal, S1 < S2
      {3, 6, 4, 0, 0, -1},                         // S1 > S2: the first rows see nothing (invalid rows, O = 0)
      {4, 5, 6, 1, 0, -1},                         // band in right-down origin
      {4, 6, 5, 2, -1, -1},   {5, 4, 6, 0, 0, 3},  // prefix with the full mask
      {6, 5, 6, 0, 0, -1}};                        // prefix with the compressed 3072 x 2048 mask
  for (const Mode& m : modes) {
    Shape s;
    s.s1 = {m.s1};
    s.s2 = {m.s2};
    s.n1 = 2;
    s.n2 = 1;
    Problem p = build("mode " + std::to_string(m.mode) + " S1 " + std::to_string(m.s1) + " S2 " + std::to_string(m.s2) +
                          " pre " + std::to_string(m.pre) + " next " + std::to_string(m.next) + " form " +
                          std::to_string(m.mask_form),
                      s);
    p.attrs.sparse_mode = m.mode;
    p.attrs.pre_tokens = m.pre;
    p.attrs.next_tokens = m.next;
    if (m.mode == 5 || m.mode == 6) p.attrs.prefix = {2, 3};
    if (m.mask_form < 0) {
      p.in.atten_mask = compressed_mask(m.mode == 6 ? 3072 : 2048);
    } else {
      const std::vector<std::vector<int64_t>> shapes = {
          {s.batch, s.n1, m.s1, m.s2}, {s.batch, 1, m.s1, m.s2}, {1, 1, m.s1, m.s2}, {m.s1, m.s2}};
      p.in.atten_mask = random_mask(shapes[m.mask_form], p.gen, m.s1);
    }
    check_fd(p);
  }
}

TEST(FaGradRef, FiniteDifferencesTndSparseModesAndZeroLengthBatches) {
  struct Mode {
    int64_t mode, next;
    std::vector<int64_t> s1, s2;
    std::string softmax_layout;
  };
  const int64_t inf = 2147483647;
  const std::vector<Mode> modes = {
      {-1, inf, {3, 0, 4, 2}, {4, 3, 0, 5}, ""},  // no mask; a batch without queries, one without keys
      {-1, inf, {3, 0, 4, 2}, {4, 3, 0, 5}, "TND"},
      {0, inf, {3, 5, 2}, {4, 2, 6}, ""},  // explicit [maxS1, maxS2] mask
      {0, inf, {3, 5, 2}, {4, 2, 6}, "TND"},
      {3, 0, {3, 2, 4}, {5, 2, 4}, ""},            // right-down causal per batch, S1 != S2
      {3, 0, {3, 5, 1}, {5, 3, 4}, "TND"},         // S1 > S2 in a batch: its first rows are invalid
      {6, 0, {3, 2, 4}, {5, 4, 4}, ""},            // prefix
      {7, 1, {3, 0, 4, 2}, {5, 2, 4, 3}, ""},      // band on the last batch with queries
      {8, 1, {0, 3, 4, 2}, {2, 5, 4, 3}, "TND"}};  // band on the first batch with queries
  for (const Mode& m : modes) {
    Shape s;
    s.layout = "TND";
    s.s1 = m.s1;
    s.s2 = m.s2;
    s.n1 = 2;
    s.n2 = 1;
    Problem p = build("TND mode " + std::to_string(m.mode) + " softmax_layout '" + m.softmax_layout + "' S1 " +
                          std::to_string(m.s1[0]) + " S2 " + std::to_string(m.s2[0]),
                      s);
    p.attrs.softmax_layout = m.softmax_layout;
    if (m.mode >= 0) {
      p.attrs.sparse_mode = m.mode;
      p.attrs.next_tokens = m.next;
      if (m.mode == 6) p.attrs.prefix = {1, 0, 2};
      p.in.atten_mask = m.mode == 0 ? random_mask({s.max_s1(), s.max_s2()}, p.gen, s.max_s1())
                                    : compressed_mask(m.mode == 6 ? 3072 : 2048);
    }
    check_fd(p);
  }
}

HostTensor random_pse(std::vector<int64_t> shape, std::mt19937& gen) {
  return random_tensor(DType::kFloat32, std::move(shape), gen);
}

TEST(FaGradRef, FiniteDifferencesEveryPseForm) {
  for (int64_t type : {0, 1}) {
    // Dense forms: [B,N1,S1,S2], [1,N1,S1,S2], [B,N1,1,S2], [1,N1,1,S2]; with a mask and GQA.
    for (int form = 0; form < 4; ++form) {
      Shape s;
      s.s1 = {4};
      s.s2 = {5};
      s.n1 = 2;
      s.n2 = form % 2 ? 1 : 2;
      Problem p = build("pse type " + std::to_string(type) + " dense form " + std::to_string(form), s);
      p.attrs.pse_type = type;
      p.in.pse = random_pse({form % 2 ? 1 : s.batch, s.n1, form >= 2 ? 1 : 4, 5}, p.gen);
      if (form == 1) p.in.atten_mask = random_mask({4, 5}, p.gen, 4);
      check_fd(p);
    }
    // TND packed forms: [N1·ΣS2_b] (rows broadcast) and [N1·ΣS1_b·S2_b].
    for (bool rows_form : {true, false}) {
      Shape s;
      s.layout = "TND";
      s.s1 = {3, 1, 4};
      s.s2 = {2, 5, 3};
      Problem p = build("pse type " + std::to_string(type) + (rows_form ? " TND BN1S" : " TND BNSS"), s);
      p.attrs.pse_type = type;
      int64_t n = 0;
      for (int64_t b = 0; b < s.b(); ++b) n += s.n1 * s.s2[b] * (rows_form ? 1 : s.s1[b]);
      p.in.pse = random_pse({n}, p.gen);
      check_fd(p);
    }
    // TND ALiBi-compressed [1, N1, 1024, maxS2]: needs equal lengths and a causal rule, not S >= 1024.
    {
      Shape s;
      s.layout = "TND";
      s.s1 = {4, 3};
      s.s2 = {4, 3};
      Problem p = build("pse type " + std::to_string(type) + " TND compressed", s);
      p.attrs.pse_type = type;
      p.attrs.sparse_mode = 3;
      p.in.atten_mask = compressed_mask();
      p.in.pse = random_pse({1, s.n1, 1024, 4}, p.gen);
      check_fd(p);
    }
  }
  // ALiBi of types 2/3 (slopes [N1] or [B,N1], with start indices): dq, dk, dv only; there is no dslope.
  for (int64_t type : {2, 3})
    for (bool per_batch : {false, true})
      for (const std::string layout : {"BNSD", "TND"}) {
        Shape s;
        s.layout = layout;
        s.s1 = s.s2 = layout == "TND" ? std::vector<int64_t>{3, 5} : std::vector<int64_t>{5};
        Problem p = build("pse type " + std::to_string(type) + (per_batch ? " [B,N1] " : " [N1] ") + layout, s);
        p.attrs.pse_type = type;
        p.in.pse =
            random_tensor(DType::kFloat32, per_batch ? std::vector<int64_t>{s.b(), s.n1} : std::vector<int64_t>{s.n1},
                          p.gen, 0.1, 1.0);
        p.attrs.q_start_idx = {2};
        p.attrs.kv_start_idx = {1};
        check_fd(p);
      }
}

TEST(FaGradRef, FiniteDifferencesDropout) {
  for (bool generator : {false, true})
    for (const std::string layout : {"BSND", "TND"}) {
      Shape s;
      s.layout = layout;
      s.n1 = 4;
      s.n2 = 2;
      if (layout == "TND") {
        s.s1 = {3, 4};
        s.s2 = {5, 2};
      } else {
        s.s1 = {4};
        s.s2 = {6};
      }
      Problem p = build(std::string(generator ? "dropout generator " : "dropout drop_mask ") + layout, s);
      p.attrs.keep_prob = generator ? 0.6 : 0.75;
      if (generator) {
        p.attrs.seed = std::uniform_int_distribution<int64_t>(0, 1 << 30)(p.gen);
        p.attrs.offset = 16 * std::uniform_int_distribution<int64_t>(0, 100)(p.gen);
      } else {
        p.in.drop_mask = random_drop_mask(s.numels(), p.attrs.keep_prob, p.gen);
      }
      p.attrs.pse_type = 0;  // with a pse and a mask, so dropout meets everything else
      p.in.pse = layout == "TND" ? random_pse({s.n1 * 7}, p.gen) : random_pse({s.batch, s.n1, 1, 6}, p.gen);
      if (layout == "BSND") p.in.atten_mask = random_mask({4, 6}, p.gen, 4);
      check_fd(p);
    }
}

// A [1,1,S1,S2] mask with row `full` fully masked and partial masks elsewhere, pse_type 0, GQA 2.
Problem fully_masked_problem(const std::string& label, int64_t full) {
  Shape s;
  s.batch = 1;
  s.n1 = 2;
  s.n2 = 1;
  s.s1 = {4};
  s.s2 = {5};
  Problem p = build(label, s);
  p.in.atten_mask = random_mask({1, 1, 4, 5}, p.gen, 4);
  for (int64_t j = 0; j < 5; ++j) p.in.atten_mask->values[full * 5 + j] = 1.0;
  p.attrs.pse_type = 0;
  p.in.pse = random_pse({1, s.n1, 4, 5}, p.gen);
  return p;
}

// Without invalid-line mode (inner_precise 0) the forward writes a fully masked row as the plain softmax of n equal
// scores −FLT_MAX: max −FLT_MAX, sum n, O = mean of v. That O is constant in q, k and pse, so the true gradient of
// the row reaches only dv. The backward (like Ascend's kernel, semantics §4.3) rebuilds P = 1/n from the given
// max/sum and gets dS_j = (dy·v_j − dy·O)/n ≠ 0, which also reaches dq, dk and dpse: by exactly these terms, which the
// test states on its own. dv is the true derivative.
TEST(FaGradRef, FullyMaskedRowWithoutInvalidLineModeMatchesTheKernelFormula) {
  const int64_t full = 1, s1 = 4, s2 = 5, dk = 4, dv = 3, n1 = 2;
  Problem p = fully_masked_problem("fully masked row, inner_precise 0", full);
  SCOPED_TRACE(seed_note(p.label));
  const FlashAttentionScoreGradRefInputs in = grad_inputs(p);
  ASSERT_EQ(in.softmax_max.values[(0 * s1 + full) * 8], -FLT_MAX);
  ASSERT_EQ(in.softmax_sum.values[(0 * s1 + full) * 8], static_cast<double>(s2));
  const FlashAttentionScoreGradRefOutputs g = flash_attention_score_grad(in, p.attrs, GradPrecision::kExact);
  std::vector<double> dq_offset(g.dq.values.size(), 0.0), dk_offset(g.dk.values.size(), 0.0),
      dpse_offset(g.dpse->values.size(), 0.0);
  const auto& q = p.in.query.values;
  const auto& k = p.in.key.values;
  const auto& v = p.in.value.values;
  for (int64_t n = 0; n < n1; ++n) {
    const double* dy = p.dy.values.data() + (n * s1 + full) * dv;  // BNSD, B = 1, N2 = 1
    std::vector<double> mean(dv, 0.0), dp(s2, 0.0);
    for (int64_t j = 0; j < s2; ++j)
      for (int64_t d = 0; d < dv; ++d) {
        mean[d] += v[j * dv + d] / s2;
        dp[j] += dy[d] * v[j * dv + d];
      }
    double dr = 0;
    for (int64_t d = 0; d < dv; ++d) dr += dy[d] * mean[d];
    for (int64_t j = 0; j < s2; ++j) {
      const double ds = (dp[j] - dr) / s2;
      for (int64_t d = 0; d < dk; ++d) {
        dq_offset[(n * s1 + full) * dk + d] += p.attrs.scale * ds * k[j * dk + d];
        dk_offset[j * dk + d] += p.attrs.scale * ds * q[(n * s1 + full) * dk + d];
      }
      dpse_offset[(n * s1 + full) * s2 + j] = ds;
    }
  }
  ASSERT_GT(max_abs(dq_offset), 1e-3) << "the row's dS should not vanish";
  expect_fd(p, p.in.query, g.dq, "dq", dq_offset);
  expect_fd(p, p.in.key, g.dk, "dk", dk_offset);
  expect_fd(p, p.in.value, g.dv, "dv");
  expect_fd(p, *p.in.pse, *g.dpse, "dpse", dpse_offset);
}

// With invalid-line mode (inner_precise 2) the forward writes the row as max −FLT_MAX, sum FLT_MAX, O = 0: a constant,
// so its true gradient is 0 everywhere. The backward's P = exp(0)/FLT_MAX ≈ 2.9e−39 leaves only terms of that size:
// every gradient matches the finite differences, and the row's dq is 0 up to subnormals.
TEST(FaGradRef, FullyMaskedRowWithInvalidLineModeHasZeroGradient) {
  const int64_t full = 2, s1 = 4, dk = 4;
  Problem p = fully_masked_problem("fully masked row, inner_precise 2", full);
  p.attrs.inner_precise = 2;
  SCOPED_TRACE(seed_note(p.label));
  const FlashAttentionScoreGradRefInputs in = grad_inputs(p);
  ASSERT_EQ(in.softmax_max.values[(1 * s1 + full) * 8], -FLT_MAX);
  ASSERT_EQ(in.softmax_sum.values[(1 * s1 + full) * 8], FLT_MAX);
  const FlashAttentionScoreGradRefOutputs g = flash_attention_score_grad(in, p.attrs, GradPrecision::kExact);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t d = 0; d < dk; ++d) EXPECT_LT(std::fabs(g.dq.values[(n * s1 + full) * dk + d]), 1e-37);
  check_fd(p);
}

// The non-TND ALiBi-compressed pse needs S > 1024, too large for finite differences: its dpse must be the sum, over
// every score, of the dS that a full [dim0, N1, S, S] pse with the same values (the same forward) gets per element,
// gathered through Ascend's read-back (row i >= S − 1024 as is, earlier rows on their diagonal in row i % 1024).
TEST(FaGradRef, CompressedAlibiDpseSumsTheScoresThatReadEachElement) {
  const int64_t s = 1030, thr = s - 1024, n1 = 2;
  for (int64_t type : {0, 1})
    for (int64_t dim0 : {1, 2}) {
      Shape sh;
      sh.batch = 2;
      sh.n1 = n1;
      sh.n2 = 1;
      sh.s1 = sh.s2 = {s};
      sh.dk = sh.dv = 2;
      Problem p = build("compressed pse type " + std::to_string(type) + " dim0 " + std::to_string(dim0), sh);
      SCOPED_TRACE(seed_note(p.label));
      p.attrs.pse_type = type;
      p.attrs.sparse_mode = 2;
      p.in.atten_mask = compressed_mask();
      p.in.pse = random_pse({dim0, n1, 1024, s}, p.gen);
      auto source = [&](int64_t b, int64_t n, int64_t i, int64_t j) {  // the compressed element of score (i, j <= i)
        const int64_t m = i >= thr ? i - thr : i % 1024, k = i >= thr ? j : s - (i - j) - (1024 - m);
        return ((b * n1 + n) * 1024 + m) * s + k;
      };
      HostTensor full{DType::kFloat32, {dim0, n1, s, s}, std::vector<double>(dim0 * n1 * s * s, 0.0)};
      for (int64_t b = 0; b < dim0; ++b)
        for (int64_t n = 0; n < n1; ++n)
          for (int64_t i = 0; i < s; ++i)
            for (int64_t j = 0; j <= i; ++j)
              full.values[((b * n1 + n) * s + i) * s + j] = p.in.pse->values[source(b, n, i, j)];
      const FlashAttentionScoreGradRefInputs compressed_in = grad_inputs(p);
      FlashAttentionScoreGradRefInputs full_in = compressed_in;
      full_in.pse = full;
      const auto gc = flash_attention_score_grad(compressed_in, p.attrs, GradPrecision::kExact);
      const auto gf = flash_attention_score_grad(full_in, p.attrs, GradPrecision::kExact);
      EXPECT_EQ(gc.dq.values, gf.dq.values);
      EXPECT_EQ(gc.dk.values, gf.dk.values);
      EXPECT_EQ(gc.dv.values, gf.dv.values);
      std::vector<double> want(p.in.pse->values.size(), 0.0);
      for (int64_t b = 0; b < dim0; ++b)
        for (int64_t n = 0; n < n1; ++n)
          for (int64_t i = 0; i < s; ++i)
            for (int64_t j = 0; j <= i; ++j)
              want[source(b, n, i, j)] += gf.dpse->values[((b * n1 + n) * s + i) * s + j];
      ASSERT_TRUE(gc.dpse.has_value());
      ASSERT_EQ(gc.dpse->shape, p.in.pse->shape);
      const double magnitude = max_abs(want);
      ASSERT_GT(magnitude, 1e-4);
      for (size_t e = 0; e < want.size(); ++e)
        ASSERT_NEAR(gc.dpse->values[e], want[e], 1e-12 * magnitude) << "element " << e;
    }
}

// A problem with everything at once (GQA, mask, pse, dropout) in `dtype`.
Problem mixed_problem(const std::string& label, DType dtype) {
  Shape s;
  s.dtype = dtype;
  s.n1 = 4;
  s.n2 = 2;
  s.s1 = {7};
  s.s2 = {9};
  s.dk = 8;
  s.dv = 6;
  Problem p = build(label, s);
  p.attrs.pse_type = 1;
  p.in.pse = random_tensor(dtype, {s.batch, s.n1, 7, 9}, p.gen);
  p.in.atten_mask = random_mask({7, 9}, p.gen, 7);
  p.attrs.keep_prob = 0.8;
  p.in.drop_mask = random_drop_mask(s.numels(), 0.8, p.gen);
  return p;
}

TEST(FaGradRef, AscendEqualsExactForFp32) {
  Problem p = mixed_problem("fp32 kAscend == kExact", DType::kFloat32);
  SCOPED_TRACE(seed_note(p.label));
  const FlashAttentionScoreGradRefInputs in = grad_inputs(p, Precision::kFloat64);
  const auto a = flash_attention_score_grad(in, p.attrs, GradPrecision::kAscend);
  const auto e = flash_attention_score_grad(in, p.attrs, GradPrecision::kExact);
  EXPECT_EQ(a.dq.values, e.dq.values);
  EXPECT_EQ(a.dk.values, e.dk.values);
  EXPECT_EQ(a.dv.values, e.dv.values);
  ASSERT_TRUE(a.dpse && e.dpse);
  EXPECT_EQ(a.dpse->values, e.dpse->values);
  EXPECT_GT(max_abs(a.dq.values), 0.0);
}

// For fp16/bf16, kAscend rounds dS (dq, dk) and the dropped P (dv) to the dtype: each product then moves by at most
// u = 2^-(mantissa bits + 1) of its size (plus the fp16 subnormal step), so the outputs differ from kExact by at most
// u times their sums of |terms|, and by a visible fraction of that. dpse takes the unrounded dS: equal.
TEST(FaGradRef, AscendRoundsPAndDsForHalfTypes) {
  for (DType dtype : {DType::kBFloat16, DType::kFloat16}) {
    const bool bf16 = dtype == DType::kBFloat16;
    Problem p = mixed_problem(bf16 ? "bf16 rounding" : "fp16 rounding", dtype);
    SCOPED_TRACE(seed_note(p.label));
    const FlashAttentionScoreGradRefInputs in = grad_inputs(p, Precision::kFloat64, true);
    const auto a = flash_attention_score_grad(in, p.attrs, GradPrecision::kAscend);
    const auto e = flash_attention_score_grad(in, p.attrs, GradPrecision::kExact);
    const double u = bf16 ? 0x1p-8 : 0x1p-11, subnormal = bf16 ? 0.0 : 0x1p-25;
    auto check = [&](const HostTensor& x, const HostTensor& y, double terms, double factor, int64_t length,
                     const char* name) {
      SCOPED_TRACE(name);
      double diff = 0;
      for (size_t i = 0; i < x.values.size(); ++i) diff = std::max(diff, std::fabs(x.values[i] - y.values[i]));
      EXPECT_GT(diff, 1e-3 * u * terms) << "kAscend should round";
      EXPECT_LE(diff, u * terms + subnormal * factor * static_cast<double>(length)) << "more than one rounding";
    };
    const double scale = std::fabs(p.attrs.scale);
    const double max_qk = std::max(max_abs(p.in.query.values), max_abs(p.in.key.values));
    check(a.dq, e.dq, e.stats.max_dq_terms, scale * max_qk, e.stats.max_row_keys, "dq");
    check(a.dk, e.dk, e.stats.max_dk_terms, scale * max_qk, e.stats.max_key_rows, "dk");
    check(a.dv, e.dv, e.stats.max_dv_terms, max_abs(p.dy.values), e.stats.max_key_rows, "dv");
    ASSERT_TRUE(a.dpse && e.dpse);
    EXPECT_EQ(a.dpse->values, e.dpse->values);
  }
}

// One score (S1 = S2 = 1, D = 1), scale 1, q = k = 1, softmax_max = x: P = 1/softmax_sum. With attention_in chosen
// freely (it is an input), dS = P·(dy·v − dy·o) and Pd = P land exactly halfway between two fp16/bf16 values;
// CAST_ROUND takes the one away from zero, ties-to-even would take the even one.
TEST(FaGradRef, RoundsTiesAwayFromZero) {
  for (DType dtype : {DType::kBFloat16, DType::kFloat16})
    for (double sign : {1.0, -1.0}) {
      const double ulp = dtype == DType::kBFloat16 ? 0x1p-7 : 0x1p-10;  // at 1
      SCOPED_TRACE(std::string(dtype == DType::kBFloat16 ? "bf16" : "fp16") + (sign > 0 ? " +" : " -"));
      FlashAttentionScoreAttrs attrs;
      attrs.input_layout = "BNSD";
      attrs.head_num = 1;
      attrs.scale = 1.0;
      auto one = [&](double x, std::vector<int64_t> shape = {1, 1, 1, 1}) { return HostTensor{dtype, shape, {x}}; };
      FlashAttentionScoreGradRefInputs in;
      in.query = one(1.0);
      in.key = one(1.0);
      in.value = one(2.0);
      in.dy = one(sign);
      in.attention_in = one(1.0 - ulp / 2);  // dS = dy·v − dy·o = sign·(1 + ulp/2): a tie
      in.softmax_max = HostTensor{DType::kFloat32, {1, 1, 1, 8}, std::vector<double>(8, 1.0)};
      in.softmax_sum = HostTensor{DType::kFloat32, {1, 1, 1, 8}, std::vector<double>(8, 1.0)};
      const double tie = 1.0 + ulp / 2;
      auto a = flash_attention_score_grad(in, attrs, GradPrecision::kAscend);
      auto e = flash_attention_score_grad(in, attrs, GradPrecision::kExact);
      EXPECT_EQ(e.dq.values[0], sign * tie);
      EXPECT_EQ(a.dq.values[0], sign * (1.0 + ulp));
      EXPECT_EQ(a.dk.values[0], sign * (1.0 + ulp));
      EXPECT_EQ(a.dv.values[0], sign);  // P = 1
      // Now P itself is the tie: softmax_sum = 1/tie (1/(1/tie) == tie in double, checked), dv = Pd·dy.
      ASSERT_EQ(1.0 / (1.0 / tie), tie);
      in.softmax_sum.values.assign(8, 1.0 / tie);
      a = flash_attention_score_grad(in, attrs, GradPrecision::kAscend);
      e = flash_attention_score_grad(in, attrs, GradPrecision::kExact);
      EXPECT_EQ(e.dv.values[0], sign * tie);
      EXPECT_EQ(a.dv.values[0], sign * (1.0 + ulp));
    }
}

// P comes from the given softmax_max/softmax_sum (lane 0), never recomputed: a doubled sum halves P, hence dS (Dr
// comes from attention_in, unchanged) and every gradient, exactly; lanes 1..7 are not read.
TEST(FaGradRef, RebuildsPFromTheGivenSoftmaxStatistics) {
  for (const std::string layout : {"BSH", "TND"}) {
    Shape s;
    s.layout = layout;
    if (layout == "TND") {
      s.s1 = {3, 4};
      s.s2 = {5, 2};
    }
    Problem p = build("given statistics " + layout, s);
    SCOPED_TRACE(seed_note(p.label));
    p.attrs.softmax_layout = layout == "TND" ? "TND" : "";
    FlashAttentionScoreGradRefInputs in = grad_inputs(p);
    const auto g = flash_attention_score_grad(in, p.attrs, GradPrecision::kExact);
    for (size_t e = 0; e < in.softmax_sum.values.size(); ++e) {
      in.softmax_sum.values[e] = e % 8 == 0 ? 2 * in.softmax_sum.values[e] : std::nan("");
      if (e % 8 != 0) in.softmax_max.values[e] = std::nan("");
    }
    const auto h = flash_attention_score_grad(in, p.attrs, GradPrecision::kExact);
    for (size_t e = 0; e < g.dq.values.size(); ++e) ASSERT_EQ(h.dq.values[e], g.dq.values[e] / 2) << "dq " << e;
    for (size_t e = 0; e < g.dk.values.size(); ++e) ASSERT_EQ(h.dk.values[e], g.dk.values[e] / 2) << "dk " << e;
    for (size_t e = 0; e < g.dv.values.size(); ++e) ASSERT_EQ(h.dv.values[e], g.dv.values[e] / 2) << "dv " << e;
  }
}

// Dr is rowsum(dy ∘ attention_in), read from the given attention_in, not rowsum(P ∘ dP') (semantics §4.1): with
// identical keys P is uniform, Σ_j dS_ij = dy_i·O_i − dy_i·attention_in_i, and dq_i = scale·(that sum)·k. Feeding
// attention_in = 2·O gives dq_i = −scale·(dy_i·O_i)·k, where the golden's Dr would give 0.
TEST(FaGradRef, ReadsDrFromAttentionIn) {
  Shape s;
  s.batch = 1;
  s.n1 = s.n2 = 1;
  Problem p = build("Dr from attention_in", s);
  SCOPED_TRACE(seed_note(p.label));
  for (int64_t j = 1; j < s.s2[0]; ++j) std::copy_n(p.in.key.values.begin(), s.dk, p.in.key.values.begin() + j * s.dk);
  FlashAttentionScoreGradRefInputs in = grad_inputs(p);
  const std::vector<double> o = in.attention_in.values;
  for (double& x : in.attention_in.values) x *= 2;
  const auto g = flash_attention_score_grad(in, p.attrs, GradPrecision::kExact);
  double magnitude = 0;
  for (int64_t i = 0; i < s.s1[0]; ++i) {
    double dr = 0;
    for (int64_t d = 0; d < s.dv; ++d) dr += p.dy.values[i * s.dv + d] * o[i * s.dv + d];
    for (int64_t d = 0; d < s.dk; ++d) {
      const double want = -p.attrs.scale * dr * p.in.key.values[d];
      magnitude = std::max(magnitude, std::fabs(want));
      EXPECT_NEAR(g.dq.values[i * s.dk + d], want, 1e-12) << "row " << i << " d " << d;
    }
  }
  EXPECT_GT(magnitude, 1e-4);
}

void expect_rejected(const FlashAttentionScoreGradRefInputs& in, const FlashAttentionScoreAttrs& attrs,
                     const char* what) {
  try {
    flash_attention_score_grad(in, attrs);
    ADD_FAILURE() << what << ": accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid) << what << ": " << e.what();
  }
}

TEST(FaGradRef, RejectsInputsItCannotIndex) {
  Problem p = build("rejections", Shape{});
  const FlashAttentionScoreGradRefInputs good = grad_inputs(p);
  EXPECT_NO_THROW(flash_attention_score_grad(good, p.attrs));
  FlashAttentionScoreGradRefInputs in = good;
  in.dy.shape[3] = 4;
  expect_rejected(in, p.attrs, "dy with Dk instead of Dv");
  in = good;
  in.attention_in.values.pop_back();
  expect_rejected(in, p.attrs, "attention_in short of values");
  in = good;
  in.softmax_max.shape[3] = 1;
  expect_rejected(in, p.attrs, "softmax_max without its 8 lanes");
  in = good;
  in.softmax_sum.shape = {2, 2, 4 * 8};
  expect_rejected(in, p.attrs, "softmax_sum of rank 3");
  in = good;
  p.attrs.pse_type = 2;
  expect_rejected(in, p.attrs, "pse_type 2 without slopes");
}

}  // namespace
}  // namespace cannon::reference
