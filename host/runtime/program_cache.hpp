// In-memory cache of built OpenCL programs, keyed by device, source hash and the full build options string (which
// carries the common flags, every -D of the typed kernel config and the Context's kernel_defines; see
// build_options.hpp). Each entry keeps the compiler's log, so warnings can be shown and tested. PoCL keeps its own
// on-disk cache (POCL_CACHE_DIR) below this one, so a second process pays ~0.05 s instead of ~1 s per variant.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cannon/cl.hpp"
#include "cannon/config.hpp"

namespace cannon {

class ProgramCache {
 public:
  ProgramCache() = default;
  ProgramCache(const ProgramCache&) = delete;
  ProgramCache& operator=(const ProgramCache&) = delete;
  ~ProgramCache();

  // Returns a built program (owned by the cache). Throws Error(kRuntimeError) with the build log on failure. At
  // `verbose` dispatch or above, a new build and its non-empty log are printed to stderr. A non-empty `binary_dir`
  // (Config::program_cache) is the on-disk cache: a program found there is built from its binary, and a source
  // build is stored there for later processes.
  cl_program get(cl_context context, cl_device_id device, const std::string& source, const std::string& options,
                 Verbosity verbose = Verbosity::kError, const std::string& binary_dir = "");
  // CL_PROGRAM_BUILD_LOG of a program this cache built, without trailing whitespace; empty if unknown.
  std::string build_log(cl_program program) const;
  // (options, build log) of every program built here, in key order.
  std::vector<std::pair<std::string, std::string>> build_logs() const;
  std::size_t size() const;

 private:
  struct Entry {
    cl_program program;
    std::string options, log;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry> programs_;
};

}  // namespace cannon
