// imageferry console: live updates, the wizard and small conveniences. No dependencies.
"use strict";
(function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

  async function api(method, url, body) {
    const opts = {method, headers: {"X-CSRF-Token": csrf(), "Accept": "application/json"}, credentials: "same-origin"};
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    const r = await fetch(url, opts);
    const data = r.status === 204 ? null : await r.json().catch(() => null);
    return {status: r.status, data};
  }

  // Filters that apply as soon as they change.
  document.addEventListener("change", (ev) => {
    if (ev.target.matches && ev.target.matches("select[data-autosubmit]")) ev.target.form.submit();
  });

  // Confirmation for destructive forms.
  document.addEventListener("submit", (ev) => {
    const msg = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });

  // ---- task list: poll /api/tasks every 2 s and redraw the rows ----
  // A button that cannot act now is disabled, with the reason as its title (as _actions.html).
  function offReasons(t) {
    return {
      start: t.running ? "A run is active; wait for it to end, or stop it." : "",
      stop: t.running ? (t.status === "STOPPING" ? "The run is already stopping." : "") : "No run is active.",
      clone: "",
      delete: t.running ? "A run is active; stop it first." : "",
    };
  }
  function actionsHtml(t) {
    const tok = esc(csrf());
    const off = offReasons(t);
    const forms = [["start", "Start"], ["stop", "Stop"], ["clone", "Clone"], ["delete", "Delete"]].map(([a, label]) =>
      `<form method="post" action="/tasks/${esc(t.id)}/${a}"${a === "delete" ? ` data-confirm="Delete task ${esc(t.id)} and its history?"` : ""}>` +
      `<input type="hidden" name="csrf_token" value="${tok}"><button type="submit" class="btn ${a}" data-action="${a}"` +
      `${off[a] ? ` disabled title="${esc(off[a])}"` : ""}>${label}</button></form>`).join("");
    return `<div class="actions"><a class="btn" href="/tasks/${esc(t.id)}">View</a>${forms}</div>`;
  }
  const utc = (iso) => iso.replace("T", " ").slice(0, 19) + " UTC";
  function taskRow(t) {
    const next = t.next_run_at ? `<time datetime="${esc(t.next_run_at)}">${esc(utc(t.next_run_at))}</time>` : '<span class="muted">none</span>';
    return `<tr data-task="${esc(t.id)}"><td><a href="/tasks/${esc(t.id)}">${esc(t.id)}</a></td><td>${esc(t.name)}</td>` +
      `<td>${esc(t.source)}</td><td>${esc(t.destination)}</td><td>${esc(t.engine)}</td><td>${esc(t.schedule)}</td>` +
      `<td class="next-run">${next}</td>` +
      `<td><span class="status s-${esc(t.status)}">${esc(t.status)}</span></td>` +
      `<td class="progress">${t.images_done} / ${t.images_total}</td><td><time datetime="${esc(t.created_at)}">${esc(utc(t.created_at))}</time></td>` +
      `<td>${actionsHtml(t)}</td></tr>`;
  }
  function pollTasks(table) {
    const q = new URLSearchParams({offset: table.dataset.offset || "0", limit: table.dataset.limit || "50"});
    if (table.dataset.status) q.set("status", table.dataset.status);
    let last = "";
    const tick = async () => {
      try {
        const {status, data} = await api("GET", "/api/tasks?" + q);
        if (status === 200 && data) {
          const html = data.items.length ? data.items.map(taskRow).join("") :
            '<tr class="empty"><td colspan="11">No tasks yet. <a href="/tasks/new">Create one</a>.</td></tr>';
          if (html !== last) { table.tBodies[0].innerHTML = html; last = html; }
        }
      } catch (e) { /* server restarting: try again next tick */ }
      setTimeout(tick, 2000);
    };
    setTimeout(tick, 2000);
  }

  // ---- task detail: refresh the run section while the run is active; follow the log ----
  const ACTIVE = new Set(["STARTING", "IN_PROGRESS", "STOPPING"]);
  function pollRun(box) {
    // While a run is active, redraw its section (summary, charts, images) every 2 s;
    // when it ends, or when a first run appears, reload once to refresh the whole page.
    // A newer run appearing (a scheduled start) reloads too, so the buttons and status follow.
    const section = () => document.getElementById("run-section");
    const state = () => { const s = section(); return s ? s.dataset.runStatus : ""; };
    const shown = () => { const s = section(); return s ? s.dataset.runId : ""; };
    const tick = async () => {
      const before = state();
      const beforeRun = shown();
      const q = new URLSearchParams({run: box.dataset.run, q: box.dataset.q, status: box.dataset.status});
      const r = await fetch(`/tasks/${box.dataset.task}/live?` + q, {credentials: "same-origin"}).catch(() => null);
      if (r && r.ok) {
        box.innerHTML = await r.text();
        const after = state();
        if ((!before && after) || (ACTIVE.has(before) && !ACTIVE.has(after)) || (beforeRun && shown() !== beforeRun)) {
          location.reload(); return;
        }
      }
      setTimeout(tick, 2000);
    };
    setTimeout(tick, 2000);
  }
  function followLog(pre) {
    let after = 0;
    const tick = async () => {
      try {
        const {status, data} = await api("GET", `/api/runs/${pre.dataset.run}/logs?after=${after}&wait=20`);
        if (status === 200 && data) {
          for (const l of data.items) {
            const span = document.createElement("span");
            span.className = "lvl-" + l.level.toLowerCase();
            span.textContent = `${l.ts.slice(11, 19)} ${l.level.toUpperCase().padEnd(7)} ${l.message}\n`;
            pre.appendChild(span);
          }
          if (data.items.length) pre.scrollTop = pre.scrollHeight;
          after = data.last_id;
          if (data.finished && !data.items.length) return;
        }
      } catch (e) { await new Promise((r) => setTimeout(r, 2000)); }
      setTimeout(tick, 50);
    };
    tick();
  }

  // ---- wizard: only the fields that apply, one step at a time, checked by /api/tasks/validate ----
  // The rules come from the page (data-when, written from imageferry.web.fields): a field
  // applies when any one of its conditions holds; a condition maps field names to the values
  // it accepts, "*" meaning any non-blank value.
  function holds(rules, vals) {
    return rules.some((c) => Object.entries(c).every(([k, wanted]) => {
      const v = String(vals[k] || "").trim();
      return wanted.includes(v) || (wanted.includes("*") && v !== "");
    }));
  }
  function formValues(form) {
    // Disabled controls (fields that do not apply) are left out, as in a submitted form.
    const out = {};
    for (const [k, v] of new FormData(form).entries()) out[k] = String(v);
    return out;
  }
  function applyRules(form) {
    const fields = Array.from(form.querySelectorAll(".field[data-when]"));
    const options = Array.from(form.querySelectorAll("option[data-when]"));
    // A field hidden because of another hidden field is hidden too: repeat until settled.
    for (let pass = 0; pass < 4; pass++) {
      const vals = formValues(form);
      for (const f of fields) {
        const on = holds(JSON.parse(f.dataset.when), vals);
        f.classList.toggle("off", !on);
        f.querySelectorAll("input, select, textarea").forEach((el) => { el.disabled = !on; });
      }
      for (const o of options) {
        const on = holds(JSON.parse(o.dataset.when), vals);
        o.disabled = !on;
        o.hidden = !on;
        const select = o.closest("select");
        if (!on && select.value === o.value) {
          const first = Array.from(select.options).find((x) => !x.disabled);
          if (first) select.value = first.value;
        }
      }
    }
  }
  function wizard(form) {
    document.documentElement.classList.add("js");
    const steps = Array.from(form.querySelectorAll(".step"));
    const crumbs = Array.from(document.querySelectorAll("#wizard-steps li"));
    const back = document.getElementById("wizard-back");
    const next = document.getElementById("wizard-next");
    const create = document.getElementById("wizard-create");
    const local = new Set(Array.from(form.querySelectorAll("[data-local]")).map((el) => el.name));
    let current = 0;
    applyRules(form);
    form.addEventListener("change", () => applyRules(form));
    form.addEventListener("input", (ev) => { if (ev.target.name === "srcRegistry") applyRules(form); });
    const firstBad = form.querySelector(".problem:not(:empty)");
    if (firstBad) current = steps.indexOf(firstBad.closest(".step"));
    if (current < 0) current = 0;

    const values = () => {
      const out = {};
      for (const [k, v] of Object.entries(formValues(form))) if (k !== "csrf_token" && !local.has(k) && v.trim() !== "") out[k] = v;
      return out;
    };
    const show = (i) => {
      current = i;
      steps.forEach((s, j) => s.classList.toggle("current", j === i));
      crumbs.forEach((c, j) => { c.classList.toggle("current", j === i); c.classList.toggle("done", j < i); });
      back.disabled = i === 0;
      next.style.display = i === steps.length - 1 ? "none" : "";
      create.style.display = i === steps.length - 1 ? "" : "none";
      if (steps[i].dataset.step === "review") review();
    };
    const paint = (problems) => {
      form.querySelectorAll(".problem[data-problem]").forEach((p) => { p.textContent = ""; p.closest(".field").classList.remove("invalid"); });
      const unplaced = [];
      for (const pr of problems) {
        const slot = form.querySelector(`.problem[data-problem="${CSS.escape(pr.parameter)}"]`);
        if (slot) { slot.textContent += pr.message + " "; slot.closest(".field").classList.add("invalid"); }
        else unplaced.push(`${pr.parameter}: ${pr.message}`);
      }
      return unplaced;
    };
    const validate = async () => {
      const v = values();
      const name = v.name; delete v.name;
      const {status, data} = await api("POST", "/api/tasks/validate", {parameters: v, name: name || null});
      if (status !== 200 || !data) return {problems: [{parameter: "parameters", message: "validation failed (HTTP " + status + ")"}]};
      return data;
    };
    const fieldOf = (k) => form.querySelector(`.field[data-field="${CSS.escape(k)}"]`);
    const labelOf = (k) => {
      const f = fieldOf(k);
      const words = f ? f.querySelector("label").firstChild.textContent.trim() : k;
      return `${esc(words)} <code class="param">${esc(k)}</code>`;
    };
    let asked = 0;
    const review = async () => {
      const body = document.querySelector("#review-table tbody");
      const mine = ++asked;
      const result = await validate();
      // Only the newest review paints: a slow answer to an earlier one must not win.
      if (mine !== asked) return [];
      const unplaced = paint(result.problems);
      const shown = result.valid ? result.parameters : values();
      // Only what applies, in the order the wizard asked: a hidden field's default would only confuse.
      const order = Array.from(form.querySelectorAll(".field[data-field]")).map((f) => f.dataset.field);
      const place = (k) => (order.includes(k) ? order.indexOf(k) : order.length);
      const rows = Object.entries(shown)
        .filter(([k, v]) => v !== "" && !(fieldOf(k) && fieldOf(k).classList.contains("off")))
        .sort(([a], [b]) => place(a) - place(b));
      body.innerHTML = rows.map(([k, v]) => `<tr data-param="${esc(k)}"><th>${labelOf(k)}</th><td>${esc(v)}</td></tr>`).join("");
      const box = document.getElementById("review-problems");
      box.textContent = result.problems.length ? `${result.problems.length} problem(s): ` + result.problems.map((p) => `${p.parameter}: ${p.message}`).join("; ") : "";
      const warnings = document.getElementById("review-warnings");
      const said = Array.isArray(result.warnings) ? result.warnings : [];
      warnings.querySelector("ul").innerHTML = said.map((w) => `<li>${esc(w)}</li>`).join("");
      warnings.hidden = said.length === 0;
      create.disabled = !result.valid;
      return unplaced;
    };
    back.addEventListener("click", () => show(Math.max(0, current - 1)));
    next.addEventListener("click", async () => {
      const result = await validate();
      paint(result.problems);
      const fields = new Set(Array.from(steps[current].querySelectorAll("[data-field]")).map((f) => f.dataset.field));
      const here = result.problems.filter((p) => fields.has(p.parameter));
      if (here.length) {
        const adv = steps[current].querySelector("details.advanced");
        if (adv && here.some((p) => adv.querySelector(`[data-field="${CSS.escape(p.parameter)}"]`))) adv.open = true;
        return;
      }
      show(current + 1);
    });
    crumbs.forEach((c, j) => c.addEventListener("click", () => { if (j < current) show(j); }));
    show(current);
  }

  function credentialKind(form) {
    const sync = () => form.classList.toggle("basic", form.querySelector('input[name="kind"]:checked').value === "basic");
    form.addEventListener("change", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const table = document.getElementById("task-table");
    if (table) pollTasks(table);
    const box = document.getElementById("run-live");
    if (box) pollRun(box);
    const pre = document.getElementById("run-log");
    if (pre) followLog(pre);
    const form = document.getElementById("wizard");
    if (form) wizard(form);
    const sf = document.getElementById("secret-form");
    if (sf) credentialKind(sf);
  });
})();
