// Router serving fixtures: a Router built from a YAML config with keys from
// a fake environment, behind an HttpServer with serve_router's options (as
// `cnai serve --config` builds them); deployments are OpenAI clients on
// loopback test servers (server_fixture.hpp's Upstream).
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <boost/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnai/router/router_config.hpp"
#include "cnai/server/http_server.hpp"
#include "cnai/server/router_serving.hpp"
#include "server/server_fixture.hpp"

namespace cnai::test {

// The router a config describes, as `cnai serve --config` builds it (keys from a fake environment).
struct ServedRouter {
  std::shared_ptr<cnai::Router> router;
  cnai::ServerOptions options;
  std::unique_ptr<cnai::HttpServer> server;

  explicit ServedRouter(const std::string& yaml, std::shared_ptr<cnai::SpendStore> spend = nullptr,
                        std::vector<cnai::ApiKey> keys = {}) {
    auto env = [](const std::string& var) -> std::optional<std::string> {
      if (var == "TEST_KEY") return std::string("sk-test");
      return std::nullopt;
    };
    cnai::ConfigCheck check = cnai::check_router_config(yaml, "test.yaml", env);
    REQUIRE_MESSAGE(check.ok(), check.report("test.yaml"));
    cnai::RouterBuildOptions bo;
    bo.env = env;
    bo.spend_store = std::move(spend);
    router = cnai::build_router(check.config, bo);
    options.port = 0;
    options.compute_threads = 8;
    options.api_keys = std::move(keys);
    cnai::serve_router(options, router, check.config.default_alias);
    server = std::make_unique<cnai::HttpServer>(*router, options);
    server->start();
  }

  std::string call(const std::string& method, const std::string& target, const std::string& body = {},
                   const std::string& headers = {}) {
    RawClient c(server->port());
    c.send(cnai::test::http_request(method, target, body, headers));
    return c.read_response(20s);
  }
};

inline std::string deployment_yaml(const std::string& name, const Upstream& up, const std::string& extra = {}) {
  return fmt::format("  {}:\n    type: openai\n    model: up-model\n    base_url: {}/v1\n    api_key: ${{TEST_KEY}}\n"
                     "    retries: 0\n{}",
                     name, up.http.base_url(), extra);
}

inline const std::string kHi = R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})";

inline std::string with_model(const std::string& model) {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}],"max_tokens":2})";
}

inline std::string route_of(const std::string& response, const char* field) {
  const bj::value v = bj::parse(cnai::test::body_of(response));
  return std::string(v.at("cnai").at("route").at(field).as_string());
}

}  // namespace cnai::test
