// Hostile inputs to the tools' readers: .npy headers whose sizes overflow, case.json attributes of the
// wrong JSON type or range, problem strings whose sizes overflow or would allocate before the operator sees them.
// Every rejection must be cannon::Error(kParamInvalid) naming the file or key, never a wrapped value or a hang.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cannon/error.hpp"
#include "tests/unit/tools_test_util.hpp"
#include "tools/drivers/nsa/nsa_case.hpp"
#include "tools/drivers/rau/rau_case.hpp"
#include "tools/drivers/registry.hpp"
#include "tools/harness/npy.hpp"

namespace cannon::tools {
namespace {

std::vector<uint8_t> npy_image(const std::string& dict, std::size_t payload_bytes) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> file = {0x93,
                               'N',
                               'U',
                               'M',
                               'P',
                               'Y',
                               1,
                               0,
                               static_cast<uint8_t>(header.size()),
                               static_cast<uint8_t>(header.size() >> 8)};
  file.insert(file.end(), header.begin(), header.end());
  file.resize(file.size() + payload_bytes, 0);
  return file;
}

// Runs `f`; it must throw cannon::Error(kParamInvalid) whose message contains every needle.
template <class F>
void expect_invalid(F&& f, const std::vector<std::string>& needles, const std::string& label) {
  try {
    f();
    ADD_FAILURE() << label << ": accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kParamInvalid) << label << ": " << e.what();
    for (const std::string& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << label << ": threw a non-cannon::Error: " << e.what();
  }
}

TEST(ToolsHardening, NpyShapeWhoseByteSizeWrapsIsRejected) {
  // 2^51 · 2^13 + 8192 elements of one byte: wraps to 8192 in 64 bits, which the 8 KiB payload matched.
  auto file = npy_image("{'descr': '|u1', 'fortran_order': False, 'shape': (2251799813685249, 8192), }", 8192);
  expect_invalid([&] { parse_npy(file, "huge.npy"); }, {"huge.npy", "overflows"}, "wrapping shape");
  // A dimension with more digits than int64 holds.
  auto digits = npy_image("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 4);
  expect_invalid([&] { parse_npy(digits, "digits.npy"); }, {"digits.npy", "does not fit in int64"}, "digits");
}

TEST(ToolsHardening, NpyRejectionsAreParamInvalid) {
  expect_invalid([] { parse_npy({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0}, "zip.npy"); }, {"zip.npy", "magic"}, "magic");
  expect_invalid([] { read_npy("/nonexistent/cannon/x.npy"); }, {"x.npy", "cannot open"}, "missing file");
}

// A golden directory written by the tools, whose case.json the test then edits.
std::filesystem::path golden_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("cannon_hardening_" + name);
  std::filesystem::remove_all(dir);
  FaCase c = generated("fa:b1n2g1s1=3s2=5d=8:layout=BSND:dt=fp32");
  HostData out = c.inputs.query;
  HostData stats = encode_values(DType::kFloat32, {1, 2, 3, 8}, std::vector<double>(48, 1.0));
  write_golden(dir.string(), c, {out, stats, stats}, "test");
  return dir;
}

void set_attr(const std::filesystem::path& dir, const std::string& key, const nlohmann::json& value) {
  nlohmann::json j;
  std::ifstream(dir / "case.json") >> j;
  j["attrs"][key] = value;
  std::ofstream(dir / "case.json") << j.dump(2);
}

TEST(ToolsHardening, GoldenAttributesAreStrictlyTyped) {
  const auto dir = golden_dir("attrs");
  EXPECT_EQ(case_of<FaCase>(load_golden(dir.string())).attrs.head_num, 2);
  set_attr(dir, "head_num", 2.0);  // an integer printed as a float is still that integer
  EXPECT_EQ(case_of<FaCase>(load_golden(dir.string())).attrs.head_num, 2);
  const std::pair<nlohmann::json, std::string> bad_ints[] = {
      {2.7, "not an integer"},
      {1e30, "not an integer"},
      {"2", "must be an integer"},
      {true, "must be an integer"},
      {nlohmann::json::parse("18446744073709551615"), "out of the int64 range"}};
  for (const auto& [value, needle] : bad_ints) {
    set_attr(dir, "head_num", value);
    expect_invalid([&] { load_golden(dir.string()); }, {"case.json", "\"head_num\"", needle}, value.dump());
  }
  set_attr(dir, "head_num", 2);
  set_attr(dir, "pre_tokens", -1.5);
  expect_invalid([&] { load_golden(dir.string()); }, {"\"pre_tokens\""}, "pre_tokens");
  set_attr(dir, "pre_tokens", 7);
  set_attr(dir, "scale", "0.5");
  expect_invalid([&] { load_golden(dir.string()); }, {"\"scale\"", "must be a number"}, "scale string");
  set_attr(dir, "scale", 0.5);
  set_attr(dir, "prefix", nlohmann::json::array({1, 2.5}));
  expect_invalid([&] { load_golden(dir.string()); }, {"\"prefix[1]\""}, "prefix");
  set_attr(dir, "prefix", nullptr);
  set_attr(dir, "input_layout", 3);
  expect_invalid([&] { load_golden(dir.string()); }, {"\"input_layout\"", "must be a string"}, "layout");
  std::filesystem::remove_all(dir);
}

TEST(ToolsHardening, CaseJsonOfTheWrongShapeIsRejected) {
  const auto dir = golden_dir("json");
  for (const char* text : {"[1, 2]", "{\"op\": 7}", "{\"op\": \"flash_attention_score\", \"attrs\": []}",
                           "{\"op\": \"flash_attention_score\", \"dtypes\": {\"query\": 1}}", "{\"op\": "}) {
    std::ofstream(dir / "case.json") << text;
    expect_invalid([&] { load_golden(dir.string()); }, {"case.json"}, text);
  }
  std::filesystem::remove_all(dir);
}

TEST(ToolsHardening, HeadDimZeroIsLeftToTheOperatorNotAnInfiniteScale) {
  EXPECT_EQ(describe_case(parse_fa_problem("fa:b1n1s=7d=0")).attrs.scale, 1.0);
  EXPECT_EQ(describe_case(parse_nsa_problem("nsa:n1=4n2=1s1=7s2=64dk=0dv=0bs=16count=1")).attrs.scale_value, 1.0);
  EXPECT_DOUBLE_EQ(describe_case(parse_fa_problem("fa:b1n1s=7d=16")).attrs.scale, 0.25);
}

TEST(ToolsHardening, ProblemSizesAreCheckedBeforeAnythingIsAllocated) {
  // TND without seqq= lists one end per batch: a mistyped b must not allocate gigabytes before planning.
  expect_invalid([] { describe_case(parse_fa_problem("fa:b2000000n1s=1d=16:layout=TND")); }, {"b=2000000", "seqq"},
                 "fa TND batches");
  expect_invalid([] { describe_case(parse_nsa_problem("nsa:b2000000n1=4n2=1s1=1s2=64d=16bs=16count=1")); },
                 {"b=2000000"}, "nsa batches");
  expect_invalid([] { describe_case(parse_rau_problem("rau:b2000000n1s=1d=16:layout=TND")); }, {"b=2000000"},
                 "rau TND batches");
  // Products that overflow int64 are errors, never wrapped sizes.
  expect_invalid([] { describe_case(parse_fa_problem("fa:b3n1s=4611686018427387904d=16:layout=TND")); }, {"overflows"},
                 "cumulative ends");
  expect_invalid([] { describe_case(parse_fa_problem("fa:b1n4611686018427387904s=1d=4:layout=BSH")); },
                 {"H = N·D", "overflows"}, "BSH hidden size");
  expect_invalid([] { describe_case(parse_fa_problem("fa:b65536n65536s=65536d=65536")); }, {"query", "overflows"},
                 "query bytes");
  expect_invalid([] { describe_case(parse_rau_problem("rau:b1n4611686018427387904s=1d=4")); }, {"overflows"},
                 "rau hidden size");
}

TEST(ToolsHardening, ProblemStringMessagesSayWhatIsWrong) {
  expect_invalid([] { parse_fa_problem("fa:b99999999999999999999n1"); }, {"'b'", "out of range"}, "huge b");
  expect_invalid([] { parse_rau_problem("rau:b1:seed=-1"); }, {"'seed' must be >= 0"}, "rau seed");
  expect_invalid([] { parse_nsa_problem("nsa:n4:seed=-3"); }, {"'seed' must be >= 0"}, "nsa seed");
  expect_invalid([] { parse_fa_problem(std::string("fa:b1:scale=1\0x", 14)); }, {"'scale' needs a number", "\\x00"},
                 "NUL");
}

}  // namespace
}  // namespace cannon::tools
