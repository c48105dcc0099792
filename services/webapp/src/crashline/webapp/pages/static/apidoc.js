// The API reference's "try it" forms: call the API from the page with the user's token in
// the Auth-Token header (never in a URL), and show the answer as text.
"use strict";

(function () {
  const tokenInput = document.getElementById("api-token");
  const stored = window.sessionStorage.getItem("crashline-api-token");
  if (tokenInput && stored) {
    tokenInput.value = stored;
  }
  if (tokenInput) {
    tokenInput.addEventListener("change", function () {
      window.sessionStorage.setItem("crashline-api-token", tokenInput.value.trim());
    });
  }

  function queryOf(form) {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (typeof value === "string" && value.trim() !== "") {
        params.append(name, String(value).trim());
      }
    }
    const extra = form.querySelector("[data-extra=query]");
    if (extra && extra.value.trim() !== "") {
      for (const [name, value] of new URLSearchParams(extra.value.trim().replace(/^\?/, ""))) {
        params.append(name, value);
      }
    }
    return params;
  }

  async function tryIt(form) {
    const answer = form.querySelector("output.answer");
    const status = answer.querySelector(".status");
    const body = answer.querySelector(".body");
    const method = form.dataset.method;
    const params = queryOf(form);
    const headers = {};
    const token = tokenInput ? tokenInput.value.trim() : "";
    if (token !== "") {
      headers["Auth-Token"] = token;
    }
    let target = form.getAttribute("action");
    const request = {method: method, headers: headers, credentials: "omit", cache: "no-store"};
    if (form.dataset.body === "file") {
      request.body = new FormData(form);  // multipart, its boundary set by the browser
    } else if (form.dataset.body === "json") {
      headers["Content-Type"] = "application/json";
      request.body = form.querySelector("[data-extra=json]").value;
      if (params.toString()) {
        target += "?" + params.toString();
      }
    } else if (method === "POST") {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      request.body = params.toString();
    } else if (params.toString()) {
      target += "?" + params.toString();
    }
    answer.hidden = false;
    status.textContent = method + " " + target + " …";
    body.textContent = "";
    try {
      const response = await fetch(target, request);
      const text = await response.text();
      status.textContent = method + " " + target + ": HTTP " + response.status;
      answer.dataset.status = String(response.status);
      try {
        body.textContent = JSON.stringify(JSON.parse(text), null, 2);
      } catch (notJson) {
        body.textContent = text;
      }
    } catch (failure) {
      status.textContent = method + " " + target + ": " + failure;
      answer.dataset.status = "error";
    }
  }

  for (const form of document.querySelectorAll("form.try-it")) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      tryIt(form);
    });
  }
})();
