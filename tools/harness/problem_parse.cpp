// Segment, dimension and value parsing of problem strings. Values outside Ascend's ranges (sparse=9, pse_type=4,
// keep_prob=0) parse, so negative cases can be written; the operator rejects them. Only what the tools need to
// stay well defined is checked here (seeds and counts >= 0, fractions in [0, 1]).
#include "tools/harness/problem_parse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "cannon/error.hpp"
#include "host/runtime/checked.hpp"

namespace cannon::tools {

std::string_view problem_op(std::string_view text) {
  std::size_t colon = text.find(':');
  return colon == std::string_view::npos ? std::string_view() : text.substr(0, colon);
}

std::vector<int64_t> uniform_cumulative(int64_t b, int64_t len, bool leading_zero) {
  if (b > kMaxGeneratedBatches) {
    throw Error(Status::kParamInvalid,
                fmt::format("b={}: a TND problem without seqq= lists one cumulative length per batch, and the tools "
                            "generate at most {} (give fewer batches, or seqq=/seqkv=)",
                            b, kMaxGeneratedBatches));
  }
  std::vector<int64_t> ends;
  if (leading_zero) ends.push_back(0);
  for (int64_t i = 1; i <= b; ++i) ends.push_back(checked_mul(i, len, "TND cumulative sequence length"));
  return ends;
}

double default_scale(const std::optional<double>& scale, int64_t dk) {
  if (scale) return *scale;
  return dk >= 1 ? 1.0 / std::sqrt(static_cast<double>(dk)) : 1.0;
}

}  // namespace cannon::tools

namespace cannon::tools::problem_detail {

void fail(std::string_view text, const std::string& message) {
  // Control bytes are escaped: a NUL would cut the message short, a newline would split a result line.
  std::string printable;
  for (unsigned char c : fmt::format("problem '{}': {}", text, message)) {
    if (c < 0x20 || c == 0x7f) {
      printable += fmt::format("\\x{:02x}", c);
    } else {
      printable += static_cast<char>(c);
    }
  }
  throw Error(Status::kParamInvalid, printable);
}

int64_t parse_int(std::string_view value, std::string_view key, std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec == std::errc::result_out_of_range) {
    fail(text, fmt::format("'{}' = {} is out of range (an int64, at most {})", key, value, INT64_MAX));
  }
  if (ec != std::errc() || end != value.data() + value.size()) {
    fail(text, fmt::format("'{}' needs an integer, got '{}'", key, value));
  }
  return v;
}

std::vector<int64_t> parse_list(std::string_view value, std::string_view key, std::string_view text) {
  std::vector<int64_t> list;
  while (true) {
    std::size_t comma = value.find(',');
    list.push_back(parse_int(value.substr(0, comma), key, text));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return list;
}

double parse_double(std::string_view value, std::string_view key, std::string_view text) {
  std::string s(value);
  char* end = nullptr;
  double x = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) fail(text, fmt::format("'{}' needs a number, got '{}'", key, value));
  return x;
}

std::string join(const std::vector<int64_t>& list) {
  std::string s;
  for (std::size_t i = 0; i < list.size(); ++i) s += (i ? "," : "") + std::to_string(list[i]);
  return s;
}

std::vector<std::string_view> split_problem(std::string_view text, std::string_view prefix) {
  if (problem_op(text) != prefix) fail(text, fmt::format("expected the operator prefix '{}:'", prefix));
  std::string_view rest = text.substr(prefix.size() + 1);
  std::vector<std::string_view> segments;
  while (true) {
    std::size_t colon = rest.find(':');
    segments.push_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return segments;
}

std::map<std::string, int64_t> parse_dims(std::string_view dims, const std::vector<std::string>& known,
                                          std::string_view text) {
  std::map<std::string, int64_t> values;
  std::size_t pos = 0;
  while (pos < dims.size()) {
    std::size_t start = pos;
    while (pos < dims.size() && dims[pos] >= 'a' && dims[pos] <= 'z') ++pos;
    std::string key(dims.substr(start, pos - start));
    if (pos + 1 < dims.size() && (dims[pos] == '1' || dims[pos] == '2') && dims[pos + 1] == '=') key += dims[pos++];
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : " ") + k;
      fail(text, fmt::format("unknown dimension '{}' at '{}' (known: {})", key, dims.substr(start), list));
    }
    if (pos < dims.size() && dims[pos] == '=') ++pos;
    std::size_t digits = pos;
    while (pos < dims.size() && dims[pos] >= '0' && dims[pos] <= '9') ++pos;
    if (digits == pos) fail(text, fmt::format("dimension '{}' needs a value", key));
    if (!values.emplace(key, parse_int(dims.substr(digits, pos - digits), key, text)).second) {
      fail(text, fmt::format("dimension '{}' given twice", key));
    }
  }
  return values;
}

void parse_value(std::string_view v, int64_t& out, const ValueContext& ctx) {
  out = parse_int(v, ctx.key, ctx.text);
  if (ctx.rule == Rule::kNonNegative && out < 0) fail(ctx.text, fmt::format("'{}' must be >= 0", ctx.key));
}

void parse_value(std::string_view v, double& out, const ValueContext& ctx) {
  out = parse_double(v, ctx.key, ctx.text);
  if (ctx.rule == Rule::kUnitInterval && !(out >= 0.0 && out <= 1.0)) {
    fail(ctx.text, fmt::format("'{}' needs a number in [0, 1], got '{}'", ctx.key, v));
  }
}

void parse_value(std::string_view v, bool& out, const ValueContext& ctx) {
  if (v != "0" && v != "1") fail(ctx.text, fmt::format("'{}' needs 0 or 1, got '{}'", ctx.key, v));
  out = v == "1";
}

void parse_value(std::string_view v, std::string& out, const ValueContext& ctx) {
  if (ctx.choices && !ctx.choices->empty() &&
      std::find(ctx.choices->begin(), ctx.choices->end(), v) == ctx.choices->end()) {
    std::string known;
    for (const char* k : *ctx.choices) known += std::string(known.empty() ? "" : " ") + k;
    fail(ctx.text, fmt::format("unknown {} '{}' (known: {})", ctx.key, v, known));
  }
  out = std::string(v);
}

void parse_value(std::string_view v, DType& out, const ValueContext& ctx) {
  try {
    out = parse_dtype(v, ctx.key);
  } catch (const std::exception& e) {
    fail(ctx.text, e.what());
  }
}

void parse_value(std::string_view v, std::vector<int64_t>& out, const ValueContext& ctx) {
  out = parse_list(v, ctx.key, ctx.text);
}

void parse_value(std::string_view v, uint64_t& out, const ValueContext& ctx) {
  const int64_t seed = parse_int(v, ctx.key, ctx.text);
  if (seed < 0) fail(ctx.text, fmt::format("'{}' must be >= 0", ctx.key));
  out = static_cast<uint64_t>(seed);
}

std::string print_value(int64_t v) { return std::to_string(v); }
std::string print_value(uint64_t v) { return std::to_string(v); }
std::string print_value(double v) { return fmt::format("{}", v); }
std::string print_value(bool v) { return v ? "1" : "0"; }
std::string print_value(const std::string& v) { return v; }
std::string print_value(DType v) { return dtype_name(v); }
std::string print_value(const std::vector<int64_t>& v) { return join(v); }

}  // namespace cannon::tools::problem_detail
