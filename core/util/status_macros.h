// File: core/util/status_macros.h
// RETURN_IF_ERROR and ASSIGN_OR_RETURN for absl::Status / absl::StatusOr.
// Abseil 20220623 (Debian 12) ships no status macros; these follow the usual
// Google spelling so that they can be swapped for Abseil's own later.
#ifndef MODELSERVER_CORE_UTIL_STATUS_MACROS_H_
#define MODELSERVER_CORE_UTIL_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function if it is not OK.
#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    ::absl::Status modelserver_status_ = (expr);               \
    if (!modelserver_status_.ok()) return modelserver_status_; \
  } while (0)

#define MODELSERVER_CONCAT_INNER_(a, b) a##b
#define MODELSERVER_CONCAT_(a, b) MODELSERVER_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`, which may be a
// declaration (`auto x`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, rexpr)  \
  MODELSERVER_ASSIGN_OR_RETURN_IMPL_( \
      MODELSERVER_CONCAT_(modelserver_statusor_, __LINE__), lhs, rexpr)

#define MODELSERVER_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                       \
  if (!statusor.ok()) return std::move(statusor).status();       \
  lhs = std::move(statusor).value()

#endif  // MODELSERVER_CORE_UTIL_STATUS_MACROS_H_
