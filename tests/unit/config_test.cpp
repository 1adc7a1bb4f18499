// Config parsing: every CANNON_* variable, its accepted forms and the errors for malformed values.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cannon/config.hpp"
#include "cannon/error.hpp"

namespace cannon {
namespace {

Config parse(const std::map<std::string, std::string>& env) {
  return Config::parse([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

Status parse_status(const std::map<std::string, std::string>& env) {
  try {
    parse(env);
  } catch (const Error& e) {
    return e.status();
  }
  return Status::kSuccess;
}

TEST(Config, DefaultsWhenUnset) {
  Config c = parse({});
  EXPECT_EQ(c.device, "");
  EXPECT_EQ(c.verbose, Verbosity::kError);
  EXPECT_TRUE(c.tune.empty());
  EXPECT_FALSE(c.strict);
}

TEST(Config, ReadsEveryVariable) {
  Config c = parse({{"CANNON_DEVICE", " 0:1 "},
                    {"CANNON_VERBOSE", "Profile"},
                    {"CANNON_TUNE", "fa.BLOCK_M=8, fa.BLOCK_N=64"},
                    {"CANNON_TUNE_DB", "/a/x.json:/b/y.json"},
                    {"CANNON_STRICT", "on"}});
  EXPECT_EQ(c.device, "0:1");
  EXPECT_EQ(c.verbose, Verbosity::kProfile);
  ASSERT_EQ(c.tune.size(), 2u);
  EXPECT_EQ(c.tune.at("fa.BLOCK_M"), 8);
  EXPECT_EQ(c.tune.at("fa.BLOCK_N"), 64);
  EXPECT_EQ(c.tune_db, (std::vector<std::string>{"/a/x.json", "/b/y.json"}));
  EXPECT_TRUE(c.tune_shipped_db);
  const Config none = parse({{"CANNON_TUNE_DB", "none"}});
  EXPECT_TRUE(none.tune_db.empty());
  EXPECT_FALSE(none.tune_shipped_db);
  EXPECT_TRUE(c.strict);
  EXPECT_EQ(parse({{"CANNON_VERBOSE", "dispatch"}}).verbose, Verbosity::kDispatch);
  EXPECT_FALSE(parse({{"CANNON_STRICT", "0"}}).strict);
}

// The program cache's directory: CANNON_PROGRAM_CACHE, else under XDG_CACHE_HOME, else under HOME; off by word.
TEST(Config, ProgramCacheDirectory) {
  EXPECT_EQ(parse({{"CANNON_PROGRAM_CACHE", "/c/p"}, {"HOME", "/h"}}).program_cache, "/c/p");
  EXPECT_EQ(parse({{"XDG_CACHE_HOME", "/x"}, {"HOME", "/h"}}).program_cache, "/x/cannon/programs");
  EXPECT_EQ(parse({{"HOME", "/h"}}).program_cache, "/h/.cache/cannon/programs");
  EXPECT_EQ(parse({}).program_cache, "");
  for (const char* off : {"off", "0", "none"}) {
    EXPECT_EQ(parse({{"CANNON_PROGRAM_CACHE", off}, {"HOME", "/h"}}).program_cache, "") << off;
  }
}

TEST(Config, RejectsMalformedValues) {
  EXPECT_EQ(parse_status({{"CANNON_VERBOSE", "loud"}}), Status::kParamInvalid);
  EXPECT_EQ(parse_status({{"CANNON_STRICT", "maybe"}}), Status::kParamInvalid);
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "fa.BLOCK_M"}}), Status::kParamInvalid);
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "fa.BLOCK_M=x"}}), Status::kParamInvalid);
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "fa.block_m=8"}}), Status::kParamInvalid);
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "FA.BLOCK_M=8"}}), Status::kParamInvalid);
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "fa.TILE=4"}}), Status::kParamInvalid);  // no kernel declares TILE
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "xx.BLOCK_M=4"}}), Status::kParamInvalid);
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "nsa.BLOCK_M=4"}}), Status::kParamInvalid);  // nsa has no BLOCK_M
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "BLOCK_M=32"}}), Status::kParamInvalid);     // bare: not namespaced
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "rau.RAU_ROWS=4,fa.BLOCK_M=32,nsa.QK_KEYS=4"}}), Status::kSuccess);
  // strtol saturates at LONG_MAX: an out-of-range value must not reach the kernels' checks as a clamped one.
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "rau.RAU_ROWS=99999999999999999999"}}), Status::kParamInvalid);
  EXPECT_EQ(parse_status({{"CANNON_TUNE", "fa.BLOCK_M=-99999999999999999999"}}), Status::kParamInvalid);
  EXPECT_EQ(parse_status({{"CANNON_TUNE_DB", "a.json:none"}}), Status::kParamInvalid);
}

// Names are namespaced per kernel since issue 10; a bare one is refused with the namespaced names to use.
TEST(Config, BareTuneNameSuggestsTheNamespacedOnes) {
  try {
    parse({{"CANNON_TUNE", "QK_KEYS=4"}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CANNON_TUNE"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fa.QK_KEYS or nsa.QK_KEYS"), std::string::npos) << e.what();
  }
  try {
    parse({{"CANNON_TUNE", "fa.TILE=4"}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("known: fa.VARIANT"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rau.RAU_LOCAL"), std::string::npos) << e.what();
  }
}

TEST(Config, ErrorNamesTheVariable) {
  try {
    parse({{"CANNON_VERBOSE", "loud"}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CANNON_VERBOSE"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cannon
