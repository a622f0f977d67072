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
  function actionsHtml(t) {
    const tok = esc(csrf());
    const forms = [["start", "Start"], ["stop", "Stop"], ["clone", "Clone"], ["delete", "Delete"]].map(([a, label]) =>
      `<form method="post" action="/tasks/${esc(t.id)}/${a}"${a === "delete" ? ` data-confirm="Delete task ${esc(t.id)} and its history?"` : ""}>` +
      `<input type="hidden" name="csrf_token" value="${tok}"><button type="submit" class="btn ${a}" data-action="${a}">${label}</button></form>`).join("");
    return `<div class="actions"><a class="btn" href="/tasks/${esc(t.id)}">View</a>${forms}</div>`;
  }
  function taskRow(t) {
    const created = t.created_at.replace("T", " ").slice(0, 19);
    return `<tr data-task="${esc(t.id)}"><td><a href="/tasks/${esc(t.id)}">${esc(t.id)}</a></td><td>${esc(t.name)}</td>` +
      `<td>${esc(t.source)}</td><td>${esc(t.destination)}</td><td>${esc(t.engine)}</td><td>${esc(t.schedule)}</td>` +
      `<td><span class="status s-${esc(t.status)}">${esc(t.status)}</span></td>` +
      `<td class="progress">${t.images_done} / ${t.images_total}</td><td><time datetime="${esc(t.created_at)}">${esc(created)} UTC</time></td>` +
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
            '<tr class="empty"><td colspan="10">No tasks yet. <a href="/tasks/new">Create one</a>.</td></tr>';
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
    const state = () => {
      const s = document.getElementById("run-section");
      return s ? s.dataset.runStatus : "";
    };
    const tick = async () => {
      const before = state();
      const q = new URLSearchParams({run: box.dataset.run, q: box.dataset.q, status: box.dataset.status});
      const r = await fetch(`/tasks/${box.dataset.task}/live?` + q, {credentials: "same-origin"}).catch(() => null);
      if (r && r.ok) {
        box.innerHTML = await r.text();
        const after = state();
        if ((!before && after) || (ACTIVE.has(before) && !ACTIVE.has(after))) { location.reload(); return; }
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

  // ---- wizard: one step at a time, inline validation through /api/tasks/validate ----
  function wizard(form) {
    document.documentElement.classList.add("js");
    const steps = Array.from(form.querySelectorAll(".step"));
    const crumbs = Array.from(document.querySelectorAll("#wizard-steps li"));
    const back = document.getElementById("wizard-back");
    const next = document.getElementById("wizard-next");
    const create = document.getElementById("wizard-create");
    let current = 0;
    const firstBad = form.querySelector(".problem:not(:empty)");
    if (firstBad) current = steps.indexOf(firstBad.closest(".step"));
    if (current < 0) current = 0;

    const values = () => {
      const out = {};
      for (const [k, v] of new FormData(form).entries()) if (k !== "csrf_token" && String(v).trim() !== "") out[k] = String(v);
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
    const review = async () => {
      const body = document.querySelector("#review-table tbody");
      const result = await validate();
      const unplaced = paint(result.problems);
      const shown = result.valid ? result.parameters : values();
      body.innerHTML = Object.entries(shown).filter(([, v]) => v !== "").map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("");
      const box = document.getElementById("review-problems");
      box.textContent = result.problems.length ? `${result.problems.length} problem(s): ` + result.problems.map((p) => `${p.parameter}: ${p.message}`).join("; ") : "";
      document.getElementById("review-warnings").textContent = (result.warnings || []).join(" ");
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
