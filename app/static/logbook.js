// Session form: live household search, quick picking and extra rows without a round trip.
// With no network a new session goes into the phone's outbox (outbox.js) instead of being
// posted, and the search runs on the households kept on the phone (the offline pack).
// The form works without this file (search button, add-row button, plain post).
"use strict";
(() => {
  const form = document.getElementById("session-form");
  if (!form) return;
  const text = form.dataset;
  const field = (name) => form.elements[name];
  const query = field("q");
  const village = field("village_id");
  const results = document.getElementById("results");
  const picked = document.getElementById("picked");
  const pickedEmpty = document.getElementById("picked-empty");
  const rows = document.getElementById("new-households");
  const note = document.getElementById("form-status");
  const panel = document.getElementById("outbox");
  const outbox = text.outbox === "1" && panel && window.Outbox && window.indexedDB ? window.Outbox : null;
  let fixing = outbox && new URLSearchParams(location.search).get("outbox");
  let timer = null;
  let lastQuery = "";
  let pack = null;

  document.getElementById("search-button").hidden = true;
  if (outbox) document.getElementById("queue-button").hidden = false;

  function uuid4() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    const hex = Array.from(bytes, (b) => (b + 256).toString(16).slice(1)).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // The same folding as app/text.py fold(): "Đặng", "dang" and "H'Hen", "hhen" match.
  const fold = (value) =>
    value
      .replace(/đ/g, "d")
      .replace(/Đ/g, "D")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/['’‘`´ʼʻ]/g, "")
      .replace(/[^0-9a-z ]+/g, " ")
      .replace(/\s+/g, " ")
      .trim();

  const today = () => {
    const now = new Date();
    return new Date(now - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  };

  const pickedIds = () => Array.from(picked.querySelectorAll("input:checked"), (input) => input.value);
  const describe = (household) => household.head_name + (household.address ? " · " + household.address : "");
  const part = (row, name) => row.querySelector(`[name$="-${name}"]`);
  const ROW_FIELDS = ["uuid", "head_name", "address", "phone"];
  const isBlank = (row) => ROW_FIELDS.slice(1).every((name) => !part(row, name).value.trim());

  // A household typed on this phone but not yet on the server has no id: it goes into a
  // new-household row with its uuid, so the server matches it instead of adding it again.
  function pick(household) {
    if (!household.id) {
      const row = isBlank(rows.lastElementChild) ? rows.lastElementChild : addRow();
      ROW_FIELDS.forEach((name) => (part(row, name).value = household[name] || ""));
      return;
    }
    if (pickedIds().includes(String(household.id))) return;
    const item = document.getElementById("picked-template").content.firstElementChild.cloneNode(true);
    item.querySelector("input").value = household.id;
    item.querySelector("span").textContent = describe(household);
    picked.appendChild(item);
    pickedEmpty.hidden = true;
  }

  function show(households, offline) {
    results.textContent = "";
    if (offline) {
      const hint = document.createElement("li");
      hint.className = "hint";
      hint.textContent = text.offlineSearch;
      results.appendChild(hint);
    }
    households.forEach((household) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button result";
      button.textContent = "+ " + describe(household);
      button.addEventListener("click", () => {
        pick(household);
        item.remove();
      });
      item.appendChild(button);
      results.appendChild(item);
    });
    if (!households.length) {
      const none = document.createElement("li");
      none.className = "hint";
      none.textContent = results.dataset.none || "";
      results.appendChild(none);
    }
  }

  function loadPack() {
    pack =
      pack ||
      fetch(text.packUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : Promise.reject(response)))
        .catch(() => {
          pack = null;
          return { households: [] };
        });
    return pack;
  }

  // The kept registry of the volunteer's villages, plus households typed into sessions that
  // still wait in the outbox; every word typed must be in the folded name, as on the server.
  async function searchOnPhone(typed) {
    const words = fold(typed).split(" ");
    const found = new Map();
    (await loadPack()).households.forEach((household) => found.set(household.uuid, household));
    (await outbox.all()).forEach((item) =>
      item.body.households
        .filter((household) => !household.id && !found.has(household.uuid))
        .forEach((household) => found.set(household.uuid, { ...household, village_id: item.body.village_id })),
    );
    const inRows = Array.from(rows.children, (row) => part(row, "uuid").value);
    return Array.from(found.values())
      .filter((household) => String(household.village_id) === village.value && !inRows.includes(household.uuid))
      .filter((household) => words.every((word) => (household.folded || fold(household.head_name)).includes(word)))
      .slice(0, 20);
  }

  function search() {
    const typed = query.value.trim();
    if (!village.value || typed.length < 2) {
      results.textContent = "";
      lastQuery = "";
      return;
    }
    if (typed === lastQuery) return;
    lastQuery = typed;
    const url = `${text.searchUrl}?village_id=${encodeURIComponent(village.value)}&q=${encodeURIComponent(typed)}`;
    const fromServer = navigator.onLine
      ? fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then((response) =>
          response.ok ? response.json() : Promise.reject(response),
        )
      : Promise.reject(new Error("offline"));
    fromServer
      .then((data) => ({ households: data.households, offline: false }))
      .catch(() => (outbox ? searchOnPhone(typed).then((households) => ({ households, offline: true })) : null))
      .then((answer) => {
        if (!answer) lastQuery = "";
        if (!answer || query.value.trim() !== typed) return;
        const chosen = pickedIds();
        show(answer.households.filter((h) => !h.id || !chosen.includes(String(h.id))), answer.offline);
      });
  }

  query.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  query.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      search();
    }
  });
  village.addEventListener("change", () => {
    lastQuery = "";
    results.textContent = "";
  });

  // Unticking a picked household takes it off the list.
  picked.addEventListener("change", (event) => {
    if (event.target.checked) return;
    event.target.closest("li").remove();
    pickedEmpty.hidden = picked.children.length > 0;
  });

  function addRow() {
    const index = rows.children.length;
    const copy = rows.lastElementChild.cloneNode(true);
    copy.querySelectorAll(".duplicates, .error").forEach((node) => node.remove());
    copy.querySelectorAll("input, label").forEach((element) => {
      ["name", "id", "for", "aria-describedby"].forEach((attribute) => {
        const value = element.getAttribute(attribute);
        if (value) element.setAttribute(attribute, value.replace(/new_households-\d+-/, `new_households-${index}-`));
      });
      element.removeAttribute("aria-invalid");
      if (element.tagName === "INPUT") element.value = /-uuid$/.test(element.name) ? uuid4() : "";
    });
    copy.dataset.index = index;
    rows.appendChild(copy);
    return copy;
  }

  document.getElementById("add-row").addEventListener("click", (event) => {
    event.preventDefault();
    addRow().querySelector("input[type=text]").focus();
  });

  // The session as POST /api/v1/sessions takes it: the same fields the form posts.
  function session() {
    const data = new FormData(form);
    const households = Array.from(new Set(data.getAll("household_ids")), (id) => ({ id: Number(id) }));
    Array.from(rows.children)
      .filter((row) => !isBlank(row))
      .forEach((row) => {
        const [uuid, headName, address, phone] = ROW_FIELDS.map((name) => part(row, name).value);
        households.push({ uuid, head_name: headName, address, phone });
      });
    return {
      uuid: data.get("uuid"),
      date: data.get("date"),
      village_id: data.get("village_id"),
      topics: data.getAll("topics"),
      households,
      language: data.get("language") || null,
      attendees: data.get("attendees"),
      notes: data.get("notes"),
    };
  }

  function say(message, isProblem) {
    note.textContent = message;
    note.classList.toggle("is-problem", isProblem);
    note.hidden = !message;
    window.scrollTo(0, 0);
  }

  // Only what is plainly missing is checked here; the server checks the rest when it arrives.
  function problems(body) {
    return [
      !body.date && text.needDate,
      !body.village_id && text.needVillage,
      !body.topics.length && text.needTopics,
      !body.households.length && text.needHouseholds,
      body.households.some((h) => !h.id && !h.head_name.trim()) && text.needName,
    ].filter(Boolean);
  }

  async function queue() {
    const body = session();
    const missing = problems(body);
    if (missing.length) return say(missing.join(" "), true);
    // Names as the volunteer saw them, to tell the waiting sessions apart and to fix one.
    const chosen = Array.from(form.querySelectorAll("input[name=household_ids]:checked"), (input) => ({
      id: Number(input.value),
      head_name: input.nextElementSibling.textContent,
    })).concat(body.households.filter((household) => !household.id));
    await outbox.save({
      uuid: body.uuid,
      body,
      userId: panel.dataset.user,
      state: "pending",
      message: "",
      label: {
        date: body.date,
        village: village.selectedOptions[0].text,
        names: chosen.map((household) => household.head_name.split(" · ")[0]),
      },
      picked: chosen.filter((household) => household.id),
    });
    startOver();
    say(text.queued, false);
    outbox.sync();
  }

  // Ready for the next session of the same day and village, with new ids.
  function startOver() {
    form.querySelectorAll("#topics input").forEach((input) => (input.checked = false));
    picked.textContent = "";
    pickedEmpty.hidden = false;
    results.textContent = "";
    query.value = lastQuery = "";
    while (rows.children.length > 1) rows.lastElementChild.remove();
    rows.firstElementChild.querySelectorAll(".duplicates, .error").forEach((node) => node.remove());
    ROW_FIELDS.forEach((name) => (part(rows.firstElementChild, name).value = name === "uuid" ? uuid4() : ""));
    ["language", "attendees", "notes"].forEach((name) => (field(name).value = ""));
    field("uuid").value = uuid4();
    if (fixing) history.replaceState(null, "", location.pathname);
    fixing = null;
  }

  // "Fix" in the outbox panel: the refused session back in the form, with its uuid.
  async function reopen(uuid) {
    const item = (await outbox.all()).find((entry) => entry.uuid === uuid);
    if (!item) return;
    const body = item.body;
    startOver();
    fixing = uuid;
    field("uuid").value = uuid;
    field("date").value = body.date;
    village.value = body.village_id;
    form.querySelectorAll("#topics input").forEach((input) => (input.checked = body.topics.includes(input.value)));
    item.picked.forEach(pick);
    body.households.filter((household) => !household.id).forEach(pick);
    ["language", "attendees", "notes"].forEach((name) => (field(name).value = body[name] || ""));
    say([text.fixing, item.message].join(" "), true);
  }

  // The service worker's copy was made once and may be shown many times: each showing gets
  // its own ids, and today's date.
  if (text.copy === "kept") {
    field("uuid").value = uuid4();
    rows.querySelectorAll("[name$=-uuid]").forEach((input) => (input.value = uuid4()));
    field("date").value = field("date").max = today();
  }
  if (fixing) reopen(fixing);

  // Online, Save posts the form as always (and a second tap while it is on its way does
  // nothing). With no network, or with "Save on this phone", the session goes to the outbox.
  form.addEventListener("submit", (event) => {
    const action = event.submitter && event.submitter.value;
    if (action !== "save" && action !== "queue") return;
    if (form.dataset.sending) {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    if (!outbox || (action === "save" && navigator.onLine && !fixing)) {
      setTimeout(() => delete form.dataset.sending, 15000);
      return;
    }
    event.preventDefault();
    queue().finally(() => delete form.dataset.sending);
  });
})();
