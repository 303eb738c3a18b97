// JobService::process — one claimed queue entry run to its one result: a
// batch line becomes an output or error line (retrying a busy backend a few
// times, giving up on a poison entry delivered too often), a background
// response becomes its final object. A watcher keeps the lease alive and
// stops the call when the job is cancelled meanwhile.
#include <fmt/format.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "cnai/core/error.hpp"
#include "cnai/server/job_service.hpp"
#include "server/job_format.hpp"

namespace cnai {

namespace bj = server::bj;
using namespace std::chrono_literals;

namespace {

bool retryable_status(int s) { return s == 429 || s == 500 || s == 502 || s == 503 || s == 504; }

// Runs beside a call: every 200 ms asks whether the job was cancelled, every
// second renews the lease. Stops `source` on a cancel or an outer stop.
class CallWatcher {
 public:
  CallWatcher(JobStore& store, std::string job_id, std::stop_token outer, std::function<void()> heartbeat)
      : outer_cb_(outer, [this] { source_.request_stop(); }),
        thread_([this, &store, id = std::move(job_id), hb = std::move(heartbeat)] { watch(store, id, hb); }) {}
  ~CallWatcher() {
    {
      std::lock_guard lock(m_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  std::stop_token token() const { return source_.get_token(); }

 private:
  void watch(JobStore& store, const std::string& id, const std::function<void()>& heartbeat) {
    int ticks = 0;
    std::unique_lock lock(m_);
    while (!cv_.wait_for(lock, 200ms, [this] { return done_; })) {
      lock.unlock();
      try {
        auto job = store.get_job(id);
        if (!job || job->status == "cancelled" || job->status == "cancelling") source_.request_stop();
        if (heartbeat && ++ticks % 5 == 0) heartbeat();
      } catch (const Error&) {  // the store is briefly away: the lease may lapse, the work is redone
      }
      lock.lock();
    }
  }

  std::stop_source source_;
  std::stop_callback<std::function<void()>> outer_cb_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// Retries busy answers (429/5xx) with a short backoff, as OpenAI's batch
// runner does, before the status becomes the line's result.
EndpointResult call_with_retries(const EndpointExecutor& execute, const EndpointCall& call, std::stop_token stop) {
  EndpointResult r;
  auto delay = 200ms;
  for (int attempt = 0; attempt < 3; ++attempt) {
    r = execute(call, stop);
    if (!retryable_status(r.status) || stop.stop_requested()) break;
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, delay, [] { return false; });
    delay *= 2;
  }
  return r;
}

}  // namespace

void JobService::process(const QueueEntry& entry, const EndpointExecutor& execute, std::stop_token stop,
                         int max_deliveries, const std::function<void()>& heartbeat) {
  auto job = store_.get_job(entry.job_id);
  if (!job) {
    store_.acknowledge(entry);  // its job was deleted: nothing to answer
    return;
  }
  // The watcher (a thread) only for entries that will run: a cancelled
  // batch's queued lines are drained quickly.
  const bool runs = job->kind == "response" ? job->status == "queued" || job->status == "in_progress"
                                            : job->status == "in_progress";
  if (!runs) {
    if (job->kind == "response") {
      process_response(*job, entry, execute, stop);
    } else {
      process_batch_line(*job, entry, execute, stop, max_deliveries);
    }
    return;
  }
  CallWatcher watcher(store_, job->id, stop, heartbeat);
  if (job->kind == "response") {
    process_response(*job, entry, execute, watcher.token());
  } else {
    process_batch_line(*job, entry, execute, watcher.token(), max_deliveries);
  }
}

void JobService::process_batch_line(const JobRecord& job, const QueueEntry& entry, const EndpointExecutor& execute,
                                    std::stop_token stop, int max_deliveries) {
  const bj::object data = server::parse_object(job.data);
  auto answer = [&](std::string_view code, std::string_view message) {
    return ResultLine{entry.custom_id, entry.line, true,
                      server::error_line(job.id, entry.line, entry.custom_id, code, message)};
  };
  ResultLine result;
  const bj::value* exp = data.if_contains("expires_at");
  if (job.status != "in_progress") {
    // Cancelled, expired or failed meanwhile: settle() answers (or answered) the line.
    result = answer("batch_cancelled", "The batch was cancelled before this request ran.");
    if (job.status != "cancelling" && job.status != "cancelled") {
      store_.acknowledge(entry);
      return;
    }
  } else if (entry.deliveries > max_deliveries) {
    result = answer("max_deliveries_exceeded",
                    fmt::format("This request was delivered {} times without a result (a worker died on it each "
                                "time); it is not tried again.",
                                entry.deliveries - 1));
  } else if (exp && exp->is_int64() && now() >= exp->as_int64()) {
    result = answer("batch_expired", "This request could not be executed before the completion window expired.");
  } else {
    EndpointCall call{std::string(data.at("endpoint").as_string()), entry.body, options_.batch_priority};
    EndpointResult r = call_with_retries(execute, call, stop);
    if (stop.stop_requested()) {
      auto now_job = store_.get_job(job.id);
      if (!now_job || now_job->status == "in_progress") return;  // a shutdown, not a cancel: leave it for redelivery
      result = answer("batch_cancelled", "The batch was cancelled while this request ran.");
    } else {
      result = {entry.custom_id, entry.line, r.status < 200 || r.status >= 300,
                server::response_line(job.id, entry.line, entry.custom_id, r.status, r.body)};
    }
  }
  const CompleteOutcome out = store_.complete(entry, result);
  if (out.counts.completed + out.counts.failed >= out.counts.total) finalize(job.id);
}

void JobService::process_response(const JobRecord& job, const QueueEntry& entry, const EndpointExecutor& execute,
                                  std::stop_token stop) {
  if (job.status == "queued") {
    bj::object data = server::parse_object(job.data);
    data["status"] = "in_progress";
    if (!store_.update_job(job.id, "queued", "in_progress", bj::serialize(data))) {
      auto again = store_.get_job(job.id);
      if (!again || again->status != "in_progress") {
        store_.acknowledge(entry);
        return;
      }
    }
  } else if (job.status != "in_progress") {
    store_.acknowledge(entry);  // finished or cancelled already (a redelivery)
    return;
  }
  EndpointResult r = call_with_retries(execute, EndpointCall{"/v1/responses", entry.body, entry.priority}, stop);
  if (stop.stop_requested()) {
    auto now_job = store_.get_job(job.id);
    if (now_job && now_job->status == "in_progress") return;  // shutdown: redelivered later
    store_.acknowledge(entry);
    return;
  }
  bj::object data;
  if (r.status >= 200 && r.status < 300) {
    data = server::parse_object(r.body);
    data["id"] = job.id;
    data["background"] = true;
    data["created_at"] = job.created_at;
  } else {
    data = server::parse_object(job.data);
    data["status"] = "failed";
    bj::object err{{"code", "server_error"}, {"message", fmt::format("status {}", r.status)}};
    boost::system::error_code ec;
    bj::value body = bj::parse(r.body, ec);
    if (!ec && body.is_object() && body.as_object().contains("error") && body.as_object()["error"].is_object()) {
      const bj::object& e = body.as_object()["error"].as_object();
      if (auto* m = e.if_contains("message")) err["message"] = *m;
      if (auto* c = e.if_contains("code"); c && !c->is_null()) err["code"] = *c;
    }
    data["error"] = std::move(err);
  }
  if (!data.contains("status") || !data["status"].is_string()) data["status"] = "completed";
  const std::string status(data["status"].as_string());
  store_.update_job(job.id, "in_progress", status, bj::serialize(data));
  store_.acknowledge(entry);
}

}  // namespace cnai
