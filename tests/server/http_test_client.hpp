// Helpers for server tests: a raw TCP client (hostile HTTP: exact bytes,
// slow sends, disconnects) and small HTTP calls over it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

namespace cnai::test {

class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("connect failed");
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool send(const std::string& s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  /// Reads until `stop_after` appears, the peer closes, or the time is up.
  std::string read(std::chrono::milliseconds timeout, const std::string& stop_after = {}) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count());
      if (::poll(&p, 1, std::max(1, left)) <= 0) break;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_by_peer_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
      if (!stop_after.empty() && out.find(stop_after) != std::string::npos) break;
    }
    return out;
  }
  /// A whole response with Content-Length (head + body).
  std::string read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string out = read(timeout, "\r\n\r\n");
    const auto head_end = out.find("\r\n\r\n");
    if (head_end == std::string::npos) return out;
    const auto cl = out.find("Content-Length: ");
    if (cl == std::string::npos || cl > head_end) return out;
    const std::size_t len = std::stoul(out.substr(cl + 16));
    while (out.size() < head_end + 4 + len) {
      std::string more = read(timeout);
      if (more.empty()) break;
      out += more;
    }
    return out;
  }
  /// What one recv returns within `timeout` (empty: nothing, or closed).
  std::string read_some(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_by_peer_ = true;
      return {};
    }
    return std::string(buf, static_cast<std::size_t>(n));
  }
  /// One response, whichever framing: Content-Length, or chunked up to its
  /// last chunk. `pause` between reads makes a slow reader.
  std::string read_http(std::chrono::milliseconds timeout, std::chrono::milliseconds pause = {}) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::string out;
    while (std::chrono::steady_clock::now() < until) {
      const auto head_end = out.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const std::string head = out.substr(0, head_end);
        if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
          if (out.find("\r\n0\r\n\r\n", head_end) != std::string::npos || out.compare(head_end + 4, 5, "0\r\n\r\n") == 0) return out;
        } else if (const auto cl = head.find("Content-Length: "); cl != std::string::npos) {
          if (out.size() >= head_end + 4 + std::stoul(head.substr(cl + 16))) return out;
        }
      }
      std::string piece = read_some(std::chrono::milliseconds(50));
      if (piece.empty() && closed_by_peer_) return out;
      out += piece;
      if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
    return out;
  }
  bool closed_by_peer() const { return closed_by_peer_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  /// Closes with RST instead of FIN.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }

 private:
  int fd_ = -1;
  bool closed_by_peer_ = false;
};

inline int status_of(const std::string& response) {
  if (response.size() < 12 || !response.starts_with("HTTP/1.1 ")) return 0;
  return std::stoi(response.substr(9, 3));
}

inline std::string body_of(const std::string& response) {
  const auto p = response.find("\r\n\r\n");
  return p == std::string::npos ? std::string() : response.substr(p + 4);
}

inline std::string http_request(const std::string& method, const std::string& target, const std::string& body = {},
                                const std::string& extra_headers = {}) {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

}  // namespace cnai::test
