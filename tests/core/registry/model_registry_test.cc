#include "core/registry/model_registry.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
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
using ::testing::IsEmpty;
using ::testing::Pair;

class ModelRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) /
            ("model_registry_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // y = slope * x + 1, fitted exactly: the slope tells versions apart.
  static Artifact SmallArtifact(double slope = 2) {
    Table t;
    EXPECT_TRUE(t.AddColumn(Column::Numeric("x", {1, 2, 3, 4})).ok());
    EXPECT_TRUE(
        t.AddColumn(Column::Numeric("y", {slope + 1, 2 * slope + 1,
                                          3 * slope + 1, 4 * slope + 1}))
            .ok());
    TrainSpec s;
    s.target = "y";
    s.validation_fraction = 0;
    auto r = Train(t, s);
    EXPECT_TRUE(r.ok()) << r.status();
    return Artifact::FromTrainResult(*std::move(r), "", 0);
  }

  // The prediction of `artifact` at x = 10.
  static double PredictAt10(const Artifact& artifact) {
    Table t;
    EXPECT_TRUE(t.AddColumn(Column::Numeric("x", {10})).ok());
    auto p = artifact.Predict(t);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() && p->values.size() == 1 ? p->values[0] : -1;
  }

  std::unique_ptr<ModelRegistry> OpenRegistry(
      ModelRegistry::LoadReport* report = nullptr) {
    auto r = ModelRegistry::Open(root_.string(), report);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : nullptr;
  }

  std::filesystem::path root_;
};

TEST_F(ModelRegistryTest, OpenCreatesAnEmptyDirectory) {
  ModelRegistry::LoadReport report;
  auto registry = OpenRegistry(&report);
  ASSERT_NE(registry, nullptr);
  EXPECT_TRUE(std::filesystem::is_directory(root_));
  EXPECT_EQ(report.loaded, 0);
  EXPECT_THAT(report.failures, IsEmpty());
  EXPECT_THAT(registry->List(), IsEmpty());
  EXPECT_EQ(registry->store().root(), root_.string());
}

TEST_F(ModelRegistryTest, OpenFailsWhenTheDirectoryIsAFile) {
  std::filesystem::create_directories(root_);
  const std::string file = (root_ / "file").string();
  ASSERT_TRUE(WriteFileAtomically(file, "x").ok());
  EXPECT_FALSE(ModelRegistry::Open(file).ok());
}

TEST_F(ModelRegistryTest, PublishesVersionsAndReloadsThemAfterARestart) {
  {
    auto registry = OpenRegistry();
    ASSERT_NE(registry, nullptr);
    EXPECT_EQ(*registry->Publish("prices", SmallArtifact(2)), 1);
    EXPECT_EQ(*registry->Publish("prices", SmallArtifact(3)), 2);
    EXPECT_EQ(*registry->Publish("churn", SmallArtifact(5)), 1);
    auto v2 = registry->Get("prices", 2);
    ASSERT_TRUE(v2.ok()) << v2.status();
    EXPECT_EQ((*v2)->metadata().name, "prices");
    EXPECT_EQ((*v2)->metadata().version, 2);
  }
  ModelRegistry::LoadReport report;
  auto registry = OpenRegistry(&report);
  ASSERT_NE(registry, nullptr);
  EXPECT_EQ(report.loaded, 3);
  EXPECT_THAT(report.failures, IsEmpty());
  EXPECT_THAT(registry->List(), ElementsAre(Pair("churn", ElementsAre(1)),
                                            Pair("prices", ElementsAre(1, 2))));
  auto v1 = registry->Get("prices", 1);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_NEAR(PredictAt10(**v1), 21, 1e-6);
  auto latest = registry->Get("prices", 0);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ((*latest)->metadata().version, 2);
  EXPECT_NEAR(PredictAt10(**latest), 31, 1e-6);
  auto all = registry->GetAll("prices");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0]->metadata().version, 1);
  EXPECT_EQ((*all)[1]->metadata().version, 2);
  // The next version continues after the reloaded ones.
  EXPECT_EQ(*registry->Publish("prices", SmallArtifact()), 3);
}

TEST_F(ModelRegistryTest, NotFoundAndInvalidArgumentsNameTheModel) {
  auto registry = OpenRegistry();
  ASSERT_NE(registry, nullptr);
  ASSERT_EQ(*registry->Publish("prices", SmallArtifact()), 1);

  auto missing = registry->Get("nothing", 0);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("model 'nothing' not found"));
  auto no_version = registry->Get("prices", 7);
  EXPECT_EQ(no_version.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(no_version.status().message()),
              HasSubstr("model 'prices' has no version 7"));
  EXPECT_EQ(registry->GetAll("nothing").status().code(),
            absl::StatusCode::kNotFound);

  auto negative = registry->Get("prices", -1);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(negative.status().message()), HasSubstr("-1"));
  EXPECT_EQ(registry->Get("../prices", 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry->Publish("a/b", SmallArtifact()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry->Delete("", 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry->Delete("prices", -2).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(registry->List(), ElementsAre(Pair("prices", ElementsAre(1))));
}

TEST_F(ModelRegistryTest, DeletesOneOrAllVersionsAndNeverReusesNumbers) {
  auto registry = OpenRegistry();
  ASSERT_NE(registry, nullptr);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(registry->Publish("m", SmallArtifact()).ok());

  auto one = registry->Delete("m", 3);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(*one, ElementsAre(3));
  EXPECT_FALSE(std::filesystem::exists(root_ / "m" / "3" / "model.msm"));
  EXPECT_EQ(registry->Get("m", 3).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*registry->Get("m", 0))->metadata().version, 2);
  auto again = registry->Delete("m", 3);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(again.status().message()),
              HasSubstr("model 'm' has no version 3"));

  // The deleted number is not reused.
  EXPECT_EQ(*registry->Publish("m", SmallArtifact()), 4);

  auto all = registry->Delete("m", 0);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(*all, ElementsAre(1, 2, 4));
  EXPECT_EQ(registry->Get("m", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(registry->List(), IsEmpty());
  auto none = registry->Delete("m", 0);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(none.status().message()),
              HasSubstr("model 'm' not found"));

  // Still gone after a restart, and numbering continues.
  auto reopened = OpenRegistry();
  ASSERT_NE(reopened, nullptr);
  EXPECT_THAT(reopened->List(), IsEmpty());
  EXPECT_EQ(*reopened->Publish("m", SmallArtifact()), 5);
}

TEST_F(ModelRegistryTest, SnapshotTakenBeforeDeleteStaysUsable) {
  auto registry = OpenRegistry();
  ASSERT_NE(registry, nullptr);
  ASSERT_EQ(*registry->Publish("m", SmallArtifact(4)), 1);
  auto snapshot = registry->Get("m", 1);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_TRUE(registry->Delete("m", 0).ok());
  EXPECT_EQ(registry->Get("m", 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*snapshot)->metadata().version, 1);
  EXPECT_NEAR(PredictAt10(**snapshot), 41, 1e-6);
}

TEST_F(ModelRegistryTest, CorruptedFilesAreSkippedAndReported) {
  {
    auto registry = OpenRegistry();
    ASSERT_NE(registry, nullptr);
    ASSERT_EQ(*registry->Publish("m", SmallArtifact()), 1);
    ASSERT_EQ(*registry->Publish("m", SmallArtifact()), 2);
  }
  const std::string path = (root_ / "m" / "1" / "model.msm").string();
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);

  ModelRegistry::LoadReport report;
  auto registry = OpenRegistry(&report);
  ASSERT_NE(registry, nullptr);
  EXPECT_EQ(report.loaded, 1);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_EQ(report.failures[0].code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(report.failures[0].message()), HasSubstr(path));
  EXPECT_THAT(registry->List(), ElementsAre(Pair("m", ElementsAre(2))));
  EXPECT_EQ(registry->Get("m", 1).status().code(), absl::StatusCode::kNotFound);

  // A version that failed to load can still be deleted.
  auto deleted = registry->Delete("m", 1);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_THAT(*deleted, ElementsAre(1));
  ModelRegistry::LoadReport after;
  ASSERT_TRUE(registry->Refresh(&after).ok());
  EXPECT_THAT(after.failures, IsEmpty());
}

TEST_F(ModelRegistryTest, RefreshSeesWhatAnotherReplicaDid) {
  auto a = OpenRegistry();
  auto b = OpenRegistry();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(*a->Publish("m", SmallArtifact(2)), 1);
  ASSERT_EQ(*b->Publish("m", SmallArtifact(3)), 2);
  EXPECT_EQ((*a->Get("m", 0))->metadata().version, 1);

  ModelRegistry::LoadReport report;
  ASSERT_TRUE(a->Refresh(&report).ok());
  EXPECT_EQ(report.loaded, 1);
  EXPECT_EQ(report.removed, 0);
  EXPECT_THAT(report.failures, IsEmpty());
  auto latest = a->Get("m", 0);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ((*latest)->metadata().version, 2);
  EXPECT_NEAR(PredictAt10(**latest), 31, 1e-6);

  // A refresh with nothing new loads nothing.
  ASSERT_TRUE(a->Refresh(&report).ok());
  EXPECT_EQ(report.loaded, 0);
  EXPECT_EQ(report.removed, 0);

  // b deletes version 1; a forgets it on its next refresh.
  ASSERT_TRUE(b->Refresh().ok());
  ASSERT_TRUE(b->Delete("m", 1).ok());
  EXPECT_TRUE(a->Get("m", 1).ok());
  ASSERT_TRUE(a->Refresh(&report).ok());
  EXPECT_EQ(report.removed, 1);
  EXPECT_EQ(a->Get("m", 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(a->List(), ElementsAre(Pair("m", ElementsAre(2))));
}

// Get takes no lock and each thread keeps the last copy it saw: a thread
// that already looked must still see every later Publish and Delete.
TEST_F(ModelRegistryTest, AThreadThatLookedBeforeSeesLaterChanges) {
  auto registry = OpenRegistry();
  ASSERT_NE(registry, nullptr);
  ASSERT_EQ(*registry->Publish("m", SmallArtifact(2)), 1);
  std::mutex mu;
  std::condition_variable cv;
  int step = 0, done = -1;
  std::vector<std::string> seen;  // what the reader thread saw at each step
  std::thread reader([&] {
    for (int s = 0; s < 3; ++s) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return step > s; });
      auto latest = registry->Get("m", 0);
      auto v1 = registry->Get("m", 1);
      seen.push_back(absl::StrCat(
          latest.ok() ? (*latest)->metadata().version : -1, "/",
          v1.ok() ? "v1" : std::string(absl::StatusCodeToString(
                               v1.status().code()))));
      done = s;
      cv.notify_all();
    }
  });
  auto next_step = [&] {
    std::unique_lock<std::mutex> lock(mu);
    ++step;
    cv.notify_all();
    cv.wait(lock, [&] { return done == step - 1; });
  };
  next_step();  // caches the first copy
  ASSERT_EQ(*registry->Publish("m", SmallArtifact(3)), 2);
  next_step();
  ASSERT_TRUE(registry->Delete("m", 1).ok());
  next_step();
  reader.join();
  EXPECT_THAT(seen, ElementsAre("1/v1", "2/v1", "2/NOT_FOUND"));
}

TEST_F(ModelRegistryTest, ConcurrentGetAndPublish) {
  auto registry = OpenRegistry();
  ASSERT_NE(registry, nullptr);
  ASSERT_EQ(*registry->Publish("m", SmallArtifact()), 1);
  const Artifact prototype = SmallArtifact();
  const std::string encoded = prototype.Encode();

  constexpr int kPublishers = 2;
  constexpr int kPerPublisher = 4;
  std::atomic<bool> stop{false};
  std::atomic<int> get_errors{0};
  std::atomic<int64_t> gets{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto a = registry->Get("m", 0);
        if (!a.ok() || (*a)->metadata().name != "m") {
          ++get_errors;
        } else {
          PredictAt10(**a);
        }
        (void)registry->List();
        ++gets;
      }
    });
  }
  std::vector<std::thread> publishers;
  std::vector<std::vector<int64_t>> versions(kPublishers);
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kPerPublisher; ++i) {
        auto artifact = Artifact::Decode(encoded);
        ASSERT_TRUE(artifact.ok()) << artifact.status();
        auto v = registry->Publish("m", *std::move(artifact));
        ASSERT_TRUE(v.ok()) << v.status();
        versions[p].push_back(*v);
      }
    });
  }
  for (auto& t : publishers) t.join();
  stop = true;
  for (auto& t : readers) t.join();

  EXPECT_EQ(get_errors.load(), 0);
  EXPECT_GT(gets.load(), 0);
  std::vector<int64_t> all;
  for (const auto& v : versions) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  EXPECT_THAT(all, ElementsAre(2, 3, 4, 5, 6, 7, 8, 9));
  auto list = registry->List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].second.size(), 9u);
  EXPECT_EQ((*registry->Get("m", 0))->metadata().version, 9);
}


// ------------------------------------------------- version policy, labels

TEST(VersionPolicyTest, ParsesEveryFormAndRefusesTheRest) {
  EXPECT_EQ(ParseVersionPolicy("all")->kind, VersionPolicy::Kind::kAll);
  EXPECT_EQ(ParseVersionPolicy("latest")->latest, 1);
  EXPECT_EQ(ParseVersionPolicy("latest:3")->latest, 3);
  EXPECT_EQ(ParseVersionPolicy("latest:3")->ToString(), "latest:3");
  EXPECT_THAT(ParseVersionPolicy("4, 2")->versions, ElementsAre(2, 4));
  EXPECT_EQ(ParseVersionPolicy("4,2")->ToString(), "2,4");
  for (const char* bad : {"latest:0", "latest:x", "", "0", "1,,2", "newest"}) {
    auto p = ParseVersionPolicy(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(p.status().message()),
                HasSubstr(absl::StrCat("version policy '", bad, "'")));
  }
  EXPECT_TRUE(ValidateLabel("stable").ok());
  EXPECT_TRUE(ValidateLabel("canary-2.b_c").ok());
  for (const char* bad : {"", "3", "2stable", "a/b", "a b", "..",
                          "x123456789012345678901234567890123456789012345678"
                          "9012345678901234"}) {
    EXPECT_EQ(ValidateLabel(bad).code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(ModelRegistryTest, LatestPolicyServesTheNewestAndFallsBackOnDelete) {
  auto registry =
      *ModelRegistry::Open(root_.string(), nullptr, *ParseVersionPolicy("latest:1"));
  ASSERT_EQ(*registry->Publish("m", SmallArtifact(2)), 1);
  ASSERT_EQ(*registry->Publish("m", SmallArtifact(3)), 2);
  // Version 1 stays on disk but is no longer served.
  EXPECT_THAT(registry->List(), ElementsAre(Pair("m", ElementsAre(2))));
  EXPECT_EQ(registry->Get("m", 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(registry->Get("m", 1).status().message()),
              HasSubstr("model 'm' version 1 is in the model directory but not "
                        "served (version policy latest:1"));
  EXPECT_THAT(*registry->StoredVersions("m"), ElementsAre(1, 2));
  // Deleting the newest serves the one before it again.
  ASSERT_TRUE(registry->Delete("m", 2).ok());
  EXPECT_THAT(registry->List(), ElementsAre(Pair("m", ElementsAre(1))));
  EXPECT_NEAR(PredictAt10(**registry->Get("m", 0)), 21, 1e-6);

  auto two = *ModelRegistry::Open(root_.string(), nullptr,
                                  *ParseVersionPolicy("latest:2"));
  ASSERT_EQ(*two->Publish("m", SmallArtifact(4)), 3);
  ASSERT_EQ(*two->Publish("m", SmallArtifact(5)), 4);
  EXPECT_THAT(two->List(), ElementsAre(Pair("m", ElementsAre(3, 4))));
  auto specific = *ModelRegistry::Open(root_.string(), nullptr,
                                       *ParseVersionPolicy("1,3,9"));
  EXPECT_THAT(specific->List(), ElementsAre(Pair("m", ElementsAre(1, 3))));
}

TEST_F(ModelRegistryTest, LabelsPinVersionsAndAreSharedThroughTheDirectory) {
  const VersionPolicy latest = *ParseVersionPolicy("latest:1");
  auto a = *ModelRegistry::Open(root_.string(), nullptr, latest);
  auto b = *ModelRegistry::Open(root_.string(), nullptr, latest);
  ASSERT_EQ(*a->Publish("m", SmallArtifact(2)), 1);
  ASSERT_TRUE(a->SetLabel("m", "stable", 1).ok());
  ASSERT_EQ(*a->Publish("m", SmallArtifact(3)), 2);
  // The labelled version stays served next to the latest.
  EXPECT_THAT(a->List(), ElementsAre(Pair("m", ElementsAre(1, 2))));
  EXPECT_NEAR(PredictAt10(**a->GetLabeled("m", "stable")), 21, 1e-6);
  EXPECT_THAT(a->Labels("m"), ElementsAre(Pair("stable", 1)));
  std::string file = *ReadFile((root_ / "m" / "labels").string());
  EXPECT_EQ(file, "stable=1\n");

  // Another replica sees the label and both versions after a refresh.
  EXPECT_EQ(b->GetLabeled("m", "stable").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(b->Refresh().ok());
  EXPECT_NEAR(PredictAt10(**b->GetLabeled("m", "stable")), 21, 1e-6);
  EXPECT_EQ((*b->Get("m", 0))->metadata().version, 2);

  // A labelled version cannot be deleted; moving the label frees it.
  auto refused = a->Delete("m", 1);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("carries label 'stable'"));
  ASSERT_TRUE(a->SetLabel("m", "stable", 2).ok());
  ASSERT_TRUE(a->SetLabel("m", "canary", 2).ok());
  EXPECT_THAT(a->List(), ElementsAre(Pair("m", ElementsAre(2))));
  EXPECT_THAT(a->Labels("m"), ElementsAre(Pair("canary", 2), Pair("stable", 2)));
  ASSERT_TRUE(a->RemoveLabel("m", "canary").ok());
  EXPECT_EQ(a->RemoveLabel("m", "canary").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(a->GetLabeled("m", "canary").status().code(),
            absl::StatusCode::kNotFound);

  // Errors.
  EXPECT_EQ(a->SetLabel("m", "stable", 9).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(a->SetLabel("nope", "stable", 1).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(a->SetLabel("m", "7", 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a->SetLabel("m", "stable", 0).code(),
            absl::StatusCode::kInvalidArgument);

  // Deleting the whole model deletes its labels.
  ASSERT_TRUE(a->Delete("m", 0).ok());
  EXPECT_FALSE(std::filesystem::exists(root_ / "m" / "labels"));
  EXPECT_THAT(a->Labels("m"), IsEmpty());
}

TEST_F(ModelRegistryTest, ABrokenFileIsReportedOnceAndRetriedWhenItChanges) {
  auto registry = OpenRegistry();
  ASSERT_EQ(*registry->Publish("m", SmallArtifact(2)), 1);
  const std::string good = *ReadFile(registry->store().ArtifactPath("m", 1));
  // Another process writes version 2, corrupted; and a labels file with a
  // bad line.
  std::filesystem::create_directories(root_ / "m" / "2");
  ASSERT_TRUE(WriteFileAtomically(registry->store().ArtifactPath("m", 2),
                                  good.substr(0, good.size() / 2))
                  .ok());
  ASSERT_TRUE(
      WriteFileAtomically((root_ / "m" / "labels").string(), "ok=1\nbad\n")
          .ok());
  ModelRegistry::LoadReport report;
  ASSERT_TRUE(registry->Refresh(&report).ok());
  ASSERT_EQ(report.failures.size(), 2u);
  EXPECT_THAT(report.failures[0].ToString(), HasSubstr("labels:2"));
  EXPECT_EQ(report.failures[1].code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(registry->Labels("m"), ElementsAre(Pair("ok", 1)));
  // Unchanged: neither tried nor reported again.
  ASSERT_TRUE(registry->Refresh(&report).ok());
  EXPECT_THAT(report.failures, IsEmpty());
  EXPECT_THAT(registry->List(), ElementsAre(Pair("m", ElementsAre(1))));
  // Rewritten whole: loaded.
  ASSERT_TRUE(
      WriteFileAtomically(registry->store().ArtifactPath("m", 2), good).ok());
  ASSERT_TRUE(registry->Refresh(&report).ok());
  EXPECT_EQ(report.loaded, 1);
  EXPECT_THAT(registry->List(), ElementsAre(Pair("m", ElementsAre(1, 2))));
}

TEST_F(ModelRegistryTest, ABrokenNewestVersionDoesNotTakeTheModelDown) {
  auto registry = *ModelRegistry::Open(root_.string(), nullptr,
                                       *ParseVersionPolicy("latest:1"));
  ASSERT_EQ(*registry->Publish("m", SmallArtifact(2)), 1);
  const std::string good = *ReadFile(registry->store().ArtifactPath("m", 1));
  std::filesystem::create_directories(root_ / "m" / "2");
  ASSERT_TRUE(WriteFileAtomically(registry->store().ArtifactPath("m", 2),
                                  good.substr(0, 10))
                  .ok());
  ModelRegistry::LoadReport report;
  ASSERT_TRUE(registry->Refresh(&report).ok());
  EXPECT_EQ(report.failures.size(), 1u);
  // The newest version that loads is served.
  EXPECT_THAT(registry->List(), ElementsAre(Pair("m", ElementsAre(1))));
  EXPECT_NEAR(PredictAt10(**registry->Get("m", 0)), 21, 1e-6);
}

// A half-written artifact (the temporary file of a save in progress) is
// never loaded.
TEST_F(ModelRegistryTest, AHalfWrittenVersionIsNeverLoaded) {
  auto registry = OpenRegistry();
  ASSERT_EQ(*registry->Publish("m", SmallArtifact(2)), 1);
  std::filesystem::create_directories(root_ / "m" / "2");
  ASSERT_TRUE(WriteFileAtomically((root_ / "m" / "2" / "model.msm.tmp").string(),
                                  "partial")
                  .ok());
  ModelRegistry::LoadReport report;
  ASSERT_TRUE(registry->Refresh(&report).ok());
  EXPECT_EQ(report.loaded, 0);
  EXPECT_THAT(report.failures, IsEmpty());
  EXPECT_THAT(registry->List(), ElementsAre(Pair("m", ElementsAre(1))));
}

TEST_F(ModelRegistryTest, OpenDeletesTemporaryFilesLeftByACrash) {
  {
    auto registry = OpenRegistry();
    ASSERT_EQ(*registry->Publish("m", SmallArtifact(3)), 1);
  }
  // A crash while writing version 2 and while writing the labels.
  std::filesystem::create_directories(root_ / "m" / "2");
  std::ofstream((root_ / "m" / "2" / "model.msm.tmp-7-0").string()) << "half";
  std::ofstream((root_ / "m" / "labels.tmp-7-1").string()) << "stable=";
  ModelRegistry::LoadReport report;
  auto registry = OpenRegistry(&report);
  EXPECT_EQ(report.temp_files_removed, 2);
  EXPECT_EQ(report.loaded, 1);
  EXPECT_THAT(report.failures, IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(root_ / "m" / "2" / "model.msm.tmp-7-0"));
  EXPECT_FALSE(std::filesystem::exists(root_ / "m" / "labels.tmp-7-1"));
  // The claimed directory stays: its number is not reused.
  EXPECT_EQ(*registry->Publish("m", SmallArtifact(4)), 3);
  EXPECT_DOUBLE_EQ(PredictAt10(**registry->Get("m", 1)), 31);
}

}  // namespace
}  // namespace modelserver
