/* CANN's aclnn initialisation calls. cannon needs no separate aclnn initialisation: both succeed and do nothing.
 * Plain C. */
#ifndef CANNON_ACLNN_ACLNN_BASE_H_
#define CANNON_ACLNN_ACLNN_BASE_H_

#include "aclnn/acl_meta.h"

#ifdef __cplusplus
extern "C" {
#endif

ACL_FUNC_VISIBILITY aclnnStatus aclnnInit(const char* configPath);
ACL_FUNC_VISIBILITY aclnnStatus aclnnFinalize(void);

#ifdef __cplusplus
}
#endif

#endif /* CANNON_ACLNN_ACLNN_BASE_H_ */
