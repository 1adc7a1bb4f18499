// CANNON_API marks what libcannon exports: the public C++ API below include/cannon and, through
// ACL_FUNC_VISIBILITY, the aclnn C API. The library is built with hidden visibility, so nothing else is exported.
#pragma once

#define CANNON_API __attribute__((visibility("default")))
