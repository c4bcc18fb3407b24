/*
 * The operator's dashboard: reads the Bearer API (/api/overview, /api/stats,
 * /api/attention, /api/people, /api/users/{id}) and calls its retry and
 * cancel routes.  The token is typed once and kept in sessionStorage (never
 * in a URL); every text from the server is set as text, never as HTML.
 */
"use strict";

const TEXTS = {
  en: {
    title: "Aisha", logout: "Log out", token: "Operator token (ADMIN_TOKEN)", open: "Open",
    overview: "Overview", users: "Users", new_today: "new today", outbox: "Messages waiting",
    oldest: "oldest", spend: "FAL spend today", budget: "budget", checker: "Status checker ran",
    avatars_by: "Avatars by status and type", status: "Status", portrait: "Portrait", style: "Style",
    by_type: "Trainings by type and trainer (30 days)", type: "Type", trainer: "Trainer",
    finished: "Finished", success: "Success", median: "Median", per_day: "Trainings per day (30 days)",
    generations: "Pictures per day", day: "Day", count: "Count", attention: "Needs attention",
    what: "What", person: "Person", state: "State", why: "Why", nothing: "Nothing needs attention.",
    find: "Find", search_hint: "Telegram id or @username", retry: "Retry", cancel: "Cancel",
    wrong_token: "This token is not accepted.", failed: "The server did not answer; try again.",
    never: "never", ago_s: "s ago", startup: "startup checker", none_found: "Nobody found.", balance: "Balance",
    s_completed_portrait: "portrait, completed", s_completed_style: "style, completed",
    s_error: "failed", stuck: "stuck", failed_24h: "failed", message: "message", update: "update",
    avatars: "Avatars", jobs: "Pictures", ledger: "Credits", id: "id", name: "Name", reason: "Reason",
    delta: "Change", credits: "Credits bought and refunded per day",
  },
  ru: {
    title: "Aisha", logout: "Выйти", token: "Токен оператора (ADMIN_TOKEN)", open: "Открыть",
    overview: "Сводка", users: "Пользователи", new_today: "новых сегодня", outbox: "Сообщений в очереди",
    oldest: "самое старое", spend: "Расход FAL сегодня", budget: "бюджет", checker: "Проверка статусов",
    avatars_by: "Аватары по статусу и типу", status: "Статус", portrait: "Портрет", style: "Стиль",
    by_type: "Обучения по типу и тренеру (30 дней)", type: "Тип", trainer: "Тренер",
    finished: "Завершено", success: "Успех", median: "Медиана", per_day: "Обучения по дням (30 дней)",
    generations: "Картинки по дням", day: "День", count: "Сколько", attention: "Требует внимания",
    what: "Что", person: "Человек", state: "Состояние", why: "Причина", nothing: "Всё в порядке.",
    find: "Найти", search_hint: "Telegram id или @username", retry: "Повторить", cancel: "Отменить",
    wrong_token: "Токен не принят.", failed: "Сервер не ответил; попробуйте ещё раз.",
    never: "никогда", ago_s: "с назад", startup: "проверка при старте", none_found: "Никого не нашлось.", balance: "Баланс",
    s_completed_portrait: "портрет, готово", s_completed_style: "стиль, готово",
    s_error: "ошибка", stuck: "завис", failed_24h: "ошибка", message: "сообщение", update: "апдейт",
    avatars: "Аватары", jobs: "Картинки", ledger: "Кредиты", id: "id", name: "Имя", reason: "Причина",
    delta: "Изменение", credits: "Кредиты: покупки и возвраты по дням",
  },
};
const LANG = (navigator.language || "en").toLowerCase().startsWith("ru") ? "ru" : "en";
const T = TEXTS[LANG];
const KEY = "aisha-token";
const $ = (id) => document.getElementById(id);

function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function row(cells) {
  const tr = el("tr");
  for (const c of cells) {
    if (c instanceof Node) {
      const td = el("td");
      td.append(c);
      tr.append(td);
    } else {
      tr.append(el("td", c));
    }
  }
  return tr;
}

class Unauthorized extends Error {}

async function api(path, method) {
  const r = await fetch(path, {
    method: method || "GET",
    headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) },
    body: method === "POST" ? "" : undefined,
    cache: "no-store",
  });
  if (r.status === 401) throw new Unauthorized();
  const body = await r.json();
  if (!r.ok && !(r.status === 409 || r.status === 202)) throw new Error(body.error ? body.error.message : r.status);
  return body;
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = false;
}

function showLogin(message) {
  sessionStorage.removeItem(KEY);
  $("board").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  if (message) showError(message);
}

function renderOverview(ov, st) {
  $("board").querySelector('[data-testid="users-total"]').textContent = st.users.total;
  $("board").querySelector('[data-testid="users-new"]').textContent = st.users.new_today;
  $("board").querySelector('[data-testid="outbox-pending"]').textContent = ov.notifications.pending;
  $("board").querySelector('[data-testid="outbox-oldest"]').textContent =
    ov.notifications.pending ? ov.notifications.oldest_age_s + " " + T.ago_s : "—";
  $("board").querySelector('[data-testid="fal-spend"]').textContent = "$" + ov.fal.spend_today_usd.toFixed(2);
  $("board").querySelector('[data-testid="fal-budget"]').textContent =
    ov.fal.budget_usd > 0 ? "$" + ov.fal.budget_usd.toFixed(2) : "—";
  for (const [name, id] of [["status", "checker-last"], ["startup", "startup-last"]]) {
    const c = ov.checkers[name];
    $("board").querySelector(`[data-testid="${id}"]`).textContent =
      c ? new Date(c.last_run_at).toLocaleTimeString() : T.never;
  }
  const tbody = $("avatars").tBodies[0];
  tbody.replaceChildren();
  for (const [status, types] of Object.entries(ov.avatars)) {
    const tr = row([status, types.portrait || 0, types.style || 0]);
    tr.dataset.status = status;
    tbody.append(tr);
  }
}

function duration(s) {
  if (s === null || s === undefined) return "—";
  return s < 90 ? Math.round(s) + " s" : Math.round(s / 60) + " min";
}

function renderTypes(st) {
  const tbody = $("types").tBodies[0];
  tbody.replaceChildren();
  for (const t of st.trainings_by_type) {
    const tr = row([t.type, t.endpoint, t.finished,
      t.success_rate === null ? "—" : Math.round(t.success_rate * 100) + "%",
      duration(t.median_s), duration(t.p90_s)]);
    tr.dataset.type = t.type;
    tr.dataset.finished = t.finished;
    tbody.append(tr);
  }
  const gb = $("gens").tBodies[0];
  gb.replaceChildren();
  for (const g of st.generations_per_day) gb.append(row([g.day, g.status, g.n]));
  const cb = $("credits").tBodies[0];
  cb.replaceChildren();
  for (const c of st.credits_per_day) cb.append(row([c.day, c.reason, c.credits, c.n]));
}

let chart = null;

function renderChart(st) {
  const days = [];
  const index = {};
  const today = new Date();
  for (let i = st.days - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    index[d.toISOString().slice(0, 10)] = days.length;
    days.push(d.getTime() / 1000);
  }
  const series = { portrait: days.map(() => 0), style: days.map(() => 0), error: days.map(() => 0) };
  for (const x of st.trainings_per_day) {
    const i = index[x.day];
    if (i === undefined) continue;
    if (x.outcome === "completed") series[x.type][i] += x.n;
    else series.error[i] += x.n;
  }
  const box = $("chart");
  box.dataset.points = days.length;
  box.dataset.total = [...series.portrait, ...series.style, ...series.error].reduce((a, b) => a + b, 0);
  const width = Math.max(320, Math.min(1060, box.clientWidth - 12));
  const opts = {
    width, height: 220,
    series: [{}, { label: T.s_completed_portrait, stroke: "#3b5bdb", width: 2 },
      { label: T.s_completed_style, stroke: "#2f9e44", width: 2 },
      { label: T.s_error, stroke: "#c92a2a", width: 2 }],
    axes: [{}, { incrs: [1, 2, 5, 10, 20, 50, 100] }],
    scales: { x: { time: true } },
  };
  if (chart) chart.destroy();
  box.replaceChildren();
  if (typeof uPlot === "undefined") { /* web/vendor not built (make web): numbers only */
    box.append(el("p", "—"));
    return;
  }
  chart = new uPlot(opts, [days, series.portrait, series.style, series.error], box);
}

function actionButton(label, path) {
  const b = el("button", label, { type: "button" });
  b.dataset.action = path;
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await api(path, "POST");
      await load();
    } catch (e) {
      if (e instanceof Unauthorized) showLogin(T.wrong_token);
      else b.disabled = false;
    }
  });
  return b;
}

function renderAttention(at) {
  const tbody = $("attention").tBodies[0];
  tbody.replaceChildren();
  const plural = (k) => (k === "avatar" ? "avatars" : "generations");
  for (const x of at.stuck)
    tbody.append(row([T.stuck + ": " + x.kind, x.id, x.telegram_id, x.status, x.fal_request_id || "",
      actionButton(T.cancel, `/api/${plural(x.kind)}/${x.id}/cancel`)]));
  for (const x of at.failed_24h) {
    const tr = row([T.failed_24h + ": " + x.kind, x.id, x.telegram_id, "error", x.error || "",
      actionButton(T.retry, `/api/${plural(x.kind)}/${x.id}/retry`)]);
    tr.cells[4].className = "why";
    tr.dataset.kind = x.kind;
    tr.dataset.id = x.id;
    tbody.append(tr);
  }
  for (const x of at.notifications_failing)
    tbody.append(row([T.message, x.id, x.chat_id, x.status, x.last_error || "", ""]));
  for (const x of at.failed_updates)
    tbody.append(row([T.update, x.update_id, x.telegram_id || "", x.kind, x.error, ""]));
  $("attention-none").hidden = tbody.rows.length > 0;
}

async function load() {
  try {
    const [ov, st, at] = await Promise.all([api("/api/overview"), api("/api/stats?days=30"),
      api("/api/attention")]);
    $("login").hidden = true;
    $("error").hidden = true;
    $("board").hidden = false;
    $("logout").hidden = false;
    renderOverview(ov, st);
    renderTypes(st);
    renderAttention(at);
    renderChart(st);
    document.body.dataset.loaded = String(Date.now());
  } catch (e) {
    if (e instanceof Unauthorized) showLogin(T.wrong_token);
    else showError(T.failed);
  }
}

async function search(q) {
  const box = $("people");
  box.replaceChildren();
  const res = await api("/api/people?q=" + encodeURIComponent(q));
  if (!res.people.length) box.append(el("p", T.none_found));
  for (const p of res.people) {
    const d = el("div", null, { class: "person" });
    d.dataset.telegramId = p.telegram_id;
    d.append(el("b", (p.username ? "@" + p.username + " " : "") + p.first_name + " (" + p.telegram_id + ")"));
    d.append(el("div", T.balance + ": " + p.balance));
    const detail = await api("/api/users/" + p.telegram_id);
    d.append(table(T.avatars, [T.id, T.name, T.status, T.type],
      detail.avatars.map((a) => [a.id, a.name, a.status, a.training_type])));
    d.append(table(T.jobs, [T.id, T.status, T.day, T.why],
      detail.jobs.map((g) => [g.id, g.status, g.created_at.slice(0, 10), g.error || ""])));
    d.append(table(T.ledger, [T.day, T.reason, T.delta, T.balance],
      detail.entries.map((e) => [e.created_at.slice(0, 10), e.reason, e.delta, e.balance_after])));
    box.append(d);
  }
}

function table(title, heads, rows) {
  const wrap = el("div");
  wrap.append(el("h3", title));
  const t = el("table");
  const tr = el("tr");
  for (const h of heads) tr.append(el("th", h));
  t.append(el("thead"));
  t.tHead.append(tr);
  const body = el("tbody");
  for (const r of rows) body.append(row(r));
  t.append(body);
  wrap.append(t);
  return wrap;
}

function applyTexts() {
  document.documentElement.lang = LANG;
  for (const e of document.querySelectorAll("[data-t]")) if (T[e.dataset.t]) e.textContent = T[e.dataset.t];
  for (const e of document.querySelectorAll("[data-tp]")) e.placeholder = T[e.dataset.tp];
}

document.addEventListener("DOMContentLoaded", () => {
  applyTexts();
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token").value = "";
    load();
  });
  $("logout").addEventListener("click", () => showLogin());
  $("search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    search($("q").value.trim()).catch((e) => {
      if (e instanceof Unauthorized) showLogin(T.wrong_token);
    });
  });
  if (sessionStorage.getItem(KEY)) load();
});
