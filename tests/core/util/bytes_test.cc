#include "core/util/bytes.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

TEST(BytesTest, RoundTripsEveryType) {
  ByteWriter w;
  w.WriteU8(0xab);
  w.WriteU32(0xdeadbeef);
  w.WriteU64(0x0123456789abcdefull);
  w.WriteI64(-5);
  w.WriteF64(-0.1);
  w.WriteF64(std::numeric_limits<double>::quiet_NaN());
  w.WriteString("héllo");
  w.WriteStrings({"a", "", "bc"});
  w.WriteF64s({1.5, -2.25});
  Eigen::MatrixXd m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  w.WriteMatrix(m);
  Eigen::VectorXd v(2);
  v << 7, 8;
  w.WriteVector(v);

  ByteReader r(w.data());
  EXPECT_EQ(*r.ReadU8("u8"), 0xab);
  EXPECT_EQ(*r.ReadU32("u32"), 0xdeadbeefu);
  EXPECT_EQ(*r.ReadU64("u64"), 0x0123456789abcdefull);
  EXPECT_EQ(*r.ReadI64("i64"), -5);
  EXPECT_EQ(*r.ReadF64("f64"), -0.1);
  EXPECT_TRUE(std::isnan(*r.ReadF64("nan")));
  EXPECT_EQ(*r.ReadString("s"), "héllo");
  EXPECT_THAT(*r.ReadStrings("ss"), testing::ElementsAre("a", "", "bc"));
  EXPECT_THAT(*r.ReadF64s("ds"), testing::ElementsAre(1.5, -2.25));
  EXPECT_EQ(*r.ReadMatrix("m"), m);
  EXPECT_EQ(*r.ReadVector("v"), v);
  EXPECT_TRUE(r.done());
}

TEST(BytesTest, LittleEndianLayout) {
  ByteWriter w;
  w.WriteU32(0x04030201);
  EXPECT_EQ(w.data(), std::string("\x01\x02\x03\x04", 4));
}

TEST(BytesTest, TruncationIsDataLossNamingTheField) {
  ByteWriter w;
  w.WriteString("abcdef");
  std::string bytes = w.data().substr(0, 10);
  ByteReader r(bytes);
  auto s = r.ReadString("model name");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.status().message(), testing::HasSubstr("model name"));
}

TEST(BytesTest, HugeDeclaredSizesAreRejectedWithoutAllocating) {
  ByteWriter w;
  w.WriteU64(1ull << 60);
  w.WriteU64(1ull << 60);
  ByteReader r1(w.data());
  EXPECT_EQ(r1.ReadMatrix("m").status().code(), absl::StatusCode::kDataLoss);
  ByteReader r2(w.data());
  EXPECT_EQ(r2.ReadStrings("s").status().code(), absl::StatusCode::kDataLoss);
  ByteReader r3(w.data());
  EXPECT_EQ(r3.ReadVector("v").status().code(), absl::StatusCode::kDataLoss);
  ByteReader r4(w.data());
  EXPECT_EQ(r4.ReadF64s("d").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace modelserver
