// A minimal HTTP CONNECT proxy on 127.0.0.1 for testing HTTPS_PROXY support:
// it opens a TCP tunnel to the requested host:port (502 if that fails) and
// relays bytes both ways. Stops and joins in its destructor.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace cnai::test {

class TestConnectProxy {
 public:
  TestConnectProxy();
  ~TestConnectProxy();
  TestConnectProxy(const TestConnectProxy&) = delete;
  TestConnectProxy& operator=(const TestConnectProxy&) = delete;

  std::string url() const;  // "http://127.0.0.1:PORT"
  std::size_t tunnels_opened() const { return tunnels_; }
  std::string last_target() const;  // "host:port" of the last CONNECT

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<std::size_t> tunnels_{0};
};

}  // namespace cnai::test
