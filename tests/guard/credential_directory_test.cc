#include "node/guard/credential_directory.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/guard/site_trust_store.h"
#include "tests/guard/test_sites.h"

namespace qbox::guard {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

unsigned ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class CredentialDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/creddir-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::vector<IssuedIdentity> Leaves(const PemCredential& ca) {
    return {{{"site-a", "node", "n1"}, testing::Issue(ca, "site-a", "node", "n1")},
            {{"site-a", "admin", "alice"}, testing::Issue(ca, "site-a", "admin", "alice")}};
  }

  std::string root_;
  PemCredential ca_ = testing::NewSiteCa("site-a");
};

TEST_F(CredentialDirectoryTest, CreatesDocumentedLayoutWithPrivateKeys) {
  std::string dir = root_ + "/sub/site-a";
  ASSERT_TRUE(CreateCredentialDirectory(dir, ca_, Leaves(ca_)).ok());
  EXPECT_EQ(CaCertificatePath(dir), dir + "/ca.crt");
  EXPECT_EQ(KeyPath(dir, "node", "n1"), dir + "/nodes/n1.key");
  EXPECT_EQ(ModeOf(dir + "/ca.key"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/ca.crt"), 0644u);
  EXPECT_EQ(ModeOf(dir + "/nodes/n1.key"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/admins/alice.key"), 0600u);
  EXPECT_TRUE(fs::exists(dir + "/admins/alice.crt"));
  // No staging directory is left behind.
  EXPECT_THAT(std::vector<fs::path>(fs::directory_iterator(root_ + "/sub"), {}),
              ElementsAre(fs::path(dir)));

  absl::StatusOr<SiteCaFiles> loaded = LoadSiteCa(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->site, "site-a");
  EXPECT_EQ(loaded->ca.certificate_pem, ca_.certificate_pem);

  absl::StatusOr<CredentialListing> listing = ListCredentialDirectory(dir);
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_TRUE(listing->ca_key_present);
  ASSERT_EQ(listing->entries.size(), 2u);
  EXPECT_EQ(listing->entries[0].role, "node");
  EXPECT_EQ(listing->entries[0].name, "n1");
  EXPECT_EQ(listing->entries[1].role, "admin");
  EXPECT_TRUE(listing->unrecognised_files.empty());

  // What was written identifies as what it says.
  absl::StatusOr<SiteTrustStore> store = SiteTrustStore::Create({{"site-a", ca_.certificate_pem}});
  ASSERT_TRUE(store.ok());
  absl::StatusOr<PeerIdentity> id = store->Identify(listing->entries[0].certificate_pem);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToString(), "site-a/node/n1");
}

TEST_F(CredentialDirectoryTest, AcceptsAnEmptyExistingDirectoryAndTrailingSlash) {
  std::string dir = root_ + "/empty";
  ASSERT_TRUE(fs::create_directory(dir));
  absl::Status status = CreateCredentialDirectory(dir + "/", ca_, {});
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(fs::exists(dir + "/ca.crt"));
}

TEST_F(CredentialDirectoryTest, RefusesNonEmptyDirectoryAndChangesNothing) {
  std::string dir = root_ + "/busy";
  ASSERT_TRUE(fs::create_directory(dir));
  std::ofstream(dir + "/precious") << "keep me";
  absl::Status status = CreateCredentialDirectory(dir, ca_, Leaves(ca_));
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr(dir + ": directory is not empty"));
  EXPECT_THAT(std::vector<fs::path>(fs::directory_iterator(dir), {}),
              ElementsAre(fs::path(dir + "/precious")));
  EXPECT_THAT(std::vector<fs::path>(fs::directory_iterator(root_), {}), ElementsAre(fs::path(dir)));
}

TEST_F(CredentialDirectoryTest, WriteIdentityRefusesToOverwrite) {
  std::string dir = root_ + "/site-a";
  ASSERT_TRUE(CreateCredentialDirectory(dir, ca_, Leaves(ca_)).ok());
  absl::StatusOr<std::string> before = ReadTextFile(CertificatePath(dir, "node", "n1"));
  ASSERT_TRUE(before.ok());
  PemCredential again = testing::Issue(ca_, "site-a", "node", "n1");
  absl::Status status = WriteIdentityCredential(dir, {"site-a", "node", "n1"}, again, false);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr("nodes/n1.crt: already exists"));
  EXPECT_EQ(*ReadTextFile(CertificatePath(dir, "node", "n1")), *before);

  ASSERT_TRUE(WriteIdentityCredential(dir, {"site-a", "node", "n1"}, again, true).ok());
  EXPECT_EQ(*ReadTextFile(CertificatePath(dir, "node", "n1")), again.certificate_pem);
  EXPECT_EQ(ModeOf(KeyPath(dir, "node", "n1")), 0600u);
}

TEST_F(CredentialDirectoryTest, ReportsMissingAndCorruptFilesByPath) {
  std::string dir = root_ + "/site-a";
  absl::StatusOr<SiteCaFiles> missing = LoadSiteCa(dir);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(dir + "/ca.crt: no such file"));
  EXPECT_EQ(ListCredentialDirectory(dir).status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(CreateCredentialDirectory(dir, ca_, {}).ok());
  PemCredential other = testing::NewSiteCa("site-a");
  std::ofstream(dir + "/ca.key", std::ios::trunc) << other.private_key_pem;
  absl::StatusOr<SiteCaFiles> mismatched = LoadSiteCa(dir);
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatched.status().message(), HasSubstr("ca.key: does not belong to"));

  std::ofstream(dir + "/ca.crt", std::ios::trunc) << "garbage";
  absl::StatusOr<SiteCaFiles> corrupt = LoadSiteCa(dir);
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(corrupt.status().message(), HasSubstr(dir + "/ca.crt"));
}

}  // namespace
}  // namespace qbox::guard
