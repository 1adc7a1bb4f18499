// Parses every CANNON_* variable once. A
// malformed value is an error naming the variable and the accepted forms, raised the first time the Config is
// needed, never a silent default.
#include "cannon/config.hpp"

#include <cctype>
#include <cstdlib>
#include <string>

#include "host/runtime/check.hpp"
#include "host/tune/resolve.hpp"

namespace cannon {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

Verbosity parse_verbose(const std::string& raw) {
  std::string v = lower(trim(raw));
  if (v.empty() || v == "error" || v == "0") return Verbosity::kError;
  if (v == "dispatch" || v == "1") return Verbosity::kDispatch;
  if (v == "profile" || v == "2") return Verbosity::kProfile;
  fail(Status::kParamInvalid, "CANNON_VERBOSE='{}': expected error, dispatch or profile", raw);
}

bool parse_bool(const std::string& raw, const char* name) {
  std::string v = lower(trim(raw));
  if (v.empty() || v == "0" || v == "false" || v == "off" || v == "no") return false;
  if (v == "1" || v == "true" || v == "on" || v == "yes") return true;
  fail(Status::kParamInvalid, "{}='{}': expected 0/1, true/false, on/off or yes/no", name, raw);
}

// CANNON_TUNE_DB="a.json:b.json", or "none".
void parse_tune_db(const std::string& raw, Config& c) {
  const std::string v = trim(raw);
  if (v == "none") {
    c.tune_shipped_db = false;
    return;
  }
  std::size_t pos = 0;
  while (pos <= v.size()) {
    std::size_t end = v.find(':', pos);
    if (end == std::string::npos) end = v.size();
    const std::string path = trim(v.substr(pos, end - pos));
    pos = end + 1;
    if (path == "none") fail(Status::kParamInvalid, "CANNON_TUNE_DB='{}': 'none' must stand alone", raw);
    if (!path.empty()) c.tune_db.push_back(path);
  }
}

// CANNON_PROGRAM_CACHE's directory: the value, else under XDG_CACHE_HOME, else under HOME (beside PoCL's own kernel
// cache); "off", "0" and "none" turn the cache off (an empty directory).
std::string program_cache_dir(const std::string& raw, const std::string& xdg, const std::string& home) {
  if (raw == "off" || raw == "0" || raw == "none") return {};
  if (!raw.empty()) return raw;
  if (!xdg.empty()) return xdg + "/cannon/programs";
  if (!home.empty()) return home + "/.cache/cannon/programs";
  return {};
}

}  // namespace

Config Config::parse(const std::function<const char*(const char*)>& lookup) {
  auto get = [&](const char* name) -> std::string {
    const char* v = lookup(name);
    return v ? std::string(v) : std::string();
  };
  Config c;
  c.device = trim(get("CANNON_DEVICE"));
  c.verbose = parse_verbose(get("CANNON_VERBOSE"));
  c.tune = tune::parse_overrides(get("CANNON_TUNE"));
  parse_tune_db(get("CANNON_TUNE_DB"), c);
  c.strict = parse_bool(get("CANNON_STRICT"), "CANNON_STRICT");
  c.program_cache = program_cache_dir(trim(get("CANNON_PROGRAM_CACHE")), get("XDG_CACHE_HOME"), get("HOME"));
  return c;
}

const Config& Config::global() {
  static const Config config = parse([](const char* name) { return std::getenv(name); });
  return config;
}

}  // namespace cannon
