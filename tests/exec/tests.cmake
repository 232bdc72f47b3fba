# tests/exec/ — execution: the memory plan (compiler/memplan.c) on hand-built fusions and
# every tiny model's step (unit); the thread pool (runtime/pool.c) with C kernels (unit)
# and with JIT elementwise kernels (jit), bit-identical across thread counts and grains;
# the executor (runtime/exec.c, jit): every compute op against the interpreter, write-back
# of state, `llmir run --jit`, and whole training steps of every tiny model.
find_package(Threads REQUIRED) # imported targets are per directory: runtime/ finds it too
llmc_test(test_memplan unit ${CMAKE_CURRENT_LIST_DIR}/test_memplan.c LIBS llmc_compiler llmc_frontend)
llmc_test(test_pool unit ${CMAKE_CURRENT_LIST_DIR}/test_pool.c LIBS llmc_compiler Threads::Threads)
llmc_test(test_pool_jit jit ${CMAKE_CURRENT_LIST_DIR}/test_pool_jit.c LIBS llmc_compiler Threads::Threads)
# Whole training steps through JIT code against the interpreter, one test per tiny
# model, and bit-identity across 1, 2 and 3 threads (runtime/exec.c, runtime/train.c).
# The kernels go through one object cache in the build tree, shared by these runs.
llmc_test(test_train_jit jit ${CMAKE_CURRENT_LIST_DIR}/test_train_jit.c ARGS gpt2-tiny
          LIBS llmc_runtime llmc_compiler llmc_frontend)
set_tests_properties(test_train_jit PROPERTIES ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)
foreach(model llama-tiny mqa-tiny transformer-tiny parallel-tiny moe-tiny moe-alt-tiny)
  add_test(NAME test_train_jit_${model} COMMAND test_train_jit ${model} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_train_jit_${model} PROPERTIES LABELS jit TIMEOUT 300
                       ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)
endforeach()
add_test(NAME test_train_jit_threads COMMAND test_train_jit gpt2-tiny threads WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_train_jit_threads PROPERTIES LABELS jit TIMEOUT 300
                     ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)
add_test(NAME test_llmir_jit COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmir_jit.sh $<TARGET_FILE:llmir>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_llmir_jit PROPERTIES LABELS jit TIMEOUT 300)
llmc_test(test_exec_writeback jit ${CMAKE_CURRENT_LIST_DIR}/test_exec_writeback.c LIBS llmc_runtime llmc_compiler)
llmc_test(test_exec_ops jit ${CMAKE_CURRENT_LIST_DIR}/test_exec_ops.c LIBS llmc_runtime llmc_compiler)
