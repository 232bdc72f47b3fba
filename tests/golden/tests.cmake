# .llir text: golden files (tests/golden/*.llir, with the examples in tests/ir), the
# round-trip contract, and the float formatting it rests on.
llmc_test(golden_llir golden ${CMAKE_CURRENT_LIST_DIR}/test_golden.c ARGS ${CMAKE_SOURCE_DIR})
llmc_test(text_float unit ${CMAKE_CURRENT_LIST_DIR}/test_text_float.c)
