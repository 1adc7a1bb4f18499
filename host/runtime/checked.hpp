// Overflow-checked size, offset and stride arithmetic: the one helper every boundary uses (view checks,
// TensorDesc, the planners, the npy and golden readers). Sizes handed in by users can be anything up to 2^63, so
// a plain product or sum may wrap and turn an out-of-bounds range into one that looks small. Each helper either
// returns the exact result or throws Error(kParamInvalid) naming the argument, never a wrapped value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "host/runtime/check.hpp"

namespace cannon {

// a·b, a+b and a-b, exact, or Error(kParamInvalid) "<what>: a × b overflows int64".
inline int64_t checked_mul(int64_t a, int64_t b, std::string_view what) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) fail(Status::kParamInvalid, "{}: {} × {} overflows int64", what, a, b);
  return r;
}
inline int64_t checked_add(int64_t a, int64_t b, std::string_view what) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) fail(Status::kParamInvalid, "{}: {} + {} overflows int64", what, a, b);
  return r;
}
inline int64_t checked_sub(int64_t a, int64_t b, std::string_view what) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) fail(Status::kParamInvalid, "{}: {} - {} overflows int64", what, a, b);
  return r;
}
inline uint64_t checked_mul_u64(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) fail(Status::kParamInvalid, "{}: {} × {} overflows 64 bits", what, a, b);
  return r;
}
inline uint64_t checked_add_u64(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) fail(Status::kParamInvalid, "{}: {} + {} overflows 64 bits", what, a, b);
  return r;
}

// The product of dims (an element count). Every dim must be >= 0; a negative one or an overflowing product is
// Error(kParamInvalid) naming `what`.
inline int64_t checked_numel(const std::vector<int64_t>& dims, std::string_view what) {
  int64_t n = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0) fail(Status::kParamInvalid, "{}: dimension {} is {}; it must be >= 0", what, i, dims[i]);
  }
  for (int64_t d : dims) {
    if (d == 0) return 0;  // an empty tensor, however large its other dims
  }
  for (int64_t d : dims) {
    if (__builtin_mul_overflow(n, d, &n)) {
      fail(Status::kParamInvalid, "{}: the element count of a shape with dims {} overflows int64", what,
           fmt::join(dims, "×"));
    }
  }
  return n;
}

// numel·elem_size in bytes, checked the same way.
inline uint64_t checked_bytes(const std::vector<int64_t>& dims, std::size_t elem_size, std::string_view what) {
  return checked_mul_u64(static_cast<uint64_t>(checked_numel(dims, what)), elem_size, what);
}

// The bytes a strided view touches: [lo, hi) relative to the start of its buffer, hi exclusive. Empty views
// (some dim 0) touch nothing: lo == hi == offset. Strides are in elements and may be negative here; the operators'
// check_view rejects negative strides separately, since their kernels take only non-negative ones.
struct ByteRange {
  uint64_t lo = 0, hi = 0;
  bool empty() const { return lo == hi; }
  bool overlaps(const ByteRange& o) const { return !empty() && !o.empty() && lo < o.hi && o.lo < hi; }
};

// Computes the extent with 128-bit intermediates, so no shape/stride/offset combination can wrap: the result
// fails unless both ends are non-negative and fit in 64 bits.
inline ByteRange view_byte_range(uint64_t offset, const std::vector<int64_t>& shape,
                                 const std::vector<int64_t>& strides, std::size_t elem_size, std::string_view what) {
  if (strides.size() != shape.size()) {
    fail(Status::kParamInvalid, "{}: {} strides for a rank-{} shape", what, strides.size(), shape.size());
  }
  if (checked_numel(shape, what) == 0) return {offset, offset};
  // Element offsets of the lowest and highest element relative to `offset`. One span is below 2^126 in magnitude;
  // stopping as soon as a sum passes 2^64 elements (beyond any buffer) keeps every sum and product below 2^127.
  constexpr __int128 kLimit = static_cast<__int128>(1) << 64;
  __int128 low = 0, high = 0;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const __int128 span = static_cast<__int128>(shape[i] - 1) * strides[i];
    (span < 0 ? low : high) += span;
    if (high > kLimit || low < -kLimit) {
      fail(Status::kParamInvalid, "{}: the view's shape and strides span more than 2^64 elements", what);
    }
  }
  const __int128 elem = static_cast<__int128>(elem_size);
  const __int128 lo = static_cast<__int128>(offset) + low * elem;
  const __int128 hi = static_cast<__int128>(offset) + (high + 1) * elem;
  constexpr __int128 kMax = static_cast<__int128>(UINT64_MAX);
  if (lo < 0) fail(Status::kParamInvalid, "{}: the view starts before byte 0 of its buffer", what);
  if (hi > kMax)
    fail(Status::kParamInvalid, "{}: byte offset {} with this shape and strides overflows 64 bits", what, offset);
  return {static_cast<uint64_t>(lo), static_cast<uint64_t>(hi)};
}

}  // namespace cannon
