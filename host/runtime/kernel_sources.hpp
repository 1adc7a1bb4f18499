// The embedded OpenCL sources (generated at build time by cmake/embed_kernels.cpp).
#pragma once

#include <string>
#include <string_view>

namespace cannon::kernels {

// The self-contained source of an entry kernel file, by its name without ".cl"; empty if unknown.
std::string source(std::string_view name);

}  // namespace cannon::kernels
