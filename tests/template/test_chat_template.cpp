// ChatTemplate's structured API: Messages and Tools become the OpenAI/HF-shaped
// dicts templates expect, with the globals HF provides; the ChatML fallback.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "cnai/core/error.hpp"
#include "cnai/text/chat_template.hpp"

namespace {
cnai::ToolCall call(std::string id, std::string name, std::string arguments) {
  cnai::ToolCall c;
  c.id = std::move(id);
  c.name = std::move(name);
  c.arguments = std::move(arguments);
  return c;
}
}  // namespace

TEST_CASE("messages and tools reach the template as HF-shaped dicts") {
  std::vector<cnai::Message> messages(4);
  messages[0].role = cnai::Role::system;
  messages[0].content = "S";
  messages[1].content = "Ü 😀";
  messages[2].role = cnai::Role::assistant;
  messages[2].tool_calls.push_back(call("c1", "f", R"({"a": 1, "b": [true, null]})"));
  messages[2].tool_calls.push_back(call("c2", "g", "not json"));
  messages[3].role = cnai::Role::tool;
  messages[3].content = "R";
  messages[3].tool_call_id = "c1";
  messages[3].name = "f";
  std::vector<cnai::Tool> tools(1);
  tools[0].name = "f";
  tools[0].description = "D";
  tools[0].parameters_json = R"({"type": "object", "properties": {"a": {"type": "integer"}}})";

  const auto t = cnai::ChatTemplate::parse(
      "{{ messages|tojson }}\n{{ tools|tojson }}\n{{ add_generation_prompt }} {{ bos_token }} {{ eos_token }} {{ date_string }}");
  cnai::ChatTemplateInputs in;
  in.messages = messages;
  in.tools = tools;
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  in.extra_context_json = R"({"date_string": "26 Jul 2024"})";
  CHECK(t.render(in) ==
        R"([{"role": "system", "content": "S"}, {"role": "user", "content": "Ü 😀"}, )"
        R"({"role": "assistant", "content": null, "tool_calls": [)"
        R"({"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1, "b": [true, null]}}}, )"
        R"({"id": "c2", "type": "function", "function": {"name": "g", "arguments": "not json"}}]}, )"
        R"({"role": "tool", "content": "R", "tool_call_id": "c1", "name": "f"}])"
        "\n"
        R"([{"type": "function", "function": {"name": "f", "description": "D", )"
        R"("parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}])"
        "\nTrue <s> </s> 26 Jul 2024");
}

TEST_CASE("without tools `tools` is None; multi-part content becomes a list of parts") {
  std::vector<cnai::Message> messages(1);
  messages[0].parts.push_back({"text", "hello", ""});
  messages[0].parts.push_back({"image_url", "", "http://x/y.png"});
  const auto t = cnai::ChatTemplate::parse("{{ tools is none }} {{ messages[0].content }} {{ add_generation_prompt }}");
  cnai::ChatTemplateInputs in;
  in.messages = messages;
  in.add_generation_prompt = false;
  CHECK(t.render(in) == "True [{'type': 'text', 'text': 'hello'}, {'type': 'image_url', 'image_url': {'url': 'http://x/y.png'}}] False");
}

TEST_CASE("the ChatML fallback") {
  std::vector<cnai::Message> messages(3);
  messages[0].role = cnai::Role::system;
  messages[0].content = "Be brief.";
  messages[1].content = "hi";
  messages[2].role = cnai::Role::assistant;
  messages[2].content = "hello";
  cnai::ChatTemplateInputs in;
  in.messages = messages;
  const auto t = cnai::ChatTemplate::chatml();
  CHECK(t.render(in) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
        "<|im_start|>assistant\nhello<|im_end|>\n<|im_start|>assistant\n");
  in.add_generation_prompt = false;
  CHECK(t.render(in).ends_with("hello<|im_end|>\n"));
  CHECK(t.source().find("im_start") != std::string::npos);
}

TEST_CASE("a copied template shares its parse and renders the same") {
  const auto a = cnai::ChatTemplate::parse("{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}");
  const auto b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(&a.source() == &b.source());
  CHECK(b.render_json(R"({"messages": [{"role": "user", "content": "x"}]})") == "user:x;");
}

TEST_CASE("bad context JSON is invalid_argument") {
  const auto t = cnai::ChatTemplate::parse("x");
  CHECK_THROWS_AS(t.render_json("{not json"), cnai::Error);
  CHECK_THROWS_AS(t.render_json("[1, 2]"), cnai::Error);
  cnai::ChatTemplateInputs in;
  in.extra_context_json = "nope";
  CHECK_THROWS_AS(t.render(in), cnai::Error);
}

TEST_CASE("one template renders concurrently from several threads") {
  const auto t = cnai::ChatTemplate::parse(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{{ m.content|upper }}{% endfor %}{{ ns.n }}");
  const std::string expected = t.render_json(R"({"messages": [{"content": "a"}, {"content": "b"}]})");
  CHECK(expected == "AB2");
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (t.render_json(R"({"messages": [{"content": "a"}, {"content": "b"}]})") != expected) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(mismatches.load() == 0);
}

TEST_CASE("strftime_now formats ChatTemplateInputs::now (an option, not the environment)") {
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 2;  // March
  tm.tm_mday = 5;
  tm.tm_hour = 14;
  tm.tm_min = 7;
  tm.tm_sec = 9;
  tm.tm_isdst = -1;
  const auto when = std::chrono::system_clock::from_time_t(std::mktime(&tm));
  const cnai::ChatTemplate t = cnai::ChatTemplate::parse("{{ strftime_now('%Y-%m-%d %H:%M:%S %A %d %B') }}");
  cnai::ChatTemplateInputs in;
  in.now = when;
  CHECK(t.render(in) == "2024-03-05 14:07:09 Tuesday 05 March");
  CHECK(t.render_json("{}", when) == "2024-03-05 14:07:09 Tuesday 05 March");
  setenv("CNAI_TEMPLATE_NOW", "1999-01-01 00:00:00", 1);  // the library ignores it; only the CLI maps it
  CHECK(t.render(in) == "2024-03-05 14:07:09 Tuesday 05 March");
  CHECK(t.render({}).substr(0, 4) != "1999");
  unsetenv("CNAI_TEMPLATE_NOW");
}
