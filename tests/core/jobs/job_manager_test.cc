#include "core/jobs/job_manager.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Type = JobEvent::Type;

// A generous deadline for waits that must not time out in a passing run.
absl::Time Soon() { return absl::Now() + absl::Seconds(20); }

std::unique_ptr<JobManager> MakeManager(int max_concurrent = 1,
                                        int max_queued = 64,
                                        int max_finished_jobs = 256) {
  JobManager::Options options;
  options.max_concurrent = max_concurrent;
  options.max_queued = max_queued;
  options.max_finished_jobs = max_finished_jobs;
  auto m = JobManager::Create(options);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : nullptr;
}

EpochEvent Epoch(int epoch, int max_epochs, double loss) {
  EpochEvent e;
  e.epoch = epoch;
  e.max_epochs = max_epochs;
  e.train_loss = loss;
  e.validation_loss = loss * 2;
  return e;
}

// Reads every event of a job until it is done.
std::vector<JobEvent> AllEvents(const JobManager& m, const std::string& id) {
  std::vector<JobEvent> out;
  bool done = false;
  while (!done) {
    auto events = m.WaitEvents(id, out.size(), Soon(), &done);
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok()) break;
    out.insert(out.end(), events->begin(), events->end());
  }
  return out;
}

std::vector<Type> Types(const std::vector<JobEvent>& events) {
  std::vector<Type> out;
  for (const JobEvent& e : events) out.push_back(e.type);
  return out;
}

// A job that blocks until `release` is notified, after telling `started`.
JobFn Blocking(absl::Notification* started, absl::Notification* release,
               std::atomic<bool>* ran = nullptr) {
  return [=](const ProgressCallback&) -> absl::StatusOr<JobOutcome> {
    if (ran != nullptr) *ran = true;
    started->Notify();
    release->WaitForNotification();
    JobOutcome o;
    o.version = 1;
    return o;
  };
}

TEST(JobStateNameTest, NamesEveryState) {
  EXPECT_EQ(JobStateName(JobState::kQueued), "queued");
  EXPECT_EQ(JobStateName(JobState::kRunning), "running");
  EXPECT_EQ(JobStateName(JobState::kSucceeded), "succeeded");
  EXPECT_EQ(JobStateName(JobState::kFailed), "failed");
  EXPECT_EQ(JobStateName(JobState::kCancelled), "cancelled");
}

TEST(JobManagerTest, RejectsBadOptions) {
  for (int i = 0; i < 3; ++i) {
    JobManager::Options o;
    (i == 0   ? o.max_concurrent
     : i == 1 ? o.max_queued
              : o.max_finished_jobs) = 0;
    EXPECT_EQ(JobManager::Create(o).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  JobManager::Options o;
  o.max_finished_epoch_events = 0;
  EXPECT_EQ(JobManager::Create(o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JobManagerTest, RejectsNicenessOutsideTheRange) {
  for (int nice : {-1, 20}) {
    JobManager::Options o;
    o.thread_niceness = nice;
    EXPECT_EQ(JobManager::Create(o).status().code(),
              absl::StatusCode::kInvalidArgument)
        << nice;
  }
}

TEST(JobManagerTest, JobsRunAtTheConfiguredNicenessAndTheirThreadsInheritIt) {
  JobManager::Options o;
  o.thread_niceness = 7;
  auto m = JobManager::Create(o);
  ASSERT_TRUE(m.ok()) << m.status();
  const int process_nice = getpriority(PRIO_PROCESS, 0);
  int job_nice = -100, child_nice = -100;
  auto id = (*m)->Submit(
      "n", [&](const ProgressCallback&) -> absl::StatusOr<JobOutcome> {
        job_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
        std::thread child([&] {
          child_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
        });
        child.join();
        return JobOutcome();
      });
  ASSERT_TRUE(id.ok()) << id.status();
  AllEvents(**m, *id);
  // The value is absolute; raising it needs no privilege.
  if (process_nice <= 7) {
    EXPECT_EQ(job_nice, 7);
  }
  EXPECT_EQ(child_nice, job_nice);
  EXPECT_EQ(getpriority(PRIO_PROCESS, 0), process_nice);  // caller unchanged
}

TEST(JobManagerTest, RunsAJobAndReportsEventsInOrder) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  const int64_t before = absl::ToUnixMicros(absl::Now());
  auto id = m->Submit(
      "prices",
      [](const ProgressCallback& progress) -> absl::StatusOr<JobOutcome> {
        for (int e = 1; e <= 3; ++e) {
          if (!progress(Epoch(e, 3, 1.0 / e))) return absl::CancelledError("x");
        }
        JobOutcome o;
        o.name = "prices";
        o.version = 7;
        o.epochs = 3;
        o.validation_metrics = {{"r2", 0.9}};
        return o;
      });
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "job-1");

  std::vector<JobEvent> events = AllEvents(*m, *id);
  EXPECT_THAT(Types(events),
              ElementsAre(Type::kAccepted, Type::kEpoch, Type::kEpoch,
                          Type::kEpoch, Type::kSucceeded));
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[1].epoch.epoch, 1);
  EXPECT_EQ(events[3].epoch.epoch, 3);
  EXPECT_DOUBLE_EQ(events[2].epoch.train_loss, 0.5);
  EXPECT_EQ(events[4].outcome.version, 7);
  EXPECT_EQ(events[4].outcome.name, "prices");
  EXPECT_EQ(events[4].outcome.validation_metrics.size(), 1u);

  auto snap = m->Get(*id);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->id, "job-1");
  EXPECT_EQ(snap->name, "prices");
  EXPECT_EQ(snap->state, JobState::kSucceeded);
  EXPECT_EQ(snap->version, 7);
  EXPECT_EQ(snap->epoch, 3);
  EXPECT_EQ(snap->max_epochs, 3);
  EXPECT_DOUBLE_EQ(snap->train_loss, 1.0 / 3);
  EXPECT_DOUBLE_EQ(snap->validation_loss, 2.0 / 3);
  EXPECT_TRUE(snap->error.ok());
  EXPECT_GE(snap->created_unix_micros, before);
  EXPECT_GE(snap->started_unix_micros, snap->created_unix_micros);
  EXPECT_GE(snap->finished_unix_micros, snap->started_unix_micros);

  // Ids count up.
  auto second = m->Submit("prices", [](const ProgressCallback&) {
    return absl::StatusOr<JobOutcome>(JobOutcome());
  });
  EXPECT_EQ(*second, "job-2");
}

TEST(JobManagerTest, WaitEventsFromAnIndexBlocksAndHonoursTheDeadline) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  absl::Notification epoch1_sent, send_epoch2, finish;
  auto id = m->Submit(
      "m", [&](const ProgressCallback& progress) -> absl::StatusOr<JobOutcome> {
        progress(Epoch(1, 2, 1));
        epoch1_sent.Notify();
        send_epoch2.WaitForNotification();
        progress(Epoch(2, 2, 1));
        finish.WaitForNotification();
        return JobOutcome();
      });
  ASSERT_TRUE(id.ok());
  epoch1_sent.WaitForNotification();

  // From index 1: the first epoch, not done.
  bool done = true;
  auto events = m->WaitEvents(*id, 1, Soon(), &done);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_THAT(Types(*events), ElementsAre(Type::kEpoch));
  EXPECT_FALSE(done);

  // Nothing after index 2 yet: the deadline passes with no events.
  done = true;
  const absl::Time start = absl::Now();
  events = m->WaitEvents(*id, 2, start + absl::Milliseconds(50), &done);
  ASSERT_TRUE(events.ok());
  EXPECT_THAT(*events, IsEmpty());
  EXPECT_FALSE(done);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));
  // A deadline in the past returns at once.
  events = m->WaitEvents(*id, 2, absl::InfinitePast(), &done);
  ASSERT_TRUE(events.ok());
  EXPECT_THAT(*events, IsEmpty());
  EXPECT_FALSE(done);

  // A waiter blocked at index 2 wakes on the next event.
  std::vector<JobEvent> woken;
  bool woken_done = true;
  std::thread waiter([&] {
    auto e = m->WaitEvents(*id, 2, Soon(), &woken_done);
    ASSERT_TRUE(e.ok());
    woken = *e;
  });
  send_epoch2.Notify();
  waiter.join();
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0].type, Type::kEpoch);
  EXPECT_EQ(woken[0].epoch.epoch, 2);
  EXPECT_FALSE(woken_done);

  finish.Notify();
  std::vector<JobEvent> all = AllEvents(*m, *id);
  EXPECT_EQ(all.size(), 4u);
  // Past the end of a finished job: done, no events.
  events = m->WaitEvents(*id, 4, Soon(), &done);
  ASSERT_TRUE(events.ok());
  EXPECT_THAT(*events, IsEmpty());
  EXPECT_TRUE(done);
  // From an earlier index: the rest, done.
  events = m->WaitEvents(*id, 3, Soon(), &done);
  ASSERT_TRUE(events.ok());
  EXPECT_THAT(Types(*events), ElementsAre(Type::kSucceeded));
  EXPECT_TRUE(done);
}

TEST(JobManagerTest, CancelsAQueuedJobBeforeItRuns) {
  auto m = MakeManager(/*max_concurrent=*/1);
  ASSERT_NE(m, nullptr);
  absl::Notification started, release;
  auto first = m->Submit("a", Blocking(&started, &release));
  ASSERT_TRUE(first.ok());
  started.WaitForNotification();
  std::atomic<bool> second_ran{false};
  absl::Notification unused_started, unused_release;
  auto second =
      m->Submit("b", Blocking(&unused_started, &unused_release, &second_ran));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(m->Get(*second)->state, JobState::kQueued);

  auto snap = m->Cancel(*second);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->state, JobState::kCancelled);
  EXPECT_EQ(snap->error.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(snap->started_unix_micros, 0);
  EXPECT_GT(snap->finished_unix_micros, 0);
  std::vector<JobEvent> events = AllEvents(*m, *second);
  EXPECT_THAT(Types(events), ElementsAre(Type::kAccepted, Type::kFailed));
  EXPECT_EQ(events[1].error.code(), absl::StatusCode::kCancelled);

  release.Notify();
  AllEvents(*m, *first);
  m->Shutdown(/*cancel_running=*/false);
  EXPECT_FALSE(second_ran.load());
  EXPECT_EQ(m->Get(*first)->state, JobState::kSucceeded);
}

TEST(JobManagerTest, CancelsARunningJob) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  absl::Notification running;
  std::atomic<int> epochs{0};
  auto id = m->Submit(
      "m", [&](const ProgressCallback& progress) -> absl::StatusOr<JobOutcome> {
        running.Notify();
        // Reports epochs until told to stop (bounded, in case cancel is
        // broken).
        for (int e = 1; e <= 1000000; ++e) {
          ++epochs;
          if (!progress(Epoch(e, 1000000, 1))) {
            return absl::CancelledError("training cancelled");
          }
        }
        return JobOutcome();
      });
  ASSERT_TRUE(id.ok());
  running.WaitForNotification();
  auto snap = m->Cancel(*id);
  ASSERT_TRUE(snap.ok()) << snap.status();
  std::vector<JobEvent> events = AllEvents(*m, *id);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().type, Type::kAccepted);
  EXPECT_EQ(events.back().type, Type::kFailed);
  EXPECT_EQ(events.back().error.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(events.size(), static_cast<size_t>(epochs.load()) + 2);
  EXPECT_LT(epochs.load(), 1000000);
  auto final = m->Get(*id);
  EXPECT_EQ(final->state, JobState::kCancelled);
  EXPECT_EQ(final->error.code(), absl::StatusCode::kCancelled);

  // Cancelling a finished job is a precondition failure.
  auto again = m->Cancel(*id);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr(*id));
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("cancelled"));
}

// Training finished, then Cancel arrived before the result was committed:
// the commit step must not run and the job ends cancelled.
TEST(JobManagerTest, CancelAfterTheLastEpochSkipsTheCommit) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  absl::Notification trained, cancelled;
  std::atomic<int> commits{0};
  auto id = m->Submit("m", [&](const ProgressCallback&) {
    trained.Notify();
    cancelled.WaitForNotification();
    JobOutcome o;
    o.commit = [&commits]() -> absl::StatusOr<int64_t> { return ++commits; };
    return absl::StatusOr<JobOutcome>(std::move(o));
  });
  ASSERT_TRUE(id.ok());
  trained.WaitForNotification();
  ASSERT_TRUE(m->Cancel(*id).ok());
  cancelled.Notify();
  std::vector<JobEvent> events = AllEvents(*m, *id);
  EXPECT_THAT(Types(events), ElementsAre(Type::kAccepted, Type::kFailed));
  EXPECT_EQ(events.back().error.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(m->Get(*id)->state, JobState::kCancelled);
  EXPECT_EQ(commits.load(), 0);
}

// Once the commit step runs, Cancel is too late and says so; the job
// succeeds with the committed version.
TEST(JobManagerTest, CancelDuringTheCommitIsRefused) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  absl::Notification committing, release;
  auto id = m->Submit("m", [&](const ProgressCallback&) {
    JobOutcome o;
    o.commit = [&]() -> absl::StatusOr<int64_t> {
      committing.Notify();
      release.WaitForNotification();
      return 7;
    };
    return absl::StatusOr<JobOutcome>(std::move(o));
  });
  ASSERT_TRUE(id.ok());
  committing.WaitForNotification();
  auto refused = m->Cancel(*id);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("publishing"));
  release.Notify();
  std::vector<JobEvent> events = AllEvents(*m, *id);
  EXPECT_THAT(Types(events), ElementsAre(Type::kAccepted, Type::kSucceeded));
  EXPECT_EQ(events.back().outcome.version, 7);
  EXPECT_EQ(m->Get(*id)->version, 7);
}

// A failing commit fails the job with the commit's error.
TEST(JobManagerTest, AFailedCommitFailsTheJob) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  auto id = m->Submit("m", [](const ProgressCallback&) {
    JobOutcome o;
    o.commit = []() -> absl::StatusOr<int64_t> {
      return absl::DataLossError("disk full");
    };
    return absl::StatusOr<JobOutcome>(std::move(o));
  });
  ASSERT_TRUE(id.ok());
  std::vector<JobEvent> events = AllEvents(*m, *id);
  EXPECT_THAT(Types(events), ElementsAre(Type::kAccepted, Type::kFailed));
  EXPECT_EQ(events.back().error.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(m->Get(*id)->state, JobState::kFailed);
}

TEST(JobManagerTest, ACancelledJobThatReturnsAnotherErrorIsCancelled) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  absl::Notification started, cancelled;
  auto id = m->Submit(
      "m", [&](const ProgressCallback& progress) -> absl::StatusOr<JobOutcome> {
        started.Notify();
        cancelled.WaitForNotification();
        EXPECT_FALSE(progress(Epoch(1, 1, 1)));
        return absl::InternalError("stopped badly");
      });
  ASSERT_TRUE(id.ok());
  started.WaitForNotification();
  ASSERT_TRUE(m->Cancel(*id).ok());
  cancelled.Notify();
  AllEvents(*m, *id);
  EXPECT_EQ(m->Get(*id)->state, JobState::kCancelled);
}

TEST(JobManagerTest, RunsOneJobAtATime) {
  auto m = MakeManager(/*max_concurrent=*/1);
  ASSERT_NE(m, nullptr);
  absl::Notification started1, release1, started2, release2;
  auto first = m->Submit("a", Blocking(&started1, &release1));
  auto second = m->Submit("b", Blocking(&started2, &release2));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  started1.WaitForNotification();
  EXPECT_EQ(m->Get(*first)->state, JobState::kRunning);
  EXPECT_GT(m->Get(*first)->started_unix_micros, 0);
  // The second job stays queued while the first runs.
  EXPECT_FALSE(started2.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  EXPECT_EQ(m->Get(*second)->state, JobState::kQueued);
  EXPECT_EQ(m->Get(*second)->started_unix_micros, 0);

  release1.Notify();
  started2.WaitForNotification();
  EXPECT_EQ(m->Get(*first)->state, JobState::kSucceeded);
  EXPECT_EQ(m->Get(*second)->state, JobState::kRunning);
  release2.Notify();
  AllEvents(*m, *second);
  EXPECT_EQ(m->Get(*second)->state, JobState::kSucceeded);

  std::vector<JobSnapshot> list = m->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, *first);
  EXPECT_EQ(list[1].id, *second);
}

TEST(JobManagerTest, RunsJobsConcurrentlyUpToTheLimit) {
  auto m = MakeManager(/*max_concurrent=*/2);
  ASSERT_NE(m, nullptr);
  absl::Notification started1, started2, release;
  ASSERT_TRUE(m->Submit("a", Blocking(&started1, &release)).ok());
  ASSERT_TRUE(m->Submit("b", Blocking(&started2, &release)).ok());
  // Both run at once: each waits for `release`, so neither could finish
  // before the other started.
  started1.WaitForNotification();
  started2.WaitForNotification();
  release.Notify();
  m->Shutdown(/*cancel_running=*/false);  // before the notifications go
}

TEST(JobManagerTest, FullQueueIsResourceExhausted) {
  auto m = MakeManager(/*max_concurrent=*/1, /*max_queued=*/2);
  ASSERT_NE(m, nullptr);
  absl::Notification started, release, s2, s3;
  ASSERT_TRUE(m->Submit("a", Blocking(&started, &release)).ok());
  started.WaitForNotification();  // running: no longer in the queue
  ASSERT_TRUE(m->Submit("b", Blocking(&s2, &release)).ok());
  ASSERT_TRUE(m->Submit("c", Blocking(&s3, &release)).ok());
  auto full = m->Submit("d", Blocking(&s3, &release));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(full.status().message()), HasSubstr("queue is full"));
  EXPECT_EQ(m->List().size(), 3u);
  release.Notify();
  m->Shutdown(/*cancel_running=*/false);  // before the notifications go
}

TEST(JobManagerTest, AFailingJobKeepsItsStatus) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  auto id = m->Submit(
      "m", [](const ProgressCallback& progress) -> absl::StatusOr<JobOutcome> {
        progress(Epoch(1, 5, 1));
        return absl::InvalidArgumentError("column 'price' is missing");
      });
  ASSERT_TRUE(id.ok());
  std::vector<JobEvent> events = AllEvents(*m, *id);
  EXPECT_THAT(Types(events),
              ElementsAre(Type::kAccepted, Type::kEpoch, Type::kFailed));
  EXPECT_EQ(events.back().error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(events.back().error.message()),
            "column 'price' is missing");
  auto snap = m->Get(*id);
  EXPECT_EQ(snap->state, JobState::kFailed);
  EXPECT_EQ(snap->error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(snap->version, 0);
  EXPECT_EQ(m->Cancel(*id).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(JobManagerTest, AThrowingJobFailsWithInternal) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  auto id =
      m->Submit("m", [](const ProgressCallback&) -> absl::StatusOr<JobOutcome> {
        throw std::runtime_error("boom");
      });
  ASSERT_TRUE(id.ok());
  std::vector<JobEvent> events = AllEvents(*m, *id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].error.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(events[1].error.message()), HasSubstr("boom"));
  EXPECT_EQ(m->Submit("m", nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JobManagerTest, OnFinishSeesEachJobOnceInItsFinalState) {
  std::mutex mu;
  std::vector<std::pair<std::string, JobState>> seen;
  JobManager::Options options;
  options.on_finish = [&](const JobSnapshot& job) {
    std::lock_guard<std::mutex> lock(mu);
    seen.emplace_back(job.id, job.state);
    EXPECT_GT(job.finished_unix_micros, 0);
  };
  auto m = JobManager::Create(options);
  ASSERT_TRUE(m.ok()) << m.status();
  absl::Notification started, release;
  auto ok_id = (*m)->Submit("a", Blocking(&started, &release));
  ASSERT_TRUE(ok_id.ok());
  started.WaitForNotification();
  // Queued behind the first job, then cancelled before it runs.
  auto queued_id = (*m)->Submit("b", Blocking(&started, &release));
  ASSERT_TRUE(queued_id.ok());
  ASSERT_TRUE((*m)->Cancel(*queued_id).ok());
  auto failing_id = (*m)->Submit(
      "c", [](const ProgressCallback&) -> absl::StatusOr<JobOutcome> {
        return absl::InvalidArgumentError("bad data");
      });
  ASSERT_TRUE(failing_id.ok());
  release.Notify();
  AllEvents(**m, *ok_id);
  AllEvents(**m, *failing_id);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(seen, ElementsAre(std::pair(*queued_id, JobState::kCancelled),
                                std::pair(*ok_id, JobState::kSucceeded),
                                std::pair(*failing_id, JobState::kFailed)));
}

TEST(JobManagerTest, UnknownIdsAreNotFound) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  auto get = m->Get("job-42");
  EXPECT_EQ(get.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(get.status().message()), HasSubstr("job-42"));
  EXPECT_EQ(m->Cancel("job-42").status().code(), absl::StatusCode::kNotFound);
  bool done = false;
  EXPECT_EQ(m->WaitEvents("nope", 0, Soon(), &done).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(m->List(), IsEmpty());
}

TEST(JobManagerTest, EvictsTheOldestFinishedJobs) {
  auto m = MakeManager(/*max_concurrent=*/1, /*max_queued=*/64,
                       /*max_finished_jobs=*/2);
  ASSERT_NE(m, nullptr);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto id = m->Submit("m", [](const ProgressCallback&) {
      return absl::StatusOr<JobOutcome>(JobOutcome());
    });
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
    AllEvents(*m, *id);
  }
  EXPECT_EQ(m->Get(ids[0]).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(m->Get(ids[1]).status().code(), absl::StatusCode::kNotFound);
  bool done = false;
  EXPECT_EQ(m->WaitEvents(ids[0], 0, Soon(), &done).status().code(),
            absl::StatusCode::kNotFound);
  std::vector<JobSnapshot> list = m->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, ids[2]);
  EXPECT_EQ(list[1].id, ids[3]);

  // Running and queued jobs are never evicted.
  absl::Notification started, release, s2;
  auto running = m->Submit("r", Blocking(&started, &release));
  auto queued = m->Submit("q", Blocking(&s2, &release));
  started.WaitForNotification();
  auto quick = m->Submit("x", [](const ProgressCallback&) {
    return absl::StatusOr<JobOutcome>(JobOutcome());
  });
  ASSERT_TRUE(m->Cancel(*quick).ok());  // finishes at once (cancelled)
  EXPECT_TRUE(m->Get(*running).ok());
  EXPECT_TRUE(m->Get(*queued).ok());
  EXPECT_TRUE(m->Get(*quick).ok());
  EXPECT_EQ(m->Get(ids[2]).status().code(), absl::StatusCode::kNotFound);
  release.Notify();
  m->Shutdown(/*cancel_running=*/false);  // before the notifications go
}

// The log keeps epoch events compactly; every field comes back as
// reported, the metric name included (even when it changes).
TEST(JobManagerTest, ReplaysEveryFieldOfEveryEpochEvent) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  auto epoch = [](int e) {
    EpochEvent x;
    x.epoch = e;
    x.max_epochs = 3;
    x.train_loss = 1.5 * e;
    x.validation_loss = 2.5 * e;
    x.metric_name = e == 2 ? "accuracy" : "r2";
    x.validation_metric = 0.25 * e;
    x.elapsed_seconds = 0.125 * e;
    x.remaining_seconds = 3.0 - e;
    return x;
  };
  auto id = m->Submit(
      "m", [&](const ProgressCallback& progress) -> absl::StatusOr<JobOutcome> {
        for (int e = 1; e <= 3; ++e) progress(epoch(e));
        JobOutcome o;
        o.version = 4;
        return o;
      });
  ASSERT_TRUE(id.ok());
  std::vector<JobEvent> events = AllEvents(*m, *id);
  ASSERT_EQ(events.size(), 5u);
  for (int e = 1; e <= 3; ++e) {
    const EpochEvent& got = events[e].epoch;
    const EpochEvent want = epoch(e);
    EXPECT_EQ(events[e].type, Type::kEpoch);
    EXPECT_EQ(got.epoch, want.epoch);
    EXPECT_EQ(got.max_epochs, want.max_epochs);
    EXPECT_EQ(got.train_loss, want.train_loss);
    EXPECT_EQ(got.validation_loss, want.validation_loss);
    EXPECT_EQ(got.metric_name, want.metric_name);
    EXPECT_EQ(got.validation_metric, want.validation_metric);
    EXPECT_EQ(got.elapsed_seconds, want.elapsed_seconds);
    EXPECT_EQ(got.remaining_seconds, want.remaining_seconds);
  }
  EXPECT_EQ(events[4].outcome.version, 4);
  // From an index: the rest, the final event included.
  bool done = false;
  auto rest = m->WaitEvents(*id, 3, Soon(), &done);
  ASSERT_TRUE(rest.ok());
  EXPECT_TRUE(done);
  EXPECT_THAT(Types(*rest), ElementsAre(Type::kEpoch, Type::kSucceeded));
  EXPECT_EQ((*rest)[0].epoch.epoch, 3);
}

// Long jobs' logs are bounded in all: beyond max_finished_epoch_events the
// oldest finished jobs are forgotten, but never the most recent one.
TEST(JobManagerTest, EvictsFinishedJobsBeyondTheEpochEventBudget) {
  JobManager::Options options;
  options.max_finished_epoch_events = 10;
  auto created = JobManager::Create(options);
  ASSERT_TRUE(created.ok());
  JobManager& m = **created;
  auto run = [&](int epochs) {
    auto id = m.Submit("m", [epochs](const ProgressCallback& progress) {
      for (int e = 1; e <= epochs; ++e) progress(Epoch(e, epochs, 1));
      return absl::StatusOr<JobOutcome>(JobOutcome());
    });
    EXPECT_TRUE(id.ok());
    EXPECT_EQ(AllEvents(m, *id).size(), static_cast<size_t>(epochs) + 2);
    return *id;
  };
  const std::string a = run(6);
  const std::string b = run(6);  // 12 > 10: a goes
  EXPECT_EQ(m.Get(a).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(m.Get(b).ok());
  const std::string c = run(3);  // 9
  EXPECT_TRUE(m.Get(b).ok());
  EXPECT_TRUE(m.Get(c).ok());
  const std::string d = run(30);  // alone over the budget: b and c go
  EXPECT_EQ(m.Get(b).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(m.Get(c).status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(m.List().size(), 1u);
  EXPECT_EQ(m.List()[0].id, d);
  EXPECT_EQ(AllEvents(m, d).size(), 32u);
  const std::string e = run(0);  // 30 + 0 > 10: d goes, e stays
  EXPECT_EQ(m.Get(d).status().code(), absl::StatusCode::kNotFound);
  const std::string f = run(1);  // 1: both kept
  EXPECT_TRUE(m.Get(e).ok());
  EXPECT_TRUE(m.Get(f).ok());
  EXPECT_EQ(m.List().size(), 2u);
}

TEST(JobManagerTest, ShutdownCancelsQueuedAndRunningJobs) {
  auto m = MakeManager(/*max_concurrent=*/1);
  ASSERT_NE(m, nullptr);
  absl::Notification running;
  auto first = m->Submit(
      "a", [&](const ProgressCallback& progress) -> absl::StatusOr<JobOutcome> {
        running.Notify();
        for (int e = 1; e <= 1000000; ++e) {
          if (!progress(Epoch(e, 1000000, 1))) {
            return absl::CancelledError("training cancelled");
          }
        }
        return JobOutcome();
      });
  std::atomic<bool> second_ran{false};
  absl::Notification s2, r2;
  auto second = m->Submit("b", Blocking(&s2, &r2, &second_ran));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  running.WaitForNotification();

  m->Shutdown(/*cancel_running=*/true);
  EXPECT_FALSE(second_ran.load());
  EXPECT_EQ(m->Get(*first)->state, JobState::kCancelled);
  EXPECT_EQ(m->Get(*second)->state, JobState::kCancelled);
  EXPECT_EQ(m->Get(*second)->error.code(), absl::StatusCode::kCancelled);
  auto late = m->Submit("c", Blocking(&s2, &r2));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnavailable);
  // Shutdown again (and the destructor) is harmless.
  m->Shutdown(/*cancel_running=*/true);
}

TEST(JobManagerTest, ShutdownWithoutCancelLetsRunningJobsFinish) {
  auto m = MakeManager(/*max_concurrent=*/1);
  ASSERT_NE(m, nullptr);
  absl::Notification started, release;
  auto id = m->Submit(
      "a", [&](const ProgressCallback& progress) -> absl::StatusOr<JobOutcome> {
        started.Notify();
        release.WaitForNotification();
        if (!progress(Epoch(1, 1, 1))) return absl::CancelledError("cancelled");
        JobOutcome o;
        o.version = 3;
        return o;
      });
  ASSERT_TRUE(id.ok());
  started.WaitForNotification();
  std::thread releaser([&] {
    // Release only once Shutdown has stopped accepting jobs.
    while (true) {
      auto r = m->Submit("probe", [](const ProgressCallback&) {
        return absl::StatusOr<JobOutcome>(JobOutcome());
      });
      if (!r.ok()) break;
      (void)m->Cancel(*r);
      std::this_thread::yield();
    }
    release.Notify();
  });
  m->Shutdown(/*cancel_running=*/false);
  releaser.join();
  auto snap = m->Get(*id);
  EXPECT_EQ(snap->state, JobState::kSucceeded);
  EXPECT_EQ(snap->version, 3);
}

TEST(JobManagerTest, DestructorCancelsRunningJobs) {
  absl::Notification running;
  std::atomic<bool> saw_cancel{false};
  {
    auto m = MakeManager();
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(m->Submit("a",
                          [&](const ProgressCallback& progress)
                              -> absl::StatusOr<JobOutcome> {
                            running.Notify();
                            for (int e = 1; e <= 1000000; ++e) {
                              if (!progress(Epoch(e, 1000000, 1))) {
                                saw_cancel = true;
                                return absl::CancelledError("cancelled");
                              }
                            }
                            return JobOutcome();
                          })
                    .ok());
    running.WaitForNotification();
  }
  EXPECT_TRUE(saw_cancel.load());
}

TEST(JobManagerTest, ManyWatchersAndSubmittersFromThreads) {
  auto m = MakeManager(/*max_concurrent=*/2, /*max_queued=*/64,
                       /*max_finished_jobs=*/64);
  ASSERT_NE(m, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> succeeded{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto id = m->Submit(
            "m",
            [](const ProgressCallback& progress) -> absl::StatusOr<JobOutcome> {
              for (int e = 1; e <= 5; ++e) progress(Epoch(e, 5, 1));
              return JobOutcome();
            });
        ASSERT_TRUE(id.ok()) << id.status();
        std::vector<JobEvent> events = AllEvents(*m, *id);
        if (events.size() == 7 && events.back().type == Type::kSucceeded) {
          ++succeeded;
        }
        (void)m->List();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 20);
  EXPECT_EQ(m->List().size(), 20u);
}

// A tune job's log: kAccepted, its trials, the search's end, the final
// training's epochs, then the result; its snapshot carries the latest trial.
TEST(JobManagerTest, TuneJobReportsTrialsThenTheSearchThenEpochs) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  auto id = m->SubmitTune("m", [](const JobReporter& r)
                                   -> absl::StatusOr<JobOutcome> {
    for (int t = 1; t <= 2; ++t) {
      TuneProgress p;
      p.trials_done = t;
      p.max_trials = 3;
      p.trial.trial = t;
      p.trial.params = {{"l2", t == 1 ? "0" : "0.5"}};
      p.trial.mean = 0.5 * t;
      p.best_trial = t;
      p.best_score = 0.5 * t;
      p.metric = "r2";
      EXPECT_TRUE(r.trial(p));
    }
    TuneSummary s;
    s.metric = "r2";
    s.best_trial = 2;
    s.stop_reason = "time_budget";
    EXPECT_TRUE(r.search_done(s));
    EXPECT_FALSE(r.cancelled());
    r.epoch(Epoch(1, 2, 1.0));
    r.epoch(Epoch(2, 2, 0.5));
    JobOutcome o;
    o.version = 4;
    return o;
  });
  ASSERT_TRUE(id.ok()) << id.status();
  const std::vector<JobEvent> events = AllEvents(*m, *id);
  EXPECT_THAT(Types(events),
              ElementsAre(Type::kAccepted, Type::kTrial, Type::kTrial,
                          Type::kSearchDone, Type::kEpoch, Type::kEpoch,
                          Type::kSucceeded));
  EXPECT_EQ(events[1].trial.trial.trial, 1);
  EXPECT_EQ(events[2].trial.trial.params[0].second, "0.5");
  EXPECT_EQ(events[2].trial.best_score, 1.0);
  ASSERT_NE(events[3].search, nullptr);
  EXPECT_EQ(events[3].search->best_trial, 2);
  EXPECT_EQ(events[3].search->stop_reason, "time_budget");
  EXPECT_EQ(events[5].epoch.epoch, 2);
  EXPECT_EQ(events[6].outcome.version, 4);
  auto snap = m->Get(*id);
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->tune);
  EXPECT_EQ(snap->tune_progress.trials_done, 2);
  EXPECT_EQ(snap->tune_progress.max_trials, 3);
  EXPECT_EQ(snap->epoch, 2);
  // Replay from the middle starts at the search's end.
  bool done = false;
  auto rest = m->WaitEvents(*id, 3, Soon(), &done);
  ASSERT_TRUE(rest.ok());
  EXPECT_THAT(Types(*rest), ElementsAre(Type::kSearchDone, Type::kEpoch,
                                        Type::kEpoch, Type::kSucceeded));
  // A train job is not a tune job.
  auto train = m->Submit("m", [](const ProgressCallback&) {
    return absl::StatusOr<JobOutcome>(JobOutcome());
  });
  ASSERT_TRUE(train.ok());
  AllEvents(*m, *train);
  EXPECT_FALSE(m->Get(*train)->tune);
}

TEST(JobManagerTest, CancellingATuneJobStopsItsTrials) {
  auto m = MakeManager();
  ASSERT_NE(m, nullptr);
  absl::Notification first_trial;
  absl::Notification cancelled;
  std::atomic<bool> trial_after_cancel{true};
  auto id = m->SubmitTune("m", [&](const JobReporter& r)
                                   -> absl::StatusOr<JobOutcome> {
    TuneProgress p;
    p.trials_done = 1;
    EXPECT_TRUE(r.trial(p));
    first_trial.Notify();
    cancelled.WaitForNotification();
    EXPECT_TRUE(r.cancelled());
    trial_after_cancel = r.trial(p);
    return absl::CancelledError("search cancelled");
  });
  ASSERT_TRUE(id.ok());
  first_trial.WaitForNotification();
  ASSERT_TRUE(m->Cancel(*id).ok());
  cancelled.Notify();
  const std::vector<JobEvent> events = AllEvents(*m, *id);
  EXPECT_FALSE(trial_after_cancel);
  EXPECT_THAT(Types(events), ElementsAre(Type::kAccepted, Type::kTrial,
                                         Type::kTrial, Type::kFailed));
  EXPECT_EQ(m->Get(*id)->state, JobState::kCancelled);
}

// Trial events count against max_finished_epoch_events by their size in
// 56-byte units: one trial with a 2,000-byte parameter value is more than
// 35 units, over a budget of 10, so the next finished job evicts it; one
// with short parameters is a few units and is kept.
TEST(JobManagerTest, TrialEventsCountAgainstTheEventBudget) {
  JobManager::Options options;
  options.max_finished_epoch_events = 10;
  auto created = JobManager::Create(options);
  ASSERT_TRUE(created.ok());
  JobManager& m = **created;
  auto tune = [&](size_t value_bytes) {
    auto id = m.SubmitTune("m", [value_bytes](const JobReporter& r) {
      TuneProgress p;
      p.trial.params = {{"k", std::string(value_bytes, 'x')}};
      r.trial(p);
      return absl::StatusOr<JobOutcome>(JobOutcome());
    });
    EXPECT_TRUE(id.ok());
    AllEvents(m, *id);
    return *id;
  };
  auto one_epoch = [&] {
    auto id = m.Submit("m", [](const ProgressCallback& progress) {
      progress(Epoch(1, 1, 1));
      return absl::StatusOr<JobOutcome>(JobOutcome());
    });
    EXPECT_TRUE(id.ok());
    AllEvents(m, *id);
    return *id;
  };
  const std::string small = tune(1);
  const std::string after_small = one_epoch();
  EXPECT_TRUE(m.Get(small).ok());
  EXPECT_TRUE(m.Get(after_small).ok());
  const std::string big = tune(2000);  // evicts small and after_small too
  EXPECT_EQ(m.Get(small).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(m.Get(big).ok());  // the most recent one stays
  const std::string next = one_epoch();
  EXPECT_EQ(m.Get(big).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(m.Get(next).ok());
}

}  // namespace
}  // namespace modelserver
