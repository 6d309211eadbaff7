// Sổ Cái: small enhancements of pages that work without JavaScript (no inline scripts: CSP).
"use strict";

// A form with data-confirm="text" asks before it is sent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // One click, one signed write: disable the buttons while the request runs.
  for (const button of form.querySelectorAll("button[type=submit]")) {
    window.setTimeout(() => { button.disabled = true; }, 0);
  }
});

// Back to a page from the history cache: its buttons work again.
window.addEventListener("pageshow", () => {
  for (const button of document.querySelectorAll("form button[type=submit]:disabled")) {
    button.disabled = false;
  }
});

// Issuance progress: <section data-job-url="/api/v1/issuance/{job}" data-count-format=...>
// polls the job with the session cookie and updates the bar, the counts and the list.
function pollJob(section) {
  const url = section.dataset.jobUrl;
  const bar = section.querySelector("progress");
  const count = section.querySelector("[data-count]");
  const state = section.querySelector("[data-state]");
  const tick = async () => {
    let job;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      job = await response.json();
    } catch (err) {
      window.setTimeout(tick, 3000);
      return;
    }
    const total = Number(job.total || 0);
    const done = Number(job.done || 0);
    if (bar) { bar.max = Math.max(total, 1); bar.value = done; }
    if (count) count.textContent = section.dataset.countFormat.replace("{done}", done).replace("{total}", total);
    if (state && job.state) {
      const label = section.dataset["state" + job.state.charAt(0).toUpperCase() + job.state.slice(1)];
      if (label) state.textContent = label;
    }
    if (job.state === "done" || job.state === "failed") {
      // The server renders the final list (downloads, errors): load it once.
      window.location.replace(window.location.pathname + window.location.search);
      return;
    }
    window.setTimeout(tick, 1000);
  };
  window.setTimeout(tick, 500);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const section of document.querySelectorAll("[data-job-url]")) {
    // Without JavaScript, a <noscript><meta http-equiv=refresh></noscript> reloads instead.
    pollJob(section);
  }
});
