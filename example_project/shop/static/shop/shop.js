/* The shop's own script: uses the flags flagship.js hands over, and track(). */
(function () {
  "use strict";
  if (!window.flagship) {
    return;
  }

  // A number flag read in the browser: the free-shipping threshold of the
  // visitor's country ("Free shipping threshold" personalization).
  var note = document.getElementById("shipping-note");
  if (note) {
    var threshold = window.flagship.flag("freeShippingThreshold", 100);
    note.textContent = "Free shipping on orders over €" + threshold + ".";
    note.hidden = false;
  }

  // An event sent from code: the newsletter form has no server side here.
  var newsletter = document.getElementById("newsletter");
  if (newsletter) {
    newsletter.addEventListener("submit", function (event) {
      event.preventDefault();
      window.flagship
        .track({ action: "Newsletter signup", category: "User Engagement", label: "footer" })
        .then(function (sent) {
          newsletter.textContent = sent ? "Thanks, you are subscribed." : "Please try again later.";
        });
    });
  }
})();
