#include "ctl/connection_settings.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace qbox::ctl {
namespace {

using json = nlohmann::json;

// Each setting with its JSON key in the context file and its variable.
struct Field {
  const char* key;
  const char* variable;
  std::string ConnectionSettings::*member;
};
const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = {
      {"endpoints", "QBOX_ENDPOINTS", &ConnectionSettings::endpoints},
      {"cacert", "QBOX_CACERT", &ConnectionSettings::cacert},
      {"cluster", "QBOX_CLUSTER", &ConnectionSettings::cluster},
      {"cert", "QBOX_CERT", &ConnectionSettings::cert},
      {"key", "QBOX_KEY", &ConnectionSettings::key},
      {"site_dir", "QBOX_SITE_DIR", &ConnectionSettings::site_dir},
      {"admin", "QBOX_ADMIN", &ConnectionSettings::admin},
      {"account", "QBOX_ACCOUNT", &ConnectionSettings::account},
      {"timeout", "QBOX_TIMEOUT", &ConnectionSettings::timeout},
  };
  return fields;
}

bool HasCredentials(const ConnectionSettings& s) {
  return !s.cert.empty() || !s.key.empty() || !s.site_dir.empty() || !s.admin.empty();
}

bool IsNameCharacter(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '.' || c == '_' || c == '-');
}

}  // namespace

bool ConnectionSettings::operator==(const ConnectionSettings& other) const {
  for (const Field& f : Fields()) {
    if (this->*f.member != other.*f.member) return false;
  }
  return true;
}

void FillUnset(ConnectionSettings* into, const ConnectionSettings& from) {
  const bool take_credentials = !HasCredentials(*into);
  for (const Field& f : Fields()) {
    std::string& mine = into->*f.member;
    const bool credential =
        f.member == &ConnectionSettings::cert || f.member == &ConnectionSettings::key ||
        f.member == &ConnectionSettings::site_dir || f.member == &ConnectionSettings::admin;
    if (credential ? take_credentials : mine.empty()) {
      if (mine.empty()) mine = from.*f.member;
    }
  }
}

EnvironmentLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

ConnectionSettings SettingsFromEnvironment(const EnvironmentLookup& env) {
  ConnectionSettings settings;
  for (const Field& f : Fields()) {
    if (std::optional<std::string> value = env(f.variable)) settings.*f.member = *value;
  }
  return settings;
}

std::string ContextFilePath(const EnvironmentLookup& env) {
  if (std::optional<std::string> path = env("QBOX_CONFIG"); path && !path->empty()) return *path;
  if (std::optional<std::string> xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty()) {
    return *xdg + "/quorumbox/contexts.json";
  }
  if (std::optional<std::string> home = env("HOME"); home && !home->empty()) {
    return *home + "/.config/quorumbox/contexts.json";
  }
  return "";
}

absl::Status ValidateContextName(const std::string& name, const std::string& field) {
  bool ok = !name.empty() && name.size() <= 63;
  for (size_t i = 0; ok && i < name.size(); ++i) ok = IsNameCharacter(name[i], i == 0);
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": '", name, "' is not a context name ([a-z0-9][a-z0-9._-]{0,62})"));
}

absl::StatusOr<ContextFile> LoadContextFile(const std::string& path) {
  ContextFile file;
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return file;
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::PermissionDeniedError(absl::StrCat("cannot read context file ", path));
  std::stringstream text;
  text << in.rdbuf();
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("context file ", path, ": ", why));
  };
  json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return bad("is not a JSON object");
  for (const auto& [key, value] : doc.items()) {
    if (key == "current_context") {
      if (!value.is_string()) return bad("current_context must be a string");
      file.current = value.get<std::string>();
    } else if (key == "contexts") {
      if (!value.is_object()) return bad("contexts must be an object of named contexts");
      for (const auto& [name, context] : value.items()) {
        if (absl::Status valid = ValidateContextName(name, "contexts"); !valid.ok()) {
          return bad(std::string(valid.message()));
        }
        if (!context.is_object()) return bad(absl::StrCat("context ", name, " is not an object"));
        ConnectionSettings settings;
        for (const auto& [field, text_value] : context.items()) {
          const Field* known = nullptr;
          for (const Field& f : Fields()) {
            if (field == f.key) known = &f;
          }
          if (known == nullptr) return bad(absl::StrCat("context ", name, ": unknown key ", field));
          if (!text_value.is_string()) {
            return bad(absl::StrCat("context ", name, ": ", field, " must be a string"));
          }
          settings.*(known->member) = text_value.get<std::string>();
        }
        file.contexts[name] = settings;
      }
    } else {
      return bad(absl::StrCat("unknown key ", key, " (expected current_context, contexts)"));
    }
  }
  if (!file.current.empty() && file.contexts.count(file.current) == 0) {
    return bad(absl::StrCat("current_context ", file.current, " is not one of its contexts"));
  }
  return file;
}

absl::Status SaveContextFile(const std::string& path, const ContextFile& file) {
  json doc = {{"current_context", file.current}, {"contexts", json::object()}};
  for (const auto& [name, settings] : file.contexts) {
    json context = json::object();
    for (const Field& f : Fields()) {
      if (!(settings.*f.member).empty()) context[f.key] = settings.*f.member;
    }
    doc["contexts"][name] = context;
  }
  std::filesystem::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", target.parent_path().string(), ": ", ec.message()));
  }
  // Written next to the target and renamed over it, so a reader sees the
  // old file or the new one, never half of one.
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", temporary));
    std::filesystem::permissions(
        temporary, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    out << doc.dump(2) << "\n";
    if (!out.flush()) return absl::DataLossError(absl::StrCat("cannot write ", temporary));
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat("cannot replace ", path, ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<ConnectionSettings> FallbackSettings(const std::string& context_flag,
                                                    const EnvironmentLookup& env) {
  ConnectionSettings settings = SettingsFromEnvironment(env);
  const std::string path = ContextFilePath(env);
  absl::StatusOr<ContextFile> file = LoadContextFile(path);
  if (!file.ok()) return file.status();
  std::string chosen = context_flag, source = "--context";
  if (chosen.empty()) {
    if (std::optional<std::string> variable = env("QBOX_CONTEXT"); variable && !variable->empty()) {
      chosen = *variable;
      source = "QBOX_CONTEXT";
    }
  }
  if (chosen.empty()) chosen = file->current;
  if (chosen.empty()) return settings;
  auto it = file->contexts.find(chosen);
  if (it == file->contexts.end()) {
    return absl::NotFoundError(absl::StrCat(source, ": no context '", chosen, "' in ",
                                            path.empty() ? "(no context file)" : path,
                                            "; list them with 'qboxctl context list'"));
  }
  FillUnset(&settings, it->second);
  return settings;
}

}  // namespace qbox::ctl
