#include "bench/etcd_credentials.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/pem_file.h"
#include "node/common/status_macros.h"

namespace qbox::bench {

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> EtcdChannelCredentials(
    const EtcdTlsFiles& files) {
  std::vector<std::string> missing;
  if (files.cacert.empty()) missing.push_back("--etcd-cacert");
  if (files.cert.empty()) missing.push_back("--etcd-cert");
  if (files.key.empty()) missing.push_back("--etcd-key");
  if (missing.size() == 3) return grpc::InsecureChannelCredentials();
  if (!missing.empty()) {
    // Half a TLS setup is a mistake, not a request for plain HTTP.
    return absl::InvalidArgumentError(
        absl::StrCat(absl::StrJoin(missing, ", "),
                     ": missing; for etcd over TLS give --etcd-cacert, --etcd-cert and "
                     "--etcd-key together, for plain HTTP none of them"));
  }
  grpc::SslCredentialsOptions tls;
  ASSIGN_OR_RETURN(tls.pem_root_certs, ReadPemFlag("--etcd-cacert", files.cacert));
  ASSIGN_OR_RETURN(tls.pem_cert_chain, ReadPemFlag("--etcd-cert", files.cert));
  ASSIGN_OR_RETURN(tls.pem_private_key, ReadPemFlag("--etcd-key", files.key));
  return grpc::SslCredentials(tls);
}

}  // namespace qbox::bench
