# The library as one target per group of layers (DESIGN.md), so a host links
# only what it uses: cnai::base (core, api), cnai::cloud (clients: Beast,
# OpenSSL, zlib), cnai::local (tensor ... engine: PCRE2, CUDA), and the
# umbrella cnai::cnai that links every group built.
#
# A group takes every .cpp under its folders of src/; the configure step fails
# naming any folder of src/ that no group claims, so a new folder costs one
# edit: add it to a group's FOLDERS in CMakeLists.txt, or add a group:
#   cnai_add_layer(router FOLDERS router USES local cloud)
# WHEN <var> builds a group only when <var> is true (its folders still count
# as claimed). PRIVATE_LIBS are its own dependencies, hidden from hosts.

include_guard(GLOBAL)

add_library(cnai INTERFACE)
add_library(cnai::cnai ALIAS cnai)
set_property(GLOBAL PROPERTY CNAI_CLAIMED_FOLDERS "")
# The groups built, in the order made (each after the ones it uses), with
# their folders and private libraries: cmake/CnaiInstall.cmake reads them.
set_property(GLOBAL PROPERTY CNAI_LAYERS "")

# Kernels for one instruction set live in files named *_avx2.cpp / *_avx512.cpp
# and are compiled for that ISA only (the dispatcher picks one at run time);
# without CNAI_X86_KERNELS they are left out and the portable kernels serve.
function(cnai_filter_isa_sources out_var)
  set(kept "")
  foreach(src IN LISTS ARGN)
    if(src MATCHES "_avx(2|512)\\.cpp$" AND NOT CNAI_X86_KERNELS)
      continue()
    endif()
    if(src MATCHES "_avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
        "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx512bf16;-mavx2;-mfma;-mf16c;-mbmi2")
    elseif(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mbmi2")
    endif()
    list(APPEND kept ${src})
  endforeach()
  set(${out_var} ${kept} PARENT_SCOPE)
endfunction()

function(cnai_add_layer name)
  cmake_parse_arguments(L "" "WHEN" "FOLDERS;USES;PRIVATE_LIBS" ${ARGN})
  set_property(GLOBAL APPEND PROPERTY CNAI_CLAIMED_FOLDERS ${L_FOLDERS})
  if(DEFINED L_WHEN AND NOT ${L_WHEN})
    return()
  endif()
  set(sources "")
  foreach(folder IN LISTS L_FOLDERS)
    file(GLOB_RECURSE found CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${folder}/*.cpp)
    list(APPEND sources ${found})
  endforeach()
  cnai_filter_isa_sources(sources ${sources})
  set(target cnai_${name})
  add_library(${target} ${sources})
  add_library(cnai::${name} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
           $<INSTALL_INTERFACE:include>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_features(${target} PUBLIC cxx_std_20)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON CXX_EXTENSIONS OFF)
  foreach(dep IN LISTS L_USES)
    target_link_libraries(${target} PUBLIC cnai_${dep})
  endforeach()
  target_link_libraries(${target} PUBLIC Threads::Threads PRIVATE ${L_PRIVATE_LIBS})
  cnai_set_warnings(${target})
  target_link_libraries(cnai INTERFACE ${target})
  # Installed and exported as cnai::${name} (libcnai_${name}.a).
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  set_property(GLOBAL APPEND PROPERTY CNAI_LAYERS ${name})
  set_property(GLOBAL PROPERTY CNAI_LAYER_${name}_FOLDERS ${L_FOLDERS})
  set_property(GLOBAL PROPERTY CNAI_LAYER_${name}_LIBS ${L_PRIVATE_LIBS})
endfunction()

# Fails the configure step when a folder of src/ belongs to no group.
function(cnai_check_layers_claimed)
  get_property(claimed GLOBAL PROPERTY CNAI_CLAIMED_FOLDERS)
  file(GLOB entries LIST_DIRECTORIES true ${PROJECT_SOURCE_DIR}/src/*)
  foreach(entry IN LISTS entries)
    get_filename_component(folder ${entry} NAME)
    if(IS_DIRECTORY ${entry} AND NOT folder IN_LIST claimed)
      message(FATAL_ERROR "src/${folder} belongs to no library target: add it to a cnai_add_layer() "
                          "in CMakeLists.txt (see cmake/CnaiLayers.cmake)")
    endif()
  endforeach()
endfunction()
