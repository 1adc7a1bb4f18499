// The tuning layer (host/tune, docs/tuning.md): parameter declarations and constraints, problem-class keys and their
// fallback order, device keys, database parsing (good and malformed files), and the lookup order heuristics <
// shipped database < user database < CANNON_TUNE, through choose_kernel_config as a plan calls it.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "cannon/config.hpp"
#include "cannon/error.hpp"
#include "host/ops/kernel_config.hpp"
#include "host/runtime/context_impl.hpp"
#include "host/tune/database.hpp"
#include "host/tune/device_key.hpp"
#include "host/tune/resolve.hpp"
#include "tests/unit/test_devices.hpp"

namespace cannon {
namespace {

using tune::MaskClass;

DeviceInfo device(const char* platform, const char* vendor, const char* name, DeviceKind kind) {
  return test::device(platform, vendor, name, kind, 4096);
}
const DeviceInfo kPocl =
    device("Portable Computing Language", "The pocl project", "pthread-skylake-avx512-AMD EPYC", DeviceKind::kCpu);
const DeviceInfo kPoclAvx2 =
    device("Portable Computing Language", "The pocl project", "pthread-haswell-Intel(R) Core(TM) i7", DeviceKind::kCpu);
const DeviceInfo kRusticl = device("rusticl", "Mesa/X.org", "llvmpipe (LLVM 15.0.6, 256 bits)", DeviceKind::kCpu);

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(TuneParams, DeclarationsAndConstraints) {
  const tune::KernelDecl* fa = tune::find_kernel("fa");
  ASSERT_NE(fa, nullptr);
  for (const char* p : {"VARIANT", "VW", "BLOCK_M", "BLOCK_N", "QK_KEYS", "PV_COLS", "QK_ROW_VECS", "PV_ROW_VECS",
                        "MASK_PREPASS", "SPLIT_KV"}) {
    EXPECT_NE(fa->find(p), nullptr) << p;
  }
  EXPECT_EQ(tune::find_kernel("nsa")->params.size(), 4u);
  EXPECT_EQ(tune::find_kernel("rau")->params.size(), 3u);
  EXPECT_EQ(tune::find_kernel("xx"), nullptr);
  EXPECT_TRUE(fa->find("BLOCK_N")->accepts(64));
  EXPECT_FALSE(fa->find("BLOCK_N")->accepts(12));  // a multiple of 8
  EXPECT_EQ(fa->find("BLOCK_N")->range_text(), "a multiple of 8 in 8..256");
  EXPECT_EQ(fa->find("PV_COLS")->range_text(), "1, 2, 4, 8 or 16");
  EXPECT_FALSE(fa->find("VW")->accepts(5));

  tune::Values v = {{"VARIANT", 0}, {"VW", 16},         {"BLOCK_M", 96},    {"BLOCK_N", 64},     {"QK_KEYS", 4},
                    {"PV_COLS", 4}, {"QK_ROW_VECS", 0}, {"PV_ROW_VECS", 0}, {"MASK_PREPASS", 1}, {"SPLIT_KV", 0}};
  const tune::ConstraintInput in{"pocl", 64, 64, 0, 4096};
  EXPECT_EQ(fa->constraint(v, in), "");
  // The private-memory budget of a PoCL thread stack: 128 x 64 tiles fit at D = 64, not at D = 768.
  tune::Values big = v;
  big["BLOCK_M"] = 128;
  big["BLOCK_N"] = 64;
  EXPECT_NE(fa->constraint(big, {"pocl", 768, 768, 0, 4096}).find("private memory"), std::string::npos);
  EXPECT_EQ(fa->constraint(big, in), "");
  // The cpu variant cannot run under llvmpipe's loop limit; the generic one can.
  EXPECT_NE(fa->constraint(v, {"llvmpipe", 64, 64, 65535, 4096}).find("loop"), std::string::npos);
  tune::Values generic = v;
  generic["VARIANT"] = 1;
  generic["BLOCK_M"] = 32;
  EXPECT_EQ(fa->constraint(generic, {"llvmpipe", 64, 64, 65535, 1024}), "");
  generic["BLOCK_M"] = 64;  // the generic variant's work-group size
  EXPECT_NE(fa->constraint(generic, {"llvmpipe", 64, 64, 65535, 32}), "");
  // Any row-vector grouping is accepted: the kernel config maps it to a divisor of the entry's (row_group).
  tune::Values grouped = v;
  grouped["QK_ROW_VECS"] = 5;
  EXPECT_EQ(fa->constraint(grouped, in), "");
  // Every lane width builds; split-KV is declared ahead of its kernel.
  tune::Values vw8 = v;
  vw8["VW"] = 8;
  EXPECT_EQ(fa->constraint(vw8, in), "");
  // RAU: at most 1024 tile items.
  const tune::KernelDecl* rau = tune::find_kernel("rau");
  EXPECT_EQ(rau->constraint({{"RAU_ROWS", 8}, {"RAU_HEADS", 128}, {"RAU_LOCAL", 1}}, {}), "");
  EXPECT_NE(rau->constraint({{"RAU_ROWS", 16}, {"RAU_HEADS", 128}, {"RAU_LOCAL", 1}}, {}), "");
}

TEST(TuneParams, CandidatesAreFilteredByTheConstraints) {
  const tune::KernelDecl& fa = *tune::find_kernel("fa");
  const tune::Values base = {{"VARIANT", 0},      {"VW", 16},     {"BLOCK_M", 96},    {"BLOCK_N", 64},
                             {"QK_KEYS", 4},      {"PV_COLS", 4}, {"QK_ROW_VECS", 0}, {"PV_ROW_VECS", 0},
                             {"MASK_PREPASS", 1}, {"SPLIT_KV", 0}};
  const tune::ProblemClass cls = tune::make_class(DType::kFloat32, 768, MaskClass::kDense, 2048);
  const tune::ConstraintInput in{"pocl", 768, 768, 0, 4096};
  const std::vector<tune::Values> all = tune::candidates(fa, base, cls, in);
  ASSERT_GT(all.size(), 1u);
  EXPECT_EQ(all.front(), base);
  for (const tune::Values& v : all) {
    if (v == base) continue;
    EXPECT_EQ(fa.constraint(v, in), "") << v.at("BLOCK_M") << "x" << v.at("BLOCK_N");
    EXPECT_EQ(v.at("VW"), 16);           // the device's width: not searched
    EXPECT_EQ(v.at("SPLIT_KV"), 0);      // prefill: not searched
    EXPECT_EQ(v.at("MASK_PREPASS"), 1);  // dense: not searched
  }
  // The generic variant ignores the register tiles: they are not searched.
  tune::Values generic = base;
  generic["VARIANT"] = 1;
  for (const tune::Values& v : tune::candidates(fa, generic, cls, in)) EXPECT_EQ(v.at("QK_KEYS"), 4);
}

TEST(TuneClass, KeysAndFallbacks) {
  EXPECT_EQ(tune::make_class(DType::kFloat32, 128, MaskClass::kCausal, 4096).key(), "fp32.d128.causal.prefill");
  EXPECT_EQ(tune::make_class(DType::kBFloat16, 64, MaskClass::kDense, 16).key(), "bf16.d64.dense.decode");
  EXPECT_EQ(tune::make_class(DType::kFloat16, 65, MaskClass::kBand, 17).key(), "fp16.d128.band.prefill");
  EXPECT_EQ(tune::make_class(DType::kFloat32, 192, MaskClass::kDense, 1).key(), "fp32.d256.dense.decode");
  EXPECT_EQ(tune::make_class(DType::kFloat32, 768, MaskClass::kDense, 100).key(), "fp32.dlarge.dense.prefill");
  for (const char* key : {"fp32.d128.causal.prefill", "bf16.dlarge.band.decode", "fp16.d64.dense.prefill"}) {
    const auto c = tune::parse_class_key(key);
    ASSERT_TRUE(c.has_value()) << key;
    EXPECT_EQ(c->key(), key);
  }
  std::string why;
  EXPECT_FALSE(tune::parse_class_key("fp32.d96.dense.prefill", &why));
  EXPECT_NE(why.find("d96"), std::string::npos);
  EXPECT_FALSE(tune::parse_class_key("fp32.d64.dense", &why));
  EXPECT_FALSE(tune::parse_class_key("int8.d64.dense.prefill", &why));
  const auto order = tune::fallback_classes(*tune::parse_class_key("fp32.d128.causal.decode"));
  std::vector<std::string> keys;
  for (const auto& c : order) keys.push_back(c.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"fp32.d128.causal.decode", "fp32.d128.dense.decode", "fp32.d128.band.decode"}));
}

TEST(TuneDevice, KeysArePlatformAndDeviceMostSpecificFirst) {
  EXPECT_EQ(tune::device_keys(kPocl),
            (std::vector<std::string>{"pocl/pthread-skylake-avx512-AMD EPYC", "pocl/pthread-skylake-avx512"}));
  EXPECT_EQ(tune::device_keys(kPoclAvx2).back(), "pocl/pthread-haswell");
  EXPECT_EQ(tune::device_keys(kRusticl),
            (std::vector<std::string>{"rusticl/llvmpipe (LLVM 15.0.6, 256 bits)", "rusticl/llvmpipe"}));
  // Newer PoCL names: "cpu-<llvm cpu>-<model>", LLVM cpu names with dashes and digits.
  const DeviceInfo v3 =
      device("Portable Computing Language", "The pocl project", "cpu-x86-64-v3-AMD Ryzen 7", DeviceKind::kCpu);
  EXPECT_EQ(tune::device_keys(v3).back(), "pocl/cpu-x86-64-v3");
  // Never the device type alone: rusticl's CPU device and PoCL's do not share keys.
  EXPECT_NE(tune::device_keys(kRusticl).back(), tune::device_keys(kPocl).back());
}

const char* const kGoodDb = R"({
  "schema": 1,
  "note": "test",
  "devices": {
    "pocl/pthread-skylake-avx512": {
      "fa": {
        "fp32.d128.dense.prefill": {"params": {"BLOCK_M": 48, "QK_KEYS": 2}, "gflops": 99.5, "source": "cannon-tune",
                                    "tuner": {"date": "x"}}
      },
      "rau": {"bf16.d128.dense.prefill": {"params": {"RAU_ROWS": 4}, "gbps": 10}}
    }
  }
})";

TEST(TuneDatabase, ParsesAGoodFile) {
  const tune::Database db = tune::Database::parse(kGoodDb, "good.json");
  const tune::Entry* e = db.find("pocl/pthread-skylake-avx512", "fa", "fp32.d128.dense.prefill");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->params.at("BLOCK_M"), 48);
  EXPECT_EQ(*e->gflops, 99.5);
  EXPECT_EQ(e->source, "cannon-tune");
  EXPECT_EQ(db.find("pocl/pthread-skylake-avx512", "fa", "fp32.d64.dense.prefill"), nullptr);
  // Lookup: the full name's key misses, the target's key matches; a causal prefill falls back to dense prefill, a
  // decode never to prefill.
  const auto m = tune::lookup({&db}, tune::device_keys(kPocl), "fa",
                              tune::make_class(DType::kFloat32, 128, MaskClass::kCausal, 4096));
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE(tune::lookup({&db}, tune::device_keys(kPocl), "fa",
                            tune::make_class(DType::kFloat32, 128, MaskClass::kCausal, 1)));
  EXPECT_EQ(m->class_key, "fp32.d128.dense.prefill");
  EXPECT_EQ(m->device_key, "pocl/pthread-skylake-avx512");
  // Never across dtypes or head-dim buckets.
  EXPECT_FALSE(tune::lookup({&db}, tune::device_keys(kPocl), "fa",
                            tune::make_class(DType::kBFloat16, 128, MaskClass::kDense, 4096)));
  EXPECT_FALSE(tune::lookup({&db}, tune::device_keys(kPocl), "fa",
                            tune::make_class(DType::kFloat32, 256, MaskClass::kDense, 4096)));
}

TEST(TuneDatabase, ShippedDatabasesParseAndCoverBothX86Isas) {
  ASSERT_GE(tune::shipped_databases().size(), 2u);
  for (const DeviceInfo* d : {&kPocl, &kPoclAvx2}) {
    std::vector<const tune::Database*> dbs;
    for (const auto& db : tune::shipped_databases()) dbs.push_back(&db);
    EXPECT_TRUE(
        tune::lookup(dbs, tune::device_keys(*d), "fa", tune::make_class(DType::kFloat32, 128, MaskClass::kDense, 2048)))
        << d->name;
  }
}

// Each malformed file fails with Error(kParamInvalid) naming the file and the field.
TEST(TuneDatabase, MalformedFilesNameTheFileAndTheField) {
  const std::pair<const char*, const char*> bad[] = {
      {"{", "JSON"},
      {"[]", "top level"},
      {R"({"devices": {}})", "schema"},
      {R"({"schema": 2, "devices": {}})", "schema"},
      {R"({"schema": 1})", "devices"},
      {R"({"schema": 1, "devices": {}, "extra": 1})", "extra"},
      {R"({"schema": 1, "devices": {"pocl": {}}})", "\"pocl\""},
      {R"({"schema": 1, "devices": {"pocl/x": {"fx": {}}}})", "fx"},
      {R"({"schema": 1, "devices": {"pocl/x": {"fa": {"fp32.d99.dense.prefill": {"params": {}}}}}})", "d99"},
      {R"({"schema": 1, "devices": {"pocl/x": {"fa": {"fp32.d64.dense.prefill": {}}}}})", "params"},
      {R"({"schema": 1, "devices": {"pocl/x": {"fa": {"fp32.d64.dense.prefill": {"params": {"TILE": 1}}}}}})",
       "params.TILE"},
      {R"({"schema": 1, "devices": {"pocl/x": {"fa": {"fp32.d64.dense.prefill": {"params": {"BLOCK_N": 12}}}}}})",
       "params.BLOCK_N"},
      {R"({"schema": 1, "devices": {"pocl/x": {"fa": {"fp32.d64.dense.prefill": {"params": {"BLOCK_M": "8"}}}}}})",
       "params.BLOCK_M"},
      {R"({"schema": 1, "devices": {"pocl/x": {"fa": {"fp32.d64.dense.prefill": {"params": {}, "gflops": "x"}}}}})",
       "gflops"},
      {R"({"schema": 1, "devices": {"pocl/x": {"nsa": {"fp32.d64.dense.prefill": {"params": {"BLOCK_M": 8}}}}}})",
       "nsa"},
  };
  for (const auto& [text, field] : bad) {
    try {
      tune::Database::parse(text, "/tmp/bad.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kParamInvalid) << text;
      const std::string what = e.what();
      EXPECT_NE(what.find("/tmp/bad.json"), std::string::npos) << what;
      EXPECT_NE(what.find(field), std::string::npos) << "'" << field << "' not in: " << what;
    }
  }
  // Through CANNON_TUNE_DB: a missing file and a malformed one fail the plan's configuration, naming the path.
  Config config;
  config.tune_db = {::testing::TempDir() + "no_such_tune_db.json"};
  EXPECT_THROW(choose_kernel_config(kPocl, DType::kFloat32, 64, 64, config, MaskClass::kDense, 1024), Error);
  config.tune_db = {write_file("tune_bad.json", R"({"schema": 1, "devices": {"pocl/x": 5}})")};
  try {
    choose_kernel_config(kPocl, DType::kFloat32, 64, 64, config, MaskClass::kDense, 1024);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tune_bad.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("devices.\"pocl/x\""), std::string::npos) << e.what();
  }
}

// Heuristics < shipped database < user database < CANNON_TUNE; ResolveCapture tells which source each value had.
TEST(TuneLookup, Precedence) {
  const std::string user = write_file("tune_user.json", kGoodDb);
  auto resolved = [](const Config& config, int d = 128) {
    tune::ResolveCapture capture;
    const KernelConfig c = choose_kernel_config(kPocl, DType::kFloat32, d, d, config, MaskClass::kDense, 2048);
    EXPECT_EQ(capture.seen().size(), 1u);
    return std::make_pair(c, capture.seen().back().second);
  };
  // Heuristics only.
  Config none;
  none.tune_shipped_db = false;
  auto [h, hr] = resolved(none);
  EXPECT_EQ(hr.sources.at("BLOCK_M"), tune::Source::kHeuristic);
  EXPECT_EQ(hr.db_origin, "");
  // The shipped database (for this device's target) holds entries for the class.
  auto [s, sr] = resolved(Config{});
  EXPECT_EQ(sr.sources.at("BLOCK_M"), tune::Source::kDatabase);
  EXPECT_EQ(sr.db_origin.rfind("shipped:", 0), 0u) << sr.db_origin;
  EXPECT_EQ(sr.sources.at("VARIANT"), tune::Source::kHeuristic);
  // A user database is searched before the shipped one.
  Config with_user;
  with_user.tune_db = {user};
  auto [u, ur] = resolved(with_user);
  EXPECT_EQ(u.block_m, 48);
  EXPECT_EQ(u.qk_keys, 2);
  EXPECT_EQ(ur.db_origin, user);
  EXPECT_EQ(u.block_n, h.block_n);  // not in the user entry: the heuristics' value, not the shipped entry's
  EXPECT_EQ(ur.sources.at("BLOCK_N"), tune::Source::kHeuristic);
  // ... but only for its classes: D = 64 still comes from the shipped one.
  EXPECT_EQ(resolved(with_user, 64).second.db_origin.rfind("shipped:", 0), 0u);
  // CANNON_TUNE over everything.
  Config over = with_user;
  over.tune = {{"fa.BLOCK_M", 32}};
  auto [o, orr] = resolved(over);
  EXPECT_EQ(o.block_m, 32);
  EXPECT_EQ(o.qk_keys, 2);
  EXPECT_EQ(orr.sources.at("BLOCK_M"), tune::Source::kOverride);
  EXPECT_NE(orr.describe().find("BLOCK_M=32 (CANNON_TUNE)"), std::string::npos) << orr.describe();
  // Other kernels' names do not touch fa; bare names in a Config built in code are refused.
  over.tune = {{"nsa.QK_KEYS", 16}};
  EXPECT_EQ(resolved(over).first.qk_keys, 2);
  over.tune = {{"QK_KEYS", 16}};
  EXPECT_THROW(choose_kernel_config(kPocl, DType::kFloat32, 128, 128, over, MaskClass::kDense, 2048), Error);
  // A database entry that breaks a constraint for this problem gives way to the heuristics.
  const std::string huge = write_file("tune_huge.json", R"({"schema": 1, "devices": {"pocl/pthread-skylake-avx512":
      {"fa": {"fp32.dlarge.dense.prefill": {"params": {"BLOCK_M": 256, "BLOCK_N": 256}}}}}})");
  Config big;
  big.tune_db = {huge};
  big.tune_shipped_db = false;
  tune::ResolveCapture capture;
  const KernelConfig c = choose_kernel_config(kPocl, DType::kFloat32, 768, 768, big, MaskClass::kDense, 2048);
  EXPECT_EQ(c.block_m, 16);
  EXPECT_NE(capture.seen().back().second.db_rejected.find("private memory"), std::string::npos);
  // ... while the same values as CANNON_TUNE are an error naming it.
  Config forced;
  forced.tune = {{"fa.BLOCK_M", 256}, {"fa.BLOCK_N", 256}};
  try {
    choose_kernel_config(kPocl, DType::kFloat32, 768, 768, forced, MaskClass::kDense, 2048);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CANNON_TUNE"), std::string::npos) << e.what();
  }
}

// AVX2 code on an AVX-512 box (POCL_KERNELLIB_NAME=avx2): PoCL names the device pthread-haswell, and the AVX2
// entries are used.
TEST(TuneLookup, TheDeviceNameSelectsTheTarget) {
  const std::string path = write_file("tune_isa.json", R"({"schema": 1, "devices": {
      "pocl/pthread-skylake-avx512": {"fa": {"fp32.d64.dense.prefill": {"params": {"BLOCK_M": 64}}}},
      "pocl/pthread-haswell": {"fa": {"fp32.d64.dense.prefill": {"params": {"BLOCK_M": 32}}}}}})");
  Config config;
  config.tune_db = {path};
  EXPECT_EQ(choose_kernel_config(kPocl, DType::kFloat32, 64, 64, config, MaskClass::kDense, 512).block_m, 64);
  EXPECT_EQ(choose_kernel_config(kPoclAvx2, DType::kFloat32, 64, 64, config, MaskClass::kDense, 512).block_m, 32);
}

}  // namespace
}  // namespace cannon
