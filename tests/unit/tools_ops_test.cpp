// Tests of the RingAttentionUpdate ("rau:") and NsaSelectedAttention ("nsa:") problem strings and their input
// generators, shared by cannon-conformance and cannon-bench: parsing, the canonical printer, the shapes a
// problem describes, the planted invalid rows, the topk_indices draws, and the golden directory round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>

#include "cannon/error.hpp"
#include "tests/unit/tools_test_util.hpp"
#include "tools/drivers/nsa/nsa_case.hpp"
#include "tools/drivers/nsa/nsa_driver.hpp"
#include "tools/drivers/rau/rau_case.hpp"
#include "tools/drivers/rau/rau_driver.hpp"

namespace cannon::tools {
namespace {

using Shape = std::vector<int64_t>;

TEST(ToolsOpsProblem, ParsesRingUpdate) {
  RauProblem p = parse_rau_problem("rau:b4n32s=4096d=128:layout=SBH:dt=bf16");
  EXPECT_EQ(p.b, 4);
  EXPECT_EQ(p.n, 32);
  EXPECT_EQ(p.s, 4096);
  EXPECT_EQ(p.d, 128);
  EXPECT_EQ(p.dtype, DType::kBFloat16);
  RauProblem t = parse_rau_problem("rau:n8d=64:layout=TND:dt=fp16:seqq=0,5,12:softmax_layout=TND:invalid=both");
  EXPECT_EQ(t.b, 2);
  EXPECT_EQ(t.cum_seq(), (Shape{0, 5, 12}));
  EXPECT_EQ(t.softmax_layout, "TND");
  EXPECT_EQ(t.invalid, "both");
  EXPECT_EQ(parse_rau_problem("rau:b3s7:layout=TND").cum_seq(), (Shape{0, 7, 14, 21}));
}

TEST(ToolsOpsProblem, ParsesNsa) {
  NsaProblem p = parse_nsa_problem(
      "nsa:n1=16n2=4dk=192dv=128bs=64count=16:dt=bf16:seqq=70,200:seqkv=1024,3072:causal=1:idx=repeat");
  EXPECT_EQ(p.n1, 16);
  EXPECT_EQ(p.n2, 4);
  EXPECT_EQ(p.b, 2);
  EXPECT_EQ(p.bs, 64);
  EXPECT_EQ(p.count, 16);
  EXPECT_EQ(p.sparse_mode(), 2);
  EXPECT_EQ(p.mask_kind(), "comp");
  EXPECT_EQ(p.idx, "repeat");
  EXPECT_DOUBLE_EQ(p.effective_scale(), 1 / std::sqrt(192.0));
  NsaProblem g = parse_nsa_problem("nsa:b2n16g4s1=7s2=1024d=64");
  EXPECT_EQ(g.n2, 4);
  EXPECT_EQ(g.cum_seq_q(), (Shape{7, 14}));
  EXPECT_EQ(g.cum_seq_kv(), (Shape{1024, 2048}));
  EXPECT_EQ(g.sparse_mode(), 0);
  EXPECT_EQ(g.mask_kind(), "none");
}

TEST(ToolsOpsProblem, CanonicalFormsRoundTrip) {
  for (const char* text : {"rau:b4n32s=4096d=128:layout=SBH:dt=bf16", "rau:n8d=64:layout=TND:dt=fp16:seqq=0,5,12",
                           "rau:b1n2s=3d=17:layout=SBH:invalid=cur:invalid_frac=0.5:cur_dt=fp16:lanes=4:seed=3",
                           "rau:n2d=64:layout=TND:seqq=0,5:seq=none:seq_dt=int32:stat_dt=fp16:cur_d=128"}) {
    RauProblem p = parse_rau_problem(text);
    EXPECT_EQ(parse_rau_problem(to_string(p)), p) << text << " -> " << to_string(p);
  }
  for (const char* text : {"nsa:n1=16n2=4dk=192dv=128bs=64count=16:dt=bf16:seqq=70,200:seqkv=1024,3072:causal=1",
                           "nsa:b3n1=8n2=8s1=1s2=64d=64bs=16count=4:dt=fp32:idx=sorted:scale=0.5:head_num=4",
                           "nsa:n1=4n2=1s1=7s2=256:layout=BSH:sparse=1:mask=ss:idx=oob:seed=9"}) {
    NsaProblem p = parse_nsa_problem(text);
    EXPECT_EQ(parse_nsa_problem(to_string(p)), p) << text << " -> " << to_string(p);
  }
}

TEST(ToolsOpsProblem, RejectsTypos) {
  for (const char* text : {"fa:b1", "rau:b1x3", "rau:b1:layuot=SBH", "rau:b1:invalid=some", "rau:s3:seqq=0,3",
                           "rau:b1:seqq=0,3", "rau:b1:invalid_frac=2"}) {
    EXPECT_THROW(parse_rau_problem(text), Error) << text;
  }
  for (const char* text : {"nsa:n1=4n=4", "nsa:count", "nsa:n4:idx=shuffled", "nsa:n4:causal=2",
                           "nsa:s4:seqq=4:seqkv=64", "nsa:n4:seqq=4", "nsa:n4:mask=bnss"}) {
    EXPECT_THROW(parse_nsa_problem(text), Error) << text;
  }
}

RauCase rau(const std::string& text, uint64_t seed = 3) {
  RauCase c = describe_case(parse_rau_problem(text));
  generate_inputs(c, seed);
  return c;
}

TEST(ToolsOpsCase, RingShapesAndStatistics) {
  RauCase s = rau("rau:b2n3s=5d=16:layout=SBH:dt=bf16");
  EXPECT_EQ(s.inputs.prev_out.desc.shape, (Shape{5, 2, 48}));
  EXPECT_EQ(s.inputs.cur_max.desc.shape, (Shape{2, 3, 5, 8}));
  EXPECT_FALSE(s.inputs.actual_seq_qlen);
  std::vector<double> mx = decode_values(s.inputs.prev_max), sm = decode_values(s.inputs.cur_sum);
  for (std::size_t i = 0; i < mx.size(); ++i) {
    EXPECT_EQ(mx[i], mx[i / 8 * 8]) << "lanes replicated";
    EXPECT_TRUE(mx[i] >= -4 && mx[i] <= 4);
    EXPECT_TRUE(sm[i] >= 1 && sm[i] <= 64);
  }
  RauCase t = rau("rau:n2d=64:layout=TND:dt=fp16:seqq=0,5,12");
  EXPECT_EQ(t.inputs.prev_out.desc.shape, (Shape{12, 2, 64}));
  EXPECT_EQ(t.inputs.prev_sum.desc.shape, (Shape{12, 2, 8}));
  ASSERT_TRUE(t.inputs.actual_seq_qlen);
  EXPECT_EQ(t.inputs.actual_seq_qlen->desc.dtype, DType::kInt64);
  EXPECT_EQ(decode_values(*t.inputs.actual_seq_qlen), (std::vector<double>{0, 5, 12}));
  EXPECT_EQ(t.named_inputs().back().name, "actual_seq_qlen");
}

// Every invalid row has max -FLT_MAX, sum +FLT_MAX on all lanes and a zero attn row, on the chosen side only.
void expect_invalid_rows(const std::string& text, bool prev, bool cur) {
  RauCase c = rau(text);
  auto count = [](const HostData& m) {
    int64_t n = 0;
    for (double v : decode_values(m)) n += v == -FLT_MAX;
    return n;
  };
  auto sums = [](const HostData& m) {
    int64_t n = 0;
    for (double v : decode_values(m)) n += v == FLT_MAX;
    return n;
  };
  auto zeros = [](const HostData& o) {
    int64_t n = 0;
    for (double v : decode_values(o)) n += v == 0;
    return n;
  };
  const int64_t dh = c.inputs.prev_out.desc.numel() / (c.inputs.prev_max.desc.numel() / 8);  // attn elements per row
  for (auto [side, out, mx, sm] : {std::tuple{prev, &c.inputs.prev_out, &c.inputs.prev_max, &c.inputs.prev_sum},
                                   std::tuple{cur, &c.inputs.cur_out, &c.inputs.cur_max, &c.inputs.cur_sum}}) {
    const int64_t rows = count(*mx) / 8;
    EXPECT_EQ(rows > 0, side) << text;
    EXPECT_EQ(sums(*sm), rows * 8) << text;
    EXPECT_GE(zeros(*out), rows * dh) << text;
  }
}

TEST(ToolsOpsCase, PlantsInvalidRows) {
  expect_invalid_rows("rau:b2n3s=9d=16:layout=SBH:invalid=prev:invalid_frac=0.5", true, false);
  expect_invalid_rows("rau:n3d=64:layout=TND:seqq=0,5,12:invalid=cur:invalid_frac=0.5", false, true);
  expect_invalid_rows("rau:n3d=64:layout=TND:seqq=0,5,12:softmax_layout=TND:invalid=both:invalid_frac=0.5", true, true);
  expect_invalid_rows("rau:b2n3s=9d=16:layout=SBH", false, false);
}

NsaCase nsa(const std::string& text, uint64_t seed = 3) {
  NsaCase c = describe_case(parse_nsa_problem(text));
  generate_inputs(c, seed);
  return c;
}

// topk_indices of token t, kv head h.
std::vector<int64_t> row(const NsaCase& c, int64_t t, int64_t h) {
  std::vector<double> all = decode_values(c.inputs.topk_indices);
  const int64_t n2 = c.inputs.topk_indices.desc.shape[1], count = c.inputs.topk_indices.desc.shape[2];
  std::vector<int64_t> r;
  for (int64_t k = 0; k < count; ++k) r.push_back(static_cast<int64_t>(all[(t * n2 + h) * count + k]));
  return r;
}

TEST(ToolsOpsCase, NsaShapesAndIndices) {
  NsaCase c = nsa("nsa:n1=8n2=2dk=192dv=128bs=16count=4:dt=bf16:seqq=5,12:seqkv=64,192:causal=1");
  EXPECT_EQ(c.inputs.query.desc.shape, (Shape{12, 8, 192}));
  EXPECT_EQ(c.inputs.key.desc.shape, (Shape{192, 2, 192}));
  EXPECT_EQ(c.inputs.value.desc.shape, (Shape{192, 2, 128}));
  EXPECT_EQ(c.inputs.topk_indices.desc.shape, (Shape{12, 2, 4}));
  EXPECT_EQ(c.inputs.topk_indices.desc.dtype, DType::kInt32);
  ASSERT_TRUE(c.inputs.atten_mask);
  EXPECT_EQ(c.inputs.atten_mask->desc.shape, (Shape{2048, 2048}));
  EXPECT_EQ(c.attrs.sparse_mode, 2);
  EXPECT_EQ(c.attrs.head_num, 8);
  bool unsorted = false;
  for (int64_t t = 0; t < 12; ++t) {
    const int64_t blocks = t < 5 ? 4 : 8;  // batch 0: 64 keys, batch 1: 128 keys
    for (int64_t h = 0; h < 2; ++h) {
      std::vector<int64_t> r = row(c, t, h);
      for (int64_t i : r) EXPECT_TRUE(i >= 0 && i < blocks) << "t=" << t << " idx=" << i;
      EXPECT_EQ(std::set<int64_t>(r.begin(), r.end()).size(), r.size()) << "random draws are distinct";
      unsorted = unsorted || !std::is_sorted(r.begin(), r.end());
    }
  }
  EXPECT_TRUE(unsorted);
  EXPECT_FALSE(nsa("nsa:n1=4n2=1s1=7s2=256d=64bs=64count=4").inputs.atten_mask);
}

TEST(ToolsOpsCase, NsaIndexDraws) {
  NsaCase sorted = nsa("nsa:n1=4n2=1s1=9s2=512d=64bs=64count=4:idx=sorted");
  NsaCase repeat = nsa("nsa:n1=4n2=1s1=9s2=512d=64bs=64count=4:idx=repeat");
  NsaCase diag = nsa("nsa:n1=4n2=1s1=200s2=512d=64bs=64count=4:idx=diag");
  NsaCase oob = nsa("nsa:n1=4n2=1s1=9s2=512d=64bs=64count=4:idx=oob");
  bool any_oob = false;
  for (int64_t t = 0; t < 9; ++t) {
    std::vector<int64_t> s = row(sorted, t, 0), r = row(repeat, t, 0), o = row(oob, t, 0);
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
    EXPECT_LT(std::set<int64_t>(r.begin(), r.end()).size(), r.size());
    for (int64_t i : o) any_oob = any_oob || i >= 8;
  }
  EXPECT_TRUE(any_oob);
  for (int64_t t = 0; t < 200; t += 37) EXPECT_EQ(row(diag, t, 0)[0], t / 64);
}

TEST(ToolsOpsGolden, RoundTripsBothOps) {
  const auto dir = std::filesystem::temp_directory_path() / "cannon_tools_ops_golden";
  std::filesystem::remove_all(dir);
  RauCase r = rau("rau:n2d=64:layout=TND:dt=bf16:seqq=0,3,5:softmax_layout=TND");
  write_golden((dir / "rau").string(), r, {r.inputs.prev_out, r.inputs.prev_max, r.inputs.prev_sum}, "test");
  EXPECT_EQ(golden_op((dir / "rau").string()), "ring_attention_update");
  GoldenCase rau_golden = load_golden(rau_driver(), golden_files_on_disk((dir / "rau").string()));
  const RauCase& rg = case_of<RauCase>(rau_golden);
  EXPECT_EQ(rg.attrs.input_layout, "TND");
  EXPECT_EQ(rg.attrs.softmax_layout, "TND");
  EXPECT_EQ(rg.inputs.cur_out.bytes, r.inputs.cur_out.bytes);
  ASSERT_TRUE(rg.inputs.actual_seq_qlen);
  EXPECT_EQ(rg.inputs.actual_seq_qlen->bytes, r.inputs.actual_seq_qlen->bytes);
  EXPECT_EQ(*rau_golden.expected[0], decode_values(r.inputs.prev_out));

  NsaCase n = nsa("nsa:n1=4n2=2dk=64dv=32bs=16count=2:dt=fp16:seqq=3,7:seqkv=32,96:causal=1");
  write_golden((dir / "nsa").string(), n, {n.inputs.query, n.inputs.query, n.inputs.query}, "test");
  GoldenCase nsa_golden = load_golden(nsa_driver(), golden_files_on_disk((dir / "nsa").string()));
  const NsaCase& ng = case_of<NsaCase>(nsa_golden);
  EXPECT_EQ(ng.attrs.actual_seq_qlen, (Shape{3, 7}));
  EXPECT_EQ(ng.attrs.actual_seq_kvlen, (Shape{32, 96}));
  EXPECT_EQ(ng.attrs.select_block_size, 16);
  EXPECT_EQ(ng.attrs.select_block_count, 2);
  EXPECT_EQ(ng.attrs.sparse_mode, 2);
  EXPECT_EQ(ng.attrs.head_num, 4);
  EXPECT_DOUBLE_EQ(ng.attrs.scale_value, n.attrs.scale_value);
  EXPECT_EQ(ng.inputs.topk_indices.bytes, n.inputs.topk_indices.bytes);
  ASSERT_TRUE(ng.inputs.atten_mask);
  EXPECT_THROW(load_golden(rau_driver(), golden_files_on_disk((dir / "nsa").string())), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cannon::tools
