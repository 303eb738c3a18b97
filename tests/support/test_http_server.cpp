// TestHttpServer: one thread accepts, one thread per connection serves with
// blocking Beast reads and raw writes (raw so faults can be exact). Stopping
// shuts every socket down so blocked threads return, then joins them.
#include "test_http_server.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <zlib.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <stdexcept>

namespace cnai::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string make_test_pki() {
  char pattern[] = "/tmp/cnai-test-pki-XXXXXX";
  if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  const std::string dir = pattern;
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string script = fmt::format(
      "cd {0} && openssl req -x509 {1} -keyout ca.key -out ca.pem -days 2 -subj '/CN=cnai test CA' "
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign && "
      "openssl req {1} -keyout server.key -out server.csr -subj '/CN=localhost' && "
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > ext.cnf && "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
      "-days 2 -extfile ext.cnf",
      dir, ec);
  if (std::system(("(" + script + ") >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("generating the test CA with the openssl CLI failed");
  }
  return dir;
}

// The temporary CA directory lives as long as the process.
struct TestPki {
  std::string dir = make_test_pki();
  ~TestPki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

const std::string& pki_dir() {
  static const TestPki pki;
  return pki.dir;
}

}  // namespace

std::optional<std::string> TestRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

TestResponse TestResponse::json(std::string body, int status) {
  TestResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

TestResponse TestResponse::sse(std::vector<std::string> chunks, std::chrono::milliseconds delay) {
  TestResponse response;
  response.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}};
  response.chunks = std::move(chunks);
  response.chunk_delay = delay;
  return response;
}

const std::string& TestHttpServer::ca_file() {
  static const std::string file = pki_dir() + "/ca.pem";
  return file;
}

struct TestHttpServer::Impl {
  TestHttpServer& owner;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<ssl::context> tls;
  std::atomic<bool> stopping{false};
  mutable std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> route_keys;
  std::vector<TestHandler> handlers;
  std::optional<TestRequest> last;
  std::set<int> open_fds;
  std::vector<std::thread> threads;
  std::thread accept_thread;

  explicit Impl(TestHttpServer& server) : owner(server) {}
  void accept_loop();
  void serve(tcp::socket socket);
  template <class Stream>
  void serve_requests(Stream& stream, tcp::socket& socket);
  template <class Stream>
  bool respond(Stream& stream, tcp::socket& socket, const TestResponse& response, bool keep_alive);
  template <class Stream>
  bool endless_framing(Stream& stream, Fault fault);
  TestResponse dispatch(const TestRequest& request);
  bool sleep_for(std::chrono::milliseconds duration) const;
};

bool TestHttpServer::Impl::sleep_for(std::chrono::milliseconds duration) const {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) {
    if (stopping) return false;
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(std::chrono::milliseconds(5), duration));
  }
  return !stopping;
}

void TestHttpServer::Impl::accept_loop() {
  while (!stopping) {
    tcp::socket socket(ioc);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    if (ec || stopping) return;
    ++owner.connections_;
    socket.set_option(tcp::no_delay(true), ec);
    std::lock_guard lock(mutex);
    open_fds.insert(socket.native_handle());
    threads.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
  }
}

void TestHttpServer::Impl::serve(tcp::socket socket) {
  const int fd = socket.native_handle();
  try {
    if (tls) {
      ssl::stream<tcp::socket&> stream(socket, *tls);
      beast::error_code ec;
      stream.handshake(ssl::stream_base::server, ec);
      if (!ec) serve_requests(stream, socket);
    } else {
      serve_requests(socket, socket);
    }
  } catch (const std::exception&) {
    // A client that went away mid-write: nothing to do but close.
  }
  std::lock_guard lock(mutex);
  open_fds.erase(fd);
  beast::error_code ignored;
  socket.close(ignored);
}

// A chunked response whose chunk extension, or trailer, never ends: writes
// until the client goes away (the write then fails) or the server stops.
template <class Stream>
bool TestHttpServer::Impl::endless_framing(Stream& stream, Fault fault) {
  asio::write(stream, asio::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                               "Transfer-Encoding: chunked\r\n\r\n")));
  if (fault == Fault::endless_chunk_extension) {
    asio::write(stream, asio::buffer(std::string("1;ext=")));
  } else {
    asio::write(stream, asio::buffer(std::string("5\r\nhello\r\n0\r\n")));
  }
  const std::string filler = fault == Fault::endless_chunk_extension ? std::string(16 * 1024, 'a')
                                                                      : [] {
                                                                          std::string t;
                                                                          while (t.size() < 16 * 1024) t += "X-Trailer: v\r\n";
                                                                          return t;
                                                                        }();
  while (!stopping) {
    beast::error_code ec;
    asio::write(stream, asio::buffer(filler), ec);
    if (ec) break;
    owner.fault_bytes_ += filler.size();
    if (owner.fault_bytes_ > (std::size_t{2} << 30)) break;  // 2 GiB: the client never stopped us
  }
  return false;
}

TestResponse TestHttpServer::Impl::dispatch(const TestRequest& request) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  TestHandler handler;
  {
    std::lock_guard lock(mutex);
    last = request;
    for (std::size_t i = 0; i < route_keys.size(); ++i) {
      const auto& [method, route_path] = route_keys[i];
      if ((method == "*" || method == request.method) && route_path == path) handler = handlers[i];
    }
  }
  if (!handler) return TestResponse::json(R"({"error":{"message":"no route"}})", 404);
  return handler(request);
}

template <class Stream>
void TestHttpServer::Impl::serve_requests(Stream& stream, tcp::socket& socket) {
  beast::flat_buffer buffer;
  while (!stopping) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{256} << 20);
    beast::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec) return;
    const auto& message = parser.get();
    TestRequest request{std::string(message.method_string()), std::string(message.target()), {}, message.body()};
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    const TestResponse response = dispatch(request);
    ++owner.requests_;
    if (!respond(stream, socket, response, message.keep_alive())) return;
  }
}

// Writes one response; returns false when the connection must close.
template <class Stream>
bool TestHttpServer::Impl::respond(Stream& stream, tcp::socket& socket, const TestResponse& response,
                                   bool keep_alive) {
  if (!sleep_for(response.delay_before_head)) return false;
  if (response.fault == Fault::close_before_response) return false;
  for (const auto& interim : response.interim) asio::write(stream, asio::buffer(interim));
  if (response.fault == Fault::endless_chunk_extension || response.fault == Fault::endless_trailer) {
    return endless_framing(stream, response.fault);
  }
  const bool chunked = !response.chunks.empty() || response.fault == Fault::endless_body;
  std::vector<std::string> pieces = response.chunks;
  std::string body = response.body;
  if (response.gzip) {
    std::string all;
    for (const auto& p : pieces) all += p;
    if (chunked) {  // the compressed stream, cut into as many pieces
      const std::string packed = gzip_compress(all);
      const std::size_t n = pieces.size(), step = (packed.size() + n - 1) / n;
      for (std::size_t i = 0; i < n; ++i) pieces[i] = packed.substr(std::min(packed.size(), i * step), step);
    } else {
      body = gzip_compress(body);
    }
  }
  const bool close = response.close_connection || !keep_alive || response.fault != Fault::none;
  std::string head = fmt::format("HTTP/1.1 {} {}\r\n", response.status,
                                 std::string(http::obsolete_reason(static_cast<http::status>(response.status))));
  bool has_type = false;
  for (const auto& [name, value] : response.headers) {
    has_type = has_type || iequals(name, "content-type");
    head += fmt::format("{}: {}\r\n", name, value);
  }
  if (!has_type) head += "Content-Type: application/json\r\n";
  if (response.fault == Fault::huge_header) head += "X-Huge: " + std::string(100 * 1024, 'h') + "\r\n";
  if (response.gzip) head += "Content-Encoding: gzip\r\n";
  if (close) head += "Connection: close\r\n";
  if (chunked) {
    head += "Transfer-Encoding: chunked\r\n\r\n";
  } else {
    const std::size_t declared = response.fault == Fault::truncated_body ? body.size() * 2 + 100 : body.size();
    head += fmt::format("Content-Length: {}\r\n\r\n", declared);
  }

  if (response.fault == Fault::reset_mid_body) {
    asio::write(stream, asio::buffer(head + body.substr(0, body.size() / 2)));
    socket.set_option(asio::socket_base::linger(true, 0));  // close sends RST
    return false;
  }
  if (!chunked) {
    asio::write(stream, asio::buffer(head + body));
    return !close;
  }
  asio::write(stream, asio::buffer(head));
  auto write_chunk = [&](std::string_view data) {
    asio::write(stream, asio::buffer(fmt::format("{:x}\r\n{}\r\n", data.size(), data)));
  };
  if (response.fault == Fault::endless_body) {
    const std::string filler(16 * 1024, 'x');
    while (!stopping) write_chunk(filler);  // throws once the client leaves
    return false;
  }
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0 && !sleep_for(response.chunk_delay)) return false;
    if (!pieces[i].empty()) write_chunk(pieces[i]);
  }
  if (response.fault == Fault::reset_after_chunks) {
    // Let the client read what was sent first: an RST discards unread data.
    if (!sleep_for(std::chrono::milliseconds(100))) return false;
    socket.set_option(asio::socket_base::linger(true, 0));  // close sends RST
    return false;
  }
  if (response.fault == Fault::stall_after_chunks) {
    while (sleep_for(std::chrono::milliseconds(50))) {
    }
    return false;
  }
  asio::write(stream, asio::buffer(std::string("0\r\n\r\n")));
  return !close;
}

TestHttpServer::TestHttpServer() : TestHttpServer(Options{}) {}

TestHttpServer::TestHttpServer(Options options) : impl_(std::make_unique<Impl>(*this)) {
  if (options.tls) {
    impl_->tls.emplace(ssl::context::tls_server);
    impl_->tls->use_certificate_chain_file(pki_dir() + "/server.pem");
    impl_->tls->use_private_key_file(pki_dir() + "/server.key", ssl::context::pem);
  }
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] { impl_->accept_loop(); });
}

TestHttpServer::~TestHttpServer() {
  impl_->stopping = true;
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);  // wakes the blocked accept()
  impl_->accept_thread.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->mutex);
    for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);  // wakes blocked reads/writes
    threads = std::move(impl_->threads);
  }
  for (auto& thread : threads) thread.join();
}

void TestHttpServer::route(std::string method, std::string path, TestHandler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->route_keys.emplace_back(std::move(method), std::move(path));
  impl_->handlers.push_back(std::move(handler));
}

std::string TestHttpServer::base_url() const {
  return fmt::format("{}://127.0.0.1:{}", impl_->tls ? "https" : "http", port_);
}

void TestHttpServer::close_connections() {
  std::lock_guard lock(impl_->mutex);
  for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
}

std::optional<TestRequest> TestHttpServer::last_request() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->last;
}

}  // namespace cnai::test
