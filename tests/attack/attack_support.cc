#include "tests/attack/attack_support.h"

#include <cstdio>
#include <fstream>

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/guard/audit_chain.h"
#include "node/guard/credential_directory.h"
#include "node/guard/peer_identity.h"
#include "node/guard/proposal_rules.h"
#include "node/guard/signed_statement.h"
#include "qbox/client.h"
#include "qbox/v1/admin.grpc.pb.h"
#include "qbox/v1/command.pb.h"
#include "qbox/v1/raft.grpc.pb.h"

namespace qbox::attack {
namespace {

constexpr absl::Duration kRpcTimeout = absl::Seconds(10);

absl::Status FromGrpc(const grpc::Status& s, const std::string& where) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(where, ": ", s.error_message()));
}

void SetDeadline(grpc::ClientContext* ctx, absl::Duration timeout = kRpcTimeout) {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

std::unique_ptr<v1::Admin::Stub> AdminOn(const LocalCluster& cluster, int node) {
  return v1::Admin::NewStub(cluster.Channel(node, "admin", node));
}

// Client options that talk to node i alone, as site i's front end.
ClientOptions FrontendOn(const LocalCluster& cluster, int node) {
  ClientOptions o;
  o.endpoints = {cluster.address(node)};
  o.ca_bundle_file = cluster.ca_bundle_path();
  o.certificate_file = cluster.cert_path(node, "frontend");
  o.private_key_file = cluster.key_path(node, "frontend");
  o.default_timeout = absl::Seconds(20);
  return o;
}

// Sends a write to the leader as `caller`, re-finding the leader while the
// answer is UNAVAILABLE (not the leader, or an election under way).
template <typename Call>
absl::Status OnLeader(const LocalCluster& cluster, const PemCredential& caller, Call call) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::Status last = absl::DeadlineExceededError("no leader found");
  while (absl::Now() < deadline) {
    absl::StatusOr<int> leader = cluster.WaitForLeader(absl::Seconds(5));
    if (!leader.ok()) {
      last = leader.status();
      continue;
    }
    auto stub = v1::Admin::NewStub(ChannelAs(cluster, *leader, caller));
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    absl::Status s = FromGrpc(call(*stub, &ctx), cluster.site(*leader));
    if (!absl::IsUnavailable(s)) return s;
    last = s;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return last;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) { return guard::ReadTextFile(path); }

}  // namespace

// ---------------------------------------------------------------- cluster

testing::LocalClusterOptions AttackClusterOptions() {
  testing::LocalClusterOptions o;
  o.tick_ms = 20;
  o.required_sites = 2;
  o.delay = "3s";
  o.proposal_ttl = "8s";
  o.checkpoint_every = 20;
  return o;
}

absl::StatusOr<std::unique_ptr<LocalCluster>> StartCluster(testing::LocalClusterOptions options) {
  auto cluster = LocalCluster::Create(std::move(options));
  if (!cluster.ok()) return cluster.status();
  if (absl::Status s = (*cluster)->StartAll(); !s.ok()) return s;
  if (auto leader = (*cluster)->WaitForLeader(absl::Seconds(60)); !leader.ok()) {
    return absl::Status(leader.status().code(),
                        absl::StrCat(leader.status().message(), "\n", AllLogTails(**cluster)));
  }
  if (absl::Status s = (*cluster)->WaitCaughtUp(absl::Seconds(60)); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(s.message(), "\n", AllLogTails(**cluster)));
  }
  return cluster;
}

absl::StatusOr<std::string> ClusterName(const LocalCluster& cluster) {
  absl::StatusOr<v1::GetCharterResponse> charter;
  absl::Status s = WaitFor(absl::Seconds(20), [&]() {
    charter = GetCharterOn(cluster, 0);
    return charter.status();
  });
  if (!s.ok()) return s;
  return charter->charter().cluster();
}

// ------------------------------------------------------------ credentials

absl::StatusOr<PemCredential> IssuedCredential(const LocalCluster& cluster, int site,
                                               const std::string& role) {
  PemCredential cred;
  auto cert = ReadFile(cluster.cert_path(site, role));
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(cluster.key_path(site, role));
  if (!key.ok()) return key.status();
  cred.certificate_pem = *std::move(cert);
  cred.private_key_pem = *std::move(key);
  return cred;
}

absl::StatusOr<PemCredential> SiteCaOf(const LocalCluster& cluster, int site) {
  auto files = guard::LoadSiteCa(cluster.site_dir(site));
  if (!files.ok()) return files.status();
  return files->ca;
}

absl::StatusOr<PemCredential> MintLeaf(const LocalCluster& cluster, int site,
                                       const std::string& role, const std::string& name,
                                       const guard::LeafOptions& options) {
  auto ca = SiteCaOf(cluster, site);
  if (!ca.ok()) return ca.status();
  auto identity = guard::MakePeerIdentity(cluster.site(site), role, name);
  if (!identity.ok()) return identity.status();
  return guard::IssueLeafCertificate(*ca, *identity, options);
}

absl::StatusOr<PemCredential> MintImpostor(const PemCredential& ca, const std::string& spiffe_uri) {
  guard::CertificateTemplate tmpl;
  tmpl.common_name = spiffe_uri;
  tmpl.uris = {spiffe_uri};
  tmpl.dns_names = {"localhost"};
  tmpl.ip_addresses = {"127.0.0.1"};
  tmpl.not_before = absl::Now() - guard::kClockSkewAllowance;
  tmpl.not_after = absl::Now() + absl::Hours(24);
  return guard::SignCertificate(tmpl, &ca);
}

absl::StatusOr<PemCredential> MintStrangerAdmin(const std::string& site) {
  auto ca = guard::CreateSiteCa(site);
  if (!ca.ok()) return ca.status();
  auto identity = guard::MakePeerIdentity(site, "admin", "t1");
  if (!identity.ok()) return identity.status();
  return guard::IssueLeafCertificate(*ca, *identity);
}

std::shared_ptr<grpc::Channel> ChannelAs(const LocalCluster& cluster, int node,
                                         const PemCredential& caller) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadFile(cluster.ca_bundle_path()).value_or("");
  tls.pem_cert_chain = caller.certificate_pem;
  tls.pem_private_key = caller.private_key_pem;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  return grpc::CreateCustomChannel(cluster.address(node), grpc::SslCredentials(tls), args);
}

// ---------------------------------------------------------------- signing

std::string NewProposalId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string raw(16, '\0');
  for (char& c : raw) c = static_cast<char>(rng() & 0xff);
  return absl::BytesToHexString(raw);
}

v1::ProposalBody MakeProposalBody(const std::string& cluster, const v1::ProposedAction& action,
                                  const std::string& reason) {
  v1::ProposalBody body;
  body.set_cluster(cluster);
  body.set_proposal_id(NewProposalId());
  *body.mutable_action() = action;
  body.set_reason(reason);
  body.set_created_at_ms(absl::ToUnixMillis(absl::Now()));
  return body;
}

absl::StatusOr<v1::SignedProposal> SignProposal(const v1::ProposalBody& body,
                                                const PemCredential& signer) {
  return SignProposalBytes(body.SerializeAsString(), signer);
}

absl::StatusOr<v1::SignedProposal> SignProposalBytes(const std::string& body_bytes,
                                                     const PemCredential& signer) {
  v1::SignedProposal signed_proposal;
  signed_proposal.set_body(body_bytes);
  auto signature = guard::SignStatement(guard::StatementKind::kProposalBody, signed_proposal.body(),
                                        signer.certificate_pem, signer.private_key_pem);
  if (!signature.ok()) return signature.status();
  *signed_proposal.mutable_signature() = *std::move(signature);
  return signed_proposal;
}

v1::Endorsement MakeEndorsement(const std::string& cluster, const v1::SignedProposal& proposal,
                                v1::EndorsementDecision decision) {
  v1::ProposalBody body;
  body.ParseFromString(proposal.body());
  v1::Endorsement e;
  e.set_cluster(cluster);
  e.set_proposal_id(body.proposal_id());
  e.set_proposal_sha256(guard::ProposalDigest(proposal));
  e.set_decision(decision);
  e.set_signed_at_ms(absl::ToUnixMillis(absl::Now()));
  return e;
}

absl::StatusOr<v1::SignedEndorsement> SignEndorsement(const v1::Endorsement& endorsement,
                                                      const PemCredential& signer) {
  v1::SignedEndorsement signed_endorsement;
  signed_endorsement.set_endorsement(endorsement.SerializeAsString());
  auto signature =
      guard::SignStatement(guard::StatementKind::kEndorsement, signed_endorsement.endorsement(),
                           signer.certificate_pem, signer.private_key_pem);
  if (!signature.ok()) return signature.status();
  *signed_endorsement.mutable_signature() = *std::move(signature);
  return signed_endorsement;
}

absl::StatusOr<v1::SignedNodeStatement> SignProposalClock(const std::string& cluster,
                                                          uint64_t node_id,
                                                          const std::string& proposal_id,
                                                          v1::ProposalClock::Event event,
                                                          const PemCredential& signer) {
  v1::NodeStatement statement;
  statement.set_cluster(cluster);
  statement.set_node_id(node_id);
  statement.set_signed_at_ms(absl::ToUnixMillis(absl::Now()));
  statement.mutable_proposal_clock()->set_proposal_id(proposal_id);
  statement.mutable_proposal_clock()->set_event(event);
  v1::SignedNodeStatement signed_statement;
  signed_statement.set_statement(statement.SerializeAsString());
  auto signature =
      guard::SignStatement(guard::StatementKind::kNodeStatement, signed_statement.statement(),
                           signer.certificate_pem, signer.private_key_pem);
  if (!signature.ok()) return signature.status();
  *signed_statement.mutable_signature() = *std::move(signature);
  return signed_statement;
}

v1::ProposedAction PurgeVault(const std::string& account) {
  v1::ProposedAction a;
  a.mutable_purge_vault()->set_account(account);
  return a;
}
v1::ProposedAction DeleteAccount(const std::string& account) {
  v1::ProposedAction a;
  a.mutable_delete_account()->set_account(account);
  return a;
}
v1::ProposedAction SetRetention(int64_t retention_ms) {
  v1::ProposedAction a;
  a.mutable_set_retention()->set_retention_ms(retention_ms);
  return a;
}
v1::ProposedAction SetDelay(int64_t delay_ms) {
  v1::ProposedAction a;
  a.mutable_set_delay()->set_delay_ms(delay_ms);
  return a;
}
v1::ProposedAction SetRequiredSites(uint32_t required_sites) {
  v1::ProposedAction a;
  a.mutable_set_required_sites()->set_required_sites(required_sites);
  return a;
}
v1::ProposedAction RemoveSite(const std::string& site) {
  v1::ProposedAction a;
  a.mutable_remove_site()->set_site(site);
  return a;
}
v1::ProposedAction ReplaceSiteCa(const std::string& site, const std::string& ca_cert_pem) {
  v1::ProposedAction a;
  a.mutable_replace_site_ca()->set_site(site);
  a.mutable_replace_site_ca()->set_ca_cert_pem(ca_cert_pem);
  return a;
}

// ------------------------------------------------------ charter RPC calls

absl::StatusOr<v1::ProposalRecord> SubmitProposal(const LocalCluster& cluster,
                                                  const PemCredential& caller,
                                                  const v1::SignedProposal& proposal) {
  v1::SubmitProposalRequest req;
  *req.mutable_proposal() = proposal;
  v1::SubmitProposalResponse resp;
  absl::Status s = OnLeader(cluster, caller, [&](v1::Admin::Stub& stub, grpc::ClientContext* ctx) {
    return stub.SubmitProposal(ctx, req, &resp);
  });
  if (!s.ok()) return s;
  return resp.proposal();
}

absl::StatusOr<v1::ProposalRecord> EndorseProposal(const LocalCluster& cluster,
                                                   const PemCredential& caller,
                                                   const v1::SignedEndorsement& endorsement) {
  v1::EndorseProposalRequest req;
  *req.mutable_endorsement() = endorsement;
  v1::EndorseProposalResponse resp;
  absl::Status s = OnLeader(cluster, caller, [&](v1::Admin::Stub& stub, grpc::ClientContext* ctx) {
    return stub.EndorseProposal(ctx, req, &resp);
  });
  if (!s.ok()) return s;
  return resp.proposal();
}

absl::Status SubmitNodeStatement(const LocalCluster& cluster, const PemCredential& caller,
                                 const v1::SignedNodeStatement& statement) {
  v1::MailboxCommand command;
  *command.mutable_node_statement() = statement;
  v1::SubmitRequest req;
  req.set_command(command.SerializeAsString());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::Status last = absl::DeadlineExceededError("no leader found");
  while (absl::Now() < deadline) {
    absl::StatusOr<int> leader = cluster.WaitForLeader(absl::Seconds(5));
    if (!leader.ok()) {
      last = leader.status();
      continue;
    }
    auto stub = v1::Raft::NewStub(ChannelAs(cluster, *leader, caller));
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    v1::SubmitResponse resp;
    last = FromGrpc(stub->Submit(&ctx, req, &resp), cluster.site(*leader));
    if (!absl::IsUnavailable(last)) return last;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return last;
}

absl::StatusOr<v1::ProposalRecord> GetProposalOn(const LocalCluster& cluster, int node,
                                                 const std::string& proposal_id) {
  v1::GetProposalRequest req;
  req.set_proposal_id(proposal_id);
  v1::GetProposalResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  absl::Status s =
      FromGrpc(AdminOn(cluster, node)->GetProposal(&ctx, req, &resp), cluster.site(node));
  if (!s.ok()) return s;
  return resp.proposal();
}

absl::StatusOr<std::vector<v1::ProposalRecord>> ListProposalsOn(const LocalCluster& cluster,
                                                                int node) {
  v1::ListProposalsRequest req;
  req.set_include_closed(true);
  v1::ListProposalsResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  absl::Status s =
      FromGrpc(AdminOn(cluster, node)->ListProposals(&ctx, req, &resp), cluster.site(node));
  if (!s.ok()) return s;
  return std::vector<v1::ProposalRecord>(resp.proposals().begin(), resp.proposals().end());
}

absl::StatusOr<v1::GetCharterResponse> GetCharterOn(const LocalCluster& cluster, int node) {
  v1::GetCharterResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  absl::Status s = FromGrpc(
      AdminOn(cluster, node)->GetCharter(&ctx, v1::GetCharterRequest(), &resp), cluster.site(node));
  if (!s.ok()) return s;
  return resp;
}

absl::StatusOr<std::vector<v1::AuditRecord>> AuditLogOn(const LocalCluster& cluster, int node) {
  auto stub = AdminOn(cluster, node);
  grpc::ClientContext ctx;
  SetDeadline(&ctx, absl::Seconds(30));
  auto reader = stub->GetAuditLog(&ctx, v1::GetAuditLogRequest());
  std::vector<v1::AuditRecord> out;
  v1::AuditRecord record;
  while (reader->Read(&record)) out.push_back(record);
  absl::Status s = FromGrpc(reader->Finish(), cluster.site(node));
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<v1::CheckpointEntry>> CheckpointsOn(const LocalCluster& cluster,
                                                               int node) {
  v1::GetCheckpointsResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  absl::Status s =
      FromGrpc(AdminOn(cluster, node)->GetCheckpoints(&ctx, v1::GetCheckpointsRequest(), &resp),
               cluster.site(node));
  if (!s.ok()) return s;
  return std::vector<v1::CheckpointEntry>(resp.checkpoints().begin(), resp.checkpoints().end());
}

absl::Status VerifyAuditChain(const std::vector<v1::AuditRecord>& records) {
  std::string prev(32, '\0');
  for (size_t i = 0; i < records.size(); ++i) {
    const v1::AuditRecord& r = records[i];
    if (r.seq() != i + 1 || r.prev_hash() != prev || guard::AuditRecordHash(r) != r.hash()) {
      return absl::DataLossError(
          absl::StrCat("audit log: the chain breaks at seq ", r.seq(), " (position ", i + 1, ")"));
    }
    prev = r.hash();
  }
  return absl::OkStatus();
}

const v1::AuditRecord* FindAuditRecord(const std::vector<v1::AuditRecord>& records,
                                       const v1::Signature& signature) {
  for (const v1::AuditRecord& r : records) {
    if (!signature.signature().empty() &&
        r.command().find(signature.signature()) != std::string::npos) {
      return &r;
    }
  }
  return nullptr;
}

absl::Status CheckAttemptsAudited(const LocalCluster& cluster,
                                  const std::vector<v1::Signature>& refused,
                                  const std::vector<v1::Signature>& accepted) {
  std::vector<std::vector<v1::AuditRecord>> logs;
  for (int i = 0; i < cluster.size(); ++i) {
    auto log = AuditLogOn(cluster, i);
    if (!log.ok()) return log.status();
    if (absl::Status s = VerifyAuditChain(*log); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(cluster.site(i), ": ", s.message()));
    }
    for (size_t k = 0; k < refused.size() + accepted.size(); ++k) {
      const bool is_refused = k < refused.size();
      const v1::Signature& sig = is_refused ? refused[k] : accepted[k - refused.size()];
      const v1::AuditRecord* record = FindAuditRecord(*log, sig);
      if (record == nullptr) {
        return absl::FailedPreconditionError(absl::StrCat(
            cluster.site(i), ": no audit record of ", is_refused ? "refused" : "accepted",
            " attempt #", is_refused ? k : k - refused.size(), " (", log->size(), " records)"));
      }
      const bool says_refused = absl::StartsWith(record->detail(), "refused");
      if (says_refused != is_refused) {
        return absl::FailedPreconditionError(
            absl::StrCat(cluster.site(i), ": audit record seq ", record->seq(), " (",
                         record->kind(), ") says '", record->detail(),
                         "' for an attempt expected to be ", is_refused ? "refused" : "accepted"));
      }
    }
    logs.push_back(*std::move(log));
  }
  for (int i = 1; i < cluster.size(); ++i) {
    const size_t common = std::min(logs[0].size(), logs[i].size());
    for (size_t k = 0; k < common; ++k) {
      if (logs[0][k].hash() != logs[i][k].hash()) {
        return absl::FailedPreconditionError(absl::StrCat(
            cluster.site(0), " and ", cluster.site(i), " disagree on audit record seq ", k + 1,
            ": '", logs[0][k].detail(), "' vs '", logs[i][k].detail(), "'"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status WaitFor(absl::Duration timeout, const std::function<absl::Status()>& condition) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last = condition();
  while (!last.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    last = condition();
  }
  return last;
}

absl::Status WaitForProposalState(const LocalCluster& cluster, int node,
                                  const std::string& proposal_id, v1::ProposalState state,
                                  absl::Duration timeout) {
  return WaitFor(timeout, [&]() -> absl::Status {
    auto record = GetProposalOn(cluster, node, proposal_id);
    if (!record.ok()) return record.status();
    if (record->state() != state) {
      return absl::FailedPreconditionError(
          absl::StrCat(cluster.site(node), ": proposal ", proposal_id, " is in state ",
                       v1::ProposalState_Name(record->state()), ", waiting for ",
                       v1::ProposalState_Name(state), "; outcome '", record->outcome(), "'"));
    }
    return absl::OkStatus();
  });
}

// ------------------------------------------------------------------- mail

absl::StatusOr<MailByUid> SeedMail(const LocalCluster& cluster,
                                   const std::vector<std::string>& accounts, int per_mailbox) {
  auto admin_cred = IssuedCredential(cluster, 0, "admin");
  if (!admin_cred.ok()) return admin_cred.status();
  for (const std::string& account : accounts) {
    v1::CreateAccountRequest req;
    req.set_account(account);
    v1::CreateAccountResponse resp;
    absl::Status s =
        OnLeader(cluster, *admin_cred, [&](v1::Admin::Stub& stub, grpc::ClientContext* ctx) {
          return stub.CreateAccount(ctx, req, &resp);
        });
    if (!s.ok()) return s;
  }
  ClientOptions o = FrontendOn(cluster, 0);
  o.endpoints = cluster.endpoints();
  auto client = Client::Open(o);
  if (!client.ok()) return client.status();
  MailByUid appended;
  for (const std::string& account : accounts) {
    v1::CreateMailboxRequest create;
    create.set_account(account);
    create.set_name("Archive");
    if (auto r = (*client)->CreateMailbox(create); !r.ok()) return r.status();
    for (const std::string mailbox : {"INBOX", "Archive"}) {
      for (int i = 0; i < per_mailbox; ++i) {
        v1::AppendMessageRequest req;
        req.set_account(account);
        req.set_mailbox(mailbox);
        // Distinct bytes per message, with a CR LF and a NUL-free binary
        // tail, so a byte-for-byte comparison means something.
        std::string body =
            absl::StrCat("From: sender", i, "@example.org\r\nTo: ", account,
                         "@example.org\r\nSubject: ", mailbox, " #", i, "\r\n\r\nBody of ", account,
                         "/", mailbox, "/", i, " \xc3\xa9\xe2\x82\xac\r\n");
        req.set_body(body);
        auto r = (*client)->AppendMessage(req);
        if (!r.ok()) return r.status();
        appended[account][mailbox][r->uid()] = body;
      }
    }
  }
  return appended;
}

absl::StatusOr<MailByUid> ReadAllMail(const LocalCluster& cluster, int node,
                                      const std::vector<std::string>& accounts) {
  auto client = Client::Open(FrontendOn(cluster, node));
  if (!client.ok()) return client.status();
  MailByUid out;
  for (const std::string& account : accounts) {
    v1::ListMailboxesRequest list;
    list.set_account(account);
    auto mailboxes = (*client)->ListMailboxes(list);
    if (!mailboxes.ok()) return mailboxes.status();
    out[account];  // an account with no messages still shows up
    for (const v1::MailboxInfo& mailbox : mailboxes->mailboxes()) {
      auto& messages = out[account][mailbox.name()];
      v1::FetchMessagesRequest req;
      req.set_account(account);
      req.set_mailbox(mailbox.name());
      req.set_uid_set("1:*");
      req.set_include_body(true);
      CallOptions call;
      call.timeout = absl::Seconds(60);
      absl::Status s = (*client)->FetchMessages(
          req,
          [&](const v1::FetchMessagesResponse& r) {
            messages[r.message().uid()] = r.message().body();
            return absl::OkStatus();
          },
          call);
      if (!s.ok()) {
        return absl::Status(s.code(), absl::StrCat(cluster.site(node), ": fetch ", account, "/",
                                                   mailbox.name(), ": ", s.message()));
      }
    }
  }
  return out;
}

std::map<std::string, std::vector<std::string>> BodiesByAccount(const MailByUid& mail) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [account, mailboxes] : mail) {
    auto& bodies = out[account];
    for (const auto& [mailbox, messages] : mailboxes) {
      for (const auto& [uid, body] : messages) bodies.push_back(body);
    }
    std::sort(bodies.begin(), bodies.end());
  }
  return out;
}

std::vector<std::string> AccountsOf(const MailByUid& mail) {
  std::vector<std::string> out;
  for (const auto& [account, mailboxes] : mail) out.push_back(account);
  return out;
}

absl::Status CheckMailOnEveryNode(const LocalCluster& cluster, const MailByUid& expected) {
  for (int i = 0; i < cluster.size(); ++i) {
    auto held = ReadAllMail(cluster, i, AccountsOf(expected));
    if (!held.ok()) return held.status();
    for (const auto& [account, mailboxes] : expected) {
      for (const auto& [mailbox, messages] : mailboxes) {
        auto& got = (*held)[account][mailbox];
        for (const auto& [uid, body] : messages) {
          auto it = got.find(uid);
          if (it == got.end()) {
            return absl::FailedPreconditionError(absl::StrCat(
                cluster.site(i), ": ", account, "/", mailbox, " uid ", uid, " is missing"));
          }
          if (it->second != body) {
            return absl::FailedPreconditionError(absl::StrCat(
                cluster.site(i), ": ", account, "/", mailbox, " uid ", uid,
                " differs: ", it->second.size(), " bytes held, ", body.size(), " committed"));
          }
        }
        if (got.size() != messages.size()) {
          return absl::FailedPreconditionError(
              absl::StrCat(cluster.site(i), ": ", account, "/", mailbox, " holds ", got.size(),
                           " messages, expected ", messages.size()));
        }
      }
    }
    if (*held != expected) {
      return absl::FailedPreconditionError(
          absl::StrCat(cluster.site(i), ": holds mailboxes that were not expected"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ListDeletedResponse> VaultOn(const LocalCluster& cluster, int node,
                                                const std::string& account) {
  auto client = Client::Open(FrontendOn(cluster, node));
  if (!client.ok()) return client.status();
  v1::ListDeletedRequest req;
  req.set_account(account);
  return (*client)->ListDeleted(req);
}

std::string AllLogTails(const LocalCluster& cluster, int lines) {
  std::string out;
  for (int i = 0; i < cluster.size(); ++i) {
    absl::StrAppend(&out, "---- ", cluster.site(i), " log tail ----\n", cluster.LogTail(i, lines));
  }
  return out;
}

ClientOptions HonestClientOptions(const LocalCluster& cluster, const std::string& role,
                                  std::vector<std::string> endpoints) {
  ClientOptions o;
  o.endpoints = endpoints.empty() ? cluster.endpoints() : std::move(endpoints);
  o.ca_bundle_file = cluster.ca_bundle_path();
  o.certificate_file = cluster.cert_path(1, role);
  o.private_key_file = cluster.key_path(1, role);
  o.default_timeout = absl::Seconds(10);
  return o;
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& content) {
  {
    std::ofstream out(path + ".tmp", std::ios::trunc);
    out << content;
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write ", path, ".tmp"));
  }
  if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", path, ".tmp to ", path));
  }
  return absl::OkStatus();
}

}  // namespace qbox::attack
