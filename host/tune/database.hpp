// The tuning database (docs/tuning.md has the schema): devices → kernel → problem class → params, with the
// measured GFLOP/s and the tuner's metadata. Databases ship inside the library (host/tune/database/*.json,
// compiled in at build time) and users add their own through CANNON_TUNE_DB; both are parsed by Database::parse,
// which checks every name and value against the declarations (params.hpp) and rejects a malformed file with
// Error(kParamInvalid) naming the file and the field.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/tune/params.hpp"
#include "host/tune/problem_class.hpp"

namespace cannon::tune {

constexpr int kSchemaVersion = 1;

struct Entry {
  Values params;                 // a subset of the kernel's declared parameters
  std::optional<double> gflops;  // measured by cannon-tune (GB/s for rau)
  std::string source;            // "cannon-tune", "heuristic", or what wrote it
};

struct Database {
  std::string origin;  // the file's path, or "shipped:<name>.json"
  // device key → kernel → class key → entry
  std::map<std::string, std::map<std::string, std::map<std::string, Entry>>> devices;

  // Throws Error(kParamInvalid) "tune database '<origin>': <json path>: <what is wrong>".
  static Database parse(const std::string& text, const std::string& origin);
  const Entry* find(const std::string& device_key, const std::string& kernel, const std::string& class_key) const;
};

// The databases compiled into the library, in file-name order.
const std::vector<Database>& shipped_databases();

// A user database read from `path` (cached per path for the process; the file is read once). Throws
// Error(kParamInvalid) naming the file when it cannot be read or parsed.
std::shared_ptr<const Database> load_database(const std::string& path);

struct Match {
  const Entry* entry = nullptr;
  std::string origin, device_key, class_key;
};

// The first entry for `kernel`: database by database in order, within one the most specific device key first, then
// the nearest class (fallback_classes).
std::optional<Match> lookup(const std::vector<const Database*>& databases, const std::vector<std::string>& device_keys,
                            const std::string& kernel, const ProblemClass& cls);

}  // namespace cannon::tune
