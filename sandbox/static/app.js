/* Chorus Pro sandbox — the little behaviour the pages need, in plain JavaScript.
   Hooks are data-* attributes (never ids or classes, which the layout-drift fault renames).
   Amounts are computed exactly with BigInt, the way the server does (half-up to the cent). */
"use strict";

(function () {
  // --- exact decimals ------------------------------------------------------------------
  function parseDecimal(text) {
    const compact = String(text || "").replace(/[\s\u00a0\u202f]/g, "").replace(",", ".");
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(compact)) return null;
    const negative = compact.startsWith("-");
    const body = compact.replace(/^[+-]/, "");
    const [whole, frac = ""] = body.split(".");
    const digits = (whole || "0") + frac;
    let n = BigInt(digits);
    if (negative) n = -n;
    return { n: n, s: frac.length };
  }

  function pow10(k) {
    return 10n ** BigInt(k);
  }

  function rescale(d, s) {
    return d.s >= s ? d.n : d.n * pow10(s - d.s);
  }

  /* Round a scaled integer to cents, half away from zero (Python's ROUND_HALF_UP). */
  function toCents(n, s) {
    if (s <= 2) return n * pow10(2 - s);
    const div = pow10(s - 2);
    const sign = n < 0n ? -1n : 1n;
    const abs = n < 0n ? -n : n;
    let q = abs / div;
    if ((abs % div) * 2n >= div) q += 1n;
    return sign * q;
  }

  function formatCents(cents) {
    const negative = cents < 0n;
    const abs = negative ? -cents : cents;
    let whole = (abs / 100n).toString();
    const frac = (abs % 100n).toString().padStart(2, "0");
    const groups = [];
    while (whole.length > 3) {
      groups.unshift(whole.slice(-3));
      whole = whole.slice(0, -3);
    }
    groups.unshift(whole);
    return (negative ? "-" : "") + groups.join("\u202f") + "," + frac + " €";
  }

  function plainCents(cents) {
    const negative = cents < 0n;
    const abs = negative ? -cents : cents;
    return (negative ? "-" : "") + (abs / 100n).toString() + "." +
      (abs % 100n).toString().padStart(2, "0");
  }

  function formatRate(rate) {
    return rate.replace(".", ",") + " %";
  }

  // --- information pop-up (fault knob) --------------------------------------------------
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-close-popup]");
    if (button) {
      const popup = button.closest("[data-popup]");
      if (popup) popup.remove();
    }
  });

  // --- addresses: the invoicing screens' prefix ("" on one origin, "/cpp" on three) ------
  function appRoot() {
    return document.body.getAttribute("data-app-root") || "";
  }

  // --- Select2-style comboboxes ---------------------------------------------------------
  /* Every select[data-select2] becomes the real portal's Select2 widget: the native select
     stays (visually hidden, aria-hidden, still posted and still firing events) and a
     combobox follows it; its drop-down, put at the end of <body>, has a search box filtering
     the options. The widget's classes are Select2's own (not renamed by layout drift). */
  const select2 = (function () {
    const states = new WeakMap();
    let current = null; // the state whose drop-down is open

    function node(tag, className, attributes) {
      const element = document.createElement(tag);
      if (className) element.className = className;
      Object.keys(attributes || {}).forEach(function (name) {
        element.setAttribute(name, attributes[name]);
      });
      return element;
    }

    function fold(text) {
      return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "")
        .toLowerCase();
    }

    function labelOf(select) {
      if (!select.id) return null;
      const label = document.querySelector('label[for="' + CSS.escape(select.id) + '"]');
      if (label && !label.id) label.id = select.id + "-label";
      return label;
    }

    function selectedText(select) {
      const option = select.selectedIndex >= 0 ? select.options[select.selectedIndex] : null;
      return option ? option.text : "";
    }

    /* The combobox as the native select is now: text, ids, label, error, disabled. */
    function sync(state) {
      const select = state.select;
      const combo = state.combo;
      const text = selectedText(select);
      state.rendered.id = "select2-" + select.id + "-container";
      state.rendered.textContent = text;
      state.rendered.setAttribute("title", text);
      const label = labelOf(select);
      if (label) combo.setAttribute("aria-labelledby", label.id);
      else combo.removeAttribute("aria-labelledby");
      ["aria-invalid", "aria-describedby"].forEach(function (name) {
        const value = select.getAttribute(name);
        if (value === null) combo.removeAttribute(name);
        else combo.setAttribute(name, value);
      });
      if (select.disabled) {
        combo.setAttribute("aria-disabled", "true");
        combo.setAttribute("tabindex", "-1");
        if (current === state) close(state, false);
      } else {
        combo.removeAttribute("aria-disabled");
        combo.setAttribute("tabindex", "0");
      }
    }

    function resultsId(state) {
      return "select2-" + state.select.id + "-results";
    }

    function place(state) {
      if (!state.dropdown) return;
      const box = state.combo.getBoundingClientRect();
      const style = state.dropdown.style;
      style.left = box.left + window.scrollX + "px";
      style.top = box.bottom + window.scrollY + "px";
      style.width = Math.max(box.width, 160) + "px";
    }

    function highlight(state, item) {
      if (state.highlighted) {
        state.highlighted.classList.remove("select2-results__option--highlighted");
      }
      state.highlighted = item;
      if (item) {
        item.classList.add("select2-results__option--highlighted");
        state.search.setAttribute("aria-activedescendant", item.id);
        item.scrollIntoView({ block: "nearest" });
      } else {
        state.search.removeAttribute("aria-activedescendant");
      }
    }

    /* The options whose text holds what was typed (case and accents ignored). */
    function fill(state) {
      const wanted = fold(state.search.value);
      const list = state.list;
      list.replaceChildren();
      state.highlighted = null;
      let chosen = null;
      Array.prototype.forEach.call(state.select.options, function (option, index) {
        if (wanted && fold(option.text).indexOf(wanted) < 0) return;
        const selected = index === state.select.selectedIndex;
        const item = node("li", "select2-results__option", {
          role: "option",
          id: "select2-" + state.select.id + "-result-" + index,
          "aria-selected": selected ? "true" : "false",
        });
        if (option.disabled) item.setAttribute("aria-disabled", "true");
        item.textContent = option.text;
        item.setAttribute("data-index", String(index));
        list.appendChild(item);
        if (!chosen && (selected || wanted)) chosen = item;
      });
      if (!list.children.length) {
        const message = node("li", "select2-results__message", { role: "alert" });
        message.textContent = "Aucun résultat trouvé";
        list.appendChild(message);
      }
      highlight(state, chosen || list.querySelector("[role=option]"));
    }

    function open(state) {
      if (state.select.disabled || current === state) return;
      if (current) close(current, false);
      current = state;
      const id = resultsId(state);
      const labelId = state.combo.getAttribute("aria-labelledby");
      const dropdown = node("span", "select2-container select2-container--open");
      const box = node("span", "select2-dropdown");
      const searchBox = node("span", "select2-search");
      const search = node("input", "select2-search__field", {
        type: "search",
        role: "searchbox",
        "aria-label": "Rechercher",
        "aria-autocomplete": "list",
        "aria-controls": id,
        autocomplete: "off",
      });
      const results = node("span", "select2-results");
      const list = node("ul", "select2-results__options", { role: "listbox", id: id });
      if (labelId) list.setAttribute("aria-labelledby", labelId);
      searchBox.appendChild(search);
      results.appendChild(list);
      box.append(searchBox, results);
      dropdown.appendChild(box);
      state.dropdown = dropdown;
      state.search = search;
      state.list = list;
      document.body.appendChild(dropdown);
      state.combo.setAttribute("aria-expanded", "true");
      state.combo.setAttribute("aria-controls", id);
      state.container.classList.add("select2-container--open");
      place(state);
      fill(state);
      search.addEventListener("input", function () {
        fill(state);
      });
      search.addEventListener("keydown", function (event) {
        onSearchKey(state, event);
      });
      list.addEventListener("mousemove", function (event) {
        const item = event.target.closest("[role=option]");
        if (item && item !== state.highlighted) highlight(state, item);
      });
      list.addEventListener("click", function (event) {
        const item = event.target.closest("[role=option]");
        if (item && item.getAttribute("aria-disabled") !== "true") pick(state, item);
      });
      search.focus();
    }

    function close(state, focus) {
      if (current !== state) return;
      current = null;
      if (state.dropdown) state.dropdown.remove();
      state.dropdown = state.search = state.list = state.highlighted = null;
      state.combo.setAttribute("aria-expanded", "false");
      state.combo.removeAttribute("aria-controls");
      state.container.classList.remove("select2-container--open");
      if (focus) state.combo.focus();
    }

    function pick(state, item) {
      const index = Number(item.getAttribute("data-index"));
      const select = state.select;
      const changed = select.selectedIndex !== index;
      select.selectedIndex = index;
      close(state, true);
      sync(state);
      if (changed) {
        select.dispatchEvent(new Event("input", { bubbles: true }));
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }

    function onSearchKey(state, event) {
      const items = Array.prototype.slice.call(state.list.querySelectorAll("[role=option]"));
      const at = items.indexOf(state.highlighted);
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!items.length) return;
        const step = event.key === "ArrowDown" ? 1 : -1;
        const next = at < 0 ? 0 : Math.min(items.length - 1, Math.max(0, at + step));
        highlight(state, items[next]);
      } else if (event.key === "Enter") {
        event.preventDefault(); // never submits the form from the search box
        if (state.highlighted && state.highlighted.getAttribute("aria-disabled") !== "true") {
          pick(state, state.highlighted);
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        close(state, true);
      } else if (event.key === "Tab") {
        close(state, true); // then the browser moves on from the combobox
      }
    }

    function onComboKey(state, event) {
      const key = event.key;
      if (key === "Enter" || key === " " || key === "ArrowDown" || key === "ArrowUp") {
        event.preventDefault();
        open(state);
      } else if (key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
        // Typing on the closed combobox opens it and types into its search box.
        event.preventDefault();
        open(state);
        if (current === state) {
          state.search.value = key;
          fill(state);
        }
      }
    }

    function enhance(select) {
      if (states.has(select) || !select.isConnected) return;
      const container = node("span", "select2 select2-container");
      const selection = node("span", "selection");
      const combo = node("span", "select2-selection select2-selection--single", {
        role: "combobox",
        tabindex: "0",
        "aria-haspopup": "listbox",
        "aria-expanded": "false",
      });
      const rendered = node("span", "select2-selection__rendered");
      const arrow = node("span", "select2-selection__arrow", { "aria-hidden": "true" });
      arrow.appendChild(document.createElement("b"));
      combo.append(rendered, arrow);
      selection.appendChild(combo);
      container.appendChild(selection);
      const state = { select: select, container: container, combo: combo, rendered: rendered };
      states.set(select, state);
      select.classList.add("select2-hidden-accessible");
      select.setAttribute("aria-hidden", "true");
      select.setAttribute("tabindex", "-1");
      select.after(container);
      sync(state);
      combo.addEventListener("click", function () {
        if (current === state) close(state, true);
        else open(state);
      });
      combo.addEventListener("keydown", function (event) {
        onComboKey(state, event);
      });
      select.addEventListener("change", function () {
        sync(state);
      });
      select.addEventListener("focus", function () {
        combo.focus(); // the hidden native is never where a person types
      });
      new MutationObserver(function () {
        sync(state);
      }).observe(select, {
        childList: true,
        subtree: true,
        characterData: true,
        attributes: true,
        attributeFilter: ["disabled", "id", "aria-invalid", "aria-describedby", "selected"],
      });
    }

    function enhanceAll(root) {
      if (root.matches && root.matches("select[data-select2]")) enhance(root);
      if (root.querySelectorAll) root.querySelectorAll("select[data-select2]").forEach(enhance);
    }

    function start() {
      enhanceAll(document);
      // Selects added later (« Ajouter une ligne »): enhanced as they arrive.
      new MutationObserver(function (records) {
        records.forEach(function (record) {
          record.addedNodes.forEach(function (added) {
            if (added.nodeType === 1) enhanceAll(added);
          });
        });
      }).observe(document.body, { childList: true, subtree: true });
      // A click anywhere else closes the open drop-down, unchanged.
      document.addEventListener("mousedown", function (event) {
        if (!current) return;
        if (current.dropdown && current.dropdown.contains(event.target)) return;
        if (current.container.contains(event.target)) return;
        close(current, false);
      });
      // A click on a label goes to its combobox, not to the hidden select.
      document.addEventListener("click", function (event) {
        const label = event.target.closest("label[for]");
        if (!label) return;
        const select = document.getElementById(label.htmlFor);
        const state = select ? states.get(select) : null;
        if (state) {
          event.preventDefault();
          state.combo.focus();
        }
      });
      window.addEventListener("resize", function () {
        if (current) place(current);
      });
      document.addEventListener("scroll", function (event) {
        if (current && !(current.dropdown && current.dropdown.contains(event.target))) {
          place(current);
        }
      }, true);
    }

    return { start: start, enhanceAll: enhanceAll };
  })();

  // --- collapsible panels (Bootstrap's « collapse ») ------------------------------------
  /* A button [data-collapse-toggle] shows or hides the panel its aria-controls names, with a
     short height transition (Bootstrap's « collapsing »). The panel's classes are renamed by
     layout drift: the panel gives them (data-collapse-class, data-show-class,
     data-collapsing-class). */
  function setupCollapse(toggle) {
    const panel = document.getElementById(toggle.getAttribute("aria-controls") || "");
    if (!panel) return;
    const names = {
      collapse: panel.getAttribute("data-collapse-class") || "collapse",
      show: panel.getAttribute("data-show-class") || "show",
      collapsing: panel.getAttribute("data-collapsing-class") || "collapsing",
    };
    let pending = null; // the end of the transition under way: run at once on a new click
    function settle() {
      if (!pending) return;
      window.clearTimeout(pending.timer);
      const opening = pending.opening;
      pending = null;
      panel.classList.remove(names.collapsing);
      panel.classList.add(names.collapse);
      if (opening) panel.classList.add(names.show);
      panel.style.height = "";
    }
    toggle.addEventListener("click", function () {
      settle();
      const opening = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", opening ? "true" : "false");
      if (opening) {
        panel.classList.remove(names.collapse);
        panel.classList.add(names.collapsing);
        panel.style.height = "0px";
        void panel.offsetHeight;
        panel.style.height = panel.scrollHeight + "px";
      } else {
        panel.style.height = panel.getBoundingClientRect().height + "px";
        void panel.offsetHeight;
        panel.classList.add(names.collapsing);
        panel.classList.remove(names.collapse, names.show);
        void panel.offsetHeight;
        panel.style.height = "0px";
      }
      pending = { opening: opening, timer: window.setTimeout(settle, 200) };
    });
  }

  // --- « Télécharger »: the pop-up of an invoice's documents ----------------------------
  let downloadOpener = null;

  function closeDownload() {
    document.querySelectorAll("[data-download-popup]").forEach(function (popup) {
      popup.remove();
    });
    if (downloadOpener && downloadOpener.isConnected) downloadOpener.focus();
    downloadOpener = null;
  }

  /* A piece of page fetched by the page's script: its HTML, or null when the session is
     gone (the page is then reloaded: the portal shows its login); rejects on another error. */
  function fetchFragment(url) {
    return fetch(url, { headers: { "X-Fragment": "1" }, credentials: "same-origin" }).then(
      function (response) {
        if (response.status === 401) {
          window.location.reload();
          return null;
        }
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      }
    );
  }

  function openDownload(button) {
    closeDownload();
    fetchFragment(button.getAttribute("data-download"))
      .then(function (html) {
        if (html === null) return;
        document.body.insertAdjacentHTML("beforeend", html);
        downloadOpener = button;
        const popups = document.querySelectorAll("[data-download-popup]");
        const dialog = popups[popups.length - 1].querySelector("[role=dialog]");
        const first = dialog.querySelector("a[href], button");
        (first || dialog).focus();
      })
      .catch(function () {
        const message = document.createElement("p");
        message.setAttribute("role", "alert");
        message.textContent = "Le chargement des documents a échoué. Veuillez réessayer.";
        button.after(message);
      });
  }

  document.addEventListener("click", function (event) {
    const opener = event.target.closest("[data-download]");
    if (opener) {
      openDownload(opener);
      return;
    }
    if (event.target.closest("[data-close-download]")) closeDownload();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.querySelector("[data-download-popup]")) {
      closeDownload();
    }
  });

  // --- slow lists: load the table fragment --------------------------------------------
  function loadFragments() {
    document.querySelectorAll("[data-fragment]").forEach(function (holder) {
      fetchFragment(holder.getAttribute("data-fragment"))
        .then(function (html) {
          if (html !== null) holder.outerHTML = html;
        })
        .catch(function () {
          holder.innerHTML =
            '<p role="alert">Le chargement de la liste a échoué. Veuillez réessayer.</p>';
        });
    });
  }

  // --- recipient: « SIRET du destinataire » → « Code service » --------------------------
  /* Load the structure's services once the SIRET has 14 digits (the entry form and the form
     « Recycler » share this block). */
  function setupRecipient(form) {
    const siret = form.querySelector("[data-siret]");
    const service = form.querySelector("[data-service-select]");
    const info = form.querySelector("[data-structure-info]");
    if (!siret || !service || !info) return;
    let lastSiret = null;
    function loadStructure() {
      const value = siret.value.replace(/[\s.]/g, "");
      if (value === lastSiret) return;
      lastSiret = value;
      if (!/^\d{14}$/.test(value)) {
        service.replaceChildren();
        info.textContent = "";
        return;
      }
      fetch(appRoot() + "/api/structures/" + encodeURIComponent(value), {
        headers: { "X-Fragment": "1" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (response.status === 401) {
            window.location.reload();
            throw new Error("session");
          }
          return response.json().then(function (body) {
            return { ok: response.ok, body: body };
          });
        })
        .then(function (result) {
          const wanted = service.getAttribute("data-selected") || service.value;
          service.replaceChildren();
          if (!result.ok) {
            info.textContent = result.body.erreur || "Structure introuvable.";
            info.setAttribute("data-state", "erreur");
            return;
          }
          const structure = result.body;
          const placeholder = new Option("Sélectionnez un service", "");
          service.appendChild(placeholder);
          structure.services.forEach(function (s) {
            const option = new Option(s.code + " - " + s.nom, s.code);
            if (s.code === wanted) option.selected = true;
            service.appendChild(option);
          });
          const parts = ["Destinataire : " + structure.nom];
          if (structure.exigence_label) parts.push(structure.exigence_label);
          if (!structure.active) parts.push("Structure inactive");
          info.textContent = parts.join(" — ");
          info.setAttribute("data-state", "ok");
        })
        .catch(function () {
          info.textContent = "Le chargement des services a échoué.";
        });
    }
    siret.addEventListener("change", loadStructure);
    siret.addEventListener("blur", loadStructure);
    // Services rendered by the server: nothing to load. Otherwise catch up with a SIRET
    // typed before this script ran.
    if (service.options.length) lastSiret = siret.value.replace(/[\s.]/g, "");
    loadStructure();
  }

  // --- entry form « Saisir une facture » -----------------------------------------------
  function setupEntryForm(form) {
    const linesBody = form.querySelector("[data-lines]");
    const template = form.querySelector("template[data-line-template]");
    const idBase = linesBody.getAttribute("data-id-base");
    const cadre = form.querySelector("[data-cadre]");

    function renumber() {
      linesBody.querySelectorAll("tr[data-line]").forEach(function (row, index) {
        const n = index + 1;
        row.querySelectorAll("[data-field]").forEach(function (input) {
          const field = input.getAttribute("data-field");
          const oldId = input.id;
          input.id = idBase + "-" + n + "-" + field;
          input.name = "ligne-" + n + "-" + field;
          const label = row.querySelector('label[for="' + oldId + '"]');
          if (label) {
            label.htmlFor = input.id;
            label.id = input.id + "-label";
            label.textContent = label.getAttribute("data-label") + " ligne " + n;
          }
          const error = input.getAttribute("aria-describedby");
          if (error) {
            const message = document.getElementById(error);
            if (message) message.id = input.id + "-erreur";
            input.setAttribute("aria-describedby", input.id + "-erreur");
          }
        });
        const remove = row.querySelector("[data-remove-line]");
        if (remove) remove.setAttribute("aria-label", "Supprimer la ligne " + n);
      });
    }

    function lineAmounts(row) {
      const value = function (field) {
        const el = row.querySelector('[data-field="' + field + '"]');
        return el ? el.value : "";
      };
      const q = parseDecimal(value("quantite"));
      const pu = parseDecimal(value("prix_unitaire_ht"));
      const remiseText = value("remise").trim();
      const remise = remiseText ? parseDecimal(remiseText) : { n: 0n, s: 0 };
      const rate = value("taux_tva") || "20";
      if (!q || !pu || !remise || !parseDecimal(rate)) return null;
      const product = { n: q.n * pu.n, s: q.s + pu.s };
      const scale = Math.max(product.s, remise.s);
      const exact = rescale(product, scale) - rescale(remise, scale);
      return { ht: toCents(exact, scale), rate: rate };
    }

    function recompute() {
      const byRate = new Map();
      linesBody.querySelectorAll("tr[data-line]").forEach(function (row) {
        const amounts = lineAmounts(row);
        const cell = row.querySelector("[data-line-ht]");
        if (cell) cell.textContent = amounts ? formatCents(amounts.ht) : "—";
        if (!amounts) return;
        byRate.set(amounts.rate, (byRate.get(amounts.rate) || 0n) + amounts.ht);
      });
      let ht = 0n;
      let tva = 0n;
      const breakdown = [];
      byRate.forEach(function (base, rateText) {
        const rate = parseDecimal(rateText);
        const vat = toCents(base * rate.n, 2 + rate.s + 2);
        ht += base;
        tva += vat;
        breakdown.push([Number(rateText), rateText, base, vat]);
      });
      const ttc = ht + tva;
      const toPay = cadre && cadre.value === "A2" ? 0n : ttc;
      const show = { ht: ht, tva: tva, ttc: ttc, payer: toPay };
      Object.keys(show).forEach(function (key) {
        const out = form.querySelector('[data-total="' + key + '"]');
        if (out) out.textContent = formatCents(show[key]);
      });
      ["ht", "tva", "ttc"].forEach(function (key) {
        const hidden = form.querySelector('input[name="total_' + key + '"]');
        if (hidden) hidden.value = plainCents(show[key]);
      });
      const table = form.querySelector("[data-vat-breakdown]");
      if (table) {
        breakdown.sort(function (a, b) { return b[0] - a[0]; });
        table.replaceChildren();
        breakdown.forEach(function (item) {
          const tr = document.createElement("tr");
          [formatRate(item[1]), formatCents(item[2]), formatCents(item[3])].forEach(
            function (text, i) {
              const td = document.createElement("td");
              td.textContent = text;
              if (i > 0) td.className = table.getAttribute("data-num-class") || "";
              tr.appendChild(td);
            }
          );
          table.appendChild(tr);
        });
      }
    }

    function addLine() {
      const n = linesBody.querySelectorAll("tr[data-line]").length + 1;
      const html = template.innerHTML.replace(/__N__/g, String(n));
      linesBody.insertAdjacentHTML("beforeend", html);
      linesBody.querySelectorAll("[data-needs-script]").forEach(function (button) {
        button.disabled = false;
      });
      renumber();
      recompute();
      const rows = linesBody.querySelectorAll("tr[data-line]");
      const first = rows[rows.length - 1].querySelector("[data-field]");
      if (first) first.focus();
    }

    form.querySelector("[data-add-line]").addEventListener("click", addLine);
    linesBody.addEventListener("click", function (event) {
      const button = event.target.closest("[data-remove-line]");
      if (!button) return;
      button.closest("tr[data-line]").remove();
      renumber();
      recompute();
    });
    linesBody.addEventListener("input", recompute);
    linesBody.addEventListener("change", recompute);
    if (cadre) cadre.addEventListener("change", recompute);

    setupRecipient(form);

    // « Valider et envoyer » asks for confirmation first.
    const dialog = form.querySelector("dialog[data-send-dialog]");
    const numero = form.querySelector("[data-numero]");
    form.querySelector("[data-open-send]").addEventListener("click", function () {
      dialog.querySelector("[data-send-numero]").textContent = numero.value.trim();
      recompute();
      dialog.showModal();
    });
    dialog.querySelector("[data-close-dialog]").addEventListener("click", function () {
      dialog.close();
    });

    recompute();
    // Buttons that need this script stay disabled until it runs (a click before would be lost).
    form.querySelectorAll("[data-needs-script]").forEach(function (button) {
      button.disabled = false;
    });
  }

  function start() {
    select2.start();
    document.querySelectorAll("[data-collapse-toggle]").forEach(setupCollapse);
    loadFragments();
    const summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
    document.querySelectorAll("form[data-entry-form]").forEach(setupEntryForm);
    document.querySelectorAll("form[data-recipient-form]").forEach(setupRecipient);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
