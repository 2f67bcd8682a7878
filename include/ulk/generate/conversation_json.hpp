#pragma once
// A Conversation as a JSON file (nlohmann-json; link nlohmann_json::nlohmann_json to use this
// header). The file is what the user sees and may edit:
//
//   {"format": "ulk-conversation", "version": 1, "style": "polite", "system": "...",
//    "turns": [{"role": "user", "text": "..."}, {"role": "assistant", "style": "casual", "text": "..."}]}
//
// save -> load -> save gives the same bytes, and load(save(c)) == c. Loading checks every field
// and names the one that is wrong (as a JSON pointer); texts must be valid UTF-8.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "ulk/base/error.hpp"
#include "ulk/generate/conversation.hpp"
#include "ulk/text/utf8.hpp"

namespace ulk::generate {

inline constexpr std::string_view kConversationFormat = "ulk-conversation";
inline constexpr int kConversationVersion = 1;

inline std::string conversation_to_json(const Conversation& c) {
    nlohmann::ordered_json j;
    j["format"] = kConversationFormat;
    j["version"] = kConversationVersion;
    j["style"] = style_name(c.style);
    j["system"] = c.system;
    j["turns"] = nlohmann::ordered_json::array();
    for (const Turn& t : c.turns) {
        nlohmann::ordered_json turn;
        turn["role"] = role_name(t.role);
        if (t.role == Role::assistant) turn["style"] = style_name(t.style);
        turn["text"] = t.text;
        j["turns"].push_back(std::move(turn));
    }
    // Invalid UTF-8 (which a Conversation should never hold) is written as U+FFFD, not thrown.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// `where` names the source in messages (a file name).
inline Conversation conversation_from_json(std::string_view json_text, const std::string& where) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::parse_error& e) {
        throw Error({"not a JSON file", where + ", byte " + std::to_string(e.byte), "a conversation saved by ulk-chat /save",
                     e.what(), ""});
    }
    auto fail = [&](const std::string& pointer, const std::string& expected, const nlohmann::json* found) {
        throw Error({"conversation file has a wrong field", where + ", " + (pointer.empty() ? "/" : pointer), expected,
                     found ? found->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 80) : "nothing", ""});
    };
    auto text_at = [&](const nlohmann::json& obj, const std::string& pointer, const char* key) -> std::string {
        const auto it = obj.find(key);
        if (it == obj.end() || !it->is_string()) fail(pointer + "/" + key, "a string", it == obj.end() ? nullptr : &*it);
        const std::string& s = it->get_ref<const std::string&>();
        if (!text::is_valid_utf8(s)) fail(pointer + "/" + key, "valid UTF-8", &*it);
        return s;
    };
    if (!j.is_object()) fail("", "an object", &j);
    if (text_at(j, "", "format") != kConversationFormat) fail("/format", "\"ulk-conversation\"", &j["format"]);
    const auto version = j.find("version");
    if (version == j.end() || !version->is_number_integer() || version->get<long long>() != kConversationVersion)
        fail("/version", std::to_string(kConversationVersion), version == j.end() ? nullptr : &*version);

    Conversation c;
    const auto style = parse_style(text_at(j, "", "style"));
    if (!style) fail("/style", "\"polite\" or \"casual\"", &j["style"]);
    c.style = *style;
    c.system = text_at(j, "", "system");
    const auto turns = j.find("turns");
    if (turns == j.end() || !turns->is_array()) fail("/turns", "an array", turns == j.end() ? nullptr : &*turns);
    for (std::size_t i = 0; i < turns->size(); ++i) {
        const nlohmann::json& t = (*turns)[i];
        const std::string pointer = "/turns/" + std::to_string(i);
        if (!t.is_object()) fail(pointer, "an object", &t);
        Turn turn;
        const auto role = parse_role(text_at(t, pointer, "role"));
        if (!role || *role == Role::system)
            fail(pointer + "/role", "\"user\" or \"assistant\" (the system prompt is the top-level \"system\")", &t["role"]);
        turn.role = *role;
        if (turn.role == Role::assistant) {
            const auto s = parse_style(text_at(t, pointer, "style"));
            if (!s) fail(pointer + "/style", "\"polite\" or \"casual\"", &t["style"]);
            turn.style = *s;
        } else {
            turn.style = c.style;
        }
        turn.text = text_at(t, pointer, "text");
        c.turns.push_back(std::move(turn));
    }
    return c;
}

inline void save_conversation(const Conversation& c, const std::string& path) {
    const std::string json = conversation_to_json(c);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(json.data(), std::streamsize(json.size()));
    out.close();
    require(out.good(), {"cannot write the conversation", path, "a writable file", "", "check the folder exists and is writable"});
}

inline Conversation load_conversation(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    require(in.good(), {"cannot open the conversation file", path, "a file saved by ulk-chat /save", "no such readable file", ""});
    std::ostringstream s;
    s << in.rdbuf();
    return conversation_from_json(s.str(), path);
}

}  // namespace ulk::generate
