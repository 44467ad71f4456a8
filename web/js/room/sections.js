// The page shows one section of <main> at a time: join, devices, meeting, recordings,
// shared, end or problem.
import { $ } from "../dom.js";

export function show(id) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== id;
  const heading = document.querySelector(`#${id} h1`);
  if (heading) { heading.tabIndex = -1; heading.focus(); }
}

export function problem(text) {
  $("#problem-text").textContent = text;
  show("problem");
}

export function banner(text) {
  $("#banner").textContent = text;
  $("#banner").hidden = !text;
}
