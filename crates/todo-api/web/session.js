// Who the person is to the service: the token they signed in with, kept
// in the browser's local storage until they sign out, and the form that
// asks for it when the service wants one.

import { Api, SignedOut } from "./api.js";

const TOKEN_KEY = "todo-api.token";

const $ = (selector) => document.querySelector(selector);

/** The token every call sends, if any. */
export const session = {
  token: localStorage.getItem(TOKEN_KEY),
};

/** Forgets the token and shows the sign-in form with `message`. */
export function askToSignIn(message) {
  session.token = null;
  localStorage.removeItem(TOKEN_KEY);
  $("#loading").hidden = true;
  $("#todoapp").hidden = true;
  $("#account").hidden = true;
  $("#sign-in").hidden = false;
  $("#sign-in-error").textContent = message;
  $("#token").focus();
}

/** Signing in tries the token first and keeps it only when the service
 *  takes it; signing out forgets it. Both start the page afresh. */
export function wireSignIn() {
  $("#sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = $("#token").value.trim();
    const attempt = new Api(() => token);
    try {
      await attempt.me();
    } catch (error) {
      $("#sign-in-error").textContent =
        error instanceof SignedOut
          ? "That token was refused: check that it is whole and not expired."
          : "The service cannot be reached; try again.";
      return;
    }
    localStorage.setItem(TOKEN_KEY, token);
    location.reload();
  });
  $("#sign-out").addEventListener("click", () => {
    localStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
}
