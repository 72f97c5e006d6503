/* Clientside glue: the Ace JSON editor mirrors a hidden dcc.Textarea, and the theme switch.
   Ace comes from assets/ace (vendored ace-builds). */
(function () {
  "use strict";
  var editors = {};
  var TYPING_PAUSE_MS = 350;

  function isDark() {
    return document.documentElement.getAttribute("data-bs-theme") === "dark";
  }

  function aceTheme() {
    return isDark() ? "ace/theme/tomorrow_night" : "ace/theme/chrome";
  }

  function mount(editorId, textId) {
    var element = document.getElementById(editorId);
    if (!element || !window.ace) {
      return null;
    }
    var known = editors[editorId];
    if (known && known.container === element) {
      return known;
    }
    var editor = window.ace.edit(element, {
      mode: "ace/mode/json",
      theme: aceTheme(),
      useWorker: false,
      behavioursEnabled: false,
      showPrintMargin: false,
      tabSize: 2,
      useSoftTabs: true,
      wrap: true,
    });
    editor.lastSynced = "";
    var timer = null;
    editor.session.on("change", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var value = editor.getValue();
        if (value !== editor.lastSynced) {
          editor.lastSynced = value;
          window.dash_clientside.set_props(textId, { value: value });
        }
      }, TYPING_PAUSE_MS);
    });
    editors[editorId] = editor;
    return editor;
  }

  function syncEditor(value, editorId, textId, attempt) {
    var editor = mount(editorId, textId);
    if (!editor) {
      if ((attempt || 0) < 50) {
        setTimeout(function () { syncEditor(value, editorId, textId, (attempt || 0) + 1); }, 100);
      }
      return;
    }
    var text = value || "";
    if (text !== editor.getValue()) {
      editor.lastSynced = text;
      editor.setValue(text, 1);
    }
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    modelConsole: {
      syncEditor: function (value, editorId, textId) {
        syncEditor(value, editorId, textId, 0);
        return window.dash_clientside.no_update;
      },
      applyTheme: function (dark) {
        var mode = dark ? "dark" : "light";
        document.documentElement.setAttribute("data-bs-theme", mode);
        document.body.setAttribute("data-ag-theme-mode", mode);
        Object.keys(editors).forEach(function (id) { editors[id].setTheme(aceTheme()); });
        return window.dash_clientside.no_update;
      },
      checkUploadSize: function (contents, filename, limit) {
        var no = window.dash_clientside.no_update;
        if (!contents) {
          return [no, no, no];
        }
        var base64 = contents.slice(contents.indexOf(",") + 1);
        var size = Math.floor(base64.length * 3 / 4);
        if (size > limit) {
          return [null, { size: size, limit: limit, filename: filename }, null];
        }
        return [{ contents: contents, filename: filename }, null, null];
      },
    },
  });
})();
