// Session form: live household search, quick picking and extra rows without a round trip.
// The form works without this file (search button, add-row button, plain post).
(function () {
  "use strict";
  var form = document.getElementById("session-form");
  if (!form) return;
  var query = form.querySelector("#q");
  var village = form.querySelector("#village_id");
  var results = document.getElementById("results");
  var picked = document.getElementById("picked");
  var pickedEmpty = document.getElementById("picked-empty");
  var rows = document.getElementById("new-households");
  var timer = null;
  var lastQuery = "";

  document.getElementById("search-button").hidden = true;

  function pickedIds() {
    return Array.prototype.map.call(picked.querySelectorAll("input:checked"), function (input) {
      return input.value;
    });
  }

  function describe(household) {
    return household.head_name + (household.address ? " · " + household.address : "");
  }

  function pick(household) {
    if (pickedIds().indexOf(String(household.id)) >= 0) return;
    var item = document.getElementById("picked-template").content.firstElementChild.cloneNode(true);
    item.querySelector("input").value = household.id;
    item.querySelector("span").textContent = describe(household);
    picked.appendChild(item);
    pickedEmpty.hidden = true;
  }

  function show(households) {
    results.textContent = "";
    households.forEach(function (household) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button result";
      button.textContent = "+ " + describe(household);
      button.addEventListener("click", function () {
        pick(household);
        item.remove();
      });
      item.appendChild(button);
      results.appendChild(item);
    });
    if (!households.length) {
      var none = document.createElement("li");
      none.className = "hint";
      none.textContent = results.dataset.none || "";
      results.appendChild(none);
    }
  }

  function search() {
    var text = query.value.trim();
    if (!village.value || text.length < 2) {
      results.textContent = "";
      lastQuery = "";
      return;
    }
    if (text === lastQuery) return;
    lastQuery = text;
    var url = form.dataset.searchUrl + "?village_id=" + encodeURIComponent(village.value) +
      "&q=" + encodeURIComponent(text);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { households: [] }; })
      .then(function (data) {
        if (query.value.trim() !== text) return;
        var chosen = pickedIds();
        show(data.households.filter(function (h) { return chosen.indexOf(String(h.id)) < 0; }));
      })
      .catch(function () { lastQuery = ""; });
  }

  query.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  query.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      search();
    }
  });
  village.addEventListener("change", function () {
    lastQuery = "";
    results.textContent = "";
  });

  // Unticking a picked household takes it off the list.
  picked.addEventListener("change", function (event) {
    if (event.target.checked) return;
    event.target.closest("li").remove();
    pickedEmpty.hidden = picked.children.length > 0;
  });

  document.getElementById("add-row").addEventListener("click", function (event) {
    event.preventDefault();
    var index = rows.children.length;
    var copy = rows.lastElementChild.cloneNode(true);
    copy.querySelectorAll(".duplicates, .error").forEach(function (node) { node.remove(); });
    copy.querySelectorAll("input, label").forEach(function (element) {
      ["name", "id", "for", "aria-describedby"].forEach(function (attribute) {
        var value = element.getAttribute(attribute);
        if (value) element.setAttribute(attribute, value.replace(/new_households-\d+-/, "new_households-" + index + "-"));
      });
      element.removeAttribute("aria-invalid");
      if (element.tagName === "INPUT") element.value = /-uuid$/.test(element.name) ? uuid4() : "";
    });
    copy.dataset.index = index;
    rows.appendChild(copy);
    copy.querySelector("input[type=text]").focus();
  });

  function uuid4() {
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // A second tap while the first save is on its way does nothing (the server would not
  // duplicate it either); after a while the button works again in case the network failed.
  form.addEventListener("submit", function (event) {
    if (!event.submitter || event.submitter.value !== "save") return;
    if (form.dataset.sending) {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    setTimeout(function () { delete form.dataset.sending; }, 15000);
  });
})();
