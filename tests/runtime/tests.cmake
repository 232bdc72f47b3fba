# tests/runtime/ — file formats of runtime/: JSON and safetensors. Both programs include a
# bounded mutation loop, so they belong under ASan+UBSan with the other unit tests.
llmc_test(test_json unit ${CMAKE_CURRENT_LIST_DIR}/test_json.c)
llmc_test(test_safetensors unit ${CMAKE_CURRENT_LIST_DIR}/test_safetensors.c)
llmc_test(test_cpu unit ${CMAKE_CURRENT_LIST_DIR}/test_cpu.c)
