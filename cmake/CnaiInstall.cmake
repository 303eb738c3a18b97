# Install rules and the CMake package: `cmake --install build --prefix P` puts
# the headers under P/include/cnai/, libcnai_<group>.a under P/lib, and
# P/lib/cmake/cnai/ (cnaiConfig.cmake, its version file, the exported targets
# cnai::base, cnai::cloud, cnai::local, cnai::server ..., cnai::cnai) plus
# P/lib/pkgconfig/cnai.pc, so a host does find_package(cnai) or pkg-config.
#
# The groups are static by default and link their libraries privately, so the
# exported targets name them ($<LINK_ONLY:...>) and the config file must find
# each again: the table below says, per imported target a group links, the
# find_dependency() line and the pkg-config words it needs. A group that links
# a target missing from the table falls back to find_dependency(<namespace>).

include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CNAI_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/cnai" CACHE STRING
  "Where cnaiConfig.cmake goes, relative to the prefix")

# imported target -> "find_dependency line|pkg-config module|linker words"
function(cnai_dependency_of lib out_find out_pc out_libs)
  set(find "")
  set(pc "")
  set(words "")
  if(lib STREQUAL "Threads::Threads")
    set(find "find_dependency(Threads)")
    set(words "-pthread")
  elseif(lib STREQUAL "fmt::fmt")
    set(find "find_dependency(fmt)")
    set(pc "fmt")
  elseif(lib STREQUAL "Boost::json")
    set(find "find_dependency(Boost 1.81 COMPONENTS json)")
    set(words "-lboost_json")
  elseif(lib STREQUAL "Boost::headers")
    set(find "find_dependency(Boost 1.81)")
  elseif(lib MATCHES "^OpenSSL::")
    set(find "find_dependency(OpenSSL)")
    set(pc "openssl")
  elseif(lib STREQUAL "ZLIB::ZLIB")
    set(find "find_dependency(ZLIB)")
    set(pc "zlib")
  elseif(lib STREQUAL "SQLite::SQLite3")
    set(find "find_dependency(SQLite3)")
    set(pc "sqlite3")
  elseif(lib STREQUAL "PostgreSQL::PostgreSQL")
    set(find "find_dependency(PostgreSQL)")
    set(pc "libpq")
  elseif(lib STREQUAL "PkgConfig::PCRE2")
    set(find "cnai_find_pkg_config(PCRE2 libpcre2-8)")
    set(pc "libpcre2-8")
  elseif(lib STREQUAL "PkgConfig::HIREDIS")
    set(find "cnai_find_pkg_config(HIREDIS hiredis)")
    set(pc "hiredis")
  elseif(lib STREQUAL "yaml-cpp" OR lib STREQUAL "yaml-cpp::yaml-cpp")  # 0.7 (Debian 12) names it plain yaml-cpp
    set(find "find_dependency(yaml-cpp)")
    set(pc "yaml-cpp")
  elseif(lib MATCHES "^CUDA::(.*)$")
    set(find "find_dependency(CUDAToolkit)")
    set(words "-L${CUDAToolkit_LIBRARY_DIR} -l${CMAKE_MATCH_1}")
  elseif(lib MATCHES "^([A-Za-z0-9_.+-]+)::")
    set(find "find_dependency(${CMAKE_MATCH_1})")
    message(STATUS "cnai: no install rule knows ${lib}; cnaiConfig.cmake calls find_dependency(${CMAKE_MATCH_1}) "
                   "and cnai.pc leaves it out (add it to cmake/CnaiInstall.cmake)")
  elseif(NOT lib MATCHES "[$<>]")
    set(words "-l${lib}")
  endif()
  set(${out_find} "${find}" PARENT_SCOPE)
  set(${out_pc} "${pc}" PARENT_SCOPE)
  set(${out_libs} "${words}" PARENT_SCOPE)
endfunction()

function(cnai_install)
  get_property(layers GLOBAL PROPERTY CNAI_LAYERS)
  set(targets cnai)
  set(finds "")
  set(pc_requires "")
  set(pc_words "")
  set(pc_libs "")
  set(header_dirs "")
  foreach(name IN LISTS layers)
    list(APPEND targets cnai_${name})
    list(PREPEND pc_libs "-lcnai_${name}")  # a group before the groups it uses
    get_property(folders GLOBAL PROPERTY CNAI_LAYER_${name}_FOLDERS)
    foreach(folder IN LISTS folders)
      if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/include/cnai/${folder})
        list(APPEND header_dirs ${PROJECT_SOURCE_DIR}/include/cnai/${folder})
      endif()
    endforeach()
    get_target_property(libs cnai_${name} LINK_LIBRARIES)
    foreach(lib IN LISTS libs)
      if(lib MATCHES "^cnai_")
        continue()
      endif()
      cnai_dependency_of("${lib}" find pc words)
      if(find)
        list(APPEND finds "${find}")
      endif()
      if(pc)
        list(APPEND pc_requires "${pc}")
      endif()
      if(words)
        list(APPEND pc_words "${words}")
      endif()
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES finds)
  list(REMOVE_DUPLICATES pc_requires)
  list(REMOVE_DUPLICATES pc_words)
  set_target_properties(cnai PROPERTIES EXPORT_NAME cnai)

  install(TARGETS ${targets} EXPORT cnaiTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT cnai_development
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT cnai_runtime
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cnai_runtime)
  install(DIRECTORY ${header_dirs} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cnai COMPONENT cnai_development
    FILES_MATCHING PATTERN "*.hpp")
  install(FILES ${PROJECT_SOURCE_DIR}/include/cnai/cnai.hpp ${PROJECT_BINARY_DIR}/include/cnai/version.hpp
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cnai COMPONENT cnai_development)
  install(EXPORT cnaiTargets NAMESPACE cnai:: FILE cnaiTargets.cmake
    DESTINATION ${CNAI_INSTALL_CMAKEDIR} COMPONENT cnai_development)

  # cnaiConfig.cmake: the dependencies, the targets, and one component per group
  # (find_package(cnai REQUIRED COMPONENTS local cloud) fails when one is absent).
  list(JOIN finds "\n" CNAI_FIND_DEPENDENCIES)
  set(CNAI_COMPONENTS ${layers})
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cnaiConfig.cmake.in
    ${PROJECT_BINARY_DIR}/cnaiConfig.cmake INSTALL_DESTINATION ${CNAI_INSTALL_CMAKEDIR})
  # 0.x: a minor release may break the API, so 0.1 accepts 0.1.* only.
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/cnaiConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/cnaiConfig.cmake ${PROJECT_BINARY_DIR}/cnaiConfigVersion.cmake
    DESTINATION ${CNAI_INSTALL_CMAKEDIR} COMPONENT cnai_development)

  # cnai.pc: the static groups need their dependencies on the plain --libs line.
  list(JOIN pc_requires " " CNAI_PC_REQUIRES)
  list(JOIN pc_libs " " CNAI_PC_LIBS)
  list(JOIN pc_words " " CNAI_PC_LIB_WORDS)
  if(BUILD_SHARED_LIBS)
    set(CNAI_PC_REQUIRES_PRIVATE "${CNAI_PC_REQUIRES}")
    set(CNAI_PC_REQUIRES "")
    set(CNAI_PC_LIBS_PRIVATE "${CNAI_PC_LIB_WORDS}")
    set(CNAI_PC_LIB_WORDS "")
  endif()
  # Relocatable: the prefix is found from the .pc file's own place (--prefix at install time).
  file(RELATIVE_PATH CNAI_PC_PREFIX_FROM_PCDIR /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
  string(REGEX REPLACE "/$" "" CNAI_PC_PREFIX_FROM_PCDIR "${CNAI_PC_PREFIX_FROM_PCDIR}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/cnai.pc.in ${PROJECT_BINARY_DIR}/cnai.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/cnai.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
    COMPONENT cnai_development)
endfunction()
