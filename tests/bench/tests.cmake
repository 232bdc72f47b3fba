# Benchmarks: built, never registered with ctest (timings are not tests).
#   build/tests/bench_matmul   JIT matmul kernel vs a naive triple loop (-O3), 1 thread
add_library(llmc_bench_naive STATIC ${CMAKE_CURRENT_LIST_DIR}/naive_matmul.c)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/naive_matmul.c PROPERTIES COMPILE_OPTIONS -O3)
add_executable(bench_matmul ${CMAKE_CURRENT_LIST_DIR}/bench_matmul.c)
target_include_directories(bench_matmul PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(bench_matmul PRIVATE llmc_bench_naive llmc_compiler llmc_ir m)
