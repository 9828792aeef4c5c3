// Real gRPC mutual TLS over loopback: the server trusts all three sites'
// CAs for the handshake, then pins every caller to ONE site with
// IdentifyGrpcPeer. A generic service avoids depending on proto/.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_context.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/guard/grpc_peer_identity.h"
#include "tests/guard/test_sites.h"

namespace qbox::guard {
namespace {

using ::testing::HasSubstr;

constexpr char kWhoAmI[] = "/qbox.test.Identity/WhoAmI";
constexpr char kNodeOnly[] = "/qbox.test.Identity/NodeOnly";

grpc::ByteBuffer ToBuffer(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return "<undumpable>";
  std::string out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// Answers WhoAmI with the caller's identity, and NodeOnly only for nodes.
class IdentityService : public grpc::CallbackGenericService {
 public:
  explicit IdentityService(const SiteTrustStore* trust) : trust_(trust) {}

  std::atomic<int> calls_seen{0};

 private:
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    Reactor(grpc::GenericCallbackServerContext* ctx, const SiteTrustStore& trust) {
      absl::StatusOr<PeerIdentity> peer = IdentifyGrpcPeer(*ctx->auth_context(), trust);
      absl::Status allowed = peer.status();
      if (allowed.ok() && ctx->method() == kNodeOnly) allowed = RequireRole(*peer, "node");
      if (!allowed.ok()) {
        Finish(ToGrpcStatus(allowed));
        return;
      }
      response_ = ToBuffer(peer->ToString());
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
        return;
      }
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    ++calls_seen;
    return new Reactor(ctx, *trust_);
  }

  const SiteTrustStore* trust_;
};

class GrpcMutualTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LeafOptions host;
    host.dns_names = {"localhost"};
    host.ip_addresses = {"127.0.0.1"};
    PemCredential server_cert = testing::Issue(sites_.a, "site-a", "node", "n1", host);

    grpc::SslServerCredentialsOptions options(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = trust_.ConcatenatedCaPem();
    options.pem_key_cert_pairs.push_back(
        {server_cert.private_key_pem, server_cert.certificate_pem});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  struct Reply {
    grpc::Status status;
    std::string body;
  };

  // One unary call to `method`, presenting `client` (or no certificate if
  // it is empty) and trusting every site's CA for the server.
  Reply Call(const PemCredential& client, const std::string& method = kWhoAmI) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = trust_.ConcatenatedCaPem();
    options.pem_private_key = client.private_key_pem;
    options.pem_cert_chain = client.certificate_pem;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_),
                                             grpc::SslCredentials(options), args);
    grpc::GenericStub stub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::ByteBuffer request = ToBuffer("hello");
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status s) { done.set_value(std::move(s)); });
    std::future<grpc::Status> result = done.get_future();
    // The call's own deadline bounds this; the extra margin only guards
    // against a lost callback hanging the test forever.
    if (result.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "call did not complete";
      ctx.TryCancel();
      result.wait();
    }
    Reply reply;
    reply.status = result.get();
    if (reply.status.ok()) reply.body = FromBuffer(response);
    return reply;
  }

  testing::ThreeSites sites_;
  SiteTrustStore trust_ = sites_.TrustStore();
  IdentityService service_{&trust_};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(GrpcMutualTlsTest, AcceptsSiteBNodeAsSiteB) {
  Reply reply = Call(testing::Issue(sites_.b, "site-b", "node", "n2"));
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(reply.body, "site-b/node/n2");
  reply = Call(testing::Issue(sites_.c, "site-c", "admin", "carol"));
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(reply.body, "site-c/admin/carol");
}

TEST_F(GrpcMutualTlsTest, RefusesSiteACaCertificateClaimingSiteB) {
  PemCredential forged = testing::SignRawLeaf(sites_.a, {"spiffe://site-b/node/n2"});
  Reply reply = Call(forged);
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(reply.status.error_message(), HasSubstr("impersonation"));
  EXPECT_TRUE(reply.body.empty());
}

TEST_F(GrpcMutualTlsTest, RefusesWrongRoleForNodeOnlyMethod) {
  Reply reply = Call(testing::Issue(sites_.b, "site-b", "frontend", "imap1"), kNodeOnly);
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(reply.status.error_message(), HasSubstr("needs role 'node'"));
  reply = Call(testing::Issue(sites_.b, "site-b", "node", "n2"), kNodeOnly);
  EXPECT_TRUE(reply.status.ok()) << reply.status.error_message();
}

TEST_F(GrpcMutualTlsTest, ClientWithoutCertificateFailsHandshake) {
  Reply reply = Call(PemCredential{});
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << reply.status.error_message();
  EXPECT_EQ(service_.calls_seen.load(), 0);
}

TEST_F(GrpcMutualTlsTest, UnknownCaFailsHandshake) {
  PemCredential stranger_ca = testing::NewSiteCa("site-b");
  Reply reply = Call(testing::Issue(stranger_ca, "site-b", "node", "n2"));
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << reply.status.error_message();
  EXPECT_EQ(service_.calls_seen.load(), 0);
}

TEST_F(GrpcMutualTlsTest, ExpiredCertificateFailsHandshake) {
  LeafOptions expired;
  expired.not_before = absl::Now() - absl::Hours(48);
  expired.validity = absl::Hours(24);
  Reply reply = Call(testing::Issue(sites_.b, "site-b", "node", "n2", expired));
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << reply.status.error_message();
  EXPECT_EQ(service_.calls_seen.load(), 0);
}

}  // namespace
}  // namespace qbox::guard

namespace qbox::guard {
namespace {

// Defence in depth: should a server ever be started without TLS, the
// identity check refuses every caller instead of trusting anyone.
TEST(GrpcPeerIdentityTest, PlaintextCallerIsUnauthenticated) {
  testing::ThreeSites sites;
  SiteTrustStore trust = sites.TrustStore();
  IdentityService service(&trust);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::ByteBuffer request = ToBuffer("hello");
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, kWhoAmI, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();  // bounded by the deadline
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("no TLS client certificate"));
  EXPECT_EQ(service.calls_seen.load(), 1);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

}  // namespace
}  // namespace qbox::guard
