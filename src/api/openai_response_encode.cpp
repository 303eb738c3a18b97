// ChatResponse -> OpenAI Chat Completions response body (with cnai extras).
#include <boost/json.hpp>

#include "api/json_fields.hpp"
#include "cnai/api/json.hpp"

namespace cnai {
namespace {

namespace bj = boost::json;

bj::object encode_choice(const Choice& c) {
  bj::object message{{"role", std::string(to_string(c.message.role))}};
  message["content"] = c.message.content.empty() && !c.message.tool_calls.empty() ? bj::value(nullptr)
                                                                                   : bj::value(bj::string(c.message.content));
  if (!c.message.tool_calls.empty()) {
    bj::array calls;
    for (const ToolCall& t : c.message.tool_calls) {
      calls.push_back(bj::object{{"id", t.id}, {"type", "function"},
                                 {"function", bj::object{{"name", t.name}, {"arguments", t.arguments}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  bj::value finish = c.finish_reason == FinishReason::none ? bj::value(nullptr)
                                                           : bj::value(bj::string(to_string(c.finish_reason)));
  bj::object choice{{"index", c.index}, {"message", std::move(message)}, {"finish_reason", std::move(finish)}};
  if (!c.token_ids.empty()) {  // local engines: the sampled ids (an extension; clients ignore it)
    bj::array ids;
    ids.reserve(c.token_ids.size());
    for (std::int32_t id : c.token_ids) ids.push_back(id);
    choice["token_ids"] = std::move(ids);
  }
  return choice;
}

}  // namespace

std::string to_openai_json(const ChatResponse& r) {
  bj::array choices;
  for (const Choice& c : r.choices) choices.push_back(encode_choice(c));
  bj::object usage{{"prompt_tokens", r.usage.prompt_tokens},
                   {"completion_tokens", r.usage.completion_tokens},
                   {"total_tokens", r.usage.total_tokens}};
  if (r.usage.cached_prompt_tokens > 0) usage["prompt_tokens_details"] = bj::object{{"cached_tokens", r.usage.cached_prompt_tokens}};
  bj::object timings{{"time_to_first_token_ms", r.timings.time_to_first_token_ms},
                     {"total_ms", r.timings.total_ms},
                     {"queue_ms", r.timings.queue_ms},
                     {"prompt_tokens_per_s", r.timings.prompt_tokens_per_s},
                     {"completion_tokens_per_s", r.timings.completion_tokens_per_s}};
  bj::object extras{{"backend", r.backend},
                    {"cost_usd", r.usage.cost_usd},
                    {"cached_prompt_tokens", r.usage.cached_prompt_tokens},
                    {"timings", std::move(timings)}};
  if (r.route) {
    // How a router served it: which deployment, after which failures.
    bj::array attempts;
    for (const RouteAttempt& a : r.route->attempts) {
      bj::object x{{"deployment", a.deployment}, {"duration_ms", a.duration_ms}};
      if (!a.error_code.empty()) {
        x["error_code"] = a.error_code;
        x["error"] = a.error;
        if (a.upstream_status) x["upstream_status"] = a.upstream_status;
      }
      attempts.push_back(std::move(x));
    }
    bj::array skipped;
    for (const std::string& s : r.route->skipped) skipped.push_back(bj::string(s));
    bj::object route{{"alias", r.route->alias},
                     {"deployment", r.route->deployment},
                     {"attempts", std::move(attempts)},
                     {"skipped", std::move(skipped)},
                     {"router_overhead_us", r.route->router_overhead_us},
                     {"estimated_cost_usd", r.route->estimated_cost_usd},
                     {"cache_hit", r.route->cache_hit}};
    if (!r.route->joined_from.empty()) {
      route["joined_from"] = r.route->joined_from;
      route["joined_at"] = r.route->joined_at;
      route["join_reason"] = r.route->join_reason;
    }
    extras["route"] = std::move(route);
  }
  bj::object o{{"id", r.id},
               {"object", "chat.completion"},
               {"created", r.created},
               {"model", r.model},
               {"choices", std::move(choices)},
               {"usage", std::move(usage)},
               {"cnai", std::move(extras)}};
  return json::dump(o);
}

}  // namespace cnai
