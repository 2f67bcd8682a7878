#pragma once
// Conversation: what was said, by whom, in which speech style, plus an optional system prompt;
// rendered to ids with the ChatTemplate. ChatSession<Model> runs one against a model.
//
// A turn may carry the ids it was generated as (`ids`): rendering uses them instead of encoding the
// text again, because re-encoding a reply need not give back the sampled ids, and only identical
// ids let the next turn reuse the KV cache. They are a cache: not saved, and a loaded
// conversation encodes its texts afresh.
#include <string>
#include <vector>

#include "ulk/generate/chat_template.hpp"

namespace ulk::generate {

struct Turn {
    Role role = Role::user;
    SpeechStyle style = SpeechStyle::polite;  // assistant turns: the style the reply was asked in
    std::string text;
    std::vector<Token> ids = {};  // assistant turns: the sampled ids (optional, not saved)

    bool operator==(const Turn& o) const { return role == o.role && text == o.text && (role != Role::assistant || style == o.style); }
};

struct Conversation {
    std::string system;  // empty: none
    SpeechStyle style = SpeechStyle::polite;  // the style the next reply is asked in
    std::vector<Turn> turns;                  // user and assistant turns, in order

    bool operator==(const Conversation& o) const { return system == o.system && style == o.style && turns == o.turns; }

    // Ids of the whole conversation, ending with the header of the next reply when the last turn
    // is the user's.
    std::vector<Token> render(const ChatTemplate& tmpl) const {
        std::vector<Token> ids;
        tmpl.append_begin(ids);
        if (!system.empty()) tmpl.append_system(system, ids);
        for (const Turn& t : turns) {
            if (t.role == Role::user) {
                tmpl.append_user(t.text, ids);
            } else if (t.role == Role::assistant) {
                if (t.ids.empty()) {
                    tmpl.append_assistant(t.style, t.text, ids);
                } else {
                    tmpl.append_reply_header(t.style, ids);
                    ids.insert(ids.end(), t.ids.begin(), t.ids.end());
                    tmpl.append_end(ids);
                }
            } else {
                tmpl.append_system(t.text, ids);
            }
        }
        if (!turns.empty() && turns.back().role == Role::user) tmpl.append_reply_header(style, ids);
        return ids;
    }
};

}  // namespace ulk::generate
