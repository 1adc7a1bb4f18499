// The attribute table of FlashAttentionScore problem strings. Attributes are parsed through one table, so a
// release adds its keys by adding rows; keys not in the table are errors that say which keys exist, so a typo
// never silently runs a different case. Values outside Ascend's ranges (sparse=9, pse_type=4, keep_prob=0)
// parse, so negative cases can be written; the operator rejects them.
#include "tools/common/problem_attrs.hpp"

#include <fmt/format.h>

#include <map>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>

#include "cannon/error.hpp"

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

namespace {

struct AttrRow {
  const char* key;
  void (*parse)(FaProblem& p, std::string_view value, std::string_view text);
};

// The atten_mask kinds: a tensor shape ([B,N1,S1,S2] ... [S1,S2]; TND's [maxS1,maxS2] is "ss") or a
// compressed mask (2048x2048, or 3072x2048 for mode 6).
constexpr const char* kMaskKinds[] = {"none", "bnss", "b1ss", "11ss", "ss", "comp", "comp6"};
// The pse forms (docs/conformance.md, "Position encoding and dropout").
constexpr const char* kPseKinds[] = {"none",  "bnss",   "1nss",      "bn1s",    "1n1s",
                                     "alibi", "alibi1", "slopes_bn", "slopes_n"};
constexpr const char* kDropKinds[] = {"gen", "explicit"};

template <std::size_t N>
std::string one_of(const char* const (&kinds)[N], std::string_view v, std::string_view key, std::string_view text) {
  if (std::find(std::begin(kinds), std::end(kinds), v) == std::end(kinds)) {
    std::string known;
    for (const char* k : kinds) known += std::string(known.empty() ? "" : " ") + k;
    fail(text, fmt::format("unknown {} '{}' (known: {})", key, v, known));
  }
  return std::string(v);
}

DType dtype_attr(std::string_view v, const char* key, std::string_view text) {
  try {
    return parse_dtype(v, key);
  } catch (const std::exception& e) {
    fail(text, e.what());
  }
}

constexpr AttrRow kAttrs[] = {
    {"layout", [](FaProblem& p, std::string_view v, std::string_view) { p.layout = std::string(v); }},
    {"dt", [](FaProblem& p, std::string_view v, std::string_view text) { p.dtype = dtype_attr(v, "dt", text); }},
    {"scale",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.scale = parse_double(v, "scale", text); }},
    {"seqq", [](FaProblem& p, std::string_view v, std::string_view text) { p.seqq = parse_list(v, "seqq", text); }},
    {"seqkv", [](FaProblem& p, std::string_view v, std::string_view text) { p.seqkv = parse_list(v, "seqkv", text); }},
    {"softmax_layout", [](FaProblem& p, std::string_view v, std::string_view) { p.softmax_layout = std::string(v); }},
    {"head_num",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.head_num = parse_int(v, "head_num", text); }},
    {"seed",
     [](FaProblem& p, std::string_view v, std::string_view text) {
       int64_t seed = parse_int(v, "seed", text);
       if (seed < 0) fail(text, "'seed' must be >= 0");
       p.seed = static_cast<uint64_t>(seed);
     }},
    // Masking.
    {"sparse",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.sparse = parse_int(v, "sparse", text); }},
    {"pre", [](FaProblem& p, std::string_view v, std::string_view text) { p.pre = parse_int(v, "pre", text); }},
    {"next", [](FaProblem& p, std::string_view v, std::string_view text) { p.next = parse_int(v, "next", text); }},
    {"prefix",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.prefix = parse_list(v, "prefix", text); }},
    {"inner_precise", [](FaProblem& p, std::string_view v,
                         std::string_view text) { p.inner_precise = parse_int(v, "inner_precise", text); }},
    {"mask",
     [](FaProblem& p, std::string_view v, std::string_view text) {
       p.mask = one_of(kMaskKinds, v, "mask", text);
     }},
    {"mask_dt",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.mask_dt = dtype_attr(v, "mask_dt", text); }},
    {"mask_density",
     [](FaProblem& p, std::string_view v, std::string_view text) {
       double x = parse_double(v, "mask_density", text);
       if (!(x >= 0.0 && x <= 1.0)) fail(text, fmt::format("'mask_density' needs a number in [0, 1], got '{}'", v));
       p.mask_density = x;
     }},
    {"mask_rows",
     [](FaProblem& p, std::string_view v, std::string_view text) {
       p.mask_rows = parse_int(v, "mask_rows", text);
       if (p.mask_rows < 0) fail(text, "'mask_rows' must be >= 0");
     }},
    {"mask_causal",
     [](FaProblem& p, std::string_view v, std::string_view text) {
       if (v != "0" && v != "1") fail(text, fmt::format("'mask_causal' needs 0 or 1, got '{}'", v));
       p.mask_causal = v == "1";
     }},
    // Position encoding.
    {"pse_type",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.pse_type = parse_int(v, "pse_type", text); }},
    {"pse", [](FaProblem& p, std::string_view v, std::string_view text) { p.pse = one_of(kPseKinds, v, "pse", text); }},
    {"pse_dt",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.pse_dt = dtype_attr(v, "pse_dt", text); }},
    {"q_start",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.q_start = parse_list(v, "q_start", text); }},
    {"kv_start",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.kv_start = parse_list(v, "kv_start", text); }},
    // Dropout.
    {"keep_prob",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.keep_prob = parse_double(v, "keep_prob", text); }},
    {"drop_mask",
     [](FaProblem& p, std::string_view v, std::string_view text) {
       p.drop_mask = one_of(kDropKinds, v, "drop_mask", text);
     }},
    {"drop_dt",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.drop_dt = dtype_attr(v, "drop_dt", text); }},
    {"drop_bytes",
     [](FaProblem& p, std::string_view v, std::string_view text) {
       p.drop_bytes = parse_int(v, "drop_bytes", text);
       if (*p.drop_bytes < 0) fail(text, "'drop_bytes' must be >= 0");
     }},
    {"drop_seed",
     [](FaProblem& p, std::string_view v, std::string_view text) { p.drop_seed = parse_int(v, "drop_seed", text); }},
    {"drop_offset", [](FaProblem& p, std::string_view v,
                       std::string_view text) { p.drop_offset = parse_int(v, "drop_offset", text); }},
};

// Attributes of Ascend's operator that the problem string will carry once cannon implements them.
constexpr const char* kReserved[] = {"sink", "padding_mask"};

}  // namespace

std::vector<std::string_view> split_segments(std::string_view rest) {
  std::vector<std::string_view> segments;
  while (true) {
    std::size_t colon = rest.find(':');
    segments.push_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return segments;
}

// Dimension keys: letters, plus a '1'/'2' suffix when '=' follows ("s1=7"); '=' is optional otherwise.
std::map<std::string, int64_t> parse_dims(std::string_view dims, const std::vector<std::string>& known,
                                          std::string_view text) {
  std::map<std::string, int64_t> values;
  std::size_t pos = 0;
  while (pos < dims.size()) {
    std::size_t start = pos;
    while (pos < dims.size() && dims[pos] >= 'a' && dims[pos] <= 'z') ++pos;
    std::string key(dims.substr(start, pos - start));
    if (pos + 1 < dims.size() && (dims[pos] == '1' || dims[pos] == '2') && dims[pos + 1] == '=') key += dims[pos++];
    bool ok = false;
    for (const std::string& k : known) ok = ok || k == key;
    if (!ok) {
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

void parse_attr(FaProblem& p, std::string_view segment, std::string_view text) {
  std::size_t eq = segment.find('=');
  if (eq == std::string_view::npos) fail(text, fmt::format("attribute '{}' needs key=value", segment));
  std::string_view key = segment.substr(0, eq);
  for (const AttrRow& row : kAttrs) {
    if (key == row.key) return row.parse(p, segment.substr(eq + 1), text);
  }
  if (std::find(std::begin(kReserved), std::end(kReserved), key) != std::end(kReserved)) {
    fail(text, fmt::format("attribute '{}' is not supported by this cannon release yet", key));
  }
  std::string known;
  for (const AttrRow& row : kAttrs) known += std::string(known.empty() ? "" : ", ") + row.key;
  fail(text, fmt::format("unknown attribute '{}' (known: {})", key, known));
}

void check_attrs(const FaProblem& p, std::string_view text) {
  if ((p.mask_rows > 0 || p.mask_causal) && (p.mask == "none" || p.mask == "comp" || p.mask == "comp6")) {
    fail(text,
         fmt::format("mask_rows and mask_causal need a mask tensor that is read (bnss, b1ss, 11ss or ss), not '{}'",
                     p.mask));
  }
  if (p.pse_dt && p.pse == "none") fail(text, "pse_dt needs a pse (pse=bnss, slopes_n, ...)");
  if ((p.drop_dt || p.drop_bytes) && p.drop_mask != "explicit")
    fail(text, "drop_dt and drop_bytes need drop_mask=explicit");
}

}  // namespace cannon::tools::problem_detail
