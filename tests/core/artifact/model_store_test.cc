#include "core/artifact/model_store.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/train/trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class ModelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) /
            ("model_store_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static Artifact SmallArtifact() {
    Table t;
    EXPECT_TRUE(t.AddColumn(Column::Numeric("x", {1, 2, 3, 4})).ok());
    EXPECT_TRUE(t.AddColumn(Column::Numeric("y", {3, 5, 7, 9})).ok());
    TrainSpec s;
    s.target = "y";
    s.validation_fraction = 0;
    auto r = Train(t, s);
    EXPECT_TRUE(r.ok()) << r.status();
    return Artifact::FromTrainResult(*std::move(r), "", 0);
  }

  std::filesystem::path root_;
};

TEST_F(ModelStoreTest, SavesVersionsInOrderAndLoadsThem) {
  auto store = ModelStore::Open(root_.string());
  ASSERT_TRUE(store.ok()) << store.status();
  Artifact a = SmallArtifact();
  EXPECT_EQ(*(*store)->SaveNewVersion("prices", a), 1);
  EXPECT_EQ(*(*store)->SaveNewVersion("prices", a), 2);
  EXPECT_EQ(*(*store)->SaveNewVersion("other.model-2", a), 1);
  EXPECT_THAT(*(*store)->ListVersions("prices"), ElementsAre(1, 2));
  EXPECT_THAT(*(*store)->ListModels(), ElementsAre("other.model-2", "prices"));
  EXPECT_TRUE(std::filesystem::exists(root_ / "prices" / "2" / "model.msm"));
  auto loaded = (*store)->Load("prices", 2);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->metadata().name, "prices");
  EXPECT_EQ(loaded->metadata().version, 2);
  // No temporary files are left behind.
  for (const auto& e : std::filesystem::recursive_directory_iterator(root_)) {
    EXPECT_THAT(e.path().string(), Not(HasSubstr(".tmp-")));
  }
}

TEST_F(ModelStoreTest, VersionsAreNeverReused) {
  auto store = *ModelStore::Open(root_.string());
  Artifact a = SmallArtifact();
  ASSERT_EQ(*store->SaveNewVersion("m", a), 1);
  // A crash after claiming version 2 left an empty directory: version 2 is
  // not listed, and the next save takes 3.
  std::filesystem::create_directories(root_ / "m" / "2");
  EXPECT_THAT(*store->ListVersions("m"), ElementsAre(1));
  EXPECT_EQ(*store->SaveNewVersion("m", a), 3);
  // Deleting the newest version does not free its number for reuse while its
  // directory exists.
  std::filesystem::remove(root_ / "m" / "3" / "model.msm");
  EXPECT_EQ(*store->SaveNewVersion("m", a), 4);
}

TEST_F(ModelStoreTest, DeleteVersionKeepsTheNumberTaken) {
  auto store = *ModelStore::Open(root_.string());
  Artifact a = SmallArtifact();
  ASSERT_EQ(*store->SaveNewVersion("m", a), 1);
  ASSERT_EQ(*store->SaveNewVersion("m", a), 2);
  ASSERT_TRUE(store->DeleteVersion("m", 2).ok());
  EXPECT_FALSE(std::filesystem::exists(root_ / "m" / "2" / "model.msm"));
  EXPECT_TRUE(std::filesystem::is_directory(root_ / "m" / "2"));
  EXPECT_THAT(*store->ListVersions("m"), ElementsAre(1));
  EXPECT_EQ(store->Load("m", 2).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*store->SaveNewVersion("m", a), 3);

  absl::Status again = store->DeleteVersion("m", 2);
  EXPECT_EQ(again.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(again.message()), HasSubstr("'m'"));
  EXPECT_THAT(std::string(again.message()), HasSubstr("version 2"));
  EXPECT_EQ(store->DeleteVersion("absent", 1).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->DeleteVersion("m", 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->DeleteVersion("../m", 1).code(),
            absl::StatusCode::kInvalidArgument);

  // Deleting every version leaves no listed model, and numbers stay taken.
  ASSERT_TRUE(store->DeleteVersion("m", 1).ok());
  ASSERT_TRUE(store->DeleteVersion("m", 3).ok());
  EXPECT_THAT(*store->ListModels(), ElementsAre());
  EXPECT_EQ(*store->SaveNewVersion("m", a), 4);
}

TEST_F(ModelStoreTest, ConcurrentSavesGetDistinctVersions) {
  auto store = *ModelStore::Open(root_.string());
  std::vector<std::thread> threads;
  std::vector<int64_t> versions(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Artifact a = SmallArtifact();
      versions[i] = *store->SaveNewVersion("race", a);
    });
  }
  for (auto& t : threads) t.join();
  std::sort(versions.begin(), versions.end());
  EXPECT_THAT(versions, ElementsAre(1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_EQ(store->ListVersions("race")->size(), 8u);
}

TEST_F(ModelStoreTest, MissingAndCorruptedArtifacts) {
  auto store = *ModelStore::Open(root_.string());
  EXPECT_EQ(store->Load("nothing", 1).status().code(),
            absl::StatusCode::kNotFound);
  Artifact a = SmallArtifact();
  ASSERT_EQ(*store->SaveNewVersion("m", a), 1);
  const std::string path = store->ArtifactPath("m", 1);
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  auto r = store->Load("m", 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("truncated"));
}

TEST_F(ModelStoreTest, NamesAreConfinedToASafeAlphabet) {
  auto store = *ModelStore::Open(root_.string());
  Artifact a = SmallArtifact();
  for (const char* bad :
       {"", "../etc", "a/b", ".hidden", "sp ace", "ü", "x\n"}) {
    auto r = store->SaveNewVersion(bad, a);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ValidateModelName(std::string(129, 'a')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateModelName(std::string(128, 'a')).ok());
  EXPECT_TRUE(ValidateModelName("Prices_v2.1-eu").ok());
}

TEST_F(ModelStoreTest, WriteFileAtomicallyReplacesWholeFiles) {
  std::filesystem::create_directories(root_);
  const std::string path = (root_ / "f").string();
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second, longer").ok());
  EXPECT_EQ(*ReadFile(path), "second, longer");
  EXPECT_EQ(ReadFile((root_ / "absent").string()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(WriteFileAtomically((root_ / "no" / "dir").string(), "x").code(),
            absl::StatusCode::kNotFound);
}

// Files below `dir`, relative to it, sorted.
std::vector<std::string> FilesBelow(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    out.push_back(std::filesystem::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(ModelStoreTest, FailedSaveLeavesNothingAndNamesTheDirectory) {
  auto store = *ModelStore::Open(root_.string());
  Artifact a = SmallArtifact();
  ASSERT_EQ(*store->SaveNewVersion("m", a), 1);
  // A write that fails half-way (as root, chmod would not stop it; a file
  // size limit does: EFBIG, like ENOSPC a RESOURCE_EXHAUSTED).
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 16;
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  absl::StatusOr<int64_t> failed = store->SaveNewVersion("m", a);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(failed.status().message(),
              HasSubstr(absl::StrCat("cannot save model 'm' in the model "
                                     "directory '",
                                     root_.string(), "': cannot write '",
                                     root_.string(), "/m/2/model.msm.tmp-")));
  EXPECT_THAT(failed.status().message(), HasSubstr("File too large"));
  // No temporary file, no claimed directory: the number is taken again.
  EXPECT_THAT(FilesBelow(root_), ElementsAre("m", "m/1", "m/1/model.msm"));
  EXPECT_EQ(*store->SaveNewVersion("m", a), 2);
}

TEST_F(ModelStoreTest, StaleTemporaryNamesAreSkipped) {
  // Files of an earlier process with this pid (pid 1 in every container):
  // the next write takes a free name instead of failing.
  std::filesystem::create_directories(root_);
  const std::string path = (root_ / "labels").string();
  for (int n = 0; n < 300; ++n) {
    std::ofstream(absl::StrCat(path, ".tmp-", ::getpid(), "-", n)) << "old";
  }
  ASSERT_TRUE(WriteFileAtomically(path, "a=1\n").ok());
  EXPECT_EQ(*ReadFile(path), "a=1\n");
}

TEST_F(ModelStoreTest, RemovesOnlyAbandonedTemporaryFiles) {
  auto store = *ModelStore::Open(root_.string());
  Artifact a = SmallArtifact();
  ASSERT_EQ(*store->SaveNewVersion("m", a), 1);
  std::filesystem::create_directories(root_ / "m" / "2");
  // Left by crashed writers (no lock held).
  std::ofstream((root_ / "m" / "2" / "model.msm.tmp-9-0").string()) << "half";
  std::ofstream((root_ / "m" / "labels.tmp-9-1").string()) << "half";
  // Being written by a live writer (here, or in another process).
  const std::string live = (root_ / "m" / "1" / "model.msm.tmp-10-0").string();
  absl::StatusOr<int> fd = CreateLockedFile(live);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(CreateLockedFile(live).status().code(),
            absl::StatusCode::kAlreadyExists);
  // Not temporary files: left alone.
  std::ofstream((root_ / "m" / "notes.txt").string()) << "mine";

  EXPECT_EQ(store->RemoveAbandonedTempFiles(), 2);
  EXPECT_THAT(FilesBelow(root_ / "m"),
              ElementsAre("1", "1/model.msm", "1/model.msm.tmp-10-0", "2",
                          "notes.txt"));
  EXPECT_FALSE(RemoveIfAbandoned(live));
  ::close(*fd);  // the writer dies
  EXPECT_EQ(store->RemoveAbandonedTempFiles(), 1);
  EXPECT_THAT(FilesBelow(root_ / "m"),
              ElementsAre("1", "1/model.msm", "2", "notes.txt"));
  EXPECT_THAT(*store->ListVersions("m"), ElementsAre(1));
  EXPECT_FALSE(RemoveIfAbandoned((root_ / "absent").string()));
}

TEST_F(ModelStoreTest, OpenFailsOnAFile) {
  std::filesystem::create_directories(root_);
  std::ofstream((root_ / "file").string()) << "x";
  auto r = ModelStore::Open((root_ / "file").string());
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace modelserver
