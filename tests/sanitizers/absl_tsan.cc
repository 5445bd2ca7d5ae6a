// ThreadSanitizer builds only (MODELSERVER_SANITIZE=thread): makes TSan see
// Abseil's Mutex, CondVar and Notification, which live in Debian's
// uninstrumented libabsl_synchronization.so and are used by our code and by
// gRPC (grpc_core::Mutex is an absl::Mutex). Without this, every access that
// an absl::Mutex protects looks like a data race to TSan.
//
// Each public lock/unlock/wait entry point is defined here again, so that
// the executable's definition interposes the library's for every caller
// (our code, gRPC, and Abseil itself through its PLT; the executable exports
// these symbols, see tests/sanitizers/CMakeLists.txt). Each one calls the
// library's own function (dlsym RTLD_NEXT) between the __tsan_mutex_*
// annotations that Abseil itself makes when it is built with TSan
// (absl/synchronization/mutex.cc): lock = acquire after the real lock,
// unlock = release before the real unlock, CondVar/Await = unlock + lock.
// Notification additionally releases on Notify and acquires when a wait
// returns notified, on the address of its flag, which the inline
// HasBeenNotified() loads with acquire ordering in instrumented code.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#define MS_STR2(x) #x
#define MS_STR(x) MS_STR2(x)

namespace {

// The library's definition of the member function whose Itanium mangled
// name is "_ZN" ("_ZNK" if `rest` starts with 'K' for a const member) +
// "4absl<ns>" (ns = Abseil's inline namespace) + `rest`.
template <typename F>
F Real(const char* rest) {
  const std::string ns = MS_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const bool is_const = rest[0] == 'K';
  const std::string name = std::string(is_const ? "_ZNK" : "_ZN") + "4absl" +
                           std::to_string(ns.size()) + ns +
                           (is_const ? rest + 1 : rest);
  void* fn = dlsym(RTLD_NEXT, name.c_str());
  if (fn == nullptr) {
    std::fprintf(stderr, "absl_tsan: %s not found\n", name.c_str());
    std::abort();
  }
  return reinterpret_cast<F>(fn);
}

#define REAL(type, rest)                          \
  static const auto real = Real<type>(rest)

// Mutex's only member is std::atomic<intptr_t> mu_; kMuWriter is 0x8
// (absl/synchronization/mutex.cc). Read to know how a CondVar's mutex is held.
static_assert(sizeof(absl::Mutex) == sizeof(std::atomic<intptr_t>));
unsigned HeldFlags(absl::Mutex* mu) {
  const intptr_t v = reinterpret_cast<std::atomic<intptr_t>*>(mu)->load(
      std::memory_order_relaxed);
  return (v & 0x8) != 0 ? 0 : __tsan_mutex_read_lock;
}

void AnnotateUnlock(void* mu, unsigned flags) {
  __tsan_mutex_pre_unlock(mu, flags);
  __tsan_mutex_post_unlock(mu, flags);
}

void AnnotateLock(void* mu, unsigned flags) {
  __tsan_mutex_pre_lock(mu, flags);
  __tsan_mutex_post_lock(mu, flags, 0);
}

// Notification is { Mutex mutex_; std::atomic<bool> notified_yet_; }.
static_assert(sizeof(absl::Notification) == 2 * sizeof(absl::Mutex));
void* FlagOf(const absl::Notification* n) {
  return const_cast<char*>(reinterpret_cast<const char*>(n)) +
         sizeof(absl::Mutex);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

// Not annotated as a destroy: gRPC frees its mutexes after lock-free
// reference counting that TSan cannot see, so the destroy's write would be
// reported as racing with the last Lock() (stacks only in libgrpc). TSan
// forgets the mutex when its memory is freed.
Mutex::~Mutex() {
  REAL(void (*)(Mutex*), "5MutexD2Ev");
  real(this);
}

void Mutex::Lock() {
  REAL(void (*)(Mutex*), "5Mutex4LockEv");
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLock() {
  REAL(void (*)(Mutex*), "5Mutex10ReaderLockEv");
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
}

bool Mutex::TryLock() {
  REAL(bool (*)(Mutex*), "5Mutex7TryLockEv");
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  const bool locked = real(this);
  __tsan_mutex_post_lock(
      this, __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed),
      0);
  return locked;
}

bool Mutex::ReaderTryLock() {
  REAL(bool (*)(Mutex*), "5Mutex13ReaderTryLockEv");
  const unsigned flags = __tsan_mutex_read_lock | __tsan_mutex_try_lock;
  __tsan_mutex_pre_lock(this, flags);
  const bool locked = real(this);
  __tsan_mutex_post_lock(
      this, flags | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

void Mutex::Unlock() {
  REAL(void (*)(Mutex*), "5Mutex6UnlockEv");
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderUnlock() {
  REAL(void (*)(Mutex*), "5Mutex12ReaderUnlockEv");
  __tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_unlock(this, __tsan_mutex_read_lock);
}

void Mutex::LockWhen(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&), "5Mutex8LockWhenERKNS0_9ConditionE");
  __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  __tsan_mutex_post_lock(this, 0, 0);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&),
       "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  real(this, cond);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
}

// The *WithDeadline forms return with the mutex held whether or not the
// condition became true. The library's Mutex::*WithTimeout and
// CondVar::WaitWithTimeout call these through its PLT (checked with objdump
// on Debian's 20220623 build), so they are not defined here: they would be
// annotated twice.
bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, Time),
       "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  __tsan_mutex_pre_lock(this, 0);
  const bool met = real(this, cond, deadline);
  __tsan_mutex_post_lock(this, 0, 0);
  return met;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, Time),
       "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  const bool met = real(this, cond, deadline);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
  return met;
}

void Mutex::Await(const Condition& cond) {
  REAL(void (*)(Mutex*, const Condition&), "5Mutex5AwaitERKNS0_9ConditionE");
  const unsigned flags = HeldFlags(this);
  AnnotateUnlock(this, flags);
  real(this, cond);
  AnnotateLock(this, flags);
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  REAL(bool (*)(Mutex*, const Condition&, Time),
       "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  const unsigned flags = HeldFlags(this);
  AnnotateUnlock(this, flags);
  const bool met = real(this, cond, deadline);
  AnnotateLock(this, flags);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  REAL(void (*)(CondVar*, Mutex*), "7CondVar4WaitEPNS0_5MutexE");
  const unsigned flags = HeldFlags(mu);
  AnnotateUnlock(mu, flags);
  real(this, mu);
  AnnotateLock(mu, flags);
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  REAL(bool (*)(CondVar*, Mutex*, Time),
       "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  const unsigned flags = HeldFlags(mu);
  AnnotateUnlock(mu, flags);
  const bool timed_out = real(this, mu, deadline);
  AnnotateLock(mu, flags);
  return timed_out;
}

void Notification::Notify() {
  REAL(void (*)(Notification*), "12Notification6NotifyEv");
  __tsan_release(FlagOf(this));
  real(this);
}

void Notification::WaitForNotification() const {
  REAL(void (*)(const Notification*), "K12Notification19WaitForNotificationEv");
  real(this);
  __tsan_acquire(FlagOf(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  REAL(bool (*)(const Notification*, Duration),
       "K12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(FlagOf(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  REAL(bool (*)(const Notification*, Time),
       "K12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(FlagOf(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
