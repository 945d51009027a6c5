// Every position's logits from llama.cpp, as JSON: our own small program,
// linked against the static libraries of the reference build
// (scripts/reference/build_llamacpp.sh), for the tiny-model goldens of
// scripts/golden_arch.py.
//
//   logits MODEL.gguf 1,5,9,... > out.json
//
// The prompt is token ids, not text, so the vocabulary of a tiny model only
// has to be one llama.cpp accepts. The whole prompt is one batch with a
// logit asked for at every position; the KV cache is f32 and flash attention
// off, so nothing is rounded to f16 on the way (llama.cpp's defaults would).
#include "common.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char ** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.gguf ID,ID,...\n", argv[0]);
        return 2;
    }
    std::vector<llama_token> ids;
    std::stringstream list(argv[2]);
    for (std::string item; std::getline(list, item, ',');) {
        ids.push_back((llama_token) std::stol(item));
    }
    const int n = (int) ids.size();

    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    llama_context * ctx = f32_context(model, n < 64 ? 64 : n);
    if (!ctx) {
        fprintf(stderr, "cannot create a context\n");
        return 1;
    }

    llama_batch batch = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        batch.token[i] = ids[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n;
    if (llama_decode(ctx, batch) != 0) {
        fprintf(stderr, "llama_decode failed\n");
        return 1;
    }

    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    printf("{\"n_vocab\": %d, \"logits\": [", n_vocab);
    for (int i = 0; i < n; i++) {
        const float * row = llama_get_logits_ith(ctx, i);
        printf("%s[", i ? ",\n" : "\n");
        for (int j = 0; j < n_vocab; j++) {
            printf("%s%.9g", j ? ", " : "", row[j]);
        }
        printf("]");
    }
    printf("\n]}\n");

    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
