// A room's theme (from the join preview): colours on the page, the brand on the join view.
import { $ } from "../dom.js";

export function applyTheme(theme) {
  const style = document.documentElement.style;
  style.setProperty("--primary", theme.primary);
  style.setProperty("--bg", theme.background);
  style.setProperty("--speaking", theme.accent);
  style.setProperty("--text", theme.text);
  if (theme.base === "light") {
    style.setProperty("--panel", "#ffffff");
    style.setProperty("--muted", "#4b5468");
    style.colorScheme = "light";
  }
  const brand = document.createElement("p");
  brand.className = "brand";
  if (theme.logo_url) {
    const logo = document.createElement("img");
    logo.src = theme.logo_url;
    logo.alt = theme.brand_text || "";
    brand.append(logo);
  }
  if (theme.brand_text) brand.append(document.createTextNode(theme.brand_text));
  if (brand.childNodes.length) $("#join").prepend(brand);
}
