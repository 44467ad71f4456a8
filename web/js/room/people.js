// The people panel: everyone in the meeting with their role and flags; a moderator also gets
// each other person's actions (moderation.js).
import { $ } from "../dom.js";
import { personActions } from "./moderation.js";

export function render(state, previous, send) {
  if (state.people === previous.people && state.me === previous.me) return;
  const list = $("#people");
  list.replaceChildren();
  for (const person of state.people.values()) {
    const item = document.createElement("li");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${person.nickname}${person.id === state.me?.id ? " (you)" : ""} - ${person.role}`
      + `${person.hand_raised ? " - hand raised" : ""}${person.muted.audio ? " - muted" : ""}`;
    item.append(who);
    if (state.me?.role === "moderator" && person.id !== state.me.id) item.append(...personActions(person, send));
    list.append(item);
  }
  $("#people-title").textContent = `People (${state.people.size})`;
}
