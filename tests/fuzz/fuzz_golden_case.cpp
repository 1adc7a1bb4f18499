// libFuzzer target: the golden-directory readers (case.json and the .npy files of flash_attention_score,
// ring_attention_update and nsa_select_attention) on bytes in memory. An input is one golden case packed as text:
// case.json first, then each further file after a line "--- <name>" (e.g. "--- query.npy",
// "--- expected/attn_out.npy"); tests/fuzz/pack_golden.py packs a directory written by cannon-conformance --dump.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.hpp"
#include "tools/common/golden.hpp"
#include "tools/common/op_golden.hpp"

namespace {

using Files = std::map<std::string, std::vector<uint8_t>>;

Files unpack(std::string_view text) {
  Files files;
  std::string name = "case.json";
  constexpr std::string_view kMark = "\n--- ";
  while (true) {
    const std::size_t at = text.find(kMark);
    const std::string_view body = text.substr(0, at);
    files[name].assign(body.begin(), body.end());
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + kMark.size());
    const std::size_t eol = text.find('\n');
    name = std::string(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
  }
  return files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cannon;
  using namespace cannon::tools;
  const Files files = unpack(std::string_view(reinterpret_cast<const char*>(data), size));
  const GoldenFiles golden = golden_files_in_memory(files, "fuzz");
  std::string op;
  if (!fuzz::accepts([&] { op = golden_op(golden); })) return 0;
  if (op == "ring_attention_update") {
    fuzz::accepts([&] { load_rau_golden(golden); });
  } else if (op == "nsa_select_attention") {
    fuzz::accepts([&] { load_nsa_golden(golden); });
  } else {
    fuzz::accepts([&] { load_golden(golden); });  // any other op must be rejected by name
  }
  return 0;
}
