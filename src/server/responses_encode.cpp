// ChatResponse -> Response object, and ChatChunks -> Responses SSE events.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "server/responses_codec.hpp"

namespace cnai::server {
namespace {

namespace bj = boost::json;

bj::object message_item(std::string_view id, std::string_view text, std::string_view status) {
  return {{"type", "message"},
          {"id", id},
          {"status", status},
          {"role", "assistant"},
          {"content", bj::array{bj::object{{"type", "output_text"}, {"text", text}, {"annotations", bj::array{}}}}}};
}

bj::object usage_of(const Usage& u) {
  return {{"input_tokens", u.prompt_tokens},
          {"input_tokens_details", bj::object{{"cached_tokens", u.cached_prompt_tokens}}},
          {"output_tokens", u.completion_tokens},
          {"output_tokens_details", bj::object{{"reasoning_tokens", 0}}},
          {"total_tokens", u.total_tokens}};
}

bj::object response_object(const ResponsesRequest& req, std::string_view id, std::int64_t created,
                           std::string_view status, std::string_view model) {
  boost::system::error_code ec;
  bj::value metadata = bj::parse(req.metadata_json, ec);
  if (ec) metadata = bj::object{};
  bj::array tools;
  for (const Tool& t : req.chat.tools) {
    bj::value params = bj::parse(t.parameters_json, ec);
    if (ec) params = bj::object{};
    tools.push_back(bj::object{{"type", "function"}, {"name", t.name}, {"description", t.description},
                               {"parameters", params}, {"strict", false}});
  }
  return {{"id", id},
          {"object", "response"},
          {"created_at", created},
          {"status", status},
          {"background", req.background},
          {"error", nullptr},
          {"incomplete_details", nullptr},
          {"instructions", req.instructions.empty() ? bj::value(nullptr) : bj::value(bj::string(req.instructions))},
          {"max_output_tokens", req.chat.max_tokens ? bj::value(*req.chat.max_tokens) : bj::value(nullptr)},
          {"model", model},
          {"output", bj::array{}},
          {"parallel_tool_calls", true},
          {"temperature", req.chat.sampling.temperature ? bj::value(*req.chat.sampling.temperature) : bj::value(1.0)},
          {"top_p", req.chat.sampling.top_p ? bj::value(*req.chat.sampling.top_p) : bj::value(1.0)},
          {"tool_choice", req.chat.tool_choice ? bj::value(bj::string(*req.chat.tool_choice)) : bj::value("auto")},
          {"tools", std::move(tools)},
          {"text", bj::object{{"format", bj::object{{"type", "text"}}}}},
          {"metadata", std::move(metadata)},
          {"usage", nullptr}};
}

bj::object finished_object(const ChatResponse& r, const ResponsesRequest& req, std::string_view id,
                           std::int64_t created, std::string_view item_id) {
  const Choice* c = r.choices.empty() ? nullptr : &r.choices.front();
  const bool incomplete = c && c->finish_reason == FinishReason::length;
  bj::object o = response_object(req, id, created, incomplete ? "incomplete" : "completed",
                                 r.model.empty() ? req.chat.model : r.model);
  if (incomplete) o["incomplete_details"] = bj::object{{"reason", "max_output_tokens"}};
  bj::array output;
  if (c) {
    if (!c->message.content.empty() || c->message.tool_calls.empty()) {
      output.push_back(message_item(item_id, c->message.content, incomplete ? "incomplete" : "completed"));
    }
    for (const ToolCall& t : c->message.tool_calls) {
      output.push_back(bj::object{{"type", "function_call"}, {"id", "fc_" + t.id}, {"call_id", t.id},
                                  {"name", t.name}, {"arguments", t.arguments}, {"status", "completed"}});
    }
  }
  o["output"] = std::move(output);
  o["usage"] = usage_of(r.usage);
  return o;
}

}  // namespace

std::string to_responses_json(const ChatResponse& response, const ResponsesRequest& request, std::string_view id,
                              std::int64_t created_at) {
  return bj::serialize(finished_object(response, request, id, created_at, fmt::format("msg_{}", id.substr(5))));
}

ResponsesStreamWriter::ResponsesStreamWriter(const ResponsesRequest& request, std::string id, std::int64_t created_at)
    : request_(request), id_(std::move(id)), created_at_(created_at) {
  item_id_ = "msg_" + id_.substr(std::min<std::size_t>(5, id_.size()));
}

std::string ResponsesStreamWriter::event(std::string_view type, std::string body) {
  // body is the object's members after "type" and "sequence_number", without braces.
  return fmt::format("event: {}\ndata: {{\"type\":\"{}\",\"sequence_number\":{}{}{}}}\n\n", type, type, sequence_++,
                     body.empty() ? "" : ",", body);
}

namespace {
std::string members(const bj::object& o) {
  std::string s = bj::serialize(o);
  return s.substr(1, s.size() - 2);
}
}  // namespace

std::string ResponsesStreamWriter::begin() {
  const bj::object r = response_object(request_, id_, created_at_, "in_progress", request_.chat.model);
  std::string out = event("response.created", members({{"response", r}}));
  out += event("response.in_progress", members({{"response", r}}));
  out += event("response.output_item.added",
               members({{"output_index", 0}, {"item", message_item(item_id_, "", "in_progress")}}));
  out += event("response.content_part.added",
               members({{"item_id", item_id_}, {"output_index", 0}, {"content_index", 0},
                        {"part", bj::object{{"type", "output_text"}, {"text", ""}, {"annotations", bj::array{}}}}}));
  return out;
}

std::string ResponsesStreamWriter::chunk(const ChatChunk& c) {
  if (c.delta_content.empty()) return {};
  text_ += c.delta_content;
  return event("response.output_text.delta", members({{"item_id", item_id_}, {"output_index", 0},
                                                       {"content_index", 0}, {"delta", c.delta_content}}));
}

std::string ResponsesStreamWriter::end(const ChatResponse& response) {
  std::string out = event("response.output_text.done", members({{"item_id", item_id_}, {"output_index", 0},
                                                                {"content_index", 0}, {"text", text_}}));
  out += event("response.content_part.done",
               members({{"item_id", item_id_}, {"output_index", 0}, {"content_index", 0},
                        {"part", bj::object{{"type", "output_text"}, {"text", text_}, {"annotations", bj::array{}}}}}));
  out += event("response.output_item.done",
               members({{"output_index", 0}, {"item", message_item(item_id_, text_, "completed")}}));
  out += event("response.completed",
               members({{"response", finished_object(response, request_, id_, created_at_, item_id_)}}));
  return out;
}

std::string ResponsesStreamWriter::fail(std::string_view error_json) {
  bj::object r = response_object(request_, id_, created_at_, "failed", request_.chat.model);
  boost::system::error_code ec;
  bj::value e = bj::parse(error_json, ec);
  r["error"] = !ec && e.is_object() && e.as_object().contains("error") ? e.as_object()["error"] : bj::value(nullptr);
  return event("response.failed", members({{"response", r}}));
}

}  // namespace cnai::server
