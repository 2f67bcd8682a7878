#pragma once
// The generation layer (needs ulk::text, i.e. SentencePiece): sampler, generator, chat template,
// conversation and chat session. Saving conversations (generate/conversation_json.hpp) also
// needs nlohmann-json, so it is not included here.
#include "ulk/generate/chat_format.hpp"
#include "ulk/generate/chat_session.hpp"
#include "ulk/generate/chat_template.hpp"
#include "ulk/generate/conversation.hpp"
#include "ulk/generate/generator.hpp"
#include "ulk/generate/sampler.hpp"
