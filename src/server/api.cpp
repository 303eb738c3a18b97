// Api: the route table and the executor for internal calls.
#include "server/api.hpp"

#include <fmt/format.h>

#include <chrono>

#include "server/error_reply.hpp"

namespace cnai::server {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    const auto next = path.find('/', pos);
    out.emplace_back(path.substr(pos, next == std::string_view::npos ? next : next - pos));
    pos = next == std::string_view::npos ? path.size() : next;
  }
  return out;
}

// Internal calls have no client to stream to.
class NoSink final : public ResponseSink {
 public:
  explicit NoSink(std::stop_token stop) : stop_(stop) {}
  void start_stream(int, std::string, HeaderList) override {}
  bool write(std::string) override { return false; }
  bool streaming() const override { return false; }
  std::stop_token stop_token() const override { return stop_; }

 private:
  std::stop_token stop_;
};

}  // namespace

HttpReply json_reply(std::string body) {
  HttpReply r;
  r.body = std::move(body);
  return r;
}

std::int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

Api::Api(Backend& backend, JobService* jobs, const ServerOptions& options)
    : backend_(backend), jobs_(jobs), options_(options) {
  add_inference_routes();
  add_chat_routes();
  add_job_routes();
  add_messages_routes();
}

void Api::add(std::string method, std::string_view pattern, Handler handler) {
  routes_.push_back({std::move(method), split_path(pattern), std::move(handler)});
}

const Api::Route* Api::match(const std::string& method, const std::string& path, Params& params,
                             bool& path_known) const {
  const auto segs = split_path(path);
  path_known = false;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    Params p;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      if (r.segments[i] == "{}") {
        p.push_back(segs[i]);
      } else {
        ok = r.segments[i] == segs[i];
      }
    }
    if (!ok) continue;
    path_known = true;
    if (r.method == method) {
      params = std::move(p);
      return &r;
    }
  }
  return nullptr;
}

bool Api::knows(const std::string& method, const std::string& path, bool* path_only) const {
  Params p;
  bool known = false;
  const bool found = match(method, path, p, known) != nullptr;
  if (path_only) *path_only = known && !found;
  return found;
}

HttpReply Api::handle(const HttpRequest& request, ResponseSink& sink) {
  Params params;
  bool path_known = false;
  const Route* route = match(request.method, request.path, params, path_known);
  if (!route) {
    if (path_known) return error_reply(405, fmt::format("Method {} is not allowed on {}", request.method, request.path), {});
    return error_reply(404, fmt::format("Unknown request URL: {} {}", request.method, request.path), {},
                       "unknown_url");
  }
  const auto started = std::chrono::steady_clock::now();
  HttpReply reply;
  try {
    reply = route->handler(request, params, sink);
  } catch (const Error& e) {
    reply = error_reply(e);
  } catch (const std::exception& e) {
    reply = error_reply(Error(ErrorCode::internal, e.what()));
  }
  if (options_.usage && request.usage) {
    UsageRecord u = std::move(*request.usage);
    using namespace std::chrono;
    u.at_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    u.api_key = request.api_key_name.empty() ? (request.priority < 0 ? "batch" : "") : request.api_key_name;
    u.route = request.path;
    u.status = sink.streaming() ? 200 : reply.status;
    u.latency_ms = duration<double, std::milli>(steady_clock::now() - started).count();
    options_.usage->record(std::move(u));
  }
  return reply;
}

void Api::mark_internal(const HttpRequest& req, ChatRequest& chat) {
  chat.priority = req.priority;
  // Batch lines run below interactive work; routers match the tier (rules: {tier: batch}).
  if (req.priority < 0) chat.metadata.emplace("tier", "batch");
  // The API key's name is the tag a router's per-key budgets and caches go by
  // (scope: tag, target: api_key); a client cannot set it for another key.
  if (!req.api_key_name.empty()) {
    chat.metadata["api_key"] = req.api_key_name;
  } else {
    chat.metadata.erase("api_key");
  }
}

void Api::note_usage(const HttpRequest& req, const ChatRequest& chat, const ChatResponse* response) {
  UsageRecord u;
  u.model = chat.model;
  u.user = chat.user.value_or("");
  if (response) {
    u.backend = response->backend;
    u.prompt_tokens = response->usage.prompt_tokens;
    u.completion_tokens = response->usage.completion_tokens;
    u.cost_usd = response->usage.cost_usd;
  }
  req.usage = std::move(u);
}

EndpointExecutor Api::executor() {
  return [this](const EndpointCall& call, std::stop_token stop) {
    HttpRequest req;
    req.method = "POST";
    req.path = call.url;
    req.body = call.body;
    req.priority = call.priority;
    NoSink sink(stop);
    HttpReply reply = handle(req, sink);
    return EndpointResult{reply.status, std::move(reply.body)};
  };
}

JobService& Api::jobs() const {
  if (!jobs_) throw Error(ErrorCode::not_found, "Files, Batches and background responses need a job queue (--queue)");
  return *jobs_;
}

}  // namespace cnai::server
