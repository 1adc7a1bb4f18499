// Parsing, loading and searching tuning databases (database.hpp). nlohmann::json does the JSON; every field is
// checked here so a hand-edited or truncated file fails with its name and the field's path, never a crash.
#include "host/tune/database.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cannon/error.hpp"

namespace cannon::tune {

// The shipped databases, generated at build time from host/tune/database/*.json (cmake/embed_tune_db.cmake).
struct EmbeddedDatabase {
  const char* name;
  const char* text;
};
extern const EmbeddedDatabase kShippedDatabases[];
extern const std::size_t kShippedDatabaseCount;

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& origin, const std::string& where, const std::string& what) {
  throw Error(Status::kParamInvalid, fmt::format("tune database '{}': {}: {}", origin, where, what));
}

std::string quoted(const std::string& key) { return fmt::format("\"{}\"", key); }

Entry parse_entry(const json& j, const KernelDecl& kernel, const std::string& origin, const std::string& where) {
  if (!j.is_object()) bad(origin, where, "expected an object with \"params\"");
  Entry e;
  for (const auto& [name, value] : j.items()) {
    const std::string at = where + "." + name;
    if (name == "params") {
      if (!value.is_object()) bad(origin, at, "expected an object of NAME: integer");
      for (const auto& [pname, pvalue] : value.items()) {
        const std::string pat = at + "." + pname;
        const ParamDecl* decl = kernel.find(pname);
        if (!decl) {
          std::string known;
          for (const ParamDecl& p : kernel.params) known += (known.empty() ? "" : ", ") + std::string(p.name);
          bad(origin, pat, fmt::format("unknown {} parameter (known: {})", kernel.name, known));
        }
        if (!pvalue.is_number_integer()) bad(origin, pat, fmt::format("expected an integer, got {}", pvalue.dump()));
        const long v = pvalue.get<long>();
        if (!decl->accepts(v)) bad(origin, pat, fmt::format("{} (expected {})", v, decl->range_text()));
        e.params[pname] = v;
      }
    } else if (name == "gflops" || name == "gbps") {
      if (!value.is_number()) bad(origin, at, fmt::format("expected a number, got {}", value.dump()));
      e.gflops = value.get<double>();
    } else if (name == "source") {
      if (!value.is_string()) bad(origin, at, "expected a string");
      e.source = value.get<std::string>();
    } else if (name == "tuner") {
      if (!value.is_object()) bad(origin, at, "expected an object (the tuner's metadata)");
    } else {
      bad(origin, at, "unknown field (expected params, gflops, gbps, source, tuner)");
    }
  }
  if (!j.contains("params")) bad(origin, where, "missing \"params\"");
  return e;
}

}  // namespace

Database Database::parse(const std::string& text, const std::string& origin) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    bad(origin, "JSON", e.what());
  }
  if (!root.is_object()) bad(origin, "(top level)", "expected an object with \"schema\" and \"devices\"");
  Database db;
  db.origin = origin;
  for (const auto& [name, value] : root.items()) {
    if (name == "schema") {
      if (!value.is_number_integer() || value.get<long>() != kSchemaVersion) {
        bad(origin, "schema", fmt::format("{} (this library reads schema {})", value.dump(), kSchemaVersion));
      }
    } else if (name == "note") {
      if (!value.is_string()) bad(origin, "note", "expected a string");
    } else if (name != "devices") {
      bad(origin, name, "unknown field (expected schema, note, devices)");
    }
  }
  if (!root.contains("schema")) bad(origin, "schema", fmt::format("missing (expected {})", kSchemaVersion));
  if (!root.contains("devices") || !root["devices"].is_object()) {
    bad(origin, "devices", "missing or not an object of device key → kernels");
  }
  for (const auto& [device, kernels] : root["devices"].items()) {
    const std::string dwhere = "devices." + quoted(device);
    if (device.find('/') == std::string::npos) {
      bad(origin, dwhere, "a device key is \"<platform>/<device>\" (e.g. \"pocl/pthread-haswell\")");
    }
    if (!kernels.is_object()) bad(origin, dwhere, "expected an object of kernel → classes");
    for (const auto& [kname, classes] : kernels.items()) {
      const std::string kwhere = dwhere + "." + kname;
      if (kname == "note") {
        if (!classes.is_string()) bad(origin, kwhere, "expected a string");
        continue;
      }
      const KernelDecl* kernel = find_kernel(kname);
      if (!kernel) bad(origin, kwhere, "unknown kernel (expected fa, nsa, rau or note)");
      if (!classes.is_object()) bad(origin, kwhere, "expected an object of class key → entry");
      for (const auto& [ckey, entry] : classes.items()) {
        const std::string cwhere = kwhere + "." + quoted(ckey);
        std::string why;
        if (!parse_class_key(ckey, &why)) bad(origin, cwhere, "bad class key: " + why);
        db.devices[device][kname][ckey] = parse_entry(entry, *kernel, origin, cwhere);
      }
    }
  }
  return db;
}

const Entry* Database::find(const std::string& device_key, const std::string& kernel,
                            const std::string& class_key) const {
  auto d = devices.find(device_key);
  if (d == devices.end()) return nullptr;
  auto k = d->second.find(kernel);
  if (k == d->second.end()) return nullptr;
  auto c = k->second.find(class_key);
  return c == k->second.end() ? nullptr : &c->second;
}

const std::vector<Database>& shipped_databases() {
  // Parsed once; a broken shipped file is a build defect that the unit tests catch, but it still fails cleanly.
  static const std::vector<Database> list = [] {
    std::vector<Database> out;
    for (std::size_t i = 0; i < kShippedDatabaseCount; ++i) {
      out.push_back(Database::parse(kShippedDatabases[i].text, fmt::format("shipped:{}", kShippedDatabases[i].name)));
    }
    return out;
  }();
  return list;
}

std::shared_ptr<const Database> load_database(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Database>> cache;
  // Keyed by path, size and modification time: a file rewritten (by cannon-tune) is read again.
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  const auto stamp = ec ? 0 : std::filesystem::last_write_time(path, ec).time_since_epoch().count();
  const std::string key = fmt::format("{}\n{}\n{}", path, ec ? 0 : size, stamp);
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Status::kParamInvalid, fmt::format("CANNON_TUNE_DB: cannot read tune database '{}'", path));
  std::ostringstream text;
  text << in.rdbuf();
  auto db = std::make_shared<const Database>(Database::parse(text.str(), path));
  std::lock_guard<std::mutex> lock(mutex);
  return cache.emplace(key, std::move(db)).first->second;
}

std::optional<Match> lookup(const std::vector<const Database*>& databases, const std::vector<std::string>& device_keys,
                            const std::string& kernel, const ProblemClass& cls) {
  const std::vector<ProblemClass> classes = fallback_classes(cls);
  for (const Database* db : databases) {
    for (const std::string& dk : device_keys) {
      for (const ProblemClass& c : classes) {
        const std::string ck = c.key();
        if (const Entry* e = db->find(dk, kernel, ck)) return Match{e, db->origin, dk, ck};
      }
    }
  }
  return std::nullopt;
}

}  // namespace cannon::tune
