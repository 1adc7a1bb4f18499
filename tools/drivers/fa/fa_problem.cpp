// Parser and printer of FlashAttentionScore problem strings: the dimension segment, the attribute table (one row
// per attribute: its problem-string key, and its flash_attention_score case.json name where it is an operator
// attribute), and the defaults that depend on other keys.
#include "tools/drivers/fa/fa_problem.hpp"

#include <fmt/format.h>

#include <functional>
#include <map>

#include "tools/drivers/fa/fa_attr_rows.hpp"
#include "tools/harness/problem_parse.hpp"

namespace cannon::tools {
namespace {

using problem_detail::fail;
using Attrs = FlashAttentionScoreAttrs;

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

// Cross-key rules checked after every segment is read.
void check_attrs(const FaProblem& p, std::string_view text) {
  if ((p.mask_rows > 0 || p.mask_causal) && (p.mask == "none" || p.mask == "comp" || p.mask == "comp6")) {
    fail(text,
         fmt::format("mask_rows and mask_causal need a mask tensor that is read (bnss, b1ss, 11ss or ss), not '{}'",
                     p.mask));
  }
  if (p.pse_dt && p.pse == "none") fail(text, "pse_dt needs a pse (pse=bnss, slopes_n, ...)");
  if (p.slopes != "alibi" && p.pse != "slopes_bn" && p.pse != "slopes_n" && p.pse != "alibi" && p.pse != "alibi1") {
    fail(text, fmt::format("slopes={} needs a pse made of slopes (slopes_bn, slopes_n, alibi or alibi1)", p.slopes));
  }
  if ((p.drop_dt || p.drop_bytes) && p.drop_mask != "explicit")
    fail(text, "drop_dt and drop_bytes need drop_mask=explicit");
}

}  // namespace

const AttrTable<FaProblem, Attrs>& fa_attr_table() {
  static const AttrTable<FaProblem, Attrs> table = fa_attr_table_for<FaProblem>({});
  return table;
}

std::vector<int64_t> FaProblem::cum_seq_q() const { return seqq.empty() ? uniform_cumulative(b, s1, false) : seqq; }

std::vector<int64_t> FaProblem::cum_seq_kv() const { return seqkv.empty() ? uniform_cumulative(b, s2, false) : seqkv; }

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

void parse_fa_like(std::string_view text, std::string_view prefix, FaProblem& p,
                   const std::function<void(std::string_view)>& parse_segment) {
  const std::vector<std::string_view> segments = problem_detail::split_problem(text, prefix);
  static const std::vector<std::string> kDimKeys = {"b", "n", "n1", "n2", "g", "s", "s1", "s2", "d", "dk", "dv"};
  std::map<std::string, int64_t> dims = problem_detail::parse_dims(segments[0], kDimKeys, text);
  apply_dims(dims, p, text);
  p.mask.clear();  // "not given": the default depends on whether sparse= was given
  bool sparse_given = false;
  for (std::size_t i = 1; i < segments.size(); ++i) {
    parse_segment(segments[i]);
    sparse_given = sparse_given || segments[i].substr(0, 7) == "sparse=";
  }
  if (p.mask.empty()) p.mask = sparse_given ? natural_mask(p.sparse) : "none";
  check_attrs(p, text);

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
}

FaProblem parse_fa_problem(std::string_view text) {
  FaProblem p;
  parse_fa_like(text, "fa", p, [&](std::string_view segment) { parse_attr(fa_attr_table(), segment, p, text); });
  return p;
}

std::string fa_dims_string(const FaProblem& p, std::string_view prefix) {
  std::string s = fmt::format("{}:b{}n{}", prefix, p.b, p.n1);
  // g only when it is a valid ratio (>= 1): "n0n2=3" must not print as "g0", which the parser rejects.
  s += (p.n1 > 0 && p.n2 > 0 && p.n1 % p.n2 == 0) ? fmt::format("g{}", p.n1 / p.n2) : fmt::format("n2={}", p.n2);
  if (p.seqq.empty()) s += p.s1 == p.s2 ? fmt::format("s={}", p.s1) : fmt::format("s1={}s2={}", p.s1, p.s2);
  s += p.dk == p.dv ? fmt::format("d={}", p.dk) : fmt::format("dk={}dv={}", p.dk, p.dv);
  return s;
}

std::string to_string(const FaProblem& p) { return fa_dims_string(p, "fa") + print_attrs(fa_attr_table(), p); }

}  // namespace cannon::tools
