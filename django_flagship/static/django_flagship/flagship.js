/*
 * django-flagship in the browser: the visitor's flags and event tracking.
 *
 * Put {% flags_json "flagA" "flagB" %} in the page, then load this script:
 *
 *   <script src="{% static 'django_flagship/flagship.js' %}" defer></script>
 *
 *   flagship.flag("btnColor", "#2458d6")   // the value, or the default
 *   flagship.track({action: "Newsletter signup", label: "footer", value: 1})
 *   flagship.track("Video played")         // just an action
 *
 * Clicks on elements with a data-flagship-event attribute are tracked too:
 *
 *   <button data-flagship-event="Buy click" data-flagship-label="mug">Buy</button>
 *
 * Events are posted to the site (never straight to Flagship), which checks
 * them and sends them as the visitor's Event hits. track() returns a promise
 * of true when the site accepted and sent the event, false otherwise; it
 * never rejects.
 */
(function () {
  "use strict";

  var CATEGORIES = ["Action Tracking", "User Engagement"];
  var data = { flags: {}, trackUrl: null, csrfToken: null };

  function readData() {
    // Every {% flags_json %} element on the page: "flagship-data" and any
    // "flagship-data-..." written with element_id.
    var nodes = document.querySelectorAll('script[type="application/json"][id^="flagship-data"]');
    for (var i = 0; i < nodes.length; i++) {
      var parsed;
      try {
        parsed = JSON.parse(nodes[i].textContent);
      } catch (error) {
        console.warn("flagship: #" + nodes[i].id + " is not valid JSON", error);
        continue;
      }
      var flags = parsed.flags || {};
      for (var key in flags) {
        if (Object.prototype.hasOwnProperty.call(flags, key)) {
          data.flags[key] = flags[key];
        }
      }
      data.trackUrl = parsed.trackUrl || data.trackUrl;
      data.csrfToken = parsed.csrfToken || data.csrfToken;
    }
  }

  function flag(key, defaultValue) {
    var value = Object.prototype.hasOwnProperty.call(data.flags, key) ? data.flags[key] : null;
    if (value === null || value === undefined) {
      return defaultValue;
    }
    // The same rule as request.flags.get: a value of another type than the default is ignored.
    if (defaultValue !== undefined && defaultValue !== null && typeof value !== typeof defaultValue) {
      return defaultValue;
    }
    return value;
  }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var index = parts[i].indexOf("=");
      if (parts[i].slice(0, index) === name) {
        return decodeURIComponent(parts[i].slice(index + 1));
      }
    }
    return null;
  }

  function normalize(event) {
    if (typeof event === "string") {
      event = { action: event };
    }
    if (!event || typeof event.action !== "string" || !event.action.trim()) {
      throw new TypeError("flagship.track() needs an action: track({action: '...'})");
    }
    var body = { action: event.action };
    if (event.category !== undefined && event.category !== null) {
      if (CATEGORIES.indexOf(event.category) < 0) {
        throw new TypeError("flagship.track(): category must be one of " + CATEGORIES.join(", "));
      }
      body.category = event.category;
    }
    if (event.label !== undefined && event.label !== null) {
      body.label = String(event.label);
    }
    if (event.value !== undefined && event.value !== null) {
      if (!Number.isInteger(event.value) || event.value < 0) {
        throw new TypeError("flagship.track(): value must be a non-negative integer");
      }
      body.value = event.value;
    }
    return body;
  }

  function track(event) {
    var body;
    try {
      body = normalize(event);
    } catch (error) {
      console.error(error.message);
      return Promise.resolve(false);
    }
    if (!data.trackUrl) {
      console.warn("flagship: no event URL; include django_flagship.browser_urls in your URLconf");
      return Promise.resolve(false);
    }
    return fetch(data.trackUrl, {
      method: "POST",
      credentials: "same-origin",
      // keepalive: the event still goes out when the click navigates away.
      keepalive: true,
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": data.csrfToken || cookie("csrftoken") || "",
      },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        if (!response.ok) {
          console.warn("flagship: event refused with status " + response.status);
          return false;
        }
        return response.json().then(function (answer) {
          return Boolean(answer.sent);
        });
      })
      .catch(function (error) {
        console.warn("flagship: event not sent", error);
        return false;
      });
  }

  function onClick(domEvent) {
    var target = domEvent.target.closest ? domEvent.target.closest("[data-flagship-event]") : null;
    if (!target) {
      return;
    }
    var value = target.getAttribute("data-flagship-value");
    track({
      action: target.getAttribute("data-flagship-event"),
      category: target.getAttribute("data-flagship-category") || undefined,
      label: target.getAttribute("data-flagship-label") || undefined,
      value: value === null ? undefined : parseInt(value, 10),
    });
  }

  readData();
  if (document.readyState === "loading") {
    // Loaded before the end of the page: data elements below it come later.
    document.addEventListener("DOMContentLoaded", readData);
  }
  document.addEventListener("click", onClick, true);

  window.flagship = {
    flag: flag,
    track: track,
    get flags() {
      return Object.assign({}, data.flags);
    },
  };
})();
