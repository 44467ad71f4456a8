// Logging in with the admin password, and out.
import { $ } from "../dom.js";
import { sentence } from "../http.js";
import { call } from "./api.js";

export function showLogin() {
  $("#console").hidden = true;
  $("#login").hidden = false;
  $("#password").focus();
}

// loggedIn: opens the console.
export function init(loggedIn) {
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("#login-error").hidden = true;
    try {
      await call("POST", "/admin/login", { password: $("#password").value });
      $("#password").value = "";
      await loggedIn();
    } catch (error) {
      $("#login-error").textContent = sentence(error);
      $("#login-error").hidden = false;
    }
  });
  $("#logout").addEventListener("click", async () => {
    await call("POST", "/admin/logout");
    showLogin();
  });
}
