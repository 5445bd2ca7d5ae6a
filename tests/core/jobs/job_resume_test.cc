// JobManager's resumed jobs, checkpoint epochs and learning rates.
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "core/jobs/job_manager.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

std::vector<JobEvent> AllEvents(JobManager& jobs, const std::string& id) {
  std::vector<JobEvent> out;
  bool done = false;
  while (!done) {
    auto events =
        jobs.WaitEvents(id, out.size(), absl::Now() + absl::Seconds(10), &done);
    EXPECT_TRUE(events.ok());
    if (!events.ok()) break;
    for (JobEvent& e : *events) out.push_back(std::move(e));
  }
  return out;
}

TEST(JobResumeTest, ResumedEventFollowsAcceptedAndEpochsContinue) {
  auto jobs = JobManager::Create({});
  ASSERT_TRUE(jobs.ok());
  SubmitOptions options;
  options.resumed = true;
  options.resumed_from_epoch = 20;
  std::string id;
  absl::Notification submitted;
  auto job_id = (*jobs)->Submit(
      "m",
      [&](const ProgressCallback& progress) -> absl::StatusOr<JobOutcome> {
        submitted.WaitForNotification();
        for (int e = 21; e <= 22; ++e) {
          EpochEvent ev;
          ev.epoch = e;
          ev.max_epochs = 22;
          ev.learning_rate = 0.5 / e;
          progress(ev);
          (*jobs)->RecordCheckpoint(id, e);
        }
        JobOutcome o;
        o.epochs = 22;
        return o;
      },
      options);
  ASSERT_TRUE(job_id.ok());
  id = *job_id;
  // Before it runs, the snapshot already shows where it continues.
  auto snapshot = (*jobs)->Get(id);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->resumed_from_epoch, 20);
  EXPECT_EQ(snapshot->epoch, 20);
  submitted.Notify();

  const std::vector<JobEvent> events = AllEvents(**jobs, id);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].type, JobEvent::Type::kAccepted);
  EXPECT_EQ(events[1].type, JobEvent::Type::kResumed);
  EXPECT_EQ(events[1].resumed_from_epoch, 20);
  EXPECT_EQ(events[2].type, JobEvent::Type::kEpoch);
  EXPECT_EQ(events[2].epoch.epoch, 21);
  EXPECT_EQ(events[2].epoch.learning_rate, 0.5 / 21);  // kept in the log
  EXPECT_EQ(events[3].epoch.epoch, 22);
  EXPECT_EQ(events[4].type, JobEvent::Type::kSucceeded);
  snapshot = (*jobs)->Get(id);
  EXPECT_EQ(snapshot->checkpoint_epoch, 22);
  EXPECT_EQ(snapshot->resumed_from_epoch, 20);

  // A job submitted plainly has no kResumed event.
  auto plain = (*jobs)->Submit("m", [](const ProgressCallback&) {
    return absl::StatusOr<JobOutcome>(JobOutcome());
  });
  ASSERT_TRUE(plain.ok());
  const std::vector<JobEvent> plain_events = AllEvents(**jobs, *plain);
  ASSERT_EQ(plain_events.size(), 2u);
  EXPECT_EQ(plain_events[1].type, JobEvent::Type::kSucceeded);
  EXPECT_EQ((*jobs)->Get(*plain)->resumed_from_epoch, 0);
  (*jobs)->RecordCheckpoint("job-404", 3);  // unknown: ignored
}

}  // namespace
}  // namespace modelserver
