// The ledger's filters (dmmlib/ledger.py): hide the claims whose verdict or kind is unticked.
// Plain DOM, no library, works offline; without JavaScript every claim stays visible.
document.addEventListener("DOMContentLoaded", function () {
  var boxes = document.querySelectorAll("input[data-filter]");
  if (!boxes.length) return;
  function apply() {
    var shown = { verdict: {}, kind: {} };
    boxes.forEach(function (b) { shown[b.dataset.filter][b.value] = b.checked; });
    document.querySelectorAll("tr[data-verdict]").forEach(function (row) {
      var ok = shown.verdict[row.dataset.verdict] !== false && shown.kind[row.dataset.kind] !== false;
      row.style.display = ok ? "" : "none";
    });
  }
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  apply();
});
