# The golden round trip, run by ctest: `cannon-conformance --dump` writes cases as golden directories,
# `--golden` replays them and must pass; a copy whose expected attention_out comes from other inputs (another
# seed) must FAIL, which proves the replay compares against the files rather than recomputing them. pse and
# dropout cases (pse.npy, drop_mask.npy, the seed/offset generator) go through the same round trip once the
# operator implements them; while it reports them UNIMPLEMENTED they are skipped with a note. RingAttentionUpdate
# and NsaSelectedAttention (ops ring_attention_update, nsa_select_attention) take part with one case each,
# FlashAttentionScoreGrad (flash_attention_score_grad) with two.
# Usage: cmake -DCONFORMANCE=<cannon-conformance> -DWORK_DIR=<scratch dir> -P golden_roundtrip.cmake
set(cases
  "fa:b2n4g2s1=37s2=53d=64:layout=BSND:dt=fp32"
  "fa:b1n4g4s1=17s2=29dk=192dv=128:layout=BSH:dt=bf16"
  "fa:b2n2g1s1=9s2=7d=64:layout=BNSD:dt=fp16"
  "fa:n2g2d=64:layout=TND:dt=bf16:seqq=5,5,12:seqkv=7,9,16:softmax_layout=TND"
  "fa:b2n2g1s1=19s2=23d=64:layout=BSND:dt=fp32:sparse=5:prefix=9,0:mask=b1ss:mask_dt=bool:mask_rows=2"
  "fa:n2g1d=64:layout=TND:dt=fp16:seqq=7,20:seqkv=9,31:sparse=4:pre=3:next=1:inner_precise=2"
  "rau:n3d=64:layout=TND:dt=bf16:seqq=0,5,6,19:invalid=both"
  "nsa:n1=8n2=2dk=192dv=128bs=16count=3:dt=bf16:seqq=9,30:seqkv=64,128:causal=1:idx=repeat"
  "fag:b2n4g2s1=19s2=23d=64:layout=BSND:dt=bf16:sparse=3"
  "fag:n2g1d=64:layout=TND:dt=fp16:seqq=7,20:seqkv=9,31:pse=bn1s:keep_prob=0.8:drop_seed=3:drop_offset=5")

set(feature_cases
  "fa:b2n2g1s=37d=64:layout=BSND:dt=bf16:pse_type=0:pse=bnss:keep_prob=0.8:drop_mask=explicit"
  "fa:b2n2g1s=29d=64:layout=BNSD:dt=fp32:pse_type=3:pse=slopes_bn:q_start=2:kv_start=0:keep_prob=0.7:drop_seed=5:drop_offset=37"
  "fa:b2n2g1d=64:layout=TND:dt=fp16:seqq=7,20:seqkv=9,31:pse=bn1s:keep_prob=0.5:drop_mask=explicit")

function(conformance expect_rc log)
  execute_process(COMMAND ${CONFORMANCE} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}")
  if(NOT rc EQUAL expect_rc)
    message(FATAL_ERROR "${log}: exit ${rc}, expected ${expect_rc}\n${err}")
  endif()
  set(conformance_out "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
conformance(0 "dump" --dump ${WORK_DIR}/dump ${cases})

file(GLOB dirs LIST_DIRECTORIES true ${WORK_DIR}/dump/*)
list(LENGTH dirs count)
list(LENGTH cases expected_count)
if(NOT count EQUAL expected_count)
  message(FATAL_ERROR "--dump wrote ${count} directories for ${expected_count} cases")
endif()
conformance(0 "replay" --golden ${dirs})
if(NOT conformance_out MATCHES "${count} passed, 0 failed")
  message(FATAL_ERROR "replay did not pass all ${count} golden directories")
endif()

# Same problem, other inputs: its outputs must not match the first directory's inputs. Checked for the first
# FlashAttentionScore case, the RingAttentionUpdate case (index 6; its output is named attn_out) and the first
# FlashAttentionScoreGrad case (index 8, its dq).
foreach(pair "0;attention_out" "6;attn_out" "8;dq")
  list(GET pair 0 index)
  list(GET pair 1 output)
  list(GET cases ${index} tamper_case)
  list(GET dirs ${index} tamper_dir)
  conformance(0 "dump with seed 2" --seed 2 --dump ${WORK_DIR}/other${index} ${tamper_case})
  file(GLOB other_dir LIST_DIRECTORIES true ${WORK_DIR}/other${index}/*)
  file(COPY ${tamper_dir}/ DESTINATION ${WORK_DIR}/tampered${index})
  # COPY_FILE always copies; file(COPY) would skip a file whose timestamp matches (both written this second).
  file(COPY_FILE ${other_dir}/expected/${output}.npy ${WORK_DIR}/tampered${index}/expected/${output}.npy)
  conformance(1 "tampered replay" --golden ${WORK_DIR}/tampered${index})
  if(NOT conformance_out MATCHES "FAILED")
    message(FATAL_ERROR "the tampered golden directory ${WORK_DIR}/tampered${index} did not FAIL")
  endif()
endforeach()

# pse and dropout: dump and replay, unless the operator does not implement them yet.
conformance(0 "dump pse/dropout" --dump ${WORK_DIR}/features ${feature_cases})
if(conformance_out MATCHES "UNIMPLEMENTED")
  message("pse/dropout golden round trip skipped: the operator reports UNIMPLEMENTED")
else()
  file(GLOB feature_dirs LIST_DIRECTORIES true ${WORK_DIR}/features/*)
  list(LENGTH feature_dirs count)
  list(LENGTH feature_cases expected_count)
  if(NOT count EQUAL expected_count)
    message(FATAL_ERROR "--dump wrote ${count} directories for ${expected_count} pse/dropout cases")
  endif()
  conformance(0 "replay pse/dropout" --golden ${feature_dirs})
  if(NOT conformance_out MATCHES "${count} passed, 0 failed")
    message(FATAL_ERROR "replay did not pass all ${count} pse/dropout golden directories")
  endif()
endif()
