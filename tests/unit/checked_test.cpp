// The overflow-checked size helpers (host/runtime/checked.hpp): exact results where they fit, an Error naming the
// argument where they do not, and view extents that cannot wrap whatever shape, strides and offset they get.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "host/runtime/checked.hpp"

namespace cannon {
namespace {

template <typename Call>
void expect_invalid(Call&& call, const char* needle) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Checked, ArithmeticIsExactOrRefused) {
  EXPECT_EQ(checked_mul(int64_t{1} << 31, int64_t{1} << 31, "x"), int64_t{1} << 62);
  expect_invalid([] { checked_mul(int64_t{1} << 32, int64_t{1} << 31, "a·b"); }, "a·b");
  expect_invalid([] { checked_add(INT64_MAX, 1, "sum"); }, "sum");
  expect_invalid([] { checked_sub(INT64_MIN, 1, "diff"); }, "diff");
  expect_invalid([] { checked_mul_u64(UINT64_MAX / 2, 3, "bytes"); }, "bytes");
  EXPECT_EQ(checked_numel({3, 0, INT64_MAX}, "t"), 0);  // empty, however large the other dims
  expect_invalid([] { checked_numel({2, -1}, "t"); }, "dimension 1");
  expect_invalid([] { checked_numel({int64_t{1} << 32, int64_t{1} << 32}, "t"); }, "overflows");
  expect_invalid([] { checked_bytes({int64_t{1} << 31, int64_t{1} << 31}, 4, "t"); }, "overflows");
}

TEST(Checked, ViewExtentsFromLowestToHighestByte) {
  const ByteRange r = view_byte_range(64, {2, 3}, {3, 1}, 4, "v");
  EXPECT_EQ(r.lo, 64u);
  EXPECT_EQ(r.hi, 64u + 6 * 4);
  const ByteRange neg = view_byte_range(64, {2, 3}, {-3, 1}, 4, "v");  // row 1 lies 3 elements before row 0
  EXPECT_EQ(neg.lo, 64u - 12);
  EXPECT_EQ(neg.hi, 64u + 12);
  EXPECT_TRUE(view_byte_range(5, {0, 7}, {1, 1}, 4, "v").empty());
  expect_invalid([] { view_byte_range(8, {3}, {-8}, 4, "v"); }, "before byte 0");
  expect_invalid([] { view_byte_range(UINT64_MAX - 3, {2}, {1}, 4, "v"); }, "overflows");
  expect_invalid([] { view_byte_range(0, {2}, {1, 1}, 4, "v"); }, "strides");
}

// Found by fuzz_op_plan: (2^62 - 1)·(2^63 - 1) elements times 8 bytes used to overflow the 128-bit product.
TEST(Checked, SpansBeyond2To64ElementsAreRefused) {
  expect_invalid([] { view_byte_range(0, {int64_t{1} << 62}, {INT64_MAX}, 8, "v"); }, "2^64");
  expect_invalid([] { view_byte_range(0, {int64_t{1} << 62}, {INT64_MIN + 1}, 8, "v"); }, "2^64");
  expect_invalid([] { view_byte_range(0, {2, 2, 2, 2, 2, 2}, std::vector<int64_t>(6, INT64_MAX), 1, "v"); }, "2^64");
}

}  // namespace
}  // namespace cannon
