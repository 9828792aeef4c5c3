#include "node/server/node_log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace qbox::server {
namespace {

// Appends `text` as the inside of a JSON string (RFC 8259 escapes).
void AppendJsonEscaped(absl::string_view text, spdlog::memory_buf_t* dest) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    switch (c) {
      case '"':
        dest->append(absl::string_view("\\\""));
        break;
      case '\\':
        dest->append(absl::string_view("\\\\"));
        break;
      case '\n':
        dest->append(absl::string_view("\\n"));
        break;
      case '\r':
        dest->append(absl::string_view("\\r"));
        break;
      case '\t':
        dest->append(absl::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          const char escaped[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
          dest->append(escaped, escaped + sizeof(escaped));
        } else {
          dest->push_back(c);
        }
    }
  }
}

// %* in a pattern: the message, escaped for a JSON string.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    AppendJsonEscaped(absl::string_view(msg.payload.data(), msg.payload.size()), &dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// A pattern holds % as its escape character; names never contain one, but
// a literal must not become a flag.
std::string PatternLiteral(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%')
      out += "%%";
    else
      out.push_back(c);
  }
  return out;
}

std::string JsonLiteral(absl::string_view text) {
  spdlog::memory_buf_t buffer;
  AppendJsonEscaped(text, &buffer);
  return PatternLiteral(absl::string_view(buffer.data(), buffer.size()));
}

std::unique_ptr<spdlog::formatter> MakeFormatter(const std::string& site, const std::string& name,
                                                 LogFormat format) {
  constexpr char kTime[] = "%Y-%m-%dT%H:%M:%S.%eZ";
  std::string pattern;
  if (format == LogFormat::kJson) {
    pattern =
        absl::StrCat("{\"time\":\"", kTime, "\",\"level\":\"%l\",\"site\":\"", JsonLiteral(site),
                     "\",\"node\":\"", JsonLiteral(name), "\",\"msg\":\"%*\"}");
  } else {
    const std::string who = site.empty() && name.empty() ? "qbox-node" : site + "/" + name;
    pattern = absl::StrCat(kTime, " ", PatternLiteral(who), " %v");
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>(
      pattern, spdlog::pattern_time_type::utc, std::string("\n"));
  formatter->add_flag<JsonMessageFlag>('*');
  formatter->set_pattern(pattern);
  return formatter;
}

std::mutex& ConfigMutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger>* logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto made = std::make_shared<spdlog::logger>("qbox-node", sink);
    made->set_formatter(MakeFormatter("", "", LogFormat::kText));
    made->set_level(spdlog::level::info);
    made->flush_on(spdlog::level::trace);
    return new std::shared_ptr<spdlog::logger>(std::move(made));
  }();
  return *logger;
}

spdlog::level::level_enum SpdlogLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarning:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

void Write(spdlog::level::level_enum level, absl::string_view message) {
  Logger()->log(level, spdlog::string_view_t(message.data(), message.size()));
}

}  // namespace

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--log-format: '", text, "' is not one of text, json"));
}

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warning") return LogLevel::kWarning;
  if (text == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("--log-level: '", text, "' is not one of debug, info, warning, error"));
}

void ConfigureNodeLog(const std::string& site, const std::string& name, LogFormat format,
                      LogLevel level) {
  std::lock_guard<std::mutex> lock(ConfigMutex());
  Logger()->set_formatter(MakeFormatter(site, name, format));
  Logger()->set_level(SpdlogLevel(level));
}

void LogDebug(absl::string_view message) { Write(spdlog::level::debug, message); }
void LogInfo(absl::string_view message) { Write(spdlog::level::info, message); }
void LogWarning(absl::string_view message) { Write(spdlog::level::warn, message); }
void LogError(absl::string_view message) { Write(spdlog::level::err, message); }

void LogFatal(absl::string_view message) {
  // Critical lines pass any level filter (error is the highest a user sets).
  Write(spdlog::level::critical, message);
}

}  // namespace qbox::server
