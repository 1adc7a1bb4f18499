// Umbrella header for cannon's C++ API.
#pragma once

#include "cannon/config.hpp"
#include "cannon/context.hpp"
#include "cannon/dtype.hpp"
#include "cannon/error.hpp"
#include "cannon/flash_attention_score.hpp"
#include "cannon/flash_attention_score_grad.hpp"
#include "cannon/nsa_selected_attention.hpp"
#include "cannon/ring_attention_update.hpp"
#include "cannon/stream.hpp"
#include "cannon/tensor.hpp"
