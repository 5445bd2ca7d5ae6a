#include "core/jobs/job_journal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  const std::string dir = testing::TempDir() + "/journal_" + name + "_" +
                          std::to_string(::getpid());
  fs::remove_all(dir);
  return dir;
}

int CountDirs(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_directory();
  return n;
}

TEST(JobJournalTest, AJobIsClaimedOnlyOnceItsHolderLetsGo) {
  const std::string dir = TempDir("claim");
  auto journal = JobJournal::Open(dir);
  ASSERT_TRUE(journal.ok()) << journal.status();
  auto entry = (*journal)->Create("the request", "");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(CountDirs(dir), 1);
  EXPECT_TRUE((*entry)->data_path().empty());
  EXPECT_TRUE(absl::IsNotFound((*entry)->LoadCheckpoint().status()));
  ASSERT_TRUE((*entry)->SaveCheckpoint("state 1").ok());
  ASSERT_TRUE((*entry)->SaveCheckpoint("state 2").ok());

  // A second journal on the same directory (as another replica): the
  // entry's flock keeps it from claiming the job.
  auto other = JobJournal::Open(dir);
  ASSERT_TRUE(other.ok());
  std::vector<absl::Status> errors;
  EXPECT_TRUE((*other)->ClaimUnfinished(&errors).empty());
  EXPECT_TRUE(errors.empty());

  const std::string uid = (*entry)->uid();
  entry->reset();  // the process "dies": lock released, files kept
  auto claimed = (*other)->ClaimUnfinished(&errors);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].request, "the request");
  EXPECT_EQ(claimed[0].entry->uid(), uid);
  auto checkpoint = claimed[0].entry->LoadCheckpoint();
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(*checkpoint, "state 2");
  // Claimed by one: not by the next.
  EXPECT_TRUE((*journal)->ClaimUnfinished(&errors).empty());

  claimed[0].entry->Finish();
  EXPECT_EQ(CountDirs(dir), 0);
  claimed[0].entry->Finish();  // idempotent
  EXPECT_TRUE((*journal)->ClaimUnfinished(&errors).empty());
  EXPECT_TRUE(errors.empty());
}

TEST(JobJournalTest, DataFileIsKeptAsAHardLink) {
  const std::string dir = TempDir("data");
  auto journal = JobJournal::Open(dir);
  ASSERT_TRUE(journal.ok());
  EXPECT_FALSE(fs::exists(dir));  // made when a job is first kept
  fs::create_directories(dir);
  const std::string upload = dir + "/upload.csv";
  std::ofstream(upload) << "x,y\n1,2\n";
  auto entry = (*journal)->Create("r", upload);
  ASSERT_TRUE(entry.ok()) << entry.status();
  const std::string kept = (*entry)->data_path();
  ASSERT_FALSE(kept.empty());
  fs::remove(upload);  // the upload expires
  std::ifstream in(kept);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(all, "x,y\n1,2\n");

  auto missing = (*journal)->Create("r", dir + "/absent.csv");
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_THAT(missing.status().message(), testing::HasSubstr("absent.csv"));
  EXPECT_EQ(CountDirs(dir), 1);  // nothing left by the failure
}

TEST(JobJournalTest, LeftoversOfCrashesAreRemoved) {
  const std::string dir = TempDir("leftovers");
  auto journal = JobJournal::Open(dir);
  ASSERT_TRUE(journal.ok());
  // A creation that crashed before its rename, and a Finish() that crashed
  // after deleting the request.
  fs::create_directories(dir + "/123-1-0-00000000.tmp");
  std::ofstream(dir + "/123-1-0-00000000.tmp/request") << "r";
  fs::create_directories(dir + "/124-1-0-00000000");
  std::ofstream(dir + "/124-1-0-00000000/lock") << "";
  std::ofstream(dir + "/124-1-0-00000000/checkpoint") << "c";
  std::vector<absl::Status> errors;
  EXPECT_TRUE((*journal)->ClaimUnfinished(&errors).empty());
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(CountDirs(dir), 0);
}

TEST(JobJournalTest, OpenFailsOnAFile) {
  const std::string dir = TempDir("file");
  fs::create_directories(fs::path(dir).parent_path());
  std::ofstream(dir) << "not a directory";
  auto journal = JobJournal::Open(dir);
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kFailedPrecondition);
  fs::remove(dir);
}

}  // namespace
}  // namespace modelserver
