// What a moderator can do to others in the meeting: mute one, remove one, end it for all.
import { button } from "../dom.js";

export function personActions(person, send) {
  const mute = button("Mute", `Mute ${person.nickname}`,
    () => send({ type: "mute_participant", participant_id: person.id, kind: "audio" }));
  mute.disabled = person.muted.audio;
  const kick = button("Remove", `Remove ${person.nickname} from the meeting`, () => {
    if (confirm(`Remove ${person.nickname} from the meeting?`)) send({ type: "kick", participant_id: person.id });
  }, true);
  return [mute, kick];
}

export function endForAll(send) {
  if (confirm("End the meeting for everyone?")) send({ type: "end_meeting" });
}
