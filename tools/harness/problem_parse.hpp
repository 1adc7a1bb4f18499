// The pieces every operator's problem-string parser shares: the segment split, the dimension segment, and the
// value parsers and printers of attribute values. Keeping them in one place gives every operator the same number
// syntax and the same error messages; the attribute table (attr_table.hpp) drives them per key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cannon/dtype.hpp"

namespace cannon::tools {

// The operator prefix of a problem string ("fa" for "fa:..."), empty when there is none.
std::string_view problem_op(std::string_view text);

// The most batches whose cumulative lengths the tools generate for a TND problem without seqq= (8 MiB of ends):
// far beyond any conformance or benchmark case, and small enough that a mistyped b cannot exhaust host memory
// before the operator has seen the problem.
constexpr int64_t kMaxGeneratedBatches = int64_t{1} << 20;

// Cumulative ends of `b` batches of `len`, with a leading 0 when asked; Error(kParamInvalid) above
// kMaxGeneratedBatches batches or when b·len overflows int64.
std::vector<int64_t> uniform_cumulative(int64_t b, int64_t len, bool leading_zero);

// A problem struct P derives from CanonicalEquality<P>: problems are equal when their canonical forms (to_string)
// are, so an attribute is compared where it is printed, through the driver's attribute table.
template <class P>
struct CanonicalEquality {
  friend bool operator==(const P& a, const P& b) { return to_string(a) == to_string(b); }
  friend bool operator!=(const P& a, const P& b) { return !(a == b); }
};

// `scale`, else 1/sqrt(dk); 1 when dk < 1, so the operator reports the head dim rather than an infinite scale.
double default_scale(const std::optional<double>& scale, int64_t dk);

}  // namespace cannon::tools

namespace cannon::tools::problem_detail {

// Throws Error(kParamInvalid, "problem '<text>': <message>"), control bytes escaped.
[[noreturn]] void fail(std::string_view text, const std::string& message);
int64_t parse_int(std::string_view value, std::string_view key, std::string_view text);
std::vector<int64_t> parse_list(std::string_view value, std::string_view key, std::string_view text);
// Any number strtod reads in full (inf and nan included, so negative cases can be written).
double parse_double(std::string_view value, std::string_view key, std::string_view text);
std::string join(const std::vector<int64_t>& list);

// The ':'-separated segments of a problem string after "<prefix>:"; fails unless the text starts with it.
std::vector<std::string_view> split_problem(std::string_view text, std::string_view prefix);
// The dimension segment as key -> value. Keys are letters, plus a '1'/'2' suffix when '=' follows ("s1=7");
// '=' is optional otherwise. A key not in `known`, a missing value or a repeated key is an error.
std::map<std::string, int64_t> parse_dims(std::string_view dims, const std::vector<std::string>& known,
                                          std::string_view text);

// A range rule a parsed value must meet; its message names the key.
enum class Rule { kAny, kNonNegative, kUnitInterval };

// How one "key=value" is read: the key and text for messages, the allowed strings (empty: any), the range rule.
struct ValueContext {
  std::string_view key, text;
  const std::vector<const char*>* choices = nullptr;
  Rule rule = Rule::kAny;
};

void parse_value(std::string_view v, int64_t& out, const ValueContext& ctx);
void parse_value(std::string_view v, double& out, const ValueContext& ctx);
void parse_value(std::string_view v, bool& out, const ValueContext& ctx);  // 0 or 1
void parse_value(std::string_view v, std::string& out, const ValueContext& ctx);
void parse_value(std::string_view v, DType& out, const ValueContext& ctx);
void parse_value(std::string_view v, std::vector<int64_t>& out, const ValueContext& ctx);
// A seed: an integer >= 0, so that it prints back as the same uint64.
void parse_value(std::string_view v, uint64_t& out, const ValueContext& ctx);
template <class T>
void parse_value(std::string_view v, std::optional<T>& out, const ValueContext& ctx) {
  T value{};
  parse_value(v, value, ctx);
  out = value;
}

// The canonical text of a value, as parse_value reads it back.
std::string print_value(int64_t v);
std::string print_value(uint64_t v);
std::string print_value(double v);
std::string print_value(bool v);
std::string print_value(const std::string& v);
std::string print_value(DType v);
std::string print_value(const std::vector<int64_t>& v);
template <class T>
std::string print_value(const std::optional<T>& v) {
  return v ? print_value(*v) : "";
}

}  // namespace cannon::tools::problem_detail
