// The two status-propagation macros that abseil 20220623 lacks. Defined once
// here and used everywhere (CONVENTIONS.md: one error type, no exceptions).
#ifndef QBOX_NODE_COMMON_STATUS_MACROS_H_
#define QBOX_NODE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define QBOX_STATUS_CONCAT_INNER_(a, b) a##b
#define QBOX_STATUS_CONCAT_(a, b) QBOX_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function if it is not OK.
#define RETURN_IF_ERROR(expr)                   \
  do {                                          \
    ::absl::Status qbox_status_ = (expr);       \
    if (!qbox_status_.ok()) return qbox_status_; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise moves the value into `lhs`, which may
// be a declaration (`auto x`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, expr) \
  QBOX_ASSIGN_OR_RETURN_IMPL_(QBOX_STATUS_CONCAT_(qbox_statusor_, __LINE__), lhs, expr)

#define QBOX_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // QBOX_NODE_COMMON_STATUS_MACROS_H_
