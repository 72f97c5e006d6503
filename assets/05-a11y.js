/* Keyboard and screen-reader fixes for components whose own markup cannot be reached from
   Python. Checked on dash-bootstrap-components 2.0.4 and dash 4.4.1; the axe-core browser
   test (tests/browser/test_accessibility.py) fails when an upgrade changes what these rely on.

   1. dbc.Tabs renders every tab link with tabindex=-1, one shared id (…-tab-null), an
      aria-controls naming no pane and no aria-selected (react-bootstrap's NavLink gets no
      eventKey). Each link is paired with its pane (the panes follow the list, in order):
      the link takes the id its pane is labelled by, points at the pane, says whether it is
      selected, and only the selected tab is in the Tab order (a roving tabindex).
   2. Arrow keys, Home and End move the focus between the tabs of a tablist; Enter or the
      space bar opens the focused tab (a click, so dbc's own handler sets active_tab and every
      callback follows). Opening only on Enter (manual activation) spares the tabs passed on
      the way their callbacks and a history entry each.
   3. Controls drawn inside a library component (dcc.Slider's thumbs, a progress bar) take
      their accessible name from the nearest `data-a11y-name` around them.
   4. Dash 4's dropdown puts an aria-hidden input first in the Tab order that hands focus on
      to its button: the button itself is made the tab stop, the hidden input left out.
   5. A table or a code block wider than the screen (a phone) scrolls sideways: while it
      does, it is a tab stop, so the keyboard can scroll it too.
   6. dcc.Clipboard draws a div that only a mouse can press: each Copy of "Use via API"
      (.snippet-copy) is made a button, named by its title, in the Tab order; Enter or the
      space bar press it. */
(function () {
  "use strict";

  function setAttr(element, name, value) {
    if (element.getAttribute(name) !== value) {
      element.setAttribute(name, value);
    }
  }

  function fixTabs(list) {
    var content = list.nextElementSibling;
    if (!content || !content.classList.contains("tab-content")) {
      return;
    }
    var panes = content.querySelectorAll(":scope > [role='tabpanel']");
    list.querySelectorAll("a[role='tab']").forEach(function (link, index) {
      var pane = panes[index];
      if (!pane) {
        return;
      }
      var selected = link.classList.contains("active");
      if (pane.getAttribute("aria-labelledby")) {
        setAttr(link, "id", pane.getAttribute("aria-labelledby"));
      }
      setAttr(link, "aria-controls", pane.id);
      setAttr(link, "aria-selected", selected ? "true" : "false");
      setAttr(link, "tabindex", selected ? "0" : "-1");
    });
    list.querySelectorAll(":scope > .nav-item").forEach(function (item) {
      setAttr(item, "role", "presentation");
    });
  }

  var NAMED = "[role='slider'], [role='progressbar'], select, input:not([type='hidden']), textarea";

  function nameControls() {
    document.querySelectorAll("[data-a11y-name]").forEach(function (holder) {
      var name = holder.getAttribute("data-a11y-name");
      holder.querySelectorAll(NAMED).forEach(function (control) {
        if (control.closest("[data-a11y-name]") === holder) {
          setAttr(control, "aria-label", name);
        }
      });
    });
  }

  function fixDropdowns() {
    document.querySelectorAll(".dash-dropdown-focus-target").forEach(function (hidden) {
      var button = hidden.nextElementSibling;
      if (!button || button.tagName !== "BUTTON" || button.disabled) {
        return;
      }
      setAttr(hidden, "tabindex", "-1");
      setAttr(button, "tabindex", "0");
    });
  }

  function fixCopyButtons() {
    document.querySelectorAll(".snippet-copy").forEach(function (copy) {
      setAttr(copy, "role", "button");
      setAttr(copy, "tabindex", "0");
      if (copy.title) {
        setAttr(copy, "aria-label", copy.title);
      }
    });
  }

  var SCROLLERS = ".table-responsive, pre, pre > code";
  var MARK = "data-a11y-scroller";

  function focusableScrollers() {
    document.querySelectorAll(SCROLLERS).forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute(MARK, "");
        box.setAttribute("tabindex", "0");
      } else if (!scrolls && box.hasAttribute(MARK)) {
        box.removeAttribute(MARK);
        box.removeAttribute("tabindex");
      }
    });
  }

  var measuring = false;
  function measureSoon() { // sizes are read once a frame, not on every change
    if (!measuring) {
      measuring = true;
      window.requestAnimationFrame(function () {
        measuring = false;
        focusableScrollers();
      });
    }
  }

  function fixAll() {
    document.querySelectorAll("ul.nav-tabs[role='tablist']").forEach(fixTabs);
    nameControls();
    fixDropdowns();
    fixCopyButtons();
    measureSoon();
  }
  window.addEventListener("resize", measureSoon);

  // Each fix writes an attribute only when it differs, so the observer settles.
  new MutationObserver(fixAll).observe(document.documentElement, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["class", "tabindex"],
  });

  var MOVES = {
    ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1,
  };

  document.addEventListener("keydown", function (event) {
    var copy = event.target.closest && event.target.closest(".snippet-copy[role='button']");
    if (copy && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      copy.click();
      return;
    }
    var tab = event.target.closest && event.target.closest("[role='tab']");
    var list = tab && tab.closest("[role='tablist']");
    if (!list) {
      return;
    }
    var tabs = Array.prototype.filter.call(list.querySelectorAll("[role='tab']"), function (t) {
      return !t.classList.contains("disabled") && t.getAttribute("aria-disabled") !== "true";
    });
    var index = tabs.indexOf(tab);
    if (event.key in MOVES) {
      index = (index + MOVES[event.key] + tabs.length) % tabs.length;
    } else if (event.key === "Home") {
      index = 0;
    } else if (event.key === "End") {
      index = tabs.length - 1;
    } else if (event.key === "Enter" || event.key === " ") {
      tab.click(); // a link answers Enter itself, but not the space bar
      event.preventDefault();
      return;
    } else {
      return;
    }
    event.preventDefault();
    tabs[index].focus(); // the open tab stays the one Tab returns to (a roving tabindex)
  });
})();
