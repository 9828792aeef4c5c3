#include "ctl/context_commands.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {
namespace {

struct OpenFile {
  std::string path;
  ContextFile file;
};

absl::StatusOr<OpenFile> Open() {
  OpenFile open;
  open.path = ContextFilePath(ProcessEnvironment());
  if (open.path.empty()) {
    return absl::FailedPreconditionError(
        "no context file: set QBOX_CONFIG to its path, or HOME or XDG_CONFIG_HOME");
  }
  ASSIGN_OR_RETURN(open.file, LoadContextFile(open.path));
  return open;
}

absl::Status RequireContext(const OpenFile& open, const std::string& name) {
  RETURN_IF_ERROR(ValidateContextName(name, "NAME"));
  if (open.file.contexts.count(name) != 0) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat("NAME: no context '", name, "' in ", open.path,
                                          "; list them with 'qboxctl context list'"));
}

std::string Absolute(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

std::string Credentials(const ConnectionSettings& s) {
  if (!s.site_dir.empty()) return absl::StrCat(s.site_dir, " admin ", s.admin);
  if (!s.cert.empty()) return s.cert;
  return "-";
}

}  // namespace

void AddContextCommands(CLI::App* root, CommandRunner* runner) {
  CLI::App* context = root->add_subcommand(
      "context",
      "Named connection settings (endpoints, CA, credentials) in the context file "
      "(QBOX_CONFIG, else ~/.config/quorumbox/contexts.json), chosen with --context or "
      "QBOX_CONTEXT, else the current one");

  auto list = std::make_shared<ContextOptions>();
  CLI::App* list_cmd = context->add_subcommand("list", "List the contexts; * marks the current");
  AddOutputFlag(list_cmd, &list->format);
  list_cmd->callback([runner, list] { runner->Select([list] { return RunContextList(*list); }); });

  auto use = std::make_shared<ContextOptions>();
  CLI::App* use_cmd = context->add_subcommand("use", "Make a context the current one");
  use_cmd->add_option("NAME", use->name, "The context")->required();
  use_cmd->callback([runner, use] { runner->Select([use] { return RunContextUse(*use); }); });

  auto set = std::make_shared<ContextOptions>();
  CLI::App* set_cmd = context->add_subcommand(
      "set", "Create or replace a context from the connection flags given with it");
  set_cmd->add_option("NAME", set->name, "The context")->required();
  AddConnectionFlags(set_cmd, &set->settings);
  set_cmd->callback([runner, set] { runner->Select([set] { return RunContextSet(*set); }); });

  auto remove = std::make_shared<ContextOptions>();
  CLI::App* delete_cmd = context->add_subcommand("delete", "Remove a context");
  delete_cmd->add_option("NAME", remove->name, "The context")->required();
  delete_cmd->callback(
      [runner, remove] { runner->Select([remove] { return RunContextDelete(*remove); }); });
}

absl::Status RunContextList(const ContextOptions& options) {
  ASSIGN_OR_RETURN(OpenFile open, Open());
  if (options.format == OutputFormat::kJson) {
    nlohmann::json out = {{"file", open.path},
                          {"current_context", open.file.current},
                          {"contexts", nlohmann::json::array()}};
    for (const auto& [name, s] : open.file.contexts) {
      out["contexts"].push_back({{"name", name},
                                 {"current", name == open.file.current},
                                 {"endpoints", s.endpoints},
                                 {"cluster", s.cluster},
                                 {"cacert", s.cacert},
                                 {"cert", s.cert},
                                 {"key", s.key},
                                 {"site_dir", s.site_dir},
                                 {"admin", s.admin},
                                 {"timeout", s.timeout}});
    }
    std::cout << out.dump(2) << "\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  auto or_dash = [](const std::string& v) { return v.empty() ? std::string("-") : v; };
  for (const auto& [name, s] : open.file.contexts) {
    rows.push_back({name == open.file.current ? "*" : "", name, or_dash(s.endpoints),
                    or_dash(s.cluster.empty() ? s.cacert : s.cluster), Credentials(s)});
  }
  PrintTable(std::cout, {"CURRENT", "NAME", "ENDPOINTS", "CLUSTER/CACERT", "CREDENTIALS"}, rows);
  return absl::OkStatus();
}

absl::Status RunContextUse(const ContextOptions& options) {
  ASSIGN_OR_RETURN(OpenFile open, Open());
  RETURN_IF_ERROR(RequireContext(open, options.name));
  open.file.current = options.name;
  RETURN_IF_ERROR(SaveContextFile(open.path, open.file));
  std::cout << "current context: " << options.name << " (" << open.path << ")\n";
  return absl::OkStatus();
}

absl::Status RunContextSet(const ContextOptions& options) {
  RETURN_IF_ERROR(ValidateContextName(options.name, "NAME"));
  ConnectionSettings s = ToSettings(options.settings);
  if (s == ConnectionSettings{}) {
    return absl::InvalidArgumentError(
        "--endpoints: no connection flags given; pass what the context should hold, e.g. "
        "--cluster FILE --site-dir DIR --admin NAME");
  }
  for (std::string* path : {&s.cacert, &s.cluster, &s.cert, &s.key, &s.site_dir}) {
    *path = Absolute(*path);
  }
  if (!s.timeout.empty()) {
    absl::Duration timeout;
    if (!absl::ParseDuration(s.timeout, &timeout) || timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--timeout: '", s.timeout, "' is not a positive duration like 5s, 500ms or 1m"));
    }
  }
  ASSIGN_OR_RETURN(OpenFile open, Open());
  const bool replaced = open.file.contexts.count(options.name) != 0;
  open.file.contexts[options.name] = s;
  if (open.file.current.empty()) open.file.current = options.name;
  RETURN_IF_ERROR(SaveContextFile(open.path, open.file));
  std::cout << (replaced ? "replaced" : "created") << " context " << options.name << " in "
            << open.path << (open.file.current == options.name ? " (current)" : "") << "\n";
  return absl::OkStatus();
}

absl::Status RunContextDelete(const ContextOptions& options) {
  ASSIGN_OR_RETURN(OpenFile open, Open());
  RETURN_IF_ERROR(RequireContext(open, options.name));
  open.file.contexts.erase(options.name);
  if (open.file.current == options.name) open.file.current.clear();
  RETURN_IF_ERROR(SaveContextFile(open.path, open.file));
  std::cout << "deleted context " << options.name << "\n";
  return absl::OkStatus();
}

}  // namespace qbox::ctl
