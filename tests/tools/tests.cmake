# llmir end to end through its command line.
add_test(NAME test_llmir COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmir.sh $<TARGET_FILE:llmir>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_llmir PROPERTIES LABELS unit TIMEOUT 300)
