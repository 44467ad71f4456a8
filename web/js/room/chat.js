// The chat panel: the log (what the state holds, appended as it grows), the unread count on
// the Chat button while the panel is closed, and the form that sends.
import { $ } from "../dom.js";

let rendered = 0; // how many of state.chat are in the log
let unread = 0;

export function render(state) {
  $("#chat-toggle").hidden = !state.chatEnabled;
  for (const message of state.chat.slice(rendered)) {
    const item = document.createElement("li");
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = `${message.nickname} - ${new Date(message.sent_at).toLocaleTimeString()}`;
    item.append(from, document.createTextNode(message.text));
    $("#chat-log").append(item);
    $("#chat-log").scrollTop = $("#chat-log").scrollHeight;
    if (message.fresh && $("#chat-panel").hidden && message.participant_id !== state.me?.id) {
      unread += 1;
      $("#unread").textContent = String(unread);
      $("#unread").hidden = false;
    }
  }
  rendered = state.chat.length;
}

export function opened() {
  unread = 0;
  $("#unread").hidden = true;
  $("#chat-text").focus();
}

export function onSend(send) {
  $("#chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("#chat-text").value.trim();
    if (!text) return;
    send({ type: "chat", text });
    $("#chat-text").value = "";
  });
}
