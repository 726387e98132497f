// Live pages: when the server says something changed (Server-Sent Events fed from the
// projection), fetch this page again and swap the regions marked data-live in place: no reload,
// nothing typed is lost (a region holding the focus is left alone until the next change).
// Without JavaScript the <noscript> meta refresh reloads the page instead.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-live-events");
  if (!url || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var busy = false, again = false;

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live]").forEach(function (node) {
      var fresh = doc.querySelector('[data-live="' + node.getAttribute("data-live") + '"]');
      if (!fresh || node.contains(document.activeElement)) return;
      if (node.innerHTML !== fresh.innerHTML) node.innerHTML = fresh.innerHTML;
    });
    document.body.setAttribute("data-live-updated", String(Date.now()));
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (resp) { return resp.ok ? resp.text() : null; })
      .then(function (html) { if (html) swap(html); })
      .catch(function () { /* the next change or the reconnect tries again */ })
      .finally(function () { busy = false; if (again) { again = false; refresh(); } });
  }

  var source = new EventSource(url);
  source.addEventListener("changed", refresh);
  // Whatever changed between this page's render and the subscription (or during a reconnect).
  source.addEventListener("open", refresh);
  document.body.setAttribute("data-live-connected", "1");
})();
