// On a wide screen the menu's links stand in one row, so the menu is opened (its toggle is
// hidden there); on a phone it stays closed until tapped. Without script the menu still works.
(function () {
  var menu = document.getElementById('menu');
  if (!menu || !window.matchMedia) return;
  var wide = window.matchMedia('(min-width: 900px)');
  function fit() { menu.open = wide.matches; }
  fit();
  wide.addEventListener('change', fit);
})();
