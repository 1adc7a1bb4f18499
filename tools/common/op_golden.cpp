// Reading and writing ring_attention_update / nsa_select_attention golden directories. Tensors stored as raw
// bits (bf16 as "<u2") are declared in case.json's "dtypes", exactly as for flash_attention_score.
#include "tools/common/op_golden.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

namespace cannon::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kRauOutputs[] = {"attn_out", "softmax_max", "softmax_sum"};
constexpr const char* kNsaOutputs[] = {"attention_out", "softmax_max", "softmax_sum"};

[[noreturn]] void fail(const std::string& where, const std::string& message) {
  throw std::runtime_error(where + ": " + message);
}

struct Dir {
  fs::path root;
  std::string json_path;
  json j;
  std::map<std::string, DType> dtypes;

  std::optional<DType> declared(const std::string& name) const {
    auto it = dtypes.find(name);
    return it == dtypes.end() ? std::nullopt : std::optional<DType>(it->second);
  }
  bool has(const std::string& name) const { return fs::exists(root / (name + ".npy")); }
  HostData input(const std::string& name) const {
    std::string path = (root / (name + ".npy")).string();
    return from_npy(read_npy(path), declared(name), path);
  }
  // Expected outputs may be stored wider; raw 16-bit words take `out_dtype`.
  FaValues expected(const char* const (&names)[3], DType out_dtype) const {
    FaValues v;
    std::optional<std::vector<double>>* slots[] = {&v.attention_out, &v.softmax_max, &v.softmax_sum};
    for (int i = 0; i < 3; ++i) {
      fs::path path = root / "expected" / (std::string(names[i]) + ".npy");
      DType raw = i == 0 ? declared(names[i]).value_or(out_dtype) : DType::kFloat32;
      if (fs::exists(path)) *slots[i] = npy_values(read_npy(path.string()), raw, path.string());
    }
    if (!v.attention_out && !v.softmax_max && !v.softmax_sum) fail(root.string(), "no expected/*.npy outputs");
    return v;
  }
};

Dir open_dir(const std::string& dir, const char* op) {
  Dir d{fs::path(dir), (fs::path(dir) / "case.json").string(), {}, {}};
  std::ifstream in(d.json_path);
  if (!in) fail(d.json_path, "cannot open (a golden directory needs case.json)");
  try {
    in >> d.j;
  } catch (const json::exception& e) {
    fail(d.json_path, e.what());
  }
  if (d.j.value("op", "") != op) fail(d.json_path, std::string("\"op\" must be \"") + op + "\"");
  if (d.j.contains("dtypes")) {
    for (const auto& [name, v] : d.j["dtypes"].items()) d.dtypes[name] = parse_dtype(v.get<std::string>(), d.json_path);
  }
  return d;
}

void write_dir(const std::string& dir, const char* op, const std::vector<NamedInput>& inputs,
               const char* const (&names)[3], const std::vector<HostData>& outputs, const json& attrs,
               const std::string& problem) {
  fs::path root(dir);
  fs::create_directories(root / "expected");
  json dtypes = json::object();
  auto put = [&](const fs::path& path, const std::string& name, const HostData& data) {
    dtypes[name] = dtype_name(data.desc.dtype);
    write_npy(path.string(), to_npy(data));
  };
  for (const NamedInput& in : inputs) put(root / (in.name + ".npy"), in.name, in.data);
  for (std::size_t i = 0; i < 3 && i < outputs.size(); ++i) {
    put(root / "expected" / (std::string(names[i]) + ".npy"), names[i], outputs[i]);
  }
  json j{{"op", op},
         {"producer", "cannon-conformance --dump"},
         {"problem", problem},
         {"attrs", attrs},
         {"dtypes", dtypes}};
  std::ofstream out((root / "case.json").string());
  out << j.dump(2) << "\n";
  if (!out) fail((root / "case.json").string(), "cannot write");
}

}  // namespace

std::string golden_op(const std::string& dir) {
  std::string path = (fs::path(dir) / "case.json").string();
  std::ifstream in(path);
  if (!in) fail(path, "cannot open (a golden directory needs case.json)");
  try {
    json j;
    in >> j;
    return j.value("op", "");
  } catch (const json::exception& e) {
    fail(path, e.what());
  }
}

RauGolden load_rau_golden(const std::string& dir) {
  Dir d = open_dir(dir, "ring_attention_update");
  RauGolden g;
  const json attrs = d.j.value("attrs", json::object());  // items() must not iterate a temporary
  for (const auto& [key, v] : attrs.items()) {
    try {
      if (key == "layout" || key == "input_layout")
        g.c.attrs.input_layout = v.get<std::string>();
      else if (key == "softmax_layout" || key == "input_softmax_layout")
        g.c.attrs.softmax_layout = v.is_null() ? "" : v.get<std::string>();
      else
        fail(d.json_path, "unknown attribute \"" + key + "\"");
    } catch (const json::exception& e) {
      fail(d.json_path, "attribute \"" + key + "\": " + e.what());
    }
  }
  g.c.prev_out = d.input("prev_attn_out");
  g.c.prev_max = d.input("prev_softmax_max");
  g.c.prev_sum = d.input("prev_softmax_sum");
  g.c.cur_out = d.input("cur_attn_out");
  g.c.cur_max = d.input("cur_softmax_max");
  g.c.cur_sum = d.input("cur_softmax_sum");
  if (d.has("actual_seq_qlen")) g.c.actual_seq_qlen = d.input("actual_seq_qlen");
  g.expected = d.expected(kRauOutputs, g.c.prev_out.desc.dtype);
  return g;
}

NsaGolden load_nsa_golden(const std::string& dir) {
  Dir d = open_dir(dir, "nsa_select_attention");
  NsaGolden g;
  NsaSelectedAttentionAttrs& a = g.c.attrs;
  json attrs = d.j.value("attrs", json::object());
  if (!attrs.contains("head_num")) fail(d.json_path, "attrs need head_num");
  auto ints = [](const json& v) { return v.is_null() ? std::vector<int64_t>{} : v.get<std::vector<int64_t>>(); };
  for (const auto& [key, v] : attrs.items()) {
    try {
      if (key == "scale_value" || key == "scale")
        a.scale_value = v.get<double>();
      else if (key == "head_num")
        a.head_num = v.get<int64_t>();
      else if (key == "input_layout" || key == "layout")
        a.input_layout = v.get<std::string>();
      else if (key == "sparse_mode")
        a.sparse_mode = v.get<int64_t>();
      else if (key == "select_block_size")
        a.select_block_size = v.get<int64_t>();
      else if (key == "select_block_count")
        a.select_block_count = v.get<int64_t>();
      else if (key == "actual_seq_qlen")
        a.actual_seq_qlen = ints(v);
      else if (key == "actual_seq_kvlen")
        a.actual_seq_kvlen = ints(v);
      else
        fail(d.json_path, "unknown attribute \"" + key + "\"");
    } catch (const json::exception& e) {
      fail(d.json_path, "attribute \"" + key + "\": " + e.what());
    }
  }
  g.c.query = d.input("query");
  g.c.key = d.input("key");
  g.c.value = d.input("value");
  g.c.topk_indices = d.input("topk_indices");
  if (d.has("atten_mask")) g.c.atten_mask = d.input("atten_mask");
  g.expected = d.expected(kNsaOutputs, g.c.query.desc.dtype);
  return g;
}

void write_rau_golden(const std::string& dir, const RauCase& c, const std::vector<HostData>& outputs,
                      const std::string& problem) {
  json attrs{{"layout", c.attrs.input_layout}, {"softmax_layout", c.attrs.softmax_layout}};
  write_dir(dir, "ring_attention_update", c.named_inputs(), kRauOutputs, outputs, attrs, problem);
}

void write_nsa_golden(const std::string& dir, const NsaCase& c, const std::vector<HostData>& outputs,
                      const std::string& problem) {
  const NsaSelectedAttentionAttrs& a = c.attrs;
  json attrs{{"scale_value", a.scale_value},
             {"head_num", a.head_num},
             {"input_layout", a.input_layout},
             {"sparse_mode", a.sparse_mode},
             {"select_block_size", a.select_block_size},
             {"select_block_count", a.select_block_count},
             {"actual_seq_qlen", a.actual_seq_qlen},
             {"actual_seq_kvlen", a.actual_seq_kvlen}};
  write_dir(dir, "nsa_select_attention", c.named_inputs(), kNsaOutputs, outputs, attrs, problem);
}

}  // namespace cannon::tools
