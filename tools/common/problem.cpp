// Parser and printer of FlashAttentionScore problem strings: the dimension segment, the canonical printer and
// the defaults that depend on other keys. The attribute table is in problem_attrs.cpp.
#include "tools/common/problem.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "cannon/error.hpp"
#include "host/runtime/checked.hpp"
#include "tools/common/problem_attrs.hpp"

namespace cannon::tools {
namespace {

using problem_detail::fail;
using problem_detail::join;
using problem_detail::parse_int;

void apply_dims(const std::map<std::string, int64_t>& v, FaProblem& p, std::string_view text) {
  auto has = [&](const char* key) { return v.count(key) != 0; };
  auto conflict = [&](const char* a, const char* b) {
    if (has(a) && has(b)) fail(text, fmt::format("'{}' and '{}' cannot both be given", a, b));
  };
  conflict("n", "n1");
  conflict("g", "n2");
  conflict("s", "s1");
  conflict("s", "s2");
  conflict("d", "dk");
  conflict("d", "dv");
  if (has("b")) p.b = v.at("b");
  if (has("n")) p.n1 = v.at("n");
  if (has("n1")) p.n1 = v.at("n1");
  p.n2 = p.n1;
  if (has("n2")) p.n2 = v.at("n2");
  if (has("g")) {
    int64_t g = v.at("g");
    if (g < 1 || p.n1 % g != 0)
      fail(text, fmt::format("g={} does not divide n={} (give n2= for N2 directly)", g, p.n1));
    p.n2 = p.n1 / g;
  }
  if (has("s")) p.s1 = p.s2 = v.at("s");
  if (has("s1")) p.s1 = v.at("s1");
  if (has("s2")) p.s2 = v.at("s2");
  if (has("d")) p.dk = p.dv = v.at("d");
  if (has("dk")) p.dk = v.at("dk");
  if (has("dv")) p.dv = v.at("dv");
}

}  // namespace

double FaProblem::effective_scale() const {
  if (scale) return *scale;
  return dk >= 1 ? 1.0 / std::sqrt(static_cast<double>(dk)) : 1.0;
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

std::vector<int64_t> FaProblem::cum_seq_q() const { return seqq.empty() ? uniform_cumulative(b, s1, false) : seqq; }

std::vector<int64_t> FaProblem::cum_seq_kv() const { return seqkv.empty() ? uniform_cumulative(b, s2, false) : seqkv; }

bool FaProblem::operator==(const FaProblem& o) const {
  return b == o.b && n1 == o.n1 && n2 == o.n2 && s1 == o.s1 && s2 == o.s2 && dk == o.dk && dv == o.dv &&
         layout == o.layout && dtype == o.dtype && scale == o.scale && seqq == o.seqq && seqkv == o.seqkv &&
         softmax_layout == o.softmax_layout && head_num == o.head_num && seed == o.seed && sparse == o.sparse &&
         pre == o.pre && next == o.next && prefix == o.prefix && inner_precise == o.inner_precise && mask == o.mask &&
         mask_dt == o.mask_dt && mask_density == o.mask_density && mask_rows == o.mask_rows &&
         mask_causal == o.mask_causal && pse_type == o.pse_type && pse == o.pse && pse_dt == o.pse_dt &&
         q_start == o.q_start && kv_start == o.kv_start && keep_prob == o.keep_prob && drop_mask == o.drop_mask &&
         drop_dt == o.drop_dt && drop_bytes == o.drop_bytes && drop_seed == o.drop_seed && drop_offset == o.drop_offset;
}

std::string natural_mask(int64_t sparse) {
  switch (sparse) {
    case 2:
    case 3:
    case 4:
    case 7:
    case 8:
      return "comp";
    case 6:
      return "comp6";
    case 5:
      return "b1ss";
    default:
      return "ss";
  }
}

std::string_view problem_op(std::string_view text) {
  std::size_t colon = text.find(':');
  return colon == std::string_view::npos ? std::string_view() : text.substr(0, colon);
}

FaProblem parse_fa_problem(std::string_view text) {
  if (problem_op(text) != "fa") fail(text, "expected the operator prefix 'fa:'");
  const std::vector<std::string_view> segments = problem_detail::split_segments(text.substr(3));
  FaProblem p;
  static const std::vector<std::string> kDimKeys = {"b", "n", "n1", "n2", "g", "s", "s1", "s2", "d", "dk", "dv"};
  std::map<std::string, int64_t> dims = problem_detail::parse_dims(segments[0], kDimKeys, text);
  apply_dims(dims, p, text);
  p.mask.clear();  // "not given": the default depends on whether sparse= was given
  bool sparse_given = false;
  for (std::size_t i = 1; i < segments.size(); ++i) {
    problem_detail::parse_attr(p, segments[i], text);
    sparse_given = sparse_given || segments[i].substr(0, 7) == "sparse=";
  }
  if (p.mask.empty()) p.mask = sparse_given ? natural_mask(p.sparse) : "none";
  problem_detail::check_attrs(p, text);

  if (!p.seqq.empty() || !p.seqkv.empty()) {
    if (!p.tnd()) fail(text, "seqq/seqkv need layout=TND");
    if (dims.count("s") || dims.count("s1") || dims.count("s2")) fail(text, "s/s1/s2 cannot be given with seqq/seqkv");
    if (p.seqq.empty()) fail(text, "seqkv needs seqq");
    if (p.seqkv.empty()) p.seqkv = p.seqq;
    if (dims.count("b") && p.b != static_cast<int64_t>(p.seqq.size())) {
      fail(text, fmt::format("b={} but seqq has {} entries", p.b, p.seqq.size()));
    }
    p.b = static_cast<int64_t>(p.seqq.size());
  }
  return p;
}

std::string to_string(const FaProblem& p) {
  std::string s = fmt::format("fa:b{}n{}", p.b, p.n1);
  // g only when it is a valid ratio (>= 1): "n0n2=3" must not print as "g0", which the parser rejects.
  s += (p.n1 > 0 && p.n2 > 0 && p.n1 % p.n2 == 0) ? fmt::format("g{}", p.n1 / p.n2) : fmt::format("n2={}", p.n2);
  if (p.seqq.empty()) s += p.s1 == p.s2 ? fmt::format("s={}", p.s1) : fmt::format("s1={}s2={}", p.s1, p.s2);
  s += p.dk == p.dv ? fmt::format("d={}", p.dk) : fmt::format("dk={}dv={}", p.dk, p.dv);
  s += fmt::format(":layout={}:dt={}", p.layout, dtype_name(p.dtype));
  if (p.scale) s += fmt::format(":scale={}", *p.scale);
  if (!p.seqq.empty()) s += fmt::format(":seqq={}:seqkv={}", join(p.seqq), join(p.seqkv));
  if (!p.softmax_layout.empty()) s += ":softmax_layout=" + p.softmax_layout;
  if (p.head_num) s += fmt::format(":head_num={}", *p.head_num);
  // sparse= is printed with any mask, so that a mask is read against its mode's natural one.
  const bool print_sparse = p.sparse != 0 || p.mask != "none";
  if (print_sparse) s += fmt::format(":sparse={}", p.sparse);
  if (p.pre != FaProblem::kTokensDefault) s += fmt::format(":pre={}", p.pre);
  if (p.next != FaProblem::kTokensDefault) s += fmt::format(":next={}", p.next);
  if (!p.prefix.empty()) s += ":prefix=" + join(p.prefix);
  if (p.inner_precise != 0) s += fmt::format(":inner_precise={}", p.inner_precise);
  // The parser's default mask is the mode's natural one when sparse= is printed, none otherwise.
  if (p.mask != (print_sparse ? natural_mask(p.sparse) : "none")) s += ":mask=" + p.mask;
  if (p.mask_dt != DType::kUInt8) s += fmt::format(":mask_dt={}", dtype_name(p.mask_dt));
  if (p.mask_density != FaProblem{}.mask_density) s += fmt::format(":mask_density={}", p.mask_density);
  if (p.mask_rows != 0) s += fmt::format(":mask_rows={}", p.mask_rows);
  if (p.mask_causal) s += ":mask_causal=1";
  if (p.pse_type != FaProblem{}.pse_type) s += fmt::format(":pse_type={}", p.pse_type);
  if (p.pse != "none") s += ":pse=" + p.pse;
  if (p.pse_dt) s += fmt::format(":pse_dt={}", dtype_name(*p.pse_dt));
  if (!p.q_start.empty()) s += ":q_start=" + join(p.q_start);
  if (!p.kv_start.empty()) s += ":kv_start=" + join(p.kv_start);
  if (p.keep_prob != 1.0) s += fmt::format(":keep_prob={}", p.keep_prob);
  if (p.drop_mask != "gen") s += ":drop_mask=" + p.drop_mask;
  if (p.drop_dt) s += fmt::format(":drop_dt={}", dtype_name(*p.drop_dt));
  if (p.drop_bytes) s += fmt::format(":drop_bytes={}", *p.drop_bytes);
  if (p.drop_seed != 0) s += fmt::format(":drop_seed={}", p.drop_seed);
  if (p.drop_offset != 0) s += fmt::format(":drop_offset={}", p.drop_offset);
  if (p.seed) s += fmt::format(":seed={}", *p.seed);
  return s;
}

}  // namespace cannon::tools
