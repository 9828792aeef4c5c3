// qbox-node's log: one line per event on stderr, through spdlog. The lines
// read as a narrative of what happened and why ("became leader for term 7
// with votes from ..."); --log-format=json writes each as one JSON object
// per line for log shippers, with the same message:
//
//   text  2026-12-07T22:11:01.695Z site-a/qbox-0 storage is empty; ...
//   json  {"time":"2026-12-07T22:11:01.695Z","level":"info","site":"site-a",
//          "node":"qbox-0","msg":"storage is empty; ..."}
//
// Times are UTC with milliseconds. Every line is flushed as it is written,
// so nothing is lost when the process is killed or aborts.
#ifndef QBOX_NODE_SERVER_NODE_LOG_H_
#define QBOX_NODE_SERVER_NODE_LOG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qbox::server {

enum class LogFormat { kText, kJson };
enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "text" or "json"; INVALID_ARGUMENT naming --log-format otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text);
// "debug", "info", "warning" or "error"; INVALID_ARGUMENT naming
// --log-level otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text);

// Sets up the process's node log: which node writes it (site, name; empty
// before the options are parsed), the format, and the lowest level written.
// Until called, lines are written as text at level info with no node name.
void ConfigureNodeLog(const std::string& site, const std::string& name, LogFormat format,
                      LogLevel level);

// One line at the given level. Thread-safe.
void LogDebug(absl::string_view message);
void LogInfo(absl::string_view message);
void LogWarning(absl::string_view message);
void LogError(absl::string_view message);
// Written at level critical, never filtered out: what the process says
// just before it stops.
void LogFatal(absl::string_view message);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_NODE_LOG_H_
