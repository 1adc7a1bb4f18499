/* CANN's aclnn object API as cannon implements it: opaque tensors, int arrays and executors, their creation and
 * destruction, and the aclnnStatus codes (the ACLNN_* values CANN keeps in opdev/op_errno.h are defined here too,
 * since no public CANN header reaches them). Valid C, unlike CANN's own copy (docs/aclnn.md). */
#ifndef CANNON_ACLNN_ACL_META_H_
#define CANNON_ACLNN_ACL_META_H_

#include <stdint.h>
#include <stdlib.h>

#include "acl/acl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ACLNN_META
#define ACLNN_META
typedef struct aclOpExecutor aclOpExecutor;
typedef struct aclTensor aclTensor;
typedef struct aclIntArray aclIntArray;
#endif

typedef int32_t aclnnStatus;

#ifndef ACLNN_SUCCESS
#define ACLNN_SUCCESS 0
#define ACLNN_ERR_PARAM_NULLPTR 161001
#define ACLNN_ERR_PARAM_INVALID 161002
#define ACLNN_ERR_RUNTIME_ERROR 361001
#define ACLNN_ERR_INNER 561000
#define ACLNN_ERR_INNER_INFERSHAPE_ERROR 561001
#define ACLNN_ERR_INNER_TILING_ERROR 561002
#define ACLNN_ERR_INNER_FIND_KERNEL_ERROR 561003
#define ACLNN_ERR_INNER_CREATE_EXECUTOR 561101
#define ACLNN_ERR_INNER_NOT_TRANS_EXECUTOR 561102
#define ACLNN_ERR_INNER_NULLPTR 561103
#endif

/* A tensor over device memory: viewDims with stride (elements), starting `offset` elements after tensorData (an
 * aclrtMalloc address, or an address inside one). storageDims describe the allocation and are kept for the
 * getters only. Returns null, with aclGetRecentErrMsg() set, for null or negative sizes, strides or offset. */
ACL_FUNC_VISIBILITY aclTensor* aclCreateTensor(const int64_t* viewDims, uint64_t viewDimsNum, aclDataType dataType,
                                               const int64_t* stride, int64_t offset, aclFormat format,
                                               const int64_t* storageDims, uint64_t storageDimsNum, void* tensorData);
ACL_FUNC_VISIBILITY aclnnStatus aclDestroyTensor(const aclTensor* tensor);
/* A host int64 array, copied at creation. */
ACL_FUNC_VISIBILITY aclIntArray* aclCreateIntArray(const int64_t* value, uint64_t size);
ACL_FUNC_VISIBILITY aclnnStatus aclDestroyIntArray(const aclIntArray* array);

/* An executor is consumed by the run call that follows its GetWorkspaceSize call, unless it is made repeatable
 * first; a repeatable executor may run again and is released with aclDestroyAclOpExecutor. Both return
 * ACLNN_ERR_INNER_NULLPTR for a null executor. */
ACL_FUNC_VISIBILITY aclnnStatus aclSetAclOpExecutorRepeatable(aclOpExecutor* executor);
ACL_FUNC_VISIBILITY aclnnStatus aclDestroyAclOpExecutor(aclOpExecutor* executor);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
constexpr aclnnStatus OK = 0;
#endif

#endif /* CANNON_ACLNN_ACL_META_H_ */
