// Tests of the FlashAttentionScore problem strings shared by cannon-conformance and cannon-bench: every key,
// the canonical printer (parse(print(p)) == p), the shapes a problem describes, and the errors for typos.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "cannon/error.hpp"
#include "tools/drivers/fa/fa_case.hpp"
#include "tools/drivers/fa/fa_problem.hpp"

namespace cannon::tools {
namespace {

TEST(ToolsProblem, ParsesDimensionsAndAttributes) {
  FaProblem p = parse_fa_problem("fa:b2n8g2s1=113s2=203d=64:layout=BSH:dt=bf16:scale=0.25:seed=9");
  EXPECT_EQ(p.b, 2);
  EXPECT_EQ(p.n1, 8);
  EXPECT_EQ(p.n2, 4);
  EXPECT_EQ(p.s1, 113);
  EXPECT_EQ(p.s2, 203);
  EXPECT_EQ(p.dk, 64);
  EXPECT_EQ(p.dv, 64);
  EXPECT_EQ(p.layout, "BSH");
  EXPECT_EQ(p.dtype, DType::kBFloat16);
  EXPECT_EQ(p.effective_scale(), 0.25);
  EXPECT_EQ(p.seed, 9u);

  FaProblem q = parse_fa_problem("fa:n8n2=3s113dk=192dv=128");
  EXPECT_EQ(q.n2, 3);
  EXPECT_EQ(q.s1, 113);  // "s113" without '=' is S, not S1
  EXPECT_EQ(q.s2, 113);
  EXPECT_EQ(q.dk, 192);
  EXPECT_EQ(q.dv, 128);
  EXPECT_DOUBLE_EQ(q.effective_scale(), 1 / std::sqrt(192.0));
}

TEST(ToolsProblem, CanonicalFormRoundTrips) {
  for (const char* text :
       {"fa:b2n8g2s1=113s2=203d=64:layout=BSND:dt=bf16", "fa:n8n2=3s=7dk=192dv=128:dt=fp16",
        "fa:n4g4d=128:layout=TND:seqq=2,5,9:seqkv=3,3,10:softmax_layout=TND:seed=7", "fa:b3s=113:layout=TND:scale=0.1",
        "fa:s1=5s2=9:head_num=3:layout=XYZ", "fa:b1n0n2=3s=1d=432"}) {  // n1 = 0 (a negative case) must not print as g0
    FaProblem p = parse_fa_problem(text);
    std::string canonical = to_string(p);
    EXPECT_EQ(parse_fa_problem(canonical), p) << text << " -> " << canonical;
    EXPECT_EQ(to_string(parse_fa_problem(canonical)), canonical);
  }
  EXPECT_EQ(to_string(parse_fa_problem("fa:b2n8g2s1=113s2=203d=64:layout=BSND:dt=bf16")),
            "fa:b2n8g2s1=113s2=203d=64:layout=BSND:dt=bf16");
}

TEST(ToolsProblem, TndSequencesDefaultAndDescribeShapes) {
  FaProblem uniform = parse_fa_problem("fa:b3n4g2s1=5s2=7d=64:layout=TND");
  EXPECT_EQ(uniform.cum_seq_q(), (std::vector<int64_t>{5, 10, 15}));
  EXPECT_EQ(uniform.cum_seq_kv(), (std::vector<int64_t>{7, 14, 21}));
  FaCase c = describe_case(uniform);
  EXPECT_EQ(c.inputs.query.desc.shape, (std::vector<int64_t>{15, 4, 64}));
  EXPECT_EQ(c.inputs.key.desc.shape, (std::vector<int64_t>{21, 2, 64}));

  FaProblem varlen = parse_fa_problem("fa:n2d=64:layout=TND:seqq=3,7,12,0,0");
  EXPECT_EQ(varlen.b, 5);
  EXPECT_EQ(varlen.seqkv, varlen.seqq);  // seqkv defaults to seqq
  EXPECT_EQ(describe_case(varlen).inputs.query.desc.shape, (std::vector<int64_t>{12, 2, 64}));
}

TEST(ToolsProblem, DescribesEveryLayout) {
  auto shape = [](const char* layout) {
    FaProblem p = parse_fa_problem(std::string("fa:b2n4g2s1=3s2=5dk=32dv=16:layout=") + layout);
    FaCase c = describe_case(p);
    return std::vector<std::vector<int64_t>>{c.inputs.query.desc.shape, c.inputs.value.desc.shape};
  };
  using Shapes = std::vector<std::vector<int64_t>>;
  EXPECT_EQ(shape("BSH"), (Shapes{{2, 3, 128}, {2, 5, 32}}));
  EXPECT_EQ(shape("SBH"), (Shapes{{3, 2, 128}, {5, 2, 32}}));
  EXPECT_EQ(shape("BSND"), (Shapes{{2, 3, 4, 32}, {2, 5, 2, 16}}));
  EXPECT_EQ(shape("BNSD"), (Shapes{{2, 4, 3, 32}, {2, 2, 5, 16}}));
}

TEST(ToolsProblem, InputsAreDeterministicAndDifferPerTensor) {
  FaCase a = describe_case(parse_fa_problem("fa:b1n2s=9d=16:dt=bf16"));
  FaCase b = a;
  generate_inputs(a, 5);
  generate_inputs(b, 5);
  EXPECT_EQ(a.inputs.query.bytes, b.inputs.query.bytes);
  EXPECT_NE(a.inputs.query.bytes, a.inputs.key.bytes);
  generate_inputs(b, 6);
  EXPECT_NE(a.inputs.query.bytes, b.inputs.query.bytes);
}

TEST(ToolsProblem, RejectsTyposWithTheirName) {
  auto rejects = [](const char* text, const std::string& needle) {
    try {
      parse_fa_problem(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  rejects("fa:b2:foo=1", "unknown attribute 'foo'");
  rejects("fa:b2:sink=1", "not supported by this cannon release yet");
  rejects("fa:b2x3", "unknown dimension 'x'");
  rejects("fa:n8g3", "g=3 does not divide n=8");
  rejects("fa:s1=3s=4", "'s' and 's1'");
  rejects("fa:b2b3", "given twice");
  rejects("fb:b1", "prefix 'fa:'");
  rejects("fa:b2:seqq=1,2", "layout=TND");
  rejects("fa:b2:dt=int9", "int9");
  rejects("fa:b2:scale=abc", "'scale' needs a number");
  rejects("fa:b3:layout=TND:seqq=1,2", "b=3 but seqq has 2 entries");
}

}  // namespace
}  // namespace cannon::tools
