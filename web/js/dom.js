// Small DOM helpers both pages use.

export const $ = (selector) => document.querySelector(selector);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function cell(text) {
  return el("td", "", text);
}

// A button named for screen readers by aria (the label alone is often "Delete").
export function button(label, aria, onClick, danger = false) {
  const b = el("button", danger ? "danger" : "", label);
  b.type = "button";
  b.setAttribute("aria-label", aria);
  b.addEventListener("click", onClick);
  return b;
}

// A secret shown once: the text, then the secret in a <code> to copy.
export function secretNote(target, text, secret) {
  target.replaceChildren(document.createTextNode(text));
  target.append(el("code", "secret", secret));
  target.hidden = false;
}
