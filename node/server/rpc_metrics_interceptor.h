// Counts every RPC the node serves, by method and status code, and times it
// (qbox_rpcs_total, qbox_rpc_duration_seconds), without each service having
// to remember to.
#ifndef QBOX_NODE_SERVER_RPC_METRICS_INTERCEPTOR_H_
#define QBOX_NODE_SERVER_RPC_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include "node/server/node_metrics.h"

namespace qbox::server {

class RpcMetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(NodeMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  NodeMetrics* metrics_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_RPC_METRICS_INTERCEPTOR_H_
