# The model library through llmc and llmir: check, emit, parameter counts, and the
# initial loss of every tiny model on the reference interpreter. Heavy: optimized build.
add_test(NAME test_models COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_models.sh
         $<TARGET_FILE:llmc> $<TARGET_FILE:llmir>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_models PROPERTIES LABELS e2e TIMEOUT 600)
