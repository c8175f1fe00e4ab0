// The copy-link button of a project page. Without script the address stays in a read-only
// field to select by hand, and the button stays hidden.
(function () {
  var button = document.getElementById('copy-link');
  if (!button) return;
  var field = document.getElementById(button.getAttribute('data-copy'));
  var status = document.getElementById('copy-status');
  if (!field) return;
  button.hidden = false;
  function copied() {
    if (status) status.textContent = button.getAttribute('data-copied');
  }
  button.addEventListener('click', function () {
    field.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(copied, function () {
        if (document.execCommand('copy')) copied();
      });
    } else if (document.execCommand('copy')) {
      copied();
    }
  });
})();
