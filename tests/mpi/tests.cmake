# tests/mpi/ — llmrun on several ranks under OpenMPI (label mpi; 4 ranks oversubscribed
# on 2 cores): the determinism contract — loss curves and final checkpoints bit-identical
# for (ranks x micro-batches per rank) = 1x4, 2x2, 4x1 under each strategy, on gpt2-tiny,
# llama-tiny, moe-tiny and a dropout model (identity); per-rank memory under full, resume
# at another world size (resume); a killed rank and a comm timeout (faults).
foreach(t identity resume faults)
  add_test(NAME test_mpi_${t}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_mpi_${t}.sh $<TARGET_FILE:llmrun> $<TARGET_FILE:llmc>
                   $<TARGET_FILE:llmdata>
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_mpi_${t} PROPERTIES LABELS mpi TIMEOUT 600 RUN_SERIAL TRUE
                       ENVIRONMENT "LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache;OMPI_MCA_pml=ob1")
endforeach()
