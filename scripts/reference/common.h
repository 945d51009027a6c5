// What our small reference programs share (built by scripts/reference/program.sh).
#pragma once

#include "llama.h"

#include <cstdio>

// Warnings and errors only: the programs print their results on stdout.
static void quiet(ggml_log_level level, const char * text, void *) {
    if (level >= GGML_LOG_LEVEL_WARN) {
        fputs(text, stderr);
    }
}

// A context that computes what our plain f32 path computes: the KV cache in
// f32 and flash attention off, so nothing is rounded to f16 on the way
// (llama.cpp's defaults would), and the whole prompt in one batch.
static llama_context * f32_context(llama_model * model, int n_ctx) {
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_ubatch = n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.swa_full = true;
    return llama_init_from_model(model, cp);
}
