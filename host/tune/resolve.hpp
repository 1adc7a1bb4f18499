// Where each tuned parameter comes from: the heuristics (the device's properties; host/ops), then the tuning
// database (the user's CANNON_TUNE_DB files, then the shipped one), then CANNON_TUNE, which overrides everything.
// CANNON_TUNE names are namespaced per kernel: "fa.QK_KEYS=4,nsa.QK_KEYS=8,rau.RAU_ROWS=4" (docs/tuning.md).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cannon/config.hpp"
#include "cannon/context.hpp"
#include "host/tune/params.hpp"
#include "host/tune/problem_class.hpp"

namespace cannon::tune {

enum class Source { kHeuristic, kDatabase, kOverride };
const char* source_name(Source s);  // heuristic, db, CANNON_TUNE

struct Resolved {
  ProblemClass cls;
  ConstraintInput constraint;
  Values values;                                   // every declared parameter of the kernel
  std::map<std::string, Source> sources;           // per parameter
  std::string db_origin, db_device_key, db_class;  // the database entry used (empty: none)
  std::string db_rejected;  // a database entry found but not used: why (its values break a constraint here)

  bool overridden(const std::string& name) const {
    auto it = sources.find(name);
    return it != sources.end() && it->second == Source::kOverride;
  }
  // "BLOCK_M=96 (db) BLOCK_N=32 (heuristic) ..." plus the entry's file, device key and class.
  std::string describe() const;
};

// CANNON_TUNE text to namespaced overrides ("fa.QK_KEYS" → 4). Throws Error(kParamInvalid) naming CANNON_TUNE for
// bad syntax, an unknown name (listing the known ones) and a bare pre-namespace name (suggesting kernel.NAME).
Values parse_overrides(const std::string& raw);
// The same name checks for a Config built in code (Config::tune set directly).
void check_override_names(const Values& tune);

// Heuristics (`heuristics` must hold every declared parameter of `kernel`), then the database entry for the
// device and class, then the Config's CANNON_TUNE values for `kernel`. A database entry whose values break a
// constraint here (another head dim in the bucket, a smaller device) is skipped in favour of the heuristics; an
// override that does, or one outside its declared range, is Error(kParamInvalid) naming CANNON_TUNE. With
// CANNON_VERBOSE=dispatch each resolution is printed with each parameter's source.
// Records every resolve() of the constructing thread while alive (cannon-tune reads a plan's heuristic values and
// class this way; tests check where a plan's values came from). Not nested.
class ResolveCapture {
 public:
  ResolveCapture();
  ~ResolveCapture();
  ResolveCapture(const ResolveCapture&) = delete;
  ResolveCapture& operator=(const ResolveCapture&) = delete;
  // (kernel, resolution) in call order.
  const std::vector<std::pair<std::string, Resolved>>& seen() const { return seen_; }

 private:
  friend Resolved resolve(const std::string&, const DeviceInfo&, const ProblemClass&, const Values&, const Config&,
                          const ConstraintInput&);
  std::vector<std::pair<std::string, Resolved>> seen_;
};

// Every full assignment cannon-tune tries for a class: the product of the search lists of the parameters that are
// relevant (KernelDecl::relevant, judged on `base`), `base`'s values for the others, filtered by the constraint.
// `base` (the heuristics) comes first whether or not it is on the grid.
std::vector<Values> candidates(const KernelDecl& kernel, const Values& base, const ProblemClass& cls,
                               const ConstraintInput& constraint);

Resolved resolve(const std::string& kernel, const DeviceInfo& device, const ProblemClass& cls, const Values& heuristics,
                 const Config& config, const ConstraintInput& constraint);

}  // namespace cannon::tune
