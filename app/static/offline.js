// Installs the service worker, shows the outbox as it is ("3 sessions waiting to be sent",
// "Sent at 14:05", "Error – will try again") and sends it when the network comes back, when
// "Send now" is tapped and every minute. Signing out with unsent sessions asks first.
// Every word shown comes from the page (data-* attributes), in the page's language.
"use strict";
(() => {
  const panel = document.getElementById("outbox");
  if (!panel || !window.Outbox || !window.indexedDB) return;
  const text = panel.dataset;
  const user = text.user;
  const find = (selector) => panel.querySelector(selector);
  const DAY = 24 * 3600 * 1000;

  if ("serviceWorker" in navigator) navigator.serviceWorker.register(text.worker).then(() => warm(false));
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist();

  // Keep the home page, the form and the registry on the phone while there is a network: at
  // most every ten minutes, and after sessions were sent (their new households now have ids).
  async function warm(now) {
    const last = Number(localStorage.getItem("kns.warmedAt")) || 0;
    if (!user || !navigator.onLine || !("serviceWorker" in navigator) || (!now && Date.now() - last < 600000)) return;
    localStorage.setItem("kns.warmedAt", Date.now());
    const registration = await navigator.serviceWorker.ready;
    registration.active.postMessage({ warm: JSON.parse(text.warm) });
  }

  async function send(everything) {
    const before = (await Outbox.all()).length;
    await Outbox.sync(everything);
    if ((await Outbox.all()).length < before) warm(true);
  }

  // Dates and times as the pages write them: 28/11/2026 and 14:05 (28 Nov 2026 in English).
  const english = document.documentElement.lang === "en";
  const pad = (n) => String(n).padStart(2, "0");
  const day = (d) =>
    english
      ? d.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" })
      : `${pad(d.getDate())}/${pad(d.getMonth() + 1)}/${d.getFullYear()}`;
  const time = (iso) => `${pad(new Date(iso).getHours())}:${pad(new Date(iso).getMinutes())}`;
  const stamp = (iso) => (english ? `${day(new Date(iso))}, ${time(iso)}` : `${time(iso)} ${day(new Date(iso))}`);
  const count = (n, one, many) => (n === 1 ? text[one] : text[many].replace("{n}", n));
  const describe = (label) => {
    const names = label.names.slice(0, 3).join(", ") + (label.names.length > 3 ? ", …" : "");
    const households = count(label.names.length, "householdsOne", "householdsMany");
    return [day(new Date(label.date + "T00:00")), label.village, `${households}: ${names}`].join(" · ");
  };

  // A copy of a <template> in the panel: false removes a part, text fills it, a link gets its address.
  function line(template, values) {
    const item = find("#" + template).content.firstElementChild.cloneNode(true);
    Object.entries(values).forEach(([name, value]) => {
      const slot = item.querySelector("." + name);
      if (value === false) slot.remove();
      else if (slot.tagName === "A") slot.href = value;
      else if (value !== true) slot.textContent = value;
    });
    return item;
  }

  async function render() {
    const items = await Outbox.all();
    const mine = items.filter((item) => user && item.userId === user);
    const others = items.length - mine.length;
    const state = Outbox.status.state;
    const recent = Outbox.sent().filter((record) => Date.now() - new Date(record.at) < DAY);
    const offline = !navigator.onLine;

    find("#outbox-count").textContent = items.length ? count(items.length, "pendingOne", "pendingMany") : "";
    find("#outbox-offline").hidden = !offline;
    find("#outbox-signed-out").hidden = !(items.length && (!user || state === "signedOut"));
    find("#outbox-others").hidden = !(user && others);
    find("#outbox-others").textContent = text.others.replace("{n}", others);
    find("#outbox-send").hidden = !mine.length || offline;
    find("#outbox-send").disabled = state === "sending";

    const list = find("#outbox-items");
    list.textContent = "";
    mine.forEach((item) => {
      const stateName = Outbox.status.sending === item.uuid ? "sending" : item.state;
      const refused = item.state === "refused";
      const row = line("outbox-item", {
        what: describe(item.label),
        state: text["state" + stateName[0].toUpperCase() + stateName.slice(1)],
        message: refused && item.message,
        fix: refused && text.fixUrl + "?outbox=" + item.uuid,
        discard: refused,
      });
      row.dataset.uuid = item.uuid;
      row.dataset.state = stateName;
      list.appendChild(row);
    });
    recent.slice(0, 3).forEach((record) => {
      const sentAt = text.sentAt.replace("{time}", time(record.at));
      list.appendChild(line("outbox-sent", { what: describe(record.label), state: sentAt }));
    });

    const last = Outbox.lastSync();
    find("#outbox-last").textContent = last ? text.lastSync.replace("{time}", stamp(last)) : "";
    panel.hidden = !(items.length || offline || recent.length);
  }

  find("#outbox-items").addEventListener("click", async (event) => {
    const button = event.target.closest("button.discard");
    if (!button || !window.confirm(text.discardConfirm)) return;
    await Outbox.remove(button.closest("li").dataset.uuid);
  });
  find("#outbox-send").addEventListener("click", () => send(true));

  // The outbox belongs to the phone, not to the sign-in: signing out keeps it (it is sent when
  // the same person signs in again), but asks first. The kept pages and registry are forgotten.
  const signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("submit", async (event) => {
      event.preventDefault();
      const waiting = (await Outbox.all()).filter((item) => item.userId === user).length;
      if (waiting && !window.confirm(count(waiting, "signOutOne", "signOutMany"))) return;
      const registration = navigator.serviceWorker && (await navigator.serviceWorker.getRegistration());
      if (registration && registration.active) registration.active.postMessage("forget");
      signOut.submit();
    });
  }

  window.addEventListener("outbox", render);
  window.addEventListener("offline", render);
  window.addEventListener("online", () => send(false));
  document.addEventListener("visibilitychange", () => document.hidden || render());
  setInterval(() => navigator.onLine && send(false), 60 * 1000);
  render();
  send(false);
})();
