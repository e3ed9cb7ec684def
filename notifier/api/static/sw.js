// The live page's service worker: shows each Web Push as a notification, opens the page on a click.
// Served at /sw.js (scope: the whole site). Pushes are encrypted by the server (RFC 8291) and
// decrypted by the browser before this sees them: event.data is the JSON the server sent.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function message(event) {
  if (!event.data) return {};
  try {
    return event.data.json();
  } catch (e) {
    return { body: event.data.text() };
  }
}

self.addEventListener("push", (event) => {
  const msg = message(event);
  const options = {
    body: msg.body || "",
    tag: msg.tag || undefined,
    lang: msg.lang || undefined,
    data: { url: msg.url || "/", id: msg.id || null, kind: msg.kind || null },
  };
  event.waitUntil(self.registration.showNotification(msg.title || "match-notifier", options));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const w of windows) {
        if (new URL(w.url).pathname === path && "focus" in w) return w.focus();
      }
      return self.clients.openWindow(path);
    }),
  );
});
