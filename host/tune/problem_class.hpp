// Problem classes: what a tuned parameter set applies to. A class is dtype × head-dim bucket × mask class × phase,
// written as a stable key such as "fp32.d128.causal.prefill" (the database nests it under the kernel's name).
// Lookup falls back to the nearest class of the same dtype and bucket, along mask class and phase.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cannon/dtype.hpp"

namespace cannon::tune {

enum class MaskClass { kDense, kCausal, kBand };
enum class Phase { kPrefill, kDecode };

// A query length of at most this many rows (S1, or the longest batch of a TND problem) is decode.
constexpr int64_t kDecodeMaxRows = 16;

// Head-dim buckets: d64 (D <= 64), d128, d256, dlarge (D > 256). D is max(DK, DV).
int head_dim_bucket(int64_t d);  // 64, 128, 256, or 0 for dlarge

struct ProblemClass {
  DType dtype = DType::kFloat32;
  int bucket = 64;  // head_dim_bucket()
  MaskClass mask = MaskClass::kDense;
  Phase phase = Phase::kPrefill;

  std::string key() const;  // "fp32.d128.causal.prefill"
  bool operator==(const ProblemClass& o) const {
    return dtype == o.dtype && bucket == o.bucket && mask == o.mask && phase == o.phase;
  }
};

ProblemClass make_class(DType dtype, int64_t head_dim, MaskClass mask, int64_t query_rows);

// The class of a key, or nullopt with `why` set (naming the part that is wrong).
std::optional<ProblemClass> parse_class_key(std::string_view key, std::string* why = nullptr);

// The classes a lookup tries, nearest first: `c` itself, then the other mask classes of the same phase (causal and
// dense are nearer each other than band). Dtype, bucket and phase never change.
std::vector<ProblemClass> fallback_classes(const ProblemClass& c);

const char* mask_class_name(MaskClass m);  // dense, causal, band
const char* phase_name(Phase p);           // prefill, decode

}  // namespace cannon::tune
