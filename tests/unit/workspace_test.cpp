// The workspace ledger: alignment, padding counted in the total, lookups and misuse.
#include <gtest/gtest.h>

#include "cannon/error.hpp"
#include "host/runtime/workspace.hpp"

namespace cannon {
namespace {

TEST(WorkspaceLedger, AlignsEveryEntryAndCountsPadding) {
  WorkspaceLedger ledger(128);
  EXPECT_EQ(ledger.total(), 0u);
  EXPECT_EQ(ledger.book("a", 7), 0u);
  EXPECT_EQ(ledger.book("b", 300), 128u);
  EXPECT_EQ(ledger.book("c", 1, 1024), 1024u);  // a larger alignment wins
  EXPECT_EQ(ledger.book("d", 0), 1152u);
  EXPECT_EQ(ledger.total(), 1152u);
  EXPECT_EQ(ledger.offset("b"), 128u);
  EXPECT_EQ(ledger.bytes("b"), 300u);
  for (const auto& e : ledger.entries()) EXPECT_EQ(e.offset % 128, 0u) << e.name;
}

TEST(WorkspaceLedger, SmallerRequestedAlignmentStillUsesDeviceAlignment) {
  WorkspaceLedger ledger(256);
  ledger.book("a", 3, 4);
  EXPECT_EQ(ledger.book("b", 3, 4), 256u);
}

TEST(WorkspaceLedger, MisuseIsAnError) {
  WorkspaceLedger ledger(64);
  ledger.book("a", 8);
  EXPECT_THROW(ledger.book("a", 8), Error);
  EXPECT_THROW(ledger.offset("missing"), Error);
  EXPECT_THROW(ledger.book("b", 8, 48), Error);
  EXPECT_THROW(WorkspaceLedger(24), Error);
}

}  // namespace
}  // namespace cannon
