// Sổ Cái: scan a transcript's QR code with the camera on /verify (progressive enhancement).
// Shown only where the browser has the BarcodeDetector API and a camera; otherwise the page
// is the plain upload form. A code pointing at this site's /verify/{id} opens that page; a
// code pointing elsewhere is shown as a link and never opened on its own.
"use strict";

(function () {
  const TRANSCRIPT_PATH = /^\/verify\/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

  async function supported() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return false;
    }
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      return formats.includes("qr_code");
    } catch (err) {
      return false;
    }
  }

  function setup(section) {
    const button = section.querySelector("[data-qr-start]");
    const video = section.querySelector("[data-qr-video]");
    const status = section.querySelector("[data-qr-status]");
    const linkBox = section.querySelector("[data-qr-link]");
    const link = linkBox ? linkBox.querySelector("a") : null;
    const msg = section.dataset;
    let stream = null;
    let timer = null;

    function say(text) { status.textContent = text || ""; }

    function stop() {
      if (timer) { window.clearTimeout(timer); timer = null; }
      if (stream) { for (const track of stream.getTracks()) track.stop(); stream = null; }
      video.hidden = true;
      button.textContent = msg.msgStart;
    }

    function found(raw) {
      let url;
      try {
        url = new URL(raw, window.location.href);
      } catch (err) {
        say(msg.msgOther);
        return false;
      }
      if (url.origin === window.location.origin && TRANSCRIPT_PATH.test(url.pathname)) {
        say(msg.msgOpening);
        stop();
        window.location.assign(url.pathname);
        return true;
      }
      if ((url.protocol === "https:" || url.protocol === "http:") && TRANSCRIPT_PATH.test(url.pathname) && link) {
        link.href = url.href;
        link.textContent = url.href;
        linkBox.hidden = false;
        say(msg.msgForeign);
        stop();
        return true;
      }
      say(msg.msgOther);
      return false;
    }

    async function start() {
      if (stream) { stop(); say(""); return; }
      say(msg.msgStarting);
      let detector;
      try {
        detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      } catch (err) {
        stop();
        say(msg.msgDenied);
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      button.textContent = msg.msgStop;
      try { await video.play(); } catch (err) { /* autoplay of a muted stream is allowed */ }
      say(msg.msgLooking);
      const tick = async () => {
        if (!stream) return;
        try {
          const codes = await detector.detect(video);
          for (const code of codes) {
            if (code.rawValue && found(code.rawValue)) return;
          }
        } catch (err) { /* the frame was not ready: try the next one */ }
        timer = window.setTimeout(tick, 250);
      };
      tick();
    }

    button.addEventListener("click", start);
    window.addEventListener("pagehide", stop);
    section.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const sections = document.querySelectorAll("[data-qr-scan]");
    if (!sections.length || !(await supported())) return;
    for (const section of sections) setup(section);
  });
})();
