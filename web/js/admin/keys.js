// API keys: the list (name, prefix, last use), a new key (shown once), revoke.
import { $, button, cell, secretNote } from "../dom.js";
import { call } from "./api.js";

export async function loadKeys() {
  const page = await call("GET", "/api-keys?limit=100");
  $("#keys").replaceChildren(...page.items.map((key) => {
    const row = document.createElement("tr");
    const actions = document.createElement("td");
    if (!key.revoked_at) {
      actions.append(button("Revoke", `Revoke the key ${key.name}`, async () => {
        if (!confirm(`Revoke ${key.name}? Whatever uses it stops working.`)) return;
        await call("DELETE", `/api-keys/${encodeURIComponent(key.id)}`);
        await loadKeys();
      }, true));
    }
    const used = key.revoked_at ? "revoked" : key.last_used_at ? new Date(key.last_used_at).toLocaleString() : "never";
    row.append(cell(key.name), cell(`${key.prefix}...`), cell(used), actions);
    return row;
  }));
}

$("#key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const created = await call("POST", "/api-keys", { name: $("#key-name").value });
  $("#key-name").value = "";
  secretNote($("#key-shown"), "The new key, shown only now:", created.key);
  await loadKeys();
});
