# cnai::router — the cloud-or-local Router (src/router): deployments behind
# aliases, policies, breakers, budgets, metrics, YAML/JSON configs. It sits on
# the local engine and the clients, so it is built when both are; its configs
# are read with yaml-cpp (Debian libyaml-cpp-dev) and Boost.JSON.
set(CNAI_WITH_ROUTER OFF)
if(CNAI_WITH_LOCAL AND CNAI_WITH_CLOUD)
  set(CNAI_WITH_ROUTER ON)
  if(NOT TARGET yaml-cpp AND NOT TARGET yaml-cpp::yaml-cpp)
    find_package(yaml-cpp REQUIRED)
  endif()
  # yaml-cpp 0.8 names its target yaml-cpp::yaml-cpp; 0.7 (Debian 12) plain yaml-cpp.
  if(TARGET yaml-cpp::yaml-cpp)
    set(CNAI_YAML_TARGET yaml-cpp::yaml-cpp)
  else()
    set(CNAI_YAML_TARGET yaml-cpp)
  endif()
endif()
cnai_add_layer(router WHEN CNAI_WITH_ROUTER FOLDERS router USES local cloud
  PRIVATE_LIBS fmt::fmt Boost::json Boost::headers OpenSSL::Crypto ${CNAI_YAML_TARGET})
