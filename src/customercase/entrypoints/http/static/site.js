// Customer Case: the little script of our own. Everything works without it; it adds
// (1) the CSRF header on htmx requests and (2) the "similar ideas" panel of the submit form.
(function () {
  "use strict";

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var token = cookie("csrftoken");
    if (token) event.detail.headers["x-csrftoken"] = token;
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-similar-panel")) {
      // The similar-ideas route takes the typed summary as q, and nothing else.
      var params = event.detail.parameters;
      params.q = elt.value;
      delete params[elt.name];
    }
  });

  function panelOf(elt) {
    return document.getElementById(elt.getAttribute("data-similar-panel"));
  }

  function showSimilar(panel, items) {
    var list = panel.querySelector("ul");
    list.textContent = "";
    items.slice(0, 5).forEach(function (idea) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = "/ideas/" + encodeURIComponent(idea.id);
      link.textContent = idea.summary; // text, never HTML: summaries are user text
      var votes = document.createElement("span");
      votes.className = "votes";
      votes.textContent = " (" + idea.votes + (idea.votes === 1 ? " vote)" : " votes)");
      li.appendChild(link);
      li.appendChild(votes);
      list.appendChild(li);
    });
    panel.hidden = items.length === 0;
  }

  // The similar-ideas answer is JSON: htmx fetches it (debounced), we render it as text.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.elt;
    if (!elt.hasAttribute("data-similar-panel")) return;
    event.detail.shouldSwap = false;
    var panel = panelOf(elt);
    if (!panel) return;
    var items = [];
    if (event.detail.xhr.status === 200 && elt.value.trim().length >= 3) {
      try {
        items = JSON.parse(event.detail.xhr.responseText).items || [];
      } catch (e) {
        items = [];
      }
    }
    showSimilar(panel, items);
  });
})();
