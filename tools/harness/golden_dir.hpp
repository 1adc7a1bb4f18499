// A golden case directory on disk, for every operator: case.json ({"op", "attrs", "dtypes", "problem"}), one
// <argument>.npy per input and expected/<output>.npy. Tensors stored as raw bits (bf16 as "<u2") are declared in
// "dtypes". Operator drivers only name their attributes (attr_table.hpp), inputs and outputs.
// Every reader error is cannon::Error(kParamInvalid) naming the file and the rule: a corrupt golden is invalid
// input. The files come through GoldenFiles, so the same reader runs on a directory or on bytes in memory (fuzzing).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/harness/compare.hpp"
#include "tools/harness/host_data.hpp"

namespace cannon::tools {

// The files of one golden case by relative name ("case.json", "query.npy", "expected/attn_out.npy"); `read`
// returns nullopt for a missing file. `root` prefixes names in messages.
struct GoldenFiles {
  std::string root;
  std::function<std::optional<std::vector<uint8_t>>(const std::string& name)> read;

  std::string path(const std::string& name) const;
};
GoldenFiles golden_files_on_disk(const std::string& dir);
// Files held in memory (the map must outlive the GoldenFiles).
GoldenFiles golden_files_in_memory(const std::map<std::string, std::vector<uint8_t>>& files, const std::string& root);

// One expected/<name>.npy as stored: checked against what the operator produces once the case is planned.
struct ExpectedArray {
  std::string name, path, descr;
  std::vector<int64_t> shape;
  std::optional<DType> raw16;  // the dtype "<u2"/"<i2" raw bits were read as
};

struct GoldenDir {
  GoldenFiles files;
  std::string json_path;
  nlohmann::json j;
  std::map<std::string, DType> dtypes;  // case.json's "dtypes"

  std::optional<DType> declared(const std::string& name) const;
  bool has(const std::string& name) const;        // <name>.npy exists
  HostData input(const std::string& name) const;  // <name>.npy in its declared dtype
  // expected/<output>.npy for each of `outputs`, any subset but not none, in the order of `outputs`; stored wider is
  // fine, raw 16-bit words take `out_dtype` for the attention output and fp32 for the softmax statistics.
  // `arrays` receives each file's shape and type for check_expected.
  OutputValues expected(const std::vector<OutputSpec>& outputs, DType out_dtype,
                        std::vector<ExpectedArray>& arrays) const;
  // case.json's "attrs" object (empty when absent).
  const nlohmann::json& attrs() const;
};

// Reads case.json and checks its "op". Throws Error(kParamInvalid) naming the file.
GoldenDir open_golden_dir(const GoldenFiles& files, const char* op);

// Writes case.json, the inputs and expected/<name>.npy for each output.
void write_golden_dir(const std::string& dir, const char* op, const std::vector<NamedTensor>& inputs,
                      const std::vector<NamedTensor>& outputs, const nlohmann::json& attrs, const std::string& problem);

// case.json's "op" ("flash_attention_score", "ring_attention_update", ...). Throws naming the file.
std::string golden_op(const GoldenFiles& files);
std::string golden_op(const std::string& dir);

// Each expected array must have the shape of the operator's output of that name and a type that holds its dtype
// (<f4/<f8 for any float output, <f2 for fp16, raw bits <u2/<i2 declared as the output's own 16-bit dtype).
// `produced` holds the operator's outputs in the order of `outputs`. Throws Error(kParamInvalid) naming the file.
void check_expected(const std::vector<ExpectedArray>& arrays, const std::vector<OutputSpec>& outputs,
                    const std::vector<TensorDesc>& produced);

// Throws Error(kParamInvalid, "<where>: <message>"): a corrupt golden is invalid input.
[[noreturn]] void golden_fail(const std::string& where, const std::string& message);

// Strict case.json attribute values; errors name the file and the attribute. An integer must be a JSON number
// with no fractional part within int64 (2 and 2.0 pass; 2.7, 1e30, "2" and true do not); a float must be a
// finite JSON number; a list of integers may be null (empty).
int64_t attr_int(const nlohmann::json& v, const std::string& key, const std::string& where);
double attr_float(const nlohmann::json& v, const std::string& key, const std::string& where);
std::string attr_string(const nlohmann::json& v, const std::string& key, const std::string& where, bool null_ok);
std::vector<int64_t> attr_ints(const nlohmann::json& v, const std::string& key, const std::string& where);

}  // namespace cannon::tools
