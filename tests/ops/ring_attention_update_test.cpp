// RingAttentionUpdate on the device against the float64 reference: SBH and TND, both softmax layouts, every
// dtype, odd sizes, invalid rows on one side and on both, unequal softmax lanes (the d % 8 rule), poisoned and
// guarded outputs; then the validation rules (plan, run and strict) with their status and argument.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <ostream>
#include <random>

#include "host/ops/ring_attention_update_problem.hpp"
#include "host/reference/ring_attention_update_ref.hpp"
#include "tests/ops/op_test_util.hpp"
#include "tools/harness/host_data.hpp"

namespace cannon {
namespace {

using optest::test_context;

struct RauCase {
  std::string layout, softmax_layout;
  DType dtype;
  int64_t s, b, n, d;         // SBH: S, B; TND: T = Σ seq, b = batch count
  std::vector<int64_t> seqs;  // TND batch lengths
  bool unequal_lanes = false;
};

std::string case_name(const RauCase& c) {
  std::string seqs;
  for (int64_t s : c.seqs) seqs += "_" + std::to_string(s);
  return c.layout + (c.softmax_layout.empty() ? "" : "sm" + c.softmax_layout) + "_" + dtype_name(c.dtype) + "_s" +
         std::to_string(c.s) + "b" + std::to_string(c.b) + "n" + std::to_string(c.n) + "d" + std::to_string(c.d) +
         seqs + (c.unequal_lanes ? "_lanes" : "");
}

// gtest prints parameters through PrintTo (found by ADL): the case name, not the struct's bytes.
// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks up
void PrintTo(const RauCase& c, std::ostream* os) { *os << case_name(c); }

struct Generated {
  tools::HostData prev_out, prev_max, prev_sum, cur_out, cur_max, cur_sum, qlen;
  std::vector<int64_t> cumulative;
};

// Random states; every 7th (row, head) is invalid on prev, every 11th on cur (both when both), as the forward
// pass leaves them: out 0, max -FLT_MAX, sum FLT_MAX.
Generated generate(const RauCase& c, uint64_t seed) {
  const bool tnd = c.layout == "TND";
  std::vector<int64_t> ashape = tnd ? std::vector<int64_t>{c.s, c.n, c.d} : std::vector<int64_t>{c.s, c.b, c.n * c.d};
  std::vector<int64_t> sshape = tnd ? std::vector<int64_t>{c.s, c.n, 8} : std::vector<int64_t>{c.b, c.n, c.s, 8};
  const int64_t pairs = c.s * (tnd ? 1 : c.b) * c.n;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> attn(-1, 1), mx(-4, 4), sm(1, 50);
  std::vector<double> o[2], m[2], l[2];
  for (int side = 0; side < 2; ++side) {
    o[side].resize(pairs * c.d);
    m[side].resize(pairs * 8);
    l[side].resize(pairs * 8);
    for (double& v : o[side]) v = attn(rng);
    // Invalid states are chosen by storage slot; their attn rows keep random values, which cannon's rule must ignore.
    for (int64_t p = 0; p < pairs; ++p) {
      const double mv = mx(rng), lv = sm(rng);
      const bool invalid = p % (side == 0 ? 7 : 11) == 3;
      for (int k = 0; k < 8; ++k) {
        m[side][p * 8 + k] = invalid ? -FLT_MAX : c.unequal_lanes ? mx(rng) : mv;
        l[side][p * 8 + k] = invalid ? FLT_MAX : c.unequal_lanes ? sm(rng) : lv;
      }
    }
  }
  Generated g;
  g.prev_out = tools::encode_values(c.dtype, ashape, o[0]);
  g.cur_out = tools::encode_values(c.dtype, ashape, o[1]);
  g.prev_max = tools::encode_values(DType::kFloat32, sshape, m[0]);
  g.prev_sum = tools::encode_values(DType::kFloat32, sshape, l[0]);
  g.cur_max = tools::encode_values(DType::kFloat32, sshape, m[1]);
  g.cur_sum = tools::encode_values(DType::kFloat32, sshape, l[1]);
  if (tnd) {
    g.cumulative = {0};
    for (int64_t s : c.seqs) g.cumulative.push_back(g.cumulative.back() + s);
    std::vector<double> q(g.cumulative.begin(), g.cumulative.end());
    g.qlen = tools::encode_values(DType::kInt64, {static_cast<int64_t>(q.size())}, q);
  }
  return g;
}

double tolerance(DType dt) { return dt == DType::kFloat32 ? 1e-6 : dt == DType::kFloat16 ? 1.0 / 1024 : 1.0 / 128; }

void expect_close(const std::vector<double>& dev, const std::vector<double>& ref, double tol, const char* what) {
  ASSERT_EQ(dev.size(), ref.size()) << what;
  int reported = 0;
  for (std::size_t i = 0; i < dev.size(); ++i) {
    const bool ok = std::isfinite(dev[i]) && std::fabs(dev[i] - ref[i]) <= tol * std::max(1.0, std::fabs(ref[i]));
    if (!ok && reported++ < 5) ADD_FAILURE() << what << "[" << i << "]: device " << dev[i] << " reference " << ref[i];
  }
}

class RauDevice : public ::testing::TestWithParam<RauCase> {};

TEST_P(RauDevice, MatchesReference) {
  const RauCase& c = GetParam();
  const Context& ctx = test_context();
  const Generated g = generate(c, optest::case_seed(case_name(c)));
  RingAttentionUpdateAttrs attrs{c.layout, c.softmax_layout};
  const bool tnd = c.layout == "TND";
  RingAttentionUpdateDescs descs{g.prev_out.desc,
                                 g.prev_max.desc,
                                 g.prev_sum.desc,
                                 g.cur_out.desc,
                                 g.cur_max.desc,
                                 g.cur_sum.desc,
                                 tnd ? std::optional<TensorDesc>(g.qlen.desc) : std::nullopt};
  const RingAttentionUpdatePlan plan = plan_ring_attention_update(ctx, descs, attrs);
  EXPECT_EQ(plan.bytes, 3.0 * g.prev_out.desc.bytes() + 6.0 * g.prev_max.desc.bytes());
  DeviceTensor in[] = {optest::to_device(ctx, g.prev_out), optest::to_device(ctx, g.prev_max),
                       optest::to_device(ctx, g.prev_sum), optest::to_device(ctx, g.cur_out),
                       optest::to_device(ctx, g.cur_max),  optest::to_device(ctx, g.cur_sum)};
  DeviceTensor qlen = tnd ? optest::to_device(ctx, g.qlen) : DeviceTensor();
  optest::Guarded out(ctx, plan.attn_out), mx(ctx, plan.softmax_max), sm(ctx, plan.softmax_sum);
  DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  RingAttentionUpdateTensors t{in[0].view(),
                               in[1].view(),
                               in[2].view(),
                               in[3].view(),
                               in[4].view(),
                               in[5].view(),
                               tnd ? std::optional<TensorView>(qlen.view()) : std::nullopt,
                               out.view,
                               mx.view,
                               sm.view};
  run_ring_attention_update(ctx, plan, t, ws.buffer());
  ctx.finish();

  std::vector<std::string> problems;
  const auto dev_out = tools::decode_values(out.read(ctx, problems, "attn_out"));
  const auto dev_max = tools::decode_values(mx.read(ctx, problems, "softmax_max"));
  const auto dev_sum = tools::decode_values(sm.read(ctx, problems, "softmax_sum"));
  for (const std::string& p : problems) ADD_FAILURE() << p;

  reference::RingAttentionUpdateRefInputs ri{tools::to_host_tensor(g.prev_out),
                                             tools::to_host_tensor(g.prev_max),
                                             tools::to_host_tensor(g.prev_sum),
                                             tools::to_host_tensor(g.cur_out),
                                             tools::to_host_tensor(g.cur_max),
                                             tools::to_host_tensor(g.cur_sum),
                                             g.cumulative};
  const auto ref = reference::ring_attention_update(ri, attrs);
  expect_close(dev_out, ref.attn_out.values, tolerance(c.dtype), "attn_out");
  expect_close(dev_max, ref.softmax_max.values, 1e-7, "softmax_max");
  expect_close(dev_sum, ref.softmax_sum.values, 1e-6, "softmax_sum");
}

// Documented in-place use: the outputs replace prev_* exactly. Each (row, head) item reads its inputs before it
// writes the same bytes, so the result must equal an out-of-place run bit for bit. Partial overlaps, and outputs
// over cur_*, are refused before anything is written.
TEST(RauInPlace, OutputsOverPrevMatchOutOfPlaceBitwise) {
  const Context& ctx = test_context();
  for (const RauCase& c : {RauCase{"SBH", "", DType::kBFloat16, 113, 3, 5, 64, {}},
                           RauCase{"TND", "", DType::kFloat32, 120, 3, 4, 64, {50, 1, 69}}}) {
    SCOPED_TRACE(case_name(c));
    const Generated g = generate(c, optest::case_seed(case_name(c)));
    const bool tnd = c.layout == "TND";
    const RingAttentionUpdateAttrs attrs{c.layout, c.softmax_layout};
    const RingAttentionUpdatePlan plan =
        plan_ring_attention_update(ctx,
                                   {g.prev_out.desc, g.prev_max.desc, g.prev_sum.desc, g.cur_out.desc, g.cur_max.desc,
                                    g.cur_sum.desc, tnd ? std::optional<TensorDesc>(g.qlen.desc) : std::nullopt},
                                   attrs);
    DeviceTensor prev[] = {optest::to_device(ctx, g.prev_out), optest::to_device(ctx, g.prev_max),
                           optest::to_device(ctx, g.prev_sum)};
    DeviceTensor cur[] = {optest::to_device(ctx, g.cur_out), optest::to_device(ctx, g.cur_max),
                          optest::to_device(ctx, g.cur_sum)};
    DeviceTensor qlen = tnd ? optest::to_device(ctx, g.qlen) : DeviceTensor();
    const std::optional<TensorView> qv = tnd ? std::optional<TensorView>(qlen.view()) : std::nullopt;
    DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
    optest::Guarded out(ctx, plan.attn_out), mx(ctx, plan.softmax_max), sm(ctx, plan.softmax_sum);
    run_ring_attention_update(ctx, plan,
                              {prev[0].view(), prev[1].view(), prev[2].view(), cur[0].view(), cur[1].view(),
                               cur[2].view(), qv, out.view, mx.view, sm.view},
                              ws.buffer());
    std::vector<std::string> problems;
    const tools::HostData expected[] = {out.read(ctx, problems, "attn_out"), mx.read(ctx, problems, "softmax_max"),
                                        sm.read(ctx, problems, "softmax_sum")};
    for (const std::string& p : problems) ADD_FAILURE() << p;

    // Refused: attn_out over cur_attn_out, and attn_out overlapping prev_attn_out by all but one row.
    optest::expect_error(
        [&] {
          run_ring_attention_update(ctx, plan,
                                    {prev[0].view(), prev[1].view(), prev[2].view(), cur[0].view(), cur[1].view(),
                                     cur[2].view(), qv, cur[0].view(), mx.view, sm.view},
                                    ws.buffer());
        },
        Status::kParamInvalid, {"attn_out", "cur_attn_out", "overlap"});
    const std::size_t row = static_cast<std::size_t>(c.d) * dtype_size(c.dtype);
    DeviceTensor pool = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(g.prev_out.bytes.size() + row)}});
    upload(ctx, TensorView{pool.buffer(), 0, g.prev_out.desc, {}}, g.prev_out.bytes.data(), g.prev_out.bytes.size());
    optest::expect_error(
        [&] {
          run_ring_attention_update(
              ctx, plan,
              {TensorView{pool.buffer(), 0, g.prev_out.desc, {}}, prev[1].view(), prev[2].view(), cur[0].view(),
               cur[1].view(), cur[2].view(), qv, TensorView{pool.buffer(), row, g.prev_out.desc, {}}, mx.view, sm.view},
              ws.buffer());
        },
        Status::kParamInvalid, {"attn_out", "prev_attn_out", "overlap"});

    run_ring_attention_update(ctx, plan,
                              {prev[0].view(), prev[1].view(), prev[2].view(), cur[0].view(), cur[1].view(),
                               cur[2].view(), qv, prev[0].view(), prev[1].view(), prev[2].view()},
                              ws.buffer());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(optest::from_device(ctx, prev[i]), expected[i].bytes) << "output " << i;
  }
}

std::vector<RauCase> device_cases() {
  std::vector<RauCase> cases;
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    cases.push_back({"SBH", "", dt, 113, 3, 5, 64, {}});
    cases.push_back({"SBH", "", dt, 7, 1, 1, 59, {}});
    cases.push_back({"SBH", "", dt, 33, 2, 3, 128, {}, true});
    for (const char* sm : {"", "TND"}) {
      cases.push_back({"TND", sm, dt, 120, 3, 4, 64, {50, 1, 69}});
      cases.push_back({"TND", sm, dt, 37, 4, 3, 24, {0, 17, 20, 0}});
      cases.push_back({"TND", sm, dt, 40, 2, 1, 128, {13, 27}});
    }
  }
  cases.push_back({"TND", "", DType::kBFloat16, 21, 2, 2, 19, {10, 11}, true});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cases, RauDevice, ::testing::ValuesIn(device_cases()),
                         [](const auto& info) { return optest::param_name(case_name(info.param)); });

}  // namespace
}  // namespace cannon
