// Tests of the masking part of problem strings and of generated masks: every new key parses and prints back,
// the mask default follows sparse=, Ascend's compressed masks have the documented contents, random masks have
// the asked density, mask_rows fully masks exactly that many rows, and mode 5 carries the prefix pattern.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "cannon/error.hpp"
#include "tests/unit/tools_test_util.hpp"
#include "tools/drivers/fa/fa_case.hpp"
#include "tools/drivers/fa/fa_mask.hpp"
#include "tools/drivers/fa/fa_problem.hpp"

namespace cannon::tools {
namespace {

TEST(ToolsMask, ParsesMaskingAttributes) {
  FaProblem p = parse_fa_problem(
      "fa:b2n4s=16:sparse=5:pre=-3:next=7:prefix=0,9:inner_precise=2:mask=bnss:mask_dt=bool:mask_density=0.5:"
      "mask_rows=3");
  EXPECT_EQ(p.sparse, 5);
  EXPECT_EQ(p.pre, -3);
  EXPECT_EQ(p.next, 7);
  EXPECT_EQ(p.prefix, (std::vector<int64_t>{0, 9}));
  EXPECT_EQ(p.inner_precise, 2);
  EXPECT_EQ(p.mask, "bnss");
  EXPECT_EQ(p.mask_dt, DType::kBool);
  EXPECT_EQ(p.mask_density, 0.5);
  EXPECT_EQ(p.mask_rows, 3);

  FaCase c = describe_case(p);
  EXPECT_EQ(c.attrs.sparse_mode, 5);
  EXPECT_EQ(c.attrs.pre_tokens, -3);
  EXPECT_EQ(c.attrs.next_tokens, 7);
  EXPECT_EQ(c.attrs.prefix, (std::vector<int64_t>{0, 9}));
  EXPECT_EQ(c.attrs.inner_precise, 2);
  ASSERT_TRUE(c.inputs.atten_mask);
  EXPECT_EQ(c.inputs.atten_mask->desc, (TensorDesc{DType::kBool, {2, 4, 16, 16}}));
  ASSERT_TRUE(c.descs().atten_mask);
}

TEST(ToolsMask, DefaultMaskFollowsSparseMode) {
  auto mask = [](const std::string& attrs) { return parse_fa_problem("fa:b1s=8" + attrs).mask; };
  EXPECT_EQ(mask(""), "none");
  EXPECT_EQ(mask(":pre=3"), "none");
  EXPECT_EQ(mask(":sparse=0"), "ss");
  EXPECT_EQ(mask(":sparse=1"), "ss");
  for (const char* mode : {"2", "3", "4", "7", "8"}) EXPECT_EQ(mask(std::string(":sparse=") + mode), "comp");
  EXPECT_EQ(mask(":sparse=5"), "b1ss");
  EXPECT_EQ(mask(":sparse=6"), "comp6");
  EXPECT_EQ(mask(":sparse=2:mask=none"), "none");
  FaProblem none = parse_fa_problem("fa:b1s=8:sparse=3:mask=none");
  EXPECT_FALSE(describe_case(none).inputs.atten_mask);
  EXPECT_EQ(describe_case(none).attrs.sparse_mode, 3);
}

TEST(ToolsMask, CanonicalFormRoundTrips) {
  for (const char* text :
       {"fa:b2n4s=16:sparse=5:pre=-3:next=7:prefix=0,9:inner_precise=2:mask=bnss:mask_dt=bool:mask_density=0.5",
        "fa:b1s=8:sparse=0", "fa:b1s=8:sparse=0:mask=ss", "fa:b1s=8:mask=ss:mask_rows=2", "fa:b1s=8:sparse=2",
        "fa:b1s=8:sparse=2:mask=none", "fa:b1s=8:sparse=2:mask=ss", "fa:b1s=8:sparse=6:prefix=3:mask=comp",
        "fa:b1s=8:mask=11ss:mask_density=0.123456789:seed=4", "fa:n2d=64:layout=TND:seqq=3,9:sparse=7:next=-1",
        "fa:b1s=8:sparse=9:inner_precise=5:mask_dt=fp32", "fa:b1s=8:pre=2147483647:next=0"}) {
    FaProblem p = parse_fa_problem(text);
    std::string canonical = to_string(p);
    EXPECT_EQ(parse_fa_problem(canonical), p) << text << " -> " << canonical;
    EXPECT_EQ(to_string(parse_fa_problem(canonical)), canonical);
  }
  EXPECT_EQ(to_string(parse_fa_problem("fa:b1n1s=8d=64:sparse=2:mask=comp")),
            "fa:b1n1g1s=8d=64:layout=BSND:dt=fp32:sparse=2");
  EXPECT_EQ(to_string(parse_fa_problem("fa:b1n1s=8d=64:mask=ss")), "fa:b1n1g1s=8d=64:layout=BSND:dt=fp32:sparse=0");
  EXPECT_EQ(to_string(parse_fa_problem("fa:b1n1s=8d=64:sparse=0:mask=none")), "fa:b1n1g1s=8d=64:layout=BSND:dt=fp32");
}

TEST(ToolsMask, RejectsBadMaskAttributes) {
  auto rejects = [](const std::string& text, const std::string& needle) {
    try {
      parse_fa_problem(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  rejects("fa:b1:mask=bsss", "unknown mask 'bsss'");
  rejects("fa:b1:mask_density=1.5", "'mask_density' needs a number in [0, 1]");
  rejects("fa:b1:mask_rows=-1", "'mask_rows' must be >= 0");
  rejects("fa:b1:sparse=2:mask_rows=1", "mask_rows and mask_causal need a mask tensor");
  rejects("fa:b1:mask_rows=1", "mask_rows and mask_causal need a mask tensor");
  rejects("fa:b1:sparse=3:mask_causal=1", "mask_rows and mask_causal need a mask tensor");
  rejects("fa:b1:sparse=0:mask_causal=2", "'mask_causal' needs 0 or 1");
  rejects("fa:b1:prefix=1,x", "'prefix' needs an integer");
  rejects("fa:b1:mask_dt=int9", "int9");
}

TEST(ToolsMask, CompressedMasksHaveAscendsContents) {
  std::vector<uint8_t> m = compressed_mask(kCompressedRows);
  ASSERT_EQ(m.size(), 2048u * 2048u);
  for (int64_t x = 0; x < 2048; x += 7) {
    for (int64_t y = 0; y < 2048; ++y) ASSERT_EQ(m[x * 2048 + y], y > x ? 1 : 0) << x << "," << y;
  }
  std::vector<uint8_t> m6 = compressed_mask(kCompressedRows6);
  ASSERT_EQ(m6.size(), 3072u * 2048u);
  EXPECT_TRUE(std::equal(m.begin(), m.end(), m6.begin()));
  for (int64_t x = 2048; x < 3072; ++x) {
    for (int64_t y = 0; y < 2048; ++y) ASSERT_EQ(m6[x * 2048 + y], y >= 1024 ? 1 : 0) << x << "," << y;
  }
  FaCase c = generated("fa:b1s=8:sparse=6:prefix=3:mask_dt=bool");
  EXPECT_EQ(c.inputs.atten_mask->desc, (TensorDesc{DType::kBool, {3072, 2048}}));
  EXPECT_EQ(c.inputs.atten_mask->bytes, m6);
  FaCase f = generated("fa:b1s=8:sparse=3:mask_dt=fp32");  // for negative cases: 0/1 as float32
  EXPECT_EQ(f.inputs.atten_mask->desc, (TensorDesc{DType::kFloat32, {2048, 2048}}));
  EXPECT_EQ(decode_values(*f.inputs.atten_mask)[1], 1.0);
}

TEST(ToolsMask, RandomMasksHaveTheirDensityAndAreSeeded) {
  for (double density : {0.0, 0.3, 0.8, 1.0}) {
    FaCase c = generated("fa:b2n3s1=40s2=50:mask=bnss:mask_density=" + std::to_string(density));
    const std::vector<uint8_t>& bits = c.inputs.atten_mask->bytes;
    ASSERT_EQ(bits.size(), 2u * 3 * 40 * 50);
    double ones = std::accumulate(bits.begin(), bits.end(), 0.0);
    EXPECT_NEAR(ones / bits.size(), density, 0.03) << density;
  }
  FaCase a = generated("fa:b1s=32:mask=ss", 5), b = generated("fa:b1s=32:mask=ss", 5),
         c = generated("fa:b1s=32:mask=ss", 6);
  EXPECT_EQ(a.inputs.atten_mask->bytes, b.inputs.atten_mask->bytes);
  EXPECT_NE(a.inputs.atten_mask->bytes, c.inputs.atten_mask->bytes);
  // The mask has a stream of its own: adding a mask leaves query, key and value unchanged.
  EXPECT_EQ(a.inputs.query.bytes, generated("fa:b1s=32", 5).inputs.query.bytes);
}

TEST(ToolsMask, MaskRowsFullyMaskExactlyThatManyRows) {
  for (const char* kind : {"bnss", "b1ss", "11ss", "ss"}) {
    FaCase c = generated(std::string("fa:b2n3s1=20s2=30:mask_density=0.2:mask_rows=5:mask=") + kind);
    const std::vector<uint8_t>& bits = c.inputs.atten_mask->bytes;
    int full = 0;
    for (std::size_t r = 0; r < bits.size() / 30; ++r) {
      full += std::all_of(bits.begin() + r * 30, bits.begin() + (r + 1) * 30, [](uint8_t v) { return v == 1; });
    }
    EXPECT_EQ(full, 5) << kind;  // a random row of 30 at density 0.2 is all 1 with probability 0.2^30
  }
  FaCase all = generated("fa:b1s=4:mask=ss:mask_density=0:mask_rows=99");  // more rows than the mask has
  EXPECT_EQ(all.inputs.atten_mask->bytes, std::vector<uint8_t>(16, 1));
}

TEST(ToolsMask, CausalMaskMasksExactlyTheFuture) {
  FaCase c = generated("fa:b2n2s1=5s2=7:mask=bnss:mask_density=0:mask_causal=1");
  const std::vector<uint8_t>& bits = c.inputs.atten_mask->bytes;
  ASSERT_EQ(bits.size(), 2u * 2 * 5 * 7);
  for (std::size_t r = 0; r < bits.size() / 7; ++r) {
    for (std::size_t j = 0; j < 7; ++j) EXPECT_EQ(bits[r * 7 + j], j > r % 5 ? 1 : 0) << r << "," << j;
  }
}

TEST(ToolsMask, PrefixModeCarriesThePrefixPatternPerBatch) {
  // S1=6, S2=9 (D=3), prefix 0 and 7, no random ones: 1 iff j - i > 3 and j >= prefix[b].
  FaCase c = generated("fa:b2n2s1=6s2=9:sparse=5:prefix=0,7:mask_density=0");
  EXPECT_EQ(c.inputs.atten_mask->desc.shape, (std::vector<int64_t>{2, 1, 6, 9}));
  const std::vector<uint8_t>& bits = c.inputs.atten_mask->bytes;
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t i = 0; i < 6; ++i) {
      for (int64_t j = 0; j < 9; ++j) {
        int expected = (j - i > 3 && j >= (b == 0 ? 0 : 7)) ? 1 : 0;
        EXPECT_EQ(bits[(b * 6 + i) * 9 + j], expected) << b << "," << i << "," << j;
      }
    }
  }
}

TEST(ToolsMask, TndMasksAreLongestQueryByLongestKey) {
  FaCase c = describe_case(parse_fa_problem("fa:n2d=16:layout=TND:seqq=3,10,12:seqkv=5,6,20:mask=ss"));
  EXPECT_EQ(c.inputs.atten_mask->desc.shape, (std::vector<int64_t>{7, 14}));
  EXPECT_EQ(describe_case(parse_fa_problem("fa:n2d=16:layout=TND:seqq=3,9:sparse=8")).inputs.atten_mask->desc.shape,
            (std::vector<int64_t>{2048, 2048}));
}

}  // namespace
}  // namespace cannon::tools
