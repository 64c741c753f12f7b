/* Every date field also says its date in words, as the pages write dates ("Wed 25 Nov 2026",
   SPEC 8): a browser shows a date input in its own locale's numeric form (02/03/2027 is
   2 March in London and February 3 in a US-set browser), so the words beside it remove the
   doubt at the bedside. Without JavaScript the field works as before. */
(function () {
  "use strict";
  var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function words(value) {
    var match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    if (!match) { return ""; }
    var year = Number(match[1]), month = Number(match[2]), day = Number(match[3]);
    var date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCMonth() !== month - 1) { return ""; }  // not a real day
    return DAYS[date.getUTCDay()] + " " + day + " " + MONTHS[month - 1] + " " + year;
  }

  document.querySelectorAll('input[type="date"]').forEach(function (input, index) {
    var echo = document.createElement("span");
    echo.className = "date-words";
    echo.id = (input.id || "date-field-" + index) + "-words";
    echo.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", echo);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + echo.id);
    function update() { echo.textContent = words(input.value); }
    input.addEventListener("input", update);
    input.addEventListener("change", update);
    update();
  });
})();
