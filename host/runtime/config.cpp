// Parses every CANNON_* variable once. A malformed value is an error naming the variable and the
// accepted forms, raised the first time the Config is needed, never a silent default.
#include "cannon/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "host/runtime/check.hpp"

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

// CANNON_TUNE="BLOCK_M=16,BLOCK_N=32": kernel macro names (upper case) to integer values.
std::map<std::string, long> parse_tune(const std::string& raw) {
  std::map<std::string, long> out;
  std::size_t pos = 0;
  while (pos <= raw.size()) {
    std::size_t end = raw.find(',', pos);
    if (end == std::string::npos) end = raw.size();
    std::string item = trim(raw.substr(pos, end - pos));
    pos = end + 1;
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string key = eq == std::string::npos ? "" : trim(item.substr(0, eq));
    std::string val = eq == std::string::npos ? "" : trim(item.substr(eq + 1));
    bool key_ok = !key.empty();
    for (char c : key) key_ok = key_ok && (std::isupper(static_cast<unsigned char>(c)) || std::isdigit(c) || c == '_');
    char* stop = nullptr;
    errno = 0;
    long value = val.empty() ? 0 : std::strtol(val.c_str(), &stop, 10);
    // strtol saturates out-of-range text at LONG_MIN/LONG_MAX; a silently clamped value is still wrong.
    if (!val.empty() && errno == ERANGE) fail(Status::kParamInvalid, "CANNON_TUNE: {}={} is out of range", key, val);
    if (!key_ok || val.empty() || *stop != '\0') {
      fail(Status::kParamInvalid,
           "CANNON_TUNE: bad entry '{}' (expected NAME=INTEGER[,NAME=INTEGER...], NAME upper case)", item);
    }
    // One list for every operator, so a typo fails at once whichever operator runs first.
    static const char* const kKnown[] = {"VARIANT",      "BLOCK_M",  "BLOCK_N",   "QK_KEYS",   "PV_COLS",
                                         "MASK_PREPASS", "RAU_ROWS", "RAU_HEADS", "RAU_LOCAL", "SPLIT_KV"};
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      fail(Status::kParamInvalid,
           "CANNON_TUNE: unknown name '{}' (known: VARIANT, BLOCK_M, BLOCK_N, QK_KEYS, PV_COLS, MASK_PREPASS, "
           "RAU_ROWS, RAU_HEADS, RAU_LOCAL, SPLIT_KV)",
           key);
    }
    out[key] = value;
  }
  return out;
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
  c.tune = parse_tune(get("CANNON_TUNE"));
  c.strict = parse_bool(get("CANNON_STRICT"), "CANNON_STRICT");
  return c;
}

const Config& Config::global() {
  static const Config config = parse([](const char* name) { return std::getenv(name); });
  return config;
}

}  // namespace cannon
