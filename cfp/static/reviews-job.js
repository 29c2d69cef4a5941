// Progress of an assignment job: polls /jobs/<id> (JSON) and reloads the page when the
// job ends, so the server renders the preview. Without JavaScript the page has a refresh link.
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box) return;
  var url = box.getAttribute("data-url");
  var bar = document.getElementById("job-bar");
  var status = document.getElementById("job-status");
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { setTimeout(function () { location.reload(); }, 3000); return; }
        bar.style.width = job.progress + "%";
        bar.textContent = job.progress + "%";
        box.setAttribute("aria-valuenow", job.progress);
        if (job.message) status.textContent = job.message;
        if (job.status === "queued" || job.status === "running") setTimeout(poll, 1000);
        else location.reload();
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
