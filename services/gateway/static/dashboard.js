// The DIC dashboard: live events (server-sent events), the case board with
// filters, deadlines due soon and overdue, counts per agency and category.
// Everything comes from the gateway's own API with the session cookie; text
// from the API is always inserted as text, never as HTML.
"use strict";

const API = "/api/v1";
const PAGE_SIZE = 25;
const MAX_EVENTS = 200;
const REFRESH_MS = 30000;

const STATE_LABELS = {
  received: "Đã tiếp nhận", triaged: "Đã phân loại", assigned: "Đã phân công",
  verifying: "Đang xác minh", appraised: "Đã thẩm định", decided: "Đã quyết định xử lý",
  handling: "Đang xử lý", resolved: "Đã xử lý xong", closed: "Đã đóng",
  escalated: "Đã báo cáo cấp trên", rejected: "Không vi phạm", merged: "Đã gộp",
};

const EVENT_LABELS = {
  "report.received": "Tiếp nhận phản ánh",
  "report.quarantined": "Đầu vào bị cách ly",
  "case.opened": "Mở vụ việc",
  "case.report_attached": "Thêm phản ánh vào vụ việc",
  "case.merge_proposed": "Đề xuất gộp vụ việc",
  "case.merged": "Gộp vụ việc",
  "case.triaged": "Phân loại vụ việc",
  "case.assigned": "Phân công cơ quan",
  "case.assignment_changed": "Thay đổi phân công",
  "case.lead_transferred": "Chuyển cơ quan chủ trì",
  "case.escalated": "Báo cáo cấp trên",
  "case.escalation_answered": "Cấp trên trả lời",
  "deadline.set": "Đặt thời hạn",
  "deadline.due_soon": "Sắp đến hạn",
  "deadline.overdue": "Quá hạn",
  "deadline.met": "Hoàn thành đúng hạn",
  "deadline.cancelled": "Hủy thời hạn",
  "consultation.opened": "Mở vòng lấy ý kiến",
  "consultation.opinion_requested": "Đề nghị cho ý kiến",
  "consultation.opinion_submitted": "Gửi ý kiến",
  "consultation.closed": "Kết thúc lấy ý kiến",
  "meeting.convened": "Triệu tập họp",
  "meeting.minutes_approved": "Thông qua biên bản họp",
  "case.appraised": "Thẩm định",
  "case.rejected": "Kết luận không vi phạm",
  "case.decided": "Quyết định xử lý",
  "measure.assigned": "Giao biện pháp xử lý",
  "measure.reported": "Báo cáo kết quả xử lý",
  "case.resolved": "Xử lý xong",
  "case.closed": "Đóng vụ việc",
  "case.reopened": "Mở lại vụ việc",
  "press.initial_info_due": "Hạn cung cấp thông tin ban đầu (2 giờ)",
  "press.statement_drafted": "Soạn thông cáo",
  "press.statement_approved": "Duyệt thông cáo",
  "press.statement_distributed": "Phát hành thông cáo",
  "press.delivery_confirmed": "Cơ quan báo chí xác nhận",
  "press.results_published": "Công bố kết quả xử lý",
  "report.generated": "Lập báo cáo định kỳ",
};

const timeFormat = new Intl.DateTimeFormat("vi-VN", {
  timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", second: "2-digit",
  day: "2-digit", month: "2-digit", year: "numeric",
});

const $ = (id) => document.getElementById(id);
let page = 1;
let stream = null;
let refreshTimer = null;

function localTime(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? String(iso) : timeFormat.format(when);
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(API + path, {
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    ...options,
  });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const error = new Error((body && body.error && body.error.message) || response.statusText);
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return body;
}

// --- signing in -------------------------------------------------------------

async function start() {
  try {
    const me = await api("/me");
    showApp(me);
  } catch (error) {
    if (error.status === 401) showLogin();
    else showLogin(`Không kết nối được máy chủ: ${error.message}`);
  }
}

function showLogin(message) {
  $("app").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  if (stream) { stream.close(); stream = null; }
}

function showApp(me) {
  $("login").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = `${me.officer} · ${me.agency}`;
  openStream();
  refreshSummary();
  loadCases();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(refreshSummary, REFRESH_MS);
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  try {
    const session = await api("/session", {
      method: "POST", body: JSON.stringify({ api_key: key }),
    });
    $("api-key").value = "";
    showApp(session.caller);
  } catch (error) {
    $("login-error").textContent = error.status === 401
      ? "Khóa truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi."
      : `Không đăng nhập được: ${error.message}`;
  }
});

$("sign-out").addEventListener("click", async () => {
  try { await api("/session", { method: "DELETE" }); } catch (e) { /* already out */ }
  showLogin();
});

// --- live events ---------------------------------------------------------------

function setStreamStatus(state, text) {
  const status = $("stream-status");
  status.dataset.state = state;
  status.textContent = text;
}

function openStream() {
  if (stream) stream.close();
  stream = new EventSource(`${API}/stream`);
  setStreamStatus("connecting", "Đang kết nối…");
  stream.addEventListener("ready", () => setStreamStatus("open", "Đang nhận trực tiếp"));
  stream.addEventListener("event", (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    showEvent(event);
    scheduleRefresh();
  });
  stream.onerror = () => {
    // EventSource reconnects by itself; a 401 means the session ended.
    setStreamStatus("error", "Mất kết nối, đang thử lại…");
    api("/me").catch((error) => { if (error.status === 401) showLogin(); });
  };
}

function describe(event) {
  const payload = event.payload || {};
  const parts = [];
  if (event.case_id) parts.push(`Vụ việc ${event.case_id}`);
  if (payload.state) parts.push(STATE_LABELS[payload.state] || payload.state);
  if (payload.agency || payload.owner_agency) parts.push(`Cơ quan ${payload.agency || payload.owner_agency}`);
  if (payload.lead) parts.push(`Chủ trì ${payload.lead}`);
  if (event.actor && event.actor.agency) parts.push(`bởi ${event.actor.agency}`);
  return parts.join(" · ");
}

function showEvent(event) {
  const list = $("events");
  const item = el("li", null, "fresh");
  item.dataset.eventId = event.id || "";
  item.dataset.type = event.type || "";
  item.appendChild(el("span", localTime(event.occurred_at), "time"));
  item.appendChild(el("span", EVENT_LABELS[event.type] || event.type, "type"));
  const meta = el("span", `${event.type} · ${describe(event)}`, "meta");
  if (event.redacted) meta.appendChild(el("span", " · nội dung mật đã ẩn", "redacted"));
  item.appendChild(meta);
  list.prepend(item);
  setTimeout(() => item.classList.remove("fresh"), 4000);
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  $("events-empty").hidden = true;
}

let pending = null;
function scheduleRefresh() {
  // Many events arrive together; refresh the tables once they settle.
  clearTimeout(pending);
  pending = setTimeout(() => { refreshSummary(); loadCases(); }, 1500);
}

// --- counts and deadlines ---------------------------------------------------------

function fillCounts(tbody, rows) {
  tbody.replaceChildren();
  if (!rows.length) {
    const tr = el("tr");
    const td = el("td", "Chưa có số liệu", "muted");
    td.colSpan = 5;
    tr.appendChild(td);
    tbody.appendChild(tr);
  }
  for (const cells of rows) {
    const tr = el("tr");
    cells.forEach((value, index) => tr.appendChild(el("td", value, index ? "n" : "")));
    tbody.appendChild(tr);
  }
}

function fillDeadlines(list, items) {
  list.replaceChildren();
  if (!items.length) list.appendChild(el("li", "Không có", "muted"));
  for (const item of items) {
    const li = el("li");
    li.appendChild(el("span", localTime(item.due_at), "due"));
    li.appendChild(document.createTextNode(" · "));
    li.appendChild(el("strong", item.kind_label || item.kind || "Thời hạn"));
    li.appendChild(document.createTextNode(
      ` · ${item.owner_agency || ""} · ${item.case_id || ""}${item.title ? " – " + item.title : ""}`));
    list.appendChild(li);
  }
}

async function refreshSummary() {
  let summary;
  try { summary = await api("/board/summary"); } catch (error) {
    if (error.status === 401) return showLogin();
    $("total-cases").textContent = "?";
    return;
  }
  $("total-cases").textContent = summary.total ?? 0;
  $("open-cases").textContent = summary.open ?? 0;
  $("due-soon-count").textContent = summary.due_soon_count ?? 0;
  $("overdue-count").textContent = summary.overdue_count ?? 0;
  $("due-soon-hours").textContent = summary.due_soon_hours ?? 24;
  const agencies = Object.entries(summary.by_agency || {}).map(([code, v]) => [
    code, v.cases ?? 0, v.open ?? 0, v.open_lead ?? 0, v.open_coordinating ?? 0]);
  fillCounts($("by-agency").tBodies[0], agencies);
  const open = summary.open_by_category || {};
  const categories = Object.entries(summary.by_category || {})
    .sort((a, b) => b[1] - a[1]).map(([name, count]) => [name, count, open[name] ?? 0]);
  fillCounts($("by-category").tBodies[0], categories);
  fillDeadlines($("overdue"), summary.overdue || []);
  fillDeadlines($("due-soon"), summary.due_soon || []);
}

// --- the case board ------------------------------------------------------------------

function filterQuery() {
  const form = new FormData($("filters"));
  const params = new URLSearchParams();
  for (const [name, value] of form.entries()) {
    if (String(value).trim()) params.append(name, String(value).trim());
  }
  params.set("page", String(page));
  params.set("page_size", String(PAGE_SIZE));
  return params.toString();
}

function agencyText(item) {
  const agencies = (item.agencies || []).map((a) => (typeof a === "string" ? a : a.agency));
  return agencies.join(", ") || item.lead || "";
}

async function loadCases() {
  let result;
  try {
    result = await api(`/cases?${filterQuery()}`);
    $("board-error").textContent = "";
  } catch (error) {
    if (error.status === 401) return showLogin();
    const fields = (error.body && error.body.error && error.body.error.fields) || {};
    $("board-error").textContent = `Không tải được bảng vụ việc: ${error.message} ${
      Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join("; ")}`;
    return;
  }
  const tbody = $("cases").tBodies[0];
  tbody.replaceChildren();
  for (const item of result.items || []) {
    const tr = el("tr");
    tr.dataset.caseId = item.case_id || item._id || "";
    tr.appendChild(el("td", item.case_id || item._id));
    tr.appendChild(el("td", item.redacted ? "[nội dung mật]" : item.title || "", item.redacted ? "redacted" : ""));
    const state = el("td");
    state.appendChild(el("span", STATE_LABELS[item.state] || item.state || "", `badge ${item.state || ""}`));
    tr.appendChild(state);
    tr.appendChild(el("td", agencyText(item)));
    tr.appendChild(el("td", (item.categories || []).join(", ")));
    const last = item.last_event || {};
    tr.appendChild(el("td", localTime(last.at || last.occurred_at || item.updated_at || item.opened_at)));
    tbody.appendChild(tr);
  }
  if (!(result.items || []).length) {
    const tr = el("tr");
    const td = el("td", "Không có vụ việc phù hợp", "muted");
    td.colSpan = 6;
    tr.appendChild(td);
    tbody.appendChild(tr);
  }
  const total = result.total ?? (result.items || []).length;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  $("page-info").textContent = `Trang ${page}/${pages} · ${total} vụ việc`;
  $("prev-page").disabled = page <= 1;
  $("next-page").disabled = page >= pages;
}

const stateSelect = $("filter-state");
for (const [value, label] of Object.entries(STATE_LABELS)) {
  const option = el("option", label);
  option.value = value;
  stateSelect.appendChild(option);
}
$("filters").addEventListener("submit", (event) => { event.preventDefault(); page = 1; loadCases(); });
$("filters").addEventListener("reset", () => { page = 1; setTimeout(loadCases, 0); });
$("prev-page").addEventListener("click", () => { if (page > 1) { page -= 1; loadCases(); } });
$("next-page").addEventListener("click", () => { page += 1; loadCases(); });

start();
