// FlashAttentionScoreGrad's aclnn entry points through libcannon's exports only, as training calls them: the
// forward runs through its own aclnn entry point first and its attention_out, softmax_max and softmax_sum feed the
// backward with a fresh dy. Each entry point's dq, dk, dv must equal, bit for bit, cannon's C++ API on the same
// inputs (the shim is a thin mapping; the C++ API is checked against the float64 reference by the op tests), and one
// case is also checked here against a float64 gradient. Then the statuses and messages, dpseOut and the workspace.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "aclnn_grad_rig.hpp"

namespace aclnn_test {
namespace {

class AclnnGrad : public AclnnApi {};

// `got` holds exactly the bytes of `want`; the first difference is reported, not the whole buffer.
void expect_same_bytes(const Dev& got, const cannon::Context& ctx, const cannon::DeviceTensor& want, const char* what) {
  std::vector<uint8_t> expected(want.desc().bytes());
  cannon::download(ctx, want.view(), expected.data(), expected.size());
  const std::vector<uint8_t> bytes = got.read<uint8_t>();
  ASSERT_EQ(bytes.size(), expected.size()) << what;
  const auto at = std::mismatch(bytes.begin(), bytes.end(), expected.begin()).first;
  EXPECT_TRUE(at == bytes.end()) << what << ": byte " << (at - bytes.begin()) << " of " << bytes.size() << " differs";
}

// `form`'s forward and backward on `p` through aclnn, then the backward through the C++ API: equal bytes, and the
// workspace size phase 1 reports is the C++ plan's.
void expect_matches_cpp(Form form, const Problem& p, aclrtStream stream, const std::string& label) {
  SCOPED_TRACE(label);
  Rig rig(p);
  rig.forward(form, stream);
  uint64_t ws = 0;
  aclOpExecutor* ex = nullptr;
  ASSERT_EQ(grad_phase1(form, rig.call(form), &ws, &ex), ACLNN_SUCCESS) << message();
  run("backward", grad_phase2(form), ws, ex, stream);
  CppTensors cpp;
  EXPECT_EQ(ws, rig.cpp_plan(cpp, form).workspace_size);
  const cannon::FlashAttentionScoreGradResult want = rig.cpp_grad(cpp, form);
  expect_same_bytes(*rig.dq, cpp.ctx, want.dq, "dq");
  expect_same_bytes(*rig.dk, cpp.ctx, want.dk, "dk");
  expect_same_bytes(*rig.dv, cpp.ctx, want.dv, "dv");
}

TEST_F(AclnnGrad, ScoreGradMatchesTheCppApi) {
  expect_matches_cpp(Form::kV1, bsh_problem(), stream_, "BSH");
  Problem p;  // SBH with a pse (added before the scale), a full random mask and dropout
  p.layout = "SBH";
  p.b = 2, p.s1 = 21, p.s2 = 37, p.n1 = 2, p.n2 = 1, p.d = p.dv = 16;
  p.pse_shape = {2, 2, 21, 37};
  p.mask_shape = {2, 1, 21, 37};
  p.keep_prob = 0.8;
  expect_matches_cpp(Form::kV1, p, stream_, "SBH, pse, mask, dropout");
}

TEST_F(AclnnGrad, ScoreGradV2MatchesTheCppApi) {
  Problem p;  // BSND, S1 > S2, Dv < Dk, a [1,N1,1,S2] pse added after the scale, band sparse mode 4
  p.b = 1, p.s1 = 33, p.s2 = 19, p.n1 = 3, p.n2 = 3, p.d = 40, p.dv = 24;
  p.pse_type = 0;
  p.pse_shape = {1, 3, 1, 19};
  p.sparse_mode = 4, p.pre = 20, p.next = 3;
  p.mask_shape = {2048, 2048};
  expect_matches_cpp(Form::kV2, p, stream_, "BSND, pse_type 0, band");
  Problem a;  // BNSD fp16, ALiBi sqrt slopes with q/kv start indices, right-down causal
  a.layout = "BNSD";
  a.dtype = ACL_FLOAT16;
  a.b = 2, a.s1 = a.s2 = 27, a.n1 = 4, a.n2 = 1, a.d = a.dv = 32;
  a.pse_type = 3;
  a.pse_shape = {4};
  a.q_start = {2}, a.kv_start = {5};
  a.sparse_mode = 3;
  a.mask_shape = {2048, 2048};
  expect_matches_cpp(Form::kV2, a, stream_, "BNSD fp16, pse_type 3, causal");
}

TEST_F(AclnnGrad, UnpaddingScoreGradMatchesTheCppApi) {
  expect_matches_cpp(Form::kUnpadding, tnd_problem(), stream_, "TND, [T,N,8] statistics");
  Problem p = tnd_problem();
  p.ntd_stats = true;
  expect_matches_cpp(Form::kUnpadding, p, stream_, "TND, CANN's [N,T,8] statistics");
}

TEST_F(AclnnGrad, UnpaddingScoreGradV2MatchesTheCppApi) {
  Problem p;  // ALiBi slopes [B,N1] with start indices, left-up causal, dropout
  p.layout = "TND";
  p.cum_q = p.cum_kv = {23, 42, 65};
  p.n1 = p.n2 = 2, p.d = p.dv = 16;
  p.pse_type = 2;
  p.pse_shape = {3, 2};
  p.q_start = {1}, p.kv_start = {4};
  p.sparse_mode = 2;
  p.mask_shape = {2048, 2048};
  p.keep_prob = 0.75;
  expect_matches_cpp(Form::kUnpaddingV2, p, stream_, "TND, pse_type 2, causal, dropout");
}

TEST_F(AclnnGrad, UnpaddingScoreGradV4MatchesTheCppApi) {
  Problem p;
  p.layout = "TND";
  p.cum_q = {13, 50}, p.cum_kv = {40, 61};
  p.n1 = 3, p.n2 = 1, p.d = p.dv = 32;
  p.same_as_input = true;
  p.dtype = ACL_FLOAT16;
  expect_matches_cpp(Form::kUnpaddingV4, p, stream_, "softmaxInLayout same_as_input, fp16");
  p.same_as_input = false;
  p.dtype = ACL_FLOAT;
  p.ntd_stats = true;
  expect_matches_cpp(Form::kUnpaddingV4, p, stream_, "softmaxInLayout \"\", [N,T,8]");
}

std::vector<float> floats(const Host& h) {
  std::vector<float> f(h.bytes.size() / sizeof(float));
  std::memcpy(f.data(), h.bytes.data(), h.bytes.size());
  return f;
}

// The float64 gradient of a dense fp32 BSH (or BSND) problem without options, and per element the sum of its terms'
// magnitudes, dS's counted as P·(|dP| + |Dr|) because dS = P·(dP − Dr) may cancel.
struct Float64Grad {
  std::vector<double> dq, dk, dv, terms_q, terms_k, terms_v;
};

Float64Grad float64_grad(const Problem& p, const Rig& rig) {
  const std::vector<float> q = floats(rig.q), k = floats(rig.k), v = floats(rig.v), dy = floats(rig.dy);
  const int64_t d = p.d, group = p.n1 / p.n2;
  auto at = [&](int64_t b, int64_t s, int64_t n, int64_t seq, int64_t heads) {
    return ((b * seq + s) * heads + n) * d;
  };
  Float64Grad g{std::vector<double>(q.size()), std::vector<double>(k.size()), std::vector<double>(k.size()),
                std::vector<double>(q.size()), std::vector<double>(k.size()), std::vector<double>(k.size())};
  std::vector<double> x(p.s2), dp(p.s2);
  for (int64_t b = 0; b < p.b; ++b) {
    for (int64_t n = 0; n < p.n1; ++n) {
      for (int64_t i = 0; i < p.s1; ++i) {
        const int64_t qi = at(b, i, n, p.s1, p.n1);
        double m = -INFINITY, l = 0, dr = 0;
        for (int64_t j = 0; j < p.s2; ++j) {
          const int64_t kj = at(b, j, n / group, p.s2, p.n2);
          x[j] = dp[j] = 0;
          for (int64_t e = 0; e < d; ++e) {
            x[j] += double(q[qi + e]) * k[kj + e] * p.scale;
            dp[j] += double(dy[qi + e]) * v[kj + e];
          }
          m = std::max(m, x[j]);
        }
        for (int64_t j = 0; j < p.s2; ++j) l += std::exp(x[j] - m);
        for (int64_t j = 0; j < p.s2; ++j) {  // Dr = rowsum(dy ∘ O)
          const int64_t kj = at(b, j, n / group, p.s2, p.n2);
          for (int64_t e = 0; e < d; ++e) dr += std::exp(x[j] - m) / l * v[kj + e] * dy[qi + e];
        }
        for (int64_t j = 0; j < p.s2; ++j) {
          const int64_t kj = at(b, j, n / group, p.s2, p.n2);
          const double pij = std::exp(x[j] - m) / l, ds = pij * (dp[j] - dr);
          const double ds_terms = pij * (std::fabs(dp[j]) + std::fabs(dr));
          for (int64_t e = 0; e < d; ++e) {
            g.dq[qi + e] += p.scale * ds * k[kj + e];
            g.dk[kj + e] += p.scale * ds * q[qi + e];
            g.dv[kj + e] += pij * dy[qi + e];
            g.terms_q[qi + e] += p.scale * ds_terms * std::fabs(k[kj + e]);
            g.terms_k[kj + e] += p.scale * ds_terms * std::fabs(q[qi + e]);
            g.terms_v[kj + e] += pij * std::fabs(dy[qi + e]);
          }
        }
      }
    }
  }
  return g;
}

// Every element of `got` within what fp32 arithmetic can achieve: (2D + 32 + 4·sqrt(sum length))·2^-24 times the
// sum of its terms' magnitudes (the rule of tolerance() in tests/ops/fa_grad_test.cpp).
void expect_near(const Dev& got, const std::vector<double>& want, const std::vector<double>& terms, int64_t head_dim,
                 int64_t length, const char* what) {
  const std::vector<float> g = got.read<float>();
  ASSERT_EQ(g.size(), want.size()) << what;
  const double factor = (2.0 * head_dim + 32 + 4 * std::sqrt(double(length))) * 0x1p-24;
  int bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!(std::fabs(g[i] - want[i]) <= factor * terms[i] + 1e-30) && bad++ < 3) {
      ADD_FAILURE() << what << "[" << i << "]: " << g[i] << ", float64 " << want[i];
    }
  }
}

TEST_F(AclnnGrad, ScoreGradMatchesTheFloat64Gradient) {
  const Problem p = bsh_problem();
  Rig rig(p);
  rig.forward(Form::kV1, stream_);
  uint64_t ws = 0;
  aclOpExecutor* ex = nullptr;
  ASSERT_EQ(grad_phase1(Form::kV1, rig.call(Form::kV1), &ws, &ex), ACLNN_SUCCESS) << message();
  run("backward", aclnnFlashAttentionScoreGrad, ws, ex, stream_);
  const Float64Grad want = float64_grad(p, rig);
  const int64_t group = p.n1 / p.n2;
  expect_near(*rig.dq, want.dq, want.terms_q, p.d, p.s2, "dq");
  expect_near(*rig.dk, want.dk, want.terms_k, p.d, group * p.s1, "dk");
  expect_near(*rig.dv, want.dv, want.terms_v, p.d, group * p.s1, "dv");
}

}  // namespace
}  // namespace aclnn_test
