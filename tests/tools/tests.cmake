# llmir end to end through its command line.
add_test(NAME test_llmir COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmir.sh $<TARGET_FILE:llmir>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_llmir PROPERTIES LABELS unit TIMEOUT 300)
# llmc --emit=llvm|asm on gpt2-tiny: a define / a label per kernel function, only llvm.*
# declarations, zmm FMAs in matmul kernels on AVX-512 hosts.
add_test(NAME test_emit_llvm COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_emit_llvm.sh $<TARGET_FILE:llmc>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_emit_llvm PROPERTIES LABELS jit TIMEOUT 600)
# llmbench --smoke: the benchmark's table (peaks, one matmul shape, gpt2-tiny trained for
# 3 steps through llmc and llmrun) prints positive measured figures. Heavy (it compiles a
# model cold), optimized build only.
add_test(NAME test_llmbench COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmbench.sh $<TARGET_FILE:llmbench>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_llmbench PROPERTIES LABELS e2e TIMEOUT 600)

# Scaling laws (tools/scaling.c): the closed-form optimum, the published constants, and a
# fit on synthetic runs recovering known constants.
llmc_test(test_scaling unit ${CMAKE_CURRENT_LIST_DIR}/test_scaling.c ${CMAKE_SOURCE_DIR}/tools/scaling.c LIBS llmc_runtime llmc_ir m)
target_include_directories(test_scaling PRIVATE ${CMAKE_SOURCE_DIR}/tools)
# llmc plan on gpt2-small and gpt2-tiny: exact FLOPs against a hand count, 6N, sizing.
add_test(NAME test_llmc_plan COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmc_plan.sh $<TARGET_FILE:llmc>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_llmc_plan PROPERTIES LABELS e2e TIMEOUT 600)
# llmsweep: a tiny grid, the summary, resume skipping finished runs, fit.
add_test(NAME test_llmsweep COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmsweep.sh $<TARGET_FILE:llmsweep>
         $<TARGET_FILE:llmrun> $<TARGET_FILE:llmdata> WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_llmsweep PROPERTIES LABELS e2e TIMEOUT 900)
# llmplot: well-formed SVG with the expected series.
add_test(NAME test_llmplot COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmplot.sh $<TARGET_FILE:llmplot>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_llmplot PROPERTIES LABELS unit TIMEOUT 300)
