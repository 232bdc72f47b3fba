# Benchmarks: built, never registered with ctest (timings are not tests).
#   build/tests/bench_matmul   JIT matmul kernel vs OpenBLAS sgemm (dlopen'ed, never linked),
#                              1 and 2 threads; a naive triple loop (-O3) checks without it
add_library(llmc_bench_naive STATIC ${CMAKE_CURRENT_LIST_DIR}/naive_matmul.c)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/naive_matmul.c PROPERTIES COMPILE_OPTIONS -O3)
add_executable(bench_matmul ${CMAKE_CURRENT_LIST_DIR}/bench_matmul.c)
target_include_directories(bench_matmul PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(bench_matmul PRIVATE llmc_bench_naive llmc_runtime llmc_compiler llmc_ir m ${CMAKE_DL_LIBS})
#   build/tests/bench_step     training steps: JIT (1 thread, all cores) vs interpreter,
#                              kernels per step, compile time cold vs cached
add_executable(bench_step ${CMAKE_CURRENT_LIST_DIR}/bench_step.c)
target_include_directories(bench_step PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(bench_step PRIVATE llmc_runtime llmc_compiler llmc_frontend llmc_ir m)
#   build/tests/bench_tok      BPE tokenizer on the fortunes corpus: train (vocab 4096)
#                              time, encode MB/s (cold and warm cache), decode MB/s
add_executable(bench_tok ${CMAKE_CURRENT_LIST_DIR}/bench_tok.c)
target_link_libraries(bench_tok PRIVATE llmc_runtime llmc_ir)
#   build/tests/bench_attention  fused attention vs the composite it replaces, forward +
#                              backward at the benchmark models' shapes and T = 1024, 2048
add_executable(bench_attention ${CMAKE_CURRENT_LIST_DIR}/bench_attention.c)
target_link_libraries(bench_attention PRIVATE llmc_runtime llmc_compiler llmc_ir m)
