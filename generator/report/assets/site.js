// datomspod web view: the only script. Everything is readable without it; it adds two filters
// (contracts by text, audit rows by status) and nothing else. No network, no storage.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var text = document.querySelector('input[data-filter="contracts"]');
  if (text) {
    text.closest(".filter").hidden = false;
    var rows = document.querySelectorAll("table.contracts tbody tr");
    text.addEventListener("input", function () {
      var wanted = text.value.trim().toLowerCase();
      rows.forEach(function (row) {
        row.hidden = wanted !== "" && row.textContent.toLowerCase().indexOf(wanted) < 0;
      });
    });
  }
  var problems = document.querySelector('input[data-filter="problems"]');
  if (problems) {
    problems.closest(".filter").hidden = false;
    var auditRows = document.querySelectorAll("table.audit tbody tr");
    problems.addEventListener("change", function () {
      auditRows.forEach(function (row) {
        row.hidden = problems.checked && row.getAttribute("data-status") === "verified";
      });
    });
  }
});
