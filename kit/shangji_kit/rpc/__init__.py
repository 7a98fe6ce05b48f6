"""gRPC plumbing shared by every service's front: errors, interceptor, server, clients."""
