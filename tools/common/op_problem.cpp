// Parsers and printers of "rau:" and "nsa:" problem strings. They share the value parsers of problem_attrs.hpp
// with "fa:" (same error messages, same number syntax); each keeps its own small key table, so a typo is an
// error naming the known keys instead of silently running another case.
#include "tools/common/op_problem.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "tools/common/problem_attrs.hpp"

namespace cannon::tools {
namespace {

using problem_detail::fail;
using problem_detail::join;
using problem_detail::parse_dims;
using problem_detail::parse_double;
using problem_detail::parse_int;
using problem_detail::parse_list;
using problem_detail::split_segments;

std::pair<std::string_view, std::string_view> key_value(std::string_view segment, std::string_view text) {
  std::size_t eq = segment.find('=');
  if (eq == std::string_view::npos) fail(text, fmt::format("attribute '{}' needs key=value", segment));
  return {segment.substr(0, eq), segment.substr(eq + 1)};
}

DType dtype_of(std::string_view v, std::string_view key, std::string_view text) {
  try {
    return parse_dtype(v, key);
  } catch (const std::exception& e) {
    fail(text, e.what());
  }
}

bool flag(std::string_view v, std::string_view key, std::string_view text) {
  if (v != "0" && v != "1") fail(text, fmt::format("'{}' needs 0 or 1, got '{}'", key, v));
  return v == "1";
}

std::string one_of(std::string_view v, std::initializer_list<const char*> kinds, std::string_view key,
                   std::string_view text) {
  std::string known;
  for (const char* k : kinds) {
    if (v == k) return std::string(v);
    known += std::string(known.empty() ? "" : " ") + k;
  }
  fail(text, fmt::format("unknown {} '{}' (known: {})", key, v, known));
}

// Like "fa:": a negative seed would print as a uint64 the parser cannot read back.
uint64_t parse_seed(std::string_view v, std::string_view text) {
  const int64_t seed = parse_int(v, "seed", text);
  if (seed < 0) fail(text, "'seed' must be >= 0");
  return static_cast<uint64_t>(seed);
}

}  // namespace

std::vector<int64_t> RauProblem::cum_seq() const { return seqq.empty() ? uniform_cumulative(b, s, true) : seqq; }

bool RauProblem::operator==(const RauProblem& o) const { return to_string(*this) == to_string(o); }

double NsaProblem::effective_scale() const {
  if (scale) return *scale;
  return dk >= 1 ? 1.0 / std::sqrt(static_cast<double>(dk)) : 1.0;  // Dk < 1: the operator names the head dim
}
std::vector<int64_t> NsaProblem::cum_seq_q() const { return seqq.empty() ? uniform_cumulative(b, s1, false) : seqq; }
std::vector<int64_t> NsaProblem::cum_seq_kv() const { return seqkv.empty() ? uniform_cumulative(b, s2, false) : seqkv; }
bool NsaProblem::operator==(const NsaProblem& o) const { return to_string(*this) == to_string(o); }

RauProblem parse_rau_problem(std::string_view text) {
  if (text.substr(0, 4) != "rau:") fail(text, "expected the operator prefix 'rau:'");
  std::vector<std::string_view> seg = split_segments(text.substr(4));
  RauProblem p;
  auto dims = parse_dims(seg[0], {"b", "n", "s", "d"}, text);
  if (dims.count("b")) p.b = dims["b"];
  if (dims.count("n")) p.n = dims["n"];
  if (dims.count("s")) p.s = dims["s"];
  if (dims.count("d")) p.d = dims["d"];
  for (std::size_t i = 1; i < seg.size(); ++i) {
    auto [key, v] = key_value(seg[i], text);
    if (key == "layout")
      p.layout = std::string(v);
    else if (key == "dt")
      p.dtype = dtype_of(v, key, text);
    else if (key == "softmax_layout")
      p.softmax_layout = std::string(v);
    else if (key == "seqq")
      p.seqq = parse_list(v, key, text);
    else if (key == "invalid")
      p.invalid = one_of(v, {"none", "prev", "cur", "both"}, key, text);
    else if (key == "invalid_frac")
      p.invalid_frac = parse_double(v, key, text);
    else if (key == "seq")
      p.seq_tensor = one_of(v, {"tensor", "none"}, key, text) == "tensor";
    else if (key == "seq_dt")
      p.seq_dt = dtype_of(v, key, text);
    else if (key == "cur_dt")
      p.cur_dt = dtype_of(v, key, text);
    else if (key == "cur_d")
      p.cur_d = parse_int(v, key, text);
    else if (key == "stat_dt")
      p.stat_dt = dtype_of(v, key, text);
    else if (key == "lanes")
      p.lanes = parse_int(v, key, text);
    else if (key == "seed")
      p.seed = parse_seed(v, text);
    else
      fail(text, fmt::format("unknown attribute '{}' (known: layout dt softmax_layout seqq invalid invalid_frac seq "
                             "seq_dt cur_dt cur_d stat_dt lanes seed)",
                             key));
  }
  if (!p.seqq.empty()) {
    if (!p.tnd()) fail(text, "seqq needs layout=TND");
    if (dims.count("s")) fail(text, "s cannot be given with seqq");
    if (dims.count("b") && p.b != static_cast<int64_t>(p.seqq.size()) - 1) {
      fail(text, fmt::format("b={} but seqq has {} entries (with its leading 0)", p.b, p.seqq.size()));
    }
    p.b = static_cast<int64_t>(p.seqq.size()) - 1;
  }
  if (!(p.invalid_frac >= 0 && p.invalid_frac <= 1)) fail(text, "invalid_frac must be in [0, 1]");
  return p;
}

NsaProblem parse_nsa_problem(std::string_view text) {
  if (text.substr(0, 4) != "nsa:") fail(text, "expected the operator prefix 'nsa:'");
  std::vector<std::string_view> seg = split_segments(text.substr(4));
  NsaProblem p;
  auto v = parse_dims(seg[0], {"b", "n", "n1", "n2", "g", "s", "s1", "s2", "d", "dk", "dv", "bs", "count"}, text);
  auto has = [&](const char* k) { return v.count(k) != 0; };
  for (auto [a, b] : {std::pair{"n", "n1"}, {"g", "n2"}, {"s", "s1"}, {"s", "s2"}, {"d", "dk"}, {"d", "dv"}}) {
    if (has(a) && has(b)) fail(text, fmt::format("'{}' and '{}' cannot both be given", a, b));
  }
  if (has("b")) p.b = v["b"];
  if (has("n")) p.n1 = v["n"];
  if (has("n1")) p.n1 = v["n1"];
  p.n2 = has("n2") ? v["n2"] : has("g") && v["g"] > 0 ? p.n1 / v["g"] : has("n1") || has("n") ? p.n1 : p.n2;
  if (has("s")) p.s1 = p.s2 = v["s"];
  if (has("s1")) p.s1 = v["s1"];
  if (has("s2")) p.s2 = v["s2"];
  if (has("d")) p.dk = p.dv = v["d"];
  if (has("dk")) p.dk = v["dk"];
  if (has("dv")) p.dv = v["dv"];
  if (has("bs")) p.bs = v["bs"];
  if (has("count")) p.count = v["count"];
  for (std::size_t i = 1; i < seg.size(); ++i) {
    auto [key, val] = key_value(seg[i], text);
    if (key == "dt")
      p.dtype = dtype_of(val, key, text);
    else if (key == "scale")
      p.scale = parse_double(val, key, text);
    else if (key == "head_num")
      p.head_num = parse_int(val, key, text);
    else if (key == "layout")
      p.layout = std::string(val);
    else if (key == "seqq")
      p.seqq = parse_list(val, key, text);
    else if (key == "seqkv")
      p.seqkv = parse_list(val, key, text);
    else if (key == "causal")
      p.causal = flag(val, key, text);
    else if (key == "sparse")
      p.sparse = parse_int(val, key, text);
    else if (key == "mask")
      p.mask = one_of(val, {"none", "comp", "ss"}, key, text);
    else if (key == "idx")
      p.idx = one_of(val, {"random", "repeat", "sorted", "diag", "oob"}, key, text);
    else if (key == "seed")
      p.seed = parse_seed(val, text);
    else
      fail(text, fmt::format("unknown attribute '{}' (known: dt scale head_num layout seqq seqkv causal sparse mask "
                             "idx seed)",
                             key));
  }
  if (p.mask == p.mask_kind() && p.mask == (p.causal ? "comp" : "none")) p.mask.clear();
  if (p.sparse && *p.sparse == (p.causal ? 2 : 0)) p.sparse.reset();
  if (!p.seqq.empty() || !p.seqkv.empty()) {
    if (has("s") || has("s1") || has("s2")) fail(text, "s/s1/s2 cannot be given with seqq/seqkv");
    if (p.seqq.empty() || p.seqkv.empty()) fail(text, "seqq and seqkv go together");
    if (has("b") && p.b != static_cast<int64_t>(p.seqq.size())) {
      fail(text, fmt::format("b={} but seqq has {} entries", p.b, p.seqq.size()));
    }
    p.b = static_cast<int64_t>(p.seqq.size());
  }
  return p;
}

std::string to_string(const RauProblem& p) {
  std::string s = fmt::format("rau:b{}n{}", p.b, p.n);
  if (p.seqq.empty()) s += fmt::format("s={}", p.s);
  s += fmt::format("d={}:layout={}:dt={}", p.d, p.layout, dtype_name(p.dtype));
  if (!p.seqq.empty()) s += ":seqq=" + join(p.seqq);
  if (!p.softmax_layout.empty()) s += ":softmax_layout=" + p.softmax_layout;
  if (p.invalid != "none") s += ":invalid=" + p.invalid;
  if (p.invalid_frac != RauProblem{}.invalid_frac) s += fmt::format(":invalid_frac={}", p.invalid_frac);
  if (!p.seq_tensor) s += ":seq=none";
  if (p.seq_dt != DType::kInt64) s += fmt::format(":seq_dt={}", dtype_name(p.seq_dt));
  if (p.cur_dt) s += fmt::format(":cur_dt={}", dtype_name(*p.cur_dt));
  if (p.cur_d) s += fmt::format(":cur_d={}", *p.cur_d);
  if (p.stat_dt != DType::kFloat32) s += fmt::format(":stat_dt={}", dtype_name(p.stat_dt));
  if (p.lanes != 8) s += fmt::format(":lanes={}", p.lanes);
  if (p.seed) s += fmt::format(":seed={}", *p.seed);
  return s;
}

std::string to_string(const NsaProblem& p) {
  std::string s = fmt::format("nsa:b{}n1={}n2={}", p.b, p.n1, p.n2);
  if (p.seqq.empty()) s += fmt::format("s1={}s2={}", p.s1, p.s2);
  s += fmt::format("dk={}dv={}bs={}count={}:dt={}", p.dk, p.dv, p.bs, p.count, dtype_name(p.dtype));
  if (p.layout != "TND") s += ":layout=" + p.layout;
  if (p.scale) s += fmt::format(":scale={}", *p.scale);
  if (p.head_num) s += fmt::format(":head_num={}", *p.head_num);
  if (!p.seqq.empty()) s += fmt::format(":seqq={}:seqkv={}", join(p.seqq), join(p.seqkv));
  if (p.causal) s += ":causal=1";
  if (p.sparse) s += fmt::format(":sparse={}", *p.sparse);
  if (!p.mask.empty()) s += ":mask=" + p.mask;
  if (p.idx != "random") s += ":idx=" + p.idx;
  if (p.seed) s += fmt::format(":seed={}", *p.seed);
  return s;
}

}  // namespace cannon::tools
