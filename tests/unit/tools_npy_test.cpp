// Tests of the .npy reader/writer behind golden directories: round trips of every dtype cannon stores,
// headers exactly as numpy writes them (v1.0 and v2.0), and clear errors for files cannon cannot read.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cannon/error.hpp"
#include "tools/harness/host_data.hpp"
#include "tools/harness/npy.hpp"

namespace cannon::tools {
namespace {

// A .npy image with a hand-written header, laid out the way numpy.save does it.
std::vector<uint8_t> npy_file(const std::string& dict, const std::vector<uint8_t>& payload, int version = 1) {
  std::string header = dict;
  std::size_t prefix = version == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> file = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(version), 0};
  for (std::size_t i = 0; i < prefix - 8; ++i) file.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  file.insert(file.end(), header.begin(), header.end());
  file.insert(file.end(), payload.begin(), payload.end());
  return file;
}

std::vector<uint8_t> floats(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

TEST(ToolsNpy, RoundTripsEveryStoredDtype) {
  const std::vector<double> values = {0.5, -1.25, 3.0, 0.0, 1.0, 7.0};
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kBool, DType::kUInt8, DType::kInt32,
                      DType::kInt64}) {
    HostData data = encode_values(dtype, {2, 3}, values);
    NpyArray parsed = parse_npy(serialize_npy(to_npy(data)), "test");
    EXPECT_EQ(parsed.descr, npy_descr(dtype));
    EXPECT_EQ(parsed.shape, (std::vector<int64_t>{2, 3}));
    HostData back = from_npy(parsed, dtype, "test");
    EXPECT_EQ(back.desc, data.desc) << dtype_name(dtype);
    EXPECT_EQ(back.bytes, data.bytes) << dtype_name(dtype);
  }
}

TEST(ToolsNpy, HeaderIsPaddedTo64Bytes) {
  std::vector<uint8_t> file = serialize_npy(NpyArray{"<f4", {3}, floats({1, 2, 3})});
  std::size_t header_len = file[8] | (file[9] << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_EQ(file[10 + header_len - 1], '\n');
}

TEST(ToolsNpy, ReadsNumpyHeadersOfBothVersionsAndScalars) {
  auto payload = floats({1.5f, -2.0f});
  for (int version : {1, 2}) {
    NpyArray a = parse_npy(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", payload, version),
                           "v" + std::to_string(version));
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2}));
    EXPECT_EQ(npy_values(a, std::nullopt, "a"), (std::vector<double>{1.5, -2.0}));
  }
  NpyArray scalar = parse_npy(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", floats({4})), "s");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.numel(), 1);
}

TEST(ToolsNpy, Bf16TravelsAsUint16AndNeedsADeclaredDtype) {
  HostData data = encode_values(DType::kBFloat16, {2}, {0.1, -3.0});
  NpyArray array = to_npy(data);
  EXPECT_EQ(array.descr, "<u2");
  EXPECT_THROW(from_npy(array, std::nullopt, "query.npy"), Error);
  EXPECT_EQ(npy_values(array, DType::kBFloat16, "x"), decode_values(data));
  // float32 values declared bf16 are rounded to bf16 (as a golden producer without bf16 support writes them).
  HostData rounded = from_npy(NpyArray{"<f4", {2}, floats({0.1f, -3.0f})}, DType::kBFloat16, "x");
  EXPECT_EQ(rounded.bytes, data.bytes);
}

TEST(ToolsNpy, RejectsWhatItCannotRead) {
  auto payload = floats({1, 2});
  auto rejects = [](const std::vector<uint8_t>& file, const std::string& needle) {
    try {
      parse_npy(file, "bad.npy");
      ADD_FAILURE() << "accepted, expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  rejects(npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", payload), "Fortran");
  rejects(npy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", payload), "big-endian");
  rejects(npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", payload), "not supported");
  rejects(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", payload), "payload");
  rejects(std::vector<uint8_t>{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0}, "magic");
}

}  // namespace
}  // namespace cannon::tools
