# tests/comm/ — runtime/comm.c, the MPI communication layer (label mpi: optimized build).
# test_comm checks every collective bit for bit against the interpreter's simulated ranks,
# alone (one rank, MPI untouched) and under mpirun with 2 to 5 ranks (oversubscribed on
# small machines); test_comm_timeout has a rank that never joins a collective and
# checks the comm-timeout abort. The ASan build compiles them; CI runs mpi only optimized.
set(LLMC_MPI_ENV "OMPI_MCA_pml=ob1;OMPI_MCA_btl=self,vader,tcp;OMPI_MCA_rmaps_base_oversubscribe=1")
llmc_test(test_comm mpi ${CMAKE_CURRENT_LIST_DIR}/test_comm.c)
foreach(np 2 3 4 5)
  add_test(NAME test_comm_np${np}
           COMMAND ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe -np ${np} $<TARGET_FILE:test_comm>
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_comm_np${np} PROPERTIES LABELS mpi TIMEOUT 300 ENVIRONMENT "${LLMC_MPI_ENV}")
endforeach()
add_executable(test_comm_timeout ${CMAKE_CURRENT_LIST_DIR}/test_comm_timeout.c)
target_link_libraries(test_comm_timeout PRIVATE llmc_runtime llmc_compiler llmc_ir)
add_test(NAME test_comm_timeout
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_comm_timeout.sh ${MPIEXEC_EXECUTABLE}
                 $<TARGET_FILE:test_comm_timeout>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_comm_timeout PROPERTIES LABELS mpi TIMEOUT 300 ENVIRONMENT "${LLMC_MPI_ENV}")
