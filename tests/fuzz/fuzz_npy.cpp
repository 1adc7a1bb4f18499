// libFuzzer target: parse_npy on arbitrary bytes, then what the golden reader does with an accepted array
// (decode its values, convert it to a declared dtype). An accepted array must survive serialize -> parse unchanged.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tests/fuzz/fuzz_check.hpp"
#include "tools/harness/host_data.hpp"
#include "tools/harness/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cannon;
  using namespace cannon::tools;
  const std::vector<uint8_t> file(data, data + size);
  NpyArray array;
  if (!fuzz::accepts([&] { array = parse_npy(file, "fuzz.npy"); })) return 0;
  fuzz::must_succeed("the accepted array's size", [&] {
    fuzz::require(static_cast<uint64_t>(array.numel()) * npy_item_size(array.descr, "fuzz.npy") == array.data.size(),
                  "numel * item size != payload size");
    NpyArray again = parse_npy(serialize_npy(array), "round trip");
    fuzz::require(again.descr == array.descr && again.shape == array.shape && again.data == array.data,
                  "serialize_npy -> parse_npy changed the array");
  });
  fuzz::accepts([&] { npy_values(array, DType::kBFloat16, "fuzz.npy"); });
  for (std::optional<DType> declared :
       {std::optional<DType>(), std::optional<DType>(DType::kFloat16), std::optional<DType>(DType::kInt64)}) {
    fuzz::accepts([&] { from_npy(array, declared, "fuzz.npy"); });
  }
  return 0;
}
