// Reading and writing golden directories. Attribute names are the fields of FlashAttentionScoreAttrs, which
// are MindSpore's speed_fusion_attention names; torch_npu's spellings (pre_tockens, next_tockens) are
// accepted as aliases, and its scheduling-only flags (gen_mask_parallel, sync) are ignored.
#include "tools/common/golden.hpp"

#include "tools/common/golden_dir.hpp"

#include <nlohmann/json.hpp>

#include "cannon/error.hpp"

namespace cannon::tools {

const char* const kFaGoldenOutputs[3] = {"attention_out", "softmax_max", "softmax_sum"};

namespace {

using nlohmann::json;

constexpr const char* kOptionalInputs[] = {"pse", "atten_mask", "drop_mask"};

[[noreturn]] void fail(const std::string& where, const std::string& message) {
  throw Error(Status::kParamInvalid, where + ": " + message);
}

FlashAttentionScoreAttrs parse_attrs(const json& j, const std::string& where) {
  FlashAttentionScoreAttrs a;
  if (!j.contains("head_num") || !j.contains("input_layout")) fail(where, "attrs need head_num and input_layout");
  for (const auto& [key, v] : j.items()) {
    if (key == "head_num")
      a.head_num = attr_int(v, key, where);
    else if (key == "input_layout")
      a.input_layout = attr_string(v, key, where, false);
    else if (key == "scale" || key == "scale_value")
      a.scale = attr_float(v, key, where);
    else if (key == "keep_prob")
      a.keep_prob = attr_float(v, key, where);
    else if (key == "seed")
      a.seed = attr_int(v, key, where);
    else if (key == "offset")
      a.offset = attr_int(v, key, where);
    else if (key == "pre_tokens" || key == "pre_tockens")
      a.pre_tokens = attr_int(v, key, where);
    else if (key == "next_tokens" || key == "next_tockens")
      a.next_tokens = attr_int(v, key, where);
    else if (key == "inner_precise")
      a.inner_precise = attr_int(v, key, where);
    else if (key == "sparse_mode")
      a.sparse_mode = attr_int(v, key, where);
    else if (key == "pse_type")
      a.pse_type = attr_int(v, key, where);
    else if (key == "prefix")
      a.prefix = attr_ints(v, key, where);
    else if (key == "actual_seq_qlen")
      a.actual_seq_qlen = attr_ints(v, key, where);
    else if (key == "actual_seq_kvlen")
      a.actual_seq_kvlen = attr_ints(v, key, where);
    else if (key == "q_start_idx")
      a.q_start_idx = attr_ints(v, key, where);
    else if (key == "kv_start_idx")
      a.kv_start_idx = attr_ints(v, key, where);
    else if (key == "softmax_layout")
      a.softmax_layout = attr_string(v, key, where, true);
    else if (key != "gen_mask_parallel" && key != "sync")
      fail(where, "unknown attribute \"" + key + "\"");
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

}  // namespace

GoldenCase load_golden(const std::string& dir) { return load_golden(golden_files_on_disk(dir)); }

GoldenCase load_golden(const GoldenFiles& files) {
  const GoldenDir d = open_golden_dir(files, "flash_attention_score");
  GoldenCase g;
  g.dir = files.root;
  g.fa.attrs = parse_attrs(d.attrs(), d.json_path);
  g.fa.inputs.query = d.input("query");
  g.fa.inputs.key = d.input("key");
  g.fa.inputs.value = d.input("value");
  std::optional<HostData>* optional[] = {&g.fa.inputs.pse, &g.fa.inputs.atten_mask, &g.fa.inputs.drop_mask};
  for (std::size_t i = 0; i < std::size(kOptionalInputs); ++i) {
    if (d.has(kOptionalInputs[i])) *optional[i] = d.input(kOptionalInputs[i]);
  }
  // Expected outputs may be stored wider than the op's dtype; uint16 raw bits take the query's 16-bit dtype.
  g.expected = d.expected(kFaGoldenOutputs, g.fa.inputs.query.desc.dtype, g.expected_arrays);
  return g;
}

void write_golden(const std::string& dir, const FaCase& fa, const FaDeviceOutputs& outputs,
                  const std::string& problem) {
  std::vector<NamedInput> inputs = {{"query", fa.inputs.query}, {"key", fa.inputs.key}, {"value", fa.inputs.value}};
  const std::optional<HostData>* optional[] = {&fa.inputs.pse, &fa.inputs.atten_mask, &fa.inputs.drop_mask};
  for (std::size_t i = 0; i < std::size(kOptionalInputs); ++i) {
    if (*optional[i]) inputs.push_back({kOptionalInputs[i], **optional[i]});
  }
  write_golden_dir(dir, "flash_attention_score", inputs, kFaGoldenOutputs,
                   {outputs.attention_out, outputs.softmax_max, outputs.softmax_sum}, attrs_json(fa.attrs), problem);
}

}  // namespace cannon::tools
