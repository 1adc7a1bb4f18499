// Heuristics → database → CANNON_TUNE (resolve.hpp).
#include "host/tune/resolve.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <vector>

#include "host/runtime/check.hpp"
#include "host/tune/database.hpp"
#include "host/tune/device_key.hpp"

namespace cannon::tune {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// The kernels that declare a bare name, as "fa.QK_KEYS or nsa.QK_KEYS".
std::string namespaced_suggestion(const std::string& bare) {
  std::string s;
  for (const KernelDecl& k : kernels()) {
    if (k.find(bare)) s += fmt::format("{}{}.{}", s.empty() ? "" : " or ", k.name, bare);
  }
  return s;
}

void check_name(const std::string& key) {
  const std::size_t dot = key.find('.');
  if (dot == std::string::npos) {
    const std::string suggestion = namespaced_suggestion(key);
    if (!suggestion.empty()) {
      fail(Status::kParamInvalid,
           "CANNON_TUNE: '{}' needs its kernel's name: {} (names are namespaced per kernel; docs/tuning.md)", key,
           suggestion);
    }
    fail(Status::kParamInvalid, "CANNON_TUNE: unknown name '{}' (known: {})", key, known_names());
  }
  const KernelDecl* k = find_kernel(key.substr(0, dot));
  if (!k || !k->find(key.substr(dot + 1))) {
    fail(Status::kParamInvalid, "CANNON_TUNE: unknown name '{}' (known: {})", key, known_names());
  }
}

thread_local ResolveCapture* t_capture = nullptr;

}  // namespace

ResolveCapture::ResolveCapture() { t_capture = this; }
ResolveCapture::~ResolveCapture() { t_capture = nullptr; }

std::vector<Values> candidates(const KernelDecl& kernel, const Values& base, const ProblemClass& cls,
                               const ConstraintInput& constraint) {
  std::vector<Values> grid{base};
  for (const ParamDecl& p : kernel.params) {
    if (p.search.empty() || !kernel.relevant(p.name, base, cls)) continue;
    std::vector<Values> next;
    for (const Values& g : grid) {
      for (long v : p.search) {
        Values x = g;
        x[p.name] = v;
        next.push_back(std::move(x));
      }
    }
    grid = std::move(next);
  }
  std::vector<Values> out{base};
  for (const Values& g : grid) {
    if (g != base && kernel.constraint(g, constraint).empty()) out.push_back(g);
  }
  return out;
}

const char* source_name(Source s) {
  return s == Source::kHeuristic ? "heuristic" : s == Source::kDatabase ? "db" : "CANNON_TUNE";
}

std::string Resolved::describe() const {
  std::string s;
  for (const auto& [name, value] : values) {
    s += fmt::format("{}{}={} ({})", s.empty() ? "" : " ", name, value, source_name(sources.at(name)));
  }
  if (!db_origin.empty()) s += fmt::format("; db entry {} [{}] {}", db_origin, db_device_key, db_class);
  if (!db_rejected.empty()) s += fmt::format("; db entry not used: {}", db_rejected);
  return s;
}

Values parse_overrides(const std::string& raw) {
  Values out;
  std::size_t pos = 0;
  while (pos <= raw.size()) {
    std::size_t end = raw.find(',', pos);
    if (end == std::string::npos) end = raw.size();
    const std::string item = trim(raw.substr(pos, end - pos));
    pos = end + 1;
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string key = eq == std::string::npos ? "" : trim(item.substr(0, eq));
    const std::string val = eq == std::string::npos ? "" : trim(item.substr(eq + 1));
    // kernel (lower case) '.' NAME (upper case), or a bare NAME, which check_name explains.
    const std::size_t dot = key.find('.');
    bool key_ok = !key.empty() && key.find('.', dot == std::string::npos ? 0 : dot + 1) == std::string::npos;
    for (std::size_t i = 0; i < key.size() && key_ok; ++i) {
      const unsigned char c = static_cast<unsigned char>(key[i]);
      const bool in_kernel = dot != std::string::npos && i < dot;
      key_ok = i == dot || std::isdigit(c) || c == '_' || (in_kernel ? std::islower(c) : std::isupper(c));
    }
    char* stop = nullptr;
    errno = 0;
    const long value = val.empty() ? 0 : std::strtol(val.c_str(), &stop, 10);
    // strtol saturates out-of-range text at LONG_MIN/LONG_MAX; a silently clamped value is still wrong.
    if (!val.empty() && errno == ERANGE) fail(Status::kParamInvalid, "CANNON_TUNE: {}={} is out of range", key, val);
    if (!key_ok || val.empty() || *stop != '\0') {
      fail(Status::kParamInvalid,
           "CANNON_TUNE: bad entry '{}' (expected kernel.NAME=INTEGER[,kernel.NAME=INTEGER...], e.g. "
           "fa.QK_KEYS=4,nsa.VARIANT=1; kernel lower case, NAME upper case)",
           item);
    }
    // One list for every kernel, so a typo fails at once whichever operator runs first.
    check_name(key);
    out[key] = value;
  }
  return out;
}

void check_override_names(const Values& tune) {
  for (const auto& entry : tune) check_name(entry.first);
}

Resolved resolve(const std::string& kernel, const DeviceInfo& device, const ProblemClass& cls, const Values& heuristics,
                 const Config& config, const ConstraintInput& constraint) {
  const KernelDecl* decl = find_kernel(kernel);
  require(decl != nullptr, "tune: unknown kernel '{}'", kernel);
  check_override_names(config.tune);
  Resolved r;
  r.cls = cls;
  r.constraint = constraint;
  for (const ParamDecl& p : decl->params) {
    auto it = heuristics.find(p.name);
    require(it != heuristics.end(), "tune: no heuristic value for {}.{}", kernel, p.name);
    r.values[p.name] = it->second;
    r.sources[p.name] = Source::kHeuristic;
  }

  // Database: user files first (in CANNON_TUNE_DB order), then the shipped ones.
  std::vector<std::shared_ptr<const Database>> user;
  std::vector<const Database*> dbs;
  for (const std::string& path : config.tune_db) {
    user.push_back(load_database(path));
    dbs.push_back(user.back().get());
  }
  if (config.tune_shipped_db) {
    for (const Database& db : shipped_databases()) dbs.push_back(&db);
  }
  if (auto match = lookup(dbs, device_keys(device), kernel, cls)) {
    Values candidate = r.values;
    for (const auto& [name, value] : match->entry->params) candidate[name] = value;
    const std::string why = decl->constraint(candidate, constraint);
    if (why.empty()) {
      for (const auto& [name, value] : match->entry->params) r.sources[name] = Source::kDatabase;
      r.values = candidate;
      r.db_origin = match->origin;
      r.db_device_key = match->device_key;
      r.db_class = match->class_key;
    } else {
      r.db_rejected = fmt::format("{} [{}] {}: {}", match->origin, match->device_key, match->class_key, why);
    }
  }

  // CANNON_TUNE: range-checked, never clamped.
  std::vector<std::string> overridden;
  const std::string prefix = kernel + ".";
  for (const auto& [key, value] : config.tune) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string name = key.substr(prefix.size());
    const ParamDecl* p = decl->find(name);
    require(p->accepts(value), "CANNON_TUNE: {}={} (expected {})", key, value, p->range_text());
    r.values[name] = value;
    r.sources[name] = Source::kOverride;
    overridden.push_back(name);
  }
  if (decl->fit) decl->fit(r.values, overridden);
  const std::string why = decl->constraint(r.values, constraint);
  if (!why.empty()) fail(Status::kParamInvalid, "{}: {}", !overridden.empty() ? "CANNON_TUNE" : "tune heuristics", why);
  if (config.verbose >= Verbosity::kDispatch) {
    fmt::print(stderr, "cannon: tune {} {} on {}: {}\n", kernel, cls.key(), device_keys(device).front(), r.describe());
  }
  if (t_capture) t_capture->seen_.emplace_back(kernel, r);
  return r;
}

}  // namespace cannon::tune
