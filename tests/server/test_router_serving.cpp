// HttpServer over a Router built from a config (serve_router, as `cnai serve
// --config` does): aliases in /v1/models, a request naming no model served
// by the default alias, /readyz per alias, the router's metrics on /metrics.
// Deployments are OpenAI clients on loopback test servers.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <sstream>

#include "server/router_fixture.hpp"

namespace bj = boost::json;
using namespace cnai::test;
using namespace std::chrono_literals;

TEST_CASE("serve_router: aliases are the models; no model means the default alias, not the first") {
  Upstream a, b;
  ServedRouter s("router: {name: t, default_alias: second}\ndeployments:\n" + deployment_yaml("dep-a", a) +
                 deployment_yaml("dep-b", b) +
                 "aliases:\n  first: {targets: [dep-a]}\n  second: {targets: [dep-b]}\n");
  const bj::value models = bj::parse(cnai::test::body_of(s.call("GET", "/v1/models")));
  std::set<std::string> ids;
  for (const auto& m : models.at("data").as_array()) ids.insert(std::string(m.at("id").as_string()));
  CHECK(ids == std::set<std::string>{"first", "second", "dep-a", "dep-b"});

  const std::string plain = s.call("POST", "/v1/chat/completions", kHi);
  REQUIRE_MESSAGE(cnai::test::status_of(plain) == 200, plain);
  CHECK(route_of(plain, "alias") == "second");
  CHECK(route_of(plain, "deployment") == "dep-b");
  CHECK(a.calls == 0);
  CHECK(b.calls == 1);

  const std::string first = s.call("POST", "/v1/chat/completions", with_model("first"));
  REQUIRE(cnai::test::status_of(first) == 200);
  CHECK(route_of(first, "deployment") == "dep-a");
  const std::string direct = s.call("POST", "/v1/chat/completions", with_model("dep-b"));
  REQUIRE(cnai::test::status_of(direct) == 200);
  CHECK(route_of(direct, "deployment") == "dep-b");
  const std::string unknown = s.call("POST", "/v1/chat/completions", with_model("nope"));
  CHECK(cnai::test::status_of(unknown) == 404);
  CHECK(cnai::test::body_of(unknown).find("no alias or deployment 'nope'") != std::string::npos);
  // Legacy completions take the same default.
  const std::string legacy = s.call("POST", "/v1/completions", R"({"prompt":"hi","max_tokens":2})");
  REQUIRE(cnai::test::status_of(legacy) == 200);
  CHECK(bj::parse(cnai::test::body_of(legacy)).at("model") == "second");
  CHECK(b.calls == 3);
}

TEST_CASE("/readyz per alias: an alias whose only deployment's breaker is open makes the server unready, naming it") {
  Upstream ok, broken;
  broken.chat_reply = [](const cnai::test::TestRequest&) {
    return cnai::test::TestResponse::json(R"({"error":{"message":"down","type":"server_error"}})", 500);
  };
  ServedRouter s("router: {name: t, default_alias: chat}\ndeployments:\n" + deployment_yaml("steady", ok) +
                 deployment_yaml("flaky", broken, "    breaker: {minimum_calls: 2, failure_rate: 0.5, cooldown: 60s}\n") +
                 "aliases:\n  chat: {targets: [steady]}\n  fragile: {targets: [flaky]}\n"
                 "  both: {targets: [flaky, steady]}\n");
  CHECK(cnai::test::status_of(s.call("GET", "/readyz")) == 200);
  for (int i = 0; i < 2; ++i) CHECK(cnai::test::status_of(s.call("POST", "/v1/chat/completions", with_model("fragile"))) >= 500);
  const std::string r = s.call("GET", "/readyz");
  REQUIRE_MESSAGE(cnai::test::status_of(r) == 503, r);
  const bj::value v = bj::parse(cnai::test::body_of(r));
  CHECK(v.at("status") == "not ready");
  const auto& reasons = v.at("reasons").as_array();
  REQUIRE(reasons.size() == 1);  // 'both' still has 'steady'; 'chat' is untouched
  const std::string reason(reasons[0].as_string());
  CHECK(reason.find("alias 'fragile'") != std::string::npos);
  CHECK(reason.find("flaky: breaker open") != std::string::npos);
  // The other aliases still serve; liveness is not readiness.
  CHECK(cnai::test::status_of(s.call("POST", "/v1/chat/completions", with_model("both"))) == 200);
  CHECK(cnai::test::status_of(s.call("GET", "/healthz")) == 200);
  CHECK(cnai::router_unready(*s.router) == std::vector<std::string>{reason});
}

TEST_CASE("/metrics: the router's metrics beside the server's and the backend's, each family declared once") {
  Upstream up;
  ServedRouter s("deployments:\n" + deployment_yaml("cloud", up) + "aliases:\n  chat: {targets: [cloud]}\n");
  REQUIRE(cnai::test::status_of(s.call("POST", "/v1/chat/completions", kHi)) == 200);
  const std::string text = cnai::test::body_of(s.call("GET", "/metrics"));
  CHECK(text.find("cnai_server_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 1") != std::string::npos);
  CHECK(text.find("cnai_router_requests_total{cnai_deployment=\"cloud\"} 1") != std::string::npos);
  CHECK(text.find("cnai_router_alias_requests_total{alias=\"chat\",outcome=\"served\"} 1") != std::string::npos);
  CHECK(text.find("gen_ai_client_operation_duration_seconds_count{") != std::string::npos);
  CHECK(text.find("cnai_backend_up{backend=\"router\"} 1") != std::string::npos);
  std::map<std::string, int> declared;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      const std::string name = line.substr(0, line.find(' ', 7));
      CHECK_MESSAGE(++declared[name] == 1, "declared twice: " << line);
    }
  }
  CHECK(declared.count("# TYPE cnai_router_requests_total") == 1);
}

