// One attribute table per operator driver: each row declares an attribute once, and the table drives the problem
// string's parser and canonical printer, the copy into the operator's attributes, and case.json reading and
// writing. A row names the problem's member (`key`), the operator attribute's member and case.json name (`op`),
// or both; adding an attribute is adding a row, and a key not in the table is an error that lists the known ones.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/harness/golden_dir.hpp"
#include "tools/harness/problem_parse.hpp"

namespace cannon::tools {

template <class P, class A>
class AttrRow {
 public:
  // The value types problem structs and operator attribute structs hold.
  using ProblemMember =
      std::variant<std::monostate, int64_t P::*, double P::*, bool P::*, std::string P::*, DType P::*,
                   std::vector<int64_t> P::*, std::optional<int64_t> P::*, std::optional<uint64_t> P::*,
                   std::optional<double> P::*, std::optional<DType> P::*>;
  using OpMember = std::variant<std::monostate, int64_t A::*, double A::*, std::string A::*, std::vector<int64_t> A::*>;

  // A problem-string key held in `field`; printed when it differs from a default-constructed problem's value. The
  // member may be a base's, so a problem type that extends another (FagProblem, FaProblem) reuses its rows.
  template <class T, class Base>
  static AttrRow key(const char* problem_key, T Base::*member) {
    static_assert(std::is_base_of_v<Base, P>, "the member must be P's or a base's");
    AttrRow row;
    row.name = problem_key;
    row.field = static_cast<T P::*>(member);
    return row;
  }
  // An operator attribute that problem strings do not name as a key (set from dimensions, or not at all).
  template <class T>
  static AttrRow op_only(const char* golden_name, T A::*member) {
    return AttrRow().op(golden_name, member);
  }
  // The operator attribute this row maps to: its case.json name and member, and another spelling read as it.
  template <class T>
  AttrRow op(const char* golden_name, T A::*member, const char* alias = nullptr) && {
    op_name = golden_name;
    attr = member;
    op_alias = alias;
    return std::move(*this);
  }
  AttrRow copied() && { return set(copy, true); }                  // describing a case copies the problem's value
  AttrRow required() && { return set(required_in_golden, true); }  // case.json must give it
  AttrRow nullable() && { return set(nullable_in_golden, true); }  // case.json may give null (read as "")
  AttrRow always() && { return set(always_printed, true); }        // printed even at its default
  AttrRow shown_if(bool (*predicate)(const P&)) && { return set(shown, predicate); }
  AttrRow choices(std::vector<const char*> values) && { return set(allowed, std::move(values)); }
  AttrRow rule(problem_detail::Rule r) && { return set(range, r); }

  const char* name = nullptr;
  ProblemMember field;
  const char* op_name = nullptr;
  const char* op_alias = nullptr;
  OpMember attr;
  bool copy = false, required_in_golden = false, nullable_in_golden = false, always_printed = false;
  bool (*shown)(const P&) = nullptr;
  std::vector<const char*> allowed;
  problem_detail::Rule range = problem_detail::Rule::kAny;

 private:
  template <class F, class V>
  AttrRow set(F& member, V value) {
    member = std::move(value);
    return std::move(*this);
  }
};

template <class P, class A>
struct AttrTable {
  std::vector<AttrRow<P, A>> rows;    // in canonical print order
  std::vector<const char*> reserved;  // keys of later releases: "not supported by this cannon release yet"
  std::vector<const char*> ignored;   // case.json attributes read and ignored (scheduling-only flags)
};

// Parses one "key=value" segment into `p`. Unknown keys are errors listing the known ones.
template <class P, class A>
void parse_attr(const AttrTable<P, A>& table, std::string_view segment, P& p, std::string_view text) {
  using problem_detail::fail;
  const std::size_t eq = segment.find('=');
  if (eq == std::string_view::npos) fail(text, fmt::format("attribute '{}' needs key=value", segment));
  const std::string_view key = segment.substr(0, eq), value = segment.substr(eq + 1);
  for (const AttrRow<P, A>& row : table.rows) {
    if (!row.name || key != row.name) continue;
    const problem_detail::ValueContext ctx{key, text, &row.allowed, row.range};
    std::visit(
        [&](auto member) {
          if constexpr (!std::is_same_v<decltype(member), std::monostate>)
            problem_detail::parse_value(value, p.*member, ctx);
        },
        row.field);
    return;
  }
  if (std::find(table.reserved.begin(), table.reserved.end(), key) != table.reserved.end()) {
    fail(text, fmt::format("attribute '{}' is not supported by this cannon release yet", key));
  }
  std::string known;
  for (const AttrRow<P, A>& row : table.rows) {
    if (row.name) known += std::string(known.empty() ? "" : ", ") + row.name;
  }
  fail(text, fmt::format("unknown attribute '{}' (known: {})", key, known));
}

// ":key=value" for every row shown: always-rows, rows whose predicate holds, and rows away from their default.
template <class P, class A>
std::string print_attrs(const AttrTable<P, A>& table, const P& p) {
  static const P kDefault{};
  std::string text;
  for (const AttrRow<P, A>& row : table.rows) {
    if (!row.name) continue;
    std::visit(
        [&](auto member) {
          if constexpr (!std::is_same_v<decltype(member), std::monostate>) {
            const bool shown = row.shown ? row.shown(p) : row.always_printed || p.*member != kDefault.*member;
            if (shown) text += fmt::format(":{}={}", row.name, problem_detail::print_value(p.*member));
          }
        },
        row.field);
  }
  return text;
}

// Copies the problem's value into the operator attribute for every row marked copied().
template <class P, class A>
void copy_attrs(const AttrTable<P, A>& table, const P& p, A& a) {
  for (const AttrRow<P, A>& row : table.rows) {
    if (!row.copy) continue;
    std::visit(
        [&](auto field, auto attr) {
          using F = decltype(field);
          using T = decltype(attr);
          if constexpr (!std::is_same_v<F, std::monostate> && !std::is_same_v<T, std::monostate>) {
            if constexpr (std::is_same_v<std::decay_t<decltype(p.*field)>, std::decay_t<decltype(a.*attr)>>) {
              a.*attr = p.*field;
            }
          }
        },
        row.field, row.attr);
  }
}

// case.json's "attrs" into `a`: every key must be a row's name or alias, or ignored; values are strictly typed
// (attr_int and its siblings). Rows marked required() must be present. Errors name `where` and the attribute.
template <class P, class A>
void read_op_attrs(const AttrTable<P, A>& table, const nlohmann::json& j, A& a, const std::string& where) {
  std::vector<std::string> required;
  bool missing = false;
  for (const AttrRow<P, A>& row : table.rows) {
    if (!row.required_in_golden) continue;
    required.emplace_back(row.op_name);
    missing = missing || !j.contains(row.op_name);
  }
  if (missing) {
    std::sort(required.begin(), required.end());
    std::string names;
    for (const std::string& name : required) names += (names.empty() ? "" : " and ") + name;
    golden_fail(where, "attrs need " + names);
  }
  for (const auto& [json_key, v] : j.items()) {
    // A named copy: C++17 lambdas cannot capture a structured binding (clang rejects it, GCC accepts it).
    const std::string& key = json_key;
    const auto row = std::find_if(table.rows.begin(), table.rows.end(), [&](const AttrRow<P, A>& r) {
      return r.op_name && (key == r.op_name || (r.op_alias && key == r.op_alias));
    });
    if (row == table.rows.end()) {
      if (std::find(table.ignored.begin(), table.ignored.end(), key) != table.ignored.end()) continue;
      golden_fail(where, "unknown attribute \"" + key + "\"");
    }
    std::visit(
        [&, &value = v, &name = key](auto attr) {
          using T = decltype(attr);
          if constexpr (std::is_same_v<T, int64_t A::*>) a.*attr = attr_int(value, name, where);
          if constexpr (std::is_same_v<T, double A::*>) a.*attr = attr_float(value, name, where);
          if constexpr (std::is_same_v<T, std::string A::*>)
            a.*attr = attr_string(value, name, where, row->nullable_in_golden);
          if constexpr (std::is_same_v<T, std::vector<int64_t> A::*>) a.*attr = attr_ints(value, name, where);
        },
        row->attr);
  }
}

// The operator attributes as case.json's "attrs": every row with a case.json name.
template <class P, class A>
nlohmann::json op_attrs_json(const AttrTable<P, A>& table, const A& a) {
  nlohmann::json j = nlohmann::json::object();
  for (const AttrRow<P, A>& row : table.rows) {
    if (!row.op_name) continue;
    std::visit(
        [&](auto attr) {
          if constexpr (!std::is_same_v<decltype(attr), std::monostate>) j[row.op_name] = a.*attr;
        },
        row.attr);
  }
  return j;
}

}  // namespace cannon::tools
