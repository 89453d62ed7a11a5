// After the server's inactivity limit, reload: the server answers with the sign-in page,
// so a screen left open does not keep showing patient data.
(function () {
  var seconds = Number(document.body.dataset.idleSeconds || 0);
  if (seconds > 0) { setTimeout(function () { window.location.reload(); }, seconds * 1000 + 500); }
})();
