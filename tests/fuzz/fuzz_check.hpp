// The property every fuzz target checks: the code under test either returns or throws cannon::Error with a
// rejection status and a non-empty message (DESIGN principle 7: the message names the argument and the rule).
// Any other exception type, an Error without a message, or an inner-error status aborts, so libFuzzer (or the
// replay driver) reports the input as a finding.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <typeinfo>

#include "cannon/error.hpp"

namespace cannon::fuzz {

[[noreturn]] inline void finding(const char* what, const char* detail) {
  std::fprintf(stderr, "fuzz finding: %s: %s\n", what, detail);
  std::fflush(stderr);
  std::abort();
}

// Runs `f`; returns true when it completed, false when it rejected the input properly.
template <class F>
bool accepts(F&& f) {
  try {
    f();
    return true;
  } catch (const Error& e) {
    const Status s = e.status();
    if (s != Status::kParamInvalid && s != Status::kParamNullptr && s != Status::kUnimplemented) {
      finding("a rejection with a status other than PARAM_INVALID/PARAM_NULLPTR/UNIMPLEMENTED", e.what());
    }
    if (std::strlen(e.what()) == 0) finding("a cannon::Error without a message", status_name(s));
    return false;
  } catch (const std::exception& e) {
    finding(typeid(e).name(), e.what());
  }
}

// A step that must not fail at all once the input was accepted (a round trip of accepted input).
template <class F>
void must_succeed(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    finding(what, e.what());
  }
}

inline void require(bool ok, const char* what) {
  if (!ok) finding("property violated", what);
}

}  // namespace cannon::fuzz
