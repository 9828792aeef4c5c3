// Whether a private key belongs to a certificate, checked before any TLS
// handshake so that a swapped --key is reported by name instead of as an
// opaque handshake failure.
#ifndef QBOX_CTL_KEY_PAIR_CHECK_H_
#define QBOX_CTL_KEY_PAIR_CHECK_H_

#include <string>

#include "absl/status/status.h"

namespace qbox::ctl {

// INVALID_ARGUMENT if `key_pem` is not an unencrypted PEM private key
// ("not a PEM private key"), `certificate_pem` not a PEM certificate, or the
// key is not the certificate's ("does not belong to the certificate"). The
// messages never contain key material.
absl::Status CheckKeyMatchesCertificate(const std::string& certificate_pem,
                                        const std::string& key_pem);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_KEY_PAIR_CHECK_H_
