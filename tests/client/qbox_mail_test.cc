// Runs the real qbox-mail binary against a real three-site cluster of
// qbox-node processes (tests/cluster/local_cluster.h), as a user would:
// mailboxes, append, fetch, flag, expunge, the vault, restore, changes and
// quota; and bad input, which must exit non-zero with one stderr line that
// names the flag, file or mailbox at fault.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "qbox/admin_client.h"
#include "tests/cluster/local_cluster.h"

namespace qbox::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kAccount[] = "alice";

struct MailRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A private scratch directory, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "qbox_mail_test_XXXXXX").string();
    path_ = mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs qbox-mail with `args`, standard input from `stdin_text`, in
// directory `cwd` (empty: ours). Output goes to files, not pipes, so a
// chatty child never blocks on a full pipe while we wait for it.
MailRun RunQboxMail(const std::vector<std::string>& args, const std::string& stdin_text = "",
                    const std::string& cwd = "") {
  ScratchDir scratch;
  const std::string in_path = scratch.path() + "/stdin";
  const std::string out_path = scratch.path() + "/stdout";
  const std::string err_path = scratch.path() + "/stderr";
  std::ofstream(in_path, std::ios::binary) << stdin_text;
  std::vector<std::string> argv_storage = {QBOX_MAIL_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    dup2(open(in_path.c_str(), O_RDONLY), 0);
    dup2(open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    dup2(open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  MailRun run;
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
  }
  run.out = ReadAll(out_path);
  run.err = ReadAll(err_path);
  return run;
}

std::string Describe(const MailRun& run) {
  return absl::StrCat("exit ", run.exit_code, "\nstdout:\n", run.out, "stderr:\n", run.err);
}

// The contract for every failure: exactly one line on stderr.
int StderrLines(const MailRun& run) {
  return static_cast<int>(std::count(run.err.begin(), run.err.end(), '\n'));
}

class QboxMailTest : public ::testing::Test {
 protected:
  // One cluster for the whole suite: starting three processes and electing
  // a leader is the slow part. Each test uses its own mailboxes.
  static void SetUpTestSuite() {
    // Hermetic: no QBOX_* settings or context file of whoever runs the test.
    for (const char* name : {"QBOX_ENDPOINTS", "QBOX_CACERT", "QBOX_CERT", "QBOX_KEY",
                             "QBOX_ACCOUNT", "QBOX_TIMEOUT", "QBOX_CONTEXT", "QBOX_CONFIG"}) {
      unsetenv(name);
    }
    setenv("QBOX_CONFIG", "/nonexistent/qbox-mail-test/contexts.json", 1);
    auto created = LocalCluster::Create({});
    ASSERT_TRUE(created.ok()) << created.status();
    cluster_ = created->release();
    ASSERT_TRUE(cluster_->StartAll().ok());
    auto leader = cluster_->WaitForLeader(absl::Seconds(60));
    ASSERT_TRUE(leader.ok()) << leader.status() << "\n" << cluster_->LogTail(0);
    // Every node serving, so that the first command may land on any of them.
    absl::Status caught_up = cluster_->WaitCaughtUp(absl::Seconds(60));
    ASSERT_TRUE(caught_up.ok()) << caught_up;

    ClientOptions admin_options;
    admin_options.endpoints = cluster_->endpoints();
    admin_options.ca_bundle_file = cluster_->ca_bundle_path();
    admin_options.certificate_file = cluster_->cert_path(0, "admin");
    admin_options.private_key_file = cluster_->key_path(0, "admin");
    admin_options.default_timeout = absl::Seconds(30);
    auto admin = AdminClient::Open(admin_options);
    ASSERT_TRUE(admin.ok()) << admin.status();
    v1::CreateAccountRequest request;
    request.set_account(kAccount);
    auto account = (*admin)->CreateAccount(request);
    ASSERT_TRUE(account.ok()) << account.status();
  }

  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(cluster_, nullptr) << "the cluster did not start"; }

  void TearDown() override {
    if (HasFailure() && cluster_ != nullptr) {
      for (int i = 0; i < cluster_->size(); ++i) {
        std::cerr << "---- " << cluster_->site(i) << " log tail ----\n" << cluster_->LogTail(i, 30);
      }
    }
  }

  // `args` plus the connection flags of site-a's front end "t1", with
  // `replaced` flags given other values ("" drops the flag).
  static std::vector<std::string> Connected(
      std::vector<std::string> args, const std::map<std::string, std::string>& replaced = {}) {
    std::map<std::string, std::string> flags = {
        {"--endpoints", absl::StrJoin(cluster_->endpoints(), ",")},
        {"--cacert", cluster_->ca_bundle_path()},
        {"--cert", cluster_->cert_path(0, "frontend")},
        {"--key", cluster_->key_path(0, "frontend")},
        {"--account", kAccount},
        {"--timeout", "30s"}};
    for (const auto& [flag, value] : replaced) flags[flag] = value;
    for (const auto& [flag, value] : flags) {
      if (value.empty()) continue;
      args.push_back(flag);
      args.push_back(value);
    }
    return args;
  }

  // Runs a command that must succeed.
  static MailRun Ok(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    MailRun run = RunQboxMail(Connected(args), stdin_text);
    EXPECT_EQ(run.exit_code, 0) << absl::StrJoin(args, " ") << "\n" << Describe(run);
    return run;
  }

  // `fetch -o json` as parsed JSON (an array of messages).
  static nlohmann::json FetchJson(const std::string& mailbox, bool bodies = false) {
    std::vector<std::string> args = {"fetch", "--mailbox", mailbox, "-o", "json"};
    if (bodies) args.push_back("--bodies");
    MailRun run = Ok(args);
    return nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  }

  static std::vector<uint32_t> Uids(const nlohmann::json& messages) {
    std::vector<uint32_t> uids;
    for (const auto& m : messages) uids.push_back(m["uid"].get<uint32_t>());
    return uids;
  }

  static LocalCluster* cluster_;
};

LocalCluster* QboxMailTest::cluster_ = nullptr;

TEST_F(QboxMailTest, CreateAppendFetchFlagExpungeRestoreRoundTrip) {
  MailRun created = Ok({"mailbox", "create", "Archive"});
  EXPECT_THAT(created.out, HasSubstr("created mailbox Archive"));

  // Three ways to give a message: composed, from a file, from stdin.
  Ok({"append", "--mailbox", "Archive", "--subject", "first", "--body", "one"});
  ScratchDir scratch;
  const std::string file = scratch.path() + "/second.eml";
  const std::string second = "Subject: second\r\n\r\ntwo\r\n";
  std::ofstream(file, std::ios::binary) << second;
  Ok({"append", "--mailbox", "Archive", "--file", file, "--flag", "\\Flagged", "--flag", "Work"});
  MailRun third =
      Ok({"append", "--mailbox", "Archive", "--stdin"}, "Subject: third\r\n\r\nthree\r\n");
  EXPECT_THAT(third.out, HasSubstr("appended uid 3 to Archive"));

  nlohmann::json fetched = FetchJson("Archive", /*bodies=*/true);
  ASSERT_TRUE(fetched.is_array()) << fetched;
  EXPECT_THAT(Uids(fetched), ElementsAre(1, 2, 3));
  EXPECT_THAT(fetched[0]["body"].get<std::string>(),
              AllOf(HasSubstr("Subject: first\r\n"), HasSubstr("\r\n\r\none\r\n")));
  EXPECT_EQ(fetched[1]["body"].get<std::string>(), second);
  EXPECT_THAT(fetched[1]["flags"], ElementsAre("\\Flagged"));
  EXPECT_THAT(fetched[1]["keywords"], ElementsAre("Work"));

  MailRun flagged = Ok({"flag", "--mailbox", "Archive", "--uids", "1:2", "--add", "\\Seen"});
  EXPECT_THAT(flagged.out, HasSubstr("2 message(s) updated"));
  fetched = FetchJson("Archive");
  EXPECT_THAT(fetched[0]["flags"], ElementsAre("\\Seen"));
  EXPECT_THAT(fetched[1]["flags"], UnorderedElementsAre("\\Flagged", "\\Seen"));
  EXPECT_THAT(fetched[2]["flags"], ElementsAre());
  uint64_t modseq_before_expunge = 0;
  for (const auto& m : fetched) {
    modseq_before_expunge = std::max(modseq_before_expunge, m["modseq"].get<uint64_t>());
  }

  MailRun expunged = Ok({"expunge", "--mailbox", "Archive", "--uids", "2"});
  EXPECT_THAT(expunged.out, HasSubstr("expunged uid(s) 2 from Archive into vault entry"));
  EXPECT_THAT(Uids(FetchJson("Archive")), ElementsAre(1, 3));

  MailRun deleted = Ok({"deleted", "list", "-o", "json"});
  nlohmann::json vault = nlohmann::json::parse(deleted.out, nullptr, false);
  ASSERT_TRUE(vault.is_array()) << deleted.out;
  ASSERT_EQ(vault.size(), 1u) << deleted.out;
  EXPECT_EQ(vault[0]["kind"], "messages");
  EXPECT_EQ(vault[0]["mailbox"], "Archive");
  EXPECT_EQ(vault[0]["messages"], 1);
  const std::string vault_id = std::to_string(vault[0]["id"].get<uint64_t>());
  EXPECT_THAT(expunged.out, HasSubstr("vault entry " + vault_id));

  MailRun restored = Ok({"restore", vault_id});
  EXPECT_THAT(restored.out, HasSubstr("restored 1 message(s)"));
  // The restored message is back with a new UID and its original bytes.
  fetched = FetchJson("Archive", /*bodies=*/true);
  EXPECT_THAT(Uids(fetched), ElementsAre(1, 3, 4));
  EXPECT_EQ(fetched[2]["body"].get<std::string>(), second);

  MailRun changes = Ok({"changes", "--mailbox", "Archive", "--since",
                        std::to_string(modseq_before_expunge), "-o", "json"});
  nlohmann::json changed = nlohmann::json::parse(changes.out, nullptr, false);
  ASSERT_TRUE(changed.is_object()) << changes.out;
  EXPECT_THAT(changed["vanished"], ElementsAre(2));
  EXPECT_THAT(Uids(changed["changed"]), ElementsAre(4));

  MailRun quota = Ok({"quota", "-o", "json"});
  nlohmann::json usage = nlohmann::json::parse(quota.out, nullptr, false);
  ASSERT_TRUE(usage.is_object()) << quota.out;
  EXPECT_EQ(usage["used_messages"], 3);

  MailRun table = Ok({"fetch", "--mailbox", "Archive", "--uids", "4"});
  EXPECT_THAT(table.out, AllOf(HasSubstr("UID"), HasSubstr("\\Seen"), HasSubstr("\\Flagged"),
                               HasSubstr("Work")));
}

TEST_F(QboxMailTest, MailboxRenameDeleteAndRestoreAsAWhole) {
  Ok({"mailbox", "create", "Work"});
  Ok({"append", "--mailbox", "Work", "--subject", "plan", "--body", "ship it"});
  Ok({"mailbox", "rename", "Work", "Projects"});
  MailRun listed = Ok({"mailbox", "list"});
  EXPECT_THAT(listed.out, AllOf(HasSubstr("Projects"), Not(HasSubstr("Work"))));

  MailRun deleted = Ok({"mailbox", "delete", "Projects"});
  EXPECT_THAT(deleted.out, HasSubstr("deleted mailbox Projects into vault entry"));
  EXPECT_THAT(Ok({"mailbox", "list"}).out, Not(HasSubstr("Projects")));
  const std::string id = deleted.out.substr(deleted.out.find("vault entry ") + 12);
  Ok({"restore", id.substr(0, id.find(' '))});
  nlohmann::json mailboxes =
      nlohmann::json::parse(Ok({"mailbox", "list", "-o", "json"}).out, nullptr, false);
  bool found = false;
  for (const auto& m : mailboxes) {
    if (m["name"] == "Projects") {
      found = true;
      EXPECT_EQ(m["total"], 1);
    }
  }
  EXPECT_TRUE(found) << mailboxes;
}

TEST_F(QboxMailTest, ConnectionFromEnvironmentAndContextFileLikeQboxctl) {
  ScratchDir scratch;
  const std::string contexts = scratch.path() + "/contexts.json";
  nlohmann::json file = {{"current_context", "t1"},
                         {"contexts",
                          {{"t1",
                            {{"endpoints", absl::StrJoin(cluster_->endpoints(), ",")},
                             {"cacert", cluster_->ca_bundle_path()},
                             {"cert", cluster_->cert_path(0, "frontend")},
                             {"key", cluster_->key_path(0, "frontend")},
                             {"account", kAccount},
                             {"timeout", "30s"}}}}}};
  std::ofstream(contexts) << file.dump();
  setenv("QBOX_CONFIG", contexts.c_str(), 1);
  // The current context alone.
  MailRun listed = RunQboxMail({"mailbox", "list"});
  EXPECT_EQ(listed.exit_code, 0) << Describe(listed);
  EXPECT_THAT(listed.out, HasSubstr("INBOX"));
  // A variable beats the context, and the line beats the variable.
  setenv("QBOX_ENDPOINTS", "127.0.0.1:1", 1);
  MailRun unreachable = RunQboxMail({"mailbox", "list", "--timeout", "2s"});
  EXPECT_NE(unreachable.exit_code, 0) << Describe(unreachable);
  EXPECT_EQ(StderrLines(unreachable), 1) << unreachable.err;
  MailRun line =
      RunQboxMail({"mailbox", "list", "--endpoints", absl::StrJoin(cluster_->endpoints(), ",")});
  EXPECT_EQ(line.exit_code, 0) << Describe(line);
  unsetenv("QBOX_ENDPOINTS");
  MailRun unknown = RunQboxMail({"mailbox", "list", "--context", "nope"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("--context: no context 'nope' in " + contexts));
  EXPECT_EQ(StderrLines(unknown), 1) << unknown.err;
  setenv("QBOX_CONFIG", "/nonexistent/qbox-mail-test/contexts.json", 1);
}

TEST_F(QboxMailTest, MissingCertificateFileIsNamedByFlagAndPath) {
  MailRun run = RunQboxMail(Connected({"mailbox", "list"}, {{"--cert", "/nonexistent/imap.crt"}}));
  EXPECT_EQ(run.exit_code, 2) << Describe(run);
  EXPECT_THAT(run.err, AllOf(HasSubstr("--cert /nonexistent/imap.crt"), HasSubstr("no such file")));
  EXPECT_EQ(StderrLines(run), 1) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST_F(QboxMailTest, BadUidSetIsRefusedBeforeConnecting) {
  // An unreachable endpoint: the refusal must not depend on the cluster.
  MailRun run =
      RunQboxMail(Connected({"flag", "--mailbox", "INBOX", "--uids", "1-3", "--add", "\\Seen"},
                            {{"--endpoints", "127.0.0.1:1"}}));
  EXPECT_EQ(run.exit_code, 2) << Describe(run);
  EXPECT_THAT(run.err, AllOf(HasSubstr("--uids"), HasSubstr("'1-3' is not a UID set"),
                             HasSubstr("offset 1")));
  EXPECT_EQ(StderrLines(run), 1) << run.err;
}

TEST_F(QboxMailTest, UnknownMailboxIsNamedAndChangesNothing) {
  MailRun fetch = RunQboxMail(Connected({"fetch", "--mailbox", "Nope"}));
  EXPECT_EQ(fetch.exit_code, 1) << Describe(fetch);
  EXPECT_THAT(fetch.err, AllOf(HasSubstr("qbox-mail fetch: NOT_FOUND"), HasSubstr("\"Nope\"")));
  EXPECT_EQ(fetch.out, "") << "no table header before an error";
  EXPECT_EQ(StderrLines(fetch), 1) << fetch.err;

  MailRun append =
      RunQboxMail(Connected({"append", "--mailbox", "Nope", "--subject", "lost", "--body", "x"}));
  EXPECT_EQ(append.exit_code, 1) << Describe(append);
  EXPECT_THAT(append.err, AllOf(HasSubstr("NOT_FOUND"), HasSubstr("\"Nope\"")));
  EXPECT_THAT(Ok({"mailbox", "list"}).out, Not(HasSubstr("Nope")));
}

TEST_F(QboxMailTest, CommandLineMistakesAreNamed) {
  MailRun no_source = RunQboxMail(Connected({"append", "--mailbox", "INBOX"}));
  EXPECT_EQ(no_source.exit_code, 2) << Describe(no_source);
  EXPECT_THAT(no_source.err, AllOf(HasSubstr("--file"), HasSubstr("--stdin")));

  MailRun missing_file =
      RunQboxMail(Connected({"append", "--mailbox", "INBOX", "--file", "/no/such"}));
  EXPECT_EQ(missing_file.exit_code, 2) << Describe(missing_file);
  EXPECT_THAT(missing_file.err, HasSubstr("--file /no/such"));

  MailRun no_account = RunQboxMail(Connected({"quota"}, {{"--account", ""}}));
  EXPECT_EQ(no_account.exit_code, 2) << Describe(no_account);
  EXPECT_THAT(no_account.err, HasSubstr("--account: required"));

  // --dev outside the repository names the file it looked for and where.
  ScratchDir elsewhere;
  MailRun dev = RunQboxMail({"quota", "--dev", "--account", kAccount}, "", elsewhere.path());
  EXPECT_EQ(dev.exit_code, 2) << Describe(dev);
  EXPECT_THAT(dev.err, AllOf(HasSubstr("--dev: .dev-cluster/ca-bundle.crt not found"),
                             HasSubstr(elsewhere.path())));
  EXPECT_EQ(StderrLines(dev), 1) << dev.err;

  MailRun no_command = RunQboxMail({"mailbox"});
  EXPECT_EQ(no_command.exit_code, 2) << Describe(no_command);
  EXPECT_THAT(no_command.err, HasSubstr("missing command"));
}

}  // namespace
}  // namespace qbox::testing
