// In-memory cache of built OpenCL programs, keyed by device, source hash and build options (which
// carry every -D of the typed kernel config). PoCL keeps its own on-disk cache (POCL_CACHE_DIR) below
// this one, so a second process pays ~0.05 s instead of ~1 s per variant.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "cannon/cl.hpp"

namespace cannon {

class ProgramCache {
 public:
  ProgramCache() = default;
  ProgramCache(const ProgramCache&) = delete;
  ProgramCache& operator=(const ProgramCache&) = delete;
  ~ProgramCache();

  // Returns a built program (owned by the cache). Throws Error(kRuntimeError) with the build log on failure.
  cl_program get(cl_context context, cl_device_id device, const std::string& source, const std::string& options);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, cl_program> programs_;
};

}  // namespace cannon
