# cmake -P script: configure, build and run tests/consumer against ulk in MODE.
file(REMOVE_RECURSE ${WORK})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
endfunction()
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} -S ${ULK_SOURCE} -B ${WORK}/ulk-build -DULK_BUILD_TESTS=OFF -DULK_BUILD_BENCH=OFF
      -DULK_BUILD_DEMO=OFF -DCMAKE_INSTALL_PREFIX=${WORK}/prefix)
  run(${CMAKE_COMMAND} --install ${WORK}/ulk-build)
  run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/build -DULK_MODE=find_package -DCMAKE_PREFIX_PATH=${WORK}/prefix
      -DCMAKE_CXX_FLAGS=-march=native)
else()
  # Built for baseline x86-64 (SSE2 only): proves the headers build and run on the portable path.
  run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/build -DULK_MODE=add_subdirectory -DULK_SOURCE=${ULK_SOURCE}
      -DULK_MARCH=x86-64)
endif()
run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${WORK}/build/consumer)
run(${WORK}/build/consumer_text)
message(STATUS "consumer (${MODE}) built and ran")
