// The one place the public API includes OpenCL's C header, pinned to OpenCL 1.2.
// cannon targets any OpenCL 1.2 device; newer headers would otherwise expose 2.x/3.x entry points.
#pragma once

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
