// Tests of the pse and dropout parts of the problem strings (tools/drivers/fa): the keys parse and print
// canonically, every pse form has the documented shape (TND's packed forms included), the ALiBi-compressed
// tensor is the last 1024 rows of the full ALiBi pse, slopes are fp32, and the explicit drop_mask is
// ceil(numels/8) bit-packed bytes with the requested keep fraction.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "cannon/error.hpp"
#include "tests/unit/tools_test_util.hpp"
#include "tools/drivers/fa/fa_case.hpp"
#include "tools/drivers/fa/fa_dropout.hpp"
#include "tools/drivers/fa/fa_problem.hpp"
#include "tools/drivers/registry.hpp"

namespace cannon::tools {
namespace {

TEST(ToolsPse, ParsesAndRoundTrips) {
  FaProblem p = parse_fa_problem(
      "fa:b2n4s=64d=64:pse_type=2:pse=slopes_bn:q_start=3:kv_start=-2:keep_prob=0.9:drop_seed=-5:drop_offset=37");
  EXPECT_EQ(p.pse_type, 2);
  EXPECT_EQ(p.pse, "slopes_bn");
  EXPECT_EQ(p.q_start, (std::vector<int64_t>{3}));
  EXPECT_EQ(p.kv_start, (std::vector<int64_t>{-2}));
  EXPECT_EQ(p.keep_prob, 0.9);
  EXPECT_EQ(p.drop_mask, "gen");
  EXPECT_EQ(p.drop_seed, -5);
  EXPECT_EQ(p.drop_offset, 37);
  for (const char* text :
       {"fa:b2n4s=64d=64:pse_type=0:pse=bnss:pse_dt=fp16", "fa:s=8:pse=1n1s:keep_prob=1e-05:drop_mask=explicit",
        "fa:s=8:keep_prob=0.5:drop_mask=explicit:drop_dt=int32:drop_bytes=3:seed=4",
        "fa:n2d=64:layout=TND:seqq=10,30:sparse=3:pse=alibi1:keep_prob=0.25:drop_seed=1099511627783",
        "fa:s=8:pse_type=3:pse=slopes_n:q_start=1,2:kv_start=0"}) {
    FaProblem q = parse_fa_problem(text);
    std::string canonical = to_string(q);
    EXPECT_EQ(parse_fa_problem(canonical), q) << text << " -> " << canonical;
    EXPECT_EQ(to_string(parse_fa_problem(canonical)), canonical);
  }
  // Defaults are not printed.
  EXPECT_EQ(to_string(parse_fa_problem("fa:s=8:pse_type=1:keep_prob=1:drop_mask=gen:drop_seed=0")),
            "fa:b1n1g1s=8d=64:layout=BSND:dt=fp32");
}

TEST(ToolsPse, RejectsBadValues) {
  auto rejects = [](const char* text, const std::string& needle) {
    try {
      parse_fa_problem(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  rejects("fa:s=8:pse=bnsss", "unknown pse 'bnsss'");
  rejects("fa:s=8:pse_type=x", "'pse_type' needs an integer");
  rejects("fa:s=8:keep_prob=0.9x", "'keep_prob' needs a number");
  rejects("fa:s=8:drop_mask=maybe", "unknown drop_mask 'maybe'");
  rejects("fa:s=8:pse_dt=fp16", "pse_dt needs a pse");
  rejects("fa:s=8:keep_prob=0.5:drop_bytes=4", "need drop_mask=explicit");
  rejects("fa:s=8:drop_mask=explicit:drop_bytes=-1", "'drop_bytes' must be >= 0");
  // Out-of-range values parse: the operator must reject them (negative cases).
  EXPECT_EQ(parse_fa_problem("fa:s=8:keep_prob=1.5:pse_type=7").pse_type, 7);
}

TEST(ToolsPse, AttributesReachTheCase) {
  FaCase c = describe_case(parse_fa_problem(
      "fa:b1n2s=16d=64:pse_type=3:pse=slopes_n:q_start=4:kv_start=1:keep_prob=0.75:drop_seed=9:drop_offset=32"));
  EXPECT_EQ(c.attrs.pse_type, 3);
  EXPECT_EQ(c.attrs.q_start_idx, (std::vector<int64_t>{4}));
  EXPECT_EQ(c.attrs.kv_start_idx, (std::vector<int64_t>{1}));
  EXPECT_EQ(c.attrs.keep_prob, 0.75);
  EXPECT_EQ(c.attrs.seed, 9);
  EXPECT_EQ(c.attrs.offset, 32);
  EXPECT_FALSE(c.inputs.drop_mask);  // the generator: no tensor
  ASSERT_TRUE(c.descs().pse);
  EXPECT_EQ(c.descs().pse->dtype, DType::kFloat32);
}

TEST(ToolsPse, ShapesOfEveryForm) {
  auto shape = [](const std::string& text) { return describe_case(parse_fa_problem(text)).inputs.pse->desc.shape; };
  using Shape = std::vector<int64_t>;
  const std::string base = "fa:b2n4g2s1=5s2=7d=16:dt=bf16:pse=";
  EXPECT_EQ(shape(base + "bnss"), (Shape{2, 4, 5, 7}));
  EXPECT_EQ(shape(base + "1nss"), (Shape{1, 4, 5, 7}));
  EXPECT_EQ(shape(base + "bn1s"), (Shape{2, 4, 1, 7}));
  EXPECT_EQ(shape(base + "1n1s"), (Shape{1, 4, 1, 7}));
  EXPECT_EQ(shape(base + "alibi"), (Shape{2, 4, 1024, 7}));
  EXPECT_EQ(shape(base + "alibi1"), (Shape{1, 4, 1024, 7}));
  EXPECT_EQ(shape(base + "slopes_bn"), (Shape{2, 4}));
  EXPECT_EQ(shape(base + "slopes_n"), (Shape{4}));
  EXPECT_EQ(describe_case(parse_fa_problem(base + "bnss")).inputs.pse->desc.dtype, DType::kBFloat16);
  EXPECT_EQ(describe_case(parse_fa_problem(base + "bnss:pse_dt=fp32")).inputs.pse->desc.dtype, DType::kFloat32);
  // TND, batches (S1, S2) = (3, 4) and (6, 2): packed BNSS and BN1S per batch, compressed with S2max.
  const std::string tnd = "fa:n3d=16:layout=TND:seqq=3,9:seqkv=4,6:pse=";
  EXPECT_EQ(shape(tnd + "bnss"), (Shape{3 * (3 * 4 + 6 * 2)}));
  EXPECT_EQ(shape(tnd + "bn1s"), (Shape{3 * (4 + 2)}));
  EXPECT_EQ(shape(tnd + "alibi"), (Shape{2, 3, 1024, 4}));
  EXPECT_EQ(shape(tnd + "alibi1"), (Shape{1, 3, 1024, 4}));
  EXPECT_EQ(shape(tnd + "slopes_bn"), (Shape{2, 3}));
}

TEST(ToolsPse, AlibiCompressedIsTheLastRowsOfTheFullPse) {
  // S1 = S2 = 1100: the full pse is slope * -|i - j|; the compressed tensor holds rows 76..1099.
  FaCase c = generated("fa:b2n2s=1100d=16:layout=BNSD:sparse=3:pse=alibi");
  std::vector<double> v = decode_values(*c.inputs.pse);
  const int64_t s = 1100, rows = 1024;
  for (int64_t b : {0, 1}) {
    for (int64_t n : {0, 1}) {
      const double slope = static_cast<float>(alibi_slope(b, n, 2));
      for (int64_t r : {0, 500, 1023}) {
        for (int64_t j : {0, 75, 76, 600, 1099}) {
          const int64_t i = s - rows + r;
          const double want = static_cast<float>(-slope * std::abs(i - j));
          EXPECT_EQ(v[static_cast<std::size_t>(((b * 2 + n) * rows + r) * s + j)], want) << b << n << r << j;
        }
      }
    }
  }
  EXPECT_EQ(alibi_slope(0, 0, 8), 0.5);
  EXPECT_EQ(alibi_slope(1, 7, 8), std::exp2(-8.0) / 2);
}

TEST(ToolsPse, SlopesAndRandomFormsAreDeterministic) {
  FaCase slopes = generated("fa:b2n4s=8d=16:pse_type=2:pse=slopes_bn");
  std::vector<double> v = decode_values(*slopes.inputs.pse);
  ASSERT_EQ(v.size(), 8u);
  EXPECT_EQ(v[5], static_cast<float>(alibi_slope(1, 1, 4)));
  FaCase a = generated("fa:b2n2s=9d=16:dt=fp16:pse=bnss"), b = generated("fa:b2n2s=9d=16:dt=fp16:pse=bnss");
  EXPECT_EQ(a.inputs.pse->bytes, b.inputs.pse->bytes);
  EXPECT_EQ(a.inputs.pse->bytes.size(), 2u * 2 * 9 * 9 * 2);
  // Adding a pse does not change query, key or value.
  FaCase plain = generated("fa:b2n2s=9d=16:dt=fp16");
  EXPECT_EQ(plain.inputs.query.bytes, a.inputs.query.bytes);
  EXPECT_EQ(plain.inputs.value.bytes, a.inputs.value.bytes);
  for (double x : decode_values(*a.inputs.pse)) EXPECT_TRUE(x >= -1.0 && x <= 1.0) << x;
}

TEST(ToolsPse, NormalSlopesAreLargeSeededAndOnlyForSlopeForms) {
  const char* text = "fa:b2n4s=8d=16:pse_type=3:pse=slopes_bn:slopes=normal";
  EXPECT_EQ(to_string(parse_fa_problem(text)),
            "fa:b2n4g1s=8d=16:layout=BSND:dt=fp32:pse_type=3:pse=slopes_bn:slopes=normal");
  FaCase a = generated(text), b = generated(text), other = generated(text, 4);
  EXPECT_EQ(a.inputs.pse->bytes, b.inputs.pse->bytes);
  EXPECT_NE(a.inputs.pse->bytes, other.inputs.pse->bytes);
  const std::vector<double> v = decode_values(*a.inputs.pse);
  ASSERT_EQ(v.size(), 8u);
  // N(0, 1) draws: both signs, and not ALiBi's 2^(-8(n+1)/N1)/(b+1).
  EXPECT_TRUE(std::any_of(v.begin(), v.end(), [](double x) { return x < 0; }));
  EXPECT_NE(v[5], static_cast<float>(alibi_slope(1, 1, 4)));
  // The ALiBi-compressed forms take a normal slope per (batch, head): row 1023, column 0 is -slope·(S2 - 1).
  FaCase compressed = generated("fa:b1n2s=1024d=16:sparse=3:pse_type=0:pse=alibi:slopes=normal");
  const std::vector<double> pse = decode_values(*compressed.inputs.pse);
  EXPECT_GT(std::fabs(pse[1023 * 1024] / 1023.0), 0.0);
  // Query, key and value do not depend on the slopes.
  EXPECT_EQ(generated("fa:b2n4s=8d=16:pse_type=3:pse=slopes_bn").inputs.query.bytes, a.inputs.query.bytes);
  EXPECT_THROW(parse_fa_problem("fa:s=8:pse=bnss:slopes=normal"), Error);
  EXPECT_THROW(parse_fa_problem("fa:s=8:pse=slopes_n:slopes=big"), Error);
}

TEST(ToolsDropout, ExplicitMaskIsBitPackedAtKeepProb) {
  // 1·2·13·31 = 806 elements: 101 bytes, the last one with 2 padding bits.
  FaCase c = generated("fa:b1n2s1=13s2=31d=16:keep_prob=0.25:drop_mask=explicit");
  ASSERT_TRUE(c.inputs.drop_mask);
  EXPECT_EQ(c.inputs.drop_mask->desc.dtype, DType::kUInt8);
  EXPECT_EQ(c.inputs.drop_mask->desc.shape, (std::vector<int64_t>{101}));
  EXPECT_EQ(drop_mask_bytes(806), 101);
  EXPECT_EQ(drop_mask_bytes(0), 0);
  int64_t kept = 0;
  for (int64_t k = 0; k < 806; ++k) kept += drop_bit(*c.inputs.drop_mask, k);
  EXPECT_NEAR(static_cast<double>(kept) / 806, 0.25, 0.06);
  // LSB first: bit k is (byte k >> 3) >> (k & 7).
  const uint8_t byte = c.inputs.drop_mask->bytes[3];
  for (int t = 0; t < 8; ++t) EXPECT_EQ(drop_bit(*c.inputs.drop_mask, 24 + t), ((byte >> t) & 1) != 0);
  EXPECT_FALSE(drop_bit(*c.inputs.drop_mask, 808));

  // TND: N1·Σ S1_b·S2_b = 2·(7·9 + 13·22) = 698 bits, 88 bytes; overrides of dtype and size.
  EXPECT_EQ(
      describe_case(parse_fa_problem("fa:n2d=16:layout=TND:seqq=7,20:seqkv=9,31:keep_prob=0.5:drop_mask=explicit"))
          .inputs.drop_mask->desc.shape,
      (std::vector<int64_t>{88}));
  FaCase odd = describe_case(parse_fa_problem("fa:s=8:keep_prob=0.5:drop_mask=explicit:drop_dt=int32:drop_bytes=12"));
  EXPECT_EQ(odd.inputs.drop_mask->desc.dtype, DType::kInt32);
  EXPECT_EQ(odd.inputs.drop_mask->desc.shape, (std::vector<int64_t>{3}));
}

TEST(ToolsDropout, KeepProbOneStillGivesAMaskToIgnore) {
  // With keep_prob 1 the operator ignores drop_mask: the tool fills it with half zeros so that misuse shows.
  FaCase c = generated("fa:b1n2s=32d=16:drop_mask=explicit");
  EXPECT_EQ(c.attrs.keep_prob, 1.0);
  int64_t kept = 0;
  for (int64_t k = 0; k < 2 * 32 * 32; ++k) kept += drop_bit(*c.inputs.drop_mask, k);
  EXPECT_GT(kept, 2 * 32 * 32 / 4);
  EXPECT_LT(kept, 2 * 32 * 32 * 3 / 4);
}

TEST(ToolsGolden, PseDropMaskAndDropoutAttributesRoundTrip) {
  FaCase c = generated(
      "fa:b1n2s=8d=16:dt=bf16:pse_type=3:pse=slopes_bn:q_start=2:kv_start=1:keep_prob=0.5:drop_mask=explicit:"
      "drop_seed=-7:drop_offset=48");
  std::vector<HostData> outs{c.inputs.query, HostData{TensorDesc{DType::kFloat32, {1, 2, 8, 8}}, {}},
                             HostData{TensorDesc{DType::kFloat32, {1, 2, 8, 8}}, {}}};
  for (HostData* h : {&outs[1], &outs[2]}) h->bytes.assign(h->desc.bytes(), 0);
  const std::string dir = (std::filesystem::temp_directory_path() / "cannon_tools_pse_golden").string();
  std::filesystem::remove_all(dir);
  write_golden(dir, c, outs, "test");
  GoldenCase golden = load_golden(dir);
  const FaCase& g = case_of<FaCase>(golden);
  ASSERT_TRUE(g.inputs.pse && g.inputs.drop_mask);
  EXPECT_EQ(g.inputs.pse->desc.dtype, DType::kFloat32);
  EXPECT_EQ(g.inputs.pse->bytes, c.inputs.pse->bytes);
  EXPECT_EQ(g.inputs.drop_mask->desc.dtype, DType::kUInt8);
  EXPECT_EQ(g.inputs.drop_mask->bytes, c.inputs.drop_mask->bytes);
  EXPECT_EQ(g.attrs.pse_type, 3);
  EXPECT_EQ(g.attrs.q_start_idx, (std::vector<int64_t>{2}));
  EXPECT_EQ(g.attrs.kv_start_idx, (std::vector<int64_t>{1}));
  EXPECT_EQ(g.attrs.keep_prob, 0.5);
  EXPECT_EQ(g.attrs.seed, -7);
  EXPECT_EQ(g.attrs.offset, 48);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cannon::tools
