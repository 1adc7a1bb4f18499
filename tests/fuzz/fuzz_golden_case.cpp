// libFuzzer target: the golden-directory readers of every registered driver (case.json and the .npy files of
// flash_attention_score, ring_attention_update and nsa_select_attention) on bytes in memory. An input is one golden
// case packed as text: case.json first, then each further file after a line "--- <name>" (e.g. "--- query.npy",
// "--- expected/attn_out.npy"); tests/fuzz/pack_golden.py packs a directory written by cannon-conformance --dump.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.hpp"
#include "tools/drivers/registry.hpp"

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
  // The driver is found by case.json's "op"; any other op must be rejected by name.
  fuzz::accepts([&] { load_golden(golden); });
  return 0;
}
