# Inputs cannon-conformance must reject clearly: corrupt golden directories, out-of-range CANNON_TUNE
# values and problems the tools must not allocate for. Each must end as INVALID_ARGUMENTS with a message naming
# the file, attribute or tune name, within seconds: never FAILED, a crash, a silent clamp or a multi-GB allocation.
# Usage: cmake -DCONFORMANCE=<cannon-conformance> -DWORK_DIR=<scratch dir> -P tools_rejections.cmake

# Runs the tool (with `env`, a list of VAR=VALUE, in its environment) and requires its output to match every regex.
function(expect_output label env)
  cmake_parse_arguments(ARG "" "" "ARGS;MATCHES" ${ARGN})
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${env} ${CONFORMANCE} ${ARG_ARGS}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
  foreach(regex ${ARG_MATCHES})
    if(NOT "${out}${err}" MATCHES "${regex}")
      message(FATAL_ERROR "${label}: output does not match '${regex}' (exit ${rc}):\n${out}\n${err}")
    endif()
  endforeach()
  message("${label}: ok")
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(small "fa:b1n2g1s1=3s2=5d=16:layout=BSND:dt=fp32")
set(other "fa:b2n2g1s1=3s2=5d=16:layout=BSND:dt=fp32")
execute_process(COMMAND ${CONFORMANCE} --dump ${WORK_DIR}/dump ${small} ${other} RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dump failed (exit ${rc})")
endif()
file(GLOB dirs LIST_DIRECTORIES true ${WORK_DIR}/dump/*)
list(GET dirs 0 base)
list(GET dirs 1 other_dir)

# An expected array of another case's shape (B=2 instead of 1): the shape check names the file.
file(COPY ${base}/ DESTINATION ${WORK_DIR}/shape)
file(COPY_FILE ${other_dir}/expected/softmax_max.npy ${WORK_DIR}/shape/expected/softmax_max.npy)
expect_output("expected shape" "" ARGS --golden ${WORK_DIR}/shape
              MATCHES "INVALID_ARGUMENTS" "softmax_max.npy: shape \\(2,2,3,8\\) but the operator produces")

# An expected array of integers: same item size and shape, '<f4' -> '<i4' in the header.
file(COPY ${base}/ DESTINATION ${WORK_DIR}/dtype)
file(READ ${base}/expected/softmax_sum.npy bytes HEX)
string(SUBSTRING "${bytes}" 0 256 head)
string(SUBSTRING "${bytes}" 256 -1 tail)
string(REPLACE "3c6634" "3c6934" head "${head}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${head}${tail}")
execute_process(COMMAND printf "${escaped}" OUTPUT_FILE ${WORK_DIR}/dtype/expected/softmax_sum.npy)
expect_output("expected dtype" "" ARGS --golden ${WORK_DIR}/dtype
              MATCHES "INVALID_ARGUMENTS" "softmax_sum.npy: npy type <i4 cannot hold the operator's fp32 output")

# case.json attributes: a float head_num is not silently truncated.
file(COPY ${base}/ DESTINATION ${WORK_DIR}/attr)
file(READ ${base}/case.json json)
string(REGEX REPLACE "\"head_num\": 2" "\"head_num\": 2.7" json "${json}")
file(WRITE ${WORK_DIR}/attr/case.json "${json}")
expect_output("head_num 2.7" "" ARGS --golden ${WORK_DIR}/attr
              MATCHES "INVALID_ARGUMENTS" "\"head_num\": 2.7 is not an integer")

# A query.npy whose header claims 2^51 x 2^13 + 8192 one-byte elements: the size wraps to its 8 KiB payload.
file(COPY ${base}/ DESTINATION ${WORK_DIR}/npy)
string(REPEAT "\\x00" 8192 payload)
string(REPEAT " " 40 pad)
execute_process(COMMAND printf "\\x93NUMPY\\x01\\x00\\x76\\x00{'descr': '|u1', 'fortran_order': False, 'shape': (2251799813685249, 8192), }${pad}\\n${payload}"
                OUTPUT_FILE ${WORK_DIR}/npy/query.npy)
expect_output("wrapping npy" "" ARGS --golden ${WORK_DIR}/npy MATCHES "INVALID_ARGUMENTS" "query.npy: npy 'shape'" "overflows")

# CANNON_TUNE: RingAttentionUpdate's launch values are range-checked, not clamped.
set(rau "rau:b1n2s=4d=16:layout=SBH:dt=fp32")
expect_output("RAU_ROWS=0" "CANNON_TUNE=rau.RAU_ROWS=0" ARGS ${rau} MATCHES "INVALID_ARGUMENTS" "rau.RAU_ROWS=0 \\(expected 1..1024\\)")
expect_output("RAU_LOCAL=5000" "CANNON_TUNE=rau.RAU_LOCAL=5000" ARGS ${rau} MATCHES "rau.RAU_LOCAL=5000 \\(expected 1..1024\\)")
expect_output("RAU tile" "CANNON_TUNE=rau.RAU_ROWS=16,rau.RAU_HEADS=128" ARGS ${rau}
              MATCHES "INVALID_ARGUMENTS" "rau.RAU_ROWS=16 × rau.RAU_HEADS=128 = 2048 items")
expect_output("RAU_HEADS alone" "CANNON_TUNE=rau.RAU_HEADS=512" ARGS ${rau} MATCHES "1 passed, 0 failed")
# CANNON_TUNE names are namespaced per kernel (docs/tuning.md): a bare name is refused with the namespaced ones.
expect_output("bare tune name" "CANNON_TUNE=QK_KEYS=4" ARGS ${rau} MATCHES "CANNON_TUNE" "fa.QK_KEYS or nsa.QK_KEYS")
# A malformed user tuning database fails with its path and the field, never a crash or a silent fallback.
file(WRITE ${WORK_DIR}/bad_tune_db.json
     "{\"schema\": 1, \"devices\": {\"pocl/pthread-x\": {\"rau\": {\"fp32.d16.dense.prefill\": {\"params\": {}}}}}}")
expect_output("bad tune db" "CANNON_TUNE_DB=${WORK_DIR}/bad_tune_db.json" ARGS ${rau} MATCHES "INVALID_ARGUMENTS"
              "bad_tune_db.json" "fp32.d16.dense.prefill" "head-dim bucket 'd16'")

# D = 0 is reported as the head dim it is, not as the infinite default scale 1/sqrt(0).
expect_output("d=0" "" ARGS "fa:b1n1s=7d=0" MATCHES "INVALID_ARGUMENTS" "head dim")
expect_output("nsa dk=0" "" ARGS "nsa:n1=4n2=1s1=7s2=64dk=0dv=0bs=16count=1" MATCHES "INVALID_ARGUMENTS")
# TND batches the tools would list one by one: rejected before allocating.
expect_output("TND b=1e9" "" ARGS "fa:b1000000000n1s=1d=16:layout=TND" MATCHES "INVALID_ARGUMENTS" "b=1000000000")
