// Artifact metadata of checkpointed training: tags 40 (resumed from epoch)
// and 41 (the job's journal entry).
#include <string>

#include "core/artifact/artifact.h"
#include "core/train/trainer.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

Artifact Tiny(const std::string& target) {
  Table t;
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x", {1, 2, 3, 4})).ok());
  EXPECT_TRUE(t.AddColumn(Column::Numeric("y", {2, 4, 5, 9})).ok());
  TrainSpec s;
  s.target = target;
  auto r = Train(t, s);
  EXPECT_TRUE(r.ok()) << r.status();
  return Artifact::FromTrainResult(*std::move(r), "m", 1);
}

constexpr char kUid[] = "1795976989336690-27838-1-0ed33684";

TEST(ArtifactCheckpointTest, ResumedEpochAndJobUidRoundTrip) {
  Artifact a = Tiny("y");
  EXPECT_EQ(a.metadata().resumed_from_epoch, 0);
  EXPECT_EQ(a.metadata().job_uid, "");
  const std::string plain = a.Encode();
  a.mutable_metadata().resumed_from_epoch = 40;
  const std::string uid(kUid);
  a.mutable_metadata().job_uid.assign(uid.data(), uid.size());
  const std::string bytes = a.Encode();
  // Written only when set: other artifacts keep their bytes.
  EXPECT_EQ(bytes.size(), plain.size() + (4 + 8 + 8) + (4 + 8 + 33));
  auto b = Artifact::Decode(bytes);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->metadata().resumed_from_epoch, 40);
  EXPECT_EQ(b->metadata().job_uid, kUid);
  auto c = Artifact::Decode(plain);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->metadata().resumed_from_epoch, 0);
  EXPECT_EQ(c->metadata().job_uid, "");
}

}  // namespace
}  // namespace modelserver
