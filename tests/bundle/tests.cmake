# tests/bundle/ — compiled bundles (runtime/bundle.c, llmc -o X.llmc, llmir on bundles).
# The reader alone on a small in-process bundle, with every bad-input case and a bounded
# mutation test (unit: fast, also under ASan+UBSan).
llmc_test(test_bundle_reader unit ${CMAKE_CURRENT_LIST_DIR}/test_bundle_reader.c)
# A real bundle of gpt2-tiny (llmc -o, --no-cache): its IR equals a fresh compile, its
# objects installed into an empty cache make @micro's executor load every kernel (no
# codegen) and compute the same bytes; another target installs nothing.
llmc_test(test_bundle_jit jit ${CMAKE_CURRENT_LIST_DIR}/test_bundle_jit.c ARGS $<TARGET_FILE:llmc>
          LIBS llmc_runtime llmc_compiler llmc_frontend)
add_dependencies(test_bundle_jit llmc)
# llmc -o and llmir print/stats on a bundle through their command lines, and every bad
# bundle (truncated, corrupt section, wrong version, not a bundle) with its message.
add_test(NAME test_bundle_tools COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_bundle_tools.sh
         $<TARGET_FILE:llmc> $<TARGET_FILE:llmir> WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_bundle_tools PROPERTIES LABELS jit TIMEOUT 300
                     ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)
