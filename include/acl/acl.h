/* The header CANN programs include for the acl runtime: lifecycle, devices, contexts, streams and memory
 * (acl/acl_rt.h) over the base types (acl/acl_base.h). cannon maps them onto OpenCL (docs/aclnn.md). Plain C. */
#ifndef CANNON_ACL_ACL_H_
#define CANNON_ACL_ACL_H_

#include "acl/acl_rt.h"

#endif /* CANNON_ACL_ACL_H_ */
