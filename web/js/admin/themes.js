// Themes: the list (swatch, logo upload, edit, delete), the form that creates or saves one,
// and the room form's theme choice.
import { $, button, el } from "../dom.js";
import { call, upload } from "./api.js";

let editing = null; // the theme being edited, or null: the form creates

export async function loadThemes() {
  const page = await call("GET", "/themes?limit=100");
  const current = $("#room-theme").value;
  $("#room-theme").replaceChildren(new Option("Default", ""),
    ...page.items.map((theme) => new Option(theme.name, theme.id, false, theme.id === current)));
  $("#themes").replaceChildren(...page.items.map(themeItem));
}

function themeItem(theme) {
  const item = document.createElement("li");
  const swatch = el("span", "swatch");
  swatch.style.background = theme.primary;
  item.append(swatch, el("span", "who", theme.name));
  if (theme.logo_url) {
    const logo = document.createElement("img");
    logo.src = theme.logo_url;
    logo.alt = `${theme.name} logo`;
    item.append(logo);
  }
  const picker = document.createElement("input");
  picker.type = "file";
  picker.accept = "image/png,image/jpeg,image/gif,image/webp";
  picker.setAttribute("aria-label", `Logo for ${theme.name} (PNG, JPEG, GIF or WebP, at most 256 KiB)`);
  picker.addEventListener("change", async () => {
    const file = picker.files[0];
    if (!file) return;
    try {
      await upload("PUT", `/themes/${encodeURIComponent(theme.id)}/logo`, file);
    } catch (error) {
      $("#theme-error").textContent = error.message;
      $("#theme-error").hidden = false;
    }
    await loadThemes();
  });
  item.append(picker, button("Edit", `Edit the theme ${theme.name}`, (event) => {
    event.preventDefault();
    editing = theme;
    $("#theme-title").textContent = `Edit ${theme.name}`;
    $("#theme-submit").textContent = "Save theme";
    for (const field of ["name", "base", "primary", "background", "accent", "text"]) $(`#theme-${field}`).value = theme[field];
    $("#theme-brand").value = theme.brand_text || "";
    $("#theme-name").focus();
  }), button("Delete", `Delete the theme ${theme.name}`, async (event) => {
    event.preventDefault();
    if (!confirm(`Delete the theme ${theme.name}? Its rooms get the default look.`)) return;
    await call("DELETE", `/themes/${encodeURIComponent(theme.id)}`);
    await loadThemes();
  }, true));
  return item;
}

$("#theme-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#theme-error").hidden = true;
  try {
    const brand = $("#theme-brand").value.trim();
    const body = {
      name: $("#theme-name").value,
      base: $("#theme-base").value,
      primary: $("#theme-primary").value,
      background: $("#theme-background").value,
      accent: $("#theme-accent").value,
      text: $("#theme-text").value,
      brand_text: brand || null,
    };
    const theme = editing
      ? await call("PATCH", `/themes/${encodeURIComponent(editing.id)}`, body)
      : await call("POST", "/themes", body);
    editing = null;
    $("#theme-title").textContent = "New theme";
    $("#theme-submit").textContent = "Create theme";
    $("#theme-name").value = "";
    await loadThemes();
    $("#room-theme").value = theme.id;
  } catch (error) {
    $("#theme-error").textContent = error.message;
    $("#theme-error").hidden = false;
  }
});
