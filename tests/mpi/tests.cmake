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
# The interpreter's simulated ranks against real MPI ranks on the sharded @micro and
# @update of gpt2-tiny and moe-tiny, every strategy: alone (1 rank) and on 2 and 4.
llmc_test(test_mpi_interp mpi ${CMAKE_CURRENT_LIST_DIR}/test_mpi_interp.c LIBS llmc_compiler llmc_frontend)
set_tests_properties(test_mpi_interp PROPERTIES
                     ENVIRONMENT "OMPI_MCA_pml=ob1;LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache")
foreach(np 2 4)
  add_test(NAME test_mpi_interp_np${np}
           COMMAND ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe --bind-to none -np ${np}
                   $<TARGET_FILE:test_mpi_interp>
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_mpi_interp_np${np} PROPERTIES LABELS mpi TIMEOUT 300
                       ENVIRONMENT "OMPI_MCA_pml=ob1;LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache")
endforeach()
