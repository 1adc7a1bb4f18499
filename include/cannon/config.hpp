// Every CANNON_* environment variable,
// parsed once into one Config. Config::global() is what a Context gets by
// default; Context::create(spec, config) gives one Context its own (a test can pick a kernel variant in-process).
// Nothing else in the library reads the environment.
#pragma once

#include "cannon/export.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace cannon {

enum class Verbosity : int { kError = 0, kDispatch = 1, kProfile = 2 };

struct CANNON_API Config {
  std::string device;                     // CANNON_DEVICE: "" (default), index, "p:d", cpu, gpu, name substring
  Verbosity verbose = Verbosity::kError;  // CANNON_VERBOSE: error | dispatch | profile
  // CANNON_TUNE: "kernel.NAME=VALUE[,...]" overrides of the tuned kernel parameters, e.g. {"fa.QK_KEYS", 4}
  // (docs/tuning.md lists the names); above the database and the heuristics.
  std::map<std::string, long> tune;
  // CANNON_TUNE_DB: the user's tuning databases (cannon-tune output), ':'-separated, searched in order before the
  // one shipped in the library. "none" turns every database off (heuristics and CANNON_TUNE only).
  std::vector<std::string> tune_db;
  bool tune_shipped_db = true;  // false with CANNON_TUNE_DB=none
  bool strict = false;          // CANNON_STRICT: 0/1/true/false/on/off
  // CANNON_PROGRAM_CACHE: the directory of built program binaries that later processes build from; by default
  // $XDG_CACHE_HOME/cannon/programs, else $HOME/.cache/cannon/programs; "" (CANNON_PROGRAM_CACHE=off, 0 or none, or
  // no home) turns it off.
  std::string program_cache;
  // Extra -D NAME=VALUE for every program a Context with this Config builds (e.g. a test's fault hooks). Never read
  // from the environment; NAME must be an identifier.
  std::map<std::string, long> kernel_defines;

  // Parses from a lookup function (returns nullptr when unset). Throws Error(kParamInvalid) naming
  // the variable on a malformed value.
  static Config parse(const std::function<const char*(const char*)>& lookup);
  // The process-wide Config, parsed from the environment on first use.
  static const Config& global();
};

}  // namespace cannon
