// NsaSelectedAttention on the device against the float64 reference: dtypes, GQA ratios, causal on and off,
// repeated and shuffled block indices, several batches of different lengths, odd head dims; outputs are
// poisoned before the run and must be fully written. Then the errors: indices outside their batch (found on the
// device, raised by ctx.finish()) and bad shapes or attributes end in cannon::Error(kParamInvalid) naming the
// argument.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "host/reference/nsa_selected_attention_ref.hpp"
#include "tests/ops/op_test_util.hpp"
#include "tools/drivers/nsa/nsa_driver.hpp"

namespace cannon::optest {
namespace {

struct NsaCase {
  std::string name;
  DType dtype;
  std::vector<int64_t> q_lens, kv_lens;
  int64_t n1, n2, dk, dv, bs, count;
  bool causal;
  double repeat_prob = 0.0;         // chance that a slot repeats an earlier slot's index
  bool expect_masked_rows = false;  // the draw must contain fully masked rows (uniform average)
};

// gtest prints parameters through PrintTo (found by ADL): the case name, not the struct's bytes.
// NOLINTNEXTLINE(readability-identifier-naming): the name gtest looks up
void PrintTo(const NsaCase& c, std::ostream* os) { *os << c.name; }

struct NsaData {
  tools::HostData q, k, v, topk;
  NsaSelectedAttentionAttrs attrs;
  std::optional<tools::HostData> mask;
};

std::vector<int64_t> cumulative(const std::vector<int64_t>& lens) {
  std::vector<int64_t> c;
  int64_t acc = 0;
  for (int64_t l : lens) c.push_back(acc += l);
  return c;
}

NsaData make_data(const NsaCase& c, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  const int64_t t1 = cumulative(c.q_lens).back(), t2 = cumulative(c.kv_lens).back();
  auto random = [&](int64_t n) {
    std::vector<double> v(static_cast<std::size_t>(n));
    for (double& x : v) x = uni(rng);
    return v;
  };
  NsaData d;
  d.q = tools::encode_values(c.dtype, {t1, c.n1, c.dk}, random(t1 * c.n1 * c.dk));
  d.k = tools::encode_values(c.dtype, {t2, c.n2, c.dk}, random(t2 * c.n2 * c.dk));
  d.v = tools::encode_values(c.dtype, {t2, c.n2, c.dv}, random(t2 * c.n2 * c.dv));
  // Indices in any order, repeats allowed; under causal, the diagonal block is picked often.
  std::vector<double> idx;
  int64_t t0 = 0;
  for (std::size_t b = 0; b < c.q_lens.size(); ++b) {
    const int64_t blocks = c.kv_lens[b] / c.bs;
    for (int64_t t = 0; t < c.q_lens[b]; ++t) {
      for (int64_t h = 0; h < c.n2; ++h) {
        std::vector<int64_t> sel;
        for (int64_t s = 0; s < c.count; ++s) {
          int64_t i = static_cast<int64_t>(rng() % static_cast<uint64_t>(blocks));
          if (c.causal && rng() % 3 == 0) i = std::min(t / c.bs, blocks - 1);
          if (!sel.empty() && std::uniform_real_distribution<double>(0, 1)(rng) < c.repeat_prob)
            i = sel[rng() % sel.size()];
          sel.push_back(i);
        }
        for (int64_t i : sel) idx.push_back(static_cast<double>(i));
      }
    }
    t0 += c.q_lens[b];
  }
  d.topk = tools::encode_values(DType::kInt32, {t1, c.n2, c.count}, idx);
  d.attrs.scale_value = 1.0 / std::sqrt(static_cast<double>(c.dk));
  d.attrs.head_num = c.n1;
  d.attrs.sparse_mode = c.causal ? 2 : 0;
  d.attrs.select_block_size = c.bs;
  d.attrs.select_block_count = c.count;
  d.attrs.actual_seq_qlen = cumulative(c.q_lens);
  d.attrs.actual_seq_kvlen = cumulative(c.kv_lens);
  if (c.causal) d.mask = tools::encode_values(DType::kUInt8, {64, 64}, std::vector<double>(64 * 64, 1.0));
  return d;
}

DeviceTensor poisoned(const Context& ctx, const TensorDesc& desc) {
  DeviceTensor t = allocate(ctx, desc);
  std::vector<uint8_t> bytes(desc.bytes(), 0xFF);  // NaN in fp32, fp16 and bf16
  upload(ctx, t.view(), bytes.data(), bytes.size());
  return t;
}

class NsaOp : public ::testing::TestWithParam<NsaCase> {};

TEST_P(NsaOp, MatchesReference) {
  const NsaCase& c = GetParam();
  const Context& ctx = test_context();
  const NsaData d = make_data(c, case_seed(c.name));
  DeviceTensor q = to_device(ctx, d.q), k = to_device(ctx, d.k), v = to_device(ctx, d.v), ti = to_device(ctx, d.topk);
  std::optional<DeviceTensor> mask;
  if (d.mask) mask = to_device(ctx, *d.mask);
  NsaSelectedAttentionDescs descs{d.q.desc, d.k.desc, d.v.desc, d.topk.desc,
                                  mask ? std::optional<TensorDesc>(mask->desc()) : std::nullopt};
  const NsaSelectedAttentionPlan plan = plan_nsa_selected_attention(ctx, descs, d.attrs);
  DeviceTensor out = poisoned(ctx, plan.attention_out), mx = poisoned(ctx, plan.softmax_max),
               sm = poisoned(ctx, plan.softmax_sum);
  DeviceTensor ws = allocate(ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
  run_nsa_selected_attention(
      ctx, plan,
      {q.view(), k.view(), v.view(), ti.view(), mask ? std::optional<TensorView>(mask->view()) : std::nullopt,
       out.view(), mx.view(), sm.view()},
      ws.buffer());
  ctx.finish();
  const FaOutputs dev = outputs_of(ctx, out, mx, sm);

  reference::NsaSelectedAttentionRefInputs in{tools::to_host_tensor(d.q), tools::to_host_tensor(d.k),
                                              tools::to_host_tensor(d.v), tools::to_host_tensor(d.topk), std::nullopt};
  if (d.mask) in.atten_mask = tools::to_host_tensor(*d.mask);
  const auto ref = reference::nsa_selected_attention(in, d.attrs);
  std::optional<std::vector<double>> naive;
  if (c.dtype != DType::kFloat32) {
    naive =
        reference::nsa_selected_attention(in, d.attrs, reference::Precision::kNaiveLowPrecision).attention_out.values;
  }
  tools::OutputValues dv{tools::decode_values(dev.attention_out), tools::decode_values(dev.softmax_max),
                         tools::decode_values(dev.softmax_sum)};
  for (const auto* vals : {&*dv[0], &*dv[1], &*dv[2]}) {
    EXPECT_EQ(std::count_if(vals->begin(), vals->end(), [](double x) { return std::isnan(x); }), 0)
        << c.name << ": an output element was not written (still poisoned)";
  }
  const tools::Verdict verdict =
      tools::judge_at(tools::nsa_driver().outputs, dv,
                      {ref.attention_out.values, ref.softmax_max.values, ref.softmax_sum.values}, naive, c.dtype);
  if (c.expect_masked_rows) {
    const auto& m = ref.softmax_max.values;
    EXPECT_GT(std::count_if(m.begin(), m.end(), [](double x) { return x < -1e37; }), 0) << "no fully masked row";
  }
  EXPECT_TRUE(verdict.passed()) << c.name << ": " << verdict.summary() << " " << verdict.mistrust;
}

const NsaCase kCases[] = {
    {"fp16_g1", DType::kFloat16, {7}, {128}, 2, 2, 64, 64, 16, 4, false, 0.3},
    {"bf16_g4_causal", DType::kBFloat16, {70}, {96}, 8, 2, 64, 48, 32, 3, true, 0.2},
    {"fp32_g16", DType::kFloat32, {9}, {256}, 16, 1, 48, 32, 64, 4, false, 0.5},
    {"bf16_g16_causal_batches", DType::kBFloat16, {33, 1, 80}, {64, 128, 96}, 32, 2, 40, 40, 16, 4, true, 0.3},
    {"fp16_g4_odd_dims", DType::kFloat16, {5, 11}, {48, 64}, 4, 1, 59, 23, 16, 3, false, 0.0},
    {"fp16_g32_causal", DType::kFloat16, {40}, {128}, 32, 1, 32, 16, 32, 4, true, 0.4},
    {"fp32_g3_causal_empty_batch", DType::kFloat32, {20, 0, 17}, {32, 32, 48}, 6, 2, 16, 16, 16, 2, true, 0.5, true},
    {"bf16_g4_causal_masked_rows", DType::kBFloat16, {24}, {32}, 4, 1, 32, 32, 16, 2, true, 0.5, true},
    {"bf16_g4_dk192_dv128", DType::kBFloat16, {6}, {256}, 8, 2, 192, 128, 64, 4, true, 0.2},
};
INSTANTIATE_TEST_SUITE_P(Nsa, NsaOp, ::testing::ValuesIn(kCases), [](const auto& info) { return info.param.name; });

// Expects `call` to throw cannon::Error(kParamInvalid) with a message containing `needle`.
template <typename Call>
void expect_invalid(Call&& call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no error; expected kParamInvalid mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

const NsaCase kSmall{"small", DType::kFloat16, {5, 4}, {64, 32}, 4, 2, 32, 16, 16, 2, true};
// The same within CANNON_STRICT's Atlas A2 limits (Dqk 192, Dv 128).
const NsaCase kSmallStrict{"small_strict", DType::kFloat16, {5, 4}, {64, 32}, 4, 2, 192, 128, 16, 2, true};

// An index past its batch (batch 1 has 2 blocks) or below 0 is found on the device: run only enqueues, the next
// ctx.finish() raises it naming topk_indices, and the kernels neither gather keys outside the batch nor write
// outside the outputs (guard bytes on both sides stay intact). Under CANNON_STRICT run reads the indices first and
// throws before enqueuing anything, leaving the outputs untouched.
TEST(NsaErrors, OutOfRangeIndexIsReportedAtFinish) {
  Config strict_config = test_context().config();
  strict_config.strict = true;
  const Context strict = Context::create("", strict_config);
  for (const Context* ctx : {&test_context(), &strict}) {
    for (int bad : {2, -1, 1 << 30}) {
      NsaData d = make_data(ctx == &strict ? kSmallStrict : kSmall, 7);
      std::vector<double> idx = tools::decode_values(d.topk);
      idx[(6 * 2 + 1) * 2 + 1] = bad;  // token 6 (batch 1), kv head 1, slot 1
      d.topk = tools::encode_values(DType::kInt32, d.topk.desc.shape, idx);
      DeviceTensor q = to_device(*ctx, d.q), k = to_device(*ctx, d.k), v = to_device(*ctx, d.v);
      DeviceTensor ti = to_device(*ctx, d.topk), mask = to_device(*ctx, *d.mask);
      const NsaSelectedAttentionPlan plan =
          plan_nsa_selected_attention(*ctx, {d.q.desc, d.k.desc, d.v.desc, d.topk.desc, mask.desc()}, d.attrs);
      Guarded out(*ctx, plan.attention_out), mx(*ctx, plan.softmax_max), sm(*ctx, plan.softmax_sum);
      DeviceTensor ws = allocate(*ctx, {DType::kUInt8, {static_cast<int64_t>(plan.workspace_size)}});
      const std::string needle = "topk_indices: [6][1][1] = " + std::to_string(bad);
      auto run = [&] {
        run_nsa_selected_attention(*ctx, plan,
                                   {q.view(), k.view(), v.view(), ti.view(), mask.view(), out.view, mx.view, sm.view},
                                   ws.buffer());
      };
      if (ctx == &strict) {
        expect_invalid(run, needle);
      } else {
        EXPECT_NO_THROW(run());
        expect_invalid([&] { ctx->finish(); }, needle);
        EXPECT_NO_THROW(ctx->finish()) << "the error is raised once";
      }
      std::vector<std::string> problems;
      const tools::HostData written = out.read(*ctx, problems, "attention_out");
      mx.read(*ctx, problems, "softmax_max");
      sm.read(*ctx, problems, "softmax_sum");
      for (const std::string& p : problems) ADD_FAILURE() << p;
      const bool untouched =
          std::all_of(written.bytes.begin(), written.bytes.end(), [](uint8_t b) { return b == 0xFF; });
      EXPECT_EQ(untouched, ctx == &strict) << "strict refuses before any launch; otherwise the kernels run";
    }
  }
}

// Plan-time rules: each mutation of a valid problem must be refused with a message naming the argument.
TEST(NsaErrors, BadShapesAndAttributes) {
  const Context& ctx = test_context();
  const NsaData base = make_data(kSmall, 7);
  const NsaSelectedAttentionDescs descs{base.q.desc, base.k.desc, base.v.desc, base.topk.desc, base.mask->desc};
  auto plan_with = [&](auto mutate) {
    NsaSelectedAttentionDescs d = descs;
    NsaSelectedAttentionAttrs a = base.attrs;
    mutate(d, a);
    return [&ctx, d, a] { plan_nsa_selected_attention(ctx, d, a); };
  };
  using D = NsaSelectedAttentionDescs;
  using A = NsaSelectedAttentionAttrs;
  expect_invalid(plan_with([](D&, A& a) { a.head_num = 2; }), "head_num");
  expect_invalid(plan_with([](D&, A& a) { a.input_layout = "BSND"; }), "input_layout");
  expect_invalid(plan_with([](D&, A& a) { a.sparse_mode = 1; }), "sparse_mode");
  expect_invalid(plan_with([](D&, A& a) { a.select_block_size = 24; }), "select_block_size");
  expect_invalid(plan_with([](D&, A& a) { a.select_block_size = 256; }), "select_block_size");
  expect_invalid(plan_with([](D&, A& a) { a.select_block_count = 0; }), "select_block_count");
  expect_invalid(plan_with([](D& d, A& a) { a.select_block_count = 3, d.topk_indices.shape[2] = 3; }),
                 "actual_seq_kvlen");  // batch 1 has 32 keys < 3·16
  expect_invalid(plan_with([](D&, A& a) { a.actual_seq_kvlen = {56, 96}; }), "actual_seq_kvlen");  // 56 % 16
  expect_invalid(plan_with([](D&, A& a) { a.actual_seq_qlen = {5, 8}; }), "actual_seq_qlen");
  expect_invalid(plan_with([](D& d, A&) { d.topk_indices.dtype = DType::kInt64; }), "topk_indices");
  expect_invalid(plan_with([](D& d, A&) { d.topk_indices.shape[1] = 4; }), "topk_indices");
  expect_invalid(plan_with([](D& d, A&) { d.key.dtype = DType::kBFloat16; }), "key");
  expect_invalid(plan_with([](D& d, A&) { d.key.shape[2] = 16; }), "key");
  expect_invalid(plan_with([](D& d, A&) { d.value.shape[2] = 48; }), "value");
  expect_invalid(plan_with([](D& d, A&) { d.key.shape[1] = 3, d.value.shape[1] = 3; }), "N2");
  expect_invalid(plan_with([](D& d, A& a) { d.query.shape[1] = 66, a.head_num = 66; }), "group size");
  expect_invalid(plan_with([](D& d, A&) { d.atten_mask->dtype = DType::kFloat16; }), "atten_mask");
  expect_invalid(plan_with([](D& d, A&) { d.query.shape = {9, 4}; }), "query");
}

}  // namespace
}  // namespace cannon::optest
