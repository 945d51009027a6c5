pub mod chat;
pub mod generate;
pub mod inspect;
pub mod perplexity;
pub mod pull;
pub mod quantize;
pub mod serve;
pub mod tokenize;
