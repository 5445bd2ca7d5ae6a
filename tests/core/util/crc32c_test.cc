#include "core/util/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace modelserver {
namespace {

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 B.4 check value and test vectors.
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s = "The quick brown fox jumps over the lazy dog, twice over.";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(Crc32cExtend(Crc32c(s.substr(0, cut)), s.substr(cut)), Crc32c(s))
        << "cut at " << cut;
  }
}

TEST(Crc32cTest, InstructionAndTablesAgree) {
  // Every length 0..64 (all tail sizes) and a long buffer, at odd offsets.
  std::string data;
  for (int i = 0; i < 5000; ++i) data.push_back(static_cast<char>(i * 131 + 7));
  for (size_t len = 0; len <= 64; ++len) {
    const absl::string_view s(data.data() + 3, len);
    EXPECT_EQ(Crc32cExtend(0x12345678, s),
              crc32c_internal::ExtendWithTables(0x12345678, s))
        << len;
  }
  EXPECT_EQ(Crc32c(data), crc32c_internal::ExtendWithTables(0, data));
  EXPECT_EQ(crc32c_internal::ExtendWithTables(0, "123456789"), 0xE3069283u);
}

}  // namespace
}  // namespace modelserver
