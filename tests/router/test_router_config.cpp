// Router configs from YAML and JSON: the shipped deploy/router.yaml, every
// problem reported with its line (lines counted by hand in the texts below),
// secrets only as ${ENV_VAR} and never printed, a config built into a working
// router against a loopback server.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "cnai/router/router_config.hpp"
#include "fake_cloud.hpp"
#include "support/default_model.hpp"

using namespace cnai;
using cnai::test::FakeCloud;

namespace {

using cnai::testing::env_of;
using cnai::testing::process_environment;  // what a host passes to mean its own environment

const ConfigProblem* problem_at(const ConfigCheck& c, int line) {
  for (const auto& p : c.problems)
    if (p.line == line) return &p;
  return nullptr;
}

std::string all_text(const ConfigCheck& c) { return c.report("cfg"); }

}  // namespace

TEST_CASE("the shipped deploy/router.yaml: the cloud deployment is left out without its key, kept with it") {
  const std::string path = std::string(CNAI_SOURCE_DIR) + "/deploy/router.yaml";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE_FALSE(text.empty());
  ConfigCheck without = check_router_config(text, path, env_of({}));
  CHECK(without.ok());
  REQUIRE(without.config.deployments.size() == 2);
  CHECK(without.config.deployments[1].name == "gpt-4o-mini");
  CHECK_FALSE(without.config.deployments[1].enabled);
  CHECK(without.config.deployments[1].disabled_reason == "OPENAI_API_KEY is not set");
  // The model path's ${CNAI_MODEL:-default} took its default.
  CHECK(without.config.deployments[0].model_path == "/home/cnai/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf");
  REQUIRE(without.config.aliases.size() == 1);
  CHECK(without.config.aliases[0].group.members.size() == 1);  // only local left
  CHECK(without.config.rules.size() == 1);
  CHECK(without.config.rules[0].action == MetadataRule::Action::prefer_local);
  CHECK(without.config.default_alias == "chat");

  ConfigCheck with = check_router_config(text, path, env_of({{"OPENAI_API_KEY", "sk-live-secret-value"}, {"CNAI_MODEL", "/m.gguf"}}));
  CHECK(with.ok());
  CHECK(with.config.deployments[1].enabled);
  CHECK(with.config.deployments[1].api_key_env == "OPENAI_API_KEY");
  CHECK(with.config.deployments[0].model_path == "/m.gguf");
  CHECK(with.config.aliases[0].group.members.size() == 2);
  REQUIRE(with.config.deployments[1].deployment.price);
  CHECK(with.config.deployments[1].deployment.price->output_per_million == doctest::Approx(0.60));
  CHECK(with.config.deployments[0].deployment.limits.max_concurrency == 8);
}

TEST_CASE("YAML: every problem is reported with its line, and secrets are never printed") {
  const std::string text =
      "router:\n"                                   // 1
      "  name: test\n"                              // 2
      "  max_wait: soon\n"                          // 3  bad duration
      "deployments:\n"                              // 4
      "  a:\n"                                      // 5
      "    type: openai\n"                          // 6
      "    model: gpt-4o-mini\n"                    // 7
      "    api_key: sk-literal-secret-123\n"        // 8  a literal key
      "    price: {input: cheap, output: 1}\n"      // 9  not a number
      "  b:\n"                                      // 10
      "    type: openai\n"                          // 11
      "    model: m\n"                              // 12
      "    colour: blue\n"                          // 13 unknown key
      "  c:\n"                                      // 14
      "    type: quantum\n"                         // 15 unknown type
      "aliases:\n"                                  // 16
      "  chat:\n"                                   // 17
      "    policy: fastest\n"                       // 18 unknown policy
      "    targets: [a, zzz]\n"                     // 19 unknown deployment
      "budgets:\n"                                  // 20
      "  - name: daily\n"                           // 21
      "    limit: 5\n"                              // 22
      "    period: fortnight\n";                    // 23 bad period
  ConfigCheck c = check_router_config(text, "cfg.yaml", env_of({}));
  CHECK_FALSE(c.ok());
  INFO(all_text(c));
  const int expected[] = {3, 8, 9, 13, 15, 18, 19, 23};
  for (int line : expected) {
    CAPTURE(line);
    CHECK(problem_at(c, line) != nullptr);
  }
  CHECK(problem_at(c, 8)->message.find("${OPENAI_API_KEY}") != std::string::npos);
  CHECK(problem_at(c, 13)->path == "deployments.b.colour");
  CHECK(problem_at(c, 19)->message == "unknown deployment 'zzz'");
  CHECK(all_text(c).find("sk-literal-secret-123") == std::string::npos);
  CHECK(problem_at(c, 3)->describe("cfg.yaml").rfind("cfg.yaml:3:", 0) == 0);
}

TEST_CASE("YAML syntax errors and duplicate keys name their line") {
  ConfigCheck bad = check_router_config("deployments:\n  a: {type: local\n  b: 1\n", "x", env_of({}));
  REQUIRE(bad.problems.size() == 1);
  CHECK(bad.problems[0].line >= 2);
  ConfigCheck dup = check_router_config("deployments:\n  a: {type: local, model_path: m}\n  a: {type: local, model_path: m}\naliases: {c: [a]}\n", "x", env_of({}));
  REQUIRE(dup.problems.size() == 1);
  CHECK(dup.problems[0].line == 3);
  CHECK(dup.problems[0].message == "duplicate key 'a'");
  ConfigCheck list = check_router_config("- 1\n- 2\n", "x", env_of({}));
  CHECK_FALSE(list.ok());
}

TEST_CASE("whole numbers out of range or with a fraction are problems, not casts") {
  // Found by fuzz_router_config: 1e94 cast to an integer was undefined behaviour.
  const std::string text =
      "deployments:\n"                                          // 1
      "  a:\n"                                                  // 2
      "    type: local\n"                                       // 3
      "    model_path: m.gguf\n"                                // 4
      "    n_ctx: 12866700000000000000000000000000000000000000\n"  // 5 beyond int64
      "    threads: 4294967297\n"                               // 6 beyond int
      "    retries: 2.5\n"                                      // 7 not whole
      "    context_window: 1e94\n"                              // 8 beyond int64
      "aliases: {c: [a]}\n";                                    // 9
  ConfigCheck c = check_router_config(text, "cfg.yaml", env_of({}));
  INFO(all_text(c));
  CHECK(c.problems.size() == 4);
  for (int line : {5, 6, 8}) {
    CAPTURE(line);
    REQUIRE(problem_at(c, line) != nullptr);
    CHECK(problem_at(c, line)->message.find("must be at most") != std::string::npos);
  }
  REQUIRE(problem_at(c, 7) != nullptr);
  CHECK(problem_at(c, 7)->message == "expected a whole number, got 2.5");
  CHECK(problem_at(c, 6)->message.find("2147483647") != std::string::npos);
}

TEST_CASE("JSON: the same reader, problems with their lines") {
  const std::string text =
      "{\n"                                                          // 1
      "  \"deployments\": {\n"                                       // 2
      "    \"a\": {\"type\": \"openai\", \"model\": \"m\",\n"        // 3
      "          \"api_key\": \"${KEY_A}\",\n"                       // 4
      "          \"limits\": {\"rpm\": \"many\"}},\n"                // 5 not a number (quoted)
      "    \"b\": {\"type\": \"local\"}\n"                           // 6 no model_path
      "  },\n"                                                       // 7
      "  \"aliases\": {\"chat\": {\"targets\": [\"a\", \"b\"]}},\n"  // 8
      "  \"rules\": [{\"match\": {\"privacy\": \"local-only\"}, \"action\": \"teleport\"}]\n"  // 9
      "}\n";
  ConfigCheck c = check_router_config(text, "cfg.json", env_of({{"KEY_A", "secret-json-key"}}));
  INFO(all_text(c));
  CHECK_FALSE(c.ok());
  CHECK(problem_at(c, 5) != nullptr);
  CHECK(problem_at(c, 6) != nullptr);
  CHECK(problem_at(c, 9) != nullptr);
  CHECK(all_text(c).find("secret-json-key") == std::string::npos);
  ConfigCheck syntax = check_router_config("{\n  \"deployments\": {\n    \"a\": [1,,]\n}\n", "x", env_of({}));
  REQUIRE(syntax.problems.size() == 1);
  CHECK(syntax.problems[0].line == 3);
}

TEST_CASE("a config builds a working router: nested groups, rules, failures, budgets, env references") {
  FakeCloud a("from a"), b("from b");
  a.fail_with(500, "down");
  const std::string text =
      "router:\n"
      "  name: built\n"
      "  failures: {upstream: next, invalid_argument: stop}\n"
      "  breaker: {minimum_calls: 1, cooldown: 5s}\n"
      "deployments:\n"
      "  a: {type: openai, model: ma, base_url: \"${A_URL}/v1\", api_key: \"${A_KEY}\", retries: 0}\n"
      "  b: {type: openai, model: mb, base_url: \"${B_URL}/v1\", api_key: \"${B_KEY}\", retries: 0, price: {input: 1, output: 2}}\n"
      "  ext: {type: external}\n"
      "aliases:\n"
      "  chat:\n"
      "    policy: ordered\n"
      "    targets: [a, {policy: cost, targets: [b]}]\n"
      "  other: [ext]\n"
      "budgets:\n"
      "  - {name: day, scope: global, limit: 100, period: day}\n";
  RouterBuildOptions o;
  o.env = env_of({{"A_URL", a.server().base_url()}, {"B_URL", b.server().base_url()}, {"A_KEY", "k1"}, {"B_KEY", "k2"}});
  o.backends["ext"] = b.client("ext");
  auto router = Router::from_config_string(text, o, "inline.yaml");
  CHECK(router->name() == "built");
  ChatRequest r;
  r.model = "chat";
  r.messages.push_back(Message::user("hi"));
  ChatResponse out = router->chat(r);
  CHECK(out.choices.at(0).message.content == "from b");
  CHECK(out.route->attempts.at(0).error_code == "upstream");
  CHECK(router->deployments()[0].breaker == BreakerState::open);  // minimum_calls 1 from the config
  CHECK(out.usage.cost_usd == doctest::Approx((3 * 1.0 + 2 * 2.0) / 1e6));  // b's configured price, usage 3 + 2
  CHECK(a.server().last_request()->header("authorization") == "Bearer k1");
  r.model = "other";
  CHECK(router->chat(r).route->deployment == "ext");

  // A bad config throws one invalid_argument listing its problems with lines.
  try {
    Router::from_config_string("deployments: {a: {type: openai}}\naliases: {chat: [a]}\n", o, "bad.yaml");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find("bad.yaml:1:") != std::string::npos);
  }
  CHECK_THROWS_AS(Router::from_config_file("/nonexistent/router.yaml"), Error);
}

TEST_CASE("from_config_file with the default model: a relative model path next to the config") {
  auto model = cnai::testing::default_model_or_skip();
  if (!model) return;
  const auto dir = std::filesystem::temp_directory_path() / "cnai_router_cfg_test";
  std::filesystem::create_directories(dir);
  std::filesystem::remove(dir / "model.gguf");
  std::filesystem::create_symlink(*model, dir / "model.gguf");
  const std::string cfg = (dir / "router.yaml").string();
  std::ofstream(cfg) << "deployments:\n  local: {type: local, model_path: model.gguf, n_ctx: 512, threads: 1}\n"
                        "aliases:\n  chat: [local]\n";
  auto router = Router::from_config_file(cfg);
  ChatRequest r;
  r.messages.push_back(Message::user("Hi"));
  r.max_tokens = 4;
  ChatResponse out = router->chat(r);  // no model named: the default alias
  CHECK(out.route->deployment == "local");
  CHECK(out.usage.completion_tokens >= 1);
  ConfigCheck missing = check_router_config_file(cfg);
  CHECK(missing.ok());
  std::ofstream(cfg) << "deployments:\n  local: {type: local, model_path: absent.gguf}\naliases:\n  chat: [local]\n";
  ConfigCheck absent = check_router_config_file(cfg);
  CHECK_FALSE(absent.ok());
  REQUIRE(problem_at(absent, 2));
  CHECK(problem_at(absent, 2)->message.find("does not exist") != std::string::npos);
}

TEST_CASE("without an environment lookup the library reads no environment, and says so") {
  // Set in this process: a config checked without a lookup must not see them.
  ::setenv("CNAI_TEST_ROUTER_KEY", "sk-from-the-process", 1);
  ::setenv("CNAI_TEST_ROUTER_URL", "http://127.0.0.1:9/v1", 1);
  const std::string text =
      "deployments:\n"
      "  gpt: {type: openai, model: gpt-4o-mini, api_key: \"${CNAI_TEST_ROUTER_KEY}\"}\n"  // line 2
      "  other: {type: openai, model: m, base_url: \"${CNAI_TEST_ROUTER_URL:-http://127.0.0.1:8/v1}\"}\n"
      "  third: {type: openai, model: m, base_url: \"${CNAI_TEST_ROUTER_URL}\"}\n"  // line 4
      "  home: {type: local, model_path: ~/m.gguf}\n"  // line 5
      "aliases:\n  chat: [gpt, other]\n";
  ConfigCheck none = check_router_config(text, "cfg.yaml");
  INFO(all_text(none));
  REQUIRE(none.config.deployments.size() == 4);
  CHECK_FALSE(none.config.deployments[0].enabled);
  CHECK(none.config.deployments[0].disabled_reason == "CNAI_TEST_ROUTER_KEY is not resolved (no environment lookup was given)");
  CHECK(none.config.deployments[1].base_url == "http://127.0.0.1:8/v1");  // the default, not the process's value
  REQUIRE(problem_at(none, 4));
  CHECK(problem_at(none, 4)->message.find("CNAI_TEST_ROUTER_URL is not resolved") != std::string::npos);
  REQUIRE(problem_at(none, 5));
  CHECK(problem_at(none, 5)->message.find("'~' cannot be expanded") != std::string::npos);
  CHECK(all_text(none).find("sk-from-the-process") == std::string::npos);

  // The host's own choice: the process environment, passed explicitly.
  ConfigCheck with = check_router_config(text, "cfg.yaml", process_environment);
  REQUIRE(with.config.deployments.size() == 4);
  CHECK(with.config.deployments[0].enabled);
  CHECK(with.config.deployments[1].base_url == "http://127.0.0.1:9/v1");
  CHECK(with.config.deployments[2].base_url == "http://127.0.0.1:9/v1");
  CHECK_FALSE(problem_at(with, 4));
  ::unsetenv("CNAI_TEST_ROUTER_KEY");
  ::unsetenv("CNAI_TEST_ROUTER_URL");
}
