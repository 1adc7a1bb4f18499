// A golden case directory on disk, for every operator: case.json ({"op", "attrs", "dtypes", "problem"}), one
// <argument>.npy per input and expected/<output>.npy. Tensors stored as raw bits (bf16 as "<u2") are declared in
// "dtypes". The per-operator files (golden.cpp, op_golden.cpp) only map attributes and argument names.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/common/compare.hpp"
#include "tools/common/host_data.hpp"

namespace cannon::tools {

struct GoldenDir {
  std::filesystem::path root;
  std::string json_path;
  nlohmann::json j;
  std::map<std::string, DType> dtypes;  // case.json's "dtypes"

  std::optional<DType> declared(const std::string& name) const;
  bool has(const std::string& name) const;        // <name>.npy exists
  HostData input(const std::string& name) const;  // <name>.npy in its declared dtype
  // expected/<names[i]>.npy, any subset but not none; stored wider is fine, raw 16-bit words take `out_dtype`.
  FaValues expected(const char* const (&names)[3], DType out_dtype) const;
};

// Reads case.json and checks its "op". Throws std::runtime_error naming the file.
GoldenDir open_golden_dir(const std::string& dir, const char* op);

// Writes case.json, the inputs and expected/<names[i]>.npy for outputs[i].
void write_golden_dir(const std::string& dir, const char* op, const std::vector<NamedInput>& inputs,
                      const char* const (&names)[3], const std::vector<HostData>& outputs, const nlohmann::json& attrs,
                      const std::string& problem);

// case.json's "op" ("flash_attention_score", "ring_attention_update", ...). Throws naming the file.
std::string golden_op(const std::string& dir);

}  // namespace cannon::tools
