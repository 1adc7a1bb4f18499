# cannon-tune end to end on a tiny search space, then the library picking up its output through CANNON_TUNE_DB:
# a conformance run with CANNON_VERBOSE=dispatch must report the class's fa (and then fag) parameters as coming from
# that file.
# Usage: cmake -DTUNE=<cannon-tune> -DCONFORMANCE=<cannon-conformance> -DWORK_DIR=<dir> -P tune_roundtrip.cmake
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(db ${WORK_DIR}/tuned.json)
execute_process(COMMAND ${TUNE} --kernel fa --classes fp32.d64.dense.prefill --space small --size small --repeat 1
                        --out ${db}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cannon-tune failed (exit ${rc}):\n${out}\n${err}")
endif()
foreach(regex "class 1/1 fa fp32.d64.dense.prefill" "candidate 1/" "best")
  if(NOT err MATCHES "${regex}")
    message(FATAL_ERROR "cannon-tune progress lacks '${regex}':\n${err}")
  endif()
endforeach()
file(READ ${db} json)
if(NOT json MATCHES "\"fp32.d64.dense.prefill\"" OR NOT json MATCHES "\"source\": \"cannon-tune\"")
  message(FATAL_ERROR "cannon-tune wrote no fp32.d64.dense.prefill entry:\n${json}")
endif()

# The same class (fp32, D <= 64, dense, prefill), planned through the library with the database.
execute_process(COMMAND ${CMAKE_COMMAND} -E env CANNON_TUNE_DB=${db} CANNON_VERBOSE=dispatch
                        ${CONFORMANCE} fa:b1n2s=96d=64:layout=BSND:dt=fp32
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(NOT rc EQUAL 0 OR NOT "${out}${err}" MATCHES "1 passed, 0 failed")
  message(FATAL_ERROR "conformance with the tuned database failed (exit ${rc}):\n${out}\n${err}")
endif()
string(REGEX MATCH "cannon: tune fa fp32.d64.dense.prefill[^\n]*" line "${err}")
if(NOT line MATCHES "BLOCK_M=[0-9]+ \\(db\\)" OR NOT line MATCHES "db entry ${db}")
  message(FATAL_ERROR "the library did not take fa's parameters from ${db}:\n${line}\n${err}")
endif()
message("tune roundtrip: ok: ${line}")

# FlashAttentionScoreGrad's own namespace (fag.*) the same way, into the same file.
execute_process(COMMAND ${TUNE} --kernel fag --classes fp32.d64.dense.prefill --space small --size small --repeat 1
                        --out ${db}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(NOT rc EQUAL 0 OR NOT err MATCHES "class 1/1 fag fp32.d64.dense.prefill")
  message(FATAL_ERROR "cannon-tune --kernel fag failed (exit ${rc}):\n${out}\n${err}")
endif()
file(READ ${db} json)
if(NOT json MATCHES "\"fag\"" OR NOT json MATCHES "\"fa\"")
  message(FATAL_ERROR "cannon-tune --kernel fag did not add a fag entry beside fa's:\n${json}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env CANNON_TUNE_DB=${db} CANNON_VERBOSE=dispatch
                        ${CONFORMANCE} fag:b1n2s=96d=64:layout=BSND:dt=fp32
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(NOT rc EQUAL 0 OR NOT "${out}${err}" MATCHES "1 passed, 0 failed")
  message(FATAL_ERROR "fag conformance with the tuned database failed (exit ${rc}):\n${out}\n${err}")
endif()
string(REGEX MATCH "cannon: tune fag fp32.d64.dense.prefill[^\n]*" line "${err}")
if(NOT line MATCHES "BLOCK_N=[0-9]+ \\(db\\)" OR NOT line MATCHES "db entry ${db}")
  message(FATAL_ERROR "the library did not take fag's parameters from ${db}:\n${line}\n${err}")
endif()
message("tune roundtrip (fag): ok: ${line}")
