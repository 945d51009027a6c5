// llama.cpp's GBNF engine asked three questions, for scripts/golden_gbnf.py:
// our own small program, linked against the static libraries of the
// reference build (scripts/reference/build_llamacpp.sh). It calls the
// grammar functions llama.cpp's own grammar tests call (src/llama-grammar.h).
//
//   gbnf verdicts GRAMMAR.gbnf          < texts   → complete|prefix|reject per text
//   gbnf mask MODEL.gguf GRAMMAR.gbnf   < texts   → allowed tokens after each text
//   gbnf generate MODEL.gguf GRAMMAR.gbnf N ID,ID,...  → greedy token ids under the
//                                                        grammar, then their text in hex
//
// Texts come one per line, hex-encoded (they may hold newlines). A grammar
// llama.cpp refuses prints "error" and exits 3.
//
// `mask` prints, per text, whether an end-of-generation token is allowed
// and the allowed token ids as ranges ("eog 1 ids 0-5,9"). `generate` is
// llama.cpp's grammar sampler then greedy, on an f32 KV cache with flash
// attention off (scripts/reference/common.h).
#include "common.h"
#include "llama-grammar.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

static std::string read_file(const char * path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

static std::string unhex(const std::string & line) {
    std::string out;
    for (size_t i = 0; i + 1 < line.size(); i += 2) {
        out.push_back((char) std::stoi(line.substr(i, 2), nullptr, 16));
    }
    return out;
}

static llama_grammar * grammar_or_exit(const llama_vocab * vocab, const std::string & text) {
    llama_grammar * g = llama_grammar_init_impl(vocab, text.c_str(), "root", false, nullptr, 0, nullptr, 0);
    if (!g) {
        printf("error\n");
        exit(3);
    }
    return g;
}

static llama_model * load(const char * path, bool vocab_only) {
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.vocab_only = vocab_only;
    llama_model * model = llama_model_load_from_file(path, mp);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", path);
        exit(1);
    }
    return model;
}

// complete: some stack is empty; prefix: stacks left, none empty; reject: none left
static int verdicts(const std::string & grammar_text) {
    llama_grammar * probe = grammar_or_exit(nullptr, grammar_text);
    llama_grammar_free_impl(probe);
    for (std::string line; std::getline(std::cin, line);) {
        llama_grammar * g = grammar_or_exit(nullptr, grammar_text);
        const char * verdict = "prefix";
        try {
            llama_grammar_accept_str(*g, unhex(line));
            if (g->partial_utf8.n_remain == 0) {
                for (const auto & stack : g->stacks) {
                    if (stack.empty()) {
                        verdict = "complete";
                    }
                }
            }
        } catch (const std::exception &) {
            verdict = "reject";
        }
        printf("%s\n", verdict);
        llama_grammar_free_impl(g);
    }
    return 0;
}

static int mask(const char * model_path, const std::string & grammar_text) {
    llama_model * model = load(model_path, true);
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    for (std::string line; std::getline(std::cin, line);) {
        llama_grammar * g = grammar_or_exit(vocab, grammar_text);
        llama_grammar_accept_str(*g, unhex(line));
        std::vector<llama_token_data> data(n_vocab);
        for (int i = 0; i < n_vocab; i++) {
            data[i] = {i, 0.0f, 0.0f};
        }
        llama_token_data_array arr = {data.data(), data.size(), -1, false};
        llama_grammar_apply_impl(*g, &arr);
        bool eog = false;
        std::string ranges;
        int start = -1;
        for (int i = 0; i <= n_vocab; i++) {
            bool ok = i < n_vocab && std::isfinite(data[i].logit);
            if (ok && llama_vocab_is_eog(vocab, i)) {
                eog = true;
                ok = false;
            }
            if (ok && start < 0) {
                start = i;
            } else if (!ok && start >= 0) {
                ranges += (ranges.empty() ? "" : ",") + std::to_string(start);
                if (i - 1 > start) {
                    ranges += "-" + std::to_string(i - 1);
                }
                start = -1;
            }
        }
        printf("eog %d ids %s\n", eog ? 1 : 0, ranges.c_str());
        llama_grammar_free_impl(g);
    }
    llama_model_free(model);
    return 0;
}

static int generate(const char * model_path, const std::string & grammar_text, int n_max, const char * ids_arg) {
    std::vector<llama_token> ids;
    std::stringstream list(ids_arg);
    for (std::string item; std::getline(list, item, ',');) {
        ids.push_back((llama_token) std::stol(item));
    }
    llama_model * model = load(model_path, false);
    const llama_vocab * vocab = llama_model_get_vocab(model);
    llama_context * ctx = f32_context(model, 512);
    if (!ctx) {
        fprintf(stderr, "cannot create a context\n");
        return 1;
    }
    llama_sampler * chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler * grammar = llama_sampler_init_grammar(vocab, grammar_text.c_str(), "root");
    if (!grammar) {
        printf("error\n");
        return 3;
    }
    llama_sampler_chain_add(chain, grammar);
    llama_sampler_chain_add(chain, llama_sampler_init_greedy());

    llama_batch batch = llama_batch_get_one(ids.data(), (int32_t) ids.size());
    std::vector<llama_token> out;
    for (int i = 0; i < n_max; i++) {
        if (llama_decode(ctx, batch) != 0) {
            fprintf(stderr, "llama_decode failed\n");
            return 1;
        }
        llama_token t = llama_sampler_sample(chain, ctx, -1);
        if (llama_vocab_is_eog(vocab, t)) {
            break;
        }
        out.push_back(t);
        batch = llama_batch_get_one(&out.back(), 1);
    }
    std::string text;
    for (size_t i = 0; i < out.size(); i++) {
        printf("%s%d", i ? "," : "", out[i]);
        char piece[256];
        int n = llama_token_to_piece(vocab, out[i], piece, sizeof piece, 0, false);
        text.append(piece, n > 0 ? n : 0);
    }
    printf("\n");
    for (unsigned char c : text) {
        printf("%02x", c);
    }
    printf("\n");
    llama_sampler_free(chain);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}

int main(int argc, char ** argv) {
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "verdicts" && argc == 3) {
        return verdicts(read_file(argv[2]));
    }
    if (mode == "mask" && argc == 4) {
        return mask(argv[2], read_file(argv[3]));
    }
    if (mode == "generate" && argc == 6) {
        return generate(argv[2], read_file(argv[3]), atoi(argv[4]), argv[5]);
    }
    fprintf(stderr, "usage: gbnf verdicts G.gbnf | mask M.gguf G.gbnf | generate M.gguf G.gbnf N IDS\n");
    return 2;
}
