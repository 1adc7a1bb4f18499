// Reading and writing ring_attention_update / nsa_select_attention golden directories. Tensors stored as raw
// bits (bf16 as "<u2") are declared in case.json's "dtypes", exactly as for flash_attention_score.
#include "tools/common/op_golden.hpp"

#include "tools/common/golden_dir.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "cannon/error.hpp"

namespace cannon::tools {

const char* const kRauGoldenOutputs[3] = {"attn_out", "softmax_max", "softmax_sum"};
const char* const kNsaGoldenOutputs[3] = {"attention_out", "softmax_max", "softmax_sum"};

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& message) {
  throw Error(Status::kParamInvalid, where + ": " + message);
}

}  // namespace

RauGolden load_rau_golden(const std::string& dir) { return load_rau_golden(golden_files_on_disk(dir)); }

RauGolden load_rau_golden(const GoldenFiles& files) {
  GoldenDir d = open_golden_dir(files, "ring_attention_update");
  RauGolden g;
  for (const auto& [key, v] : d.attrs().items()) {
    if (key == "layout" || key == "input_layout")
      g.c.attrs.input_layout = attr_string(v, key, d.json_path, false);
    else if (key == "softmax_layout" || key == "input_softmax_layout")
      g.c.attrs.softmax_layout = attr_string(v, key, d.json_path, true);
    else
      fail(d.json_path, "unknown attribute \"" + key + "\"");
  }
  g.c.prev_out = d.input("prev_attn_out");
  g.c.prev_max = d.input("prev_softmax_max");
  g.c.prev_sum = d.input("prev_softmax_sum");
  g.c.cur_out = d.input("cur_attn_out");
  g.c.cur_max = d.input("cur_softmax_max");
  g.c.cur_sum = d.input("cur_softmax_sum");
  if (d.has("actual_seq_qlen")) g.c.actual_seq_qlen = d.input("actual_seq_qlen");
  g.expected = d.expected(kRauGoldenOutputs, g.c.prev_out.desc.dtype, g.expected_arrays);
  return g;
}

NsaGolden load_nsa_golden(const std::string& dir) { return load_nsa_golden(golden_files_on_disk(dir)); }

NsaGolden load_nsa_golden(const GoldenFiles& files) {
  GoldenDir d = open_golden_dir(files, "nsa_select_attention");
  NsaGolden g;
  NsaSelectedAttentionAttrs& a = g.c.attrs;
  const json& attrs = d.attrs();
  if (!attrs.contains("head_num")) fail(d.json_path, "attrs need head_num");
  for (const auto& [key, v] : attrs.items()) {
    if (key == "scale_value" || key == "scale")
      a.scale_value = attr_float(v, key, d.json_path);
    else if (key == "head_num")
      a.head_num = attr_int(v, key, d.json_path);
    else if (key == "input_layout" || key == "layout")
      a.input_layout = attr_string(v, key, d.json_path, false);
    else if (key == "sparse_mode")
      a.sparse_mode = attr_int(v, key, d.json_path);
    else if (key == "select_block_size")
      a.select_block_size = attr_int(v, key, d.json_path);
    else if (key == "select_block_count")
      a.select_block_count = attr_int(v, key, d.json_path);
    else if (key == "actual_seq_qlen")
      a.actual_seq_qlen = attr_ints(v, key, d.json_path);
    else if (key == "actual_seq_kvlen")
      a.actual_seq_kvlen = attr_ints(v, key, d.json_path);
    else
      fail(d.json_path, "unknown attribute \"" + key + "\"");
  }
  g.c.query = d.input("query");
  g.c.key = d.input("key");
  g.c.value = d.input("value");
  g.c.topk_indices = d.input("topk_indices");
  if (d.has("atten_mask")) g.c.atten_mask = d.input("atten_mask");
  g.expected = d.expected(kNsaGoldenOutputs, g.c.query.desc.dtype, g.expected_arrays);
  return g;
}

void write_rau_golden(const std::string& dir, const RauCase& c, const std::vector<HostData>& outputs,
                      const std::string& problem) {
  json attrs{{"layout", c.attrs.input_layout}, {"softmax_layout", c.attrs.softmax_layout}};
  write_golden_dir(dir, "ring_attention_update", c.named_inputs(), kRauGoldenOutputs, outputs, attrs, problem);
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
  write_golden_dir(dir, "nsa_select_attention", c.named_inputs(), kNsaGoldenOutputs, outputs, attrs, problem);
}

}  // namespace cannon::tools
