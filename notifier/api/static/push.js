// "Notify me": Web Push for the tie, match or team this page shows (service worker + Push API).
// The server's VAPID key comes from /v1/push/key; the browser's subscription goes to
// /v1/push/subscriptions with what it follows and the browser's language.
"use strict";

(function () {
  const button = document.getElementById("notify");
  const choice = document.getElementById("notify-what");
  const status = document.getElementById("notify-status");
  const path = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const page = path[0] === "ties" || path[0] === "matches" ? { kind: path[0], id: path[1] } : null;
  const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

  function say(state, text) {
    button.dataset.state = state;
    status.textContent = text;
  }

  function keyBytes(b64url) {
    const b64 = (b64url + "=".repeat((4 - (b64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  function follows() {
    const what = choice.value;
    if (what === "home" || what === "away") {
      return { teams: [document.getElementById(what + "-name").textContent.trim()] };
    }
    return { [page.kind]: [page.id] };
  }

  async function postSubscription(subscription) {
    const lang = (navigator.language || "en").split("-")[0].toLowerCase();
    const body = { subscription: subscription.toJSON(), lang, ...follows() };
    const resp = await fetch("/v1/push/subscriptions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (!resp.ok) throw new Error(`the server refused the subscription (HTTP ${resp.status})`);
    return resp.json();
  }

  async function subscribe() {
    say("asking", "Asking for permission…");
    if ((await Notification.requestPermission()) !== "granted") {
      say("denied", "Notifications are blocked for this site.");
      return;
    }
    const registration = await navigator.serviceWorker.register("/sw.js");
    await navigator.serviceWorker.ready;
    say("registered", "Service worker ready; subscribing…");
    const keyResp = await fetch("/v1/push/key", { credentials: "same-origin" });
    if (!keyResp.ok) {  // e.g. 501: this server was installed without the webpush extra
      const problem = await keyResp.json().catch(() => ({}));
      say("unavailable", problem.detail || `Notifications are not available here (HTTP ${keyResp.status}).`);
      return;
    }
    const { publicKey } = await keyResp.json();
    let subscription;
    try {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(publicKey),
      });
    } catch (err) {
      say("no-push-service", `This browser could not reach its push service (${err.name}).`);
      return;
    }
    await postSubscription(subscription);
    say("subscribed", "Notifications on.");
  }

  if (!button) return;
  if (!page || !supported) {
    button.hidden = true;
    return;
  }
  button.hidden = false;
  choice.hidden = false;
  button.addEventListener("click", () => {
    subscribe().catch((err) => say("error", `Could not turn notifications on: ${err.message}`));
  });
  window.matchNotifierPush = { postSubscription, keyBytes };
})();
