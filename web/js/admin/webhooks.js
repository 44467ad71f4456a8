// Webhooks: the list with their last deliveries, a new one (its secret shown once), a test
// event, delete.
import { $, button, cell, el, secretNote } from "../dom.js";
import { call } from "./api.js";

export async function loadHooks() {
  const page = await call("GET", "/webhooks?limit=100");
  const rows = await Promise.all(page.items.map(async (hook) => {
    const log = await call("GET", `/webhooks/${encodeURIComponent(hook.id)}/deliveries?limit=20`);
    const counts = {};
    for (const d of log.items) counts[d.status] = (counts[d.status] || 0) + 1;
    const row = document.createElement("tr");
    row.dataset.hook = hook.id;
    const actions = document.createElement("td");
    const result = el("span", "note");
    result.setAttribute("role", "status");
    actions.append(
      button("Test", `Send a test event to ${hook.url}`, async () => {
        const sent = await call("POST", `/webhooks/${encodeURIComponent(hook.id)}/test`);
        result.textContent = sent.status === "delivered" ? `delivered (${sent.last_status_code})` : `failed: ${sent.last_error}`;
      }),
      button("Delete", `Delete the webhook ${hook.url}`, async () => {
        if (!confirm(`Stop sending events to ${hook.url}?`)) return;
        await call("DELETE", `/webhooks/${encodeURIComponent(hook.id)}`);
        await loadHooks();
      }, true),
      result,
    );
    row.append(cell(hook.url), cell(hook.events.length ? hook.events.join(", ") : "all"),
      cell(Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ") || "none yet"), actions);
    return row;
  }));
  $("#hooks").replaceChildren(...rows);
}

$("#hook-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#hook-error").hidden = true;
  try {
    const events = [...$("#hook-events").selectedOptions].map((o) => o.value);
    const hook = await call("POST", "/webhooks", { url: $("#hook-url").value, events });
    $("#hook-url").value = "";
    secretNote($("#hook-shown"), "Its signing secret, shown only now:", hook.secret);
    await loadHooks();
  } catch (error) {
    $("#hook-error").textContent = error.message;
    $("#hook-error").hidden = false;
  }
});
