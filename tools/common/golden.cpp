// Reading and writing golden directories. Attribute names are the fields of FlashAttentionScoreAttrs, which
// are MindSpore's speed_fusion_attention names; torch_npu's spellings (pre_tockens, next_tockens) are
// accepted as aliases, and its scheduling-only flags (gen_mask_parallel, sync) are ignored.
#include "tools/common/golden.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace cannon::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kOptionalInputs[] = {"pse", "atten_mask", "drop_mask"};
constexpr const char* kOutputs[] = {"attention_out", "softmax_max", "softmax_sum"};

[[noreturn]] void fail(const std::string& where, const std::string& message) {
  throw std::runtime_error(where + ": " + message);
}

FlashAttentionScoreAttrs parse_attrs(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "\"attrs\" must be an object");
  FlashAttentionScoreAttrs a;
  if (!j.contains("head_num") || !j.contains("input_layout")) fail(where, "attrs need head_num and input_layout");
  auto ints = [](const json& v) { return v.is_null() ? std::vector<int64_t>{} : v.get<std::vector<int64_t>>(); };
  for (const auto& [key, v] : j.items()) {
    try {
      if (key == "head_num")
        a.head_num = v.get<int64_t>();
      else if (key == "input_layout")
        a.input_layout = v.get<std::string>();
      else if (key == "scale" || key == "scale_value")
        a.scale = v.get<double>();
      else if (key == "keep_prob")
        a.keep_prob = v.get<double>();
      else if (key == "seed")
        a.seed = v.get<int64_t>();
      else if (key == "offset")
        a.offset = v.get<int64_t>();
      else if (key == "pre_tokens" || key == "pre_tockens")
        a.pre_tokens = v.get<int64_t>();
      else if (key == "next_tokens" || key == "next_tockens")
        a.next_tokens = v.get<int64_t>();
      else if (key == "inner_precise")
        a.inner_precise = v.get<int64_t>();
      else if (key == "sparse_mode")
        a.sparse_mode = v.get<int64_t>();
      else if (key == "pse_type")
        a.pse_type = v.get<int64_t>();
      else if (key == "prefix")
        a.prefix = ints(v);
      else if (key == "actual_seq_qlen")
        a.actual_seq_qlen = ints(v);
      else if (key == "actual_seq_kvlen")
        a.actual_seq_kvlen = ints(v);
      else if (key == "q_start_idx")
        a.q_start_idx = ints(v);
      else if (key == "kv_start_idx")
        a.kv_start_idx = ints(v);
      else if (key == "softmax_layout")
        a.softmax_layout = v.is_null() ? "" : v.get<std::string>();
      else if (key != "gen_mask_parallel" && key != "sync")
        fail(where, "unknown attribute \"" + key + "\"");
    } catch (const json::exception& e) {
      fail(where, "attribute \"" + key + "\": " + e.what());
    }
  }
  return a;
}

json attrs_json(const FlashAttentionScoreAttrs& a) {
  return json{{"head_num", a.head_num},
              {"input_layout", a.input_layout},
              {"scale", a.scale},
              {"keep_prob", a.keep_prob},
              {"seed", a.seed},
              {"offset", a.offset},
              {"pre_tokens", a.pre_tokens},
              {"next_tokens", a.next_tokens},
              {"inner_precise", a.inner_precise},
              {"sparse_mode", a.sparse_mode},
              {"pse_type", a.pse_type},
              {"prefix", a.prefix},
              {"actual_seq_qlen", a.actual_seq_qlen},
              {"actual_seq_kvlen", a.actual_seq_kvlen},
              {"q_start_idx", a.q_start_idx},
              {"kv_start_idx", a.kv_start_idx},
              {"softmax_layout", a.softmax_layout}};
}

std::optional<DType> declared(const std::map<std::string, DType>& dtypes, const std::string& name) {
  auto it = dtypes.find(name);
  return it == dtypes.end() ? std::nullopt : std::optional<DType>(it->second);
}

}  // namespace

GoldenCase load_golden(const std::string& dir) {
  fs::path root(dir);
  std::string json_path = (root / "case.json").string();
  std::ifstream in(json_path);
  if (!in) fail(json_path, "cannot open (a golden directory needs case.json)");
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    fail(json_path, e.what());
  }
  if (j.value("op", "") != "flash_attention_score") {
    fail(json_path, "\"op\" must be \"flash_attention_score\" (the only operator this release replays)");
  }
  std::map<std::string, DType> dtypes;
  if (j.contains("dtypes")) {
    for (const auto& [name, v] : j["dtypes"].items()) dtypes[name] = parse_dtype(v.get<std::string>(), json_path);
  }

  GoldenCase g;
  g.dir = dir;
  g.fa.attrs = parse_attrs(j.value("attrs", json::object()), json_path);
  auto input = [&](const std::string& name) {
    std::string path = (root / (name + ".npy")).string();
    return from_npy(read_npy(path), declared(dtypes, name), path);
  };
  g.fa.inputs.query = input("query");
  g.fa.inputs.key = input("key");
  g.fa.inputs.value = input("value");
  std::optional<HostData>* optional[] = {&g.fa.inputs.pse, &g.fa.inputs.atten_mask, &g.fa.inputs.drop_mask};
  for (std::size_t i = 0; i < std::size(kOptionalInputs); ++i) {
    if (fs::exists(root / (std::string(kOptionalInputs[i]) + ".npy"))) *optional[i] = input(kOptionalInputs[i]);
  }

  // Expected outputs may be stored wider than the op's dtype; uint16 raw bits take the query's 16-bit dtype.
  DType out_dtype = declared(dtypes, "attention_out").value_or(g.fa.inputs.query.desc.dtype);
  std::optional<std::vector<double>>* expected[] = {&g.expected.attention_out, &g.expected.softmax_max,
                                                    &g.expected.softmax_sum};
  for (std::size_t i = 0; i < std::size(kOutputs); ++i) {
    fs::path path = root / "expected" / (std::string(kOutputs[i]) + ".npy");
    if (fs::exists(path)) *expected[i] = npy_values(read_npy(path.string()), out_dtype, path.string());
  }
  if (!g.expected.attention_out && !g.expected.softmax_max && !g.expected.softmax_sum) {
    fail(dir, "no expected/attention_out.npy, expected/softmax_max.npy or expected/softmax_sum.npy");
  }
  return g;
}

void write_golden(const std::string& dir, const FaCase& fa, const FaDeviceOutputs& outputs,
                  const std::string& problem) {
  fs::path root(dir);
  fs::create_directories(root / "expected");
  json dtypes = json::object();
  auto put = [&](const fs::path& path, const std::string& name, const HostData& data) {
    dtypes[name] = dtype_name(data.desc.dtype);
    write_npy(path.string(), to_npy(data));
  };
  put(root / "query.npy", "query", fa.inputs.query);
  put(root / "key.npy", "key", fa.inputs.key);
  put(root / "value.npy", "value", fa.inputs.value);
  const std::optional<HostData>* optional[] = {&fa.inputs.pse, &fa.inputs.atten_mask, &fa.inputs.drop_mask};
  for (std::size_t i = 0; i < std::size(kOptionalInputs); ++i) {
    if (*optional[i]) put(root / (std::string(kOptionalInputs[i]) + ".npy"), kOptionalInputs[i], **optional[i]);
  }
  const HostData* outs[] = {&outputs.attention_out, &outputs.softmax_max, &outputs.softmax_sum};
  for (std::size_t i = 0; i < std::size(kOutputs); ++i) {
    put(root / "expected" / (std::string(kOutputs[i]) + ".npy"), kOutputs[i], *outs[i]);
  }
  json j{{"op", "flash_attention_score"},
         {"producer", "cannon-conformance --dump"},
         {"problem", problem},
         {"attrs", attrs_json(fa.attrs)},
         {"dtypes", dtypes}};
  std::ofstream out((root / "case.json").string());
  out << j.dump(2) << "\n";
  if (!out) fail((root / "case.json").string(), "cannot write");
}

}  // namespace cannon::tools
