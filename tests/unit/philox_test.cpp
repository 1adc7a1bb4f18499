// Philox4x32 against Random123's published known answers, and Ascend 950's dropout stream built on it: the
// byte -> element mapping, the 16-padding of rows, the keep threshold and the kept fraction at S = 2048.
#include "host/runtime/philox.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace cannon::philox {
namespace {

struct Kat {
  int rounds;
  Counter ctr;
  Key key;
  Counter expected;
};

// Random123's tests/kat_vectors, the philox4x32 lines (rounds 7 and 10).
const Kat kKats[] = {
    {7, {0, 0, 0, 0}, {0, 0}, {0x5f6fb709, 0x0d893f64, 0x4f121f81, 0x4f730a48}},
    {7, {~0u, ~0u, ~0u, ~0u}, {~0u, ~0u}, {0x5207ddc2, 0x45165e59, 0x4d8ee751, 0x8c52f662}},
    {7,
     {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a}},
    {10, {0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {10, {~0u, ~0u, ~0u, ~0u}, {~0u, ~0u}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {10,
     {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

TEST(Philox, Random123KnownAnswers) {
  for (const Kat& kat : kKats) {
    EXPECT_EQ(philox4x32(kat.ctr, kat.key, kat.rounds), kat.expected) << "rounds " << kat.rounds;
  }
}

TEST(Philox, RoundCountMatters) {
  // The 7-round stream is the 10-round code stopped early, not a different function.
  EXPECT_NE(philox4x32({1, 2, 3, 4}, {5, 6}, 7), philox4x32({1, 2, 3, 4}, {5, 6}, 10));
}

TEST(FaDropoutGenerator, Threshold) {
  EXPECT_EQ(dropout_threshold(0.9), 229u);  // 229.5 truncated
  EXPECT_EQ(dropout_threshold(0.5), 127u);
  EXPECT_EQ(dropout_threshold(0.8), 204u);
  EXPECT_EQ(dropout_threshold(1.0), 255u);
  EXPECT_EQ(dropout_threshold(1e-4), 0u);
}

TEST(FaDropoutGenerator, KeyCounterAndByteOrder) {
  // seed 0x123456789ab -> key (lo, hi); offset 17 -> counter starts at ceil(17/16) = 2.
  const DropoutGenerator gen(0x123456789ab, 17, 0.5);
  EXPECT_EQ(gen.key, (Key{0x3456789ab & 0xffffffffu, 0x123}));
  EXPECT_EQ(gen.offset_groups, 2u);
  for (uint64_t e : {0ull, 1ull, 5ull, 15ull, 16ull, 37ull, 1000ull}) {
    const uint64_t c = 2 + e / 16;
    const Counter x = philox4x32({static_cast<uint32_t>(c), 0, 0, 0}, gen.key, 7);
    const uint32_t t = e % 16;
    const uint32_t byte = (x[t / 4] >> (8 * (t % 4))) & 0xff;
    EXPECT_EQ(gen.keep(e), byte <= 127u) << "e " << e;
  }
  EXPECT_EQ(DropoutGenerator(-1, 0, 0.5).key, (Key{~0u, ~0u}));  // two's complement
  EXPECT_EQ(DropoutGenerator(0, 16, 0.5).offset_groups, 1u);
  EXPECT_EQ(DropoutGenerator(0, 0, 0.5).offset_groups, 0u);
}

// Packed masks from a transcription of Huawei's golden gen_dropmask (test_utils.py), then np.packbits LSB-first.
TEST(FaDropoutGenerator, MatchesAscendGolden) {
  struct Case {
    int64_t b, n1, s1, s2;
    double keep_prob;
    int64_t seed, offset;
    std::vector<uint8_t> packed;
  };
  const Case cases[] = {
      {1,
       2,
       3,
       20,
       0.8,
       2,
       0,
       {0x7b, 0xbf, 0x7e, 0xff, 0xfd, 0xef, 0xfc, 0xbf, 0xff, 0xdf, 0xff, 0x6d, 0xbe, 0x05, 0xff}},
      {2, 1, 2, 7, 0.5, -5, 33, {0xe0, 0x90, 0xcb, 0x0c}},
      {1, 1, 1, 48, 0.9, 0x123456789, 16, {0xff, 0xff, 0xfe, 0xfd, 0xff, 0xfe}},
  };
  for (const Case& c : cases) {
    const DropoutShape shape{c.n1, std::vector<int64_t>(c.b, c.s1), std::vector<int64_t>(c.b, c.s2)};
    EXPECT_EQ(generate_drop_mask(DropoutGenerator(c.seed, c.offset, c.keep_prob), shape), c.packed) << "s2 " << c.s2;
  }
}

TEST(FaDropoutGenerator, TndBlocksPadEachRow) {
  // Batches with S1_b, S2_b = (3, 5), (0, 4), (2, 17), (1, 0): every element checked against its padded index.
  const DropoutShape shape{2, {3, 0, 2, 1}, {5, 4, 17, 0}};
  const DropoutGenerator gen(7, 40, 0.7);
  const std::vector<uint8_t> mask = generate_drop_mask(gen, shape);
  ASSERT_EQ(shape.numels(), 2 * (3 * 5 + 2 * 17));
  ASSERT_EQ(mask.size(), static_cast<size_t>((shape.numels() + 7) / 8));
  int64_t k = 0, base = 0;
  for (size_t b = 0; b < shape.s1.size(); ++b) {
    const int64_t s2p = (shape.s2[b] + 15) / 16 * 16;
    for (int64_t n = 0; n < shape.n1; ++n) {
      for (int64_t i = 0; i < shape.s1[b]; ++i) {
        for (int64_t j = 0; j < shape.s2[b]; ++j, ++k) {
          const uint64_t e = base + (n * shape.s1[b] + i) * s2p + j;
          EXPECT_EQ((mask[k >> 3] >> (k & 7)) & 1, gen.keep(e) ? 1 : 0) << "b " << b << " n " << n << " i " << i;
        }
      }
    }
    base += shape.n1 * shape.s1[b] * s2p;
  }
  EXPECT_EQ(mask.back() >> (k & 7), 0) << "padding bits of the last byte are 0";
}

TEST(FaDropoutGenerator, KeptFractionAtS2048) {
  for (double keep_prob : {0.9, 0.5, 0.1}) {
    const DropoutShape shape{1, {2048}, {2048}};
    const std::vector<uint8_t> mask = generate_drop_mask(DropoutGenerator(1234, 0, keep_prob), shape);
    int64_t kept = 0;
    for (uint8_t byte : mask) kept += __builtin_popcount(byte);
    const double fraction = static_cast<double>(kept) / shape.numels();
    EXPECT_NEAR(fraction, keep_prob, 0.01) << keep_prob;
    // The exact expectation is (T + 1) / 256; 4M samples put the fraction within ~0.0015 of it (6 sigma).
    EXPECT_NEAR(fraction, (dropout_threshold(keep_prob) + 1) / 256.0, 0.0015) << keep_prob;
  }
}

}  // namespace
}  // namespace cannon::philox
