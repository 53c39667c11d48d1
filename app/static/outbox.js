// The outbox: sessions saved on this phone wait in IndexedDB until the server has confirmed
// them, whatever happens to the page, the sign-in or the service worker. Each keeps the uuid
// it was saved with, so sending it twice, or the whole outbox twice, never makes a second
// session on the server (POST /api/v1/sessions answers 200 for a uuid it already has).
"use strict";
window.Outbox = (() => {
  const STORE = "sessions";
  const SENT = "kns.sent"; // the last few confirmations, for "Sent at …"
  const LAST_SYNC = "kns.lastSync";
  const status = { state: "idle", sending: null };
  let database = null;
  let running = null;
  let again = false;
  let token = null;

  function open() {
    database = database || new Promise((resolve, reject) => {
      const request = indexedDB.open("kns-outbox", 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "uuid" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return database;
  }

  async function run(mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = work(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = transaction.onabort = () => reject(transaction.error);
    });
  }

  const changed = () => window.dispatchEvent(new Event("outbox"));
  const config = () => (document.getElementById("outbox") || { dataset: {} }).dataset;

  // Oldest first: the order they were saved in is the order they are sent in.
  async function all() {
    const items = await run("readonly", (store) => store.getAll());
    return items.sort((a, b) => a.queuedAt - b.queuedAt);
  }

  // Saving the same uuid again replaces the item (a fixed session keeps its place in line).
  async function save(item) {
    const old = await run("readonly", (store) => store.get(item.uuid));
    item.queuedAt = old ? old.queuedAt : Date.now();
    await run("readwrite", (store) => store.put(item));
    changed();
  }

  async function put(item) {
    await run("readwrite", (store) => store.put(item));
    changed();
  }

  async function remove(uuid) {
    await run("readwrite", (store) => store.delete(uuid));
    changed();
  }

  function sent() {
    try {
      return JSON.parse(localStorage.getItem(SENT)) || [];
    } catch (error) {
      return [];
    }
  }

  function confirmed(item) {
    const at = new Date().toISOString();
    localStorage.setItem(SENT, JSON.stringify([{ at, label: item.label }, ...sent()].slice(0, 5)));
    localStorage.setItem(LAST_SYNC, at);
  }

  function post(body) {
    const csrf = token || document.querySelector("meta[name=csrf-token]").content;
    return fetch(config().sendUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
  }

  // A 400 is a stale CSRF token (the page was kept offline, or the sign-in changed): the
  // offline pack carries a fresh one. Returns false when the phone is signed out.
  async function refreshToken() {
    const response = await fetch(config().packUrl, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return false;
    token = (await response.json()).csrf_token;
    return true;
  }

  async function messageOf(response) {
    try {
      const errors = (await response.json()).errors || {};
      return [].concat(...Object.values(errors)).join(" ");
    } catch (error) {
      return response.statusText;
    }
  }

  function setState(state) {
    status.state = state;
    status.sending = null;
    changed();
  }

  // One round: every waiting session of the signed-in person, in order. A refused one keeps
  // the server's message and the round goes on; no network or no sign-in ends the round.
  async function round(everything) {
    if (!navigator.onLine) return setState("offline");
    const user = config().user;
    const items = (await all()).filter((i) => user && i.userId === user && (everything || i.state !== "refused"));
    if (!items.length) return setState(status.state === "signedOut" ? "signedOut" : "idle");
    for (const item of items) {
      status.state = "sending";
      status.sending = item.uuid;
      changed();
      let response;
      try {
        response = await post(item.body);
        if (response.status === 400) {
          if (!(await refreshToken())) return setState("signedOut");
          response = await post(item.body);
        }
      } catch (error) {
        item.state = "failed";
        await put(item);
        return setState("failed");
      }
      if (response.ok) {
        confirmed(item);
        await remove(item.uuid);
      } else if (response.status === 401 || response.status === 403) {
        return setState("signedOut");
      } else if (response.status >= 500) {
        item.state = "failed";
        await put(item);
        return setState("failed");
      } else {
        item.state = "refused";
        item.message = await messageOf(response);
        await put(item);
      }
    }
    localStorage.setItem(LAST_SYNC, new Date().toISOString());
    setState("idle");
  }

  // One round at a time, across the phone's open tabs too (a second sender would only get
  // 200s, but there is no need to send twice). A session saved while a round is on its way
  // is sent by one more round right after it.
  function sync(everything = false) {
    if (running) {
      again = true;
      return running;
    }
    const go = () => round(everything);
    const locked = navigator.locks ? navigator.locks.request("kns-outbox", go) : go();
    running = locked
      .catch(() => setState("failed"))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          sync();
        }
      });
    return running;
  }

  return { all, save, remove, sync, sent, status, lastSync: () => localStorage.getItem(LAST_SYNC) };
})();
