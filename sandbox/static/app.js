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

  // --- slow lists: load the table fragment --------------------------------------------
  function loadFragments() {
    document.querySelectorAll("[data-fragment]").forEach(function (holder) {
      fetch(holder.getAttribute("data-fragment"), {
        headers: { "X-Fragment": "1" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (response.status === 401) {
            window.location.reload();
            return null;
          }
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        })
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
