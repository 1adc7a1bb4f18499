# cannon-tune end to end on a tiny search space, then the library picking up its output through CANNON_TUNE_DB:
# a conformance run with CANNON_VERBOSE=dispatch must report the class's parameters as coming from that file. First
# FlashAttentionScore's (fa), then its backward's (fag) into the same file, whose fa entry must survive.
# Usage: cmake -DTUNE=<cannon-tune> -DCONFORMANCE=<cannon-conformance> -DWORK_DIR=<dir> -P tune_roundtrip.cmake
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(db ${WORK_DIR}/tuned.json)

# Tunes `kernel` for fp32.d64.dense.prefill into ${db}, then runs `problem` with the database and requires the
# dispatch line of that kernel and class to show `param` from the database.
function(roundtrip kernel problem param)
  execute_process(COMMAND ${TUNE} --kernel ${kernel} --classes fp32.d64.dense.prefill --space small --size small
                          --repeat 1 --out ${db}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cannon-tune --kernel ${kernel} failed (exit ${rc}):\n${out}\n${err}")
  endif()
  foreach(regex "class 1/1 ${kernel} fp32.d64.dense.prefill" "candidate 1/" "best")
    if(NOT err MATCHES "${regex}")
      message(FATAL_ERROR "cannon-tune progress lacks '${regex}':\n${err}")
    endif()
  endforeach()
  file(READ ${db} json)
  if(NOT json MATCHES "\"${kernel}\"" OR NOT json MATCHES "\"fp32.d64.dense.prefill\""
     OR NOT json MATCHES "\"source\": \"cannon-tune\"" OR NOT json MATCHES "\"fa\"")
    message(FATAL_ERROR "cannon-tune wrote no ${kernel} fp32.d64.dense.prefill entry (beside fa's):\n${json}")
  endif()

  # The same class (fp32, D <= 64, dense, prefill), planned through the library with the database.
  execute_process(COMMAND ${CMAKE_COMMAND} -E env CANNON_TUNE_DB=${db} CANNON_VERBOSE=dispatch ${CONFORMANCE} ${problem}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
  if(NOT rc EQUAL 0 OR NOT "${out}${err}" MATCHES "1 passed, 0 failed")
    message(FATAL_ERROR "conformance with the tuned database failed (exit ${rc}):\n${out}\n${err}")
  endif()
  string(REGEX MATCH "cannon: tune ${kernel} fp32.d64.dense.prefill[^\n]*" line "${err}")
  if(NOT line MATCHES "${param}=[0-9]+ \\(db\\)" OR NOT line MATCHES "db entry ${db}")
    message(FATAL_ERROR "the library did not take ${kernel}'s parameters from ${db}:\n${line}\n${err}")
  endif()
  message("tune roundtrip (${kernel}): ok: ${line}")
endfunction()

roundtrip(fa fa:b1n2s=96d=64:layout=BSND:dt=fp32 BLOCK_M)
roundtrip(fag fag:b1n2s=96d=64:layout=BSND:dt=fp32 BLOCK_N)
