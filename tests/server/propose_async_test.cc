// RaftRuntime::ProposeAsync, which the MailStore's AppendMessage uses so
// that no server thread waits while an entry is replicated and applied:
// every callback comes exactly once, on the runtime's reply thread, with
// the state machine's result, DEADLINE_EXCEEDED at the deadline (also while
// applying is stuck), or UNAVAILABLE once the runtime stopped.
#include <pthread.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "node/raft/memory_log_storage.h"
#include "node/raft/raft.h"
#include "node/server/raft_runtime.h"

namespace qbox::server {
namespace {

class DroppingTransport : public RaftTransport {
 public:
  void Send(std::vector<raft::Message>) override {}
};

// Answers every entry with "result:<data>"; applying waits while `gate` is
// closed once an entry whose data is "hold" arrives.
class GatedStateMachine : public ReplicatedStateMachine {
 public:
  uint64_t applied_index() const override {
    absl::MutexLock lock(&mu_);
    return applied_;
  }
  absl::StatusOr<std::string> Apply(const raft::Entry& entry) override {
    if (entry.data == "hold") {
      absl::MutexLock lock(&mu_);
      holding_ = true;
      mu_.Await(absl::Condition(&released_));
    }
    absl::MutexLock lock(&mu_);
    applied_ = entry.index;
    return "result:" + entry.data;
  }
  absl::Status ApplyConfChange(const raft::Entry& entry, const raft::ConfChange&) override {
    absl::MutexLock lock(&mu_);
    applied_ = entry.index;
    return absl::OkStatus();
  }
  absl::Status ApplyEmpty(const raft::Entry& entry) override {
    absl::MutexLock lock(&mu_);
    applied_ = entry.index;
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> WriteSnapshot(const std::string&,
                                         std::optional<raft::ChainHash>*) override {
    return absl::UnimplementedError("no snapshots in this test");
  }
  absl::Status RestoreSnapshot(const std::string&) override {
    return absl::UnimplementedError("no snapshots in this test");
  }

  bool WaitUntilHolding() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&holding_), absl::Seconds(10));
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }

 private:
  mutable absl::Mutex mu_;
  uint64_t applied_ ABSL_GUARDED_BY(mu_) = 0;
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

// What one ProposeAsync callback saw.
struct Outcome {
  absl::Mutex mu;
  int calls ABSL_GUARDED_BY(mu) = 0;
  absl::StatusOr<std::string> result ABSL_GUARDED_BY(mu) = std::string();
  std::string thread ABSL_GUARDED_BY(mu);
  absl::Notification first;

  RaftRuntime::ProposeDone Callback() {
    return [this](absl::StatusOr<std::string> r) {
      char name[32] = {};
      pthread_getname_np(pthread_self(), name, sizeof(name));
      absl::MutexLock lock(&mu);
      ++calls;
      result = std::move(r);
      thread = name;
      if (!first.HasBeenNotified()) first.Notify();
    };
  }
  // The result once called (NOT_FOUND-like error if not within 10 s).
  absl::StatusOr<std::string> Wait() {
    if (!first.WaitForNotificationWithTimeout(absl::Seconds(10))) {
      return absl::InternalError("the callback never came");
    }
    absl::MutexLock lock(&mu);
    return result;
  }
  int Calls() {
    absl::MutexLock lock(&mu);
    return calls;
  }
  std::string Thread() {
    absl::MutexLock lock(&mu);
    return thread;
  }
};

class ProposeAsyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(raft::Raft::Bootstrap(&storage_, {1}).ok());
    RaftRuntimeOptions options;
    options.raft.id = 1;
    options.raft.election_ticks = 10;
    options.raft.random_seed = 1;
    options.tick = absl::Milliseconds(10);
    runtime_ = std::make_unique<RaftRuntime>(options, &storage_, &machine_, &transport_);
    ASSERT_TRUE(runtime_->Start().ok());
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (runtime_->leader() != 1 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_EQ(runtime_->leader(), 1u);
  }
  void TearDown() override {
    machine_.Release();
    runtime_->Stop();
  }

  raft::MemoryLogStorage storage_;
  DroppingTransport transport_;
  GatedStateMachine machine_;
  std::unique_ptr<RaftRuntime> runtime_;
};

TEST_F(ProposeAsyncTest, TheResultComesOnceOnTheReplyThread) {
  Outcome outcome;
  runtime_->ProposeAsync("m1", absl::Now() + absl::Seconds(10), outcome.Callback());
  absl::StatusOr<std::string> result = outcome.Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, "result:m1");
  EXPECT_EQ(outcome.Thread(), "qbox-reply");
  absl::SleepFor(absl::Milliseconds(100));  // several ticks: no second call
  EXPECT_EQ(outcome.Calls(), 1);
}

TEST_F(ProposeAsyncTest, TheDeadlineIsKeptWhileApplyingIsStuckAndTheLateResultIsDropped) {
  Outcome held;
  Outcome behind;
  runtime_->ProposeAsync("hold", absl::Now() + absl::Seconds(30), held.Callback());
  ASSERT_TRUE(machine_.WaitUntilHolding());
  const absl::Time start = absl::Now();
  runtime_->ProposeAsync("m2", start + absl::Milliseconds(200), behind.Callback());
  absl::StatusOr<std::string> result = behind.Wait();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
  EXPECT_NE(result.status().message().find("before the deadline"), std::string::npos);
  // Kept within a few ticks of the deadline, not when applying resumes.
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(held.Calls(), 0);

  machine_.Release();
  result = held.Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, "result:hold");
  const absl::Time applied_deadline = absl::Now() + absl::Seconds(10);
  while (runtime_->applied_index() < 3 && absl::Now() < applied_deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(behind.Calls(), 1);  // the entry applied later, but answered once
}

TEST_F(ProposeAsyncTest, StoppingAnswersEveryPendingProposalOnce) {
  Outcome held;
  Outcome queued;
  runtime_->ProposeAsync("hold", absl::Now() + absl::Seconds(30), held.Callback());
  ASSERT_TRUE(machine_.WaitUntilHolding());
  runtime_->ProposeAsync("m2", absl::Now() + absl::Seconds(30), queued.Callback());
  std::thread stopper([this] { runtime_->Stop(); });
  absl::SleepFor(absl::Milliseconds(50));
  machine_.Release();  // the apply thread finishes what was committed
  stopper.join();
  // Stop returns only after every callback ran, each once: with its result
  // if the entry was applied before the threads ended, else UNAVAILABLE.
  EXPECT_EQ(held.Calls(), 1);
  EXPECT_EQ(queued.Calls(), 1);
  absl::StatusOr<std::string> result = queued.Wait();
  EXPECT_TRUE((result.ok() && *result == "result:m2") ||
              result.status().code() == absl::StatusCode::kUnavailable)
      << result.status();

  // After Stop, a proposal is refused at once, on the caller's thread.
  Outcome late;
  runtime_->ProposeAsync("m3", absl::Now() + absl::Seconds(30), late.Callback());
  EXPECT_EQ(late.Calls(), 1);
  EXPECT_EQ(late.Wait().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace qbox::server
