/* Clientside glue: the Ace JSON editor mirrors a hidden dcc.Textarea; the theme switch; the
   CSV upload; the URL that follows the page and the link to copy; the runs an older version
   kept in this browser, handed to the server. Ace comes from assets/ace (vendored ace-builds). */
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
      /* Tab inside the text indents, so Tab alone would never leave it (a keyboard trap):
         the editor is one stop in the Tab order, Enter starts editing, Escape ends it. */
      enableKeyboardAccessibility: true,
    });
    /* Ace's keyboard mode also makes the gutter (line numbers, folding) a stop of its own,
       where Enter does not edit: one stop for the editor is enough. */
    var gutter = element.querySelector(".ace_gutter");
    if (gutter) {
      gutter.setAttribute("tabindex", "-1");
      gutter.setAttribute("aria-hidden", "true");
    }
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

  /* Where the JSON does not parse: a gutter annotation and a mark at the position. */
  function markProblem(editor, problem) {
    if (!editor) {
      return;
    }
    var session = editor.session;
    if (editor.problemMarker) {
      session.removeMarker(editor.problemMarker);
      editor.problemMarker = null;
    }
    if (!problem || !problem.line) {
      session.clearAnnotations();
      return;
    }
    var row = problem.line - 1;
    var column = Math.max((problem.column || 1) - 1, 0);
    session.setAnnotations([{ row: row, column: column, text: problem.message, type: "error" }]);
    var Range = window.ace.require("ace/range").Range;
    editor.problemMarker = session.addMarker(
      new Range(row, column, row, column + 1), "json-problem-marker", "text", true
    );
  }

  /* CSV upload: the file goes to the server as it is (no base64 in the page), with progress.
     The upload zone carries the IDs of the components involved (data-upload), set in
     layouts/csv_tab.py. */
  var UPLOAD_ZONE = "[data-upload]";

  function uploadZone(element) {
    return element && element.closest ? element.closest(UPLOAD_ZONE) : null;
  }

  function uploadIds() {
    var zone = document.querySelector(UPLOAD_ZONE);
    return zone ? JSON.parse(zone.getAttribute("data-upload")) : null;
  }

  function apiUrl(path) {
    var config = JSON.parse(document.getElementById("_dash-config").textContent);
    return config.requests_pathname_prefix + path;
  }

  function showUploadProgress(ids, percent, label) {
    window.dash_clientside.set_props(ids.progress, {
      value: percent, label: label, style: { display: "flex" },
    });
  }

  function uploadFile(file) {
    var zone = document.querySelector(UPLOAD_ZONE);
    var ids = uploadIds();
    var limit = Number(zone.getAttribute("data-limit"));
    /* A failed upload is said by the server (layouts/csv_tab.py) through ids.rejected; a
       fresh "at" makes each failure a change, even the same one twice. Clearing is done here
       only: a server callback clearing the message raced the next failure's. */
    function rejected(why) {
      window.dash_clientside.set_props(ids.progress, { style: { display: "none" } });
      window.dash_clientside.set_props(ids.rejected, { data: Object.assign({ at: Date.now() }, why) });
    }
    window.dash_clientside.set_props(ids.error, { children: null });
    if (file.size > limit) {
      rejected({ size: file.size, limit: limit });
      return;
    }
    var request = new XMLHttpRequest();
    request.open("POST", apiUrl("api/uploads?filename=" + encodeURIComponent(file.name)));
    request.setRequestHeader("Content-Type", "text/csv");
    request.upload.onprogress = function (event) {
      if (event.lengthComputable) {
        var percent = Math.round(100 * event.loaded / event.total);
        showUploadProgress(ids, percent, "Uploading " + percent + "%");
      }
    };
    request.onload = function () {
      var body = {};
      try { body = JSON.parse(request.responseText); } catch (ignored) { body = {}; }
      if (request.status === 201) {
        showUploadProgress(ids, 100, "Uploaded");
        window.dash_clientside.set_props(ids.file, {
          data: { file_id: body.file_id, filename: body.filename },
        });
        /* A new file: the page stops naming the last job, so the CSV panel shows this
           file's jobs (none yet) instead of another file's predictions. */
        window.dash_clientside.set_props(ids.openJob, { data: null });
      } else {
        rejected({
          message: body.message || ("The upload failed (HTTP " + request.status + ")."),
          hint: body.hint || "",
        });
      }
    };
    request.onerror = function () {
      rejected({ message: "The upload was interrupted.", hint: "Check the connection and try again." });
    };
    showUploadProgress(ids, 0, "Uploading 0%");
    request.send(file);
  }

  function ensureFileInput() {
    var zone = document.querySelector(UPLOAD_ZONE);
    if (!zone) {
      return;
    }
    var ids = uploadIds();
    if (!document.getElementById(ids.input)) {
      var input = document.createElement("input");
      input.type = "file";
      input.id = ids.input;
      input.accept = ".csv,text/csv";
      input.className = "visually-hidden";
      input.setAttribute("aria-label", "CSV file to predict");
      zone.appendChild(input);
    }
  }
  new MutationObserver(ensureFileInput).observe(document.documentElement, {
    childList: true, subtree: true,
  });

  document.addEventListener("click", function (event) {
    var ids = uploadZone(event.target) ? uploadIds() : null;
    if (ids && event.target.id !== ids.input) {
      ensureFileInput();
      document.getElementById(ids.input).click();
    }
  });

  document.addEventListener("change", function (event) {
    var ids = uploadZone(event.target) ? uploadIds() : null;
    if (ids && event.target.id === ids.input && event.target.files.length) {
      uploadFile(event.target.files[0]);
      event.target.value = "";
    }
  });
  document.addEventListener("dragover", function (event) {
    if (uploadZone(event.target)) {
      event.preventDefault();
    }
  });
  document.addEventListener("drop", function (event) {
    if (uploadZone(event.target)) {
      event.preventDefault();
      if (event.dataTransfer.files.length) {
        uploadFile(event.dataTransfer.files[0]);
      }
    }
  });

  /* The URL follows the person: model, version or alias, tab, and the job open. A new state
     is a new history entry (back and forward move between them); a URL the page has just
     adopted (a link, a reload, back or forward) is completed in place, not pushed. */
  function pageQuery(selection, tab, job) {
    var params = new URLSearchParams();
    if (selection && selection.name) {
      params.set("model", selection.name);
      params.set("version", selection.ref || selection.version);
    }
    if (tab) {
      params.set("tab", String(tab).replace(/^tab-/, ""));
    }
    if (job) {
      params.set("job", job);
    }
    return params;
  }

  /* The query the page shows, written by it or read from the address bar. Only a query that
     differs is read (a link, a reload, back or forward): a query the page wrote itself, read
     back late, would take it back to where it was (a busy server answers after the person has
     moved on to another tab). */
  var shownQuery = null;

  function readUrl(search) {
    var query = search || "";
    /* A query the address bar no longer shows is an old one read late: a newer one follows. */
    if (query === shownQuery || query !== window.location.search) {
      return window.dash_clientside.no_update;
    }
    shownQuery = query;
    return query;
  }

  function writeUrl(selection, tab, job) {
    var wanted = pageQuery(selection, tab, job);
    var query = "?" + wanted.toString();
    shownQuery = query === "?" ? "" : query;  /* as location.search reads it */
    if (query === window.location.search) {
      return;
    }
    var current = new URLSearchParams(window.location.search);
    var adopting = true;
    current.forEach(function (value, key) {
      if (wanted.get(key) !== value) {
        adopting = false;
      }
    });
    var url = window.location.pathname + query + window.location.hash;
    if (adopting) {
      window.history.replaceState(window.history.state, "", url);
    } else {
      window.history.pushState(null, "", url);
    }
    /* dcc.Location keeps the URL it last saw; told of ours, back and forward to a URL it
       saw before still count as changes. */
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.className = "visually-hidden";
    document.body.appendChild(field);
    field.select();
    document.execCommand("copy");
    document.body.removeChild(field);
    return Promise.resolve();
  }

  /* Prediction History lives on the server. An older version kept each run in this
     browser's local storage, one key per run: those are handed to the server once, and
     forgotten here when the server has them. */
  var HISTORY_PREFIX = "model-console-history:";

  function browserRuns() {
    var runs = [];
    /* the keys first: removing one while walking by index would skip the next */
    Object.keys(window.localStorage).forEach(function (key) {
      if (key.indexOf(HISTORY_PREFIX) === 0) {
        try {
          runs.push(JSON.parse(window.localStorage.getItem(key)));
        } catch (ignored) {
          window.localStorage.removeItem(key);
        }
      }
    });
    return runs;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    modelConsole: {
      /* A control that follows another's state (a Compare button follows its Predict). */
      same: function (value) {
        return value;
      },
      /* Every output emptied (what was said about the last input, once a new one comes). */
      cleared: function () {
        return window.dash_clientside.callback_context.outputs_list.map(function () {
          return null;
        });
      },
      readUrl: function (search) {
        return search === undefined || search === null
          ? window.dash_clientside.no_update
          : readUrl(search);
      },
      /* The tab a URL names, as layouts/page.py page_state reads it: the first value that is
         not blank; a job alone opens the tab where jobs are shown. */
      openTab: function (search, urlTabs) {
        var params = new URLSearchParams(search || "");
        var first = function (key) {
          var found = params.getAll(key).map(function (v) { return v.trim(); }).filter(Boolean);
          return found.length ? found[0] : null;
        };
        var tab = (urlTabs.tabs || {})[first("tab") || ""] || (first("job") ? urlTabs.job : null);
        return tab || window.dash_clientside.no_update;
      },
      writeUrl: function (selection, tab, job, read) {
        if (read) {  /* before the page has done what its URL asks, the URL stays as it is */
          writeUrl(selection, tab, job);
        }
        return window.dash_clientside.no_update;
      },
      copyLink: function (clicks, buttonId) {
        copyText(window.location.href).then(function () {
          window.dash_clientside.set_props(buttonId, { children: "Link copied" });
          setTimeout(function () {
            window.dash_clientside.set_props(buttonId, { children: "Copy link" });
          }, 2000);
        });
        return "Copied: " + window.location.href;
      },
      /* The runs an older version kept here (none once handed over), newest first; at
         most ``keep``, as the server keeps. */
      browserHistory: function (keep) {
        var runs = browserRuns().filter(function (run) { return run && run.id; });
        runs.sort(function (a, b) { return String(b.time).localeCompare(String(a.time)); });
        return runs.length ? runs.slice(0, keep || 50) : window.dash_clientside.no_update;
      },
      /* The server took them (and keeps its newest): nothing stays in this browser. */
      forgetBrowserHistory: function (handed) {
        if (handed) {
          Object.keys(window.localStorage).forEach(function (key) {
            if (key.indexOf(HISTORY_PREFIX) === 0) {
              window.localStorage.removeItem(key);
            }
          });
        }
        return window.dash_clientside.no_update;
      },
      syncEditor: function (value, editorId, textId) {
        syncEditor(value, editorId, textId, 0);
        return window.dash_clientside.no_update;
      },
      markProblem: function (problem, editorId) {
        markProblem(editors[editorId], problem);
        return window.dash_clientside.no_update;
      },
      applyTheme: function (dark) {
        var mode = dark ? "dark" : "light";
        document.documentElement.setAttribute("data-bs-theme", mode);
        document.body.setAttribute("data-ag-theme-mode", mode);
        Object.keys(editors).forEach(function (id) { editors[id].setTheme(aceTheme()); });
        return window.dash_clientside.no_update;
      },
    },
  });
})();
